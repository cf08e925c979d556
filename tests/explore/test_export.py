from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import tifffile

from satclip.explore.clusters import kmeans_regions
from satclip.explore.export import (
    embeddings_table,
    export_embeddings_geotiff,
    export_embeddings_table,
    export_regions_geotiff,
    export_rgb_geotiff,
    export_similarity_geotiff,
    write_geotiff,
)
from satclip.explore.projection import project
from satclip.explore.similarity import similarity_map


def _geo_tags(path):
    with tifffile.TiffFile(path) as tif:
        page = tif.pages[0]
        tags = {t.code: t.value for t in page.tags.values()}
        return page.asarray(), tags


def test_similarity_geotiff_georeferencing(tmp_path, grid2, encoder):
    sim = similarity_map(grid2, (13.0, 47.0), encoder=encoder)
    path = export_similarity_geotiff(tmp_path / "sim.tif", sim)
    data, tags = _geo_tags(path)
    np.testing.assert_array_equal(data, sim.field)
    assert tuple(tags[33550]) == (2.0, 2.0, 0.0)  # pixel scale
    assert tuple(tags[33922]) == (0.0, 0.0, 0.0, -180.0, 90.0, 0.0)  # top-left corner
    keys = np.asarray(tags[34735]).reshape(-1, 4)
    assert {tuple(k) for k in keys[1:]} >= {(1024, 0, 1, 2), (1025, 0, 1, 1), (2048, 0, 1, 4326)}
    assert tags[42113] == "nan"


def test_geotiffs_read_by_rasterio(tmp_path, grid2, land_grid2, encoder):
    rasterio = pytest.importorskip("rasterio")
    sim = similarity_map(land_grid2, (13.0, 47.0), encoder=encoder)
    path = export_similarity_geotiff(tmp_path / "sim.tif", sim)
    with rasterio.open(path) as ds:
        assert ds.crs.to_epsg() == 4326
        assert tuple(ds.transform)[:6] == (2.0, 0.0, -180.0, 0.0, -2.0, 90.0)
        assert ds.bounds == (-180.0, -90.0, 180.0, 90.0) and (ds.height, ds.width) == (90, 180)
        assert np.isnan(ds.nodata) and ds.dtypes == ("float32",)
        band = ds.read(1)
        # the pixel containing (13, 47) holds the query's own similarity, via rasterio's own transform
        row, col = ds.index(13.0, 47.0)
        assert band[row, col] == pytest.approx(float(np.nanmax(band)))
        assert np.isnan(band[ds.index(-150.0, 0.0)])  # ocean: nodata on the land-only grid
    rgb_path = export_rgb_geotiff(tmp_path / "rgb.tif", project(grid2, "pca", 3))
    with rasterio.open(rgb_path) as ds:
        assert ds.count == 3 and ds.dtypes[0] == "uint8" and ds.crs.to_epsg() == 4326
        assert ds.transform.a == 2.0
    emb_path = export_embeddings_geotiff(tmp_path / "emb.tif", grid2)
    with rasterio.open(emb_path) as ds:
        assert ds.count == grid2.dim and ds.descriptions[:2] == ("emb_0", "emb_1")
        row, col = ds.index(13.0, 47.0)
        cube = ds.read(window=((row, row + 1), (col, col + 1)))[:, 0, 0]
        cell = grid2.cell_index([[13.0, 47.0]])[0]
        np.testing.assert_array_equal(cube, grid2.embeddings[cell].astype(np.float32))
    reg_path = export_regions_geotiff(tmp_path / "reg.tif", kmeans_regions(land_grid2, 4))
    with rasterio.open(reg_path) as ds:
        assert ds.dtypes == ("int16",) and ds.nodata == -1
        assert (ds.read(1) == -1).sum() == land_grid2.mask.size - land_grid2.n_cells


def test_rgb_geotiff_has_alpha_on_land_grid(tmp_path, land_grid2):
    path = export_rgb_geotiff(tmp_path / "rgb.tif", project(land_grid2, "pca", 3))
    data, _tags = _geo_tags(path)
    assert data.shape == (90, 180, 4) and data.dtype == np.uint8
    np.testing.assert_array_equal(data[..., 3] > 0, land_grid2.mask)


def test_write_geotiff_validates_and_is_atomic(tmp_path):
    target = tmp_path / "x.tif"
    with pytest.raises(ValueError, match="shape"):
        write_geotiff(target, np.zeros(5), west=0, north=0, resolution=1)
    with pytest.raises(ValueError, match="band names"):
        write_geotiff(target, np.zeros((2, 2, 3)), west=0, north=0, resolution=1, band_names=["a"])
    with pytest.raises(ValueError, match="resolution"):
        write_geotiff(target, np.zeros((2, 2)), west=0, north=0, resolution=-1)
    write_geotiff(target, np.ones((2, 2), np.float32), west=0, north=0, resolution=1)
    before = target.read_bytes()
    with pytest.raises(Exception):  # noqa: B017 - whatever tifffile raises, the old file must survive
        write_geotiff(target, np.ones((2, 2), np.float32), west=0, north=0, resolution=1, photometric="bogus")
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.tif"]  # no temporary files left


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_embeddings_table_roundtrip(tmp_path, land_grid2, suffix):
    path = export_embeddings_table(tmp_path / f"grid{suffix}", land_grid2)
    df = pd.read_parquet(path) if suffix == ".parquet" else pd.read_csv(path)
    assert list(df.columns[:3]) == ["lon", "lat", "emb_0"] and df.shape == (land_grid2.n_cells, 2 + land_grid2.dim)
    np.testing.assert_array_equal(df[["lon", "lat"]].to_numpy(), land_grid2.points)
    tol = 0 if suffix == ".parquet" else 1e-5
    np.testing.assert_allclose(df.iloc[:, 2:].to_numpy(), land_grid2.embeddings.astype(np.float32), atol=tol)


def test_embeddings_table_rejects_unknown_format(tmp_path, grid2):
    with pytest.raises(ValueError, match=r"parquet or \.csv"):
        export_embeddings_table(tmp_path / "grid.xlsx", grid2)
    assert embeddings_table(grid2).shape == (grid2.n_cells, 2 + grid2.dim)


def test_exports_are_readable_by_others(tmp_path, grid2):
    import os
    import stat

    mask = os.umask(0o022)
    try:
        path = export_embeddings_table(tmp_path / "g.parquet", grid2)
    finally:
        os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
