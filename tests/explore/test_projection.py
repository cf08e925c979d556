from __future__ import annotations

import numpy as np
import pytest

from satclip.explore import projection as proj_mod
from satclip.explore.clusters import kmeans_regions
from satclip.explore.grid import build_grid
from satclip.explore.places import NEAR_KM, near_phrase
from satclip.explore.projection import area_weighted_sample, pca_components, project
from satclip.explore.render import LEAFLET_BOUNDS

from .conftest import make_encoder


def test_pca_components_match_weighted_covariance():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 6)) * np.array([5, 3, 2, 1, 0.5, 0.1])
    w = rng.uniform(0.5, 1.5, 500)
    mean, comps, ratio = pca_components(x, w, 3)
    wn = w / w.sum()
    np.testing.assert_allclose(mean, wn @ x, rtol=1e-5)
    cov = ((x - wn @ x) * wn[:, None]).T @ (x - wn @ x)
    _evals, evecs = np.linalg.eigh(cov)
    for i in range(3):
        assert abs(abs(comps[i] @ evecs[:, -1 - i]) - 1) < 1e-4
    assert np.all(np.diff(ratio) <= 0) and 0 < ratio.sum() <= 1


def test_pca_projection_rgb_map(grid2):
    p = project(grid2, "pca", 3)
    assert p.components.shape == (grid2.n_cells, 3) and p.components.dtype == np.float32
    ratio = p.info["explained_variance_ratio"]
    assert ratio == sorted(ratio, reverse=True)
    rgb = p.rgb()
    assert rgb.shape == (*grid2.shape, 3) and np.nanmin(rgb) >= 0 and np.nanmax(rgb) <= 1
    img = p.image()
    assert img.rgba.shape == (180, 180, 4) and img.bounds == LEAFLET_BOUNDS and img.legend is None
    assert (img.rgba[..., 3] == 255).all()  # full grid: no gaps
    assert img.rgba[..., :3].std() > 10  # not a flat image


def test_projection_cache_hit_and_key(fresh_cache, monkeypatch):
    enc = make_encoder(7)
    grid = build_grid(enc, 10.0)
    first = project(grid, "pca", 3)
    boom = {"pca": lambda *a, **k: (_ for _ in ()).throw(AssertionError("refit despite cache"))}
    monkeypatch.setattr(proj_mod, "_FITTERS", boom)
    again = project(grid, "pca", 3)
    np.testing.assert_array_equal(again.components, first.components)
    with pytest.raises(AssertionError, match="refit"):
        project(grid, "pca", 2)  # other parameters miss


def test_umap_reproducible_with_seed_and_reports_progress(fresh_cache):
    enc = make_encoder(8)
    grid = build_grid(enc, 6.0)  # 30 x 60 cells
    calls: list[tuple[int, int]] = []
    kw = {"max_fit": 600, "n_neighbors": 10, "progress": lambda d, t: calls.append((d, t))}
    a = project(grid, "umap", 2, seed=3, cache=False, **kw)
    b = project(grid, "umap", 2, seed=3, cache=False, **kw)
    np.testing.assert_array_equal(a.components, b.components)
    assert a.components.shape == (grid.n_cells, 2) and np.isfinite(a.components).all()
    assert calls and calls[-1][0] == calls[-1][1] == grid.n_cells
    assert a.info["n_fit"] == 600 and a.info["seed"] == 3
    c = project(grid, "umap", 3, seed=3, cache=True, max_fit=600, n_neighbors=10)
    assert c.rgb().shape == (*grid.shape, 3)


def test_scatter_data_for_hover(grid2):
    pca3 = project(grid2, "pca", 3)
    pca2 = project(grid2, "pca", 2)
    df = pca2.scatter(n=300, seed=1, colors=pca3)
    assert len(df) == 300 and df["cell"].is_unique
    assert {"x", "y", "lon", "lat", "cell", "color", "place", "country"} <= set(df.columns)
    np.testing.assert_array_equal(df[["lon", "lat"]].to_numpy(), grid2.points[df["cell"].to_numpy()])
    np.testing.assert_array_equal(df["x"].to_numpy(), pca2.components[df["cell"].to_numpy(), 0])
    assert df["color"].str.match(r"^#[0-9a-f]{6}$").all()
    within = df["place_km"] <= NEAR_KM
    assert (df["place"] != "").all() and df.loc[within, "near"].str.startswith("near ").all()
    assert df.loc[~within, "near"].str.startswith("no named place within 300 km").all()


