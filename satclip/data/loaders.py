"""Batching for contrastive training: a seeded, rank-sharded batch sampler and batch-level datasets.

The sampler draws a fresh permutation from (seed, epoch), so a run resumed from the checkpoint of
epoch e sees exactly the batches an uninterrupted run would have seen from epoch e + 1 on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch.utils.data import Dataset

if TYPE_CHECKING:  # annotations only: importing the datasets pulls in pandas and the imagery code
    from satclip.data.image_datasets import ImageDataset


class ShardedBatchSampler:
    """Yields lists of indices; rank r of w gets every w-th batch of one shared permutation.

    All ranks yield the same number of batches. Training drops the last partial batch; evaluation
    (``drop_last=False``) pads the last round by repeating indices (callers de-duplicate).
    """

    def __init__(
        self,
        indices: np.ndarray,
        batch_size: int,
        *,
        shuffle: bool,
        seed: int = 0,
        drop_last: bool = True,
        rank: int = 0,
        world_size: int = 1,
        epoch_fn: Callable[[], int] | None = None,
    ) -> None:
        if len(indices) == 0:
            raise ValueError("no samples to draw batches from")
        self.indices = np.asarray(indices, dtype=np.int64)
        self.batch_size = max(1, min(batch_size, len(self.indices) // world_size))
        self.shuffle, self.seed, self.drop_last = shuffle, seed, drop_last
        self.rank, self.world_size = rank, world_size
        self.epoch = 0
        self.epoch_fn = epoch_fn  # e.g. the trainer's current epoch: right even when iterated before set_epoch
        self.sampler = self  # Lightning calls set_epoch on ``batch_sampler.sampler``

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _rounds(self) -> int:
        per_round = self.batch_size * self.world_size
        n = len(self.indices)
        return n // per_round if self.drop_last else -(-n // per_round)

    def __len__(self) -> int:
        return self._rounds()

    def __iter__(self) -> Iterator[list[int]]:
        idx = self.indices
        if self.shuffle:
            epoch = self.epoch_fn() if self.epoch_fn is not None else self.epoch
            idx = idx[np.random.default_rng([self.seed, epoch]).permutation(len(idx))]
        per_round = self.batch_size * self.world_size
        need = self._rounds() * per_round
        if need > len(idx):
            idx = np.concatenate([idx, idx[: need - len(idx)]])
        for r in range(self._rounds()):
            block = idx[r * per_round : (r + 1) * per_round]
            yield block[self.rank * self.batch_size : (self.rank + 1) * self.batch_size].tolist()


class FeatureBatches(Dataset):
    """Cached features + coordinates; ``dataset[list_of_indices]`` returns a whole batch at once."""

    def __init__(self, features: torch.Tensor, lonlat: torch.Tensor) -> None:
        self.features, self.lonlat = features, lonlat

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, idx: list[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        i = torch.as_tensor(idx)
        return self.features[i], self.lonlat[i], i


class ImageItems(Dataset):
    """Per-sample (image, lonlat, index) from an image dataset, for encoders that see pixels."""

    def __init__(self, dataset: ImageDataset, lonlat: torch.Tensor) -> None:
        self.dataset, self.lonlat = dataset, lonlat

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        x, _ = self.dataset[i]
        return x, self.lonlat[i], i


def normalise_features(feats: np.ndarray, train_idx: np.ndarray, mode: str, eps: float = 1e-3) -> np.ndarray:
    """``none``, ``standardize`` (per-feature z-score) or ``whiten`` (ZCA), fitted on the training rows."""
    if mode == "none":
        return feats.astype(np.float32)
    x = feats[train_idx].astype(np.float64)
    mean = x.mean(axis=0)
    if mode == "standardize":
        std = x.std(axis=0)
        return ((feats - mean) / np.where(std > 1e-8, std, 1.0)).astype(np.float32)
    if mode == "whiten":
        cov = np.cov(x - mean, rowvar=False)
        evals, evecs = np.linalg.eigh(cov)
        zca = evecs @ np.diag(1.0 / np.sqrt(np.clip(evals, 0, None) + eps * evals.max())) @ evecs.T
        return ((feats - mean) @ zca).astype(np.float32)
    raise ValueError(f"unknown feature_norm {mode!r}; choose none, standardize or whiten")


def jitter_lonlat(lonlat: torch.Tensor, deg: float) -> torch.Tensor:
    """Uniform jitter of +-``deg`` degrees of arc north-south and east-west (lon scaled by 1/cos lat)."""
    if deg <= 0:
        return lonlat
    noise = (torch.rand_like(lonlat) * 2 - 1) * deg
    lat = (lonlat[:, 1] + noise[:, 1]).clamp(-90.0, 90.0)
    coslat = torch.cos(torch.deg2rad(lonlat[:, 1])).clamp(min=0.05)
    lon = torch.remainder(lonlat[:, 0] + noise[:, 0] / coslat + 180.0, 360.0) - 180.0
    return torch.stack([lon, lat], dim=1)
