"""Property tests (Hypothesis) for coordinate parsing and table reading, with hostile tables: random column
names (case variants, duplicates, pandas-style ``lon.1``, odd characters), NaN/inf/strings/huge numbers in
any cell, ragged rows. Invariant: a one-line ValueError (TableError/CoordinateError) naming the problem, or
a correct result; never another exception, never a silently wrong embedding."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from satclip.checkpoints import save_model
from satclip.geo import LAT_COLUMNS, LON_COLUMNS, CoordinateError, validate_lonlat
from satclip.inference import Encoder
from satclip.nn.location_encoder import LocationEncoder, LocationEncoderConfig
from satclip.tables import TableError, embed_file

torch.manual_seed(0)
ENCODER = Encoder(LocationEncoder(LocationEncoderConfig(L=3, hidden_dim=8, embed_dim=4)), {"name": "tiny"})
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)

NAMES = st.one_of(
    st.sampled_from(
        [
            "lon",
            "LON",
            "Lon",
            "longitude",
            "lng",
            "lat",
            "LAT",
            "latitude",
            "lon.1",
            "lat.1",
            "id",
            "name",
            "x",
            "",
            " lon",
            "emb_0",
        ]
    ),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r\n"), max_size=6),
)
CELLS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64).map(repr),
    st.floats(-180, 180).map(repr),
    st.floats(-90, 90).map(repr),
    st.integers(-1000, 1000).map(str),
    st.sampled_from(["", "nan", "NA", "inf", "-inf", "1e400", "abc", "1,5", '"', "  7 ", "0x10", "1_0", "True"]),
    st.text(max_size=5),
)


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    header = draw(st.lists(NAMES, min_size=1, max_size=5))
    n = len(header)
    rows = draw(st.lists(st.lists(CELLS, min_size=max(0, n - 1), max_size=n + 1), max_size=6))
    if draw(st.booleans()):  # mostly rectangular tables with real coordinates in lon/lat
        rows = [(r + [draw(CELLS) for _ in range(n)])[:n] for r in rows]
    return header, rows


def _expected(header: list[str], rows: list[list[str]], *, whole_table: bool = True) -> np.ndarray | None:
    """The (lon, lat) a careful user means, or None where the table is not unambiguously valid.

    ``whole_table``: the table is carried through (files: every column name must be unique); otherwise only
    the coordinates are read (a DataFrame's other columns may repeat a name: they are never used)."""
    header = [h if h != "" else f"Unnamed: {i}" for i, h in enumerate(header)]  # empty names are pandas'
    if (whole_table and len(set(header)) != len(header)) or any(len(r) > len(header) for r in rows):
        return None
    lon = [i for i, h in enumerate(header) if h.lower() in LON_COLUMNS]
    lat = [i for i, h in enumerate(header) if h.lower() in LAT_COLUMNS]
    if len(lon) != 1 or len(lat) != 1:
        return None
    out = []
    for r in rows:
        try:
            pt = (float(r[lon[0]]), float(r[lat[0]]))
        except (ValueError, IndexError):
            return None
        if not all(math.isfinite(v) for v in pt) or abs(pt[0]) > 180 or abs(pt[1]) > 90:
            return None
        out.append(pt)
    return np.array(out, dtype=np.float64).reshape(-1, 2)


def _check_error(err: Exception) -> None:
    assert isinstance(err, TableError | CoordinateError), f"{type(err).__name__}: {err}"
    assert str(err) and "\n" not in str(err).strip(), repr(str(err))


@SETTINGS
@given(table=tables(), chunk_rows=st.integers(1, 4))
def test_embed_file_on_hostile_csv(tmp_path: Path, table: tuple[list[str], list[list[str]]], chunk_rows: int) -> None:
    header, rows = table
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    src, dst = tmp_path / "in.csv", tmp_path / "out.npy"
    src.write_text(buf.getvalue(), encoding="utf-8")
    dst.unlink(missing_ok=True)
    try:
        n = embed_file(src, dst, ENCODER, chunk_rows=chunk_rows)
    except Exception as err:  # the property is about which exceptions come out
        _check_error(err)
        assert not dst.exists()
        return
    expected = _expected(header, rows)
    assert expected is not None, f"accepted a table that is not unambiguously valid: {header} {rows}"
    assert n == len(rows)
    np.testing.assert_allclose(np.load(dst), ENCODER.embed(expected), rtol=0, atol=1e-5)


VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**20), 10**20),
    st.text(max_size=3),
    st.none(),
    st.booleans(),
)


