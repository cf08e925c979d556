"""Similarity search over an embedding grid: heat maps and most-similar cells and places.

A query is one or more places to be *like* and optionally places to be *unlike*. Its score at a
cell is ``mean_i cos(x, a_i) - unlike_weight * mean_j cos(x, b_j)``: one query gives plain cosine
similarity, several give their mean, and "like A but not B" the difference. The score is linear in
the unit-normalised cell embedding, so a whole grid is one float32 matrix-vector product.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from satclip.explore.grid import EmbeddingGrid
from satclip.explore.places import NEAR_KM, PlaceIndex, nearest_places
from satclip.explore.render import Legend, MapImage, auto_range, colorize, to_mercator
from satclip.geo import EARTH_RADIUS_KM, haversine_km, lonlat_to_xyz, validate_lonlat
from satclip.inference import EncoderLike


@functools.lru_cache(maxsize=1)
def _blas_controller() -> Any:
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        return None
    return ThreadpoolController()


def matvec(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """``matrix @ vector`` on one BLAS thread: a mat-vec is memory-bound, and multi-threaded BLAS
    stalls badly on busy machines (measured 2-15x slower on 2 shared cores)."""
    controller = _blas_controller()
    if controller is None:  # pragma: no cover
        return matrix @ vector
    with controller.limit(limits=1, user_api="blas"):
        return matrix @ vector


def _unit_rows(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def embed_points(lonlat: Any, encoder: EncoderLike | None = None, grid: EmbeddingGrid | None = None) -> np.ndarray:
    """Embeddings (N, D) float32 of points: exact with ``encoder``, else the grid cells containing them."""
    pts = validate_lonlat(lonlat)
    if encoder is not None:
        return encoder.embed(pts)
    if grid is None:
        raise ValueError("need an encoder or a grid to embed query points")
    idx = grid.cell_index(pts)
    if (idx < 0).any():
        bad = np.flatnonzero(idx < 0)
        raise ValueError(
            f"query point(s) {pts[bad].tolist()} fall in grid cells without an embedding (land-only grid?); "
            "pass the encoder to embed them exactly"
        )
    return grid.embeddings[idx].astype(np.float32)


def query_vector(like: np.ndarray, unlike: np.ndarray | None = None, unlike_weight: float = 1.0) -> np.ndarray:
    """Query direction from embeddings of places to be like (N, D) and unlike (M, D): scores are
    ``unit_cells @ q``."""
    like = np.atleast_2d(like)
    if like.shape[0] == 0:
        raise ValueError("need at least one place to be like")
    q = _unit_rows(like).mean(axis=0)
    if unlike is not None and np.size(unlike):
        q = q - float(unlike_weight) * _unit_rows(np.atleast_2d(unlike)).mean(axis=0)
    return q.astype(np.float32)


def _outside(xyz: np.ndarray, centres: np.ndarray, radius_km: float | None) -> np.ndarray | None:
    """Mask of unit vectors ``xyz`` (N, 3) farther than ``radius_km`` from every centre (lon, lat);
    None without a radius. One dot product per centre (great-circle distance <=> chord)."""
    if radius_km is None:
        return None
    if radius_km < 0:
        raise ValueError(f"exclude_km must be >= 0, got {radius_km}")
    cos_r = np.cos(min(radius_km / EARTH_RADIUS_KM, np.pi))
    keep = np.ones(xyz.shape[0], dtype=bool)
    for c in lonlat_to_xyz(np.atleast_2d(centres)):
        keep &= matvec(xyz, c) < cos_r
    return keep


def _distance_to(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Great-circle distance (km) of each point to the nearest centre."""
    if len(points) == 0:
        return np.zeros(0)
    return haversine_km(points[:, None, :], centres[None, :, :]).min(axis=1)


