"""Cache entries that are validated when read: arrays saved with a checksum record (shape, dtype, sha256),
checked on load for shape, dtype, finiteness and checksum. A bad entry is discarded with a warning naming
the file and the reason, and the caller rebuilds it. Every cache of satclip (embedding grids, places,
image features, patches) goes through these helpers."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from satclip.cache import atomic_path
from satclip.errors import CacheEntryError

log = logging.getLogger(__name__)
SPOT_CHECK_ROWS = 8  # rows of a cached embedding table re-embedded on load (spot_check_embeddings)


class CacheEntryWarning(UserWarning):
    """A bad cache entry was discarded and is being rebuilt (the message names the file and the reason)."""


_CHECK_KEY = "__satclip_check__"


def array_record(arr: np.ndarray) -> dict[str, Any]:
    """What :func:`check_array` verifies later: shape, dtype and the sha256 of the bytes."""
    arr = np.ascontiguousarray(arr)
    return {"shape": list(arr.shape), "dtype": arr.dtype.str, "sha256": hashlib.sha256(arr.data).hexdigest()}


def check_array(
    name: str,
    arr: np.ndarray,
    record: dict[str, Any] | None,
    *,
    shape: tuple[int | None, ...] | None = None,
    dtype: Any = None,
    finite: bool = False,
) -> None:
    """Raise :class:`CacheEntryError` unless ``arr`` matches its ``record`` (from :func:`array_record`), the
    expected ``shape`` (``None`` entries match any size) and ``dtype``, and, with ``finite``, has no NaN/inf."""
    if record is None:
        raise CacheEntryError(f"array {name!r} has no checksum record")
    if list(arr.shape) != list(record.get("shape", [])) or arr.dtype.str != record.get("dtype"):
        raise CacheEntryError(
            f"array {name!r} is {arr.dtype.str}{list(arr.shape)}, its record says "
            f"{record.get('dtype')}{record.get('shape')}"
        )
    if shape is not None and (
        len(shape) != arr.ndim or any(s is not None and s != a for s, a in zip(shape, arr.shape, strict=True))
    ):
        raise CacheEntryError(f"array {name!r} has shape {arr.shape}, expected {shape}")
    if dtype is not None and arr.dtype != np.dtype(dtype):
        raise CacheEntryError(f"array {name!r} has dtype {arr.dtype}, expected {np.dtype(dtype)}")
    if hashlib.sha256(np.ascontiguousarray(arr).data).hexdigest() != record.get("sha256"):
        raise CacheEntryError(f"array {name!r} does not match its checksum (modified or corrupt)")
    if finite and arr.dtype.kind in "fc" and not _all_finite(arr):
        raise CacheEntryError(f"array {name!r} has {int((~np.isfinite(arr)).sum())} non-finite values")


def _all_finite(arr: np.ndarray) -> bool:
    """np.isfinite(arr).all(), fast for float16 too (numpy emulates float16 arithmetic: 10x slower), by its
    exponent bits: all ones means inf or NaN."""
    if arr.dtype == np.float16 and arr.size:
        return bool(np.bitwise_and(np.ascontiguousarray(arr).view(np.uint16), 0x7C00).max() < 0x7C00)
    return bool(np.isfinite(arr).all())


def save_checked_arrays(
    path: str | os.PathLike[str], arrays: dict[str, np.ndarray], meta: dict[str, Any] | None = None
) -> Path:
    """Write ``arrays`` and JSON-able ``meta`` atomically to an ``.npz`` with a checksum record per array."""
    check = {"meta": meta or {}, "arrays": {k: array_record(v) for k, v in arrays.items()}}
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        # allow_pickle=False as on load: an object array is refused here, not written to fail on every read
        np.savez(f, allow_pickle=False, **arrays, **{_CHECK_KEY: np.array(json.dumps(check))})
    return path


def load_checked_arrays(
    path: str | os.PathLike[str],
    expect: dict[str, dict[str, Any]],
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read an ``.npz`` written by :func:`save_checked_arrays`; returns (arrays, meta).

    ``expect`` maps each required array to :func:`check_array` keywords (shape, dtype, finite).
    Any problem (unreadable, truncated or empty file, missing array, failed check) raises
    :class:`CacheEntryError` saying what is wrong.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(4)
        if head != b"PK\x03\x04":
            raise CacheEntryError("empty file" if not head else "not an .npz archive")
        with np.load(path, allow_pickle=False) as z:
            if _CHECK_KEY not in z.files:
                raise CacheEntryError("no checksum record (written by an older version?)")
            check = json.loads(str(z[_CHECK_KEY]))
            missing = [k for k in expect if k not in z.files]
            if missing:
                raise CacheEntryError(f"missing array {missing[0]!r}")
            arrays = {k: z[k] for k in expect}
    except CacheEntryError:
        raise
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as err:
        raise CacheEntryError(f"unreadable ({type(err).__name__}: {err})") from None
    records = check.get("arrays", {}) if isinstance(check, dict) else {}
    for name, kw in expect.items():
        check_array(name, arrays[name], records.get(name), **kw)
    return arrays, check.get("meta", {})


def discard_bad_entry(path: str | os.PathLike[str], reason: Any) -> None:
    """Warn that the cache entry at ``path`` is bad and why, and delete it so that it is rebuilt."""
    warnings.warn(f"cache entry {path} is invalid ({reason}); rebuilding it", CacheEntryWarning, stacklevel=3)
    log.warning("cache entry %s is invalid (%s); rebuilding it", path, reason)
    with contextlib.suppress(OSError):
        Path(path).unlink()


def spot_check_embeddings(stored: np.ndarray, points: np.ndarray, embed: Any, n: int = SPOT_CHECK_ROWS) -> None:
    """Raise :class:`CacheEntryError` unless ``n`` of the cached float16 ``stored`` rows, spread evenly, agree
    with ``embed(points[those rows])`` now: a cheap proof that a cached table belongs to its model."""
    if len(stored) == 0:
        return
    idx = np.unique(np.linspace(0, len(stored) - 1, n).round().astype(np.int64))
    fresh = np.asarray(embed(np.asarray(points)[idx]), dtype=np.float32)
    got = np.asarray(stored[idx], dtype=np.float32)
    if fresh.shape != got.shape or not np.allclose(got, fresh, rtol=2e-3, atol=1e-3):
        diff = float(np.abs(got - fresh).max()) if fresh.shape == got.shape else float("nan")
        raise CacheEntryError(
            f"stored embeddings differ from the model's (max difference {diff:.3g} at {idx.size} checked rows)"
        )
