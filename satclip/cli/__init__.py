"""The ``satclip`` command line: thin wrappers that parse, call the library and print."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from satclip.cli.common import MODEL_HELP, user_errors
from satclip.registry import DEFAULT_MODEL

app = typer.Typer(
    name="satclip",
    help="Global location embeddings learned from satellite imagery (SatCLIP).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,  # plain help: Rich truncated option defaults at 80 columns
)

TRUST_HELP = (
    "Also admit a fixed list of plain-data classes (paths, numpy scalars, Namespace) in a .ckpt; never runs code."
)
ModelOption = Annotated[str, typer.Option("--model", "-m", help=MODEL_HELP)]


@app.command(short_help="Embed every (lon, lat) row of a table (CSV, TSV, Parquet).")
@user_errors
def embed(
    src: Annotated[Path, typer.Argument(metavar="SRC", help="Input CSV/TSV/Parquet with lon/lat columns.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output .parquet, .csv or .npy.")],
    model: ModelOption = DEFAULT_MODEL,
    chunk_rows: Annotated[int, typer.Option(help="Rows read per chunk (bounds memory).")] = 100_000,
    batch_size: Annotated[int, typer.Option(help="Points per forward pass.")] = 8192,
    wrap: Annotated[bool, typer.Option(help="Wrap longitudes outside [-180, 180] instead of failing.")] = False,
    lon_col: Annotated[str | None, typer.Option(help="Longitude column (default: lon/lng/longitude).")] = None,
    lat_col: Annotated[str | None, typer.Option(help="Latitude column (default: lat/latitude).")] = None,
    prefix: Annotated[str, typer.Option(help="Prefix of the embedding columns.")] = "emb_",
    device: Annotated[str, typer.Option(help="torch device, e.g. cpu or cuda.")] = "cpu",
    trust_checkpoint: Annotated[bool, typer.Option(help=TRUST_HELP)] = False,
) -> None:
    """Embed every (lon, lat) row of a table; input columns are carried through."""
    from tqdm import tqdm

    from satclip.cache import terminate_cleanly
    from satclip.registry import load
    from satclip.tables import embed_file

    if not src.is_file():
        raise FileNotFoundError(f"input file not found: {src}")
    encoder = load(model, device=device, trust_checkpoint=trust_checkpoint)
    with (
        terminate_cleanly(),
        tqdm(unit=" rows", desc=f"embed ({encoder.name})", disable=not sys.stderr.isatty()) as bar,
    ):
        n = embed_file(
            src,
            output,
            encoder,
            chunk_rows=chunk_rows,
            batch_size=batch_size,
            wrap=wrap,
            lon_col=lon_col,
            lat_col=lat_col,
            prefix=prefix,
            progress=lambda done: bar.update(done - bar.n),
        )
    typer.echo(f"wrote {n} embeddings of dimension {encoder.dim} to {output}")


@app.command(short_help="Convert a released SatCLIP checkpoint to a satclip model file.")
@user_errors
def convert(
    src: Annotated[Path, typer.Argument(metavar="SRC", help="Released SatCLIP Lightning checkpoint (.ckpt).")],
    dst: Annotated[Path, typer.Argument(metavar="DST", help="Output model file (.safetensors).")],
    trust_checkpoint: Annotated[bool, typer.Option(help=TRUST_HELP)] = False,
) -> None:
    """Convert a released SatCLIP checkpoint's location encoder to a satclip model file."""
    from satclip.checkpoints import convert_checkpoint

    if dst.suffix != ".safetensors":
        raise ValueError(f"output must end in .safetensors, got {dst.name}")
    path = convert_checkpoint(src, dst, trust_checkpoint=trust_checkpoint)
    typer.echo(f"wrote {path}")


def _register_area_commands() -> None:
    """Commands of the other areas live in satclip/cli/<area>.py and register here."""
    from satclip.cli import evaluate as cli_evaluate
    from satclip.cli import explore as cli_explore
    from satclip.cli import launch_app as cli_app
    from satclip.cli import models as cli_models
    from satclip.cli import train as cli_train

    cli_models.register(app)
    cli_train.register(app)
    cli_explore.register(app)
    cli_evaluate.register(app)
    cli_app.register(app)


_register_area_commands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
