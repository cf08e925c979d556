"""Label: drop pins of two or more named classes -> a classifier on their embeddings, fitted live
(``satclip.explore.labels``), painted over the globe with its uncertainty and held-out accuracy; exports."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st
from appkit import maps
from appkit.models import explorer_for
from appkit.page import KEEP, setup

from satclip.explore.labels import LabelError, label_map
from satclip.geo import CoordinateError

MAP_KEY = "label_map"
state = st.session_state
settings, encoder, notices = setup("Label: teach the map your own classes")
if encoder is None:
    notices.info("Load a model in the sidebar to start.")
    st.stop()
ex = explorer_for(encoder, settings.resolution, notices)

# ------------------------------------------------------------------ controls
sb = st.sidebar
probe = sb.radio(
    "Classifier",
    ["logistic", "knn"],
    key="label_probe",
    persist_state=KEEP,
    format_func={"logistic": "logistic regression", "knn": "k nearest neighbours"}.get,
)
k = sb.slider("k (nearest neighbours)", 1, 15, 5, key="label_k", persist_state=KEEP, disabled=probe != "knn")
show = sb.radio(
    "Map shows",
    ["class", "uncertainty"],
    key="label_show",
    persist_state=KEEP,
    format_func={"class": "most likely class", "uncertainty": "uncertainty (entropy)"}.get,
)
opacity = sb.slider("Overlay opacity", 0.0, 1.0, 0.6, 0.05, key="label_opacity", persist_state=KEEP)
land_only = sb.toggle("Land only (hide the sea)", False, key="label_land", persist_state=KEEP)

c1, c2 = st.columns([2, 3])
names_text = c1.text_input(
    "Class names (comma-separated, two or more)", "land, water", key="label_names", persist_state=KEEP
)
classes = list(dict.fromkeys(n.strip() for n in names_text.split(",") if n.strip()))
if len(classes) < 2:
    notices.warning("Give at least two class names, e.g. 'forest, desert'.")
current = c2.radio(
    "A click on the map adds a pin of class", classes or ["(none)"], horizontal=True, key="label_current"
)

state.setdefault(
    "label_pins",
    pd.DataFrame({"lon": pd.Series(dtype=float), "lat": pd.Series(dtype=float), "label": pd.Series(dtype=str)}),
)
state.setdefault("label_version", 0)


def _set_pins(df: pd.DataFrame) -> None:
    state["label_pins"] = df.reset_index(drop=True)
    state["label_version"] += 1


left, right = st.columns([3, 2], gap="medium")
with right:
    st.subheader("Pins")
    edited = st.data_editor(
        state["label_pins"],
        key=f"label_editor_{state['label_version']}",
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        column_config={
            "lon": st.column_config.NumberColumn("lon", min_value=-180.0, max_value=180.0, format="%.3f"),
            "lat": st.column_config.NumberColumn("lat", min_value=-90.0, max_value=90.0, format="%.3f"),
            "label": st.column_config.SelectboxColumn("class", options=classes, required=True),
        },
    )

clicked = maps.clicked_lonlat(state.get(MAP_KEY))
if clicked is not None and clicked != state.get("label_seen"):
    state["label_seen"] = clicked
    if classes:
        row = pd.DataFrame({"lon": [clicked[0]], "lat": [clicked[1]], "label": [current]})
        _set_pins(pd.concat([edited, row], ignore_index=True) if len(edited) else row)
        st.rerun()

pins = edited.dropna(how="all")
lm = None
counts = pins["label"].value_counts() if len(pins) else pd.Series(dtype=int)
if pins["label"].nunique() >= 2:
    try:
        lm = label_map(ex.grid, pins[["lon", "lat"]], pins["label"], encoder, probe=probe, k=k)
    except (LabelError, CoordinateError, ValueError) as err:
        notices.error(f"Cannot fit the classifier: {err}")

# ------------------------------------------------------------------ map
with left:
    image = None
    if lm is not None:
        image = (
            lm.class_image(opacity=1.0, land_only=land_only)
            if show == "class"
            else lm.uncertainty_image(land_only=land_only)
        )
    m = maps.base_map(state.get("basemap_url") or "")
    fg = maps.overlay_group(image, opacity, name="labels")
    colours = dict(zip(lm.classes, lm.colors(), strict=True)) if lm is not None else {}
    maps.add_points(
        fg,
        [
            {
                "lon": r.lon,
                "lat": r.lat,
                "color": colours.get(r.label, "#ffffff"),
                "tooltip": f"{r.label}: {r.lat:.3f}, {r.lon:.3f}",
            }
            for r in pins.dropna().itertuples(index=False)
        ],
        "#ffffff",
        radius=8,
        fill_opacity=1.0,
    )
    maps.show_map(m, fg, MAP_KEY)
    if image is not None and image.legend is not None:
        st.markdown(image.legend.html(width_px=300, fmt="{:.2f}"), unsafe_allow_html=True)
    st.caption("Click the map to drop a pin of the chosen class. Pins are white until two classes have pins.")

with right:
    if lm is None:
        st.info(
            "Drop pins of at least two classes to fit a classifier "
            f"(now: {', '.join(f'{c} {n}' for c, n in counts.items()) or 'no pins'})."
        )
    else:
        lat = ex.grid.points[:, 1]
        area = np.bincount(lm.predicted, weights=np.cos(np.radians(lat)), minlength=len(lm.classes))
        swatch = "<span style='display:inline-block;width:12px;height:12px;background:{}'></span>"
        st.markdown(
            "  \n".join(
                f"{swatch.format(c)} **{name}**: {int(counts.get(name, 0))} pins, {area[i] / area.sum():.0%} of the map"
                for i, (name, c) in enumerate(zip(lm.classes, lm.colors(), strict=True))
            ),
            unsafe_allow_html=True,
        )
        if lm.held_out is None:
            st.info("Add at least two pins per class to measure held-out accuracy.")
        else:
            st.metric(
                "Held-out accuracy",
                f"{lm.held_out.accuracy:.0%} ± {lm.held_out.std:.0%}",
                help="Stratified k-fold cross-validation over the pins; the spread is the standard "
                "deviation over folds",
            )
            st.caption(f"{lm.held_out.folds}-fold cross-validation over {lm.held_out.n} pins")
        st.caption(f"Mean uncertainty over the map: {float(lm.uncertainty.mean()):.2f} (0 = certain, 1 = uniform)")
        if st.toggle("Prepare GeoTIFF / Parquet downloads", False, key="label_exports"):
            with tempfile.TemporaryDirectory() as tmp:
                tif = lm.export_geotiff(Path(tmp) / "labels.tif").read_bytes()
            buf = io.BytesIO()
            lm.table().to_parquet(buf, index=False)
            d1, d2 = st.columns(2)
            d1.download_button("GeoTIFF", tif, file_name="labels.tif", mime="image/tiff", key="label_dl_tif")
            d2.download_button(
                "Parquet",
                buf.getvalue(),
                file_name="labels.parquet",
                mime="application/vnd.apache.parquet",
                key="label_dl_parquet",
            )
    if len(pins):
        st.download_button(
            "Download pins (CSV)",
            pins.to_csv(index=False),
            file_name="label_pins.csv",
            mime="text/csv",
            key="label_dl_pins",
        )
