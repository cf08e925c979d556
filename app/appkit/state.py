"""Small input helpers shared by pages (parsing typed input, reading uploads within limits)."""

from __future__ import annotations

import csv
import io
import math
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from satclip.geo import CoordinateError, validate_lonlat
from satclip.tables import TableError, first_long_row, where_in_csv
from satclip.tables import read_table as read_bounded_parquet

TABLE_TYPES = ["csv", "tsv", "txt", "parquet", "pq"]
MAX_TABLE_BYTES = 256 * 2**20  # decompressed size of an uploaded Parquet table (a few kB can expand to GBs)


class InputError(ValueError):
    """Input the page cannot use; the message is shown as it is."""


def fmt_lonlat(lon: float, lat: float) -> str:
    """'48.850° N, 2.350° E' from (lon, lat) degrees."""
    return f"{abs(lat):.3f}° {'N' if lat >= 0 else 'S'}, {abs(lon):.3f}° {'E' if lon >= 0 else 'W'}"


def parse_lonlat(text: str, *, lat_first: bool = False) -> tuple[float, float]:
    """'lon, lat' (or 'lat, lon' with ``lat_first``; degrees, comma or space separated) -> (lon, lat); a clear
    ValueError otherwise."""
    order = "lat, lon" if lat_first else "lon, lat"
    parts = [p for p in re.split(r"[,\s;]+", text.strip()) if p]
    if len(parts) != 2:
        raise ValueError(f"expected '{order}' (two numbers), got {text!r}")
    try:
        first, second = (float(p) for p in parts)
    except ValueError as err:
        raise ValueError(f"expected two numbers '{order}', got {text!r}") from err
    lon, lat = (second, first) if lat_first else (first, second)
    # checked here, in the terms of one typed pair: the library's messages speak of table rows and CLI flags
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise ValueError(f"not a finite number: {text!r}")
    if abs(lat) > 90:
        raise ValueError(f"latitude outside [-90, 90] (typed {lat:g}); the order is '{order}'")
    if abs(lon) > 180:
        raise ValueError(f"longitude outside [-180, 180] (typed {lon:g}); the order is '{order}'")
    pt = validate_lonlat([lon, lat])[0]
    return float(pt[0]), float(pt[1])


def likely_swapped(
    lonlat: tuple[float, float], nearest_km: Callable[[np.ndarray], np.ndarray], near_km: float = 25.0
) -> tuple[float, float] | None:
    """The other reading (lat, lon) of a typed 'lon, lat' pair when it is the likely one: it lies within
    ``near_km`` of a named place and the typed reading does not ("48.8566, 2.3522": Paris, not the sea off
    Somalia). ``nearest_km`` gives the distance from (N, 2) lon/lat points to their nearest named place."""
    lon, lat = lonlat
    if abs(lon) > 90 or lon == lat:
        return None  # read the other way round the latitude would be out of range, or nothing changes
    swapped = (lat, lon)
    d_typed, d_swapped = (float(d) for d in nearest_km(np.array([lonlat, swapped], dtype=np.float64)))
    return swapped if d_swapped <= near_km < d_typed else None


def read_table(
    upload: Any, max_rows: int, *, max_bytes: int = MAX_TABLE_BYTES, columns: list[str] | None = None
) -> pd.DataFrame:
    """An uploaded CSV/TSV/Parquet file as a DataFrame, with at most ``max_rows`` rows (ValueError otherwise).

    Parquet goes through the library's bounded reader: refused from its metadata, before decompression,
    when ``columns`` (default all) would take more than ``max_bytes``."""
    name = getattr(upload, "name", "upload")
    suffix = Path(name).suffix.lower()
    data = upload.getvalue()
    if not data:
        raise InputError(f"{name} is empty")
    try:
        if suffix in (".parquet", ".pq"):
            buf = io.BytesIO(data)
            buf.name = name
            try:
                df = read_bounded_parquet(buf, max_rows=max_rows, max_bytes=max_bytes, columns=columns)
            except TableError as err:
                raise InputError(str(err)) from err
        else:
            df = _read_csv(data, name, "\t" if suffix == ".tsv" else None, max_rows + 1, columns)
            if len(df) > max_rows:
                raise InputError(
                    f"{name} has more than {max_rows:,} rows (the limit); split it or use the CLI `satclip embed`"
                )
    except InputError:
        raise
    except UnicodeDecodeError as err:
        raise InputError(f"{name} is not UTF-8 text (byte {err.start}); save it as UTF-8 (e.g. 'CSV UTF-8')") from err
    except Exception as err:
        raise InputError(f"cannot read {name} as a table: {err}") from err
    if df.empty:
        raise InputError(f"{name} has no rows")
    return df


def check_coordinates(df: pd.DataFrame, upload: Any, lon_col: str, lat_col: str) -> None:
    """Refuse an uploaded table's bad coordinates before anything is written, naming the upload, the rows and,
    for CSV, the line the first one is on (the library would name a temporary copy of the data)."""
    try:
        validate_lonlat(df, lon_col=lon_col, lat_col=lat_col)
    except CoordinateError as err:
        where = ""
        if err.rows and "csv_delimiter" in df.attrs:
            text = io.StringIO(upload.getvalue().decode("utf-8-sig", errors="replace"), newline="")
            where = where_in_csv(text, err.rows[0], df.attrs["csv_delimiter"])
        elif err.rows:
            where = " (rows are counted from 0)"
        raise InputError(f"{upload.name}: {err}{where}") from None


def _read_csv(data: bytes, name: str, sep: str | None, nrows: int, columns: list[str] | None) -> pd.DataFrame:
    """pandas' C reader (separator sniffed among , ; tab | unless ``sep``; a byte order mark dropped), refusing
    what it would silently change: a duplicate column name (renamed 'lat.1') and a row with more fields than
    the header (its first field became the index and every column shifted)."""
    data.decode("utf-8")  # a UnicodeDecodeError names the file's own byte offset (pandas' is per buffer)
    data = data.removeprefix(b"\xef\xbb\xbf")  # Excel's "CSV UTF-8" starts with a byte order mark
    head = data[:65536].decode("utf-8", errors="replace")
    first = next((line for line in head.splitlines() if line.strip()), "")
    try:
        delimiter = sep or csv.Sniffer().sniff(first, delimiters=",;\t|").delimiter
    except csv.Error:  # one column: no separator to find (the sniffer would split 'lon' at the 'o')
        delimiter = ","
    header = next(csv.reader([first], delimiter=delimiter), [])
    dupes = sorted({c for c in header if header.count(c) > 1})
    if dupes:
        raise InputError(f"{name}: duplicate column {dupes[0]!r} in the header: rename one of them")
    try:
        with warnings.catch_warnings():  # index_col=False warns, and drops fields, on a row longer than the header
            warnings.simplefilter("error", pd.errors.ParserWarning)
            df = pd.read_csv(io.BytesIO(data), sep=delimiter, nrows=nrows, usecols=columns, index_col=False)
            df.attrs["csv_delimiter"] = delimiter  # for where_in_csv: the line of a row an error names
            return df
    except (pd.errors.ParserWarning, pd.errors.ParserError) as err:
        text = data.decode("utf-8", errors="replace")
        row = first_long_row(io.StringIO(text), len(header), delimiter)
        if row is None:
            raise InputError(f"cannot read {name} as a table: {str(err).strip()}") from err
        where = where_in_csv(io.StringIO(text, newline=""), row, delimiter)
        raise InputError(f"{name}: row {row} has more fields than the header ({len(header)} columns){where}") from None
