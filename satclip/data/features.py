"""Frozen image features, computed once per (dataset, encoder config) and cached as a validated .npz.

With features cached, a training epoch costs only the location encoder, the projection head and
the logits, so CPU training is fast.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from satclip.cache import cache_dir, content_hash, file_sha256
from satclip.cache_entries import CacheEntryError, discard_bad_entry, load_checked_arrays, save_checked_arrays
from satclip.image.factory import FROZEN, ImageEncoder, build_image_encoder
from satclip.image.rcf import RCF, RCFConfig

if TYPE_CHECKING:  # annotations only: importing the datasets pulls in pandas and the imagery code
    from satclip.data.image_datasets import ImageDataset

FEATURE_VERSION = 2  # 2: .npz with a checksum record (satclip.cache_entries)


def feature_key(dataset: ImageDataset, spec: dict[str, Any]) -> str:
    """Cache key: dataset fingerprint + encoder config (+ weights file sha256)."""
    spec = dict(spec)
    if spec.get("name", "rcf") == "rcf":  # normalise so that explicit defaults hit the same entry
        spec = {"name": "rcf", **RCFConfig(**{k: v for k, v in spec.items() if k != "name"}).to_dict()}
    if spec.get("weights"):
        spec["weights"] = file_sha256(spec["weights"])
    return content_hash("features", FEATURE_VERSION, dataset.fingerprint, dataset.channels, spec)


def _batches(dataset: ImageDataset, batch_size: int, num_workers: int) -> Iterator[torch.Tensor]:
    if hasattr(dataset, "batch"):
        for start in range(0, len(dataset), batch_size):
            yield dataset.batch(slice(start, min(start + batch_size, len(dataset))))
    else:
        loader = DataLoader(dataset, batch_size=batch_size, num_workers=num_workers, shuffle=False)
        for x, _ in loader:
            yield x


def _sample_images(dataset: ImageDataset, n: int, seed: int) -> torch.Tensor:
    idx = np.sort(np.random.default_rng(seed).choice(len(dataset), size=min(n, len(dataset)), replace=False))
    if hasattr(dataset, "batch"):
        return dataset.batch(idx)
    return torch.stack([dataset[int(i)][0] for i in idx])


def fitted_image_encoder(dataset: ImageDataset, spec: dict[str, Any], *, fit_images: int = 4096) -> ImageEncoder:
    """The frozen encoder of ``spec`` in eval mode; RCF filters are drawn from ``dataset`` (seeded), so the
    same dataset and spec always give the same encoder as the cached features."""
    name = spec.get("name", "rcf")
    if name not in FROZEN:
        raise ValueError(f"image encoder {name!r} is trainable; only frozen encoders {FROZEN} can be cached")
    enc = build_image_encoder(spec, dataset.channels)
    if isinstance(enc, RCF):
        enc.fit(_sample_images(dataset, fit_images, enc.config.seed))
    return enc.eval()


@torch.no_grad()
def compute_features(
    dataset: ImageDataset,
    spec: dict[str, Any],
    *,
    batch_size: int = 128,
    num_workers: int = 0,
    device: str = "cpu",
    progress: bool = True,
    fit_images: int = 4096,
) -> np.ndarray:
    """Features (N, D) float32 of every image through a frozen encoder (no caching)."""
    from tqdm.auto import tqdm

    name = spec.get("name", "rcf")
    enc = fitted_image_encoder(dataset, spec, fit_images=fit_images).to(device)
    out = np.empty((len(dataset), enc.out_dim), dtype=np.float32)
    done = 0
    with tqdm(total=len(dataset), desc=f"{name} features", unit="img", disable=not progress) as bar:
        for x in _batches(dataset, batch_size, num_workers):
            f = enc(x.to(device)).float().cpu().numpy()
            out[done : done + len(f)] = f
            done += len(f)
            bar.update(len(f))
    if not np.isfinite(out).all():
        raise FloatingPointError(
            f"{name} produced non-finite features for {int((~np.isfinite(out)).any(1).sum())} images"
        )
    return out


def cached_features(dataset: ImageDataset, spec: dict[str, Any], **kwargs: Any) -> tuple[np.ndarray, dict[str, Any]]:
    """Features from the cache, computing and storing them on a miss. Returns (features, info)."""
    key = feature_key(dataset, spec)
    path = cache_dir("features") / f"{key}.npz"
    info: dict[str, Any] = {"key": key, "path": str(path), "cached": False}
    if path.is_file():
        try:
            arrays, _ = load_checked_arrays(
                path, {"features": {"shape": (len(dataset), None), "dtype": np.float32, "finite": True}}
            )
        except CacheEntryError as err:  # truncated, NaN, wrong rows, modified: say so and recompute
            discard_bad_entry(path, err)
        else:
            info["cached"] = True
            return arrays["features"], info
    t0 = time.perf_counter()
    feats = compute_features(dataset, spec, **kwargs)
    info["seconds"] = time.perf_counter() - t0
    save_checked_arrays(path, {"features": feats}, {"key": key})
    return feats, info
