"""The satclip command line: embed (streaming, formats, errors), models, convert."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import satclip
from satclip.cli import app
from tests.conftest import REFERENCE

runner = CliRunner()


def _points(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "site": [f"s{i}" for i in range(n)],
            "Longitude": rng.uniform(-180, 180, n),
            "lat": np.degrees(np.arcsin(rng.uniform(-1, 1, n))),
            "count": rng.integers(0, 100, n),
        }
    )


@pytest.mark.parametrize("out_name", ["out.parquet", "out.csv", "out.npy"])
def test_embed_csv_in_chunks_to_each_format(tmp_path: Path, small_model_file: Path, out_name: str) -> None:
    df = _points(1000)
    df.to_csv(tmp_path / "in.csv", index=False)
    out = tmp_path / out_name
    result = runner.invoke(
        app,
        [
            "embed",
            str(tmp_path / "in.csv"),
            "-o",
            str(out),
            "-m",
            str(small_model_file),
            "--chunk-rows",
            "333",
            "--batch-size",
            "100",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "wrote 1000 embeddings of dimension 16" in result.output
    expected = satclip.load(small_model_file).embed(df[["Longitude", "lat"]].to_numpy())
    if out.suffix == ".npy":
        got = np.load(out)
        assert got.dtype == np.float32
    else:
        table = pd.read_parquet(out) if out.suffix == ".parquet" else pd.read_csv(out)
        assert list(table.columns[:4]) == ["site", "Longitude", "lat", "count"]
        assert list(table["site"]) == list(df["site"]) and list(table["count"]) == list(df["count"])
        got = table[[f"emb_{i}" for i in range(16)]].to_numpy()
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)


def test_embed_parquet_input_and_tsv(tmp_path: Path, small_model_file: Path) -> None:
    df = _points(500)
    pq.write_table(pa.Table.from_pandas(df), tmp_path / "in.parquet", row_group_size=128)
    df.to_csv(tmp_path / "in.tsv", sep="\t", index=False)
    for src in ("in.parquet", "in.tsv"):
        out = tmp_path / f"{src}.out.parquet"
        result = runner.invoke(
            app,
            [
                "embed",
                str(tmp_path / src),
                "-o",
                str(out),
                "-m",
                str(small_model_file),
                "--chunk-rows",
                "100",
                "--prefix",
                "z",
            ],
        )
        assert result.exit_code == 0, result.output
        table = pd.read_parquet(out)
        assert table.shape == (500, 4 + 16) and "z15" in table.columns


def test_embed_bad_rows_fail_cleanly_without_output(tmp_path: Path, small_model_file: Path) -> None:
    df = _points(50)
    df.loc[37, "lat"] = 123.0
    df.to_csv(tmp_path / "bad.csv", index=False)
    out = tmp_path / "out.parquet"
    result = runner.invoke(
        app, ["embed", str(tmp_path / "bad.csv"), "-o", str(out), "-m", str(small_model_file), "--chunk-rows", "10"]
    )
    assert result.exit_code == 1
    assert f"error: {tmp_path / 'bad.csv'}: latitude outside [-90, 90] at row 37;" in result.output
    assert result.output.endswith("; row 37 is line 39 of the file (rows are counted from 0 after the header)\n")
    assert "Traceback" not in result.output
    assert list(tmp_path.iterdir()) == [tmp_path / "bad.csv"]  # no partial or temporary file left


def test_embed_wrap_missing_columns_and_formats(tmp_path: Path, small_model_file: Path) -> None:
    pd.DataFrame({"lon": [190.0, 0.0], "lat": [0.0, 0.0]}).to_csv(tmp_path / "w.csv", index=False)
    args = ["embed", str(tmp_path / "w.csv"), "-o", str(tmp_path / "w.parquet"), "-m", str(small_model_file)]
    result = runner.invoke(app, args)
    assert result.exit_code == 1 and "--wrap" in result.output
    result = runner.invoke(app, [*args, "--wrap"])
    assert result.exit_code == 0
    assert pd.read_parquet(tmp_path / "w.parquet")["lon"].tolist() == [-170.0, 0.0]
    pd.DataFrame({"x": [1.0], "y": [2.0]}).to_csv(tmp_path / "nocols.csv", index=False)
    result = runner.invoke(
        app, ["embed", str(tmp_path / "nocols.csv"), "-o", str(tmp_path / "o.csv"), "-m", str(small_model_file)]
    )
    assert result.exit_code == 1 and "no longitude column" in result.output
    result = runner.invoke(
        app,
        [
            "embed",
            str(tmp_path / "nocols.csv"),
            "-o",
            str(tmp_path / "o.csv"),
            "-m",
            str(small_model_file),
            "--lon-col",
            "x",
            "--lat-col",
            "y",
        ],
    )
    assert result.exit_code == 0
    result = runner.invoke(
        app, ["embed", str(tmp_path / "w.csv"), "-o", str(tmp_path / "o.xlsx"), "-m", str(small_model_file)]
    )
    assert result.exit_code == 1 and "unsupported output format '.xlsx'" in result.output
    result = runner.invoke(app, ["embed", str(tmp_path / "none.csv"), "-o", str(tmp_path / "o.csv")])
    assert result.exit_code == 1 and "input file not found" in result.output
    (tmp_path / "garbage.parquet").write_bytes(b"not parquet at all")
    result = runner.invoke(
        app, ["embed", str(tmp_path / "garbage.parquet"), "-o", str(tmp_path / "o.csv"), "-m", str(small_model_file)]
    )
    assert result.exit_code == 1 and "cannot read as parquet" in result.output


def test_embed_empty_input_writes_empty_output(tmp_path: Path, small_model_file: Path) -> None:
    (tmp_path / "empty.csv").write_text("lon,lat,name\n")
    result = runner.invoke(
        app, ["embed", str(tmp_path / "empty.csv"), "-o", str(tmp_path / "e.parquet"), "-m", str(small_model_file)]
    )
    assert result.exit_code == 0, result.output
    table = pq.read_table(tmp_path / "e.parquet")
    assert table.num_rows == 0 and table.column_names[:3] == ["lon", "lat", "name"]


@pytest.mark.parametrize("fmt", ["parquet", "npy"])
def test_streaming_memory_does_not_grow_with_rows(tmp_path: Path, fmt: str) -> None:
    """The real CLI in a subprocess: 10x more rows must not mean more peak memory.

    Holding 400k rows would cost > 400 MB (256-d float32 output plus the text column); the
    allowance covers allocator noise only.
    """
    torch = pytest.importorskip("torch")
    from satclip.checkpoints import save_model
    from satclip.nn.location_encoder import LocationEncoder, LocationEncoderConfig

    model = tmp_path / "wide.safetensors"
    torch.manual_seed(0)
    save_model(model, LocationEncoder(LocationEncoderConfig(L=4, hidden_dim=32, embed_dim=256)), {"name": "wide"})
    peak = {}
    for n in (40_000, 400_000):
        df = _points(n)
        df["note"] = [f"site number {i} " * 4 for i in range(n)]
        df.to_csv(tmp_path / f"{n}.csv", index=False)
        script = (
            "import resource, sys\nfrom satclip.cli import main\nsys.argv = sys.argv[1:]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('MAXRSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
        )
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                script,
                "satclip",
                "embed",
                str(tmp_path / f"{n}.csv"),
                "-o",
                str(tmp_path / f"{n}.{fmt}"),
                "-m",
                str(model),
                "--chunk-rows",
                "10000",
            ],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "ARROW_DEFAULT_MEMORY_POOL": "system"},
        )
        peak[n] = int(proc.stdout.split("MAXRSS")[-1]) / 1024
        out = tmp_path / f"{n}.{fmt}"
        rows = pq.ParquetFile(out).metadata.num_rows if fmt == "parquet" else np.load(out, mmap_mode="r").shape[0]
        assert rows == n
    assert peak[400_000] - peak[40_000] < 150, peak


def test_models_lists_bundled_names() -> None:
    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0
    for name in satclip.list_models():
        assert name in result.output


def test_convert_command(tmp_path: Path, reference_points: np.ndarray) -> None:
    out = tmp_path / "conv.safetensors"
    result = runner.invoke(app, ["convert", str(REFERENCE / "satclip_layout_L10.ckpt"), str(out)])
    assert result.exit_code == 0, result.output
    expected = np.load(REFERENCE / "satclip_layout_L10_expected.npy")
    np.testing.assert_allclose(satclip.load(out).embed(reference_points, dtype=np.float64), expected, atol=1e-10)
    result = runner.invoke(app, ["convert", str(REFERENCE / "points.json"), str(out)])
    assert result.exit_code == 1 and "error:" in result.output


def test_python_dash_m_entry_point(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "satclip", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "embed" in proc.stdout
