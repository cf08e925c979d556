"""Embed: upload a CSV/Parquet file of points -> download their embeddings (Parquet or CSV)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st
from appkit.page import KEEP, setup
from appkit.state import TABLE_TYPES, InputError, check_coordinates, read_table

from satclip.geo import CoordinateError, find_lonlat_columns
from satclip.tables import TableError, embed_file

settings, encoder, notices = setup("Embed a table of places")
st.write(
    f"Upload a CSV, TSV or Parquet file with longitude and latitude columns (lon/lng/longitude, "
    f"lat/latitude, degrees). Limits: {settings.max_upload_mb} MB per file and {settings.max_rows:,} rows; "
    "for bigger files use `satclip embed IN -o OUT` on the command line. Other columns are kept."
)
if encoder is None:
    st.info("Load a model in the sidebar first.")
    st.stop()

up = st.file_uploader("Points file", type=TABLE_TYPES, key="embed_upload")
fmt = st.radio("Output format", ["parquet", "csv"], horizontal=True, key="embed_format", persist_state=KEEP)
state = st.session_state
if up is not None and st.button("Embed", type="primary", key="embed_go"):
    try:
        df = read_table(up, settings.max_rows)
        lon_col, lat_col = find_lonlat_columns(df.columns)
        check_coordinates(df, up, lon_col, lat_col)
        with tempfile.TemporaryDirectory(prefix="satclip-app-") as tmp:
            src = Path(tmp) / "points.parquet"
            df.to_parquet(src, index=False)
            dst = Path(tmp) / f"embeddings.{fmt}"
            bar = st.progress(0.0, text="Embedding ...")
            n = embed_file(
                src,
                dst,
                encoder,
                lon_col=lon_col,
                lat_col=lat_col,
                chunk_rows=20_000,
                progress=lambda done: bar.progress(done / len(df), text=f"{done:,} / {len(df):,} rows"),
            )
            bar.empty()
            state["embed_result"] = {
                "data": dst.read_bytes(),
                "rows": n,
                "fmt": fmt,
                "model": encoder.name,
                "dim": encoder.dim,
                "name": f"{Path(up.name).stem}_embeddings.{fmt}",
                "preview": df.head(5),
            }
    except (InputError, CoordinateError, TableError, ValueError) as err:
        state["embed_result"] = None  # the error replaces the last result: no stale rows or download button
        message = str(err)  # most already start with the file's name: not twice
        st.error(f"Cannot embed: {message}" if message.startswith(up.name) else f"Cannot embed {up.name}: {message}")

res = state.get("embed_result")
if res:
    st.success(f"Embedded {res['rows']:,} rows with {res['model']} ({res['dim']} dimensions each).")
    st.dataframe(res["preview"], hide_index=True, key="embed_preview")
    st.download_button(
        f"Download {res['name']}",
        res["data"],
        file_name=res["name"],
        mime="text/csv" if res["fmt"] == "csv" else "application/octet-stream",
        key="embed_download",
    )
