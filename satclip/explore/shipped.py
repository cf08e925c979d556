"""UMAP layouts shipped with the bundled models, so that their first UMAP map needs no fit.

A fresh install has an empty numba cache: umap-learn's first fit compiles every jitted function (pynndescent's
too, at import), about 40 s on 2 cores. For the bundled models at the app's and CLI's default settings the
package carries the fitted part of the projection instead: the area-weighted sample of cells the fit uses
and their UMAP coordinates (about 85 KB a grid). The rest of the projection, placing every cell by its nearest
sample cells, is scikit-learn only, so such a first map imports neither umap-learn nor numba.

A file is named by the projection's cache key (model fingerprint, grid resolution and land flag, cell count,
method, components and every fit parameter) and is used only when its checksums, its recorded key, fingerprint
and cell count, its sample indices and a few of its cells' embeddings (against this grid's) all check out: a
changed model, grid or parameter never gets a shipped layout, it is fitted. ``tools/make_shipped_projections.py``
regenerates the files with :func:`satclip.explore.projection.fit_umap_sample`.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from satclip.cache_entries import CacheEntryWarning, load_checked_arrays, save_checked_arrays
from satclip.errors import CacheEntryError

SHIPPED_DIR = Path(__file__).resolve().parents[1] / "weights" / "projections"
SHIPPED_RESOLUTIONS = (0.5, 2.0)  # the app's and CLI's default grid, and the coarse one the app tests use
SPOT_CELLS = 8  # sample cells whose embeddings are stored and compared with the grid's on load
SPOT_RTOL = 1e-2  # float16 embeddings made on another machine differ by a unit or two in the last place (1e-3)


def shipped_path(key: str) -> Path:
    """Where the shipped layout of the projection with cache key ``key`` lives (whether or not it exists)."""
    return SHIPPED_DIR / f"{key}.npz"


def _spot_rows(n: int) -> np.ndarray:
    """Positions in the sample of the cells whose embeddings are stored: spread over the whole sample."""
    return np.unique(np.linspace(0, n - 1, min(SPOT_CELLS, n)).round().astype(np.int64))


def save_shipped_layout(
    grid: Any, key: str, index: np.ndarray, layout: np.ndarray, meta: dict[str, Any], directory: Path | None = None
) -> Path:
    """Write the sample ``index`` (cells of ``grid``) and its UMAP ``layout`` as the shipped layout of ``key``."""
    index = np.asarray(index, dtype=np.int32)
    spot = np.asarray(grid.embeddings[index[_spot_rows(len(index))]], dtype=np.float16)
    record = {**meta, "key": key, "fingerprint": grid.fingerprint, "n_cells": grid.n_cells}
    path = (directory or SHIPPED_DIR) / f"{key}.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {"index": index, "layout": np.asarray(layout, dtype=np.float32), "spot": spot}
    return save_checked_arrays(path, arrays, record)


def load_shipped_layout(grid: Any, key: str, n_components: int, n_fit: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The shipped (sample index, layout) of the projection ``key`` of ``grid``, or None when none is shipped.
    A shipped file that fails any check is ignored with a :class:`CacheEntryWarning` naming it and the reason."""
    path = shipped_path(key)
    if not path.is_file():
        return None
    try:
        return _checked(path, grid, key, n_components, n_fit)
    except CacheEntryError as err:
        warnings.warn(f"shipped UMAP layout {path} not used ({err}); fitting instead", CacheEntryWarning, stacklevel=3)
        return None


def _checked(path: Path, grid: Any, key: str, n_components: int, n_fit: int) -> tuple[np.ndarray, np.ndarray]:
    expect = {
        "index": {"shape": (n_fit,), "dtype": np.int32},
        "layout": {"shape": (n_fit, n_components), "dtype": np.float32, "finite": True},
        "spot": {"shape": (min(SPOT_CELLS, n_fit), grid.dim), "dtype": np.float16, "finite": True},
    }
    arrays, meta = load_checked_arrays(path, expect)
    for name, want in (("key", key), ("fingerprint", grid.fingerprint), ("n_cells", grid.n_cells)):
        if meta.get(name) != want:
            raise CacheEntryError(f"made for {name} {meta.get(name)!r}, this projection has {want!r}")
    index = arrays["index"].astype(np.int64)
    if n_fit and (index[0] < 0 or index[-1] >= grid.n_cells or np.any(np.diff(index) <= 0)):
        raise CacheEntryError(f"sample indices are not distinct, sorted cells of a {grid.n_cells}-cell grid")
    ours = np.asarray(grid.embeddings[index[_spot_rows(n_fit)]], dtype=np.float32)
    theirs = arrays["spot"].astype(np.float32)
    scale = float(np.sqrt(np.mean(theirs**2))) if theirs.size else 0.0
    off = np.abs(ours - theirs) > SPOT_RTOL * (np.abs(theirs) + scale)
    if off.any():
        raise CacheEntryError(
            f"the grid's embeddings of the sample cells differ from the shipped ones ({int(off.sum())} of "
            f"{off.size} values by more than {SPOT_RTOL:.0%})"
        )
    return arrays["index"].astype(np.int64), arrays["layout"]
