"""One cache directory for everything satclip computes or fetches, and atomic file writes.

The cache lives in ``$SATCLIP_CACHE`` if set, else the platform's user cache directory
(``~/.cache/satclip`` on Linux). Entries are keyed by content hashes, so stale entries are never
reused; deleting the directory is always safe.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import secrets
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


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


def host_tag() -> str:
    """Six hex digits naming this machine in temporary file names (a PID means nothing on another host)."""
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]


def _pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists on this machine (a process of another user counts as alive). On
    Windows os.kill(pid, 0) would terminate the process, so every PID counts as alive there (no sweep)."""
    if os.name == "nt":
        return True
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def sweep_stale_temporaries(target: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporaries that :func:`atomic_path` left beside ``target`` in processes that died
    (SIGKILL, power loss): only names of our pattern for this very target, written on this host by a PID
    that no longer exists. A live process's temporary, or another machine's, is never touched."""
    target = Path(target)
    pattern = re.compile(rf"^\.{re.escape(target.name)}\.(\d+)-{host_tag()}-[0-9a-z_]+\.tmp$")
    removed: list[Path] = []
    try:
        entries = list(target.parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        m = pattern.match(entry.name)
        if m and not _pid_alive(int(m.group(1))):
            with contextlib.suppress(OSError):
                entry.unlink()
                removed.append(entry)
    if removed:
        log.info("removed %d stale temporary file(s) of %s left by killed processes", len(removed), target)
    return removed


def _create_temporary(target: Path) -> Path:
    """A new empty file ``.<name>.<pid>-<host>-<random>.tmp`` beside ``target``, created with mode 0o666 so
    that the kernel applies the umask (reading the umask would mean setting it, racing other threads)."""
    for _ in range(100):
        tmp = target.parent / f".{target.name}.{os.getpid()}-{host_tag()}-{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"cannot create a temporary file beside {target}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` atomically.

    On any exception the temporary file is removed and ``path`` is left untouched, so readers
    never see a half-written file. The result gets the usual permissions (0o666 minus the
    umask). Temporaries of the same ``path`` left by killed processes are swept first.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale_temporaries(target)
    tmp_path = _create_temporary(target)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


@contextlib.contextmanager
def terminate_cleanly() -> Iterator[None]:
    """While active, SIGTERM raises ``SystemExit(143)`` in the main thread instead of killing the process
    outright, so ``finally`` blocks and :func:`atomic_path` remove their temporaries. No-op off the main
    thread or where SIGTERM cannot be handled."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGTERM"):
        yield
        return

    def on_term(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
