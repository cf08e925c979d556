"""Low-dimensional views of an embedding grid: PCA and UMAP to 2 or 3 components.

Three components become an RGB false-colour world map (as in the SatCLIP and satellite-embedding
papers); two become scatter data with coordinates and place names for hover. PCA is fitted with
area weights (cos latitude) on all cells, or on an area-weighted sample of them. UMAP is fitted on an
area-weighted sample of cells (``max_fit``) with a fixed seed (or, for the bundled models, comes with the
package: :mod:`satclip.explore.shipped`), then extended to every cell by
inverse-distance-weighted k-nearest neighbours in embedding space (:mod:`satclip.explore.umap_fit`).
Results are cached per grid and parameters, and checked when read.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from satclip.cache import atomic_path, cache_dir, content_hash
from satclip.explore.grid import EmbeddingGrid, Progress, _progress_callback
from satclip.explore.places import near_phrase, nearest_places
from satclip.explore.render import MapImage, hex_color, rgb_to_rgba, to_mercator
from satclip.explore.shipped import load_shipped_layout
from satclip.explore.umap_fit import knn_extend, umap_layout

METHODS = ("pca", "umap")
PROJECTION_VERSION = 2
Stage = Callable[[str], None]  # told the name of each stage as it starts


@dataclass(eq=False)
class Projection:
    """Per-cell components (N, C) float32 of a grid by ``method``; ``info`` holds fit details."""

    grid: EmbeddingGrid
    method: str
    components: np.ndarray
    info: dict[str, Any]

    @property
    def n_components(self) -> int:
        return int(self.components.shape[1])

    def rgb(self, percentiles: tuple[float, float] = (1.0, 99.0)) -> np.ndarray:
        """(H, W, 3) float32 in [0, 1] false colour (first three components, robustly scaled); NaN off-grid."""
        if self.n_components < 3:
            raise ValueError(f"an RGB map needs 3 components, this projection has {self.n_components}")
        return self.grid.to_field(scale_unit(self.components[:, :3], percentiles))

    def image(self, opacity: float = 1.0, width: int | None = None, height: int | None = None) -> MapImage:
        """RGB false-colour map in Web Mercator (+-85.0511 deg) for a Leaflet image overlay."""
        merc = to_mercator(self.rgb(), self.grid.resolution, self.grid.bounds[3], height=height, width=width)
        return MapImage(rgba=rgb_to_rgba(merc, opacity=opacity), legend=None)

    def scatter(
        self, n: int | None = 5000, seed: int = 0, colors: Projection | None = None, with_places: bool = True
    ) -> pd.DataFrame:
        """Scatter data: x, y (first two components), lon, lat, cell (index into the grid cells),
        color (hex; from ``colors`` or this projection if it has 3 components) and, with ``with_places``, the
        nearest named place: place, country, place_km (its distance) and near, the label that calls the cell
        near it only within ``NEAR_KM`` ("no named place within 300 km (nearest: ...)" beyond)."""
        n_cells = self.grid.n_cells
        if n is None or n >= n_cells:
            idx = np.arange(n_cells)
        else:
            idx = np.sort(area_weighted_sample(self.grid, n, seed))
        pts = self.grid.points[idx]
        out = pd.DataFrame(
            {
                "x": self.components[idx, 0],
                "y": self.components[idx, 1] if self.n_components > 1 else 0.0,
                "lon": pts[:, 0],
                "lat": pts[:, 1],
                "cell": idx,
            }
        )
        source = colors if colors is not None else (self if self.n_components >= 3 else None)
        if source is not None:
            rgb = np.clip(np.rint(scale_unit(source.components[:, :3])[idx] * 255), 0, 255).astype(np.uint8)
            out["color"] = [hex_color(c) for c in rgb]
        if with_places and len(idx):
            near = nearest_places(pts)
            out["place"] = near["name"].to_numpy()
            out["country"] = near["country"].to_numpy()
            out["place_km"] = near["distance_km"].to_numpy()
            out["near"] = [near_phrase(*row) for row in near[["name", "country", "distance_km"]].itertuples(False)]
        return out


def scale_unit(x: np.ndarray, percentiles: tuple[float, float] = (1.0, 99.0)) -> np.ndarray:
    """Scale each column to [0, 1] between its robust percentiles (clipped)."""
    x = np.asarray(x, dtype=np.float32)
    lo, hi = np.percentile(x, percentiles, axis=0)
    return np.clip((x - lo) / np.maximum(hi - lo, 1e-12), 0.0, 1.0)


def area_weights(grid: EmbeddingGrid) -> np.ndarray:
    """Cell area weights (cos latitude) of the stored cells, summing to 1."""
    w = np.cos(np.radians(grid.points[:, 1]))
    return w / w.sum()


def area_weighted_sample(grid: EmbeddingGrid, n: int, seed: int = 0) -> np.ndarray:
    """``n`` distinct cell indices drawn with probability proportional to cell area."""
    n = min(int(n), grid.n_cells)
    rng = np.random.default_rng(seed)
    return rng.choice(grid.n_cells, size=n, replace=False, p=area_weights(grid))


def pca_components(x: np.ndarray, weights: np.ndarray, n_components: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted PCA: (mean (D,), components (C, D), explained variance ratio (C,)); deterministic signs."""
    x = np.asarray(x, dtype=np.float32)
    w = np.asarray(weights, dtype=np.float64) / np.sum(weights)
    mean = (w @ x).astype(np.float32)
    xs = (x - mean) * np.sqrt(w).astype(np.float32)[:, None]
    cov = (xs.T @ xs).astype(np.float64)
    evals, evecs = np.linalg.eigh(cov)
    order = np.argsort(evals)[::-1][:n_components]
    comps = evecs[:, order].T
    signs = np.sign(comps[np.arange(len(comps)), np.abs(comps).argmax(axis=1)])
    comps *= signs[:, None]
    ratio = evals[order] / max(evals.sum(), 1e-300)
    return mean, comps.astype(np.float32), ratio


