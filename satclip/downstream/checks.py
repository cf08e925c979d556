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
from satclip.downstream.validate import MIN_TRAIN_ROWS, check_folds, check_target


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


def target_problems(task: TaskData, *, user_table: bool) -> list[str]:
    """What is wrong with the task's target whatever the split: :func:`id_like_problems`, then the suite's
    target checks (:func:`satclip.downstream.validate.check_target`; rare classes only count for user
    tables, whose rows are not a sample)."""
    return id_like_problems(task.y, task.kind, task.name) + _broken_target(task, user_table)


def _broken_target(task: TaskData, user_table: bool) -> list[str]:
    names = task.class_names or None
    return check_target(task.y, task.kind, name=task.name, class_names=names, min_per_class=2 if user_table else 1)


def quick_problems(task: TaskData, folds: Sequence[Fold], *, user_table: bool, knn_k: int = 0) -> list[str]:
    """Every reason the quick run of ``task`` on ``folds`` would mislead (empty: fine): :func:`target_problems`,
    then, for a target that is not broken, the folds (:func:`satclip.downstream.validate.check_folds`, as
    ``satclip evaluate`` applies them; a broken target's fold problems would only repeat it)."""
    problems = target_problems(task, user_table=user_table)
    if _broken_target(task, user_table):
        return problems
    return problems + check_folds(task.y, task.kind, folds, min_train=max(MIN_TRAIN_ROWS, knn_k))
