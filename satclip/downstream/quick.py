"""One task, one split, one probe, a few encoders: the quick evaluation behind the app's Downstream page.

It is the suite's own engine (``satclip.downstream.evaluate``: folds from :mod:`.splits`, probes from
:mod:`.probes`, embeddings cached by :func:`.evaluate.embed_cached`, metrics from :func:`.probes.score`)
run on one :class:`~satclip.downstream.tasks.TaskData`, with encoder objects instead of names and a
constant predictor (training mean or majority class) as the floor every encoder must beat.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from satclip.downstream.evaluate import EvalJob, embed_cached, run_job
from satclip.downstream.probes import PROBES, MLPConfig, score
from satclip.downstream.splits import SPLITS, Fold, make_folds
from satclip.downstream.tasks import TaskData

CONSTANT = "mean / majority"  # the constant predictor's name in results (pass it with encoder None)
BASELINES = {CONSTANT: None, "lon/lat": "lonlat", "spherical harmonics L=10 (untrained)": "sh10"}
DEFAULT_QUICK_TASK = "land_or_water"  # see docs/downstream.md: the offline task where the embedding's value shows


@dataclass
class QuickResult:
    """Mean metrics per encoder (one row each, with the number of folds) and out-of-fold predictions."""

    task: TaskData
    split: str
    probe: str
    metrics: pd.DataFrame
    predictions: pd.DataFrame


def baseline_encoders(names: list[str] | tuple[str, ...] = tuple(BASELINES)) -> dict[str, Any]:
    """Display name -> encoder (None for the constant predictor) of the quick baselines."""
    from satclip.zoo import resolve_encoder

    unknown = [n for n in names if n not in BASELINES]
    if unknown:
        raise KeyError(f"unknown baseline(s) {unknown}; choose from {list(BASELINES)}")
    return {n: (None if BASELINES[n] is None else resolve_encoder(str(BASELINES[n]))) for n in names}


def task_folds(task: TaskData, split: str, seed: int = 0) -> list[Fold]:
    """The split's folds for ``task`` (a continent hold-out needs known continents)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
    if split == "continent" and (np.asarray(task.continent) == "unknown").all():
        raise ValueError(
            "a continent hold-out needs continents: add a 'continent' column, or run "
            "`satclip fetch naturalearth-lowres` once"
        )
    return make_folds(split, task.lonlat, task.continent, seed=seed)


def _constant(task: TaskData, name: str, folds: list[Fold]) -> tuple[list[dict[str, Any]], list[pd.DataFrame]]:
    rows, preds = [], []
    for f in folds:
        if task.kind == "regression":
            p = np.full(len(f.test), float(task.y[f.train].mean()))
        else:
            p = np.full(len(f.test), int(np.bincount(task.y[f.train].astype(np.int64)).argmax()))
        rows.append({"fold": f.label, **score(task.kind, task.y[f.test], p)})
        preds.append(
            pd.DataFrame(
                {
                    "encoder": name,
                    "fold": f.label,
                    "lon": task.lonlat[f.test, 0],
                    "lat": task.lonlat[f.test, 1],
                    "y": task.y[f.test].astype(np.float64),
                    "pred": p.astype(np.float64),
                }
            )
        )
    return rows, preds


def quick_evaluate(
    task: TaskData,
    encoders: dict[str, Any],
    split: str = "block",
    probe: str = "ridge",
    *,
    seed: int = 0,
    knn_k: int = 10,
    mlp: MLPConfig | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> QuickResult:
    """Every encoder (name -> encoder, or None for the constant predictor) on every fold of ``split``
    with ``probe``; metrics are means over folds."""
    if probe not in PROBES:
        raise ValueError(f"unknown probe {probe!r}; choose from {', '.join(PROBES)}")
    folds = task_folds(task, split, seed)
    metric_rows, preds = [], []
    for i, (name, enc) in enumerate(encoders.items()):
        if enc is None:
            rows, p = _constant(task, name, folds)
        else:
            job = EvalJob(task, name, embed_cached(enc, task.lonlat), folds, [probe], 1, knn_k, mlp or MLPConfig())
            rows, frames, _ = run_job(job)
            p = [fr[["encoder", "fold", "lon", "lat", "y", "pred"]] for fr in frames]
        scores = pd.DataFrame(rows).drop(columns=["fold"], errors="ignore").select_dtypes("number")
        keep = [c for c in scores.columns if c in ("r2", "rmse", "mae", "accuracy", "macro_f1")]
        metric_rows.append({"encoder": name, **scores[keep].mean().to_dict(), "folds": len(folds)})
        preds += p
        if progress is not None:
            progress((i + 1) / len(encoders), name)
    return QuickResult(task, split, probe, pd.DataFrame(metric_rows), pd.concat(preds, ignore_index=True))
