from __future__ import annotations

import numpy as np
import pytest

from satclip.cache_entries import SPOT_CHECK_ROWS
from satclip.explore import Explorer, build_grid
from satclip.explore.render import LEAFLET_BOUNDS

from .conftest import make_encoder


def test_explorer_end_to_end(encoder, grid2):
    n = encoder.n_embedded
    ex = Explorer(encoder, 2.0)
    assert encoder.n_embedded - n <= SPOT_CHECK_ROWS  # the grid came from the cache (a few cells re-checked)
    assert ex.grid.key == grid2.key
    np.testing.assert_array_equal(ex.grid.embeddings, grid2.embeddings)
    ex.warm_up()
    sim = ex.similarity((2.35, 48.85))
    img = sim.image()
    assert img.bounds == LEAFLET_BOUNDS and img.rgba.shape == (180, 180, 4)
    places = ex.similar_places((2.35, 48.85), k=5, exclude_km=500)
    assert len(places) == 5 and (places["distance_km"] > 500).all()
    cells = ex.similar_cells([(2.35, 48.85), (13.4, 52.5)], k=3)
    assert len(cells) == 3
    assert ex.embed([(2.35, 48.85)]).shape == (1, encoder.dim)
    assert ex.projection("pca").components.shape == (grid2.n_cells, 3)
    assert ex.regions(4).k == 4


def test_explorer_rejects_grid_of_another_model(grid2):
    with pytest.raises(ValueError, match="different model"):
        Explorer(make_encoder(99), grid=grid2)


def test_explorer_from_model_file(tmp_path, fresh_cache):
    import torch

    from satclip.checkpoints import save_model

    enc = make_encoder(12)
    path = save_model(tmp_path / "m.safetensors", enc.module, enc.card, dtype=torch.float32)
    ex = Explorer.from_model(path, resolution=10.0)
    np.testing.assert_array_equal(ex.grid.embeddings, build_grid(enc, 10.0, cache=False).embeddings)
