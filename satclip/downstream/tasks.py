"""Downstream task registry: real global targets at N area-uniform points over each task's valid area.

``load_task(name, n=10_000, seed=0)`` draws points uniformly by area on the sphere, keeps those in
the task's valid area until it has ``n``, looks up the target and each point's continent (Natural
Earth), and caches the result under ``cache_dir("downstream")`` keyed by a content hash of the
task definition, n, seed and the pinned asset checksums. ``load_table`` turns any user CSV/Parquet
with lon, lat and a target column into the same :class:`TaskData`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from satclip.cache import atomic_path, cache_dir, content_hash
from satclip.downstream import offline_tasks, sources
from satclip.downstream.splits import parse_split_labels
from satclip.geo import CoordinateError, find_lonlat_columns, sample_uniform_sphere, validate_lonlat
from satclip.tables import TableError

Kind = Literal["regression", "classification"]
TASK_FORMAT = 1  # bump to invalidate cached task files


@dataclass
class TaskData:
    """Points, targets and continents of one task. Classification targets are int class ids."""

    name: str
    kind: Kind
    lonlat: np.ndarray  # (N, 2) float64
    y: np.ndarray  # (N,) float64 (regression) or int64 class ids
    continent: np.ndarray  # (N,) str
    class_names: list[str] = field(default_factory=list)
    description: str = ""
    unit: str = ""
    primary: str = ""  # metric the summary ranks by ("" = r2 or accuracy by kind)
    split: np.ndarray | None = None  # a user table's own 'train'/'val'/'test' per row (its `split` column)

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True)
class TaskSpec:
    """A registered task: valid-area mask and target lookup on (N, 2) lon/lat, and the assets they need."""

    name: str
    kind: Kind
    assets: tuple[str, ...]
    valid: Callable[[np.ndarray], np.ndarray]
    target: Callable[[np.ndarray], np.ndarray]
    description: str
    unit: str = ""
    class_names: Callable[[], dict[int, str]] | None = None
    splits: tuple[str, ...] = ("random", "block", "continent")
    primary: str | None = None  # summary metric; default r2 (regression) or accuracy (classification)
    build: Callable[[int, int], tuple[np.ndarray, np.ndarray]] | None = None  # (n, seed) -> (lonlat, target)
    offline: bool = False  # needs no fetched asset (continents are 'unknown' until naturalearth-lowres is fetched)


def _elevation_valid(ll: np.ndarray) -> np.ndarray:
    return (np.abs(ll[:, 1]) <= 60.0) & (sources.altitude_code(ll) != 255)


def _degurba_valid(ll: np.ndarray) -> np.ndarray:
    code = sources.degurba_code(ll)
    return (code != 255) & (code != 10)


def _countries_valid(ll: np.ndarray) -> np.ndarray:
    from satclip.downstream.naturalearth import load_countries

    return load_countries().country_index(ll) >= 0


def _country_target(ll: np.ndarray) -> np.ndarray:
    from satclip.downstream.naturalearth import load_countries

    return load_countries().country_index(ll)


def _country_names() -> dict[int, str]:
    from satclip.downstream.naturalearth import load_countries

    return dict(enumerate(load_countries().names))


_LAND = ("modis-landcover",)
TASKS: dict[str, TaskSpec] = {
    t.name: t
    for t in (
        TaskSpec(
            "air_temperature",
            "regression",
            ("era5-climatology", *_LAND),
            sources.is_land,
            sources.era5_temperature,
            "ERA5 2000-2025 annual mean 2 m air temperature over land",
            "deg C",
        ),
        TaskSpec(
            "precipitation",
            "regression",
            ("era5-climatology", *_LAND),
            sources.is_land,
            lambda ll: np.log1p(sources.era5_precipitation(ll)),
            "ERA5 2000-2025 annual total precipitation over land, log1p(mm/year)",
            "log1p(mm/yr)",
        ),
        TaskSpec(
            "elevation",
            "regression",
            ("altitude",),
            _elevation_valid,
            sources.altitude_m,
            "Land elevation between 60S and 60N (pvlib Altitude.h5, Mapzen terrain sources)",
            "m",
        ),
        TaskSpec(
            "land_cover",
            "classification",
            _LAND,
            sources.is_land,
            sources.landcover_igbp,
            "MODIS MCD12C1 2019 IGBP land cover class (16 land classes)",
            "",
            lambda: {k: v for k, v in sources.IGBP_CLASSES.items() if k},
        ),
        TaskSpec(
            "countries",
            "classification",
            ("naturalearth-lowres",),
            _countries_valid,
            _country_target,
            "Natural Earth admin-0 country (177 polygons)",
            "",
            _country_names,
            splits=("random", "block"),
        ),  # a held-out continent has only countries unseen in training
        TaskSpec(
            "urbanisation",
            "classification",
            ("degurba",),
            _degurba_valid,
            sources.degurba_code,
            "GHS-WUP Degree of Urbanisation level-2 class (1 km, R2025A epoch 2025) over land",
            "",
            lambda: {k: v for k, v in sources.DEGURBA_CLASSES.items() if k != 10},
            primary="macro_f1",
        ),  # 93 % of land is one class: accuracy would only measure the majority
        TaskSpec(
            "land_or_water",
            "classification",
            (),
            lambda ll: np.ones(len(ll), bool),
            offline_tasks.land_or_water,
            "Land or water at area-uniform points (global-land-mask, 0.25 deg)",
            "",
            lambda: {0: "water", 1: "land"},
            offline=True,
        ),
        TaskSpec(
            "city_population",
            "regression",
            (),
            lambda ll: np.ones(len(ll), bool),
            lambda ll: ll[:, 0],
            "log10 population of GeoNames cities with >= 15,000 people",
            "log10 people",
            build=offline_tasks.city_population,
            offline=True,
        ),
    )
}
DEFAULT_TASKS = tuple(name for name, spec in TASKS.items() if not spec.offline)  # the suite; offline = app's quick


def required_assets(task_names: list[str] | tuple[str, ...]) -> list[str]:
    """Assets needed to build the given tasks (always including Natural Earth for continents)."""
    names: set[str] = set()
    for t in task_names:
        spec = get_spec(t)
        names.update(spec.assets)
        if not spec.offline:
            names.add("naturalearth-lowres")
    return sorted(names)


def get_spec(name: str) -> TaskSpec:
    if name not in TASKS:
        raise KeyError(f"unknown task {name!r}; known tasks: {', '.join(TASKS)} (or a CSV/Parquet file path)")
    return TASKS[name]


def sample_valid(valid: Callable[[np.ndarray], np.ndarray], n: int, seed: int, max_rounds: int = 50) -> np.ndarray:
    """``n`` area-uniform points where ``valid`` holds, drawn by rejection (deterministic in ``seed``)."""
    rng = np.random.default_rng(seed)
    kept: list[np.ndarray] = []
    have, frac = 0, 0.25
    for _ in range(max_rounds):
        draw = sample_uniform_sphere(int((n - have) / max(frac, 0.01) * 1.15) + 64, rng)
        ok = draw[valid(draw)]
        frac = max(len(ok) / len(draw), 1e-3)
        kept.append(ok)
        have += len(ok)
        if have >= n:
            return np.concatenate(kept)[:n]
    raise RuntimeError(f"could not draw {n} valid points in {max_rounds} rounds (valid fraction ~{frac:.4f})")


def _continents(lonlat: np.ndarray) -> np.ndarray:
    from satclip.downstream.naturalearth import load_countries

    return load_countries().continent_of(lonlat)


def _has_continents(spec: TaskSpec) -> bool:
    """Whether the task's points get continents (always for the suite; for offline tasks once fetched)."""
    from satclip.data.assets import is_available

    return not spec.offline or is_available("naturalearth-lowres")


