"""What every page runs first: settings, offline assets, the model selector, a fixed slot for messages."""

from __future__ import annotations

from typing import Any

import streamlit as st

from appkit import web_assets as assets
from appkit.models import model_label, model_sidebar
from appkit.settings import Settings

KEEP = "session"  # persist_state of every widget: it keeps its value while the user visits other pages


@st.cache_resource(show_spinner="Preparing the offline map (first start only) ...")
def _install_assets(width: int) -> str:
    return assets.install_all(width)


def setup(title: str) -> tuple[Settings, Any, Any]:
    """Page title, settings, offline assets and the model: returns (settings, encoder or None, notices).

    ``notices`` is a container that is always created at the same place, so that progress bars and
    messages never shift the elements below it (a shifted map would be remounted and lose its state)."""
    settings = Settings.from_env()
    st.session_state["settings"] = settings
    st.title(title)
    notices = st.container()
    if not (assets.STATIC_DIR / "leaflet" / "leaflet.js").is_file():  # static folder removed while running
        _install_assets.clear()
    try:
        st.session_state["basemap_url"] = _install_assets(settings.base_width)
    except assets.AssetError as err:
        notices.error(f"The offline base map cannot be prepared: {err}")
        st.session_state["basemap_url"] = None
    if not st.get_option("server.enableStaticServing"):
        notices.warning(
            "Static file serving is off, so the map cannot load Leaflet. Start the app with "
            "`satclip app` (or `streamlit run app/streamlit_app.py --server.enableStaticServing true`)."
        )
    encoder = model_sidebar(settings.model, settings.model_dirs)
    if encoder is not None:
        st.sidebar.caption(f"Model: {model_label(encoder)}  \nGrid: {settings.resolution} deg")
    else:
        st.sidebar.warning("No model loaded: pick a bundled model or give a model file.")
    return settings, encoder, notices
