"""Table reading for `satclip embed` and the app: ragged rows, duplicate columns, output over the input,
bounded Parquet reading (decompression bombs), temporaries cleaned on SIGTERM and swept on the next run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

import satclip
from satclip.checkpoints import save_model
from satclip.nn.location_encoder import LocationEncoder, LocationEncoderConfig
from satclip.tables import TableError, embed_file, read_chunks

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def encoder(small_model_file: Path) -> satclip.Encoder:
    return satclip.load(small_model_file)


@pytest.fixture(scope="module")
def small_model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:  # module-scoped copy of conftest's
    torch.manual_seed(0)
    module = LocationEncoder(LocationEncoderConfig(L=6, hidden_dim=32, embed_dim=16))
    path = tmp_path_factory.mktemp("models") / "small.safetensors"
    save_model(path, module, {"name": "small"}, dtype=torch.float32)
    return path


@pytest.mark.parametrize(
    ("text", "row"),
    [
        ("id,lon,lat\n7,10,20,5\n", 0),  # pandas made 7 the index and embedded lon=20, lat=5
        ("id,lon,lat\n7,10,20,5\n1,2,3\n", 0),  # ... and then shifted the good row (lat=NaN)
        ("id,lon,lat\n1,2,3\n2,3,4\n7,10,20,5\n", 2),
    ],
)
def test_ragged_csv_rows_are_refused_naming_the_row(tmp_path: Path, encoder, text: str, row: int) -> None:
    src = tmp_path / "s.csv"
    src.write_text(text)
    with pytest.raises(TableError, match=rf"row {row} has more fields than the header \(3 columns\)"):
        list(read_chunks(src, 1))
    with pytest.raises(TableError, match=rf"row {row} has more fields"):
        embed_file(src, tmp_path / "s.parquet", encoder, chunk_rows=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.csv"]


@pytest.mark.parametrize(
    ("cell", "said"),
    [
        ("", "missing or non-finite coordinates (empty, NaN or inf) at row 3"),
        ("inf", "missing or non-finite coordinates (empty, NaN or inf) at row 3"),
        ("95", "latitude outside [-90, 90] at row 3"),
        ("4O", "column 'lat' is not numeric at row 3 (first: '4O')"),  # a letter O: was 'at position 0' of a chunk
    ],
)
def test_bad_coordinates_in_a_file_name_the_file_row_and_line(tmp_path: Path, encoder, cell: str, said: str) -> None:
    """A user opens the file in an editor: the message names the file, the row and the line it is on (a blank
    line and the header counted), in a later chunk as in the first."""
    src = tmp_path / "late.csv"
    src.write_text(f"lon,lat\n1,1\n\n2,2\n3,3\n4,{cell}\n5,5\n")
    with pytest.raises(satclip.geo.CoordinateError) as err:
        embed_file(src, tmp_path / "out.parquet", encoder, chunk_rows=2)
    assert str(err.value) == (
        f"{src}: {said}"
        + ("; coordinates are (lon, lat): were lon and lat swapped?" if cell == "95" else "")
        + "; row 3 is line 6 of the file (rows are counted from 0 after the header)"
    )
    assert err.value.rows == (3,) and sorted(p.name for p in tmp_path.iterdir()) == ["late.csv"]
    pd.DataFrame({"lon": [1.0, 2.0], "lat": [1.0, float("nan")]}).to_parquet(tmp_path / "p.parquet")
    with pytest.raises(satclip.geo.CoordinateError, match=r"p\.parquet: .* at row 1 \(rows are counted from 0\)$"):
        embed_file(tmp_path / "p.parquet", tmp_path / "out.parquet", encoder)


def test_a_line_of_spaces_is_skipped_like_pandas_skips_it() -> None:
    import io

    from satclip.tables import first_long_row, where_in_csv

    text = "lon,lat\n1,1\n   \n2,x\n"
    assert pd.read_csv(io.StringIO(text))["lat"].tolist() == ["1", "x"]  # pandas: the spaces are no row
    said = where_in_csv(io.StringIO(text), 1)
    assert said == "; row 1 is line 4 of the file (rows are counted from 0 after the header)"
    assert first_long_row(io.StringIO(text + "3,3,3\n"), 2) == 2


def test_a_ragged_row_after_a_huge_field_is_a_table_error(tmp_path: Path, encoder) -> None:
    """Python's csv module refuses fields over 128 KiB, which pandas reads: looking for the ragged row raised
    csv.Error with a traceback; now the parser's own message is given."""
    src = tmp_path / "big.csv"
    src.write_text("lon,lat,note\n1,2," + "x" * 300_000 + "\n3,4,y,z\n")
    with pytest.raises(TableError, match=r"big\.csv: cannot read as csv: .*Expected 3 fields in line 3, saw 4"):
        embed_file(src, tmp_path / "out.parquet", encoder)


