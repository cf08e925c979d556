"""The tutorial notebooks run top to bottom in quick mode, produce their figures and files, and are
committed without outputs.

Each notebook runs in a fresh kernel (``python3`` from ipykernel, i.e. this interpreter) with
SATCLIP_NOTEBOOK_QUICK=1, its outputs directed to a temporary folder, the suite's isolated cache and
this checkout's ``satclip`` first on the kernel's path.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
import tifffile
from nbclient import NotebookClient
from nbformat import NotebookNode

import satclip
from satclip.train import learning_curve_ok
from tests.assets_helper import real_assets, require_asset  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
NB_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(p.name for p in NB_DIR.glob("*.ipynb"))
REFERENCE = ROOT / "tests" / "fixtures" / "reference"
CELL_TIMEOUT_S = 240
NOTEBOOK_LIMIT_S = 180  # the budget per notebook in quick mode on a 2-core CPU
DOWNSTREAM_ASSETS = ("era5-climatology", "modis-landcover", "naturalearth-lowres", "geoclip-weights")


def run_notebook(name: str, out: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> tuple[NotebookNode, float]:
    """Execute notebooks/<name> in quick mode; returns the executed notebook and its wall time (s)."""
    monkeypatch.setenv("SATCLIP_NOTEBOOK_QUICK", "1")
    monkeypatch.setenv("SATCLIP_NOTEBOOK_OUT", str(out))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend, as for a user
    monkeypatch.delenv("SATCLIP_CHECKPOINT", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    nb = nbformat.read(NB_DIR / name, as_version=4)
    client = NotebookClient(
        nb, timeout=CELL_TIMEOUT_S, kernel_name="python3", resources={"metadata": {"path": str(NB_DIR)}}
    )
    t0 = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - t0
    print(f"{name}: {elapsed:.1f} s in quick mode")
    return nb, elapsed


def outputs(nb: NotebookNode) -> list[NotebookNode]:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


def n_figures(nb: NotebookNode) -> int:
    return sum("image/png" in o.get("data", {}) for o in outputs(nb))


def stdout(nb: NotebookNode) -> str:
    return "".join(o.text for o in outputs(nb) if o.output_type == "stream" and o.name == "stdout")


def check_clean_run(nb: NotebookNode, elapsed: float, min_figures: int) -> None:
    errors = [o for o in outputs(nb) if o.output_type == "error"]
    assert not errors, errors
    tracebacks = [o.text for o in outputs(nb) if o.output_type == "stream" and "Traceback" in o.text]
    assert not tracebacks, tracebacks
    assert n_figures(nb) >= min_figures, f"expected at least {min_figures} figures, got {n_figures(nb)}"
    assert elapsed < NOTEBOOK_LIMIT_S, f"took {elapsed:.0f} s in quick mode (limit {NOTEBOOK_LIMIT_S} s)"


def test_notebooks_are_committed_without_outputs() -> None:
    assert NOTEBOOKS == [
        "01_quickstart.ipynb",
        "02_train_your_own.ipynb",
        "03_downstream.ipynb",
        "04_maps.ipynb",
        "05_released_checkpoints.ipynb",
    ]
    for name in NOTEBOOKS:
        nb = nbformat.read(NB_DIR / name, as_version=4)
        nbformat.validate(nb)
        assert nb.metadata.kernelspec.name == "python3", name
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{name} cell {i} has outputs"
        first_code = next(c for c in nb.cells if c.cell_type == "code")
        assert "parameters" in first_code.metadata.get("tags", []), f"{name}: first code cell is not the parameters"
        assert "SATCLIP_NOTEBOOK_QUICK" in first_code.source and "SATCLIP_NOTEBOOK_OUT" in first_code.source


def test_readme_links_every_notebook() -> None:
    readme = (ROOT / "README.md").read_text()
    linked = set(re.findall(r"\]\((notebooks/[^)]+\.ipynb)\)", readme))
    assert linked == {f"notebooks/{n}" for n in NOTEBOOKS}


@pytest.mark.timeout(300)
def test_01_quickstart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nb, elapsed = run_notebook("01_quickstart.ipynb", tmp_path, monkeypatch)
    check_clean_run(nb, elapsed, min_figures=2)
    saved = pd.read_parquet(tmp_path / "01_quickstart" / "sites_embeddings.parquet")
    assert saved.shape == (200, 3 + 256) and list(saved.columns[:3]) == ["site", "longitude", "latitude"]
    assert "CoordinateError: latitude outside [-90, 90] at row 1" in stdout(nb)


@pytest.mark.timeout(300)
def test_02_train_your_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nb, elapsed = run_notebook("02_train_your_own.ipynb", tmp_path, monkeypatch)
    check_clean_run(nb, elapsed, min_figures=3)
    out = tmp_path / "02_train_your_own"
    metrics = out / "run" / "logs" / "version_0" / "metrics.csv"
    assert learning_curve_ok(metrics)
    assert pd.read_csv(metrics)["val/img2loc_top10"].notna().sum() == 4  # one validation per quick-mode epoch
    enc = satclip.load(out / "my-bluemarble-l10.safetensors")
    assert enc.card["name"] == "my-bluemarble-l10" and enc.card["training"]["epochs"] == 4
    assert enc.embed([(2.35, 48.86)]).shape == (1, 256)
    assert "S2-100K run skipped" in stdout(nb)


@pytest.mark.timeout(300)
@pytest.mark.usefixtures("real_assets")
def test_03_downstream(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for asset in DOWNSTREAM_ASSETS:
        require_asset(asset)
    nb, elapsed = run_notebook("03_downstream.ipynb", tmp_path, monkeypatch)
    check_clean_run(nb, elapsed, min_figures=7)  # tasks + 2 metric charts + 4 prediction/residual maps
    written = {p.name for p in (tmp_path / "03_downstream").iterdir()}
    assert written == {"metrics_ridge.png", "metrics_mlp.png"} | {
        f"map_{task}_{split}_mlp.png" for task in ("air_temperature", "land_cover") for split in ("random", "continent")
    }
    tables = [o.data["text/markdown"] for o in outputs(nb) if "text/markdown" in o.get("data", {})]
    assert any("| air_temperature (r2) | continent |" in t for t in tables)


@pytest.mark.timeout(300)
def test_04_maps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nb, elapsed = run_notebook("04_maps.ipynb", tmp_path, monkeypatch)
    check_clean_run(nb, elapsed, min_figures=4)
    out = tmp_path / "04_maps"
    assert sorted(p.name for p in out.iterdir()) == ["regions.tif", "similarity_manaus.tif", "umap_rgb.tif"]
    assert tifffile.imread(out / "similarity_manaus.tif").shape == (90, 180)  # the 2-degree quick-mode grid
    assert tifffile.imread(out / "umap_rgb.tif").shape == (90, 180, 3)
    labels = tifffile.imread(out / "regions.tif")
    assert set(np.unique(labels)) == set(range(8))


@pytest.mark.timeout(300)
@pytest.mark.usefixtures("real_assets")
def test_05_released_checkpoint_from_the_official_reference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The load-and-compare path runs for real on the official-layout checkpoint of the reference fixtures."""
    for asset in DOWNSTREAM_ASSETS:
        require_asset(asset)
    ckpt = REFERENCE / "satclip_layout_L10.ckpt"
    nb, elapsed = run_notebook("05_released_checkpoints.ipynb", tmp_path, monkeypatch, SATCLIP_CHECKPOINT=str(ckpt))
    check_clean_run(nb, elapsed, min_figures=3)  # two similarity maps + the downstream chart
    assert "Skipping" not in stdout(nb)
    assert "largest difference from the checkpoint: 0.0e+00" in stdout(nb)
    converted = satclip.load(tmp_path / "05_released_checkpoints" / "satclip_layout_L10.safetensors")
    points = np.array(json.loads((REFERENCE / "points.json").read_text())["points"], dtype=np.float64)
    expected = np.load(REFERENCE / "satclip_layout_L10_expected.npy")  # the official code's outputs
    np.testing.assert_allclose(converted.embed(points, dtype=np.float64), expected, rtol=0, atol=1e-10)


@pytest.mark.timeout(300)
def test_05_skips_cleanly_without_a_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nb, elapsed = run_notebook("05_released_checkpoints.ipynb", tmp_path, monkeypatch)
    check_clean_run(nb, elapsed, min_figures=0)
    assert "No released SatCLIP checkpoint: set SATCLIP_CHECKPOINT" in stdout(nb)
    assert n_figures(nb) == 0 and list((tmp_path / "05_released_checkpoints").iterdir()) == []
