"""satclip explorer: click-to-embed world map, similarity heat maps, projections, quick downstream probes.

Run with ``satclip app`` (or ``streamlit run app/streamlit_app.py`` from the repository root, which reads
``.streamlit/config.toml``). Works offline: Leaflet and the Blue Marble base map are served locally.
Settings: SATCLIP_APP_MODEL, SATCLIP_APP_RESOLUTION, SATCLIP_APP_MAX_ROWS (see appkit/settings.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

APP_DIR = Path(__file__).resolve().parent
for _p in (APP_DIR.parent, APP_DIR):  # the app's helpers, and the repository's satclip package when run from a checkout
    if (_p is APP_DIR or (_p / "satclip" / "__init__.py").is_file()) and str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from appkit import assets  # noqa: E402
from appkit.models import model_label, model_sidebar  # noqa: E402
from appkit.settings import Settings  # noqa: E402

st.set_page_config(page_title="satclip explorer", page_icon=":earth_africa:", layout="wide")


@st.cache_resource(show_spinner="Preparing the offline map (first start only) ...")
def _install_assets(width: int) -> str:
    return assets.install_all(width)


def main() -> None:
    settings = Settings.from_env()
    st.session_state["settings"] = settings
    pages = [
        st.Page(str(APP_DIR / "pages" / "explore.py"), title="Explore", icon=":material/public:", default=True),
        st.Page(str(APP_DIR / "pages" / "projection.py"), title="Projection", icon=":material/palette:"),
        st.Page(str(APP_DIR / "pages" / "downstream.py"), title="Downstream", icon=":material/query_stats:"),
        st.Page(str(APP_DIR / "pages" / "embed.py"), title="Embed", icon=":material/table:"),
        st.Page(str(APP_DIR / "pages" / "model.py"), title="Model", icon=":material/info:"),
    ]
    page = st.navigation(pages)
    notices = st.container()  # always present, so that page content keeps its place between runs
    try:
        st.session_state["basemap_url"] = _install_assets(settings.base_width)
    except assets.AssetError as err:
        notices.error(f"The offline map cannot be prepared: {err}")
        st.session_state["basemap_url"] = None
    if not st.get_option("server.enableStaticServing"):
        notices.warning("Static file serving is off, so the map cannot load Leaflet. Start the app with `satclip app` "
                   "(or `streamlit run app/streamlit_app.py --server.enableStaticServing true`).")
    encoder = model_sidebar(settings.model)
    st.session_state["encoder"] = encoder
    if encoder is not None:
        st.sidebar.caption(f"Model: {model_label(encoder)}  \nGrid: {settings.resolution} deg")
    else:
        st.sidebar.warning("No model loaded: pick a bundled model or give a model file.")
    page.run()


main()
