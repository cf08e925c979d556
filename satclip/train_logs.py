"""Training logs that survive ``--resume``: one CSV log per run, continued in place after a kill, without
the killed epoch's rows, and the wall time summed over every segment of the run."""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.loggers.csv_logs import ExperimentWriter


def resume_state(ckpt: Path, log_root: Path) -> dict[str, Any]:
    """What a resumed run continues from ``ckpt``: the epoch it finished, the log version its rows are in
    and the wall time spent so far (kept in the checkpoint's ``"satclip"`` entry by :class:`RunClock`)."""
    try:
        state = torch.load(ckpt, map_location="cpu", weights_only=True)
    except Exception:  # an unreadable checkpoint is reported by Lightning's own load, with its message
        return {}
    extra = state.get("satclip") if isinstance(state.get("satclip"), dict) else {}
    version = extra.get("log_version")
    if version is None:  # a checkpoint of an older satclip: the newest log folder is the run's
        found = [int(m.group(1)) for p in log_root.glob("version_*") if (m := re.fullmatch(r"version_(\d+)", p.name))]
        version = max(found) if found else None
    return {
        "epoch": int(state.get("epoch", -1)),
        "log_version": version,
        "wall_time_s": float(extra.get("wall_time_s", 0.0)),
    }


class ResumableCSVLogger(pl.loggers.CSVLogger):
    """A CSVLogger that, given ``keep_through_epoch``, continues the existing ``metrics.csv`` of its version
    (Lightning's deletes it) keeping only rows of epochs up to that one: the killed epoch's rows go, since
    the resumed run logs that epoch again."""

    def __init__(
        self, save_dir: str, name: str, version: int | None = None, keep_through_epoch: int | None = None
    ) -> None:
        super().__init__(save_dir, name=name, version=version)
        self.keep_through_epoch = keep_through_epoch

    @property
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            os.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _ContinuingWriter(self.log_dir, self.keep_through_epoch)
        # only this property sets it; Lightning declares the attribute as fabric's base writer class
        assert isinstance(self._experiment, ExperimentWriter)
        return self._experiment


class _ContinuingWriter(ExperimentWriter):
    def __init__(self, log_dir: str, keep_through_epoch: int | None) -> None:
        self.keep_through_epoch = keep_through_epoch
        super().__init__(log_dir)

    def _check_log_dir_exists(self) -> None:
        path = Path(self.metrics_file_path)
        if self.keep_through_epoch is None or not path.is_file():
            super()._check_log_dir_exists()
            return
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            fields, rows = list(reader.fieldnames or []), list(reader)
        keep = self.keep_through_epoch
        kept = [r for r in rows if (epoch := _epoch(r)) is not None and epoch <= keep]
        with open(path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            writer.writerows(kept)
        self.metrics_keys = fields


def _epoch(row: dict[str, str]) -> float | None:
    try:
        return float(row["epoch"])
    except (KeyError, TypeError, ValueError):
        return None


class RunClock(pl.Callback):
    """Keeps the run's wall time and log version in every checkpoint, so that a resumed run reports the
    time of all its segments (each up to its last checkpoint) and logs into the same folder. Flushes the
    loggers before each checkpoint, so no row of a finished epoch is lost to a kill."""

    def __init__(self, started: float, before_s: float = 0.0) -> None:
        self.started, self.before_s = started, before_s

    def elapsed(self, now: float) -> float:
        return self.before_s + now - self.started

    def on_save_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict) -> None:
        import time

        for logger in trainer.loggers:
            logger.save()
        version = trainer.loggers[0].version if trainer.loggers else None
        checkpoint["satclip"] = {
            "wall_time_s": self.elapsed(time.perf_counter()),
            "log_version": version if isinstance(version, int) else None,
        }