def top_k(scores: np.ndarray, k: int, keep: np.ndarray | None = None) -> np.ndarray:
    """Indices of the ``k`` highest scores (descending) among ``keep``; NaN never wins."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    s = np.where(np.isfinite(scores), scores, -np.inf)
    if keep is not None:
        s = np.where(keep, s, -np.inf)
    n_valid = int(np.isfinite(s).sum())
    k = min(k, n_valid)
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    idx = np.argpartition(-s, k - 1)[:k] if k < s.size else np.arange(s.size)
    idx = idx[np.argsort(-s[idx], kind="stable")]
    return idx[np.isfinite(s[idx])][:k]


def _spread(points: np.ndarray, order: np.ndarray, k: int, min_km: float) -> np.ndarray:
    """Greedy pick of up to ``k`` of ``order`` at least ``min_km`` apart (best first): take the best remaining
    candidate, drop every candidate within ``min_km`` of it, repeat (k vectorised passes over ``order``)."""
    chosen: list[int] = []
    remaining = np.asarray(order, dtype=np.int64)
    while remaining.size and len(chosen) < k:
        best = int(remaining[0])
        chosen.append(best)
        remaining = remaining[haversine_km(points[remaining], points[best][None, :]) >= min_km]
    return np.asarray(chosen, dtype=np.int64)


@dataclass(eq=False)
class SimilarityMap:
    """Similarity of every grid cell to a query; renders to images and ranks cells and places."""

    grid: EmbeddingGrid
    scores: np.ndarray
    query: np.ndarray
    like: np.ndarray
    unlike: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    label: str = "cosine similarity"

    @property
    def field(self) -> np.ndarray:
        """(H, W) float32 similarity field, rows north->south; NaN where the grid has no cell."""
        return self.grid.to_field(self.scores)

    @property
    def diverging(self) -> bool:
        return self.unlike.shape[0] > 0

    def at(self, lonlat: Any) -> np.ndarray:
        """Score of the grid cell containing each (lon, lat) point (NaN where the grid has no cell)."""
        idx = self.grid.cell_index(validate_lonlat(lonlat))
        return np.where(idx >= 0, self.scores[np.maximum(idx, 0)], np.nan).astype(np.float32)

    def value_range(self) -> tuple[float, float]:
        """Default colour range: robust percentiles (symmetric about 0 for like/unlike queries)."""
        return auto_range(self.scores, symmetric=self.diverging)

    def image(
        self,
        cmap: str | None = None,
        vmin: float | None = None,
        vmax: float | None = None,
        opacity: float = 1.0,
        width: int | None = None,
        height: int | None = None,
        land_only: bool = False,
    ) -> MapImage:
        """Colour-mapped RGBA image in Web Mercator (+-85.0511 deg) with bounds and legend;
        ``land_only`` makes sea cells transparent."""
        cmap = cmap or ("RdBu_r" if self.diverging else "magma")
        if vmin is None or vmax is None:
            lo, hi = self.value_range()
            vmin = lo if vmin is None else vmin
            vmax = hi if vmax is None else vmax
        field = self.grid.to_field(np.where(self.grid.land, self.scores, np.nan)) if land_only else self.field
        rgba = colorize(field, cmap, vmin, vmax, opacity=opacity)  # colour at grid size, then resample
        rgba = to_mercator(rgba, self.grid.resolution, self.grid.bounds[3], height=height, width=width)
        shown = field[np.isfinite(field)]
        below, above = bool((shown < vmin).any()), bool((shown > vmax).any())
        return MapImage(rgba=rgba, legend=Legend(cmap, float(vmin), float(vmax), self.label, below, above))

    def top_cells(
        self,
        k: int = 10,
        exclude_km: float | None = None,
        min_separation_km: float | None = None,
        with_places: bool = True,
        land_only: bool = False,
    ) -> pd.DataFrame:
        """The ``k`` most similar grid cells: rank, lon, lat, similarity, distance_km (to the nearest query
        point), and the nearest named place. ``exclude_km`` drops cells within that distance of the
        query points; ``min_separation_km`` keeps the picks at least that far apart; ``land_only`` skips sea."""
        pts = self.grid.points
        keep = _outside(self.grid.xyz, self.like, exclude_km)
        if land_only:
            keep = self.grid.land if keep is None else keep & self.grid.land
        if min_separation_km:
            idx = _spread(pts, top_k(self.scores, max(50 * k, 2000), keep), k, float(min_separation_km))
            if idx.size < k:  # the best cells are one cluster (e.g. polar ice): go on down the whole ranking
                idx = _spread(pts, top_k(self.scores, self.scores.size, keep), k, float(min_separation_km))
        else:
            idx = top_k(self.scores, k, keep)
        out = pd.DataFrame(
            {
                "rank": np.arange(1, idx.size + 1),
                "lon": pts[idx, 0],
                "lat": pts[idx, 1],
                "similarity": self.scores[idx].astype(np.float64),
                "distance_km": _distance_to(pts[idx], self.like),
            }
        )
        if with_places and idx.size:
            near = nearest_places(pts[idx], max_km=NEAR_KM)
            out["near"] = near["name"].to_numpy()
            out["country"] = near["country"].to_numpy()
            out["near_km"] = near["distance_km"].to_numpy()
        return out

    def top_places(
        self, places: PlaceIndex, k: int = 10, exclude_km: float | None = None, min_population: int = 0
    ) -> pd.DataFrame:
        """The ``k`` named places most similar to the query (by their own embeddings): rank, name,
        country, population, lon, lat, similarity, distance_km; ``exclude_km`` drops places near the query."""
        scores = matvec(places.unit, self.query)
        keep = _outside(places.xyz, self.like, exclude_km)
        if min_population > 0:
            big = places.places["population"].to_numpy() >= min_population
            keep = big if keep is None else keep & big
        idx = top_k(scores, k, keep)
        hit = places.places.iloc[idx].reset_index(drop=True)
        return pd.DataFrame(
            {
                "rank": np.arange(1, idx.size + 1),
                "name": hit["name"],
                "country": hit["country"],
                "population": hit["population"],
                "lon": hit["lon"],
                "lat": hit["lat"],
                "similarity": scores[idx].astype(np.float64),
                "distance_km": _distance_to(hit[["lon", "lat"]].to_numpy(np.float64), self.like),
            }
        )


def similarity_map(
    grid: EmbeddingGrid,
    like: Any,
    unlike: Any = None,
    *,
    encoder: EncoderLike | None = None,
    unlike_weight: float = 1.0,
) -> SimilarityMap:
    """Similarity of every cell of ``grid`` to places ``like`` (one (lon, lat) or (N, 2)), optionally
    minus similarity to places ``unlike``. Query points are embedded exactly with ``encoder`` if given,
    else taken from their grid cells."""
    like_pts = validate_lonlat(like)
    unlike_pts = validate_lonlat(unlike) if unlike is not None and np.size(unlike) else np.zeros((0, 2))
    emb = embed_points(np.concatenate([like_pts, unlike_pts]), encoder, grid)
    q = query_vector(emb[: len(like_pts)], emb[len(like_pts) :], unlike_weight)
    scores = matvec(grid.unit, q)
    label = "cosine similarity" if len(like_pts) == 1 else "mean cosine similarity"
    if len(unlike_pts):
        label = "similarity to like minus unlike"
    return SimilarityMap(grid=grid, scores=scores, query=q, like=like_pts, unlike=unlike_pts, label=label)
