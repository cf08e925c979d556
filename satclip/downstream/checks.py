"""Checks that a downstream target can be learned at all, run before any probe is fit.

A constant target makes R2 undefined, a single class makes accuracy meaningless, an ID-like column
(a class or a distinct integer per row) cannot generalise to held-out rows, and a handful of rows
cannot be split into training and test sets. ``check_target`` names each such problem in one line;
``validate_target`` raises them as a :class:`TargetError`.
"""

from __future__ import annotations

import numpy as np

MIN_ROWS = 30  # fewer rows leave a test fold of a handful of points
MIN_PER_CLASS = 2  # a class seen once cannot be both trained on and tested


class TargetError(ValueError):
    """A target no probe can learn (constant, one class, ID-like, too few rows)."""


def check_target(y: np.ndarray, kind: str, name: str = "target") -> list[str]:
    """One-line messages naming every problem of target ``y`` for a ``kind`` ('regression' or
    'classification') task; empty when the target is usable."""
    if kind not in ("regression", "classification"):
        raise ValueError(f"kind must be 'regression' or 'classification', got {kind!r}")
    y = np.asarray(y)
    n = len(y)
    problems: list[str] = []
    if n < MIN_ROWS:
        problems.append(f"{name}: only {n} rows; a probe needs at least {MIN_ROWS} to train and test on")
    if n == 0:
        return problems
    values, counts = np.unique(y, return_counts=True)
    if kind == "regression":
        yf = y.astype(np.float64)
        if not np.isfinite(yf).all():
            problems.append(f"{name}: not finite at rows {np.flatnonzero(~np.isfinite(yf))[:10].tolist()}")
        elif len(values) == 1:
            problems.append(f"{name}: constant ({values[0]:g} in every row): nothing to predict, R2 is undefined")
        elif n >= 10 and len(values) == n and np.all(yf == np.round(yf)) and yf.max() - yf.min() == n - 1:
            problems.append(f"{name}: {n} distinct consecutive integers, one per row: looks like a row ID, "
                            "not a property of the place")
        return problems
    if len(values) == 1:
        problems.append(f"{name}: a single class ({values[0]}): nothing to predict")
        return problems
    if n >= 10 and len(values) > n / 2:
        problems.append(f"{name}: {len(values)} classes for {n} rows (about one per row): looks like an ID or "
                        "name column; held-out rows would have classes never seen in training")
    elif (rare := int((counts < MIN_PER_CLASS).sum())) > 0:
        problems.append(f"{name}: {rare} of {len(values)} classes have fewer than {MIN_PER_CLASS} rows; "
                        "they cannot be both trained on and tested")
    return problems


def validate_target(y: np.ndarray, kind: str, name: str = "target") -> None:
    """Raise :class:`TargetError` listing every problem :func:`check_target` finds."""
    problems = check_target(y, kind, name)
    if problems:
        raise TargetError("; ".join(problems))
