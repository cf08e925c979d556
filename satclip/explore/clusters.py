"""k-means regions: cluster grid embeddings into ``k`` regions of similar character, as a map."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from satclip.cache import atomic_path, cache_dir, content_hash
from satclip.explore.grid import EmbeddingGrid
from satclip.explore.places import load_places
from satclip.explore.projection import _transform, area_weighted_sample, area_weights, fit_pca
from satclip.explore.render import CATEGORICAL, MapImage, to_mercator

REGIONS_VERSION = 1


@dataclass(eq=False)
class Regions:
    """Cluster label (0..k-1) of each grid cell, ordered by area (0 = largest)."""

    grid: EmbeddingGrid
    labels: np.ndarray
    k: int
    seed: int

    @property
    def field(self) -> np.ndarray:
        """(H, W) int16 labels, -1 where the grid has no cell."""
        return self.grid.to_field(self.labels.astype(np.int16), fill=-1)

    def colors(self) -> list[str]:
        """Hex colour of each region (a 20-colour palette, repeated beyond 20)."""
        return ["#" + CATEGORICAL[i % len(CATEGORICAL)] for i in range(self.k)]

    def rgb(self) -> np.ndarray:
        """(H, W, 3) float32 in [0, 1] region colours; NaN where the grid has no cell (as ``Projection.rgb``)."""
        out = self.rgba()[..., :3].astype(np.float32) / 255.0
        out[self.field < 0] = np.nan
        return out

    def rgba(self, opacity: float = 1.0) -> np.ndarray:
        """(H, W, 4) uint8 colour-coded region map (equirectangular)."""
        palette = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in self.colors()], dtype=np.uint8)
        f = self.field
        out = np.zeros((*f.shape, 4), dtype=np.uint8)
        valid = f >= 0
        out[valid, :3] = palette[f[valid]]
        out[valid, 3] = round(255 * opacity)
        return out

    def image(self, opacity: float = 1.0, width: int | None = None, height: int | None = None) -> MapImage:
        """Region map in Web Mercator (+-85.0511 deg) for a Leaflet image overlay."""
        merc = to_mercator(self.rgba(opacity), self.grid.resolution, self.grid.bounds[3], height=height, width=width)
        return MapImage(rgba=merc)

    def summary(self) -> pd.DataFrame:
        """Per region: label, color, area_fraction, n_cells and its most populous named place."""
        w = area_weights(self.grid)
        area = np.bincount(self.labels, weights=w, minlength=self.k)
        count = np.bincount(self.labels, minlength=self.k)
        places = load_places()
        idx = self.grid.cell_index(places[["lon", "lat"]].to_numpy(np.float64))
        inside = idx >= 0
        place_label = np.full(len(places), -1)
        place_label[inside] = self.labels[idx[inside]]
        biggest = []
        for r in range(self.k):  # places are sorted by population: first hit is the largest
            hit = np.flatnonzero(place_label == r)
            biggest.append(f"{places['name'].iat[hit[0]]}, {places['country'].iat[hit[0]]}" if hit.size else "")
        return pd.DataFrame(
            {
                "label": np.arange(self.k),
                "color": self.colors(),
                "area_fraction": area,
                "n_cells": count,
                "largest_place": biggest,
            }
        )


def kmeans_regions(
    grid: EmbeddingGrid, k: int = 8, *, seed: int = 0, max_fit: int = 20000, pca_dims: int = 32, cache: bool = True
) -> Regions:
    """Cluster the grid into ``k`` regions: k-means (scikit-learn, seeded) on area-weighted PCA features
    of the unit-normalised embeddings, fitted on ``max_fit`` area-weighted cells, then every cell
    assigned to its nearest centre. Labels are renumbered by area (0 = largest). Cached."""
    if not 2 <= k <= 256:
        raise ValueError(f"k must be in [2, 256], got {k}")
    if k > grid.n_cells:
        raise ValueError(f"k={k} exceeds the number of grid cells ({grid.n_cells})")
    key = content_hash("regions", REGIONS_VERSION, grid.key, grid.n_cells, k, seed, max_fit, pca_dims)
    path = cache_dir("explore", "regions") / f"{key}.npz"
    if cache and path.exists():
        try:
            with np.load(path, allow_pickle=False) as z:
                labels = z["labels"]
                meta = json.loads(str(z["meta"]))
            if labels.shape == (grid.n_cells,) and meta.get("k") == k:
                return Regions(grid=grid, labels=labels, k=k, seed=seed)
        except (OSError, ValueError, KeyError):
            pass
    from sklearn.cluster import KMeans

    w = area_weights(grid)
    mean, comps, _ = fit_pca(grid, min(pca_dims, grid.dim), max_fit, seed, unit=True)
    feats = _transform(grid.unit, mean, comps)
    fit_idx = area_weighted_sample(grid, max_fit, seed)
    km = KMeans(n_clusters=k, n_init=2, random_state=seed).fit(feats[fit_idx])
    labels = km.predict(feats)
    area = np.bincount(labels, weights=w, minlength=k)
    rank = np.empty(k, dtype=np.int64)
    rank[np.argsort(-area, kind="stable")] = np.arange(k)
    labels = rank[labels].astype(np.int16)
    if cache:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, labels=labels, meta=np.array(json.dumps({"k": k, "seed": seed})))
    return Regions(grid=grid, labels=labels, k=k, seed=seed)