def test_scatter_does_not_call_a_far_place_near(grid2):
    """A polar cell's hover and selection row said 'Longyearbyen' 1,200 km away; within NEAR_KM a place is named,
    farther the label says how far the nearest one is."""
    df = project(grid2, "pca", 3).scatter(n=None)
    polar = df[df["lat"] < -80]
    assert len(polar) and (polar["place_km"] > NEAR_KM).all()
    assert polar["near"].str.match(r"^no named place within 300 km \(nearest: .+, [\d,]+ km\)$").all()
    paris = df.iloc[[int(np.argmin(np.hypot(df["lon"] - 2.35, df["lat"] - 48.86)))]]
    assert paris["near"].iloc[0].startswith("near ") and paris["place"].iloc[0] != ""


def test_near_phrase():
    assert near_phrase("Paris", "France", 3.0) == "near Paris (France)"
    assert near_phrase("Longyearbyen", "Svalbard", 1214.4) == (
        "no named place within 300 km (nearest: Longyearbyen, 1,214 km)"
    )
    assert near_phrase("", "", 900.0) == "no named place within 300 km"
    assert near_phrase("Ushuaia", "Argentina", 350.0, near_km=400) == "near Ushuaia (Argentina)"


def test_area_weighted_sample_prefers_low_latitudes(grid2):
    idx = area_weighted_sample(grid2, 3000, seed=0)
    assert np.unique(idx).size == 3000
    lat = grid2.points[idx, 1]
    assert (np.abs(lat) < 30).mean() > 0.4  # half the sphere's area lies within 30 degrees of the equator
    assert (np.abs(lat) > 80).mean() < 0.03


def test_projection_bad_arguments(grid2):
    with pytest.raises(ValueError, match="unknown projection"):
        project(grid2, "tsne")
    with pytest.raises(ValueError, match="n_components"):
        project(grid2, "pca", 4)
    with pytest.raises(ValueError, match="extra parameters"):
        project(grid2, "pca", 3, n_neighbors=5)
    with pytest.raises(ValueError, match="3 components"):
        project(grid2, "pca", 2).rgb()


def test_kmeans_regions(grid2):
    reg = kmeans_regions(grid2, 6, seed=0)
    assert reg.labels.shape == (grid2.n_cells,) and set(np.unique(reg.labels)) == set(range(6))
    summary = reg.summary()
    assert list(summary["label"]) == list(range(6))
    assert summary["area_fraction"].is_monotonic_decreasing and summary["area_fraction"].sum() == pytest.approx(1)
    assert summary["n_cells"].sum() == grid2.n_cells
    img = reg.image()
    assert img.rgba.shape == (180, 180, 4)
    palette = {tuple(int(c[i : i + 2], 16) for i in (1, 3, 5)) for c in reg.colors()}
    assert {tuple(p) for p in img.rgba[..., :3].reshape(-1, 3)} <= palette
    again = kmeans_regions(grid2, 6, seed=0)
    np.testing.assert_array_equal(again.labels, reg.labels)
    with pytest.raises(ValueError, match="k must be"):
        kmeans_regions(grid2, 1)


def test_kmeans_regions_on_land_grid(land_grid2):
    reg = kmeans_regions(land_grid2, 4)
    assert (reg.field == -1).sum() == land_grid2.mask.size - land_grid2.n_cells
    assert (reg.rgba()[~land_grid2.mask][..., 3] == 0).all()
    rgb = reg.rgb()  # float colours for plot_map, NaN off the land grid, each land cell its region's colour
    assert rgb.shape == (*land_grid2.mask.shape, 3) and np.isnan(rgb[~land_grid2.mask]).all()
    palette = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in reg.colors()]) / 255.0
    np.testing.assert_allclose(rgb[land_grid2.mask], palette[reg.field[land_grid2.mask]], atol=1e-6)


def test_projection_cache_checked_when_read(fresh_cache):
    """A cached entry with bad values, another key or a broken file is rebuilt, never returned."""
    grid = build_grid(make_encoder(9), 10.0)
    good = project(grid, "pca", 3)
    (path,) = (fresh_cache / "explore" / "projections").glob("*.npz")
    with np.load(path) as z:
        info, key = z["info"], z["key"]
    bad = good.components.copy()
    bad[0, 0] = np.nan
    for entry in (
        {"components": bad, "info": info, "key": key},  # non-finite values
        {"components": good.components, "info": info, "key": np.array("another-key")},
        {"components": good.components.astype(np.float64), "info": info, "key": key},
    ):
        with open(path, "wb") as f:
            np.savez(f, **entry)
        again = project(grid, "pca", 3)
        assert again.components.dtype == np.float32
        np.testing.assert_array_equal(again.components, good.components)
    path.write_bytes(b"not an npz")
    np.testing.assert_array_equal(project(grid, "pca", 3).components, good.components)
    assert proj_mod.cached_projection(grid, "pca", 3) is not None
    assert proj_mod.cached_projection(grid, "pca", 2) is None  # never computed: None at once


