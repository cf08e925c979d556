"""Exports: GeoTIFF (EPSG:4326) of similarity fields, RGB projections, regions and raw grid
embeddings; Parquet/CSV tables of grid embeddings with lon/lat. All writes are atomic.

GeoTIFFs are written with ``tifffile`` and the GeoTIFF 1.0 tags (ModelPixelScale, ModelTiepoint,
GeoKeyDirectory: geographic WGS 84, pixel-is-area) plus GDAL's nodata tag, so GDAL, rasterio and
QGIS read the georeferencing; compressed with deflate.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypedDict

import numpy as np
import pandas as pd

from satclip.cache import atomic_path
from satclip.explore.grid import EmbeddingGrid

# GeoTIFF tag codes and GeoKeys
_MODEL_PIXEL_SCALE, _MODEL_TIEPOINT, _GEO_KEY_DIRECTORY = 33550, 33922, 34735
_GDAL_METADATA, _GDAL_NODATA = 42112, 42113
_GEO_KEYS_4326 = (
    1,
    1,
    0,
    4,  # version 1.1.0, 4 keys
    1024,
    0,
    1,
    2,  # GTModelTypeGeoKey = ModelTypeGeographic
    1025,
    0,
    1,
    1,  # GTRasterTypeGeoKey = RasterPixelIsArea
    2048,
    0,
    1,
    4326,  # GeographicTypeGeoKey = EPSG:4326 (WGS 84)
    2054,
    0,
    1,
    9102,  # GeogAngularUnitsGeoKey = degree
)
EMBEDDING_PREFIX = "emb_"


def _tifffile() -> Any:
    try:
        import tifffile
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("GeoTIFF export needs the 'tifffile' package: pip install tifffile") from err
    return tifffile


def write_geotiff(
    path: str | Path,
    data: np.ndarray,
    *,
    west: float,
    north: float,
    resolution: float | tuple[float, float],
    nodata: float | None = None,
    band_names: list[str] | None = None,
    photometric: str | None = None,
    compress: bool = True,
) -> Path:
    """Write an (H, W) or (H, W, bands) array as a GeoTIFF in EPSG:4326, atomically.

    ``west``/``north`` are the outer edges of the top-left pixel, ``resolution`` the pixel size in
    degrees (one number or (x, y)). ``nodata`` is recorded in GDAL's nodata tag; ``band_names`` in
    GDAL metadata (band descriptions). ``photometric="rgb"`` for 3- or 4-band uint8 colour images.
    """
    tifffile = _tifffile()
    arr = np.asarray(data)
    if arr.ndim not in (2, 3) or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"expected an (H, W) or (H, W, bands) array, got shape {arr.shape}")
    if arr.dtype == np.float16:
        arr = arr.astype(np.float32)  # float16 GeoTIFFs are poorly supported by readers
    if isinstance(resolution, (int, float, np.integer, np.floating)):
        rx = ry = resolution
    else:
        rx, ry = resolution
    if not (rx > 0 and ry > 0):
        raise ValueError(f"resolution must be positive, got {resolution}")
    n_bands = 1 if arr.ndim == 2 else arr.shape[2]
    if band_names is not None and len(band_names) != n_bands:
        raise ValueError(f"{len(band_names)} band names for {n_bands} bands")
    tags: list[tuple[int, str | int, int, Any, bool]] = [
        (_MODEL_PIXEL_SCALE, "d", 3, (float(rx), float(ry), 0.0), True),
        (_MODEL_TIEPOINT, "d", 6, (0.0, 0.0, 0.0, float(west), float(north), 0.0), True),
        (_GEO_KEY_DIRECTORY, "H", len(_GEO_KEYS_4326), _GEO_KEYS_4326, True),
    ]
    if nodata is not None:
        tags.append((_GDAL_NODATA, "s", 0, "nan" if np.isnan(nodata) else repr(float(nodata)).removesuffix(".0"), True))
    if band_names:
        items = "".join(
            f'<Item name="DESCRIPTION" sample="{i}" role="description">{_xml_escape(n)}</Item>'
            for i, n in enumerate(band_names)
        )
        tags.append((_GDAL_METADATA, "s", 0, f"<GDALMetadata>{items}</GDALMetadata>", True))
    if photometric is None:
        photometric = "minisblack"
    extrasamples = None
    if photometric == "rgb" and n_bands == 4:
        extrasamples = ["unassalpha"]
    elif arr.ndim == 3 and photometric == "minisblack" and n_bands > 1:
        extrasamples = ["unspecified"] * (n_bands - 1)
    path = Path(path)
    with atomic_path(path) as tmp:
        tifffile.imwrite(
            tmp,
            arr,
            photometric=photometric,
            planarconfig="contig" if arr.ndim == 3 else None,
            extrasamples=extrasamples,
            compression="zlib" if compress else None,
            extratags=tags,
            metadata=None,
            bigtiff=arr.nbytes > 2**31,
            software="satclip",
        )
    return path


def _xml_escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


class _GridGeo(TypedDict):
    """write_geotiff's georeferencing keywords for a grid."""

    west: float
    north: float
    resolution: float


