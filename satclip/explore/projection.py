"""Low-dimensional views of an embedding grid: PCA and UMAP to 2 or 3 components.

Three components become an RGB false-colour world map (as in the SatCLIP and satellite-embedding
papers); two become scatter data with coordinates and place names for hover. PCA is fitted with
area weights (cos latitude) on all cells, or on an area-weighted sample of them. UMAP is fitted on an
area-weighted sample of cells (``max_fit``) with a fixed seed, then extended to every cell by
inverse-distance-weighted k-nearest neighbours in embedding space. Results are cached per grid and
parameters.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from satclip.cache import atomic_path, cache_dir, content_hash
from satclip.explore.grid import EmbeddingGrid, Progress, _progress_callback
from satclip.explore.places import nearest_places
from satclip.explore.render import MapImage, hex_color, rgb_to_rgba, to_mercator

METHODS = ("pca", "umap")
PROJECTION_VERSION = 1


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

    def scatter(self, n: int | None = 5000, seed: int = 0, colors: Projection | None = None,
                with_places: bool = True) -> pd.DataFrame:
        """Scatter data: x, y (first two components), lon, lat, cell (index into the grid cells),
        color (hex; from ``colors`` or this projection if it has 3 components) and the nearest place."""
        n_cells = self.grid.n_cells
        if n is None or n >= n_cells:
            idx = np.arange(n_cells)
        else:
            idx = np.sort(area_weighted_sample(self.grid, n, seed))
        pts = self.grid.points[idx]
        out = pd.DataFrame({
            "x": self.components[idx, 0], "y": self.components[idx, 1] if self.n_components > 1 else 0.0,
            "lon": pts[:, 0], "lat": pts[:, 1], "cell": idx,
        })
        source = colors if colors is not None else (self if self.n_components >= 3 else None)
        if source is not None:
            rgb = np.clip(np.rint(scale_unit(source.components[:, :3])[idx] * 255), 0, 255).astype(np.uint8)
            out["color"] = [hex_color(c) for c in rgb]
        if with_places and len(idx):
            near = nearest_places(pts)
            out["place"] = near["name"].to_numpy()
            out["country"] = near["country"].to_numpy()
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


def fit_pca(grid: EmbeddingGrid, n_components: int, max_fit: int | None = 20000, seed: int = 0,
            unit: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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


def _fit_pca(grid: EmbeddingGrid, n_components: int, report: Progress | None, *, seed: int = 0,
             max_fit: int = 20000, **_: Any) -> tuple[np.ndarray, dict]:
    mean, comps, ratio = fit_pca(grid, n_components, max_fit, seed)
    out = _transform(grid.embeddings, mean, comps)
    if report is not None:
        report(grid.n_cells, grid.n_cells)
    return out, {"explained_variance_ratio": [float(r) for r in ratio], "n_fit": min(max_fit, grid.n_cells)}


def _fit_umap(grid: EmbeddingGrid, n_components: int, report: Progress | None, *, seed: int = 0,
              max_fit: int = 10000, n_neighbors: int = 15, min_dist: float = 0.1, knn: int = 8,
              pca_dims: int = 32, verbose: bool = False, **_: Any) -> tuple[np.ndarray, dict]:
    try:
        import umap
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("UMAP needs the 'umap-learn' package: pip install umap-learn") from err
    from sklearn.neighbors import NearestNeighbors

    total = grid.n_cells
    # Reduce to ``pca_dims`` first (fast neighbour search; standard UMAP practice).
    mean, comps, _ = fit_pca(grid, min(pca_dims, grid.dim), 20000, seed)
    reduced = _transform(grid.embeddings, mean, comps)
    fit_idx = np.sort(area_weighted_sample(grid, max_fit, seed))
    reducer = umap.UMAP(n_components=n_components, n_neighbors=n_neighbors, min_dist=min_dist, random_state=seed,
                        n_jobs=1, verbose=verbose, tqdm_kwds={"desc": "UMAP epochs"} if verbose else None)
    fitted = reducer.fit_transform(reduced[fit_idx]).astype(np.float32)
    if report is not None:
        report(len(fit_idx), total)
    nn = NearestNeighbors(n_neighbors=min(knn, len(fit_idx))).fit(reduced[fit_idx])
    out = np.empty((total, n_components), dtype=np.float32)
    step = 20000
    for start in range(0, total, step):
        stop = min(start + step, total)
        dist, idx = nn.kneighbors(reduced[start:stop])
        w = 1.0 / np.maximum(dist, 1e-6)
        out[start:stop] = np.einsum("nk,nkc->nc", w / w.sum(axis=1, keepdims=True), fitted[idx])
        if report is not None:
            report(len(fit_idx) + int((total - len(fit_idx)) * stop / total), total)
    out[fit_idx] = fitted
    info = {"n_fit": len(fit_idx), "n_neighbors": n_neighbors, "min_dist": min_dist, "knn_extension": knn,
            "pca_dims": int(comps.shape[0]), "seed": seed}
    return out, info


_FITTERS: dict[str, Callable[..., tuple[np.ndarray, dict]]] = {"pca": _fit_pca, "umap": _fit_umap}


def project(grid: EmbeddingGrid, method: str = "pca", n_components: int = 3, *, seed: int = 0,
            max_fit: int | None = None, progress: Progress | bool | None = None, cache: bool = True,
            **params: Any) -> Projection:
    """Project the grid's embeddings to ``n_components`` (2 or 3) by ``method`` ("pca" or "umap").

    ``max_fit`` (default 20,000 for PCA, 10,000 for UMAP) caps the cells the fit sees (an area-weighted
    sample; PCA is exact below it). UMAP: fitted with ``random_state=seed`` (reproducible), extra
    ``params`` (n_neighbors, min_dist, knn, pca_dims) passed on. ``progress(done, total)`` or ``True``
    for a tqdm bar. Cached on disk by grid key and parameters.
    """
    method = method.lower()
    if method not in METHODS:
        raise ValueError(f"unknown projection method {method!r}; choose one of {METHODS}")
    if n_components not in (1, 2, 3) or n_components > grid.dim:
        raise ValueError(f"n_components must be 1, 2 or 3 (and <= the embedding dim), got {n_components}")
    if method == "pca" and params:
        raise ValueError(f"PCA takes no extra parameters, got {sorted(params)}")
    if max_fit is None:
        max_fit = 20000 if method == "pca" else 10000
    settings = {"seed": seed, "max_fit": int(max_fit), **params}
    key = content_hash("projection", PROJECTION_VERSION, grid.key, grid.n_cells, method, n_components, settings)
    path = cache_dir("explore", "projections") / f"{key}.npz"
    if cache and path.exists():
        try:
            with np.load(path, allow_pickle=False) as z:
                comps, info = z["components"], json.loads(str(z["info"]))
            if comps.shape == (grid.n_cells, n_components):
                return Projection(grid=grid, method=method, components=comps, info=info)
        except (OSError, ValueError, KeyError):
            pass
    report = _progress_callback(progress, grid.n_cells, f"{method.upper()} projection")
    t0 = time.perf_counter()
    try:
        comps, info = _FITTERS[method](grid, n_components, report, verbose=progress is True, **settings)
    finally:
        closer = getattr(report, "close", None)
        if closer is not None:
            closer()
    info = {**info, "seconds": round(time.perf_counter() - t0, 3)}
    if cache:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, components=comps, info=np.array(json.dumps(info)))
    return Projection(grid=grid, method=method, components=comps, info=info)
