"""Checks of a downstream task before any probe runs, and flags for degenerate results after.

A task that cannot give a meaningful score (constant or non-finite target, one class, folds too small
to fit or test on) is refused up front with messages that name the rows, classes or folds, instead of
running for minutes and then reporting NaN, a 1.000 accuracy by construction, or an R2 of -6709.
``check_task(y, kind, folds)`` returns the problems as one-line messages (empty: fine);
``fold_flags`` and ``FEW_TEST_ROWS`` mark results that ran but deserve a warning.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from satclip.downstream.splits import Fold
from satclip.errors import TaskError  # noqa: F401 - re-exported (defined in satclip.errors)

MIN_TRAIN_ROWS = 10  # fewer training rows: no probe fits anything worth reporting
MIN_TEST_ROWS = 5  # fewer test rows: the metric is noise
MIN_ROWS_PER_CLASS = 2  # a class needs a chance to be on both sides of a split
FEW_TEST_ROWS = 30  # results on fewer test rows are flagged


def _list_rows(rows: np.ndarray, values: Sequence[object] | None = None, limit: int = 10) -> str:
    """'3, 7' or "5 ('?'), 17 ('x')", at most ``limit`` entries then '... (N in all)'."""
    shown = [
        f"{int(r)} ({v!r})" if values is not None else str(int(r))
        for r, v in zip(rows[:limit], (values or [None] * len(rows))[:limit], strict=False)
    ]
    more = f", ... ({len(rows)} in all)" if len(rows) > limit else ""
    return ", ".join(shown) + more


def numeric_column_problems(values: pd.Series, name: str, *, kind_given: bool = False) -> list[str]:
    """A column that is mostly numbers with a few strings among them is a typo, not a class task.

    With ``kind_given`` (the user said regression), any value that is not a number is a problem.
    Rows are 0-based data rows (the header is not counted).
    """
    if pd.api.types.is_numeric_dtype(values):
        return []
    present = values.notna().to_numpy()
    parsed = pd.to_numeric(values, errors="coerce").notna().to_numpy()
    bad = np.flatnonzero(present & ~parsed)
    if len(bad) == 0 or (not kind_given and parsed.sum() < 0.5 * present.sum()):
        return []
    shown = [values.iloc[i] for i in bad[:10]]
    return [
        f"target {name!r} is numeric except at rows {_list_rows(bad, shown)}, which are not numbers: fix or "
        "remove those rows, or pass --kind classification (kind='classification') to treat the values as classes"
    ]


def check_target(
    y: np.ndarray,
    kind: str,
    *,
    name: str = "target",
    class_names: Sequence[str] | None = None,
    min_per_class: int = MIN_ROWS_PER_CLASS,
) -> list[str]:
    """Problems of the target itself: non-finite or constant values, fewer than two classes, rare classes."""
    y = np.asarray(y)
    if len(y) == 0:
        return [f"target {name!r} has no rows"]
    if kind == "regression":
        bad = np.flatnonzero(~np.isfinite(y.astype(np.float64)))
        if len(bad):
            return [f"target {name!r} is non-finite (inf or NaN) at rows [{_list_rows(bad)}]"]
        if np.ptp(y) == 0:
            return [
                f"target {name!r} is constant ({y[0]!r} in all {len(y)} rows): there is nothing to predict "
                "and R2 is undefined"
            ]
        return []
    labels = list(class_names) if class_names else None
    ids, counts = np.unique(y, return_counts=True)

    def label(i: np.generic) -> str:  # a value of np.unique(y)
        return repr(labels[int(i)]) if labels is not None else repr(i)

    if len(ids) < 2:
        return [
            f"target {name!r} has one class ({label(ids[0]) if len(ids) else 'none'}) in all {len(y)} rows: "
            "accuracy would be 1.000 by construction"
        ]
    rare = ids[counts < min_per_class]
    if len(rare):
        shown = ", ".join(label(i) for i in rare[:10]) + (f", ... ({len(rare)} in all)" if len(rare) > 10 else "")
        return [
            f"target {name!r}: {len(rare)} of {len(ids)} classes have fewer than {min_per_class} rows ({shown}); "
            "merge or remove them"
        ]
    return []


def check_folds(
    y: np.ndarray, kind: str, folds: Sequence[Fold], *, min_train: int = MIN_TRAIN_ROWS, min_test: int = MIN_TEST_ROWS
) -> list[str]:
    """Problems of the folds: too few rows to fit or to test on, one class on the training side."""
    out = []
    for f in folds:
        where = f"{f.split} split" + (f", fold {f.label}" if f.label != f.split else "")
        if len(f.test) < min_test:
            out.append(f"{where}: {len(f.test)} rows on the test side (need >= {min_test})")
        if len(f.train) < min_train:
            out.append(f"{where}: {len(f.train)} rows on the training side (need >= {min_train})")
        elif kind == "classification" and len(np.unique(y[f.train])) < 2:
            out.append(f"{where}: the training side has one class: nothing to learn")
    return out


def check_task(
    y: np.ndarray,
    kind: str,
    folds: Sequence[Fold],
    *,
    name: str = "target",
    class_names: Sequence[str] | None = None,
    min_per_class: int = MIN_ROWS_PER_CLASS,
    min_train: int = MIN_TRAIN_ROWS,
) -> list[str]:
    """Every problem that would make the task's scores meaningless; empty when it can be evaluated.
    The target is checked first: fold problems of a broken target would only repeat it."""
    problems = check_target(y, kind, name=name, class_names=class_names, min_per_class=min_per_class)
    return problems or check_folds(y, kind, folds, min_train=min_train)


def fold_flags(kind: str, y_test: np.ndarray) -> list[str]:
    """Warnings for one fold's result: a test side with one class or a constant target."""
    if len(y_test) == 0:
        return []
    if kind == "classification" and len(np.unique(y_test)) < 2:
        return ["one class on the test side (accuracy measures only that class)"]
    if kind == "regression" and np.ptp(y_test) == 0:
        return ["constant target on the test side (R2 undefined)"]
    return []
