"""Time to the first UMAP map (the app's Projection page, ``satclip explore-map umap``): the layout shipped with a
bundled model, the fit, and the old path, side by side in one run.

    python benchmarks/bench_projection.py [--model satclip-bluemarble-l10] [--resolution 0.5] [--cold-runs 3]
                                          [--runs 3] [--old-runs 1] [--skip-old]

Each timing is one fresh Python process (as a new app session or CLI call is), with the model's grid already
in the cache (the app has it in memory before the page opens); it covers importing what the path needs, the fit
(if any) and the placement of every cell, not the grid build. Paths: "shipped" uses the UMAP sample layout
shipped with a bundled model (:mod:`satclip.explore.shipped`: no fit, no umap-learn); "fit" fits it (exact
neighbour graph, 5,000 cells, 200 epochs, umap-learn's JIT cached on disk, pynndescent compiling nothing at
import), what any other model gets; "eager" is that fit as it was before this benchmark's last change, with
pynndescent imported plainly (about 50 NN-descent functions compiled at import); "old" the path before all
(NN-descent, 10,000-cell fit, 500 epochs, compiled in every process). "cold": each run with a fresh, empty
numba cache directory (``NUMBA_CACHE_DIR``: the first UMAP map after installing); "warm": one directory reused
(every later first map of a model). Medians of the runs; the machine load (``uptime``) is printed before and
after.

Faithfulness: trustworthiness (scikit-learn, 10 neighbours) of each map against the 256-d embeddings on the
same 2,000 area-weighted cells, and how many of each cell's 10 nearest cells in the embedding are among its
10 nearest in the map (neighbourhood preservation).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _old_umap(grid, n_components: int = 3) -> np.ndarray:
    """The previous path (satclip before this benchmark): umap-learn's own NN-descent, 10,000 cells, its default
    500 epochs, then a k-NN placement of every cell."""
    import umap
    from sklearn.neighbors import NearestNeighbors

    from satclip.explore.projection import _transform, area_weighted_sample, fit_pca

    mean, comps, _ = fit_pca(grid, 32, 20000, 0)
    feats = _transform(grid.embeddings, mean, comps)
    fit_idx = np.sort(area_weighted_sample(grid, 10000, 0))
    fitted = (
        umap.UMAP(n_components=n_components, n_neighbors=15, min_dist=0.1, random_state=0, n_jobs=1)
        .fit_transform(feats[fit_idx])
        .astype(np.float32)
    )
    nn = NearestNeighbors(n_neighbors=8).fit(feats[fit_idx])
    dist, idx = nn.kneighbors(feats)
    w = 1.0 / np.maximum(dist, 1e-6)
    out = np.einsum("nk,nkc->nc", w / w.sum(axis=1, keepdims=True), fitted[idx]).astype(np.float32)
    out[fit_idx] = fitted
    return out


def _faithfulness(grid, comps: np.ndarray, n_eval: int = 2000, k: int = 10) -> dict[str, float]:
    from sklearn.manifold import trustworthiness
    from sklearn.neighbors import NearestNeighbors

    from satclip.explore.projection import area_weighted_sample

    idx = np.sort(area_weighted_sample(grid, n_eval, seed=12345))
    x, y = grid.embeddings[idx].astype(np.float32), comps[idx]
    nx = NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x, return_distance=False)[:, 1:]
    ny = NearestNeighbors(n_neighbors=k + 1).fit(y).kneighbors(y, return_distance=False)[:, 1:]
    overlap = np.mean([len(set(a) & set(b)) / k for a, b in zip(nx, ny, strict=True)])
    return {"trustworthiness": float(trustworthiness(x, y, n_neighbors=k)), "knn_preserved": float(overlap)}


def _one(path: str, model: str, resolution: float) -> None:
    """Child process: time the first UMAP map of the cached grid and print JSON."""
    from satclip import load
    from satclip.explore.grid import build_grid
    from satclip.explore.projection import project

    grid = build_grid(load(model), resolution)
    _ = grid.embeddings, grid.points
    t0, c0 = time.perf_counter(), _cpu()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if path == "old":
            comps, layout = _old_umap(grid), "old"
        else:
            if path == "eager":
                import pynndescent  # noqa: F401 - as umap-learn imports it: every signature compiled at once

            proj = project(grid, "umap", 3, cache=False, shipped=path == "shipped")
            comps, layout = proj.components, proj.info["layout"]
    out = {"wall": time.perf_counter() - t0, "cpu": _cpu() - c0, "n_cells": grid.n_cells, "layout": layout}
    out["umap_imported"] = "umap" in sys.modules
    print(json.dumps({**out, **_faithfulness(grid, comps)}))


def _run(path: str, args: argparse.Namespace, numba_dir: str) -> dict:
    env = {**os.environ, "NUMBA_CACHE_DIR": numba_dir}
    cmd = [sys.executable, __file__, "--one", path, "--model", args.model, "--resolution", str(args.resolution)]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise SystemExit(f"{path} run failed:\n{res.stderr[-3000:]}")
    out = json.loads(res.stdout.strip().splitlines()[-1])
    print(
        f"  {path:7s} wall {out['wall']:6.1f} s  cpu {out['cpu']:6.1f} s  trustworthiness "
        f"{out['trustworthiness']:.3f}  10-NN kept {out['knn_preserved']:.3f}  layout {out['layout']}"
        + ("" if out["umap_imported"] else ", umap-learn not imported"),
        flush=True,
    )
    return out


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "load: " + " ".join(f"{v:.2f}" for v in os.getloadavg())


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="satclip-bluemarble-l10")
    ap.add_argument("--resolution", type=float, default=0.5, help="grid resolution in degrees (the app's default)")
    ap.add_argument("--cold-runs", type=int, default=3, help="cold runs of the shipped, fit and eager path each")
    ap.add_argument("--runs", type=int, default=3, help="warm runs of the fit path")
    ap.add_argument("--old-runs", type=int, default=1, help="runs of the old path (minutes each)")
    ap.add_argument("--skip-old", action="store_true")
    ap.add_argument("--one", choices=["shipped", "fit", "eager", "old"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        _one(args.one, args.model, args.resolution)
        return
    from satclip import load
    from satclip.explore.grid import build_grid

    print(f"model {args.model}, grid {args.resolution} deg, {os.cpu_count()} CPUs; before: {_uptime()}", flush=True)
    build_grid(load(args.model), args.resolution)  # cached once, not timed
    cold: dict[str, list[dict]] = {"shipped": [], "fit": [], "eager": []}
    print(f"cold (a fresh, empty numba cache directory per run), {args.cold_runs} runs of each path, alternating:")
    for _ in range(args.cold_runs):
        for path in cold:
            with tempfile.TemporaryDirectory(prefix="satclip-numba-") as numba_dir:
                cold[path].append(_run(path, args, str(Path(numba_dir))))
    with tempfile.TemporaryDirectory(prefix="satclip-numba-") as numba_dir:
        _run("fit", args, numba_dir)  # fills the cache: not counted
        print(f"warm (one numba cache directory, filled first), {args.runs} runs:", flush=True)
        warm = [_run("fit", args, numba_dir) for _ in range(args.runs)]
        old = [] if args.skip_old else [_run("old", args, numba_dir) for _ in range(args.old_runs)]
    n_cells = warm[0]["n_cells"]
    shipped, fit, eager = cold["shipped"], cold["fit"], cold["eager"]
    if shipped[0]["layout"] != "shipped":
        print(f"note: {args.model} at {args.resolution} deg has no shipped layout: the 'shipped' runs fitted")
    print(
        f"first UMAP map, {n_cells:,} cells, empty numba cache (median of {args.cold_runs}): shipped layout "
        f"{_median(shipped, 'wall'):.1f} s (cpu {_median(shipped, 'cpu'):.1f} s) vs fit {_median(fit, 'wall'):.1f} s "
        f"(cpu {_median(fit, 'cpu'):.1f} s): {_median(fit, 'wall') / _median(shipped, 'wall'):.1f}x faster; "
        f"trustworthiness {shipped[0]['trustworthiness']:.3f} vs {fit[0]['trustworthiness']:.3f}; the fit as before "
        f"(pynndescent compiled at import) {_median(eager, 'wall'):.1f} s (cpu {_median(eager, 'cpu'):.1f} s): "
        f"{_median(eager, 'wall') / _median(shipped, 'wall'):.1f}x the shipped layout's wall time"
    )
    print(
        f"fit with a warm numba cache (median of {args.runs}): {_median(warm, 'wall'):.1f} s "
        f"(cpu {_median(warm, 'cpu'):.1f} s)"
    )
    if old:
        old_wall, old_cpu = _median(old, "wall"), _median(old, "cpu")
        print(
            f"old path median {old_wall:.1f} s (cpu {old_cpu:.1f} s): the warm fit is "
            f"{old_wall / _median(warm, 'wall'):.1f}x faster (wall); trustworthiness fit "
            f"{warm[0]['trustworthiness']:.3f} vs old {old[0]['trustworthiness']:.3f}, 10-NN kept "
            f"{warm[0]['knn_preserved']:.3f} vs {old[0]['knn_preserved']:.3f}"
        )
    print(f"after: {_uptime()}")


if __name__ == "__main__":
    main()
