"""Result tables that stay readable in a narrow column: an HTML table (``st.table``) whose long text wraps,
instead of a canvas data grid whose fixed-width columns clipped the last column (distance) or cut long names
at window widths of 1280-1400 px."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
import streamlit as st

RESULT_COLUMNS: dict[str, tuple[str, str]] = {  # column -> (header, format of a value)
    "rank": ("#", "{:d}"),
    "place": ("place", "{}"),
    "similarity": ("sim.", "{:.3f}"),
    "distance_km": ("km", "{:,.0f}"),
    "lat": ("lat", "{:.1f}"),
    "lon": ("lon", "{:.1f}"),
}
_MARKDOWN = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")  # st.table reads every header and cell as Markdown


def _text(value: Any, fmt: str = "{}") -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return _MARKDOWN.sub(r"\\\1", fmt.format(value))


def place_names(df: pd.DataFrame) -> list[str]:
    """'Münster, Germany' per row, from ``name`` (places) or ``near`` (grid cells, empty when no named place
    is near) and ``country``: one column of words that wrap, where two columns of unbreakable names did not fit."""
    names = df["name"] if "name" in df.columns else df.get("near", pd.Series([""] * len(df), index=df.index))
    countries = df["country"] if "country" in df.columns else pd.Series([""] * len(df), index=df.index)
    out = []
    for name, country in zip(names.tolist(), countries.tolist(), strict=True):
        name, country = _text(name), _text(country)
        out.append(f"{name}, {country}" if name and country else name or "(none near)")
    return out


def formatted(df: pd.DataFrame, columns: list[str], headers: dict[str, str] | None = None) -> pd.DataFrame:
    """``df[columns]`` as display strings under short headers (``RESULT_COLUMNS``, overridden by ``headers``);
    the column ``place`` is made from the name and country columns."""
    names = {c: RESULT_COLUMNS.get(c, (c, "{}"))[0] for c in columns} | (headers or {})
    cols: dict[str, list[str]] = {}
    for c in columns:
        if c == "place":
            cols[_text(names[c])] = place_names(df)
        else:
            fmt = RESULT_COLUMNS.get(c, (c, "{}"))[1]
            cols[_text(names[c])] = [_text(v, fmt) for v in df[c].tolist()]
    return pd.DataFrame(cols)


def result_table(
    df: pd.DataFrame, columns: list[str], *, headers: dict[str, str] | None = None, alt: str | None = None
) -> None:
    """Show ``df``'s ``columns`` (those that exist, and ``place``) as a static table that fits its column:
    every header and value is shown whole, long names wrap onto further lines."""
    cols = [c for c in columns if c == "place" or c in df.columns]
    st.table(formatted(df, cols, headers), hide_index=True, alt=alt)


def selection_table(picked: pd.DataFrame) -> pd.DataFrame:
    """Projection's selected cells (``Projection.scatter`` rows), numbers first so they stay in view in the
    narrow column: lat, lon, the distance to the nearest named place and its name (a polar cell's nearest town
    is 1,000+ km away, and says so)."""
    return pd.DataFrame(
        {
            "lat": picked["lat"].round(2),
            "lon": picked["lon"].round(2),
            "km": picked["place_km"].round().astype(int),
            "nearest place": picked["place"] + ", " + picked["country"],
        }
    )
