"""``Explorer``: one model's grid, places and views behind one object (what the app and notebooks use)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from satclip.explore.clusters import Regions, kmeans_regions
from satclip.explore.grid import DEFAULT_RESOLUTION, EmbeddingGrid, Progress, build_grid
from satclip.explore.places import PlaceIndex, place_index
from satclip.explore.projection import Projection, project
from satclip.explore.render import mercator_row_index
from satclip.explore.similarity import SimilarityMap, similarity_map
from satclip.inference import EncoderLike
from satclip.registry import DEFAULT_MODEL


class Explorer:
    """Exploration views of one encoder on a cached global grid.

    >>> ex = Explorer.from_model("satclip-bluemarble-l10")        # builds or loads the grid
    >>> sim = ex.similarity((2.35, 48.85))                         # Paris
    >>> overlay = sim.image()                                      # MapImage: .rgba, .bounds, .legend, .png()
    >>> ex.similar_places((2.35, 48.85), k=10, exclude_km=500)    # DataFrame
    """

    def __init__(
        self,
        encoder: EncoderLike,
        resolution: float = DEFAULT_RESOLUTION,
        *,
        land_only: bool = False,
        progress: Progress | bool | None = None,
        cache: bool = True,
        grid: EmbeddingGrid | None = None,
    ):
        self.encoder = encoder
        self.cache = cache
        if grid is not None and grid.fingerprint != str(encoder.fingerprint):
            raise ValueError("the grid was computed with a different model (fingerprint mismatch)")
        self.grid = grid or build_grid(encoder, resolution, land_only=land_only, progress=progress, cache=cache)
        self._places: PlaceIndex | None = None

    @classmethod
    def from_model(cls, name_or_path: str | os.PathLike[str] = DEFAULT_MODEL, **kwargs: Any) -> Explorer:
        """An explorer for a bundled model name or a model file (see :func:`satclip.load`)."""
        from satclip.registry import load

        return cls(load(name_or_path), **kwargs)

    @property
    def places(self) -> PlaceIndex:
        """Named places (GeoNames cities15000) with this model's embeddings (computed once, cached)."""
        if self._places is None:
            self._places = place_index(self.encoder, cache=self.cache)
        return self._places

    def warm_up(self, height: int | None = None) -> Explorer:
        """Precompute what makes a query fast: the unit-normalised float32 matrix, place embeddings,
        the nearest-place index and the Web Mercator row index."""
        _ = self.grid.unit, self.grid.points, self.grid.xyz
        _ = self.places.unit, self.places.xyz
        self.places.nearest(np.zeros((1, 2)))
        h = height or self.grid.shape[1]
        mercator_row_index(float(self.grid.resolution), float(self.grid.bounds[3]), self.grid.shape[0], h)
        return self

    def embed(self, lonlat: Any) -> np.ndarray:
        """Exact embeddings (N, D) float32 of (lon, lat) points."""
        return self.encoder.embed(lonlat)

    def similarity(self, like: Any, unlike: Any = None, unlike_weight: float = 1.0) -> SimilarityMap:
        """Similarity of every grid cell to ``like`` (one or several (lon, lat)), minus ``unlike``."""
        return similarity_map(self.grid, like, unlike, encoder=self.encoder, unlike_weight=unlike_weight)

    def similar_places(
        self, like: Any, unlike: Any = None, k: int = 10, exclude_km: float | None = None, min_population: int = 0
    ) -> pd.DataFrame:
        """The ``k`` named places most like the query, optionally excluding a radius around it."""
        return self.similarity(like, unlike).top_places(self.places, k, exclude_km, min_population)

    def similar_cells(
        self,
        like: Any,
        unlike: Any = None,
        k: int = 10,
        exclude_km: float | None = None,
        min_separation_km: float | None = None,
        land_only: bool = False,
    ) -> pd.DataFrame:
        """The ``k`` grid cells most like the query, optionally excluding a radius / spreading the picks /
        skipping sea cells."""
        return self.similarity(like, unlike).top_cells(k, exclude_km, min_separation_km, land_only=land_only)

    def projection(self, method: str = "pca", n_components: int = 3, **kwargs: Any) -> Projection:
        """PCA or UMAP projection of the grid (cached); see :func:`satclip.explore.project`."""
        return project(self.grid, method, n_components, cache=self.cache, **kwargs)

    def regions(self, k: int = 8, seed: int = 0) -> Regions:
        """k-means regions of the grid (cached); see :func:`satclip.explore.kmeans_regions`."""
        return kmeans_regions(self.grid, k, seed=seed, cache=self.cache)
