"""Run the downstream suite: tasks x encoders x splits x probes x probe seeds -> tidy results.

``evaluate(EvalConfig(...))`` returns an :class:`EvalResult` with one row per (task, encoder, split,
fold, probe, seed) in ``records``, and out-of-fold predictions (first seed) for maps. Embeddings are
cached under ``cache_dir("embeddings")`` keyed by the encoder fingerprint and a hash of the points.
Stochastic probes (MLP) run once per seed; deterministic ones (ridge, k-NN) once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from satclip.cache import atomic_path, cache_dir, content_hash
from satclip.downstream.datasets import DEFAULT_TASKS, TaskData, load_table, load_task
from satclip.downstream.probes import PROBES, MLPConfig, knn_fit_predict, mlp_fit_predict, ridge_fit_predict, score
from satclip.downstream.splits import DEFAULT_HOLDOUTS, SPLITS, Fold, make_folds
from satclip.encoder import EncoderLike
from satclip.zoo import resolve_encoder

STOCHASTIC = ("mlp",)
REGRESSION_METRICS = ("r2", "rmse", "mae")
CLASSIFICATION_METRICS = ("accuracy", "macro_f1")


def available_bundled() -> list[str]:
    """Bundled satclip models whose files are present in this installation."""
    try:
        from satclip.registry import BUNDLED
    except ImportError:  # pragma: no cover - registry not available
        return []
    return [name for name, m in BUNDLED.items() if m.path.is_file()]


def default_encoders() -> list[str]:
    """Seven encoders: the first bundled model (when present) or GeoCLIP-based stand-ins, plus baselines."""
    bundled = available_bundled()
    if bundled:
        main = bundled[0]
        return [main, "geoclip", "lonlat", "sh10", "satclip-random", "xyz", f"{main}+lonlat"]
    return ["geoclip", "lonlat", "sh10", "satclip-random", "xyz", "wrap", "geoclip+lonlat"]


def embed_cached(encoder: EncoderLike, lonlat: np.ndarray) -> np.ndarray:
    """Embeddings of ``lonlat``, computed once per (encoder fingerprint, points) and cached as .npy."""
    path = cache_dir("embeddings") / f"{encoder.fingerprint}-{content_hash(np.ascontiguousarray(lonlat))}.npy"
    if path.is_file():
        return np.load(path)
    X = np.asarray(encoder.embed(lonlat), dtype=np.float32)
    if not np.isfinite(X).all():
        raise ValueError(f"encoder {encoder.name} produced non-finite embeddings")
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, X)
    return X


@dataclass
class EvalConfig:
    """Everything that defines one evaluation run."""

    tasks: list[str] = field(default_factory=lambda: list(DEFAULT_TASKS))
    encoders: list[str] = field(default_factory=default_encoders)
    splits: list[str] = field(default_factory=lambda: list(SPLITS))
    probes: list[str] = field(default_factory=lambda: ["ridge", "mlp"])
    n_points: int = 10_000
    point_seed: int = 0
    split_seed: int = 0
    seeds: int = 3
    test_fraction: float = 0.2
    block_deg: float = 10.0
    k_folds: int = 5
    holdouts: tuple[str, ...] = DEFAULT_HOLDOUTS
    knn_k: int = 10
    mlp: MLPConfig = field(default_factory=MLPConfig)
    user_target: str | None = None  # target column for tasks given as CSV/Parquet paths
    threads: int = 1  # torch/BLAS threads per worker: 1 is fastest for these small batched problems
    workers: int = 2  # threads probing (task, encoder) pairs in parallel (one per core)

    def validate(self) -> None:
        for s in self.splits:
            if s not in SPLITS:
                raise ValueError(f"unknown split {s!r}; choose from {', '.join(SPLITS)}")
        for p in self.probes:
            if p not in PROBES:
                raise ValueError(f"unknown probe {p!r}; choose from {', '.join(PROBES)}")
        if self.seeds < 1:
            raise ValueError("seeds must be >= 1")


@dataclass
class EvalResult:
    config: EvalConfig
    records: pd.DataFrame
    predictions: pd.DataFrame
    timings: dict[str, float]
    tasks: dict[str, TaskData]


def _load(name: str, cfg: EvalConfig) -> TaskData:
    if Path(name).suffix.lower() in (".csv", ".parquet", ".pq"):
        if not cfg.user_target:
            raise ValueError(f"task {name} is a file: give its target column (--target)")
        return load_table(name, cfg.user_target)
    return load_task(name, cfg.n_points, cfg.point_seed)


def _task_splits(task: TaskData, cfg: EvalConfig) -> list[str]:
    from satclip.downstream.datasets import TASKS

    allowed = TASKS[task.name].splits if task.name in TASKS else SPLITS
    return [s for s in cfg.splits if s in allowed]


def evaluate(cfg: EvalConfig, progress: Callable[[str], None] | None = None) -> EvalResult:
    """Run every (task, encoder, split, probe[, seed]) combination of ``cfg``."""
    cfg.validate()
    say = progress or (lambda _msg: None)
    from threadpoolctl import threadpool_limits

    threads_before = torch.get_num_threads()
    torch.set_num_threads(max(1, cfg.threads))
    try:
        with threadpool_limits(max(1, cfg.threads)):  # BLAS threads too: oversubscribed threads crawl
            return _evaluate(cfg, say)
    finally:
        torch.set_num_threads(threads_before)


@dataclass
class _Job:
    """Probing one (task, encoder): everything a worker needs."""

    task: TaskData
    encoder: str
    X: np.ndarray
    folds: list[Fold]
    probes: list[str]
    seeds: int
    knn_k: int
    mlp: MLPConfig


def _run_job(job: _Job) -> tuple[list[dict[str, Any]], list[pd.DataFrame], dict[str, float]]:
    """Fit every probe of one (task, encoder) on all folds; returns score rows, predictions, timings."""
    task, X, folds = job.task, job.X, job.folds
    n_classes = len(task.class_names)
    rows: list[dict[str, Any]] = []
    preds: list[pd.DataFrame] = []
    timings: dict[str, float] = {}
    for probe in job.probes:
        t0 = time.perf_counter()
        seeds = list(range(job.seeds)) if probe in STOCHASTIC else [0]
        if probe == "mlp":
            members = [(f.train, f.test, s) for s in seeds for f in folds]
            out = mlp_fit_predict(X, task.y, members, task.kind, n_classes, job.mlp)
            pairs = [(f, s) for s in seeds for f in folds]
            results: list[tuple[Fold, int, np.ndarray, dict[str, Any]]] = [
                (f, s, p, {}) for (f, s), p in zip(pairs, out, strict=True)]
        elif probe == "ridge":
            results = []
            for f in folds:
                r = ridge_fit_predict(X, task.y, f.train, f.test, task.kind, n_classes)
                results.append((f, 0, r.pred, {"alpha": r.alpha}))
        else:
            results = [(f, 0, knn_fit_predict(X, task.y, f.train, f.test, task.kind, job.knn_k), {})
                       for f in folds]
        timings[probe] = time.perf_counter() - t0
        for f, s, p, extra in results:
            rows.append({"task": task.name, "kind": task.kind, "primary": task.primary, "encoder": job.encoder,
                         "split": f.split,
                         "fold": f.label, "probe": probe, "seed": s, "n_train": len(f.train),
                         "n_test": len(f.test), **score(task.kind, task.y[f.test], p), **extra})
            if s == 0:
                preds.append(pd.DataFrame({
                    "task": task.name, "encoder": job.encoder, "split": f.split, "fold": f.label,
                    "probe": probe, "lon": task.lonlat[f.test, 0], "lat": task.lonlat[f.test, 1],
                    "y": task.y[f.test].astype(np.float64), "pred": np.asarray(p, dtype=np.float64)}))
    return rows, preds, timings


def _evaluate(cfg: EvalConfig, say: Callable[[str], None]) -> EvalResult:
    timings = {"tasks": 0.0, "embed": 0.0, "ridge": 0.0, "mlp": 0.0, "knn": 0.0}
    tasks: dict[str, TaskData] = {}
    encoders: dict[str, EncoderLike] = {}
    jobs: list[_Job] = []
    for tname in cfg.tasks:
        t0 = time.perf_counter()
        task = _load(tname, cfg)
        tasks[task.name] = task
        timings["tasks"] += time.perf_counter() - t0
        folds: list[Fold] = []
        for split in _task_splits(task, cfg):
            folds += make_folds(split, task.lonlat, task.continent, seed=cfg.split_seed,
                                test_fraction=cfg.test_fraction, block_deg=cfg.block_deg, k=cfg.k_folds,
                                holdouts=cfg.holdouts)
        for ename in cfg.encoders:
            if ename not in encoders:
                encoders[ename] = resolve_encoder(ename)
            t0 = time.perf_counter()
            X = embed_cached(encoders[ename], task.lonlat)
            timings["embed"] += time.perf_counter() - t0
            jobs.append(_Job(task, ename, X, folds, list(cfg.probes), cfg.seeds, cfg.knn_k, cfg.mlp))
    outputs: list[Any] = [None] * len(jobs)

    def done(i: int, out: Any) -> None:
        outputs[i] = out
        n_done = sum(o is not None for o in outputs)
        say(f"[{n_done}/{len(jobs)}] {jobs[i].task.name} / {jobs[i].encoder}: {len(jobs[i].folds)} folds, "
            f"dim {jobs[i].X.shape[1]}")

    order = sorted(range(len(jobs)), key=lambda i: -jobs[i].X.shape[1])  # largest first: better balance
    if cfg.workers > 1 and len(jobs) > 1:
        # Threads, not processes: torch and BLAS release the GIL in the heavy kernels, and threads avoid
        # re-importing the caller's __main__ and copying embeddings to workers.
        from concurrent.futures import ThreadPoolExecutor, as_completed

        with ThreadPoolExecutor(max_workers=cfg.workers) as pool:
            futures = {pool.submit(_run_job, jobs[i]): i for i in order}
            for fut in as_completed(futures):
                done(futures[fut], fut.result())
    else:
        for i in order:
            done(i, _run_job(jobs[i]))
    rows: list[dict[str, Any]] = []
    preds: list[pd.DataFrame] = []
    for r, p, t in outputs:
        rows += r
        preds += p
        for k, v in t.items():
            timings[k] += v
    records = pd.DataFrame(rows)
    predictions = pd.concat(preds, ignore_index=True) if preds else pd.DataFrame()
    return EvalResult(cfg, records, predictions, timings, tasks)
