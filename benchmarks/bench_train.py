"""Training throughput with cached features vs the matmul-FLOP ceiling the model size implies; RCF extraction speed.

    python benchmarks/bench_train.py [--L 10] [--batch 4096] [--repeats 5]

Prints (median of ``--repeats`` runs): the machine's float32 matmul GFLOP/s, the FLOPs one training
sample costs (location encoder + projection head + the B x B logits, forward and backward = 3x
forward), the ceiling samples/s = GFLOP/s / FLOPs, the measured samples/s of a full training step
(SH features, SIREN, head, CLIP loss, AdamW), a breakdown of where the step time goes, and RCF
feature extraction patches/s on 32 x 32 RGB patches.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import itertools

from satclip.image.rcf import RCF, RCFConfig
from satclip.model import SatCLIP, clip_loss, parameter_groups
from satclip.nn.location_encoder import LocationEncoderConfig


def median_time(fn, repeats: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def matmul_gflops(repeats: int, n: int = 2048) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    return 2 * n**3 / median_time(lambda: a @ b, repeats) / 1e9


def flops_per_sample(cfg: LocationEncoderConfig, image_dim: int, batch: int) -> float:
    """Multiply-adds x 2, forward + backward (x3), per sample; the logits cost B x D per sample."""
    dims = [cfg.L * cfg.L] + [cfg.hidden_dim] * cfg.num_hidden_layers + [cfg.embed_dim]
    siren = sum(a * b for a, b in itertools.pairwise(dims))
    head = image_dim * cfg.embed_dim
    logits = batch * cfg.embed_dim
    return 3 * 2 * (siren + head + logits)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--L", type=int, default=10)
    p.add_argument("--batch", type=int, default=4096)
    p.add_argument("--image-dim", type=int, default=512)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--steps", type=int, default=5, help="training steps per timed run")
    a = p.parse_args()
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    gflops = matmul_gflops(a.repeats)
    cfg = LocationEncoderConfig(L=a.L)
    fps = flops_per_sample(cfg, a.image_dim, a.batch)
    ceiling = gflops * 1e9 / fps
    print(f"matmul float32: {gflops:.1f} GFLOP/s")
    print(
        f"model: L={a.L}, {sum(p.numel() for p in SatCLIP(cfg, a.image_dim).parameters()):,} parameters; "
        f"{fps / 1e6:.2f} MFLOP per training sample at batch {a.batch}"
    )
    print(f"ceiling: {ceiling:,.0f} samples/s")

    model = SatCLIP(cfg, a.image_dim).train()
    opt = torch.optim.AdamW(parameter_groups(model, 0.01), lr=1e-3)
    x = torch.randn(a.batch, a.image_dim)
    ll = torch.stack([torch.rand(a.batch) * 360 - 180, torch.rand(a.batch) * 180 - 90], 1)

    def step() -> None:
        img, loc = model(x, ll)
        loss = clip_loss(img, loc, model.temperature_scale())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def run() -> None:
        for _ in range(a.steps):
            step()

    t = median_time(run, a.repeats)
    measured = a.steps * a.batch / t
    print(f"measured training step: {measured:,.0f} samples/s ({ceiling / measured:.2f}x below the ceiling)")

    # where the time goes (forward + backward of each part, one batch)
    def part(fn) -> float:
        def go() -> None:
            out = fn()
            out.sum().backward()

        return median_time(go, a.repeats) / a.batch * 1e6

    loc_in = model.location.positional_encoding(ll)
    feats = torch.randn(a.batch, cfg.embed_dim, requires_grad=True)
    parts = {
        "spherical harmonics (no grad)": median_time(lambda: model.location.positional_encoding(ll), a.repeats)
        / a.batch
        * 1e6,
        "SIREN fwd+bwd": part(lambda: model.location.nnet(loc_in)),
        "image head fwd+bwd": part(lambda: model.image_head(x)),
        "logits + CLIP loss fwd+bwd": part(lambda: clip_loss(feats, feats.detach(), torch.tensor(14.0))),
    }
    total = a.batch / measured * 1e6 / a.batch
    for k, v in parts.items():
        print(f"  {k:32s} {v:7.2f} us/sample")
    print(f"  {'optimizer + rest':32s} {max(0.0, total - sum(parts.values())):7.2f} us/sample (step total {total:.2f})")

    rcf = RCF(3, RCFConfig()).fit(torch.rand(512, 3, 32, 32))
    patches = torch.rand(1024, 3, 32, 32)

    def extract() -> None:
        with torch.no_grad():
            for s in range(0, len(patches), 128):
                rcf(patches[s : s + 128])

    te = median_time(extract, a.repeats)
    print(f"RCF feature extraction (256 filters 3x3, 32x32 RGB): {len(patches) / te:,.0f} patches/s")


if __name__ == "__main__":
    main()
