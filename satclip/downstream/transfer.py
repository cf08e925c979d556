"""Transfer ratio on real land cover: does the location embedding carry what the ground looks like to an
unseen continent as well as the imagery itself does?

Points are the downstream suite's ``land_cover`` task (MODIS IGBP classes at area-uniform land points).
The same continent hold-out probe (Africa, Asia, South America held out in turn; MLP averaged over
probe seeds) is fitted once on the location embedding and once on the frozen image features of a patch
cut at each point from the training imagery, with the encoder the training features came from.
ratio = mean hold-out accuracy of the embedding / that of the image features.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from satclip.downstream.probes import Member, mlp_fit_predict, score
from satclip.downstream.splits import DEFAULT_HOLDOUTS, make_folds
from satclip.downstream.tasks import TaskData, load_task

TRANSFER_TASK = "land_cover"


def holdout_scores(
    X: np.ndarray, task: TaskData, seeds: tuple[int, ...] = (0, 1, 2), holdouts: tuple[str, ...] = DEFAULT_HOLDOUTS
) -> dict[str, float]:
    """Primary metric (accuracy or R2) of the MLP probe per held-out continent, averaged over ``seeds``."""
    folds = make_folds("continent", task.lonlat, task.continent, holdouts=holdouts)
    members: list[Member] = [(f.train, f.test, s) for f in folds for s in seeds]
    n_classes = len(task.class_names) if task.kind == "classification" else 0
    preds = mlp_fit_predict(X, task.y, members, task.kind, n_classes=n_classes)
    metric = task.primary or ("r2" if task.kind == "regression" else "accuracy")
    out: dict[str, float] = {}
    for i, f in enumerate(folds):
        vals = [score(task.kind, task.y[f.test], preds[i * len(seeds) + j])[metric] for j in range(len(seeds))]
        out[f.label] = float(np.mean(vals))
    return out


@functools.lru_cache(maxsize=2)
def _checked_sampler(path: str, sha256: str) -> Any:
    """Sampler of the equirectangular image at ``path`` after checking it is the one with ``sha256``."""
    from satclip.cache import file_sha256
    from satclip.data.bluemarble import EquirectSampler, load_equirect

    if file_sha256(path) != sha256:
        raise ValueError(f"{path} is not the image the training patches were cut from (sha256 differs)")
    return EquirectSampler(load_equirect(path))


def image_feature_fn(
    dataset: Any, image_spec: dict[str, Any], image_path: str | None = None, *, scale: float = 1.0
) -> Callable[[np.ndarray], np.ndarray]:
    """A function (N, 2) lon/lat -> frozen image features of patches cut there from the equirectangular
    image ``dataset`` was prepared from (``image_path``; None = Blue Marble), through the encoder fitted
    exactly as for its cached training features. The image is checked and the encoder fitted once.
    ``scale`` > 1 cuts the same number of pixels at ``scale`` x the training pixel spacing: a wider
    context around each point, seen through the same encoder."""
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    from satclip.data.bluemarble import cut_patches, find_bluemarble
    from satclip.data.features import fitted_image_encoder

    arrays = getattr(dataset, "arrays", None)
    if arrays is None or "pixel_deg" not in arrays.meta:
        raise ValueError("image features at arbitrary points need an equirectangular source (bluemarble/equirect)")
    meta = arrays.meta
    sampler = _checked_sampler(str(image_path or find_bluemarble()), meta["image_sha256"])
    size, pixel_rad = int(meta["config"]["patch_size"]), math.radians(float(meta["pixel_deg"]) * scale)
    encoder = fitted_image_encoder(dataset, image_spec)

    def features(lonlat: np.ndarray) -> np.ndarray:
        patches = cut_patches(sampler, np.asarray(lonlat, dtype=np.float64), size, pixel_rad)
        out = []
        with torch.no_grad():
            for start in range(0, len(patches), 1024):
                x = torch.from_numpy(patches[start : start + 1024]).permute(0, 3, 1, 2).float().div_(255.0)
                out.append(encoder(x).float().numpy())
        return np.concatenate(out)

    return features


def image_features_at(
    lonlat: np.ndarray, dataset: Any, image_spec: dict[str, Any], image_path: str | None = None
) -> np.ndarray:
    """Frozen image features at ``lonlat`` (see :func:`image_feature_fn`)."""
    return image_feature_fn(dataset, image_spec, image_path)(lonlat)


def land_cover_transfer(
    embed: Any,
    dataset: Any,
    image_spec: dict[str, Any],
    *,
    image_path: str | None = None,
    n: int = 10_000,
    seeds: tuple[int, ...] = (0, 1, 2),
) -> dict[str, Any]:
    """Transfer ratio of a location encoder (``embed``: (N, 2) lon/lat -> (N, D)) on MODIS land cover."""
    task = load_task(TRANSFER_TASK, n=n)
    loc = holdout_scores(np.asarray(embed(task.lonlat), dtype=np.float32), task, seeds)
    img = holdout_scores(image_features_at(task.lonlat, dataset, image_spec, image_path), task, seeds)
    loc_mean, img_mean = float(np.mean(list(loc.values()))), float(np.mean(list(img.values())))
    return {
        "task": f"{TRANSFER_TASK} (MODIS IGBP), {len(task)} points",
        "probe": f"MLP, {len(seeds)} seeds, continent hold-out",
        "location_accuracy": loc_mean,
        "image_accuracy": img_mean,
        "transfer_ratio": loc_mean / img_mean,
        "per_continent": {k: {"location": loc[k], "image": img[k]} for k in loc},
    }


def training_imagery(name_or_path: str) -> tuple[Any, Any, dict[str, Any], str | None]:
    """(encoder, dataset, image encoder spec, image path) of a model trained by ``satclip train``, from its card."""
    from satclip.data.image_datasets import build_dataset
    from satclip.registry import load

    encoder = load(name_or_path)
    data = encoder.card.get("training", {}).get("data", {})
    if "spec" not in data or "image_encoder" not in data:
        raise ValueError(
            f"{name_or_path}: the model card names no training data and image encoder "
            "(only models trained by `satclip train` carry them)"
        )
    spec = dict(data["spec"])
    if spec.get("source", "bluemarble") not in ("bluemarble", "equirect"):
        raise ValueError(
            f"{name_or_path} was trained on data.source {spec.get('source')!r}; image features at "
            "arbitrary points need imagery that can be cut anywhere (bluemarble or equirect)"
        )
    return encoder, build_dataset({**spec, "progress": False}), data["image_encoder"], spec.get("image")


def model_transfer(name_or_path: str, *, n: int = 10_000, seeds: tuple[int, ...] = (0, 1, 2)) -> dict[str, Any]:
    """Transfer ratio of a saved model, with the training data and image encoder named in its card."""
    encoder, dataset, image_spec, image_path = training_imagery(name_or_path)
    return land_cover_transfer(encoder.embed, dataset, image_spec, image_path=image_path, n=n, seeds=seeds)