def test_umap_reports_stages_in_order(fresh_cache):
    grid = build_grid(make_encoder(8), 6.0)
    stages: list[str] = []
    done: list[int] = []
    umap3 = project(
        grid, "umap", 3, max_fit=600, cache=False, stage=stages.append, progress=lambda d, t: done.append(d)
    )
    assert len(stages) == 3
    assert "principal components" in stages[0] and "600 cells" in stages[1] and f"{grid.n_cells:,}" in stages[2]
    assert done == sorted(done) and done[-1] == grid.n_cells
    # umap-learn's epoch bar is wired to the progress: besides the stage starts (5 % and 50 % of the bar), the
    # fitting stage reports at least its epoch bar's first and last line (how many lines in between tqdm
    # prints depends on the machine's speed)
    assert sum(0.05 * grid.n_cells <= d <= 0.5 * grid.n_cells for d in done) >= 4, done
    from sklearn.manifold import trustworthiness

    # faithful: cells near each other on the map are near in the embedding (1.0 = perfect, ~0.5 = random).
    # A fit on 600 of these 1,800 cells gives 0.90 (0.99 fitted on all); benchmarks/bench_projection.py
    # compares the default path with the previous one on the real 0.5 deg grid (0.967 vs 0.957).
    x = grid.embeddings.astype(np.float32)
    assert trustworthiness(x, umap3.components, n_neighbors=10) > 0.85


_CHILD = """
import json, resource, sys
import numpy as np
from satclip.explore.grid import build_grid
from satclip.explore.projection import project
from tests.explore.conftest import make_encoder
grid = build_grid(make_encoder(8), 6.0)
_ = grid.embeddings
r0 = resource.getrusage(resource.RUSAGE_SELF)
project(grid, "umap", 3, max_fit=600, cache=False)
r1 = resource.getrusage(resource.RUSAGE_SELF)
import umap
hits = misses = 0
for mod in (umap.umap_, umap.layouts):
    for obj in vars(mod).values():
        # functions compiled when the fit first calls them (not the few with signatures, compiled at import)
        if hasattr(obj, "stats") and getattr(obj, "_can_compile", False):
            hits += sum(obj.stats.cache_hits.values()); misses += sum(obj.stats.cache_misses.values())
print(json.dumps({"cpu": r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime, "hits": hits, "misses": misses}))
"""


def test_umap_jit_compiled_once_per_machine_not_per_process(fresh_cache, tmp_path):
    """The second process loads umap-learn's compiled code from the satclip cache: no compilation, and its
    fit costs at most half the CPU time of the first (which compiles); before, every process compiled."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(SATCLIP_CACHE=str(fresh_cache), PYTHONPATH=os.pathsep.join([str(root), env.get("PYTHONPATH", "")]))

    def child() -> dict:
        res = subprocess.run(
            [sys.executable, "-c", _CHILD], env=env, cwd=root, capture_output=True, text=True, timeout=900, check=False
        )
        assert res.returncode == 0, res.stderr[-3000:]
        return json.loads(res.stdout.strip().splitlines()[-1])

    first, second = child(), child()
    assert any((fresh_cache / "numba").rglob("*.nbi")), "umap-learn's compiled code is kept under the satclip cache"
    assert second["misses"] == 0 and second["hits"] > 0, second
    assert second["cpu"] < 0.5 * first["cpu"], (first, second)


_PYNNDESCENT_COMPILED = """
import json, sys
from numba.core.dispatcher import Dispatcher
from satclip.explore.umap_fit import import_umap
import_umap()
mods = [m for n, m in list(sys.modules.items()) if n.startswith("pynndescent")]
found = {f"{m.__name__}.{k}": len(v.overloads) for m in mods for k, v in vars(m).items() if isinstance(v, Dispatcher)}
print(json.dumps({"functions": len(found), "compiled": sorted(k for k, n in found.items() if n)}))
"""


def test_importing_umap_compiles_nothing_of_pynndescent(tmp_path):
    """umap-learn imports pynndescent, which compiled about 50 functions with explicit signatures at import
    (21 s of CPU time on an empty numba cache, half of a fresh install's first fit) for NN-descent, which satclip
    never runs. Imported through satclip, none of them compiles (they would on first call) but make_heap, which
    pynndescent calls at import."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")])
    res = subprocess.run(
        [sys.executable, "-c", _PYNNDESCENT_COMPILED],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["functions"] > 20 and {name.rsplit(".", 1)[1] for name in out["compiled"]} <= {"make_heap"}, out
