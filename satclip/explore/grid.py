"""Global embedding grid: one encoder's embeddings on a regular lon/lat grid, cached per model.

Every exploration view (similarity maps, projections, regions, exports) reads from an
:class:`EmbeddingGrid`. :func:`build_grid` computes it in chunks with progress, stores it under
``cache_dir("explore", "grids")`` as float16 keyed by the encoder fingerprint and the grid
parameters, and keeps the last grids in memory so repeated calls return at once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from satclip.cache import cache_dir, content_hash
from satclip.cache_entries import (
    CacheEntryError,
    discard_bad_entry,
    load_checked_arrays,
    save_checked_arrays,
    spot_check_embeddings,
)
from satclip.data.landmask import land_mask
from satclip.geo import lonlat_grid, lonlat_to_xyz
from satclip.inference import EncoderLike

GRID_FORMAT_VERSION = 2  # 2: checksum record per array (satclip.cache_entries)
DEFAULT_RESOLUTION = 0.5
_MEMORY_CACHE: OrderedDict[str, EmbeddingGrid] = OrderedDict()
_MEMORY_CACHE_SIZE = 2
_LOCK = threading.Lock()

Progress = Callable[[int, int], None]


@dataclass(eq=False)
class EmbeddingGrid:
    """Embeddings of the cell centres of a global lon/lat grid.

    ``lons`` (W,) west->east and ``lats`` (H,) north->south are cell centres; ``mask`` (H, W) marks
    the cells that have an embedding (all of them, or land only); ``embeddings`` (N, D) float16 holds
    them in row-major order of the masked cells; ``points`` (N, 2) their (lon, lat).
    """

    resolution: float
    lons: np.ndarray
    lats: np.ndarray
    mask: np.ndarray
    embeddings: np.ndarray
    model_name: str = "unnamed"
    fingerprint: str = ""
    land_only: bool = False
    _unit: np.ndarray | None = field(default=None, repr=False)
    _flat_index: np.ndarray | None = field(default=None, repr=False)
    _points: np.ndarray | None = field(default=None, repr=False)
    _xyz: np.ndarray | None = field(default=None, repr=False)
    _land: np.ndarray | None = field(default=None, repr=False)

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) of the full grid."""
        return int(self.lats.size), int(self.lons.size)

    @property
    def dim(self) -> int:
        return int(self.embeddings.shape[1])

    @property
    def n_cells(self) -> int:
        return int(self.embeddings.shape[0])

    @property
    def key(self) -> str:
        """Cache key of this grid (model fingerprint + grid parameters)."""
        return grid_key(self.fingerprint, self.resolution, self.land_only)

    @property
    def flat_index(self) -> np.ndarray:
        """Row-major flat index into (H*W) of each stored cell, shape (N,)."""
        if self._flat_index is None:
            self._flat_index = np.flatnonzero(self.mask.ravel())
        return self._flat_index

    @property
    def points(self) -> np.ndarray:
        """(lon, lat) degrees of the stored cells, shape (N, 2) float64 (read-only, computed once)."""
        if self._points is None:
            rows, cols = np.divmod(self.flat_index, self.lons.size)
            pts = np.stack([self.lons[cols], self.lats[rows]], axis=1)
            pts.setflags(write=False)
            self._points = pts
        return self._points

    @property
    def xyz(self) -> np.ndarray:
        """Unit 3-D vectors of the stored cell centres (N, 3): fast distance masks by dot product."""
        if self._xyz is None:
            self._xyz = lonlat_to_xyz(self.points)
        return self._xyz

    @property
    def unit(self) -> np.ndarray:
        """L2-normalised float32 copy of the embeddings (N, D): cosine similarity is one mat-vec."""
        if self._unit is None:
            x = self.embeddings.astype(np.float32)
            norms = np.linalg.norm(x, axis=1, keepdims=True)
            x /= np.maximum(norms, 1e-12)
            self._unit = x
        return self._unit

    @property
    def land(self) -> np.ndarray:
        """(N,) True for stored cells whose centre is on land (land mask computed once, cached on disk)."""
        if self._land is None:
            self._land = land_mask(self.lons, self.lats).ravel()[self.flat_index]
        return self._land

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) of the grid's outer cell edges."""
        half = self.resolution / 2
        return (
            float(self.lons[0] - half),
            float(self.lats[-1] - half),
            float(self.lons[-1] + half),
            float(self.lats[0] + half),
        )

    def to_field(self, values: np.ndarray, fill: float = np.nan) -> np.ndarray:
        """Scatter per-cell values (N,) or (N, C) into a (H, W) or (H, W, C) array, ``fill`` elsewhere."""
        values = np.asarray(values)
        if values.shape[0] != self.n_cells:
            raise ValueError(f"expected {self.n_cells} values (one per grid cell), got {values.shape[0]}")
        h, w = self.shape
        dtype = values.dtype
        if np.isnan(fill) and dtype.kind not in "fc":
            dtype = np.dtype(np.float32)
        out = np.full((h * w, *values.shape[1:]), fill, dtype=dtype)
        out[self.flat_index] = values
        return out.reshape(h, w, *values.shape[1:])

    def cell_of(self, lonlat: Any) -> tuple[np.ndarray, np.ndarray]:
        """(row, col) of the grid cells containing (lon, lat) points (N, 2)."""
        pts = np.atleast_2d(np.asarray(lonlat, dtype=np.float64))
        west, _, _, north = self.bounds
        col = np.clip(np.floor((pts[:, 0] - west) / self.resolution).astype(np.int64), 0, self.lons.size - 1)
        row = np.clip(np.floor((north - pts[:, 1]) / self.resolution).astype(np.int64), 0, self.lats.size - 1)
        return row, col

    def cell_index(self, lonlat: Any) -> np.ndarray:
        """Index into the stored cells (0..N-1) of the cells containing the points; -1 where not stored."""
        row, col = self.cell_of(lonlat)
        lookup = np.full(self.mask.size, -1, dtype=np.int64)
        lookup[self.flat_index] = np.arange(self.n_cells)
        return lookup[row * self.lons.size + col]

    def save(self, path: str | Path) -> Path:
        """Write the grid atomically to an ``.npz`` file (float16 embeddings, a checksum record per array)."""
        meta = {
            "format": GRID_FORMAT_VERSION,
            "resolution": self.resolution,
            "model_name": self.model_name,
            "fingerprint": self.fingerprint,
            "land_only": self.land_only,
        }
        return save_checked_arrays(
            path,
            {"lons": self.lons, "lats": self.lats, "mask": self.mask, "embeddings": self.embeddings.astype(np.float16)},
            meta,
        )

    @classmethod
    def load(cls, path: str | Path, *, dim: int | None = None) -> EmbeddingGrid:
        """Read a grid written by :meth:`save`, validated: format, checksums, shapes (``dim``: the expected
        embedding width), dtypes, finite values and a grid matching its resolution. Raises
        :class:`satclip.cache_entries.CacheEntryError` (a ValueError) saying what is wrong."""
        arrays, meta = load_checked_arrays(
            path,
            {
                "lons": {"shape": (None,), "finite": True},
                "lats": {"shape": (None,), "finite": True},
                "mask": {"shape": (None, None), "dtype": bool},
                "embeddings": {"shape": (None, dim), "dtype": np.float16, "finite": True},
            },
        )
        if meta.get("format") != GRID_FORMAT_VERSION:
            raise CacheEntryError(f"unsupported grid format {meta.get('format')!r}")
        try:
            resolution = float(meta["resolution"])
            lons, lats, _ = lonlat_grid(resolution)
        except (KeyError, TypeError, ValueError) as err:
            raise CacheEntryError(f"bad resolution in the metadata: {err}") from None
        mask, emb = arrays["mask"], arrays["embeddings"]
        if not (np.array_equal(arrays["lons"], lons) and np.array_equal(arrays["lats"], lats)):
            raise CacheEntryError(f"cell centres do not form the {resolution} degree grid")
        if mask.shape != (lats.size, lons.size) or emb.shape[0] != int(mask.sum()):
            raise CacheEntryError(
                f"{emb.shape[0]} embedding rows for {int(mask.sum())} cells of a "
                f"{mask.shape} mask (grid {lats.size} x {lons.size})"
            )
        return cls(
            resolution=resolution,
            lons=lons,
            lats=lats,
            mask=mask,
            embeddings=emb,
            model_name=str(meta.get("model_name", "unnamed")),
            fingerprint=str(meta.get("fingerprint", "")),
            land_only=bool(meta.get("land_only", False)),
        )


