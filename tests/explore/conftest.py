"""Fixtures for the exploration tests: a small random-init encoder and grids on an isolated cache."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from satclip.explore.grid import EmbeddingGrid, build_grid, clear_memory_cache
from satclip.inference import Encoder
from satclip.nn.location_encoder import LocationEncoder, LocationEncoderConfig


class CountingEncoder(Encoder):
    """An Encoder that counts the points it embeds (to prove cache hits)."""

    n_embedded = 0

    def embed(self, lonlat, *args, **kwargs):  # type: ignore[override]
        out = super().embed(lonlat, *args, **kwargs)
        self.n_embedded += out.shape[0]
        return out


def make_encoder(seed: int = 0, name: str = "test") -> CountingEncoder:
    torch.manual_seed(seed)
    return CountingEncoder(LocationEncoder(LocationEncoderConfig(L=10, hidden_dim=64, embed_dim=32)), {"name": name})


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("explore-cache")


@pytest.fixture(autouse=True)
def _explore_cache(session_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("SATCLIP_CACHE", str(session_cache))
    yield


@pytest.fixture
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty cache directory and no grids in memory."""
    monkeypatch.setenv("SATCLIP_CACHE", str(tmp_path / "cache"))
    clear_memory_cache()
    yield tmp_path / "cache"
    clear_memory_cache()


@pytest.fixture(scope="session")
def encoder() -> CountingEncoder:
    return make_encoder(0)


@pytest.fixture(scope="session")
def grid2(encoder: CountingEncoder, session_cache: Path) -> EmbeddingGrid:
    """A global 2-degree grid (90 x 180 cells) of the small encoder."""
    mp = pytest.MonkeyPatch()
    mp.setenv("SATCLIP_CACHE", str(session_cache))
    try:
        return build_grid(encoder, 2.0)
    finally:
        mp.undo()


@pytest.fixture(scope="session")
def land_grid2(encoder: CountingEncoder, session_cache: Path) -> EmbeddingGrid:
    """A land-only 2-degree grid of the small encoder."""
    mp = pytest.MonkeyPatch()
    mp.setenv("SATCLIP_CACHE", str(session_cache))
    try:
        return build_grid(encoder, 2.0, land_only=True)
    finally:
        mp.undo()


def assert_same(a: np.ndarray, b: np.ndarray) -> None:
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a, b)
