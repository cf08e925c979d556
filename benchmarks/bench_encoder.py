"""Throughput of spherical harmonics and the full location encoder, with the machine's ceilings.

Prints points/s (median of several runs) for SH at L=10/40 in float32/float64 and for the full
L=10 encoder (SIREN 2x512 -> 256), next to the ceilings implied by this machine's measured matmul
GFLOP/s and memory bandwidth. Run: ``python benchmarks/bench_encoder.py [--repeats 7]``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable

import torch

from satclip.nn.location_encoder import LocationEncoder, LocationEncoderConfig
from satclip.positional.spherical_harmonics import spherical_harmonics, spherical_harmonics_feature_major


def median_seconds(fn: Callable[[], object], repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def machine_ceilings(repeats: int) -> dict[str, float]:
    """Matmul GFLOP/s (float32, float64), copy and first-touch write bandwidth in GB/s."""
    out = {}
    n = 2048
    for dtype in (torch.float32, torch.float64):
        a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
        t = median_seconds(lambda a=a, b=b: a @ b, repeats)
        out[f"matmul_gflops_{str(dtype)[6:]}"] = 2 * n**3 / t / 1e9
    src = torch.ones(32 * 2**20, dtype=torch.float64)  # 256 MiB
    dst = torch.empty_like(src)
    t = median_seconds(lambda: dst.copy_(src), repeats)
    out["copy_gbps"] = 2 * src.numel() * 8 / t / 1e9  # bytes read + written
    t = median_seconds(lambda: torch.empty(src.numel(), dtype=torch.float64).fill_(1.0), repeats)
    out["fresh_write_gbps"] = src.numel() * 8 / t / 1e9  # page faults + zeroing + write
    return out


def bench_sh(n: int, repeats: int, ceilings: dict[str, float]) -> None:
    g = torch.Generator().manual_seed(0)
    lonlat = torch.stack(
        [
            torch.rand(n, generator=g, dtype=torch.float64) * 360 - 180,
            torch.rand(n, generator=g, dtype=torch.float64) * 180 - 90,
        ],
        dim=1,
    )
    print(f"\nSpherical harmonics, {n} points per call (median of {repeats}):")
    print(f"{'L':>3} {'dtype':>8} {'fresh (N, L^2)':>16} {'into out=':>12} {'feature-major':>15} {'write ceiling':>15}")
    for L in (10, 40):
        for dtype in (torch.float32, torch.float64):
            ll = lonlat.to(dtype)
            t_row = median_seconds(
                lambda L=L, dtype=dtype: spherical_harmonics(lonlat[:, 0], lonlat[:, 1], L, dtype=dtype), repeats
            )
            buf = torch.empty(n, L * L, dtype=dtype)
            t_out = median_seconds(
                lambda L=L, dtype=dtype, buf=buf: spherical_harmonics(
                    lonlat[:, 0], lonlat[:, 1], L, dtype=dtype, out=buf
                ),
                repeats,
            )
            t_fm = median_seconds(lambda L=L, ll=ll: spherical_harmonics_feature_major(ll, L), repeats)
            bytes_per_point = L * L * (4 if dtype == torch.float32 else 8)
            ceiling = ceilings["fresh_write_gbps"] * 1e9 / bytes_per_point
            print(
                f"{L:>3} {str(dtype)[6:]:>8} {n / t_row / 1e3:>13.0f} k/s {n / t_out / 1e3:>9.0f} k/s "
                f"{n / t_fm / 1e3:>12.0f} k/s "
                f"{ceiling / 1e3:>12.0f} k/s"
            )
    print("fresh: a new output tensor per call; into out=: a reused buffer (no page faults);")
    print("write ceiling: a fresh (N, L^2) output at the measured first-touch write bandwidth.")


def bench_encoder(n: int, repeats: int, ceilings: dict[str, float]) -> None:
    print(f"\nFull location encoder (eval, no grad), {n} points per call (median of {repeats}):")
    for L, dtype in ((10, torch.float32), (40, torch.float32), (10, torch.float64)):
        torch.manual_seed(0)
        cfg = LocationEncoderConfig(L=L)
        module = LocationEncoder(cfg).to(dtype).eval()
        g = torch.Generator().manual_seed(1)
        x = torch.stack([torch.rand(n, generator=g) * 360 - 180, torch.rand(n, generator=g) * 180 - 90], 1).to(dtype)

        def run(module: LocationEncoder = module, x: torch.Tensor = x) -> None:
            with torch.no_grad():
                module(x)

        t = median_seconds(run, repeats)
        flops = 2 * (
            L * L * cfg.hidden_dim + (cfg.num_hidden_layers - 1) * cfg.hidden_dim**2 + cfg.hidden_dim * cfg.embed_dim
        )
        gflops = ceilings[f"matmul_gflops_{str(dtype)[6:]}"]
        ceiling = gflops * 1e9 / flops
        print(
            f"L={L:<3} {str(dtype)[6:]:>8}: {n / t / 1e3:8.0f} k points/s; matmul-FLOP ceiling "
            f"{ceiling / 1e3:6.0f} k/s ({flops / 1e6:.2f} MFLOP/point); ratio ceiling/achieved = "
            f"{ceiling / (n / t):.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--points", type=int, default=65536)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()}")
    ceilings = machine_ceilings(args.repeats)
    print("Machine: " + ", ".join(f"{k} = {v:.1f}" for k, v in ceilings.items()))
    bench_sh(args.points, args.repeats, ceilings)
    bench_encoder(args.points, args.repeats, ceilings)


if __name__ == "__main__":
    main()
