"""Cache directory and atomic writes."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from satclip.cache import atomic_path, cache_dir, content_hash, host_tag


def test_atomic_path_replaces_only_on_success_with_normal_permissions(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]
    old = os.umask(0o022)
    try:
        with atomic_path(target) as tmp:
            tmp.write_text("new")
    finally:
        os.umask(old)
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_cache_dir_follows_environment_and_hash_is_stable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SATCLIP_CACHE", str(tmp_path / "c"))
    assert cache_dir("a", "b") == tmp_path / "c" / "a" / "b" and (tmp_path / "c" / "a" / "b").is_dir()
    assert content_hash({"x": 1}, b"y") == content_hash({"x": 1}, b"y") != content_hash({"x": 2}, b"y")


def test_atomic_path_never_changes_the_process_umask(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # os.umask(0) even for an instant lets another thread (the app's) create world-writable files
    calls: list[int] = []
    real = os.umask

    def spy(mask: int) -> int:
        calls.append(mask)
        return real(mask)

    monkeypatch.setattr(os, "umask", spy)
    with atomic_path(tmp_path / "x.bin") as tmp:
        tmp.write_bytes(b"1")
    assert calls == []
    mask = real(0o027)
    real(0o027)
    try:
        with atomic_path(tmp_path / "y.bin") as tmp:
            tmp.write_bytes(b"1")
    finally:
        real(mask)
    assert stat.S_IMODE((tmp_path / "y.bin").stat().st_mode) == 0o640


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temporaries_of_the_same_target_are_swept(tmp_path: Path) -> None:
    target = tmp_path / "out.npy"
    dead, alive = _dead_pid(), os.getpid()
    stale = tmp_path / f".out.npy.{dead}-{host_tag()}-abcd1234.tmp"
    live = tmp_path / f".out.npy.{alive}-{host_tag()}-abcd1234.tmp"  # another writer of ours, still running
    other_host = tmp_path / f".out.npy.{dead}-ffffff-abcd1234.tmp"  # a process of another machine (shared disk)
    other_target = tmp_path / f".other.npy.{dead}-{host_tag()}-abcd1234.tmp"
    foreign = tmp_path / ".out.npy.not-ours.tmp"
    for p in (stale, live, other_host, other_target, foreign):
        p.write_bytes(b"x" * 10)
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"new")
    assert not stale.exists()
    assert live.exists() and other_host.exists() and other_target.exists() and foreign.exists()
    assert target.read_bytes() == b"new"