def _grid_geo(grid: EmbeddingGrid) -> _GridGeo:
    west, _, _, north = grid.bounds
    return {"west": west, "north": north, "resolution": grid.resolution}


def export_field_geotiff(path: str | Path, grid: EmbeddingGrid, field: np.ndarray, name: str = "value") -> Path:
    """A single-band float32 GeoTIFF of an (H, W) field on ``grid`` (NaN = nodata)."""
    field = np.asarray(field, dtype=np.float32)
    if field.shape != grid.shape:
        raise ValueError(f"field shape {field.shape} does not match the grid {grid.shape}")
    return write_geotiff(path, field, nodata=float("nan"), band_names=[name], **_grid_geo(grid))


def export_similarity_geotiff(path: str | Path, sim: Any) -> Path:
    """A similarity map (:class:`~satclip.explore.similarity.SimilarityMap`) as a float32 GeoTIFF."""
    return export_field_geotiff(path, sim.grid, sim.field, name=sim.label)


def export_rgb_geotiff(path: str | Path, projection: Any) -> Path:
    """An RGB false-colour projection as a uint8 GeoTIFF (RGBA with alpha 0 where the grid has no cell)."""
    rgb = projection.rgb()
    valid = np.isfinite(rgb).all(axis=2)
    out = np.clip(np.rint(np.nan_to_num(rgb) * 255), 0, 255).astype(np.uint8)
    if not valid.all():
        out = np.concatenate([out, (valid * 255).astype(np.uint8)[..., None]], axis=2)
    return write_geotiff(path, out, photometric="rgb", **_grid_geo(projection.grid))


def export_regions_geotiff(path: str | Path, regions: Any) -> Path:
    """k-means region labels as an int16 GeoTIFF (nodata -1)."""
    return write_geotiff(
        path, regions.field.astype(np.int16), nodata=-1, band_names=["region"], **_grid_geo(regions.grid)
    )


def export_embeddings_geotiff(path: str | Path, grid: EmbeddingGrid, dtype: Any = np.float32) -> Path:
    """The raw grid embeddings as a (D-band) GeoTIFF, one band per dimension (NaN = no cell)."""
    cube = grid.to_field(grid.embeddings.astype(dtype))
    names = [f"{EMBEDDING_PREFIX}{i}" for i in range(grid.dim)]
    return write_geotiff(path, cube, nodata=float("nan"), band_names=names, **_grid_geo(grid))


def embeddings_table(grid: EmbeddingGrid, prefix: str = EMBEDDING_PREFIX) -> pd.DataFrame:
    """The grid as a table: lon, lat (cell centres) and one float32 column per embedding dimension."""
    pts = grid.points
    data = {"lon": pts[:, 0], "lat": pts[:, 1]}
    emb = grid.embeddings.astype(np.float32)
    data.update({f"{prefix}{i}": emb[:, i] for i in range(grid.dim)})
    return pd.DataFrame(data)


def export_embeddings_table(path: str | Path, grid: EmbeddingGrid, prefix: str = EMBEDDING_PREFIX) -> Path:
    """Write the grid's embeddings with lon/lat as Parquet (``.parquet``) or CSV (``.csv``), atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise ValueError(f"unsupported table format {path.suffix!r}: use .parquet or .csv")
    df = embeddings_table(grid, prefix)
    with atomic_path(path) as tmp:
        if suffix == ".parquet":
            df.to_parquet(tmp, index=False, engine="pyarrow")
        else:
            df.to_csv(tmp, index=False, float_format="%.6g")
    return path
