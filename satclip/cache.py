"""One cache directory for everything satclip computes or fetches, and atomic file writes.

The cache lives in ``$SATCLIP_CACHE`` if set, else the platform's user cache directory
(``~/.cache/satclip`` on Linux). Entries are keyed by content hashes, so stale entries are never
reused; deleting the directory is always safe.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def cache_dir(*parts: str) -> Path:
    """The cache directory (or a sub-directory of it), created if missing."""
    root = os.environ.get("SATCLIP_CACHE")
    if root:
        base = Path(root).expanduser()
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches" / "satclip"
    elif os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home())) / "satclip" / "Cache"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "satclip"
    path = base.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def content_hash(*items: Any, length: int = 16) -> str:
    """Stable short sha256 of JSON-serialisable items, bytes or numpy arrays (cache keys)."""
    h = hashlib.sha256()
    for item in items:
        if isinstance(item, bytes | bytearray | memoryview):
            h.update(bytes(item))
        elif hasattr(item, "tobytes") and hasattr(item, "dtype"):
            h.update(str(item.dtype).encode() + str(getattr(item, "shape", "")).encode())
            h.update(item.tobytes())
        else:
            h.update(json.dumps(item, sort_keys=True, default=str).encode())
    return h.hexdigest()[:length]


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Full sha256 hex digest of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` atomically.

    On any exception the temporary file is removed and ``path`` is left untouched, so readers
    never see a half-written file. The result gets the usual permissions (0o666 minus the
    umask), not the private 0o600 of the temporary file.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.exists():
            os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise
