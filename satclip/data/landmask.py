"""Land/sea classification of points, grids and patches: the one reader of the 1 km GLOBE land mask that the
``global-land-mask`` package ships (no download).

The package's mask takes ~0.9 GB once decompressed (~7 s). Importing ``global_land_mask.globe`` would keep it
for the life of the process; here it lives only inside a :class:`GlobeLandMask` block and is freed on exit, and
grids read it streamed, a block of rows at a time (about 16 MB held).
Callers that look up points several times (patch sampling) hold one block open; one-off lookups call
:func:`is_land`; grids of cell centres call :func:`land_mask`, cached on disk per grid.
(``satclip.downstream.sources.is_land`` is a different thing on purpose: the MODIS land-cover task's own
water class, so that task's land/water split matches its labels.)
"""

from __future__ import annotations

import importlib.util
import threading
import zipfile
from pathlib import Path
from types import TracebackType
from typing import IO

import numpy as np

from satclip.cache import cache_dir, content_hash
from satclip.cache_entries import CacheEntryError, discard_bad_entry, load_checked_arrays, save_checked_arrays
from satclip.errors import MissingExtraError
from satclip.extras import require_extra
from satclip.geo import validate_lonlat

LAND, COAST, OCEAN = 0, 1, 2
KIND_NAMES = ("land", "coast", "ocean")
_GUARD = threading.Lock()
_GRID_LOCKS: dict[str, threading.Lock] = {}  # one per cached grid: concurrent callers wait for one computation


def _mask_file() -> Path:
    require_extra("explore", "global_land_mask")  # also in satclip[train]; the error names the pip command
    spec = importlib.util.find_spec("global_land_mask")
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover - found just above
        raise MissingExtraError("global_land_mask is installed without its package folder: reinstall it")
    return Path(next(iter(spec.submodule_search_locations))) / "globe_combined_mask_compressed.npz"


class _Axes:
    """The mask's latitude and longitude axes and the package's own indexing rule
    (``global_land_mask.globe.is_land``: the cell whose corner is nearest below the coordinate, clamped to
    the mask's extent), so results match the package exactly."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        with archive.open("lat.npy") as f:
            self.lat = np.load(f, allow_pickle=False)
        with archive.open("lon.npy") as f:
            self.lon = np.load(f, allow_pickle=False)

    def rows(self, lat: np.ndarray) -> np.ndarray:
        lat = np.clip(lat, self.lat.min(), self.lat.max())
        return ((lat - self.lat[0]) / (self.lat[1] - self.lat[0])).astype(np.int64)

    def cols(self, lon: np.ndarray) -> np.ndarray:
        lon = np.clip(lon, self.lon.min(), self.lon.max())
        return ((lon - self.lon[0]) / (self.lon[1] - self.lon[0])).astype(np.int64)


class GlobeLandMask:
    """The 1 km GLOBE land mask, decompressed (0.9 GB) while the ``with`` block is open and freed when it
    closes: for callers that look up many points in several calls (patch sampling). One-off grids use
    :func:`land_mask_grid`, which streams the mask instead.

    Use it as ``with GlobeLandMask() as mask: mask.is_land(lonlat)``; entering the block reads the mask and
    raises :class:`~satclip.errors.MissingExtraError` (an ImportError naming ``pip install 'satclip[explore]'``)
    when the ``global-land-mask`` package is not installed.
    """

    def __init__(self) -> None:
        self._ocean: np.ndarray | None = None  # the stored mask marks ocean
        self._axes: _Axes | None = None

    def __enter__(self) -> GlobeLandMask:
        with zipfile.ZipFile(_mask_file()) as archive:
            self._axes = _Axes(archive)
            with archive.open("mask.npy") as f:
                self._ocean = np.load(f, allow_pickle=False)
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        self._ocean = None

    def is_land(self, lonlat: np.ndarray) -> np.ndarray:
        """Boolean (N,) land mask at (lon, lat) degrees; bad coordinates raise ``CoordinateError`` naming rows.

        Args:
            lonlat: (N, 2) array-like of (lon, lat) degrees, or one pair (see :func:`satclip.geo.validate_lonlat`).

        Returns:
            Bool array (N,): True on land.

        Raises:
            CoordinateError: NaN, out-of-range or malformed coordinates, naming the rows.
            RuntimeError: called outside the ``with`` block.
        """
        if self._ocean is None or self._axes is None:
            raise RuntimeError("GlobeLandMask is read only inside its `with` block")
        pts = validate_lonlat(lonlat)
        return ~self._ocean[self._axes.rows(pts[:, 1]), self._axes.cols(pts[:, 0])]


def is_land(lonlat: np.ndarray) -> np.ndarray:
    """Boolean land mask (1 km GLOBE) at (lon, lat) degrees, shape (N,). Reads the mask once per call.

    Args:
        lonlat: (N, 2) array-like of (lon, lat) degrees, or one pair.

    Returns:
        Bool array (N,): True on land.

    Raises:
        CoordinateError: NaN, out-of-range or malformed coordinates, naming the rows.
        MissingExtraError: the ``global-land-mask`` package is not installed (names the extra to install).
    """
    with GlobeLandMask() as mask:
        return mask.is_land(lonlat)


def land_mask_grid(lons: np.ndarray, lats: np.ndarray) -> np.ndarray:
    """(H, W) boolean land mask of the cells centred at ``lats`` x ``lons`` degrees (not cached), read with the
    1 km mask streamed a block of rows at a time (about 16 MB in memory instead of 0.9 GB).

    Args:
        lons: 1-D longitudes in degrees (W of them).
        lats: 1-D latitudes in degrees (H of them).

    Returns:
        Bool array (H, W): True where the cell centre is land.

    Raises:
        CoordinateError: a longitude or latitude is NaN or out of range, naming its index.
        MissingExtraError: the ``global-land-mask`` package is not installed (names the extra to install).
    """
    lons = np.asarray(lons, dtype=np.float64)
    lats = np.asarray(lats, dtype=np.float64)
    validate_lonlat(np.column_stack([lons, np.zeros_like(lons)]))  # errors name the bad entries by index
    validate_lonlat(np.column_stack([np.zeros_like(lats), lats]))
    with zipfile.ZipFile(_mask_file()) as archive:
        axes = _Axes(archive)
        with archive.open("mask.npy") as f:  # streamed, a block of rows at a time: never the 0.9 GB at once
            return ~_read_rows(f, axes.rows(lats), axes.cols(lons))


def _read_rows(f: IO[bytes], rows: np.ndarray, cols: np.ndarray, block_bytes: int = 16 << 20) -> np.ndarray:
    """``a[np.ix_(rows, cols)]`` of the 2-D C-order boolean array in the open .npy stream ``f``, reading about
    ``block_bytes`` of rows at a time up to the last row needed (never the whole array in memory)."""
    from numpy.lib import format as npy

    version = npy.read_magic(f)
    shape, fortran, dtype = (npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0)(f)
    if fortran or dtype != np.dtype(bool) or len(shape) != 2:
        raise ValueError(f"unexpected land mask array: shape {shape}, dtype {dtype}, Fortran order {fortran}")
    height, width = shape
    out = np.empty((rows.size, cols.size), dtype=bool)
    step = max(1, block_bytes // width)
    for start in range(0, min(int(rows.max(initial=-1)) + 1, height), step):
        n = min(step, height - start)
        raw = f.read(n * width)
        if len(raw) != n * width:
            raise ValueError(f"{_mask_file()}: the land mask is truncated")
        hit = (rows >= start) & (rows < start + n)
        if hit.any():
            out[hit] = np.frombuffer(raw, dtype=bool).reshape(n, width)[rows[hit] - start][:, cols]
    return out


def land_mask(lons: np.ndarray, lats: np.ndarray, *, cache: bool = True) -> np.ndarray:
    """(H, W) boolean land mask of cell centres (``satclip.data.landmask``, 1 km GLOBE data), cached on disk per
    grid: reading the 1 km mask takes seconds, a cached grid milliseconds.

    Args:
        lons: 1-D cell-centre longitudes in degrees (W of them), e.g. from :func:`satclip.geo.lonlat_grid`.
        lats: 1-D cell-centre latitudes in degrees (H of them).
        cache: read and write the result under the cache folder (``explore/landmask``), keyed by the grid; a
            corrupt entry is discarded and recomputed.

    Returns:
        Bool array (H, W): True where the cell centre is land.

    Raises:
        CoordinateError: a longitude or latitude is NaN or out of range (when the grid is not cached).
        MissingExtraError: the ``global-land-mask`` package is not installed (when the grid is not cached).
    """
    lons = np.asarray(lons, dtype=np.float64)
    lats = np.asarray(lats, dtype=np.float64)
    path = cache_dir("explore", "landmask") / f"{content_hash('landmask', 2, lons, lats)}.npz"
    with _GUARD:
        lock = _GRID_LOCKS.setdefault(str(path), threading.Lock())
    with lock:  # the app asks from several script runs at once; one reads the 1 km mask, the others the cache
        if cache and path.exists():
            try:
                arrays, _ = load_checked_arrays(path, {"mask": {"shape": (lats.size, lons.size), "dtype": bool}})
            except CacheEntryError as err:
                discard_bad_entry(path, err)
            else:
                return arrays["mask"]
        mask = land_mask_grid(lons, lats)
        if cache:
            save_checked_arrays(path, {"mask": mask})
    return mask


def classify_kind(center_land: np.ndarray, land_fraction: np.ndarray) -> np.ndarray:
    """LAND where the centre is land, COAST where a water centre's patch holds land, else OCEAN.

    Args:
        center_land: bool array, whether each patch's centre is land.
        land_fraction: the fraction of each patch that is land, same shape.

    Returns:
        Int8 array of the same shape holding ``LAND`` (0), ``COAST`` (1) or ``OCEAN`` (2); ``KIND_NAMES``
        names them.
    """
    kind = np.full(center_land.shape, OCEAN, dtype=np.int8)
    kind[(~center_land) & (land_fraction > 0)] = COAST
    kind[center_land] = LAND
    return kind
