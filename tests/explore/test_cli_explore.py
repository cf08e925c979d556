from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
import typer
from typer.testing import CliRunner

from satclip.checkpoints import save_model
from satclip.cli.explore import parse_point, register

from .conftest import make_encoder


@pytest.fixture(scope="module")
def cli():
    app = typer.Typer()
    register(app)
    return app


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    enc = make_encoder(11, name="cli-test")
    path = tmp_path_factory.mktemp("m") / "m.safetensors"
    return save_model(path, enc.module, enc.card, dtype=torch.float32)


def test_similar_prints_places_and_writes_maps(cli, model_file, tmp_path):
    png, tif, fig = tmp_path / "sim.png", tmp_path / "sim.tif", tmp_path / "fig.png"
    res = CliRunner().invoke(
        cli,
        [
            "similar",
            "-58.38",
            "-34.60",
            "--model",
            str(model_file),
            "--resolution",
            "5",
            "-k",
            "4",
            "--exclude-km",
            "300",
            "--png",
            str(png),
            "--geotiff",
            str(tif),
            "--figure",
            str(fig),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "most similar places" in res.output and "most similar grid cells" in res.output
    assert png.read_bytes().startswith(b"\x89PNG") and fig.read_bytes().startswith(b"\x89PNG")
    assert tif.stat().st_size > 0


def test_similar_json_and_unlike(cli, model_file):
    res = CliRunner().invoke(
        cli,
        [
            "similar",
            "2.35",
            "48.85",
            "--unlike",
            "36.8,-1.3",
            "--model",
            str(model_file),
            "--resolution",
            "5",
            "-k",
            "3",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert len(out["places"]) == 3 and len(out["cells"]) == 3
    assert out["places"][0]["similarity"] >= out["places"][1]["similarity"]


def test_similar_bad_input_is_one_line_error(cli, model_file):
    res = CliRunner().invoke(cli, ["similar", "10", "95", "--model", str(model_file), "--resolution", "5"])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert res.output.startswith("error: the query LON,LAT 10,95: latitude outside [-90, 90]; "), res.output
    res = CliRunner().invoke(
        cli, ["similar", "10", "5", "--unlike", "1,nan", "--model", str(model_file), "--resolution", "5"]
    )
    assert res.output.startswith("error: --unlike 1,nan: missing or non-finite coordinates"), res.output
    assert "row 0" not in res.output
    res = CliRunner().invoke(cli, ["similar", "10", "5", "--model", str(model_file), "--resolution", "0.7"])
    assert res.exit_code == 1 and "resolution" in res.output


def test_explore_map_and_export_grid(cli, model_file, tmp_path):
    res = CliRunner().invoke(
        cli,
        [
            "explore-map",
            "regions",
            "-k",
            "3",
            "--model",
            str(model_file),
            "--resolution",
            "5",
            "--png",
            str(tmp_path / "r.png"),
            "--geotiff",
            str(tmp_path / "r.tif"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "area_fraction" in res.output and (tmp_path / "r.tif").exists()
    res = CliRunner().invoke(
        cli,
        ["explore-map", "pca", "--model", str(model_file), "--resolution", "5", "--geotiff", str(tmp_path / "p.tif")],
    )
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(
        cli, ["export-grid", str(tmp_path / "g.parquet"), "--model", str(model_file), "--resolution", "10"]
    )
    assert res.exit_code == 0, res.output
    df = pd.read_parquet(tmp_path / "g.parquet")
    assert df.shape == (18 * 36, 2 + 32) and np.isfinite(df.to_numpy()).all()
    res = CliRunner().invoke(cli, ["explore-map", "tsne", "--model", str(model_file)])
    assert res.exit_code == 1 and "unknown view" in res.output


def test_parse_point():
    assert parse_point("-58.4, -34.6") == (-58.4, -34.6)
    with pytest.raises(ValueError, match="LON,LAT"):
        parse_point("1;2")


def test_similar_has_the_wrap_its_error_suggests(cli, model_file):
    args = [
        "similar",
        "190",
        "10",
        "--like",
        "-200,5",
        "--model",
        str(model_file),
        "--resolution",
        "5",
        "-k",
        "2",
        "--json",
    ]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 1 and "--wrap" in res.output
    res = CliRunner().invoke(cli, [*args, "--wrap"])
    assert res.exit_code == 0, res.output
    wrapped = CliRunner().invoke(
        cli,
        [
            "similar",
            "-170",
            "10",
            "--like",
            "160,5",
            "--model",
            str(model_file),
            "--resolution",
            "5",
            "-k",
            "2",
            "--json",
        ],
    )
    assert json.loads(res.stdout) == json.loads(wrapped.stdout)
