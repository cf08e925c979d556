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

import satclip
from satclip.tables import TableError, embed_file, read_chunks

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def encoder(small_model_file: Path) -> satclip.Encoder:
    return satclip.load(small_model_file)


@pytest.fixture(scope="module")
def small_model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:  # module-scoped copy of conftest's
    import torch

    from satclip.checkpoints import save_model
    from satclip.location_encoder import LocationEncoder, LocationEncoderConfig

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
    result = CliRunner().invoke(app, ["embed", str(tmp_path / "s.csv"), "-o", str(tmp_path / "s.parquet"),
                                      "-m", str(small_model_file)])
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


def test_sigterm_during_embed_removes_the_temporary(tmp_path: Path, small_model_file: Path) -> None:
    rng = np.random.default_rng(0)
    n = 400_000
    pd.DataFrame({"lon": rng.uniform(-180, 180, n), "lat": rng.uniform(-90, 90, n)}).to_csv(tmp_path / "in.csv",
                                                                                             index=False)
    out = tmp_path / "out.npy"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "satclip", "embed", str(tmp_path / "in.csv"), "-o", str(out),
                             "-m", str(small_model_file), "--chunk-rows", "2000", "--batch-size", "500"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    try:
        while not list(tmp_path.glob(".out.npy.*.tmp")):  # the npy temporary appears after the row count
            assert proc.poll() is None, proc.communicate()[1][-2000:]
            assert time.time() < deadline, "no temporary file appeared"
            time.sleep(0.05)
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]  # no output, no temporary


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
