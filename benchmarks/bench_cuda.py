"""Throughput of spherical harmonics and the L=10 encoder on a CUDA GPU (median of 5 timed calls).

Run on a machine with a GPU: ``python benchmarks/bench_cuda.py``. The whole GPU check used for the
README is ``bash benchmarks/device_check.sh`` (core tests on CUDA, training path, this script).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from satclip.nn.location_encoder import LocationEncoder, LocationEncoderConfig
from satclip.positional.spherical_harmonics import spherical_harmonics


def timed(fn, repeats: int = 5) -> float:
    fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    assert torch.cuda.is_available(), "no CUDA device"
    print(f"torch {torch.__version__}, {torch.cuda.get_device_name()}")
    n = 1 << 20
    lon = torch.rand(n, device="cuda", dtype=torch.float64) * 360 - 180
    lat = torch.rand(n, device="cuda", dtype=torch.float64) * 180 - 90
    for L, dtype in ((10, torch.float32), (40, torch.float32), (40, torch.float64)):
        t = timed(lambda L=L, dtype=dtype: spherical_harmonics(lon, lat, L, dtype=dtype))
        print(f"CUDA SH L={L} {dtype}: {n / t / 1e6:.1f} M points/s")
    enc = LocationEncoder(LocationEncoderConfig(L=10)).cuda().eval()
    x = torch.stack([lon, lat], 1).float()[: 1 << 18]
    with torch.no_grad():
        t = timed(lambda: enc(x))
    print(f"CUDA encoder L=10 float32: {x.shape[0] / t / 1e6:.1f} M points/s")


if __name__ == "__main__":
    main()
