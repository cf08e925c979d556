"""Latency and throughput of the exploration engine on the default grid.

    python benchmarks/bench_explore.py [--model NAME|PATH] [--resolution 0.5] [--runs 20] [--skip-umap]
                                       [--figures docs/figures]

Uses the bundled default model when it is installed, else a random-init full-size encoder (SH L=10,
SIREN 2 x 512, 256-d; same cost as a trained one) and says which. Runs against a fresh temporary
cache so that the grid build is timed cold. Prints medians over ``--runs`` repetitions.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch


def _encoder(model: str | None) -> tuple[Any, str]:
    from satclip.inference import Encoder
    from satclip.nn.location_encoder import LocationEncoder, LocationEncoderConfig

    if model:
        from satclip import load

        return load(model), f"model {model}"
    try:
        from satclip import list_models, load

        name = "satclip-bluemarble-l10"
        if name in list_models():
            return load(name), f"bundled model {name}"
    except Exception as err:  # fall back to a random model, and say why
        reason = f" ({type(err).__name__}: {err})"
    else:
        reason = ""
    torch.manual_seed(0)
    enc = Encoder(LocationEncoder(LocationEncoderConfig(L=10, hidden_dim=512, embed_dim=256)), {"name": "random-l10"})
    return enc, f"random-init encoder L=10, SIREN 2x512 -> 256 (no bundled model available{reason})"


def _median(fn: Callable[[], Any], runs: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _ms(label: str, seconds: float, note: str = "") -> None:
    print(f"  {label:<38} {seconds * 1e3:8.1f} ms  {note}".rstrip())


def _once(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _figures(folder: str, grid: Any, sim: Any, pca: Any, model: str) -> None:
    from pathlib import Path

    from satclip.explore.figures import plot_map

    out = Path(folder)
    lo, hi = sim.value_range()
    lon, lat = sim.like[0]
    plot_map(
        grid,
        sim.field,
        out / "explore_similarity.png",
        cmap="magma",
        vmin=lo,
        vmax=hi,
        label=sim.label,
        title=f"cosine similarity to Paris ({lon:g}, {lat:g}), model {model}",
        markers=sim.like,
    )
    plot_map(grid, pca.rgb(), out / "explore_pca.png", title=f"PCA of {model} (R, G, B = components 1-3)")
    sim.image().save(out / "explore_similarity_mercator.png")
    for name in ("explore_similarity.png", "explore_pca.png", "explore_similarity_mercator.png"):
        print(f"wrote {out / name}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None)
    ap.add_argument("--resolution", type=float, default=0.5)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--skip-umap", action="store_true")
    ap.add_argument("--figures", default=None, help="Also write the docs figures (PNG) into this folder.")
    args = ap.parse_args()

    os.environ["SATCLIP_CACHE"] = tempfile.mkdtemp(prefix="satclip-bench-")
    from satclip.explore import build_grid, clear_memory_cache, kmeans_regions, place_index, project, similarity_map

    enc, what = _encoder(args.model)
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    print(f"encoder: {what}")
    print(f"machine: {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, load average {load[0]:.2f}")
    t_build, grid = _once(lambda: build_grid(enc, args.resolution))
    print(
        f"grid {args.resolution} deg: {grid.n_cells:,} cells x {grid.dim} dims, float16 "
        f"{grid.embeddings.nbytes / 2**20:.0f} MiB"
    )
    print(f"  build (cold, embed + write cache)      {t_build:8.2f} s  ({grid.n_cells / t_build:,.0f} points/s)")

    def reload() -> None:
        clear_memory_cache()
        build_grid(enc, args.resolution)

    print(f"  load from disk cache                   {_median(reload, 3):8.3f} s")
    grid = build_grid(enc, args.resolution)
    t_unit, _ = _once(lambda: grid.unit)
    print(f"  unit-normalised float32 matrix (once)  {t_unit:8.3f} s")
    t_places, places = _once(lambda: place_index(enc))
    print(f"  place embeddings ({len(places.places):,} cities, once)  {t_places:8.3f} s")

    q = (2.3522, 48.8566)
    runs = args.runs
    print(f"similarity (median of {runs}):")
    sim = similarity_map(grid, q, encoder=enc)
    _ms("query -> scores (embed + mat-vec)", _median(lambda: similarity_map(grid, q, encoder=enc), runs))
    _ms("scores -> Mercator RGBA", _median(lambda: sim.image(), runs))
    img = sim.image()
    _ms(f"RGBA -> PNG bytes ({img.rgba.shape[1]}x{img.rgba.shape[0]})", _median(img.png, runs))
    total = _median(lambda: similarity_map(grid, q, encoder=enc).image().png(), runs)
    _ms("query -> PNG, end to end", total, "(target < 100 ms)")
    print(f"top-k (k=10, median of {runs}):")
    _ms("grid cells", _median(lambda: sim.top_cells(10, with_places=False), runs))
    _ms("grid cells, 500 km exclusion + names", _median(lambda: sim.top_cells(10, 500), runs))
    _ms("named places, 500 km exclusion", _median(lambda: sim.top_places(places, 10, 500), runs))
    print("projections (cold, once):")
    t, p = _once(lambda: project(grid, "pca", 3))
    print(f"  PCA -> 3 components                    {t:8.2f} s  (fit on {p.info['n_fit']:,} cells)")
    _ms("PCA RGB -> Mercator RGBA", _median(lambda: p.image(), 5))
    t, _ = _once(lambda: kmeans_regions(grid, 8))
    print(f"  k-means, k=8                           {t:8.2f} s")
    if not args.skip_umap:
        t, u = _once(lambda: project(grid, "umap", 3))
        print(
            f"  UMAP -> 3 components                   {t:8.2f} s  (fit on {u.info['n_fit']:,} cells, incl. numba JIT)"
        )
        t, u = _once(lambda: project(grid, "umap", 2))
        print(f"  UMAP -> 2 components (JIT warm)        {t:8.2f} s")
        t, _ = _once(lambda: project(grid, "umap", 2))
        print(f"  UMAP, cached                           {t:8.3f} s")
    if args.figures:
        _figures(args.figures, grid, sim, p, enc.name)
    print(f"memory: unit matrix {grid.unit.nbytes / 2**20:.0f} MiB; numpy {np.__version__}, torch {torch.__version__}")


if __name__ == "__main__":
    main()
