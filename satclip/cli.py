"""The ``satclip`` command line: thin wrappers that parse, call the library and print."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from satclip.cli_common import user_errors
from satclip.registry import DEFAULT_MODEL

app = typer.Typer(
    name="satclip",
    help="Global location embeddings learned from satellite imagery (SatCLIP).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

ModelOption = Annotated[str, typer.Option("--model", "-m", help="Bundled model name or path to a model file.")]


@app.command()
@user_errors
def embed(
    src: Annotated[Path, typer.Argument(help="Input CSV/TSV/Parquet with lon/lat columns.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output .parquet, .csv or .npy.")],
    model: ModelOption = DEFAULT_MODEL,
    chunk_rows: Annotated[int, typer.Option(help="Rows read per chunk (bounds memory).")] = 100_000,
    batch_size: Annotated[int, typer.Option(help="Points per forward pass.")] = 8192,
    wrap: Annotated[bool, typer.Option(help="Wrap longitudes outside [-180, 180] instead of failing.")] = False,
    lon_col: Annotated[str | None, typer.Option(help="Longitude column (default: lon/lng/longitude).")] = None,
    lat_col: Annotated[str | None, typer.Option(help="Latitude column (default: lat/latitude).")] = None,
    prefix: Annotated[str, typer.Option(help="Prefix of the embedding columns.")] = "emb_",
    device: Annotated[str, typer.Option(help="torch device, e.g. cpu or cuda.")] = "cpu",
    trust_checkpoint: Annotated[bool, typer.Option(help="Allow unpickling a trusted .ckpt.")] = False,
) -> None:
    """Embed every (lon, lat) row of a table; input columns are carried through."""
    from tqdm import tqdm

    from satclip.registry import load
    from satclip.tables import embed_file

    if not src.is_file():
        raise FileNotFoundError(f"input file not found: {src}")
    encoder = load(model, device=device, trust_checkpoint=trust_checkpoint)
    with tqdm(unit=" rows", desc=f"embed ({encoder.name})", disable=not sys.stderr.isatty()) as bar:
        n = embed_file(
            src, output, encoder, chunk_rows=chunk_rows, batch_size=batch_size, wrap=wrap,
            lon_col=lon_col, lat_col=lat_col, prefix=prefix, progress=lambda done: bar.update(done - bar.n),
        )
    typer.echo(f"wrote {n} embeddings of dimension {encoder.dim} to {output}")


@app.command()
@user_errors
def models(
    as_json: Annotated[bool, typer.Option("--json", help="Print the full model cards as JSON.")] = False,
) -> None:
    """List the bundled models with their model cards."""
    from satclip.checkpoints import read_card
    from satclip.registry import BUNDLED

    cards: dict[str, dict[str, Any]] = {}
    for name, entry in sorted(BUNDLED.items()):
        cards[name] = read_card(entry.path) if entry.path.is_file() else {"name": name, "missing": True}
    if as_json:
        typer.echo(json.dumps(cards, indent=2))
        return
    for name, card in cards.items():
        if card.get("missing"):
            typer.echo(f"{name}  (file missing from this installation)")
            continue
        cfg = card.get("config", {})
        typer.echo(f"{name}  L={cfg.get('L')} dim={cfg.get('embed_dim')} hidden={cfg.get('hidden_dim')}")
        typer.echo(f"    {BUNDLED[name].summary}")
        typer.echo(f"    training: {_training_summary(card.get('training') or {})}")
        command = (card.get("training") or {}).get("command")
        if command:
            typer.echo(f"    reproduce: {command}")
        for key, value in _headline_metrics(card.get("metrics") or {}).items():
            typer.echo(f"    {key}: {value}")
    typer.echo("Full cards: satclip models --json")


_HEADLINE_KEYS = ("img2loc_top1", "img2loc_top10", "median_km", "transfer_ratio")


def _training_summary(training: dict) -> str:
    """One line: data source, number of patches and their mix, image encoder, wall time."""
    if isinstance(training.get("data"), dict):
        training = {**training, **training["data"]}
    elif "data" in training:
        return str(training["data"])
    spec, counts = training.get("spec") or {}, training.get("counts") or {}
    parts = [str(training.get("image", spec.get("source", "?")))]
    if spec.get("n"):
        mix = ", ".join(f"{k} {v}" for k, v in counts.items())
        parts.append(f"{spec['n']} patches" + (f" ({mix})" if mix else ""))
    if isinstance(training.get("image_encoder"), dict):
        parts.append(f"image encoder {training['image_encoder'].get('name')}")
    if training.get("wall_time_s"):
        parts.append(f"{float(training['wall_time_s']) / 60:.0f} min")
    return "; ".join(parts)


def _headline_metrics(metrics: dict) -> dict[str, str]:
    """The few numbers worth a glance (retrieval, geolocation, transfer), formatted compactly."""
    out = {}
    for name, value in metrics.items():
        if isinstance(value, dict):
            picked = {k: v for k, v in value.items() if k in _HEADLINE_KEYS and isinstance(v, int | float)}
            if picked:
                out[name] = ", ".join(f"{k} {v:.3g}" for k, v in picked.items())
        elif isinstance(value, int | float):
            out[name] = f"{value:.4g}"
    return out


@app.command()
@user_errors
def convert(
    src: Annotated[Path, typer.Argument(help="Released SatCLIP Lightning checkpoint (.ckpt).")],
    dst: Annotated[Path, typer.Argument(help="Output model file (.safetensors).")],
    trust_checkpoint: Annotated[bool, typer.Option(help="Allow unpickling (only for files you trust).")] = False,
) -> None:
    """Convert a released SatCLIP checkpoint's location encoder to a satclip model file."""
    from satclip.checkpoints import convert_checkpoint

    if dst.suffix != ".safetensors":
        raise ValueError(f"output must end in .safetensors, got {dst.name}")
    path = convert_checkpoint(src, dst, trust_checkpoint=trust_checkpoint)
    typer.echo(f"wrote {path}")


def _register_area_commands() -> None:
    """Commands of the other areas live beside their code (cli_<area>.py) and register here."""
    from satclip import cli_app, cli_evaluate, cli_explore, cli_train

    cli_train.register(app)
    cli_explore.register(app)
    cli_evaluate.register(app)
    cli_app.register(app)


_register_area_commands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