def _check_belongs_to(grid: EmbeddingGrid, encoder: Any, fingerprint: str, land_only: bool) -> None:
    """Raise CacheEntryError unless the grid was made by this encoder: fingerprint, land flag, and a few
    cells re-embedded now agree with the stored float16 values."""
    if grid.fingerprint != fingerprint or grid.land_only != land_only:
        raise CacheEntryError("made for another model or land setting")
    if land_only and not np.array_equal(grid.mask, land_mask(grid.lons, grid.lats)):
        raise CacheEntryError("land cells differ from the land mask")
    spot_check_embeddings(grid.embeddings, grid.points, encoder.embed)


def grid_key(fingerprint: str, resolution: float, land_only: bool) -> str:
    """Cache key for a grid of a model (by fingerprint) at a resolution."""
    return content_hash("grid", GRID_FORMAT_VERSION, fingerprint, round(float(resolution), 9), bool(land_only))


def grid_cache_path(fingerprint: str, resolution: float, land_only: bool) -> Path:
    return cache_dir("explore", "grids") / f"{grid_key(fingerprint, resolution, land_only)}.npz"


def build_grid(
    encoder: EncoderLike,
    resolution: float = DEFAULT_RESOLUTION,
    *,
    land_only: bool = False,
    batch_size: int = 8192,
    progress: Progress | bool | None = None,
    cache: bool = True,
) -> EmbeddingGrid:
    """Embeddings of a global grid of cell centres at ``resolution`` degrees for ``encoder``.

    ``land_only`` keeps cells whose centre is on land. Computed ``batch_size`` points at a time;
    ``progress(n_done, n_total)`` is called after each batch (``True``: a tqdm bar). With ``cache``
    the grid is read from / written to the cache directory (float16), keyed by
    ``encoder.fingerprint`` and the grid parameters, and the last grids are kept in memory.
    """
    if not (0 < resolution <= 90) or not np.isclose(180.0 / resolution, round(180.0 / resolution)):
        raise ValueError(f"resolution must divide 180 degrees evenly (e.g. 0.25, 0.5, 1, 2), got {resolution}")
    fingerprint = str(encoder.fingerprint)
    key = grid_key(fingerprint, resolution, land_only)
    if cache:
        with _LOCK:
            if key in _MEMORY_CACHE:
                _MEMORY_CACHE.move_to_end(key)
                return _MEMORY_CACHE[key]
        path = grid_cache_path(fingerprint, resolution, land_only)
        if path.exists():
            try:
                grid = EmbeddingGrid.load(path, dim=encoder.dim)
                _check_belongs_to(grid, encoder, fingerprint, land_only)
            except CacheEntryError as err:  # corrupt, tampered or old entry: say so and rebuild it
                discard_bad_entry(path, err)
            else:
                return _remember(key, grid)

    lons, lats, points = lonlat_grid(resolution)
    mask = land_mask(lons, lats) if land_only else np.ones((lats.size, lons.size), dtype=bool)
    points = points[mask.ravel()]
    if points.shape[0] == 0:
        raise ValueError("the grid has no cells (land_only at a resolution too coarse?)")
    report = _progress_callback(progress, points.shape[0], f"embedding grid {resolution} deg")
    try:
        emb = np.empty((points.shape[0], encoder.dim), dtype=np.float16)
        for start in range(0, points.shape[0], batch_size):
            stop = min(start + batch_size, points.shape[0])
            emb[start:stop] = encoder.embed(points[start:stop], batch_size=batch_size)
            if report is not None:
                report(stop, points.shape[0])
    finally:
        closer = getattr(report, "close", None)
        if closer is not None:
            closer()
    if not np.isfinite(emb).all():
        raise ValueError("the encoder produced non-finite embeddings (or values beyond float16 range)")
    grid = EmbeddingGrid(
        resolution=float(resolution),
        lons=lons,
        lats=lats,
        mask=mask,
        embeddings=emb,
        model_name=str(getattr(encoder, "name", "unnamed")),
        fingerprint=fingerprint,
        land_only=land_only,
    )
    if cache:
        grid.save(grid_cache_path(fingerprint, resolution, land_only))
        _remember(key, grid)
    return grid


def clear_memory_cache() -> None:
    """Forget the grids kept in memory (the disk cache is untouched)."""
    with _LOCK:
        _MEMORY_CACHE.clear()


def _remember(key: str, grid: EmbeddingGrid) -> EmbeddingGrid:
    with _LOCK:
        _MEMORY_CACHE[key] = grid
        _MEMORY_CACHE.move_to_end(key)
        while len(_MEMORY_CACHE) > _MEMORY_CACHE_SIZE:
            _MEMORY_CACHE.popitem(last=False)
    return grid


class _TqdmProgress:
    def __init__(self, total: int, desc: str):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, desc=desc, unit="pt", unit_scale=True)

    def __call__(self, done: int, total: int) -> None:
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        self.bar.close()


def _progress_callback(progress: Progress | bool | None, total: int, desc: str) -> Progress | None:
    if progress is True:
        return _TqdmProgress(total, desc)
    if progress is False or progress is None:
        return None
    return progress