def fit_pca(
    grid: EmbeddingGrid, n_components: int, max_fit: int | None = 20000, seed: int = 0, unit: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Area-weighted PCA of the grid embeddings (``unit``: of the normalised ones): exact over all cells
    when there are at most ``max_fit``, else over an area-weighted sample of ``max_fit`` cells."""
    x = grid.unit if unit else grid.embeddings
    if max_fit is None or grid.n_cells <= max_fit:
        return pca_components(x, area_weights(grid), n_components)
    idx = np.sort(area_weighted_sample(grid, max_fit, seed))
    return pca_components(x[idx], np.ones(idx.size), n_components)


def _transform(x: np.ndarray, mean: np.ndarray, comps: np.ndarray, step: int = 65536) -> np.ndarray:
    out = np.empty((x.shape[0], comps.shape[0]), dtype=np.float32)
    for start in range(0, x.shape[0], step):
        out[start : start + step] = (x[start : start + step].astype(np.float32) - mean) @ comps.T
    return out


def _fit_pca(
    grid: EmbeddingGrid, n_components: int, report: Progress | None, *, seed: int = 0, max_fit: int = 20000, **_: Any
) -> tuple[np.ndarray, dict]:
    mean, comps, ratio = fit_pca(grid, n_components, max_fit, seed)
    out = _transform(grid.embeddings, mean, comps)
    if report is not None:
        report(grid.n_cells, grid.n_cells)
    return out, {"explained_variance_ratio": [float(r) for r in ratio], "n_fit": min(max_fit, grid.n_cells)}


def _umap_features(grid: EmbeddingGrid, pca_dims: int, seed: int) -> np.ndarray:
    """The cells' leading principal components, on which UMAP and the placement of every cell work (fast
    neighbour search, standard practice)."""
    mean, comps = fit_pca(grid, min(pca_dims, grid.dim), 20000, seed)[:2]
    return _transform(grid.embeddings, mean, comps)


def fit_umap_sample(
    grid: EmbeddingGrid,
    n_components: int,
    *,
    seed: int = 0,
    max_fit: int = 5000,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    pca_dims: int = 32,
    n_epochs: int = 200,
    feats: np.ndarray | None = None,
    on_epoch: Callable[[float], None] | None = None,
    **_: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """The fitted part of a UMAP projection: an area-weighted sample of ``max_fit`` cells (sorted indices)
    and its UMAP layout (n_fit, C) float32. The rest of :func:`project` places every cell by its neighbours."""
    feats = _umap_features(grid, pca_dims, seed) if feats is None else feats
    fit_idx = np.sort(area_weighted_sample(grid, max_fit, seed))
    fitted = umap_layout(
        feats[fit_idx],
        n_components,
        n_neighbors=n_neighbors,
        min_dist=min_dist,
        n_epochs=n_epochs,
        seed=seed,
        on_epoch=on_epoch,
    )
    return fit_idx, fitted


def _fit_umap(
    grid: EmbeddingGrid,
    n_components: int,
    report: Progress | None,
    *,
    seed: int = 0,
    max_fit: int = 5000,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    knn: int = 8,
    pca_dims: int = 32,
    n_epochs: int = 200,
    stage: Stage | None = None,
    shipped: tuple[np.ndarray, np.ndarray] | None = None,
    **_: Any,
) -> tuple[np.ndarray, dict]:
    """UMAP layout of an area-weighted sample of cells (``shipped``: the layout shipped with a bundled model,
    see :mod:`satclip.explore.shipped`), extended to every cell (see :mod:`umap_fit`)."""
    total = grid.n_cells

    def step(name: str, start: float, end: float) -> Callable[[float], None]:
        if stage is not None:
            stage(name)

        def fraction(f: float) -> None:
            if report is not None:
                report(int(total * (start + (end - start) * min(max(f, 0.0), 1.0))), total)

        fraction(0.0)
        return fraction

    step("reducing to principal components", 0.0, 0.05)
    feats = _umap_features(grid, pca_dims, seed)
    pca_dims = min(pca_dims, grid.dim)
    if shipped is not None:
        fit_idx, fitted = shipped
        on_chunk = step(f"placing all {total:,} cells by the layout shipped with the model", 0.05, 1.0)
    else:
        on_epoch = step(f"fitting the UMAP layout on {min(max_fit, total):,} cells", 0.05, 0.5)
        fit_idx, fitted = fit_umap_sample(
            grid,
            n_components,
            seed=seed,
            max_fit=max_fit,
            n_neighbors=n_neighbors,
            min_dist=min_dist,
            n_epochs=n_epochs,
            feats=feats,
            on_epoch=on_epoch,
        )
        on_chunk = step(f"placing all {total:,} cells by their nearest fitted cells", 0.5, 1.0)
    out = knn_extend(feats, feats[fit_idx], fitted, knn, on_chunk=on_chunk)
    out[fit_idx] = fitted
    info = {
        "n_fit": len(fit_idx),
        "n_neighbors": n_neighbors,
        "min_dist": min_dist,
        "n_epochs": n_epochs,
        "knn_extension": knn,
        "pca_dims": pca_dims,
        "seed": seed,
        "layout": "shipped" if shipped is not None else "fitted",
    }
    return out, info


_FITTERS: dict[str, Callable[..., tuple[np.ndarray, dict]]] = {"pca": _fit_pca, "umap": _fit_umap}


def project(
    grid: EmbeddingGrid,
    method: str = "pca",
    n_components: int = 3,
    *,
    seed: int = 0,
    max_fit: int | None = None,
    progress: Progress | bool | None = None,
    cache: bool = True,
    stage: Stage | None = None,
    shipped: bool = True,
    **params: Any,
) -> Projection:
    """Project the grid's embeddings to ``n_components`` (2 or 3) by ``method`` ("pca" or "umap").

    ``max_fit`` (default 20,000 for PCA, 5,000 for UMAP) caps the cells the fit sees (an area-weighted
    sample; PCA is exact below it). UMAP: fitted with ``random_state=seed`` (reproducible), extra
    ``params`` (n_neighbors, min_dist, n_epochs, knn, pca_dims) passed on. ``progress(done, total)`` or
    ``True`` for a tqdm bar; ``stage(name)`` is told each stage as it starts. Cached on disk by grid key and
    parameters; a cached entry is used only if its key, shape, dtype and values check out. With ``shipped``,
    a bundled model's UMAP at the shipped settings uses the layout shipped with it (:mod:`shipped`): no fit,
    no umap-learn import: the result of the fit that made it.
    """
    method, settings = _settings(grid, method, n_components, seed, max_fit, params)
    key = projection_key(grid, method, n_components, settings)
    path = cache_dir("explore", "projections") / f"{key}.npz"
    if cache:
        cached = _load_cached(path, key, (grid.n_cells, n_components))
        if cached is not None:
            return Projection(grid=grid, method=method, components=cached[0], info=cached[1])
    report = _progress_callback(progress, grid.n_cells, f"{method.upper()} projection")
    bar = getattr(report, "bar", None)  # the CLI's tqdm bar names the stage
    if stage is None and bar is not None:
        stage = bar.set_description
    t0 = time.perf_counter()
    try:
        extra: dict[str, Any] = {}
        if method == "umap":
            n_fit = min(settings["max_fit"], grid.n_cells)
            layout = load_shipped_layout(grid, key, n_components, n_fit) if shipped else None
            extra = {"stage": stage, "shipped": layout}
        comps, info = _FITTERS[method](grid, n_components, report, **extra, **settings)
    finally:
        closer = getattr(report, "close", None)
        if closer is not None:
            closer()
    info = {**info, "seconds": round(time.perf_counter() - t0, 3)}
    if cache:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, components=comps, info=np.array(json.dumps(info)), key=np.array(key))
    return Projection(grid=grid, method=method, components=comps, info=info)


def cached_projection(
    grid: EmbeddingGrid,
    method: str = "pca",
    n_components: int = 3,
    *,
    seed: int = 0,
    max_fit: int | None = None,
    **params: Any,
) -> Projection | None:
    """The projection :func:`project` would return, if it is in the disk cache (and sound); else None, at once."""
    method, settings = _settings(grid, method, n_components, seed, max_fit, params)
    key = projection_key(grid, method, n_components, settings)
    cached = _load_cached(cache_dir("explore", "projections") / f"{key}.npz", key, (grid.n_cells, n_components))
    return None if cached is None else Projection(grid=grid, method=method, components=cached[0], info=cached[1])


def _settings(
    grid: EmbeddingGrid, method: str, n_components: int, seed: int, max_fit: int | None, params: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """Checked method name and the full fit settings (defaults filled in), as the cache key sees them."""
    method = method.lower()
    if method not in METHODS:
        raise ValueError(f"unknown projection method {method!r}; choose one of {METHODS}")
    if n_components not in (1, 2, 3) or n_components > grid.dim:
        raise ValueError(f"n_components must be 1, 2 or 3 (and <= the embedding dim), got {n_components}")
    if method == "pca" and params:
        raise ValueError(f"PCA takes no extra parameters, got {sorted(params)}")
    if max_fit is None:
        max_fit = 20000 if method == "pca" else 5000
    return method, {"seed": seed, "max_fit": int(max_fit), **params}


def projection_key(grid: EmbeddingGrid, method: str, n_components: int, settings: dict[str, Any]) -> str:
    """Cache key of a projection: the grid (model fingerprint, resolution, land mask), method and parameters."""
    return content_hash("projection", PROJECTION_VERSION, grid.key, grid.n_cells, method, n_components, settings)


def _load_cached(path: Any, key: str, shape: tuple[int, int]) -> tuple[np.ndarray, dict] | None:
    """A cached projection's (components, info) if it is the one asked for and sound, else None (rebuilt)."""
    if not os.path.exists(path):
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            comps, info, stored = z["components"], json.loads(str(z["info"])), str(z["key"])
    except (OSError, ValueError, KeyError, EOFError):
        return None
    if stored != key or comps.shape != shape or comps.dtype != np.float32 or not np.isfinite(comps).all():
        return None
    return comps, info
