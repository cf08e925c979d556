"""Search: any number of weighted "like" and "unlike" pins -> heat map and most similar places and cells
(``satclip.explore.pins``); pins edited in a table and saved/loaded as CSV or GeoJSON; optionally the same
pins on a second model, in a second map that follows the first one's view."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st
from appkit import maps
from appkit.models import bundled_available, explorer_for, load_encoder
from appkit.page import KEEP, setup
from appkit.tables import result_table

from satclip.explore.pins import PinError, empty_pins, pins_to_csv, pins_to_geojson, read_pins, search, validate_pins
from satclip.explore.places import near_phrase
from satclip.explore.render import colormap_names
from satclip.geo import CoordinateError

MAP_KEY, SYNC_KEYS = "search_map", ("search_map_a", "search_map_b")  # synced maps report their view: own keys
NO_SECOND = "(none)"
PIN_COLOURS = {"like": "#22c55e", "unlike": "#ef4444"}
SCORE = {"similarity": "score"}  # the results' header: like minus unlike, not one similarity

state = st.session_state
settings, encoder, notices = setup("Search with pins: more like these, less like those")
if encoder is None:
    notices.info("Load a model in the sidebar to start.")
    st.stop()
ex = explorer_for(encoder, settings.resolution, notices)

# ------------------------------------------------------------------ controls
sb = st.sidebar
cmap = sb.selectbox(
    "Colour map (like pins only)",
    colormap_names(),
    index=colormap_names().index("magma"),
    key="search_cmap",
    help="With unlike pins the map is diverging (red: like, blue: unlike)",
)
opacity = sb.slider("Heat map opacity", 0.0, 1.0, 0.7, 0.05, key="search_opacity", persist_state=KEEP)
k = sb.slider("Most similar: how many", 1, 30, 10, key="search_k", persist_state=KEEP)
exclude_km = sb.slider(
    "Ignore places within (km) of a like pin", 0, 3000, 500, 50, key="search_exclude", persist_state=KEEP
)
land_only = sb.toggle("Land only (hide the sea)", False, key="search_land", persist_state=KEEP)
others = [m for m in bundled_available() if m != getattr(encoder, "name", None)]
second = sb.selectbox(
    "Second model (side by side)",
    [NO_SECOND, *others],
    key="search_model2",
    persist_state=KEEP,
    help="The same pins on another model, in a second map that follows the first map's view",
)

c1, c2, c3 = st.columns([2, 1, 2])
mode = c1.radio(
    "A click on the map adds a pin that is", ["like", "unlike"], horizontal=True, key="search_mode", persist_state=KEEP
)
weight = c2.number_input("Weight of new pins", 0.1, 10.0, 1.0, 0.1, key="search_weight", persist_state=KEEP)
files = c3.expander("Load or save pins (CSV, GeoJSON)")
upload = files.file_uploader(
    "Load pins (replaces the current ones)", type=["csv", "geojson", "json"], key="search_upload"
)

state.setdefault("search_pins", empty_pins())
state.setdefault("search_version", 0)


def _set_pins(df: pd.DataFrame) -> None:
    """Replace the pin table (a new editor key, so the table shows it as is)."""
    state["search_pins"] = df.reset_index(drop=True)
    state["search_version"] += 1


if upload is not None and upload.file_id != state.get("search_upload_seen"):
    state["search_upload_seen"] = upload.file_id
    try:
        _set_pins(read_pins(upload.getvalue(), upload.name))
    except (PinError, CoordinateError) as err:
        notices.error(f"Cannot load pins: {err}")

if second == NO_SECOND:
    left, right = st.columns([3, 2], gap="medium")
    map_slots, pins_box, list_slots = [left], right.container(), [right]
else:
    map_slots = list(st.columns(2, gap="small"))
    pins_box = st.container()
    list_slots = list(st.columns(2, gap="small"))

# ------------------------------------------------------------------ pin table (edits), then clicks
with pins_box:
    st.caption("Pins: edit kind, weight and label in the table; select rows and press Delete to remove them.")
    edited = st.data_editor(
        state["search_pins"],
        key=f"search_editor_{state['search_version']}",
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        height=min(36 + 35 * (len(state["search_pins"]) + 1), 220),
        column_config={
            "lon": st.column_config.NumberColumn("lon", min_value=-180.0, max_value=180.0, format="%.3f"),
            "lat": st.column_config.NumberColumn("lat", min_value=-90.0, max_value=90.0, format="%.3f"),
            "kind": st.column_config.SelectboxColumn("kind", options=["like", "unlike"], required=True),
            "weight": st.column_config.NumberColumn("weight", min_value=0.01, max_value=100.0, format="%.2f"),
            "label": st.column_config.TextColumn("label"),
        },
    )
pins = None
try:
    pins = validate_pins(edited, "pin table")
except (PinError, CoordinateError) as err:
    notices.error(f"Fix the pin table: {err}")

for key in (MAP_KEY, *SYNC_KEYS):
    clicked = maps.clicked_lonlat(state.get(key))
    if clicked is not None and clicked != state.get(f"{key}_seen"):
        state[f"{key}_seen"] = clicked
        base = pins if pins is not None else state["search_pins"]
        row = pd.DataFrame(
            {
                "lon": [clicked[0]],
                "lat": [clicked[1]],
                "kind": [mode],
                "weight": [float(weight)],
                "label": [f"{mode} {len(base) + 1}"],
            }
        )
        _set_pins(pd.concat([base, row], ignore_index=True) if len(base) else row)
        st.rerun()

if pins is not None and len(pins):
    # one under the other: side by side, at 1366 px the second read 'Download pins (Ge…'
    files.download_button(
        "Download pins (CSV)", pins_to_csv(pins), file_name="pins.csv", mime="text/csv", key="search_dl_csv"
    )
    files.download_button(
        "Download pins (GeoJSON)",
        pins_to_geojson(pins),
        file_name="pins.geojson",
        mime="application/geo+json",
        key="search_dl_geojson",
    )
if pins_box.button("Remove all pins", key="search_clear", disabled=pins is None or not len(pins)):
    _set_pins(empty_pins())
    st.rerun()

# ------------------------------------------------------------------ compute (per model)
models: list[tuple[str, Any, Any]] = [(getattr(encoder, "name", "model"), encoder, ex)]
if second != NO_SECOND:
    try:
        enc2 = load_encoder(second)
        models.append((second, enc2, explorer_for(enc2, settings.resolution, notices)))
    except (OSError, ValueError, RuntimeError) as err:
        notices.error(f"Cannot load the second model {second}: {err}")

has_like = pins is not None and (pins["kind"] == "like").any()
results: list[dict[str, Any]] = []
for name, enc, explorer in models:
    res: dict[str, Any] = {"name": name, "image": None, "places": None, "cells": None, "legend": None}
    if has_like:
        try:
            sim = search(explorer.grid, pins, enc)
            image = sim.image(cmap=None if sim.diverging else cmap, land_only=land_only)
            res.update(
                image=image,
                legend=image.legend,
                places=sim.top_places(explorer.places, k, exclude_km or None),
                cells=sim.top_cells(
                    k,
                    exclude_km or None,
                    land_only=land_only,
                    min_separation_km=max(300.0, 2 * 111 * settings.resolution),
                ),
            )
        except (PinError, CoordinateError, ValueError) as err:
            notices.error(f"Cannot compute the search map on {name}: {err}")
    results.append(res)

# ------------------------------------------------------------------ maps (the second follows the first's view)
sync = len(results) > 1
map_keys = SYNC_KEYS if sync else (MAP_KEY,)
DEFAULT_VIEW = (20.0, 0.0, 2)  # maps.base_map's centre (lat, lon) and zoom


def _close(a: tuple[float, float, int] | None, b: tuple[float, float, int] | None) -> bool:
    return a is not None and b is not None and a[2] == b[2] and abs(a[0] - b[0]) < 0.5 and abs(a[1] - b[1]) < 0.5


view = state.get("search_view")
moved = []
for key in map_keys:
    got = state.get(key) or {}
    centre, zoom = got.get("center"), got.get("zoom")
    if not isinstance(centre, dict) or zoom is None:
        continue
    now = (float(centre["lat"]), float(centre["lng"]), int(zoom))
    before = state.get(f"{key}_reported", DEFAULT_VIEW)
    state[f"{key}_reported"] = now
    if not _close(now, before) and not _close(now, view):  # moved by the user, not by following the other map
        moved.append(now)
if sync and moved:
    view = moved[0]
state["search_view"] = view

for slot, key, res in zip(map_slots, map_keys, results, strict=False):
    with slot:
        if sync:
            st.markdown(f"**{res['name']}**")
        m = maps.base_map(state.get("basemap_url") or "")
        fg = maps.overlay_group(res["image"], opacity, name="search")
        if res["cells"] is not None:
            maps.add_points(
                fg,
                [
                    {
                        **r,
                        "tooltip": f"cell #{r['rank']}: {r['lat']:.1f}, {r['lon']:.1f} "
                        f"({near_phrase(r['near'], r['country'], r['near_km'])}) score {r['similarity']:.3f}",
                    }
                    for r in res["cells"].to_dict("records")
                ],
                "#22d3ee",
                radius=5,
            )
        if res["places"] is not None:
            maps.add_points(
                fg,
                [
                    {**r, "tooltip": f"{r['rank']}. {r['name']}, {r['country']} ({r['similarity']:.3f})"}
                    for r in res["places"].to_dict("records")
                ],
                "#f97316",
                radius=7,
            )
        if pins is not None:
            maps.add_points(
                fg,
                [
                    {
                        "lon": p.lon,
                        "lat": p.lat,
                        "color": PIN_COLOURS[p.kind],
                        "tooltip": f"{p.kind} pin '{p.label}' (weight {p.weight:g}): {p.lat:.3f}, {p.lon:.3f}",
                    }
                    for p in pins.itertuples(index=False)
                ],
                "#22c55e",
                radius=9,
                fill_opacity=1.0,
            )
        maps.show_map(
            m,
            fg,
            key,
            returned=("last_clicked", "center", "zoom") if sync else ("last_clicked",),
            height=440 if sync else 520,
            view=view if sync else None,
        )
        if res["legend"] is not None:
            st.markdown(res["legend"].html(width_px=300, fmt="{:.3f}"), unsafe_allow_html=True)

st.caption(
    "Green pins: like; red pins: unlike. Orange: most similar named places; cyan: most similar grid cells. "
    "Score = weighted mean similarity to the like pins minus the weighted similarity to the unlike pins."
)

for slot, res in zip(list_slots, results, strict=False):
    with slot:
        if not has_like:
            st.info("Click the map to drop a 'like' pin (or load a pin file); add 'unlike' pins to push places down.")
            break
        if res["places"] is not None:
            st.subheader(f"Most similar places{' (' + res['name'] + ')' if sync else ''}")
            result_table(res["places"], ["rank", "place", "similarity", "distance_km"], headers=SCORE)
        if res["cells"] is not None:
            st.subheader(f"Most similar grid cells{' (' + res['name'] + ')' if sync else ''}")
            result_table(res["cells"], ["rank", "similarity", "lat", "lon", "place"], headers=SCORE)
