"""Train/test splits of point data: random (hold-out or K-fold), spatial-block cross-validation, continent
hold-out, and a table's own train/val/test column."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from satclip.tables import TableError

SPLITS = ("random", "block", "continent")
TABLE_SPLIT = "table"  # the train/val/test rows a user table gives in its `split` column
SPLIT_CHOICES = (*SPLITS, TABLE_SPLIT)
SPLIT_LABELS = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}
DEFAULT_HOLDOUTS = ("Africa", "Asia", "South America")


@dataclass(frozen=True)
class Fold:
    """One train/test partition: index arrays into the task's points and a label (e.g. 'Africa', 'fold2').
    ``val``: rows a table marks for validation (model selection only), kept apart from ``train``."""

    split: str
    label: str
    train: np.ndarray
    test: np.ndarray
    val: np.ndarray | None = None


def random_split(n: int, test_fraction: float = 0.2, seed: int = 0) -> list[Fold]:
    """One random train/test split."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    perm = np.random.default_rng(seed).permutation(n)
    n_test = max(1, round(test_fraction * n))
    return [Fold("random", "random", np.sort(perm[n_test:]), np.sort(perm[:n_test]))]


def random_kfold(n: int, k: int, seed: int = 0) -> list[Fold]:
    """Random K-fold CV: a seeded permutation cut into k near-equal parts; every point is tested once."""
    if not 2 <= k <= n:
        raise ValueError(f"random K-fold CV needs 2 <= k <= {n} points, got k={k}")
    parts = np.array_split(np.random.default_rng(seed).permutation(n), k)
    return [
        Fold("random", f"fold{j}", np.sort(np.concatenate(parts[:j] + parts[j + 1 :])), np.sort(p))
        for j, p in enumerate(parts)
    ]


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v))


def parse_split_labels(values: Any, where: str = "table") -> np.ndarray:
    """A `split` column as 'train'/'val'/'test' strings (case and spaces ignored; 'valid' and 'validation'
    mean 'val'). Anything else, a missing value included, is an error naming the rows (0-based)."""
    raw = list(values)
    norm = [SPLIT_LABELS.get(v.strip().lower()) if isinstance(v, str) else None for v in raw]
    bad = [i for i, v in enumerate(norm) if v is None]
    if bad:
        shown = ", ".join(f"{i} ({'missing' if _missing(raw[i]) else repr(raw[i])})" for i in bad[:10])
        shown += f", ... ({len(bad)} in all)" if len(bad) > 10 else ""
        raise TableError(f"{where}: column 'split' must hold train, val or test; rows {shown} do not")
    labels = np.array(norm, dtype=object).astype(str)
    for need in ("train", "test"):
        if not (labels == need).any():
            raise TableError(f"{where}: column 'split' has no {need!r} rows")
    return labels


def table_split(labels: np.ndarray) -> list[Fold]:
    """The one fold a table's `split` column defines: train, val (possibly empty) and test rows."""
    labels = np.asarray(labels)
    return [
        Fold(
            TABLE_SPLIT,
            TABLE_SPLIT,
            np.flatnonzero(labels == "train"),
            np.flatnonzero(labels == "test"),
            np.flatnonzero(labels == "val"),
        )
    ]


def block_ids(lonlat: np.ndarray, block_deg: float) -> np.ndarray:
    """Id of the block_deg x block_deg lon/lat cell holding each point."""
    if not 0 < block_deg <= 180:
        raise ValueError(f"block size must be in (0, 180] degrees, got {block_deg}")
    n_cols = int(np.ceil(360.0 / block_deg))
    col = np.minimum(np.floor((lonlat[:, 0] + 180.0) / block_deg), n_cols - 1)
    row = np.minimum(np.floor((lonlat[:, 1] + 90.0) / block_deg), np.ceil(180.0 / block_deg) - 1)
    return (row * n_cols + col).astype(np.int64)


def block_cv(lonlat: np.ndarray, block_deg: float = 10.0, k: int = 5, seed: int = 0) -> list[Fold]:
    """Spatial-block k-fold CV: whole lon/lat blocks are assigned to folds at random, so no block
    contributes points to both the training and the test side of a fold."""
    if k < 2:
        raise ValueError(f"block CV needs k >= 2 folds, got {k}")
    ids = block_ids(lonlat, block_deg)
    uniq = np.unique(ids)
    if len(uniq) < k:
        raise ValueError(f"only {len(uniq)} occupied {block_deg} deg blocks for {k} folds: use smaller blocks")
    fold_of_block = np.random.default_rng(seed).permutation(len(uniq)) % k
    fold = fold_of_block[np.searchsorted(uniq, ids)]
    return [Fold("block", f"fold{j}", np.flatnonzero(fold != j), np.flatnonzero(fold == j)) for j in range(k)]


def continent_holdout(
    continent: np.ndarray, holdouts: tuple[str, ...] = DEFAULT_HOLDOUTS, min_test: int = 20
) -> list[Fold]:
    """One fold per held-out continent: train on every other continent, test on that one."""
    continent = np.asarray(continent).astype(str)
    folds = []
    for name in holdouts:
        test = np.flatnonzero(continent == name)
        if len(test) < min_test:
            continue  # e.g. Antarctica in a task limited to 60S-60N
        folds.append(Fold("continent", name, np.flatnonzero(continent != name), test))
    if not folds:
        present = sorted(set(continent.tolist()))
        raise ValueError(f"no held-out continent among {list(holdouts)} has >= {min_test} points; present: {present}")
    return folds


def make_folds(
    split: str,
    lonlat: np.ndarray,
    continent: np.ndarray,
    *,
    seed: int = 0,
    test_fraction: float = 0.2,
    block_deg: float = 10.0,
    k: int = 5,
    holdouts: tuple[str, ...] = DEFAULT_HOLDOUTS,
    cv_folds: int | None = None,
    labels: np.ndarray | None = None,
) -> list[Fold]:
    """Folds of the named split ('random', 'block', 'continent' or 'table').

    ``cv_folds``: K-fold CV for 'random' (instead of one hold-out of ``test_fraction``) and 'block'
    (instead of ``k``). 'table' needs the table's train/val/test ``labels``.
    """
    if split == "random":
        return random_kfold(len(lonlat), cv_folds, seed) if cv_folds else random_split(len(lonlat), test_fraction, seed)
    if split == "block":
        return block_cv(lonlat, block_deg, cv_folds or k, seed)
    if split == "continent":
        return continent_holdout(continent, holdouts)
    if split == TABLE_SPLIT:
        if labels is None:
            raise ValueError(
                "split 'table' needs a table with a 'split' column (train/val/test); this task has no 'split' column"
            )
        return table_split(labels)
    raise ValueError(f"unknown split {split!r}; choose from {', '.join(SPLIT_CHOICES)}")
