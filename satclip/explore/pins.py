"""Multi-pin similarity search: any number of weighted "like" and "unlike" pins, saved as CSV or GeoJSON.

The score of a grid cell with unit embedding ``x`` is

    score(x) = sum_i w_i cos(x, a_i) / sum_i w_i  -  sum_j v_j cos(x, b_j) / M

over like pins ``a_i`` (weights ``w_i``: relative, a weighted mean) and the ``M`` unlike pins ``b_j``
(weights ``v_j``: each pin's strength; the unlike term is their weighted sum divided by their number).
With every weight 1 this is the plain "mean over like minus mean over unlike" of
:func:`satclip.explore.similarity.similarity_map`, so one like pin gives cosine similarity. The score is
linear in ``x``, so it is one query vector and one matrix-vector product over the grid.

A pin table has columns lon, lat, kind ("like" | "unlike"), weight (> 0) and label (free text).
"""

from __future__ import annotations

import csv
import io
import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from satclip.cache import atomic_path
from satclip.errors import PinError
from satclip.explore.grid import EmbeddingGrid
from satclip.explore.similarity import SimilarityMap, _unit_rows, embed_points, matvec
from satclip.geo import CoordinateError, find_lonlat_columns, validate_lonlat
from satclip.tables import first_long_row, separator_problem

KINDS = ("like", "unlike")
COLUMNS = ("lon", "lat", "kind", "weight", "label")
MAX_PINS = 10_000  # a pin file is a hand-made list; more is almost surely the wrong file
MAX_FILE_BYTES = 20 * 1024 * 1024


def empty_pins() -> pd.DataFrame:
    """A pin table with no rows."""
    return pd.DataFrame(
        {
            "lon": pd.Series(dtype=float),
            "lat": pd.Series(dtype=float),
            "kind": pd.Series(dtype=str),
            "weight": pd.Series(dtype=float),
            "label": pd.Series(dtype=str),
        }
    )


def make_pins(
    like: Any = None, unlike: Any = None, like_weights: Any = None, unlike_weights: Any = None
) -> pd.DataFrame:
    """A pin table from (lon, lat) points to be like and unlike, with optional weights (default 1)."""
    parts = []
    for kind, pts, w in (("like", like, like_weights), ("unlike", unlike, unlike_weights)):
        if pts is None or not np.size(pts):
            continue
        ll = validate_lonlat(pts)
        weight = np.ones(len(ll)) if w is None else np.broadcast_to(np.asarray(w, dtype=float), (len(ll),))
        parts.append(pd.DataFrame({"lon": ll[:, 0], "lat": ll[:, 1], "kind": kind, "weight": weight, "label": ""}))
    return validate_pins(pd.concat(parts, ignore_index=True)) if parts else empty_pins()


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python number it holds, so that messages say -1, not np.int64(-1)."""
    return value.item() if isinstance(value, np.generic) else value


def validate_pins(df: pd.DataFrame, source: str = "pins") -> pd.DataFrame:
    """A clean pin table (columns :data:`COLUMNS`); missing kind/weight/label default to like/1/"".

    Raises :class:`PinError` naming the rows with an unknown kind or a weight that is not a positive
    finite number, and :class:`CoordinateError` for bad coordinates."""
    if len(df) > MAX_PINS:
        raise PinError(f"{source}: {len(df):,} pins; at most {MAX_PINS:,} are supported")
    if len(df) == 0:
        return empty_pins()
    try:
        lon_name, lat_name = find_lonlat_columns(df.columns)
    except (KeyError, ValueError) as err:
        raise PinError(f"{source}: {err}") from err
    try:
        ll = validate_lonlat(df, lon_col=lon_name, lat_col=lat_name)
    except CoordinateError as err:
        raise CoordinateError(f"{source}: {err}") from err
    kind = (df["kind"] if "kind" in df.columns else pd.Series("like", index=df.index)).fillna("like")
    kind = kind.astype(str).str.strip().str.lower()
    bad = np.flatnonzero(~kind.isin(KINDS).to_numpy())
    if bad.size:
        raise PinError(
            f"{source}: kind must be 'like' or 'unlike' at rows {bad[:10].tolist()} (got {kind.iloc[bad[0]]!r})"
        )
    raw_w = df["weight"] if "weight" in df.columns else pd.Series(1.0, index=df.index)
    weight = pd.to_numeric(raw_w, errors="coerce").to_numpy(np.float64)
    bad = np.flatnonzero(~(np.isfinite(weight) & (weight > 0)))
    if bad.size:
        raise PinError(
            f"{source}: weight must be a positive number at rows {bad[:10].tolist()} "
            f"(got {_plain(raw_w.iloc[bad[0]])!r})"
        )
    label = (
        df["label"].astype(object).where(df["label"].notna(), "").astype(str)
        if "label" in df.columns
        else pd.Series("", index=df.index)
    )
    return pd.DataFrame(
        {"lon": ll[:, 0], "lat": ll[:, 1], "kind": kind.to_numpy(), "weight": weight, "label": label.to_numpy()}
    )


def query_vector(like: np.ndarray, like_w: np.ndarray, unlike: np.ndarray, unlike_w: np.ndarray) -> np.ndarray:
    """The linear query of the pins' embeddings: cell scores are ``unit_cells @ q`` (see the module doc)."""
    like = np.atleast_2d(like)
    if like.shape[0] == 0:
        raise PinError("need at least one 'like' pin to search for")
    w = np.asarray(like_w, dtype=np.float64)
    q = (w[:, None] * _unit_rows(like)).sum(axis=0) / w.sum()
    if np.size(unlike):
        v = np.asarray(unlike_w, dtype=np.float64)
        q = q - (v[:, None] * _unit_rows(np.atleast_2d(unlike))).sum(axis=0) / len(v)
    return q.astype(np.float32)


