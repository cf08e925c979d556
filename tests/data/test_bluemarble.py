"""Blue Marble / equirectangular preparation: package-metadata lookup, tangent-plane geometry, georeferencing,
land/coast/ocean mix, determinism and caching, clear errors."""

import json

import numpy as np
import pytest
from PIL import Image

from satclip.data.bluemarble import (
    DataPreparationError,
    EquirectSampler,
    PatchConfig,
    find_bluemarble,
    load_prepared,
    prepare_equirect,
    tangent_plane_lonlat,
)
from satclip.data.landmask import COAST, LAND, OCEAN, is_land
from satclip.geo import haversine_km


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SATCLIP_CACHE", str(tmp_path / "cache"))


def _gradient_image(path, w=360, h=180):
    """R encodes longitude, G latitude (cell centres), B constant: colour tells where a sample came from."""
    lon = (np.arange(w) + 0.5) / w * 360 - 180
    lat = 90 - (np.arange(h) + 0.5) / h * 180
    img = np.zeros((h, w, 3), np.uint8)
    img[..., 0] = np.round((lon[None, :] + 180) / 360 * 255)
    img[..., 1] = np.round((lat[:, None] + 90) / 180 * 255)
    img[..., 2] = 128
    Image.fromarray(img).save(path)
    return path


def test_bluemarble_found_through_package_metadata():
    p = find_bluemarble()
    assert p.name == "bmng.jpg" and p.is_file()
    with Image.open(p) as im:
        assert im.size == (5400, 2700)


@pytest.mark.parametrize("lat", [0.0, 60.0, 85.0, -89.5])
def test_tangent_plane_pixels_are_square_at_any_latitude(lat):
    pix = np.radians(1 / 15)
    grid = tangent_plane_lonlat(np.array([[30.0, lat]]), 16, pix)[0]
    expected = 6371.0088 * pix
    east = haversine_km(grid[:, :-1], grid[:, 1:])
    south = haversine_km(grid[:-1], grid[1:])
    assert np.allclose(east, expected, rtol=0.01) and np.allclose(south, expected, rtol=0.01)
    assert grid[0, 8, 1] > grid[-1, 8, 1] or lat < -89  # row 0 is north


def test_sampler_georeferencing_matches_colour_code(tmp_path):
    img = np.asarray(Image.open(_gradient_image(tmp_path / "g.png")))
    s = EquirectSampler(img)
    pts = np.array([[-179.5, 0.5], [10.5, -45.5], [179.5, 89.5], [0.0, 0.0]])
    out = s.sample(pts).astype(float)
    assert np.allclose(out[:, 0], (pts[:, 0] + 180) / 360 * 255, atol=1.5)
    assert np.allclose(out[:, 1], (pts[:, 1] + 90) / 180 * 255, atol=1.5)
    # across the date line the sampler wraps: -180 blends the first and last columns
    assert 100 < s.sample(np.array([[-180.0, 0.0]]))[0, 0] < 160


def test_prepare_mix_geometry_and_cache(tmp_path):
    path = _gradient_image(tmp_path / "g.png")
    cfg = PatchConfig(n=400, patch_size=8, ocean_fraction=0.25, coast_fraction=0.25, seed=3)
    out = prepare_equirect(path, cfg, progress=False)
    a = load_prepared(out)
    assert a.patches.shape == (400, 8, 8, 3) and a.patches.dtype == np.uint8
    assert [int((a.kind == k).sum()) for k in (LAND, COAST, OCEAN)] == [200, 100, 100]
    assert (is_land(a.lonlat) == (a.kind == LAND)).all()
    centre = a.patches[:, 3:5, 3:5].astype(float).mean(axis=(1, 2))
    assert np.allclose(centre[:, 1], (a.lonlat[:, 1] + 90) / 180 * 255, atol=3)
    # area-uniform: |sin lat| of land+ocean points roughly uniform (mean 0.5)
    assert 0.4 < np.abs(np.sin(np.radians(a.lonlat[:, 1]))).mean() < 0.6
    meta = json.loads((out / "meta.json").read_text())
    assert meta["counts"] == {"land": 200, "coast": 100, "ocean": 100}
    again = prepare_equirect(path, cfg, progress=False)
    assert again == out and np.array_equal(load_prepared(again).lonlat, a.lonlat)
    other = load_prepared(prepare_equirect(path, PatchConfig(n=400, patch_size=8, seed=4), progress=False))
    assert not np.array_equal(other.lonlat, a.lonlat)


def test_prepare_real_bluemarble_small():
    a = load_prepared(prepare_equirect(None, PatchConfig(n=300, patch_size=16, seed=0), progress=False))
    assert a.meta["image"] == "bmng.jpg" and a.meta["patch_deg"] == pytest.approx(16 / 15)
    polar = np.abs(a.lonlat[:, 1]) > 70
    land = a.kind == LAND
    assert a.patches[polar & land].mean() > 150  # ice is bright
    assert a.patches[a.kind == OCEAN][..., 2].mean() > a.patches[a.kind == OCEAN][..., 0].mean()  # sea is blue


def test_errors(tmp_path):
    Image.fromarray(np.zeros((100, 100, 3), np.uint8)).save(tmp_path / "square.png")
    with pytest.raises(DataPreparationError, match="twice as wide"):
        prepare_equirect(tmp_path / "square.png", PatchConfig(n=10), progress=False)
    with pytest.raises(DataPreparationError, match="not found"):
        prepare_equirect(tmp_path / "nope.jpg", PatchConfig(n=10), progress=False)
    with pytest.raises(ValueError, match="ocean_fraction"):
        PatchConfig(ocean_fraction=0.8, coast_fraction=0.5)
    with pytest.raises(DataPreparationError, match="satclip prepare"):
        load_prepared(tmp_path)
