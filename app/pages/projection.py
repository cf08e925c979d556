"""Projection: PCA/UMAP false-colour world map and a 2-D scatter; selected scatter points are drawn on the map."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from appkit import maps
from appkit.models import explorer_for
from appkit.page import setup
from streamlit_folium import st_folium

MAX_HIGHLIGHT = 400
settings, encoder, notices = setup("Projection of the embedding field")
st.write("Every grid cell's embedding projected to three components, shown as red, green and blue: places that "
         "look alike to the model get similar colours. The scatter shows the first two components of a sample "
         "of cells (area-weighted); select points (box or lasso) to see where they are.")
if encoder is None:
    notices.info("Load a model in the sidebar to start.")
    st.stop()
ex = explorer_for(encoder, settings.resolution, notices)

method = st.sidebar.radio("Method", ["PCA", "UMAP"], key="proj_method",
                          help="PCA takes seconds; UMAP about 1-2 minutes the first time per model (then cached)")
n_points = st.sidebar.select_slider("Scatter points", [1000, 2000, 5000, 10000], 5000, key="proj_n")
opacity = st.sidebar.slider("Map opacity", 0.0, 1.0, 0.85, 0.05, key="proj_opacity")


def _projection(name: str) -> Any:
    if name == "PCA":
        return ex.projection("pca", 3)
    bar = notices.progress(0.0, text="UMAP: fitting (first time for this model only) ...")
    try:
        return ex.projection("umap", 3, seed=0, progress=lambda d, t: bar.progress(min(d / max(t, 1), 1.0),
                                                                                 text=f"UMAP {d:,}/{t:,}"))
    finally:
        bar.empty()


if method == "UMAP" and not st.session_state.get("proj_umap_ok"):
    notices.info("UMAP needs a one-off fit of about 1-2 minutes per model (cached afterwards).")
    if not notices.button("Compute UMAP", key="proj_umap_go"):
        st.stop()
    st.session_state["proj_umap_ok"] = True
try:
    proj = _projection(method)
except (ImportError, ValueError, RuntimeError) as err:
    notices.error(f"Cannot compute the {method} projection: {err}")
    st.stop()
scatter = proj.scatter(n=n_points, seed=0)

left, right = st.columns([3, 2], gap="medium")
with right:
    fig = go.Figure(go.Scattergl(
        x=scatter["x"], y=scatter["y"], mode="markers",
        marker={"color": scatter["color"], "size": 5, "line": {"width": 0}},
        customdata=scatter[["place", "country", "lon", "lat"]].to_numpy(),
        hovertemplate="%{customdata[0]}, %{customdata[1]}<br>lon %{customdata[2]:.2f}, lat %{customdata[3]:.2f}"
                      "<extra></extra>"))
    fig.update_layout(height=480, margin={"l": 10, "r": 10, "t": 30, "b": 10}, dragmode="select",
                      xaxis_title=f"{method} 1", yaxis_title=f"{method} 2", title=f"{method} of {len(scatter):,} cells")
    event = st.plotly_chart(fig, on_select="rerun", selection_mode=("points", "box", "lasso"), key="proj_scatter",
                            width="stretch")
    selected = list(getattr(getattr(event, "selection", None), "point_indices", None) or [])
    if selected:
        picked = scatter.iloc[selected]
        st.caption(f"{len(picked):,} cells selected" + (f" ({MAX_HIGHLIGHT} of them drawn)"
                                                         if len(picked) > MAX_HIGHLIGHT else ""))
        st.dataframe(picked[["place", "country", "lon", "lat"]].head(200), hide_index=True, key="proj_selected")
    else:
        picked = pd.DataFrame(columns=scatter.columns)
        st.caption("Select points (box or lasso) to highlight them on the map.")
    info = proj.info.get("explained_variance_ratio")
    if info:
        st.caption("Explained variance: " + ", ".join(f"{v:.1%}" for v in info[:3]))

with left:
    m = maps.base_map(st.session_state.get("basemap_url") or "")
    fg = maps.overlay_group(proj.image(), opacity, name="projection")
    drawn = picked if len(picked) <= MAX_HIGHLIGHT else picked.sample(MAX_HIGHLIGHT, random_state=0)  # spread out
    maps.add_points(fg, [{**r, "color": "#ffffff", "tooltip": f"{r['place']}, {r['country']}"} for r in
                         drawn.to_dict("records")], "#ffffff", radius=3.5)
    st_folium(m, key="proj_map", feature_group_to_add=fg, returned_objects=[], height=520,
              use_container_width=True, pixelated=True)