def test_ragged_row_in_a_later_chunk_is_numbered_across_chunks(tmp_path: Path) -> None:
    lines = ["lon,lat"] + [f"{i % 90},{i % 45}" for i in range(25)]
    lines[21] += ",9"  # data row 20
    (tmp_path / "r.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(TableError, match="row 20 has more fields"):
        list(read_chunks(tmp_path / "r.csv", 7))


def test_cli_embed_refuses_ragged_rows(tmp_path: Path, small_model_file: Path) -> None:
    from typer.testing import CliRunner

    from satclip.cli import app

    (tmp_path / "s.csv").write_text("id,lon,lat\n7,10,20,5\n")
    result = CliRunner().invoke(
        app, ["embed", str(tmp_path / "s.csv"), "-o", str(tmp_path / "s.parquet"), "-m", str(small_model_file)]
    )
    assert result.exit_code == 1
    assert "row 0 has more fields than the header" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "s.parquet").exists()


def test_duplicate_columns_in_a_file_are_refused(tmp_path: Path, encoder) -> None:
    (tmp_path / "d.csv").write_text("lon,lat,lon\n1,2,3\n")
    with pytest.raises(TableError, match="duplicate column 'lon'"):
        embed_file(tmp_path / "d.csv", tmp_path / "d.parquet", encoder)
    table = pa.Table.from_arrays([pa.array([1.0]), pa.array([2.0]), pa.array([3.0])], names=["lon", "lat", "lat"])
    pq.write_table(table, tmp_path / "d.parquet")
    with pytest.raises(TableError, match="duplicate column 'lat'"):
        embed_file(tmp_path / "d.parquet", tmp_path / "e.parquet", encoder)


def test_lon_and_LON_together_are_ambiguous(tmp_path: Path, encoder) -> None:
    (tmp_path / "a.csv").write_text("lon,LON,lat\n1,50,2\n")
    with pytest.raises(satclip.geo.CoordinateError, match="ambiguous longitude"):
        embed_file(tmp_path / "a.csv", tmp_path / "a.parquet", encoder)


@pytest.mark.parametrize(
    ("name", "text", "said"),
    [
        ("s.csv", "lon;lat\n1;2\n", "';', but its extension says commas; re-save it with commas"),
        ("t.csv", "lon\tlat\n1\t2\n", "tabs, but its extension says commas; rename it to .tsv"),
        ("c.tsv", "lon,lat\n1,2\n", "commas, but its extension says tabs; rename it to .csv"),
    ],
)
def test_a_csv_separated_otherwise_is_named(tmp_path: Path, encoder, name: str, text: str, said: str) -> None:
    """A semicolon export was reported as "no longitude column found ... columns are ['lon;lat']"."""
    (tmp_path / name).write_text(text)
    with pytest.raises(TableError, match=f"looks separated by {said}"):
        embed_file(tmp_path / name, tmp_path / "out.parquet", encoder)
    assert not (tmp_path / "out.parquet").exists()


@pytest.mark.parametrize("content", [b"", b"PAR1xxxxPAR1", b"lon,lat\n1,2\n"])
def test_a_corrupt_parquet_is_a_table_error_when_counted(tmp_path: Path, content: bytes) -> None:
    """count_rows let pyarrow's ArrowInvalid through (a traceback for a caller catching TableError)."""
    from satclip.tables import count_rows

    (tmp_path / "bad.parquet").write_bytes(content)
    with pytest.raises(TableError, match=r"bad\.parquet: cannot read as parquet"):
        count_rows(tmp_path / "bad.parquet")


def test_output_over_the_input_is_refused(tmp_path: Path, encoder) -> None:
    src = tmp_path / "p.csv"
    src.write_text("lon,lat\n1,2\n")
    before = src.read_bytes()
    (tmp_path / "link.csv").symlink_to(src)
    (tmp_path / "sub").mkdir()
    for dst in (src, tmp_path / "link.csv", tmp_path / "sub" / ".." / "p.csv"):
        with pytest.raises(TableError, match="is the input file"):
            embed_file(src, dst, encoder)
        assert src.read_bytes() == before


