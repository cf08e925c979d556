"""The bundled models ship their UMAP sample layout: a fresh install's first UMAP map of a bundled model needs no
fit (no umap-learn, no numba compile), and a changed model, grid or parameter never gets a shipped layout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from satclip import load
from satclip.cache_entries import CacheEntryWarning
from satclip.explore import shipped as shipped_mod
from satclip.explore.grid import EmbeddingGrid, build_grid, grid_key
from satclip.explore.projection import _settings, project, projection_key
from satclip.explore.shipped import SHIPPED_DIR, SHIPPED_RESOLUTIONS, load_shipped_layout, shipped_path
from satclip.registry import BUNDLED, DEFAULT_MODEL

ROOT = Path(__file__).resolve().parents[2]
GOAL_S = 20.0  # issue 12: the first UMAP map on 2 cores in under 20 s

_FIRST_MAP = """
import json, sys, time
from satclip import load
from satclip.explore.grid import build_grid
from satclip.explore.projection import project
grid = build_grid(load(sys.argv[1]), float(sys.argv[2]))
_ = grid.embeddings, grid.points
t0 = time.perf_counter()
p = project(grid, "umap", 3)
out = {"seconds": time.perf_counter() - t0, "layout": p.info.get("layout"), "shape": list(p.components.shape)}
print(json.dumps({**out, "umap_imported": "umap" in sys.modules, "numba_imported": "numba" in sys.modules}))
"""


def _default_key(fingerprint: str, resolution: float, n_components: int = 3, **params: object) -> str:
    """The cache key project() gives a full (not land-only) grid of this model at its default UMAP settings."""
    n_cells = round(360 / resolution) * round(180 / resolution)
    grid: object = SimpleNamespace(key=grid_key(fingerprint, resolution, False), n_cells=n_cells, dim=256)
    _, settings = _settings(grid, "umap", n_components, int(params.pop("seed", 0)), None, params)  # type: ignore[arg-type]
    return projection_key(grid, "umap", n_components, settings)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def l10_grid() -> EmbeddingGrid:
    return build_grid(load("satclip-bluemarble-l10"), 2.0)


def test_bundled_model_first_umap_map_on_an_empty_numba_cache_needs_no_fit(tmp_path: Path) -> None:
    """A fresh process, an empty numba cache and an empty satclip cache (a fresh install): the default model's
    first UMAP map imports neither umap-learn nor numba and comes in well under the goal. Before, it fitted
    (compiling umap-learn and pynndescent: 40 s on 2 cores at the app's grid)."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba"), "SATCLIP_CACHE": str(tmp_path / "cache")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    res = subprocess.run(
        [sys.executable, "-c", _FIRST_MAP, DEFAULT_MODEL, "2.0"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["layout"] == "shipped", out
    assert not out["umap_imported"] and not out["numba_imported"], out
    assert out["shape"] == [16200, 3]
    assert out["seconds"] < GOAL_S, out
    assert not (tmp_path / "numba").exists() or not any((tmp_path / "numba").rglob("*.nbi")), "nothing compiled"


def test_every_bundled_model_ships_its_default_layout_and_package_data_stays_small() -> None:
    """Each bundled model has a layout for the app's and CLI's default UMAP at each shipped resolution, under the
    key project() computes today (a change to the models, the grid or the pipeline makes this fail until
    tools/make_shipped_projections.py is rerun); nothing else is shipped, and it all stays small."""
    want = {_default_key(load(name).fingerprint, res): (name, res) for name in BUNDLED for res in SHIPPED_RESOLUTIONS}
    have = {p.stem for p in SHIPPED_DIR.glob("*.npz")}
    assert have == set(want), {"missing": [want[k] for k in set(want) - have], "unexpected": sorted(have - set(want))}
    total = sum(p.stat().st_size for p in SHIPPED_DIR.glob("*.npz"))
    assert total < 512 * 1024, f"{total} bytes of shipped layouts"


def test_shipped_layout_is_used_and_faithful(l10_grid: EmbeddingGrid) -> None:
    from sklearn.manifold import trustworthiness

    from satclip.explore.projection import area_weighted_sample

    stages: list[str] = []
    proj = project(l10_grid, "umap", 3, cache=False, stage=stages.append)
    assert proj.info["layout"] == "shipped" and proj.info["n_fit"] == 5000
    assert any("shipped" in s for s in stages) and not any("fitting" in s for s in stages), stages
    index, layout = load_shipped_layout(l10_grid, proj_key(l10_grid), 3, 5000)  # type: ignore[misc]
    np.testing.assert_array_equal(proj.components[index], layout)
    idx = np.sort(area_weighted_sample(l10_grid, 1500, seed=7))
    x = l10_grid.embeddings[idx].astype(np.float32)
    assert trustworthiness(x, proj.components[idx], n_neighbors=10) > 0.85


def proj_key(grid: EmbeddingGrid, n_components: int = 3, seed: int = 0, **params: object) -> str:
    _, settings = _settings(grid, "umap", n_components, seed, None, dict(params))
    return projection_key(grid, "umap", n_components, settings)


@pytest.mark.parametrize(
    "change", [{"seed": 1}, {"n_neighbors": 10}, {"min_dist": 0.2}, {"n_epochs": 100}, {"knn": 4}, {"max_fit": 600}]
)
def test_changed_parameters_get_no_shipped_layout(l10_grid: EmbeddingGrid, change: dict) -> None:
    key = proj_key(l10_grid, **change)
    assert key != proj_key(l10_grid) and not shipped_path(key).exists()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_shipped_layout(l10_grid, key, 3, min(int(change.get("max_fit", 5000)), l10_grid.n_cells)) is None
    assert load_shipped_layout(l10_grid, proj_key(l10_grid, n_components=2), 2, 5000) is None


def test_changed_parameter_is_fitted_not_served_from_the_shipped_layout(l10_grid: EmbeddingGrid) -> None:
    proj = project(l10_grid, "umap", 3, seed=1, max_fit=600, cache=False)
    assert proj.info["layout"] == "fitted" and proj.info["n_fit"] == 600


def test_other_models_and_grids_get_no_shipped_layout(l10_grid: EmbeddingGrid, grid2: EmbeddingGrid) -> None:
    """A user model, another resolution or a land-only grid of a bundled model: nothing shipped, a fit."""
    assert load_shipped_layout(grid2, proj_key(grid2), 3, 5000) is None
    coarse = build_grid(load(DEFAULT_MODEL), 6.0)
    assert not shipped_path(proj_key(coarse)).exists()
    assert proj_key(replace(l10_grid, land_only=True)) != proj_key(l10_grid)


@pytest.fixture
def shipped_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, l10_grid: EmbeddingGrid) -> Path:
    """A private copy of the shipped directory (the package's files stay untouched); returns the L=10 file."""
    monkeypatch.setattr(shipped_mod, "SHIPPED_DIR", tmp_path)
    src = SHIPPED_DIR / f"{proj_key(l10_grid)}.npz"
    return Path(shutil.copy(src, tmp_path / src.name))


def _rejected(grid: EmbeddingGrid, key: str, reason: str) -> None:
    with pytest.warns(CacheEntryWarning, match=reason):
        assert load_shipped_layout(grid, key, 3, 5000) is None


def test_a_mislabelled_shipped_file_is_not_served(shipped_copy: Path, l10_grid: EmbeddingGrid) -> None:
    """The L=10 layout under another projection's name (another model, another seed) is refused by its record."""
    l40 = build_grid(load("satclip-bluemarble-l40"), 2.0)
    for grid, key in ((l40, proj_key(l40)), (l10_grid, proj_key(l10_grid, seed=1))):
        shutil.copy(shipped_copy, shipped_copy.parent / f"{key}.npz")
        _rejected(grid, key, "made for key")


def test_a_changed_model_with_the_same_fingerprint_is_not_served(shipped_copy: Path, l10_grid: EmbeddingGrid) -> None:
    """Same weights and config (same key) but different embeddings, as after a change to the encoder's code."""
    rng = np.random.default_rng(0)
    noisy = (l10_grid.embeddings.astype(np.float32) + rng.normal(0, 0.1, l10_grid.embeddings.shape)).astype(np.float16)
    changed = EmbeddingGrid(
        l10_grid.resolution, l10_grid.lons, l10_grid.lats, l10_grid.mask, noisy, fingerprint=l10_grid.fingerprint
    )
    assert changed.key == l10_grid.key
    _rejected(changed, proj_key(changed), "embeddings of the sample cells differ")


def test_a_tampered_shipped_file_is_not_served(shipped_copy: Path, l10_grid: EmbeddingGrid) -> None:
    with np.load(shipped_copy) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["layout"] = arrays["layout"] + np.float32(1.0)
    with open(shipped_copy, "wb") as f:
        np.savez(f, **arrays)
    _rejected(l10_grid, proj_key(l10_grid), "checksum")
    shipped_copy.write_bytes(b"")
    _rejected(l10_grid, proj_key(l10_grid), "empty file")


@pytest.mark.timeout(900)
def test_the_wheel_carries_the_shipped_layouts(tmp_path: Path) -> None:
    """The shipped layouts are package data (a wheel without them would fit on every fresh install)."""
    import zipfile

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), "."]
    built = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False)
    assert built.returncode == 0, built.stderr[-3000:]
    with zipfile.ZipFile(next(tmp_path.glob("satclip-*.whl"))) as whl:
        shipped = {Path(n).name for n in whl.namelist() if n.startswith("satclip/weights/projections/")}
    assert shipped == {p.name for p in SHIPPED_DIR.glob("*.npz")} and shipped
