"""Warnings for the app's quick downstream runs, shown before any probe is fit.

Everything that makes scores meaningless comes from :mod:`satclip.downstream.validate` (the checks
``satclip evaluate`` refuses a task with: constant or non-finite target, one class, rare classes, folds
too small to fit or test on). This module adds what a hand-picked column can look like without being
invalid: an ID (a class per row, or one consecutive integer per row), which no probe can generalise.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from satclip.downstream.splits import Fold
from satclip.downstream.tasks import TaskData
from satclip.downstream.validate import MIN_TRAIN_ROWS, check_task


def id_like_problems(y: np.ndarray, kind: str, name: str = "target") -> list[str]:
    """A target that looks like a row ID or a name: about one class per row, or n distinct consecutive
    integers for n rows."""
    y = np.asarray(y)
    n = len(y)
    if n < 10:
        return []
    n_distinct = len(np.unique(y))
    if kind == "classification" and n_distinct > n / 2:
        return [
            f"target {name!r}: {n_distinct} classes for {n} rows (about one per row): it looks like an ID or "
            "name column; held-out rows would have classes never seen in training"
        ]
    if kind == "regression" and n_distinct == n:
        yf = y.astype(np.float64)
        if np.isfinite(yf).all() and np.all(yf == np.round(yf)) and yf.max() - yf.min() == n - 1:
            return [
                f"target {name!r}: {n} distinct consecutive integers, one per row: it looks like a row ID, "
                "not a property of the place"
            ]
    return []


def quick_problems(task: TaskData, folds: Sequence[Fold], *, user_table: bool, knn_k: int = 0) -> list[str]:
    """Every reason the quick run of ``task`` on ``folds`` would mislead (empty: fine): the suite's own
    checks (:func:`satclip.downstream.validate.check_task`, as ``satclip evaluate`` applies them; rare
    classes only count for user tables, whose rows are not a sample) and :func:`id_like_problems`."""
    problems = check_task(
        task.y,
        task.kind,
        folds,
        name=task.name,
        class_names=task.class_names or None,
        min_per_class=2 if user_table else 1,
        min_train=max(MIN_TRAIN_ROWS, knn_k),
    )
    return id_like_problems(task.y, task.kind, task.name) + problems
