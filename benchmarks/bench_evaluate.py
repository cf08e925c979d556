"""Time the default downstream suite (6 tasks x 7 encoders x 3 splits, 10k points, ridge + MLP).

Usage: python benchmarks/bench_evaluate.py [--n 10000] [--encoders a,b,...] [--tasks ...] [--seeds 3]
Assets must be fetched first (`satclip fetch`). Embeddings and task points are computed once (warm-up,
timed separately) and cached; the figure that counts is the evaluation with embeddings cached.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time

from satclip.downstream.evaluate import EvalConfig, default_encoders, embed_cached, evaluate
from satclip.downstream.report import report_markdown, summarise
from satclip.downstream.tasks import DEFAULT_TASKS, load_task
from satclip.zoo import resolve_encoder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--tasks", default=",".join(DEFAULT_TASKS))
    ap.add_argument("--encoders", default=",".join(default_encoders()))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    cfg = EvalConfig(
        tasks=args.tasks.split(","),
        encoders=args.encoders.split(","),
        n_points=args.n,
        seeds=args.seeds,
        workers=args.workers,
    )
    t0 = time.perf_counter()
    for t in cfg.tasks:
        task = load_task(t, cfg.n_points, cfg.point_seed)
        for e in cfg.encoders:
            embed_cached(resolve_encoder(e), task.lonlat)
    warm = time.perf_counter() - t0
    cpu0 = sum(getattr(resource.getrusage(resource.RUSAGE_SELF), f) for f in ("ru_utime", "ru_stime"))
    t0 = time.perf_counter()
    result = evaluate(cfg, progress=lambda m: print(f"[{time.perf_counter() - t0:6.1f}s] {m}", flush=True))
    total = time.perf_counter() - t0
    cpu = sum(
        getattr(resource.getrusage(who), f)
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
        for f in ("ru_utime", "ru_stime")
    )
    print(report_markdown(result, summarise(result.records)))
    stages = ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items())
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(f"warm-up (task points + embeddings, cached afterwards): {warm:.1f} s")
    print(f"probe times are summed over {cfg.workers} worker threads; the suite figure is wall-clock")
    print(
        f"suite {len(cfg.tasks)} tasks x {len(cfg.encoders)} encoders x {result.records['split'].nunique()} splits x "
        f"{'+'.join(cfg.probes)} ({cfg.seeds} MLP seeds), n={cfg.n_points}: {total:.1f} s wall, "
        f"{cpu - cpu0:.0f} CPU-s in all processes ({stages})"
    )


if __name__ == "__main__":
    main()
