"""Coordinates: parsing and validation of (lon, lat) input, area-uniform sampling, grids, distances.

Everything in satclip takes **(lon, lat) in degrees**, longitude first, as SatCLIP does.
Bad input never passes silently: :func:`validate_lonlat` names the offending rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from satclip.errors import CoordinateError

EARTH_RADIUS_KM = 6371.0088
LON_COLUMNS = ("lon", "lng", "long", "longitude")
LAT_COLUMNS = ("lat", "latitude")
_MAX_ROWS_SHOWN = 10


def _first_rows(mask: np.ndarray, offset: int = 0) -> tuple[int, ...]:
    return tuple(int(i) for i in np.flatnonzero(mask)[:_MAX_ROWS_SHOWN] + offset)


def _rows(mask: np.ndarray, offset: int = 0) -> str:
    idx = np.flatnonzero(mask) + offset
    shown = ", ".join(str(i) for i in idx[:_MAX_ROWS_SHOWN])
    more = f" (and {idx.size - _MAX_ROWS_SHOWN} more)" if idx.size > _MAX_ROWS_SHOWN else ""
    return f"row{'s' if idx.size > 1 else ''} {shown}{more}"


def find_lonlat_columns(
    columns: Sequence[Any], lon_col: str | None = None, lat_col: str | None = None
) -> tuple[str, str]:
    """Return the (lon, lat) column names of a table.

    Explicit names win; otherwise accepts lon/lng/long/longitude and lat/latitude (any case).
    Two candidates (``lon`` and ``LON``, ``lon`` and ``longitude``) are ambiguous; a chosen name that
    appears twice, or beside the ``lon.1`` that pandas makes of a second ``lon`` in a CSV header, is a
    duplicate: both are refused rather than one silently picked.

    Args:
        columns: the table's column names (compared as strings).
        lon_col: the longitude column to use, instead of looking for one of ``LON_COLUMNS``.
        lat_col: the latitude column to use, instead of looking for one of ``LAT_COLUMNS``.

    Returns:
        ``(lon_name, lat_name)`` as they are spelled in ``columns``.

    Raises:
        CoordinateError: a named column is missing, no or several candidate columns are found, or the chosen
            column is duplicated; the message lists the columns.
    """
    names = [str(c) for c in columns]

    def check_unique(name: str) -> str:
        if names.count(name) > 1:
            raise CoordinateError(f"duplicate column {name!r}: the table has {names.count(name)} of them")
        renamed = [n for n in names if n.startswith(f"{name}.") and n[len(name) + 1 :].isdigit()]
        if renamed:
            raise CoordinateError(f"duplicate column {name!r} (read as {renamed[0]!r}): rename one of them")
        return name

    def pick(explicit: str | None, candidates: tuple[str, ...], what: str) -> str:
        if explicit is not None:
            if explicit not in names:
                raise CoordinateError(f"{what} column {explicit!r} not found; columns are {names}")
            return check_unique(explicit)
        found = list(dict.fromkeys(n for n in names if n.lower() in candidates))
        if not found:
            raise CoordinateError(
                f"no {what} column found: expected one of {list(candidates)} (any case); columns are {names}"
            )
        if len(found) > 1:
            raise CoordinateError(f"ambiguous {what} columns {found}: name the one to use explicitly")
        return check_unique(found[0])

    return pick(lon_col, LON_COLUMNS, "longitude"), pick(lat_col, LAT_COLUMNS, "latitude")


def _numeric(column: pd.Series, row_offset: int) -> np.ndarray:
    """A lon or lat column as float64; text that is not a number is refused naming its rows and first value
    (an empty cell stays NaN, refused afterwards as missing)."""
    try:
        return pd.to_numeric(column, errors="raise").to_numpy(np.float64)
    except (ValueError, TypeError) as err:
        try:
            bad = (pd.to_numeric(column, errors="coerce").isna() & column.notna()).to_numpy()
        except (ValueError, TypeError):
            bad = np.zeros(len(column), dtype=bool)
        if not bad.any():
            raise CoordinateError(f"column {column.name!r} is not numeric: {err}") from err
        first = column[bad].iloc[0]
        raise CoordinateError(
            f"column {column.name!r} is not numeric at {_rows(bad, row_offset)} (first: {first!r})",
            rows=_first_rows(bad, row_offset),
        ) from None


def validate_lonlat(
    lonlat: Any,
    *,
    wrap: bool = False,
    lon_col: str | None = None,
    lat_col: str | None = None,
    row_offset: int = 0,
) -> np.ndarray:
    """Check and convert (lon, lat) degrees to a float64 array of shape (N, 2).

    Accepts an (N, 2) array-like, a single (lon, lat) pair, or a DataFrame with lon/lat columns.
    Raises :class:`CoordinateError` naming the rows for NaN/inf, |lat| > 90 and lon outside
    [-180, 180]; with ``wrap=True`` longitudes are wrapped into [-180, 180) instead.
    ``row_offset`` is added to reported row numbers (for chunked input).

    Args:
        lonlat: (N, 2) array-like of (lon, lat) degrees, one (lon, lat) pair, or a DataFrame with lon/lat
            columns.
        wrap: wrap longitudes outside [-180, 180] into [-180, 180) instead of raising.
        lon_col: the longitude column of a DataFrame (see :func:`find_lonlat_columns`).
        lat_col: the latitude column of a DataFrame.
        row_offset: added to the row numbers in error messages.

    Returns:
        A new float64 array (N, 2) of (lon, lat) degrees (a single pair gives shape (1, 2)); the input is never
        modified.

    Raises:
        CoordinateError: non-numeric values, a shape other than (N, 2), NaN/inf, |lat| > 90, or |lon| > 180
            without ``wrap``; the message names up to 10 rows. Also the column errors of
            :func:`find_lonlat_columns` for a DataFrame.
    """
    if isinstance(lonlat, pd.DataFrame):
        lon_name, lat_name = find_lonlat_columns(lonlat.columns, lon_col, lat_col)
        arr = np.stack([_numeric(lonlat[name], row_offset) for name in (lon_name, lat_name)], axis=1)
    else:
        try:
            arr = np.asarray(lonlat, dtype=np.float64)
        except (ValueError, TypeError) as err:
            raise CoordinateError(f"coordinates must be numeric (lon, lat) pairs: {err}") from err
        if arr.ndim == 1 and arr.shape[0] == 2:
            arr = arr[None, :]
        if arr.ndim != 2 or arr.shape[1] != 2:
            raise CoordinateError(f"expected an (N, 2) array of (lon, lat) degrees, got shape {arr.shape}")
        arr = np.array(arr, dtype=np.float64, copy=True)
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        raise CoordinateError(
            f"missing or non-finite coordinates (empty, NaN or inf) at {_rows(bad, row_offset)}",
            rows=_first_rows(bad, row_offset),
        )
    bad = np.abs(arr[:, 1]) > 90
    if bad.any():
        raise CoordinateError(
            f"latitude outside [-90, 90] at {_rows(bad, row_offset)}; "
            "coordinates are (lon, lat): were lon and lat swapped?",
            rows=_first_rows(bad, row_offset),
        )
    outside = np.abs(arr[:, 0]) > 180
    if outside.any():
        if not wrap:
            raise CoordinateError(
                f"longitude outside [-180, 180] at {_rows(outside, row_offset)}; "
                "pass wrap=True (CLI: --wrap) to wrap longitudes into [-180, 180)",
                rows=_first_rows(outside, row_offset),
            )
        arr[:, 0] = wrap_longitude(arr[:, 0])
    return arr


def wrap_longitude(lon: np.ndarray) -> np.ndarray:
    """Wrap longitudes (degrees) into [-180, 180).

    Args:
        lon: longitudes in degrees, any shape.

    Returns:
        Float64 array of the same shape (180 becomes -180).
    """
    return np.mod(np.asarray(lon, dtype=np.float64) + 180.0, 360.0) - 180.0


def sample_uniform_sphere(n: int, seed: int | np.random.Generator = 0) -> np.ndarray:
    """``n`` points uniform by area on the sphere as (lon, lat) degrees, shape (n, 2).

    Args:
        n: number of points.
        seed: an integer seed (the same seed gives the same points) or a generator to draw from.

    Returns:
        Float64 array (n, 2) of (lon, lat) degrees: lon uniform in [-180, 180), sin(lat) uniform in [-1, 1).
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    lon = rng.uniform(-180.0, 180.0, n)
    lat = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, n)))
    return np.stack([lon, lat], axis=1)


