"""Does the training imagery itself know a field on a held-out continent?

For a bundled model (or any model trained by ``satclip train`` on an equirectangular image), fits the
downstream suite's continent hold-out MLP probe (Africa, Asia, South America in turn; 3 probe seeds) on
lon/lat alone, and on lon/lat concatenated with each of: the frozen image features of the training patch
at each point; the same features of wider context patches (same pixel count at 3x and 8x the spacing);
the mean colour of those patches; the location embedding. A location embedding learned from this imagery
can only be expected to add to coordinates where one of the image rows does.

    python benchmarks/imagery_holdout.py [--model satclip-bluemarble-l10] [--task air_temperature]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch

from satclip.data.bluemarble import EquirectSampler, cut_patches, find_bluemarble, load_equirect
from satclip.downstream.probes import mlp_fit_predict
from satclip.downstream.splits import make_folds
from satclip.downstream.tasks import TaskData, load_task
from satclip.downstream.transfer import holdout_scores, image_feature_fn, training_imagery

SCALES = (1.0, 3.0, 8.0)


def band_diagnosis(
    task: TaskData,
    image_feats: np.ndarray,
    rows: dict[str, np.ndarray],
    fold: str = "Africa",
    band: tuple[float, float] = (0.0, 15.0),
) -> None:
    """Where a fold fails: the probe's mean error on the fold's points in a latitude band (seed 0), and the
    target at their 10 nearest training neighbours in standardised image-feature space (cosine)."""
    f = next(f for f in make_folds("continent", task.lonlat, task.continent) if f.label == fold)
    lat = task.lonlat[f.test, 1]
    sel = f.test[(lat >= band[0]) & (lat < band[1])]
    print(f"{fold}, {band[0]:g}-{band[1]:g} deg N ({len(sel)} points, mean target {task.y[sel].mean():.1f}):")
    for name, X in rows.items():
        pred = mlp_fit_predict(np.asarray(X, np.float32), task.y, [(f.train, sel, 0)], task.kind)[0]
        print(f"  mean error of the probe on {name}: {np.mean(pred - task.y[sel]):+.1f}")
    mu, sd = image_feats[f.train].mean(0), image_feats[f.train].std(0) + 1e-9
    z = (image_feats - mu) / sd
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    nn = f.train[np.argsort(-(z[sel] @ z[f.train].T), axis=1)[:, :10]]
    print(
        f"  10 nearest training points in image-feature space: mean target {task.y[nn].mean():.1f}, "
        f"median |latitude| {np.median(np.abs(task.lonlat[nn, 1])):.0f} deg"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="satclip-bluemarble-l10")
    ap.add_argument("--task", default="air_temperature")
    ap.add_argument("--n", type=int, default=10_000)
    args = ap.parse_args()
    torch.manual_seed(0)
    t0 = time.perf_counter()
    task = load_task(args.task, n=args.n)
    ll = task.lonlat.astype(np.float32)
    encoder, dataset, image_spec, image_path = training_imagery(args.model)
    meta = dataset.arrays.meta
    sampler = EquirectSampler(load_equirect(image_path or find_bluemarble()))
    size, pixel_deg = int(meta["config"]["patch_size"]), float(meta["pixel_deg"])

    image = {s: image_feature_fn(dataset, image_spec, image_path, scale=s)(task.lonlat) for s in SCALES}
    colour = {
        s: cut_patches(sampler, task.lonlat, size, math.radians(pixel_deg * s)).mean(axis=(1, 2)) / 255.0
        for s in SCALES
    }
    deg = {s: f"{size * pixel_deg * s:.1f} deg" for s in SCALES}
    near, embedding = np.hstack([image[1.0], ll]), np.hstack([encoder.embed(task.lonlat), ll])
    rows: dict[str, np.ndarray] = {
        "lon/lat alone": ll,
        **{f"image features, {deg[s]} patch + lon/lat": np.hstack([image[s], ll]) for s in SCALES},
        f"mean colour, {deg[1.0]} patch + lon/lat": np.hstack([colour[1.0], ll]),
        "mean colour at all three scales + lon/lat": np.hstack([*colour.values(), ll]),
        f"embedding of {encoder.name} + lon/lat": embedding,
    }

    metric = task.primary or ("r2" if task.kind == "regression" else "accuracy")
    print(
        f"{args.task} ({metric}), continent hold-out, MLP probe, mean of 3 seeds, {len(task)} points; "
        f"imagery of {encoder.name}"
    )
    print("| features | Africa | Asia | South America | mean |")
    print("|---|---|---|---|---|")
    for name, X in rows.items():
        per = holdout_scores(np.asarray(X, dtype=np.float32), task)
        print(
            f"| {name} | " + " | ".join(f"{v:.3f}" for v in per.values()) + f" | {np.mean(list(per.values())):.3f} |",
            flush=True,
        )
    band_diagnosis(
        task,
        image[1.0],
        {
            "lon/lat alone": ll,
            f"image features, {deg[1.0]} patch + lon/lat": near,
            f"embedding of {encoder.name} + lon/lat": embedding,
        },
    )
    print(f"{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
