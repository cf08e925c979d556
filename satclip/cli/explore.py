"""CLI commands of the exploration engine: ``satclip similar``, ``satclip explore-map``,
``satclip export-grid``. Wire them in with ``register(app)``; thin wrappers over satclip.explore."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from satclip.cli.common import MODEL_HELP, needs_extra
from satclip.registry import DEFAULT_MODEL

ModelOpt = Annotated[str, typer.Option("--model", "-m", help=MODEL_HELP)]
ResolutionOpt = Annotated[float, typer.Option(help="Grid resolution in degrees (must divide 180).")]
LandOpt = Annotated[bool, typer.Option("--land-only", help="Only grid cells whose centre is on land.")]


def parse_point(text: str) -> tuple[float, float]:
    """'LON,LAT' -> (lon, lat)."""
    parts = text.replace(" ", "").split(",")
    if len(parts) != 2:
        raise ValueError(f"expected LON,LAT (e.g. 2.35,48.85), got {text!r}")
    try:
        return float(parts[0]), float(parts[1])
    except ValueError as err:
        raise ValueError(f"expected numbers LON,LAT, got {text!r}") from err


def _explorer(model: str, resolution: float, land_only: bool) -> Any:
    from satclip.explore import Explorer
    from satclip.registry import load

    return Explorer(load(model), resolution, land_only=land_only, progress=True)


def _table(df: Any, floatfmt: str = "{:.3f}") -> str:
    return df.to_string(index=False, float_format=lambda v: floatfmt.format(v))


def similar(
    lon: Annotated[float, typer.Argument(metavar="LON", help="Longitude of the query (degrees).")],
    lat: Annotated[float, typer.Argument(metavar="LAT", help="Latitude of the query.")],
    model: ModelOpt = DEFAULT_MODEL,
    like: Annotated[
        list[str] | None, typer.Option(metavar="LON,LAT", help="More places to be like, LON,LAT (repeatable).")
    ] = None,
    unlike: Annotated[
        list[str] | None, typer.Option(metavar="LON,LAT", help="Places to be unlike, LON,LAT (repeatable).")
    ] = None,
    k: Annotated[int, typer.Option("-k", help="How many places and cells to list.")] = 10,
    exclude_km: Annotated[float, typer.Option(help="Skip results within this distance of the query.")] = 0.0,
    min_population: Annotated[int, typer.Option(help="Only places at least this populous.")] = 0,
    resolution: ResolutionOpt = 0.5,
    land_only: LandOpt = False,
    png: Annotated[Path | None, typer.Option(help="Write the Web Mercator heat-map overlay (PNG).")] = None,
    figure: Annotated[Path | None, typer.Option(help="Write a plate carree figure with colour bar.")] = None,
    geotiff: Annotated[Path | None, typer.Option(help="Write the similarity field as a GeoTIFF.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    wrap: Annotated[bool, typer.Option(help="Wrap longitudes outside [-180, 180] instead of failing.")] = False,
) -> None:
    """Places and grid cells most like (LON, LAT) (optionally unlike others), with maps and exports."""
    from satclip.explore import export_similarity_geotiff
    from satclip.geo import CoordinateError, validate_lonlat

    def checked(pair: tuple[float, float], what: str) -> tuple[float, float]:
        """One point, its error naming it as the user gave it (not 'at row 0' of a list they never wrote)."""
        try:
            ((x, y),) = validate_lonlat([pair], wrap=wrap)
        except CoordinateError as err:
            raise CoordinateError(f"{what} {pair[0]:g},{pair[1]:g}: {str(err).replace(' at row 0', '')}") from None
        return float(x), float(y)

    likes = [checked((lon, lat), "the query LON,LAT")] + [checked(parse_point(p), "--like") for p in like or []]
    unlikes = [checked(parse_point(p), "--unlike") for p in unlike or []] or None
    ex = _explorer(model, resolution, land_only)
    sim = ex.similarity(likes, unlikes)
    radius = exclude_km or None
    places = sim.top_places(ex.places, k, radius, min_population)
    cells = sim.top_cells(k, radius, min_separation_km=radius and max(radius / 2, 100.0))
    if as_json:
        typer.echo(
            json.dumps(
                {"model": ex.encoder.name, "places": places.to_dict("records"), "cells": cells.to_dict("records")},
                default=float,
            )
        )
    else:
        typer.echo(
            f"model {ex.encoder.name}, {resolution} deg grid; query {likes}"
            + (f" unlike {unlikes}" if unlikes else "")
            + (f"; excluding {exclude_km:g} km around it" if radius else "")
        )
        typer.echo("\nmost similar places\n" + _table(places))
        typer.echo("\nmost similar grid cells\n" + _table(cells))
    if png is not None:
        sim.image().save(png)
        typer.echo(f"wrote {png}", err=True)
    if figure is not None:
        from satclip.explore import nearest_places
        from satclip.explore.figures import plot_map

        lo, hi = sim.value_range()
        near = nearest_places([likes[0]]).iloc[0]
        where = f"{near['name']}, {near['country']} " if near["distance_km"] < 50 else ""
        plot_map(
            ex.grid,
            sim.field,
            figure,
            title=f"{sim.label} to {where}({likes[0][0]:g}, {likes[0][1]:g}), model {ex.encoder.name}",
            cmap="RdBu_r" if sim.diverging else "magma",
            vmin=lo,
            vmax=hi,
            label=sim.label,
            markers=likes,
        )
        typer.echo(f"wrote {figure}", err=True)
    if geotiff is not None:
        export_similarity_geotiff(geotiff, sim)
        typer.echo(f"wrote {geotiff}", err=True)


def explore_map(
    view: Annotated[str, typer.Argument(metavar="VIEW", help="pca, umap or regions.")],
    model: ModelOpt = DEFAULT_MODEL,
    resolution: ResolutionOpt = 0.5,
    land_only: LandOpt = False,
    k: Annotated[int, typer.Option("-k", help="Number of k-means regions.")] = 8,
    seed: Annotated[int, typer.Option(help="Seed (UMAP, k-means).")] = 0,
    png: Annotated[Path | None, typer.Option(help="Write the Web Mercator overlay (PNG).")] = None,
    figure: Annotated[Path | None, typer.Option(help="Write a plate carree figure.")] = None,
    geotiff: Annotated[Path | None, typer.Option(help="Write the map as a GeoTIFF.")] = None,
) -> None:
    """False-colour PCA/UMAP map or k-means regions of the embedding field."""
    from satclip.explore import export_regions_geotiff, export_rgb_geotiff

    view = view.lower()
    if view not in ("pca", "umap", "regions"):
        raise ValueError(f"unknown view {view!r}: choose pca, umap or regions")
    ex = _explorer(model, resolution, land_only)
    if view == "regions":
        result: Any = ex.regions(k, seed)
        typer.echo(_table(result.summary()))
        image = result.rgb()
    else:
        result = ex.projection(view, 3, seed=seed, progress=True)
        typer.echo(f"{view.upper()} of {ex.grid.n_cells} cells: {json.dumps(result.info)}")
        image = result.rgb()
    if png is not None:
        result.image().save(png)
        typer.echo(f"wrote {png}", err=True)
    if figure is not None:
        from satclip.explore.figures import plot_map

        title = f"{view.upper() if view != 'regions' else f'k-means regions (k={k})'} of {ex.encoder.name}"
        plot_map(ex.grid, image, figure, title=title + (" (R, G, B = components 1-3)" if view != "regions" else ""))
        typer.echo(f"wrote {figure}", err=True)
    if geotiff is not None:
        (export_regions_geotiff if view == "regions" else export_rgb_geotiff)(geotiff, result)
        typer.echo(f"wrote {geotiff}", err=True)


def export_grid(
    output: Annotated[
        Path, typer.Argument(metavar="OUTPUT", help="Output .parquet, .csv or .tif (GeoTIFF, one band per dim).")
    ],
    model: ModelOpt = DEFAULT_MODEL,
    resolution: ResolutionOpt = 0.5,
    land_only: LandOpt = False,
) -> None:
    """Export the grid's embeddings with lon/lat (table) or as a multi-band GeoTIFF."""
    from satclip.explore import export_embeddings_geotiff, export_embeddings_table

    ex = _explorer(model, resolution, land_only)
    if output.suffix.lower() in (".tif", ".tiff"):
        export_embeddings_geotiff(output, ex.grid)
    else:
        export_embeddings_table(output, ex.grid)
    typer.echo(f"wrote {output} ({ex.grid.n_cells} cells x {ex.grid.dim} dims)")


def register(app: typer.Typer) -> None:
    """Add the exploration commands to the ``satclip`` CLI."""
    # ignore_unknown_options lets negative coordinates through as arguments: satclip similar -58.4 -34.6
    app.command(
        "similar",
        short_help="Places and grid cells most like (LON, LAT), maps and exports.",
        context_settings={"ignore_unknown_options": True},
    )(needs_extra("explore")(similar))
    app.command("explore-map", short_help="PCA/UMAP false-colour map or k-means regions of a model.")(
        needs_extra("explore")(explore_map)
    )
    app.command("export-grid", short_help="Export a model's global grid of embeddings (table, GeoTIFF).")(
        needs_extra("explore")(export_grid)
    )


def main() -> None:  # pragma: no cover - convenience entry point: python -m satclip.cli.explore ...
    app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False, rich_markup_mode=None)
    register(app)
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
