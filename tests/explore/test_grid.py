from __future__ import annotations

import numpy as np
import pytest
import torch

from satclip.cache_entries import SPOT_CHECK_ROWS, CacheEntryWarning
from satclip.explore.grid import EmbeddingGrid, build_grid, clear_memory_cache, grid_cache_path
from satclip.geo import lonlat_grid

from .conftest import assert_same, make_encoder


def test_grid_layout_and_values(grid2, encoder):
    _lons, _lats, points = lonlat_grid(2.0)
    assert grid2.shape == (90, 180)
    assert grid2.n_cells == 90 * 180 and grid2.dim == 32
    assert grid2.embeddings.dtype == np.float16
    np.testing.assert_array_equal(grid2.points, points)
    assert grid2.lats[0] > grid2.lats[-1]  # north -> south
    assert grid2.bounds == (-180.0, -90.0, 180.0, 90.0)
    some = points[::997]
    exact = encoder.embed(some)
    np.testing.assert_allclose(grid2.embeddings[::997].astype(np.float32), exact, atol=2e-3, rtol=2e-3)


def test_unit_rows_are_normalised(grid2):
    norms = np.linalg.norm(grid2.unit, axis=1)
    assert grid2.unit.dtype == np.float32
    np.testing.assert_allclose(norms, 1.0, atol=1e-5)


def test_cache_hit_returns_identical_arrays_and_changed_model_misses(fresh_cache):
    enc = make_encoder(1)
    g1 = build_grid(enc, 5.0)
    n_first = enc.n_embedded
    assert n_first == 36 * 72
    assert grid_cache_path(enc.fingerprint, 5.0, False).exists()
    assert build_grid(enc, 5.0) is g1  # memory hit
    clear_memory_cache()
    g2 = build_grid(enc, 5.0)  # disk hit: only a few cells re-embedded to check the entry
    assert enc.n_embedded - n_first <= SPOT_CHECK_ROWS
    n_first = enc.n_embedded
    assert g2 is not g1
    assert_same(g2.embeddings, g1.embeddings)
    assert_same(g2.mask, g1.mask)
    assert g2.fingerprint == g1.fingerprint and g2.model_name == "test"
    # a changed model has another fingerprint and misses
    with torch.no_grad():
        enc.module.nnet.last_layer.weight.add_(0.01)
    enc._fingerprint = None
    g3 = build_grid(enc, 5.0)
    assert enc.n_embedded == n_first + 36 * 72
    assert g3.fingerprint != g1.fingerprint
    assert not np.array_equal(g3.embeddings, g1.embeddings)
    # other grid parameters miss too
    build_grid(enc, 10.0)
    assert enc.n_embedded == n_first + 36 * 72 + 18 * 36


def test_no_cache_writes_nothing(fresh_cache):
    enc = make_encoder(2)
    build_grid(enc, 10.0, cache=False)
    assert not grid_cache_path(enc.fingerprint, 10.0, False).exists()


def test_corrupt_cache_entry_is_rebuilt(fresh_cache):
    enc = make_encoder(3)
    path = grid_cache_path(enc.fingerprint, 10.0, False)
    path.write_bytes(b"not a grid")
    with pytest.warns(CacheEntryWarning, match="not an .npz archive"):
        g = build_grid(enc, 10.0)
    assert g.n_cells == 18 * 36
    assert EmbeddingGrid.load(path).n_cells == 18 * 36


def test_progress_reports_every_chunk(fresh_cache):
    enc = make_encoder(4)
    calls: list[tuple[int, int]] = []
    build_grid(enc, 5.0, batch_size=1000, progress=lambda done, total: calls.append((done, total)))
    assert [d for d, _ in calls] == [1000, 2000, 2592]
    assert all(t == 2592 for _, t in calls)


def test_land_only_grid(land_grid2, grid2):
    from satclip.data.landmask import land_mask

    assert land_grid2.land_only and 0.2 < land_grid2.n_cells / grid2.n_cells < 0.4
    np.testing.assert_array_equal(land_grid2.mask, land_mask(land_grid2.lons, land_grid2.lats))
    pts = land_grid2.points
    # Sahara is in, the middle of the Pacific is out
    assert land_grid2.cell_index([[11.0, 23.0]])[0] >= 0
    assert land_grid2.cell_index([[-150.0, 0.0]])[0] == -1
    # land cells carry the same embeddings as in the full grid
    full_idx = grid2.cell_index(pts)
    assert_same(land_grid2.embeddings, grid2.embeddings[full_idx])
    field = land_grid2.to_field(np.ones(land_grid2.n_cells, dtype=np.float32))
    assert np.isnan(field).sum() == grid2.n_cells - land_grid2.n_cells


def test_cell_index_finds_containing_cell(grid2):
    idx = grid2.cell_index([[-179.9, 89.9], [179.9, -89.9], [0.5, 0.5], [-0.5, -0.5]])
    pts = grid2.points[idx]
    np.testing.assert_array_equal(pts, [[-179.0, 89.0], [179.0, -89.0], [1.0, 1.0], [-1.0, -1.0]])


@pytest.mark.parametrize("res", [0, -1, 0.7, 100])
def test_bad_resolution(res, encoder):
    with pytest.raises(ValueError, match="resolution"):
        build_grid(encoder, res)


def test_to_field_rejects_wrong_length(grid2):
    with pytest.raises(ValueError, match="one per grid cell"):
        grid2.to_field(np.zeros(5))


def test_land_mask_matches_package_and_is_cached(fresh_cache):
    from global_land_mask import globe

    from satclip.data.landmask import land_mask

    lons, lats, _ = lonlat_grid(3.0)
    mask = land_mask(lons, lats)
    lon2, lat2 = np.meshgrid(lons, lats)
    np.testing.assert_array_equal(mask, globe.is_land(lat2, lon2))
    assert 0.25 < mask.mean() < 0.4
    cached = list((fresh_cache / "explore" / "landmask").glob("*.npz"))
    assert len(cached) == 1
    np.testing.assert_array_equal(land_mask(lons, lats), mask)
    cached[0].write_bytes(cached[0].read_bytes()[:300])  # truncated entry: rebuilt, with a warning
    with pytest.warns(CacheEntryWarning, match=cached[0].name):
        np.testing.assert_array_equal(land_mask(lons, lats), mask)
