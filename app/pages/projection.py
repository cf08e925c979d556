"""Projection: PCA/UMAP false-colour world map and a 2-D scatter; selected scatter points are drawn on the map."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from appkit import jobs, maps
from appkit.models import explorer_for
from appkit.page import KEEP, setup
from appkit.tables import selection_table

from satclip.explore.projection import cached_projection

MAX_HIGHLIGHT = 400
settings, encoder, notices = setup("Projection of the embedding field")
st.write(
    "Every grid cell's embedding projected to three components, shown as red, green and blue: places that "
    "look alike to the model get similar colours. The scatter shows the first two components of a sample "
    "of cells (area-weighted); select points (box or lasso) to see where they are."
)
if encoder is None:
    notices.info("Load a model in the sidebar to start.")
    st.stop()
ex = explorer_for(encoder, settings.resolution, notices)

method = st.sidebar.radio(
    "Method",
    ["PCA", "UMAP"],
    key="proj_method",
    persist_state=KEEP,
    help="PCA takes a second. UMAP: the bundled models ship their layout (no fit, about 13 s of CPU time); "
    "other models are fitted once (about 20 s of CPU time, 28 s the first time on a machine, then cached), "
    "in the background: other pages stay usable meanwhile",
)
n_points = st.sidebar.select_slider("Scatter points", [1000, 2000, 5000, 10000], 5000, key="proj_n", persist_state=KEEP)
opacity = st.sidebar.slider("Map opacity", 0.0, 1.0, 0.85, 0.05, key="proj_opacity", persist_state=KEEP)
UMAP_ARGS: dict[str, Any] = {"seed": 0}


def _umap_job_key() -> str:
    return f"umap:{ex.grid.key}:{ex.grid.n_cells}:{sorted(UMAP_ARGS.items())}"


def _fit_umap(job: jobs.Job) -> Any:
    return ex.projection("umap", 3, progress=job.report, stage=job.set_stage, **UMAP_ARGS)


@st.fragment(run_every=1.0)
def _umap_status(key: str) -> None:
    """Stage, progress, elapsed time and an estimate of the running fit; a full rerun shows the result."""
    job = jobs.get(key)
    if job is None or not job.running:
        st.rerun()
    left = job.remaining()
    st.progress(
        job.fraction,
        text=f"UMAP: {job.stage} ... {job.elapsed:.0f} s elapsed"
        + (f", about {left:.0f} s left" if left is not None else ""),
    )
    st.caption(
        "The fit runs in the background: switch pages or methods freely, it carries on and is kept "
        "(on disk too) for this model."
    )


def _umap() -> Any:
    """The cached UMAP projection, or the background job's result; while it runs, its status and st.stop()."""
    proj = cached_projection(ex.grid, "umap", 3, **UMAP_ARGS)
    if proj is not None:
        return proj
    key = _umap_job_key()
    job = jobs.start(key, _fit_umap)
    if job.running:
        with notices:
            _umap_status(key)
        st.stop()
    if job.error is not None:
        notices.error(f"Cannot compute the UMAP projection: {job.error}")
        if notices.button("Try again", key="proj_umap_retry"):
            jobs.forget(key)
            st.rerun()
        st.stop()
    return job.result


try:
    proj = ex.projection("pca", 3) if method == "PCA" else _umap()
except (ImportError, ValueError, RuntimeError) as err:
    notices.error(f"Cannot compute the {method} projection: {err}")
    st.stop()
scatter = proj.scatter(n=n_points, seed=0)

left, right = st.columns([3, 2], gap="medium")
with right:
    fig = go.Figure(
        go.Scattergl(
            x=scatter["x"],
            y=scatter["y"],
            mode="markers",
            marker={"color": scatter["color"], "size": 5, "line": {"width": 0}},
            customdata=scatter[["near", "lon", "lat"]].to_numpy(),
            hovertemplate="%{customdata[0]}<br>lon %{customdata[1]:.2f}, lat %{customdata[2]:.2f}<extra></extra>",
        )
    )
    fig.update_layout(
        height=480,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        dragmode="select",
        xaxis_title=f"{method} 1",
        yaxis_title=f"{method} 2",
        title=f"{method} of {len(scatter):,} cells",
    )
    event = st.plotly_chart(
        fig, on_select="rerun", selection_mode=("points", "box", "lasso"), key="proj_scatter", width="stretch"
    )
    selected = list(getattr(getattr(event, "selection", None), "point_indices", None) or [])
    if selected:
        picked = scatter.iloc[selected]
        st.caption(
            f"{len(picked):,} cells selected"
            + (f" ({MAX_HIGHLIGHT} of them drawn)" if len(picked) > MAX_HIGHLIGHT else "")
        )
        st.dataframe(selection_table(picked.head(200)), hide_index=True, key="proj_selected")
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
    maps.add_points(
        fg,
        [{**r, "color": "#ffffff", "tooltip": r["near"]} for r in drawn.to_dict("records")],
        "#ffffff",
        radius=3.5,
    )
    maps.show_map(m, fg, "proj_map", returned=())