def search(grid: EmbeddingGrid, pins: pd.DataFrame, encoder: Any = None) -> SimilarityMap:
    """Score of every grid cell for a pin table; pins are embedded exactly with ``encoder`` if given,
    else taken from their grid cells. The map ranks cells and places like any similarity map."""
    pins = validate_pins(pins)
    like = pins[pins["kind"] == "like"]
    unlike = pins[pins["kind"] == "unlike"]
    if like.empty:
        raise PinError("need at least one 'like' pin to search for")
    pts = pins[["lon", "lat"]].to_numpy(np.float64)
    emb = embed_points(pts, encoder, grid)
    is_like = (pins["kind"] == "like").to_numpy()
    q = query_vector(emb[is_like], like["weight"].to_numpy(), emb[~is_like], unlike["weight"].to_numpy())
    label = (
        "weighted similarity: like minus unlike pins"
        if len(unlike)
        else "cosine similarity"
        if len(like) == 1
        else "weighted mean cosine similarity"
    )
    return SimilarityMap(
        grid=grid,
        scores=matvec(grid.unit, q),
        query=q,
        like=like[["lon", "lat"]].to_numpy(np.float64),
        unlike=unlike[["lon", "lat"]].to_numpy(np.float64),
        label=label,
    )


def pins_to_csv(pins: pd.DataFrame) -> str:
    """The pin table as CSV text (columns :data:`COLUMNS`; text quoted, so a label may hold any character)."""
    return validate_pins(pins).to_csv(index=False, quoting=csv.QUOTE_NONNUMERIC)


def pins_to_geojson(pins: pd.DataFrame) -> str:
    """The pin table as a GeoJSON FeatureCollection of Points (kind, weight, label as properties)."""
    pins = validate_pins(pins)
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [float(r.lon), float(r.lat)]},
            "properties": {"kind": r.kind, "weight": float(r.weight), "label": r.label},
        }
        for r in pins.itertuples(index=False)
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}, indent=1)


