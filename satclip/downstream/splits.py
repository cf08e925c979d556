"""Train/test splits of point data: random, spatial-block cross-validation, continent hold-out."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SPLITS = ("random", "block", "continent")
DEFAULT_HOLDOUTS = ("Africa", "Asia", "South America")


@dataclass(frozen=True)
class Fold:
    """One train/test partition: index arrays into the task's points and a label (e.g. 'Africa', 'fold2')."""

    split: str
    label: str
    train: np.ndarray
    test: np.ndarray


def random_split(n: int, test_fraction: float = 0.2, seed: int = 0) -> list[Fold]:
    """One random train/test split."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    perm = np.random.default_rng(seed).permutation(n)
    n_test = max(1, round(test_fraction * n))
    return [Fold("random", "random", np.sort(perm[n_test:]), np.sort(perm[:n_test]))]


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


def continent_holdout(continent: np.ndarray, holdouts: tuple[str, ...] = DEFAULT_HOLDOUTS,
                      min_test: int = 20) -> list[Fold]:
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


def make_folds(split: str, lonlat: np.ndarray, continent: np.ndarray, *, seed: int = 0, test_fraction: float = 0.2,
               block_deg: float = 10.0, k: int = 5, holdouts: tuple[str, ...] = DEFAULT_HOLDOUTS) -> list[Fold]:
    """Folds of the named split ('random', 'block' or 'continent')."""
    if split == "random":
        return random_split(len(lonlat), test_fraction, seed)
    if split == "block":
        return block_cv(lonlat, block_deg, k, seed)
    if split == "continent":
        return continent_holdout(continent, holdouts)
    raise ValueError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
