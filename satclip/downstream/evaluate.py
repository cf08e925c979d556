"""Run the downstream suite: tasks x encoders x splits x probes x probe seeds -> tidy results.

``evaluate(EvalConfig(...))`` returns an :class:`EvalResult` with one row per (task, encoder, split,
fold, probe, seed) in ``records``, and out-of-fold predictions (first seed) for maps. Embeddings are
cached under ``cache_dir("embeddings")`` keyed by the encoder fingerprint and a hash of the points.
Stochastic probes (MLP) run once per seed; deterministic ones (ridge, k-NN) once.

Every task is loaded, split and checked (``validate.check_task``) and every encoder resolved before any
probe runs, so a bad task fails in seconds; ``on_partial`` receives the records finished so far after
each (task, encoder), so a run that dies later keeps them.
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

from satclip.cache import cache_dir, content_hash
from satclip.cache_entries import CacheEntryError, discard_bad_entry, load_checked_arrays, save_checked_arrays
from satclip.downstream.probes import (
    PROBES,
    Member,
    MLPConfig,
    knn_fit_predict,
    mlp_fit_predict,
    ridge_fit_predict,
    score,
)
from satclip.downstream.splits import DEFAULT_HOLDOUTS, SPLIT_CHOICES, SPLITS, TABLE_SPLIT, Fold, make_folds
from satclip.downstream.tasks import DEFAULT_TASKS, TASKS, TaskData, load_table, load_task
from satclip.downstream.validate import MIN_TRAIN_ROWS, check_task, fold_flags
from satclip.errors import TaskError
from satclip.inference import EncoderLike
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
    """Embeddings of ``lonlat``, computed once per (encoder fingerprint, points) and cached as a checked
    ``.npz`` (shape, dtype, finiteness, checksum verified on load; a bad entry is rebuilt with a warning)."""
    lonlat = np.ascontiguousarray(lonlat)
    path = cache_dir("embeddings") / f"{encoder.fingerprint}-{content_hash(lonlat)}.npz"
    expect = {"embeddings": {"shape": (len(lonlat), None), "dtype": np.float32, "finite": True}}
    if path.is_file():
        try:
            return load_checked_arrays(path, expect)[0]["embeddings"]
        except CacheEntryError as err:
            discard_bad_entry(path, err)
    X = np.asarray(encoder.embed(lonlat), dtype=np.float32)
    if not np.isfinite(X).all():
        raise ValueError(f"encoder {encoder.name} produced non-finite embeddings")
    save_checked_arrays(path, {"embeddings": X})
    return X


@dataclass
class EvalConfig:
    """Everything that defines one evaluation run."""

    tasks: list[str] = field(default_factory=lambda: list(DEFAULT_TASKS))
    encoders: list[str] = field(default_factory=default_encoders)
    splits: list[str] | None = None  # None: each task's own (a table's `split` column when it has one)
    probes: list[str] = field(default_factory=lambda: ["ridge", "mlp"])  # or ["all"]
    n_points: int = 10_000
    point_seed: int = 0
    split_seed: int = 0
    seeds: int = 3
    test_fraction: float = 0.2
    block_deg: float = 10.0
    k_folds: int = 5
    cv_folds: int | None = None  # K-fold CV for 'random' (else one hold-out) and 'block' (else k_folds)
    holdouts: tuple[str, ...] = DEFAULT_HOLDOUTS
    knn_k: int = 10
    mlp: MLPConfig = field(default_factory=MLPConfig)
    user_target: str | None = None  # target column for tasks given as CSV/Parquet paths
    user_kind: str | None = None  # 'regression' or 'classification' for those (None: inferred)
    threads: int = 1  # torch/BLAS threads per worker: 1 is fastest for these small batched problems
    workers: int = 2  # threads probing (task, encoder) pairs in parallel (one per core)

    def validate(self) -> None:
        if "all" in self.probes:
            self.probes = list(PROBES)
        for s in self.splits or []:
            if s not in SPLIT_CHOICES:
                raise ValueError(f"unknown split {s!r}; choose from {', '.join(SPLIT_CHOICES)}")
        if self.cv_folds is not None and self.cv_folds < 2:
            raise ValueError(f"--cv-folds must be >= 2, got {self.cv_folds}")
        if self.user_kind not in (None, "regression", "classification"):
            raise ValueError(f"kind must be regression or classification, got {self.user_kind!r}")
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


def is_table(name: str) -> bool:
    """A task given as a CSV/Parquet path rather than a registered name."""
    return Path(name).suffix.lower() in (".csv", ".parquet", ".pq")


def _load(name: str, cfg: EvalConfig) -> TaskData:
    if is_table(name):
        if not cfg.user_target:
            raise ValueError(f"task {name} is a file: give its target column (--target)")
        # user_kind is typed str for the CLI; __post_init__ checks it is one of Kind's values (or None)
        return load_table(name, cfg.user_target, kind=cfg.user_kind)  # type: ignore[arg-type]
    return load_task(name, cfg.n_points, cfg.point_seed)


def _task_splits(name: str, task: TaskData, cfg: EvalConfig) -> list[str]:
    """The splits run on a task: the requested ones it allows, or by default all it allows; a table with a
    `split` column runs its own split by default."""
    if not is_table(name):
        allowed = TASKS[name].splits
        return [s for s in (cfg.splits or allowed) if s in allowed]
    if cfg.splits is None:
        return [TABLE_SPLIT] if task.split is not None else list(SPLITS)
    return list(cfg.splits)


def _task_folds(name: str, task: TaskData, cfg: EvalConfig) -> list[Fold]:
    """All folds of a task, checked: a task whose scores would be meaningless raises :class:`TaskError`."""
    where = Path(name).name if is_table(name) else f"task {name}"
    folds: list[Fold] = []
    for split in _task_splits(name, task, cfg):
        if split == "continent" and is_table(name):
            from satclip.data.assets import is_available

            if not is_available("naturalearth-lowres"):
                raise TaskError(
                    f"{where}: the continent split needs the Natural Earth countries: run `satclip fetch "
                    "naturalearth-lowres` once, or choose other splits (--split random,block)"
                )
        try:
            folds += make_folds(
                split,
                task.lonlat,
                task.continent,
                seed=cfg.split_seed,
                test_fraction=cfg.test_fraction,
                block_deg=cfg.block_deg,
                k=cfg.k_folds,
                holdouts=cfg.holdouts,
                cv_folds=cfg.cv_folds,
                labels=task.split,
            )
        except ValueError as err:
            raise TaskError(f"{where}: {err}") from err
    min_train = max(MIN_TRAIN_ROWS, cfg.knn_k if "knn" in cfg.probes else 0)
    # registry tasks sample their points: a rare class with one point is a fact of the sample, not an error
    problems = check_task(
        task.y,
        task.kind,
        folds,
        name=(cfg.user_target or "") if is_table(name) else task.name,
        class_names=task.class_names,
        min_per_class=2 if is_table(name) else 1,
        min_train=min_train,
    )
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise TaskError(f"{where}: " + "; ".join(problems[:3]) + more)
    return folds


def evaluate(
    cfg: EvalConfig,
    progress: Callable[[str], None] | None = None,
    on_partial: Callable[[pd.DataFrame], None] | None = None,
) -> EvalResult:
    """Run every (task, encoder, split, probe[, seed]) combination of ``cfg``; ``on_partial`` gets the
    records finished so far after each (task, encoder)."""
    cfg.validate()
    say = progress or (lambda _msg: None)
    from threadpoolctl import threadpool_limits

    threads_before = torch.get_num_threads()
    torch.set_num_threads(max(1, cfg.threads))
    try:
        with threadpool_limits(max(1, cfg.threads)):  # BLAS threads too: oversubscribed threads crawl
            return _evaluate(cfg, say, on_partial)
    finally:
        torch.set_num_threads(threads_before)


@dataclass
class EvalJob:
    """Probing one (task, encoder): everything a worker needs."""

    task: TaskData
    encoder: str
    X: np.ndarray
    folds: list[Fold]
    probes: list[str]
    seeds: int
    knn_k: int
    mlp: MLPConfig


def run_job(job: EvalJob) -> tuple[list[dict[str, Any]], list[pd.DataFrame], dict[str, float]]:
    """Fit every probe of one (task, encoder) on all folds; returns score rows, predictions, timings."""
    task, X, folds = job.task, job.X, job.folds
    n_classes = len(task.class_names)

    def fit_rows(f: Fold) -> np.ndarray:  # probes without model selection fit on train + val
        return f.train if f.val is None or not len(f.val) else np.sort(np.concatenate([f.train, f.val]))

    rows: list[dict[str, Any]] = []
    preds: list[pd.DataFrame] = []
    timings: dict[str, float] = {}
    for probe in job.probes:
        t0 = time.perf_counter()
        seeds = list(range(job.seeds)) if probe in STOCHASTIC else [0]
        results: list[tuple[Fold, int, np.ndarray, dict[str, Any]]]
        if probe == "mlp":
            members: list[Member] = [
                (f.train, f.test, s) if f.val is None else (f.train, f.test, s, f.val) for s in seeds for f in folds
            ]
            out = mlp_fit_predict(X, task.y, members, task.kind, n_classes, job.mlp)
            pairs = [(f, s) for s in seeds for f in folds]
            results = [(f, s, p, {}) for (f, s), p in zip(pairs, out, strict=True)]
        elif probe == "ridge":
            results = []
            for f in folds:
                r = ridge_fit_predict(X, task.y, fit_rows(f), f.test, task.kind, n_classes)
                results.append((f, 0, r.pred, {"alpha": r.alpha}))
        else:
            results = [(f, 0, knn_fit_predict(X, task.y, fit_rows(f), f.test, task.kind, job.knn_k), {}) for f in folds]
        timings[probe] = time.perf_counter() - t0
        for f, s, p, extra in results:
            n_val = 0 if probe != "mlp" or f.val is None else len(f.val)
            rows.append(
                {
                    "task": task.name,
                    "kind": task.kind,
                    "primary": task.primary,
                    "encoder": job.encoder,
                    "split": f.split,
                    "fold": f.label,
                    "probe": probe,
                    "seed": s,
                    "n_train": len(f.train) if probe == "mlp" else len(fit_rows(f)),
                    "n_val": n_val,
                    "n_test": len(f.test),
                    **score(task.kind, task.y[f.test], p),
                    **extra,
                    "flag": "; ".join(fold_flags(task.kind, task.y[f.test])),
                }
            )
            if s == 0:
                preds.append(
                    pd.DataFrame(
                        {
                            "task": task.name,
                            "encoder": job.encoder,
                            "split": f.split,
                            "fold": f.label,
                            "probe": probe,
                            "lon": task.lonlat[f.test, 0],
                            "lat": task.lonlat[f.test, 1],
                            "y": task.y[f.test].astype(np.float64),
                            "pred": np.asarray(p, dtype=np.float64),
                        }
                    )
                )
    return rows, preds, timings


def _evaluate(
    cfg: EvalConfig, say: Callable[[str], None], on_partial: Callable[[pd.DataFrame], None] | None = None
) -> EvalResult:
    timings = {"tasks": 0.0, "embed": 0.0, "ridge": 0.0, "mlp": 0.0, "knn": 0.0}
    tasks: dict[str, TaskData] = {}
    task_folds: list[tuple[TaskData, list[Fold]]] = []
    for tname in cfg.tasks:  # every task loaded and checked before any work
        t0 = time.perf_counter()
        task = _load(tname, cfg)
        tasks[task.name] = task
        task_folds.append((task, _task_folds(tname, task, cfg)))
        timings["tasks"] += time.perf_counter() - t0
    encoders = {ename: resolve_encoder(ename) for ename in dict.fromkeys(cfg.encoders)}
    jobs: list[EvalJob] = []
    for task, folds in task_folds:
        for ename in cfg.encoders:
            t0 = time.perf_counter()
            X = embed_cached(encoders[ename], task.lonlat)
            timings["embed"] += time.perf_counter() - t0
            jobs.append(EvalJob(task, ename, X, folds, list(cfg.probes), cfg.seeds, cfg.knn_k, cfg.mlp))
    outputs: list[Any] = [None] * len(jobs)

    def done(i: int, out: Any) -> None:
        outputs[i] = out
        n_done = sum(o is not None for o in outputs)
        if on_partial is not None:
            on_partial(pd.DataFrame([row for o in outputs if o is not None for row in o[0]]))
        say(
            f"[{n_done}/{len(jobs)}] {jobs[i].task.name} / {jobs[i].encoder}: {len(jobs[i].folds)} folds, "
            f"dim {jobs[i].X.shape[1]}"
        )

    order = sorted(range(len(jobs)), key=lambda i: -jobs[i].X.shape[1])  # largest first: better balance
    if cfg.workers > 1 and len(jobs) > 1:
        # Threads, not processes: torch and BLAS release the GIL in the heavy kernels, and threads avoid
        # re-importing the caller's __main__ and copying embeddings to workers.
        from concurrent.futures import ThreadPoolExecutor, as_completed

        with ThreadPoolExecutor(max_workers=cfg.workers) as pool:
            futures = {pool.submit(run_job, jobs[i]): i for i in order}
            try:
                for fut in as_completed(futures):
                    done(futures[fut], fut.result())
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)  # fail now; finished results went to on_partial
                raise
    else:
        for i in order:
            done(i, run_job(jobs[i]))
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
