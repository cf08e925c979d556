"""Streaming ``satclip embed`` over a large file: rows/s and peak memory.

Writes a Parquet file of N random (lon, lat) rows plus an id column, runs the real CLI on it in a
subprocess, and prints wall time, rows/s and the subprocess's peak resident memory, so the claim
"memory stays bounded for any N" can be checked at 10 million rows:

    python benchmarks/bench_embed_file.py --rows 10000000 --out-format npy
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def write_input(path: Path, rows: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    with pq.ParquetWriter(path, pa.schema([("id", pa.int64()), ("lon", pa.float64()), ("lat", pa.float64())])) as w:
        for start in range(0, rows, 1_000_000):
            n = min(1_000_000, rows - start)
            w.write_table(
                pa.table(
                    {
                        "id": np.arange(start, start + n),
                        "lon": rng.uniform(-180, 180, n),
                        "lat": np.degrees(np.arcsin(rng.uniform(-1, 1, n))),
                    }
                )
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--model", default="satclip-bluemarble-l10")
    parser.add_argument("--out-format", choices=["parquet", "csv", "npy"], default="npy")
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "points.parquet", Path(tmp) / f"emb.{args.out_format}"
        write_input(src, args.rows)
        start = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "satclip",
                "embed",
                str(src),
                "-o",
                str(dst),
                "--model",
                args.model,
                "--chunk-rows",
                str(args.chunk_rows),
            ],
            check=True,
        )
        wall = time.perf_counter() - start
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        size_gb = dst.stat().st_size / 1e9
    print(
        f"{args.rows} rows -> {args.out_format} ({size_gb:.1f} GB) with {args.model}: {wall:.0f} s, "
        f"{args.rows / wall / 1e3:.0f} k rows/s, peak RSS of the embed process {peak_mb:.0f} MB "
        f"(chunk {args.chunk_rows} rows)"
    )


if __name__ == "__main__":
    main()
