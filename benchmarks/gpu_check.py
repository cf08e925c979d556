"""GPU check of the training path (< 2 minutes on one H100/H200): run from the repository root.

    python benchmarks/gpu_check.py

Needs only torch, lightning, numpy, pandas, pyyaml, tifffile and pillow: the satclip package is
loaded without running its ``__init__`` (which pulls in safetensors and scikit-learn). It
1. writes a tiny synthetic S2-100K-layout dataset (index.csv + 12-band uint16 GeoTIFFs) to a temp dir,
   whose band values vary smoothly with location, so the contrastive task is learnable;
2. trains resnet18 (random weights, frozen, 13 bands) + projection head + location encoder (L=10)
   for a few epochs with Lightning on CUDA; asserts the loss is finite and decreases; prints samples/s;
3. compares spherical harmonics on CUDA in float32 with float64 (L = 10, 40).
Exit status 0 = all checks passed.
"""

from __future__ import annotations

import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np
import pandas as pd
import tifffile
import torch

ROOT = Path(__file__).resolve().parents[1]
if "satclip" not in sys.modules:  # import submodules without satclip/__init__.py and its extra deps
    pkg = types.ModuleType("satclip")
    pkg.__path__ = [str(ROOT / "satclip")]
    sys.modules["satclip"] = pkg

import lightning.pytorch as pl  # noqa: E402

from satclip.positional.spherical_harmonics import spherical_harmonics  # noqa: E402
from satclip.train import fit  # noqa: E402


def write_dataset(root: Path, n: int = 1024, size: int = 64, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True)
    lon = rng.uniform(-180, 180, n)
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    freq = rng.normal(size=(12, 3))
    for i in range(n):
        xyz = np.array(
            [
                np.cos(np.radians(lat[i])) * np.cos(np.radians(lon[i])),
                np.cos(np.radians(lat[i])) * np.sin(np.radians(lon[i])),
                np.sin(np.radians(lat[i])),
            ]
        )
        level = 4000 + 3000 * np.sin(2 * freq @ xyz)  # per band, smooth in location
        img = level[:, None, None] + rng.normal(0, 300, (12, size, size))
        tifffile.imwrite(
            root / "images" / f"patch_{i}.tif",
            np.clip(img, 0, 10000).astype(np.uint16),
            planarconfig="separate",
            photometric="minisblack",
        )
    pd.DataFrame({"fn": [f"patch_{i}.tif" for i in range(n)], "lon": lon, "lat": lat}).to_csv(root / "index.csv")
    return root


class Timer(pl.Callback):
    """Samples/s over all epochs after the first (warm-up), and every training loss."""

    def __init__(self) -> None:
        self.losses: list[float] = []
        self.devices: set[str] = set()
        self.samples = 0
        self.t0: float | None = None

    def on_train_epoch_start(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        if trainer.current_epoch == 1:
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            self.t0 = time.perf_counter()

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        self.losses.append(float(outputs["loss"]))
        self.devices.add(outputs["loss"].device.type)
        if trainer.current_epoch >= 1:
            self.samples += len(batch[0])

    def rate(self) -> float:
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        return self.samples / (time.perf_counter() - self.t0) if self.t0 else float("nan")


def check_sh() -> None:
    g = torch.Generator().manual_seed(0)
    lon = torch.rand(100_000, generator=g, dtype=torch.float64) * 360 - 180
    lat = torch.rad2deg(torch.asin(torch.rand(100_000, generator=g, dtype=torch.float64) * 2 - 1))
    for L in (10, 40):
        ref = spherical_harmonics(lon.cuda(), lat.cuda(), L, dtype=torch.float64)
        f32 = spherical_harmonics(lon.float().cuda(), lat.float().cuda(), L, dtype=torch.float32)
        err = float((f32.double() - ref).abs().max())
        print(f"SH L={L}: CUDA float32 vs float64 max abs diff {err:.2e}")
        assert err < (1e-4 if L == 10 else 2e-3), f"SH float32 disagrees with float64 at L={L}: {err}"


def main() -> None:
    cpu = "--cpu" in sys.argv  # dry run of the same path on CPU (small), for machines without a GPU
    if not cpu:
        assert torch.cuda.is_available(), "no CUDA device (use --cpu for a dry run)"
        print(f"torch {torch.__version__}, {torch.cuda.get_device_name(0)}")
        check_sh()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        root = write_dataset(Path(tmp) / "s2", n=256 if cpu else 1024, size=32 if cpu else 64)
        print(
            f"wrote synthetic S2-100K layout ({len(list((root / 'images').iterdir()))} patches) "
            f"in {time.perf_counter() - t0:.1f} s"
        )
        config = {
            "name": "gpu-check",
            "seed": 0,
            "data": {"source": "s2_100k", "root": str(root)},
            "image_encoder": {"name": "resnet18"},
            "location_encoder": {"L": 10},
            "train": {
                "batch_size": 64 if cpu else 128,
                "lr": 1e-3,
                "max_epochs": 6,
                "val_size": 128,
                "jitter_deg": 0.0,
                "cache_features": False,
                "accelerator": "cpu" if cpu else "gpu",
                "devices": 1,
                "num_workers": 0 if cpu else 4,
                "transfer_every": 0,
                "progress": False,
                "log_every_n_steps": 1,
            },
            "output": {"dir": str(Path(tmp) / "run")},
        }
        timer = Timer()
        result = fit(config, callbacks=[timer])
        losses = np.array(timer.losses)
        first, last = losses[:4].mean(), losses[-4:].mean()
        print(
            f"{len(losses)} steps: loss {first:.3f} -> {last:.3f}; {timer.rate():,.0f} samples/s "
            f"(resnet18, 13 bands, {32 if cpu else 64} px, + head + L=10 location encoder, "
            f"batch {config['train']['batch_size']})"
        )
        print(f"val: top10 {result.metrics['val/img2loc_top10']:.3f}, median {result.metrics['val/median_km']:.0f} km")
        assert np.isfinite(losses).all(), "non-finite training loss"
        assert last < first - 0.05, f"loss did not decrease: {first:.3f} -> {last:.3f}"
        # Lightning moves the module back to the CPU at teardown, so check where the steps ran.
        assert timer.devices == ({"cpu"} if cpu else {"cuda"}), f"training steps ran on {timer.devices}"
    print("GPU CHECK PASSED")


if __name__ == "__main__":
    main()