def _geojson_frame(text: str, source: str) -> pd.DataFrame:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise PinError(f"{source}: not valid JSON ({err.msg} at line {err.lineno}, column {err.colno})") from err
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        doc = {"type": "FeatureCollection", "features": [doc]}
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        raise PinError(f"{source}: expected a GeoJSON FeatureCollection of Point features")
    if len(doc["features"]) > MAX_PINS:
        raise PinError(f"{source}: {len(doc['features']):,} features; at most {MAX_PINS:,} pins are supported")
    rows = []
    for i, f in enumerate(doc["features"]):
        geom = f.get("geometry") if isinstance(f, dict) else None
        if not isinstance(geom, dict) or geom.get("type") != "Point":
            got = geom.get("type") if isinstance(geom, dict) else type(geom).__name__
            raise PinError(f"{source}: feature {i} is not a Point (geometry {got!r}); pins are points")
        c = geom.get("coordinates")
        if not isinstance(c, list) or len(c) < 2 or not all(isinstance(v, (int, float)) for v in c[:2]):
            raise PinError(f"{source}: feature {i} has no numeric [lon, lat] coordinates (got {c!r})")
        props = f.get("properties") or {}
        if not isinstance(props, dict):
            raise PinError(f"{source}: feature {i} has properties that are not an object")
        rows.append(
            {
                "lon": c[0],
                "lat": c[1],
                "kind": props.get("kind", "like"),
                "weight": props.get("weight", 1.0),
                "label": props.get("label", ""),
            }
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _header(text: str, source: str) -> list[str]:
    """The first CSV record of ``text``; a PinError when the csv module cannot split it (a field over its
    size limit)."""
    try:
        return next(csv.reader(io.StringIO(text)), [])
    except csv.Error as err:
        raise PinError(f"{source}: not a readable CSV header ({err})") from None


def read_pins(data: bytes | str | Path, name: str | None = None) -> pd.DataFrame:
    """A validated pin table from a CSV or GeoJSON file (a path, or its bytes with ``name`` giving the format)."""
    if isinstance(data, (str, Path)) and name is None:
        path = Path(data)
        if not path.is_file():
            raise PinError(f"no such pin file: {path}")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise PinError(f"{path}: {path.stat().st_size:,} bytes; a pin file is at most {MAX_FILE_BYTES:,}")
        data, name = path.read_bytes(), path.name
    raw = data.encode() if isinstance(data, str) else bytes(data)
    source = str(name or "pins")
    if len(raw) > MAX_FILE_BYTES:
        raise PinError(f"{source}: {len(raw):,} bytes; a pin file is at most {MAX_FILE_BYTES:,}")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise PinError(f"{source}: not UTF-8 text (byte {err.start}); expected CSV or GeoJSON") from err
    suffix = Path(source).suffix.lower()
    if suffix in (".geojson", ".json"):
        df = _geojson_frame(text, source)
    elif suffix in (".csv", ".txt", ""):
        problem = separator_problem(_header(text, source), ",")
        if problem:
            raise PinError(f"{source}: {problem}")
        try:
            with warnings.catch_warnings():  # index_col=False warns, and drops data, on a row with extra fields
                warnings.simplefilter("error", pd.errors.ParserWarning)
                df = pd.read_csv(
                    io.StringIO(text), dtype={"kind": str, "label": str}, keep_default_na=False, index_col=False
                )
        except (pd.errors.ParserWarning, pd.errors.ParserError) as err:
            n_fields = len(_header(text, source))
            row = first_long_row(io.StringIO(text), n_fields)
            if row is None:
                raise PinError(f"{source}: not a readable CSV ({str(err).splitlines()[0]})") from err
            raise PinError(f"{source}: row {row} has more fields than the header ({n_fields} columns)") from None
        except (pd.errors.EmptyDataError, ValueError) as err:
            raise PinError(f"{source}: not a readable CSV ({str(err).splitlines()[0]})") from err
    else:
        raise PinError(f"{source}: unsupported pin file type {suffix!r}; use .csv or .geojson")
    return validate_pins(df, source)


def write_pins(pins: pd.DataFrame, path: str | Path) -> Path:
    """Write the pin table as .csv or .geojson/.json (atomically)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".csv", ".geojson", ".json"):
        raise PinError(f"{p}: unsupported pin file type {suffix!r}; use .csv or .geojson")
    text = pins_to_csv(pins) if suffix == ".csv" else pins_to_geojson(pins)
    with atomic_path(p) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return p