def task_cache_path(name: str, n: int, seed: int) -> Path:
    spec = get_spec(name)
    key = content_hash(
        TASK_FORMAT,
        name,
        spec.kind,
        spec.description,
        n,
        seed,
        sources.asset_shas(tuple(required_assets([name]))),
        _has_continents(spec),
    )
    return cache_dir("downstream", "tasks") / f"{name}-n{n}-s{seed}-{key}.npz"


def load_task(name: str, n: int = 10_000, seed: int = 0, *, use_cache: bool = True) -> TaskData:
    """The task's N area-uniform valid points with targets and continents (built once, then cached)."""
    spec = get_spec(name)
    path = task_cache_path(name, n, seed)
    if use_cache and path.is_file():
        z = np.load(path, allow_pickle=False)
        lonlat, y, continent, cls_ids, cls_names = (
            z["lonlat"],
            z["y"],
            z["continent"],
            z["class_ids"],
            z["class_names"],
        )
    else:
        if spec.build is not None:
            lonlat, raw = spec.build(n, seed)
        else:
            lonlat = sample_valid(spec.valid, n, seed)
            raw = spec.target(lonlat)
        if spec.kind == "regression":
            y = np.asarray(raw, dtype=np.float64)
            if not np.isfinite(y).all():
                raise ValueError(f"task {name}: non-finite targets at {np.flatnonzero(~np.isfinite(y))[:10]}")
            cls_ids, cls_names = np.zeros(0, np.int64), np.zeros(0, str)
        else:
            names = spec.class_names() if spec.class_names else {}
            cls_ids, y = np.unique(np.asarray(raw, dtype=np.int64), return_inverse=True)
            cls_names = np.array([names.get(int(c), str(c)) for c in cls_ids])
        continent = _continents(lonlat) if _has_continents(spec) else np.full(len(lonlat), "unknown")
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, lonlat=lonlat, y=y, continent=continent, class_ids=cls_ids, class_names=cls_names)
    return TaskData(
        name,
        spec.kind,
        lonlat,
        y if spec.kind == "regression" else y.astype(np.int64),
        np.asarray(continent).astype(str),
        [str(c) for c in cls_names],
        spec.description,
        spec.unit,
        spec.primary or "",
    )


