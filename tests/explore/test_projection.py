from __future__ import annotations

import numpy as np
import pytest

from satclip.explore import projection as proj_mod
from satclip.explore.clusters import kmeans_regions
from satclip.explore.grid import build_grid
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
    assert (df["place"] != "").all()


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