def lonlat_grid(resolution_deg: float, *, lat_limit: float = 90.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cell-centre grid at ``resolution_deg``: returns (lons, lats, points (H*W, 2)).

    Rows run north to south (image order), columns west to east.

    Args:
        resolution_deg: cell size in degrees, in (0, 90].
        lat_limit: the grid spans latitudes [-lat_limit, lat_limit] (degrees).

    Returns:
        ``(lons, lats, points)``: the W cell-centre longitudes (west to east), the H cell-centre latitudes
        (north to south), and the (H*W, 2) float64 (lon, lat) points in row-major order (row ``i`` of the
        image is ``points[i*W:(i+1)*W]``).

    Raises:
        ValueError: ``resolution_deg`` is not in (0, 90].
    """
    if not (0 < resolution_deg <= 90):
        raise ValueError(f"resolution_deg must be in (0, 90], got {resolution_deg}")
    lons = np.arange(-180.0 + resolution_deg / 2, 180.0, resolution_deg)
    lats = np.arange(lat_limit - resolution_deg / 2, -lat_limit, -resolution_deg)
    lon2, lat2 = np.meshgrid(lons, lats)
    return lons, lats, np.stack([lon2.ravel(), lat2.ravel()], axis=1)


def haversine_km(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Great-circle distance in km between (lon, lat) degree arrays (broadcasting over leading axes).

    Args:
        a: (..., 2) array of (lon, lat) degrees.
        b: (..., 2) array of (lon, lat) degrees, broadcastable against ``a``.

    Returns:
        Float64 array of the broadcast leading shape (a float64 scalar for two single points), on a sphere of
        radius ``EARTH_RADIUS_KM``.
    """
    a = np.radians(np.asarray(a, dtype=np.float64))
    b = np.radians(np.asarray(b, dtype=np.float64))
    dlon = b[..., 0] - a[..., 0]
    dlat = b[..., 1] - a[..., 1]
    h = np.sin(dlat / 2) ** 2 + np.cos(a[..., 1]) * np.cos(b[..., 1]) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def lonlat_to_xyz(lonlat: np.ndarray) -> np.ndarray:
    """Unit 3-D Cartesian coordinates of (lon, lat) degrees, shape (N, 3).

    Args:
        lonlat: (N, 2) array of (lon, lat) degrees (not validated).

    Returns:
        Array (N, 3) of (x, y, z) on the unit sphere: x towards (0, 0), y towards (90, 0), z towards the
        North Pole.
    """
    lon, lat = np.radians(lonlat[:, 0]), np.radians(lonlat[:, 1])
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=1)
