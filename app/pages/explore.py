"""Explore: click the map -> marker, embedding, similarity heat map, most similar places and cells;
optionally a second place to compare."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import streamlit as st
from appkit import maps
from appkit.figures import embedding_chart
from appkit.models import explorer_for
from appkit.page import KEEP, setup
from appkit.state import fmt_lonlat, likely_swapped, parse_lonlat
from appkit.tables import result_table

from satclip.explore.places import near_phrase
from satclip.explore.render import colormap_names

MAP_KEY = "explore_map"
SIMILAR_ENOUGH = 0.5  # below this cosine similarity nothing is called similar (Greenland's best town: 0.34)
t0 = time.perf_counter()
settings, encoder, notices = setup("Explore the embedding field")
if encoder is None:
    notices.info("Load a model in the sidebar to start.")
    st.stop()
ex = explorer_for(encoder, settings.resolution, notices)

# ------------------------------------------------------------------ controls
sb = st.sidebar
compare = sb.toggle(
    "Compare two places", key="explore_compare", persist_state=KEEP, help="Clicks alternate between place A and place B"
)
cmap = sb.selectbox(
    "Colour map", colormap_names(), index=colormap_names().index("magma"), key="explore_cmap", persist_state=KEEP
)
opacity = sb.slider("Heat map opacity", 0.0, 1.0, 0.7, 0.05, key="explore_opacity", persist_state=KEEP)
scale = sb.radio(
    "Colour scale", ["robust (1-99.5 %)", "full [-1, 1]", "custom"], key="explore_scale", persist_state=KEEP
)
vmin = vmax = None
if scale == "full [-1, 1]":
    vmin, vmax = -1.0, 1.0
elif scale == "custom":
    vmin = sb.number_input("min", -1.0, 1.0, 0.0, 0.05, key="explore_vmin", persist_state=KEEP)
    vmax = sb.number_input("max", -1.0, 1.0, 1.0, 0.05, key="explore_vmax", persist_state=KEEP)
k = sb.slider("Most similar: how many", 1, 30, 10, key="explore_k", persist_state=KEEP)
exclude_km = sb.slider(
    "Ignore places within (km) of the query", 0, 3000, 500, 50, key="explore_exclude", persist_state=KEEP
)
land_only = sb.toggle(
    "Land only (hide the sea)",
    False,
    key="explore_land",
    persist_state=KEEP,
    help="Heat map and most similar cells on land only",
)
min_pop = sb.select_slider(
    "Places: minimum population",
    [0, 15_000, 100_000, 500_000, 1_000_000],
    100_000,
    key="explore_minpop",
    persist_state=KEEP,
)
online = sb.toggle(
    "Online tile layers (optional)",
    False,
    key="explore_online",
    persist_state=KEEP,
    help="OpenStreetMap and Esri imagery over the Blue Marble (needs internet; a layer control "
    "on the map switches them)",
)

# ------------------------------------------------------------------ clicks (read before drawing: no lost clicks)
state = st.session_state
state.setdefault("explore_a", None)
state.setdefault("explore_b", None)
state.setdefault("explore_next", "a")


def _register(pt: tuple[float, float]) -> None:
    """A click sets A; in compare mode it sets B when A is set and B is empty or due next."""
    if compare and state["explore_a"] is not None and (state["explore_b"] is None or state["explore_next"] == "b"):
        state["explore_b"] = pt
        state["explore_next"] = "a"
    else:
        state["explore_a"] = pt
        state["explore_next"] = "b"
        if not compare:
            state["explore_b"] = None


def _near(pt: tuple[float, float]) -> str:
    """'near Paris (France)', or how far the nearest named place is."""
    near = ex.places.nearest(np.array([pt]))
    return near_phrase(near["name"].iloc[0], near["country"].iloc[0], float(near["distance_km"].iloc[0]))


clicked = maps.clicked_lonlat(state.get(MAP_KEY))
if clicked is not None and clicked != state.get("explore_seen"):
    state["explore_seen"] = clicked
    _register(clicked)
if not compare:
    state["explore_b"] = None

LON_LAT, LAT_LON = "lon, lat", "lat, lon"
with st.expander("Type coordinates instead of clicking", expanded=False):
    with st.form("explore_coords"):
        text = st.text_input("Coordinates (degrees)", placeholder="2.35, 48.86", key="explore_text", persist_state=KEEP)
        order = st.radio(
            "Order",
            [LON_LAT, LAT_LON],
            horizontal=True,
            key="explore_order",
            persist_state=KEEP,
            help="Most map sites copy 'lat, lon' (Paris: 48.8566, 2.3522)",
        )
        if st.form_submit_button("Show"):
            state["explore_ask"] = None
            try:
                pt = parse_lonlat(text, lat_first=order == LAT_LON)
            except ValueError as err:
                st.error(str(err))
            else:
                swapped = (
                    None
                    if order == LAT_LON
                    else likely_swapped(pt, lambda pts: ex.places.nearest(pts)["distance_km"].to_numpy())
                )
                if swapped is None:
                    _register(pt)
                else:
                    state["explore_ask"] = (pt, swapped)
    ask = state.get("explore_ask")
    if ask:  # "48.8566, 2.3522" read as lon, lat is the Indian Ocean off Somalia: ask instead of guessing
        typed, swapped = ask
        st.warning("These coordinates look like **lat, lon** (the order most map sites copy). Which place?")
        c1, c2 = st.columns(2)
        for col, pt, order_name, key in (
            (c1, swapped, LAT_LON, "explore_ask_swapped"),
            (c2, typed, LON_LAT, "explore_ask_typed"),
        ):
            if col.button(f"{order_name}: {fmt_lonlat(*pt)}, {_near(pt)}", key=key):
                state["explore_ask"] = None
                _register(pt)
                st.rerun()  # the question was drawn above the answer: draw the page again without it
target_slot = st.container()

a, b = state["explore_a"], state["explore_b"]

# ------------------------------------------------------------------ compute
sim = places = cells = None
target = "A"
if a is not None:
    if b is not None:
        target = target_slot.radio(
            "Heat map of",
            ["A", "B", "like A and B", "like A, unlike B"],
            horizontal=True,
            key="explore_target",
            persist_state=KEEP,
        )
    like, unlike = {"A": (a, None), "B": (b, None), "like A and B": ([a, b], None), "like A, unlike B": (a, b)}[target]
    try:
        sim = ex.similarity(like, unlike)
        image = sim.image(cmap=cmap, vmin=vmin, vmax=vmax, land_only=land_only)
        places = sim.top_places(ex.places, k, exclude_km or None, min_pop)
        cells = sim.top_cells(
            k, exclude_km or None, min_separation_km=max(300.0, 2 * 111 * settings.resolution), land_only=land_only
        )
    except ValueError as err:
        notices.error(f"Cannot compute the similarity map: {err}")
        sim = image = None
else:
    image = None

# ------------------------------------------------------------------ map
left, right = st.columns([3, 2], gap="medium")
with left:
    base_url = state.get("basemap_url")
    m = maps.base_map(base_url or "", online_layers=online)
    fg = maps.overlay_group(image, opacity, name="similarity")
    if cells is not None:
        maps.add_points(
            fg,
            [
                {
                    **r,
                    "tooltip": f"cell #{r['rank']}: {r['lat']:.1f}, {r['lon']:.1f} "
                    f"{near_phrase(r['near'], r['country'], r['near_km'])}, "
                    f"similarity {r['similarity']:.3f}",
                }
                for r in cells.to_dict("records")
            ],
            "#22d3ee",
            radius=5,
        )
    if places is not None:
        maps.add_points(
            fg,
            [
                {
                    **r,
                    "tooltip": f"{r['rank']}. {r['name']}, {r['country']} "
                    f"(population {r['population']:,}, similarity {r['similarity']:.3f})",
                }
                for r in places.to_dict("records")
            ],
            "#f97316",
            radius=7,
        )
    if a is not None:
        maps.add_query_marker(fg, a[0], a[1], "A", labelled=b is not None)
    if b is not None:
        maps.add_query_marker(fg, b[0], b[1], "B", labelled=True)
    maps.show_map(m, fg, MAP_KEY)
    if sim is not None and image is not None and image.legend is not None:
        st.markdown(image.legend.html(width_px=320, fmt="{:.3f}"), unsafe_allow_html=True)
    st.caption("Click anywhere on the map. Orange: most similar named places; cyan: most similar grid cells.")

with right:
    if a is None:
        st.info("Click the map to embed a place" + (" (first click: A, second: B)." if compare else "."))
    else:
        st.markdown(f"**A**: {fmt_lonlat(*a)}, {_near(a)}")
        if b is not None:
            emb = ex.embed(np.array([a, b]))
            cos = float(emb[0] @ emb[1] / (np.linalg.norm(emb[0]) * np.linalg.norm(emb[1]) + 1e-12))
            st.markdown(f"**B**: {fmt_lonlat(*b)}, {_near(b)}")
            st.metric("Cosine similarity A-B", f"{cos:.3f}")
        elif compare:
            st.caption("Click again to set place B.")
        if places is not None:
            st.subheader("Most similar places")
            best = float(places["similarity"].max()) if len(places) else float("nan")
            if sim is not None and not sim.diverging and not best >= SIMILAR_ENOUGH:
                st.warning(
                    f"No named place is really similar: the best cosine similarity is {best:.2f} (below "
                    f"{SIMILAR_ENOUGH}). These are only the least different; the grid cells below may "
                    "match better."
                )
            result_table(places, ["rank", "place", "similarity", "distance_km"], alt="Most similar places")
        if cells is not None:
            st.subheader("Most similar grid cells")
            result_table(cells, ["rank", "similarity", "lat", "lon", "place"], alt="Most similar grid cells")

if a is not None:
    pts = [a] if b is None else [a, b]
    emb = ex.embed(np.array(pts))
    st.subheader(f"Embedding ({emb.shape[1]} dimensions)")
    st.vega_lite_chart(*embedding_chart(emb, ["A", "B"][: len(pts)]), height=220, use_container_width=True)
    st.download_button(
        "Download embedding (CSV)",
        pd.DataFrame(emb, columns=[f"emb_{i}" for i in range(emb.shape[1])])
        .assign(lon=[p[0] for p in pts], lat=[p[1] for p in pts])
        .to_csv(index=False),
        file_name="embedding.csv",
        mime="text/csv",
        key="explore_download",
    )

elapsed = (time.perf_counter() - t0) * 1000
state["explore_ms"] = elapsed
st.caption(
    f"Page updated in {elapsed:.0f} ms on the server (grid {settings.resolution} deg, {ex.grid.n_cells:,} cells)."
)