def infer_kind(values: pd.Series) -> Kind:
    """Classification for non-numeric targets or integers with few distinct values, else regression."""
    if not pd.api.types.is_numeric_dtype(values):
        return "classification"
    v = values.to_numpy()
    if pd.api.types.is_integer_dtype(values) and len(np.unique(v)) <= max(20, int(0.05 * len(v))):
        return "classification"
    return "regression"


_WHOLE_FILE = 2**31 - 1  # rows per chunk when a table is read whole


def load_table(
    path: str | Path,
    target: str,
    *,
    lon_col: str | None = None,
    lat_col: str | None = None,
    kind: Kind | None = None,
    name: str | None = None,
    with_continents: bool = True,
) -> TaskData:
    """A user task from a CSV or Parquet file with lon, lat and a ``target`` column. Continents (for the
    continent hold-out) come from Natural Earth when that asset is fetched, else they are 'unknown'.
    A ``split`` column (train/val/test, as CoordBench tables have) is kept as ``TaskData.split``; other
    columns (timestamp, id, ...) are ignored. A mostly numeric target with a few non-numbers is refused,
    naming the rows, unless ``kind`` says classification."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no such file: {p}")
    if p.suffix.lower() in (".parquet", ".pq"):
        df: Any = pd.read_parquet(p)
    else:  # the library's CSV reader: a ragged row, a duplicate column or another separator is refused by name
        from satclip.tables import read_chunks

        df = next(read_chunks(p, _WHOLE_FILE), None)  # one chunk: pandas types each column over the whole file
        if df is None:
            raise TableError(f"{p} has no rows")
    try:
        return table_task(
            df,
            target,
            lon_col=lon_col,
            lat_col=lat_col,
            kind=kind,
            name=name or p.stem,
            with_continents=with_continents,
            source=str(p),
        )
    except CoordinateError as err:
        if not err.rows:
            raise
        from satclip.tables import where_in_file

        raise CoordinateError(f"{err}{where_in_file(p, err.rows[0])}", rows=err.rows) from None


def table_task(
    df: pd.DataFrame,
    target: str,
    *,
    lon_col: str | None = None,
    lat_col: str | None = None,
    kind: Kind | None = None,
    name: str | None = None,
    with_continents: bool = True,
    source: str = "table",
) -> TaskData:
    """A user task from a DataFrame with lon, lat and a ``target`` column (see :func:`load_table`). A
    ``continent`` column, if present, is used as is; else continents come from Natural Earth when fetched."""
    p = source
    if target not in df.columns:
        raise KeyError(f"{p}: target column {target!r} not found; columns are {list(df.columns)}")
    lon_name, lat_name = find_lonlat_columns(df.columns, lon_col, lat_col)
    try:
        lonlat = validate_lonlat(df, lon_col=lon_name, lat_col=lat_name)
    except CoordinateError as err:
        raise CoordinateError(f"{p}: {err}", rows=err.rows) from None
    col = df[target]
    if col.isna().any():
        raise ValueError(f"{p}: target {target!r} is missing at rows {np.flatnonzero(col.isna().to_numpy())[:10]}")
    from satclip.downstream.validate import numeric_column_problems

    if kind != "classification" and (problems := numeric_column_problems(col, target, kind_given=kind is not None)):
        raise TableError(f"{p}: {problems[0]}")
    split_cols = [c for c in df.columns if str(c).lower() == "split"]
    split = parse_split_labels(df[split_cols[0]], str(p)) if split_cols else None
    kind = kind or infer_kind(col)
    if kind == "regression":
        y = pd.to_numeric(col, errors="raise").to_numpy(np.float64)  # inf is named by validate.check_task
        names: list[str] = []
    else:
        uniq, y = np.unique(col.astype(str).to_numpy(), return_inverse=True)
        names = [str(u) for u in uniq]
    from satclip.data.assets import is_available

    if "continent" in df.columns and target != "continent":
        continent = df["continent"].astype(str).to_numpy()
    elif with_continents and is_available("naturalearth-lowres"):
        continent = _continents(lonlat)
    else:
        continent = np.full(len(y), "unknown")
    return TaskData(
        name or target, kind, lonlat, y, continent, names, f"user data {Path(p).name}: {target}", split=split
    )