def test_sigterm_during_embed_removes_the_temporary(tmp_path: Path) -> None:
    # A model wide enough that 400k rows take seconds on any machine (the 16-d test model finished
    # 400k rows inside half a second on CI, before the signal came), and the process is frozen with
    # SIGSTOP the moment its temporary appears, so the SIGTERM always lands mid-run.
    torch.manual_seed(0)
    model = tmp_path / "wide.safetensors"
    module = LocationEncoder(LocationEncoderConfig(L=20, hidden_dim=256, embed_dim=64))
    save_model(model, module, {"name": "wide", "description": "random test model"}, dtype=torch.float32)
    rng = np.random.default_rng(0)
    n = 400_000
    pd.DataFrame({"lon": rng.uniform(-180, 180, n), "lat": rng.uniform(-90, 90, n)}).to_csv(
        tmp_path / "in.csv", index=False
    )
    out = tmp_path / "out.npy"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "satclip", "embed", str(tmp_path / "in.csv"), "-o", str(out), "-m", str(model)]
    cmd += ["--chunk-rows", "2000", "--batch-size", "500"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    try:
        while not list(tmp_path.glob(".out.npy.*.tmp")):  # the npy temporary appears after the row count
            assert proc.poll() is None, proc.communicate()[1][-2000:]
            assert time.time() < deadline, "no temporary file appeared"
            time.sleep(0.002)
        proc.send_signal(signal.SIGSTOP)
        assert proc.poll() is None, "embed finished before it could be stopped"
        proc.send_signal(signal.SIGTERM)  # stays pending while the process is stopped
        proc.send_signal(signal.SIGCONT)
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "wide.safetensors"]  # no output, no temporary


def test_temporaries_of_a_killed_embed_are_swept_on_the_next_run(tmp_path: Path, encoder) -> None:
    from satclip.cache import host_tag

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    src = tmp_path / "in.csv"
    src.write_text("lon,lat\n1,2\n")
    stale = tmp_path / f".out.parquet.{dead.pid}-{host_tag()}-0a1b2c3d.tmp"
    stale.write_bytes(b"\0" * 1000)
    live = tmp_path / f".out.parquet.{os.getpid()}-{host_tag()}-0a1b2c3d.tmp"
    live.write_bytes(b"\0" * 1000)
    embed_file(src, tmp_path / "out.parquet", encoder)
    assert not stale.exists() and live.exists()
    assert pq.read_table(tmp_path / "out.parquet").num_rows == 1


def _parquet_bomb(path: Path, rows: int = 200_000, length: int = 5_500) -> None:
    """A few-kB Parquet file whose one dictionary-encoded string expands to rows * length bytes (> 1 GB)."""
    names = pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, np.int32)), pa.array(["x" * length]))
    table = pa.table({"lon": np.zeros(rows), "lat": np.zeros(rows), "name": names})
    pq.write_table(table, path, compression="zstd")


BOMB_SCRIPT = """
import resource, sys, time
from satclip.tables import TableError, read_table
t0 = time.perf_counter()
try:
    read_table(sys.argv[1], max_rows=1_000_000, max_bytes=256 * 2**20)
    print("READ")
except TableError as err:
    print("REFUSED", err)
print("SECONDS", time.perf_counter() - t0)
print("MAXRSS_MB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def test_parquet_decompression_bomb_is_refused_quickly_with_bounded_memory(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.parquet"
    _parquet_bomb(bomb)
    assert bomb.stat().st_size < 20_000
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run(
        [sys.executable, "-c", BOMB_SCRIPT, str(bomb)], env=env, capture_output=True, text=True, timeout=120
    )
    out = dict(line.split(" ", 1) for line in res.stdout.splitlines())
    assert "REFUSED" in out, res.stdout + res.stderr[-2000:]
    assert "column 'name'" in out["REFUSED"] and "decompressed" in out["REFUSED"]
    assert float(out["SECONDS"]) < 5
    baseline = subprocess.run(
        [
            sys.executable,
            "-c",
            "import resource, satclip.tables; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert float(out["MAXRSS_MB"]) - float(baseline.stdout) < 150  # the bomb itself would take > 1 GB


def test_bounded_read_reads_only_the_columns_asked_for(tmp_path: Path) -> None:
    from satclip.tables import read_table

    _parquet_bomb(tmp_path / "b.parquet")
    df = read_table(tmp_path / "b.parquet", max_rows=1_000_000, max_bytes=64 * 2**20, columns=["lon", "lat"])
    assert list(df.columns) == ["lon", "lat"] and len(df) == 200_000
    small = tmp_path / "s.parquet"
    pd.DataFrame({"lon": [1.0, 2.0], "lat": [3.0, 4.0], "name": ["a", "b"]}).to_parquet(small)
    pd.testing.assert_frame_equal(read_table(small, max_rows=10, max_bytes=2**20), pd.read_parquet(small))
    with pytest.raises(TableError, match="2 rows; the limit is 1"):
        read_table(small, max_rows=1, max_bytes=2**20)
    with pytest.raises(TableError, match="column 'nope' not found"):
        read_table(small, max_rows=10, max_bytes=2**20, columns=["nope"])
    # plain (not dictionary-encoded) data that compresses well is bounded by its uncompressed size
    zeros = tmp_path / "z.parquet"
    pq.write_table(
        pa.table({"lon": np.zeros(2_000_000), "lat": np.zeros(2_000_000)}),
        zeros,
        use_dictionary=False,
        compression="zstd",
    )
    with pytest.raises(TableError, match="decompressed"):
        read_table(zeros, max_rows=10**7, max_bytes=16 * 2**20)
