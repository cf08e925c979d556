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

st.set_page_config(page_title="satclip explorer", page_icon=":earth_africa:", layout="wide")
PAGES = APP_DIR / "pages"
st.navigation(
    [
        st.Page(str(PAGES / "explore.py"), title="Explore", icon=":material/public:", default=True),
        st.Page(str(PAGES / "search.py"), title="Search", icon=":material/push_pin:"),
        st.Page(str(PAGES / "label.py"), title="Label", icon=":material/label:"),
        st.Page(str(PAGES / "projection.py"), title="Projection", icon=":material/palette:"),
        st.Page(str(PAGES / "downstream.py"), title="Downstream", icon=":material/query_stats:"),
        st.Page(str(PAGES / "embed.py"), title="Embed", icon=":material/table:"),
        st.Page(str(PAGES / "model.py"), title="Model", icon=":material/info:"),
    ]
).run()  # each page starts with appkit.page.setup(): settings, offline assets, model selector
