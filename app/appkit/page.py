"""What every page runs first: settings, offline assets, the model selector, a fixed slot for messages."""

from __future__ import annotations

from typing import Any

import streamlit as st

from appkit import web_assets as assets
from appkit.models import model_label, model_sidebar
from appkit.settings import Settings

_SEEN = "_satclip_session_ran"  # set by every run: the session has run at least once
KEEP = "session"  # persist_state of every widget: it keeps its value while the user visits other pages


@st.cache_resource(show_spinner="Preparing the offline map (first start only) ...")
def _install_assets(width: int) -> str:
    return assets.install_all(width)


def _leave_pages_folder_mode() -> None:
    """Rerun through streamlit_app.py when Streamlit ran this page alone.

    Until some run calls ``st.navigation``, Streamlit treats the app as an old-style multipage app because its
    pages live in a folder named ``pages``: the first request after a start that is a link to a page
    (/search, a bookmark, a tab reloaded after ``satclip app`` restarted) ran that file alone, for every
    visitor, with a menu of the file names ('streamlit app', 'downstream', ...) and without the page
    settings of streamlit_app.py. Streamlit's page of that name is the same in both modes (its url path
    comes from the file name), so a rerun lands on it. Only a session's first run is rerun: a later run may
    carry a button click, which a rerun would lose (AppTest resets the mode before every run)."""
    from streamlit.runtime.pages_manager import PagesManager

    if getattr(PagesManager, "uses_pages_directory", False) and _SEEN not in st.session_state:
        PagesManager.uses_pages_directory = False
        st.rerun()
    st.session_state[_SEEN] = True


def setup(title: str) -> tuple[Settings, Any, Any]:
    """Page title, settings, offline assets and the model: returns (settings, encoder or None, notices).

    ``notices`` is a container that is always created at the same place, so that progress bars and
    messages never shift the elements below it (a shifted map would be remounted and lose its state)."""
    _leave_pages_folder_mode()
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
