"""Background jobs that outlive a page: long work (a UMAP fit) runs in a thread owned by the server process,
registered under a key, so a rerun, a page switch or a second browser tab finds the same job instead of
starting the work again. Pages poll a job's stage, progress and elapsed time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_JOBS: dict[str, Job] = {}
_LOCK = threading.Lock()
_MAX_FINISHED = 4


@dataclass(eq=False)
class Job:
    """One piece of work in a daemon thread: ``work(job)`` returns the result and may call ``job.set_stage``
    and ``job.report(done, total)``; ``result`` or ``error`` is set when it ends."""

    key: str
    stage: str = "starting"
    done: int = 0
    total: int = 0
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None
    result: Any = None
    error: BaseException | None = None

    def set_stage(self, name: str) -> None:
        self.stage = name

    def report(self, done: int, total: int) -> None:
        self.done, self.total = int(done), int(total)

    @property
    def running(self) -> bool:
        return self.ended is None

    @property
    def elapsed(self) -> float:
        return (self.ended or time.monotonic()) - self.started

    @property
    def fraction(self) -> float:
        return min(self.done / self.total, 1.0) if self.total > 0 else 0.0

    def remaining(self) -> float | None:
        """Seconds left, extrapolated from the progress so far (None until a tenth is done)."""
        f = self.fraction
        return None if f < 0.1 or not self.running else self.elapsed * (1.0 - f) / f

    def _run(self, work: Callable[[Job], Any]) -> None:
        try:
            self.result = work(self)
        except Exception as err:  # any failure is shown by the page that polls the job
            self.error = err
        finally:
            self.ended = time.monotonic()


def start(key: str, work: Callable[[Job], Any]) -> Job:
    """The job registered under ``key`` (running, finished or failed: see :func:`forget`), else a new one
    running ``work``."""
    with _LOCK:
        job = _JOBS.get(key)
        if job is not None:
            return job
        job = _JOBS[key] = Job(key)
        finished = [k for k, j in _JOBS.items() if not j.running]
        for old in finished[: max(0, len(finished) - _MAX_FINISHED)]:
            del _JOBS[old]
    threading.Thread(target=job._run, args=(work,), name=f"satclip-job-{key}", daemon=True).start()
    return job


def get(key: str) -> Job | None:
    """The job registered under ``key``, if any."""
    with _LOCK:
        return _JOBS.get(key)


def forget(key: str) -> None:
    """Drop a finished job (e.g. a failed one, so that the page can offer to try again)."""
    with _LOCK:
        job = _JOBS.get(key)
        if job is not None and not job.running:
            del _JOBS[key]