@SETTINGS
@given(names=st.lists(st.one_of(NAMES, st.integers(0, 3)), min_size=1, max_size=4), data=st.data())
def test_validate_lonlat_on_hostile_dataframes(names: list, data: st.DataObject) -> None:
    n_rows = data.draw(st.integers(0, 4))
    columns = [data.draw(st.lists(VALUES, min_size=n_rows, max_size=n_rows)) for _ in names]
    df = pd.DataFrame(dict(enumerate(columns)), columns=range(len(names)))
    df.columns = names
    try:
        out = validate_lonlat(df)
    except Exception as err:  # any other type fails _check_error
        _check_error(err)
        return
    expected = _expected(
        [str(c) for c in names], [[str(v) for v in row] for row in df.itertuples(index=False)], whole_table=False
    )
    assert expected is not None, f"accepted {df!r}"
    np.testing.assert_allclose(out, expected)


@SETTINGS
@given(
    arr=st.one_of(
        st.lists(
            st.lists(
                st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=2), st.none()),
                min_size=0,
                max_size=3,
            ),
            max_size=4,
        ),
        st.lists(st.floats(), max_size=3),
        st.text(max_size=4),
    )
)
def test_validate_lonlat_on_hostile_arrays(arr: object) -> None:
    try:
        out = validate_lonlat(arr)
    except Exception as err:  # any other type fails _check_error
        _check_error(err)
        return
    assert out.ndim == 2 and out.shape[1] == 2 and np.isfinite(out).all()
    assert (np.abs(out[:, 0]) <= 180).all() and (np.abs(out[:, 1]) <= 90).all()


def test_oracle_encoder_matches_a_saved_model(tmp_path: Path) -> None:
    """The tiny module-level encoder embeds like a saved and reloaded one (the tests' oracle is sound)."""
    import satclip

    path = save_model(tmp_path / "t.safetensors", ENCODER.module, {"name": "tiny"}, dtype=torch.float32)
    pts = np.array([[1.0, 2.0], [-170.0, 80.0]])
    np.testing.assert_allclose(satclip.load(path).embed(pts), ENCODER.embed(pts), atol=1e-6)


pytestmark = pytest.mark.filterwarnings("ignore::pandas.errors.DtypeWarning")


PARQUET_COLUMNS = st.one_of(
    st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=3, max_size=3),
    st.lists(st.floats(-180, 180), min_size=3, max_size=3),
    st.lists(st.one_of(st.text(max_size=4), st.none()), min_size=3, max_size=3),
    st.lists(st.integers(-(10**18), 10**18), min_size=3, max_size=3),
)


@SETTINGS
@given(names=st.lists(NAMES, min_size=1, max_size=4), data=st.data())
def test_parquet_tables_with_hostile_columns(tmp_path: Path, names: list[str], data: st.DataObject) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from satclip.tables import read_table

    columns = [data.draw(PARQUET_COLUMNS) for _ in names]
    src, dst = tmp_path / "in.parquet", tmp_path / "out.npy"
    pq.write_table(pa.Table.from_arrays([pa.array(c) for c in columns], names=names), src)
    dst.unlink(missing_ok=True)
    try:
        df = read_table(src, max_rows=10, max_bytes=2**20)
    except Exception as err:  # any other type fails _check_error
        _check_error(err)
    else:
        assert list(df.columns) == names and len(df) == 3
    try:
        embed_file(src, dst, ENCODER)
    except Exception as err:  # any other type fails _check_error
        _check_error(err)
        assert not dst.exists()
        return
    expected = _expected(names, [[str(c[i]) for c in columns] for i in range(3)])
    assert expected is not None, f"accepted {names} {columns}"
    np.testing.assert_allclose(np.load(dst), ENCODER.embed(expected), rtol=0, atol=1e-5)
