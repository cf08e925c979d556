from __future__ import annotations

import io
import zlib

import numpy as np
import pytest

from satclip.explore.render import (
    LEAFLET_BOUNDS,
    MERCATOR_MAX_LAT,
    Legend,
    MapImage,
    colorize,
    colormap_lut,
    encode_png,
    mercator_latitudes,
    to_mercator,
)


def _decode_png(data: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)))


def test_mercator_constants():
    assert MERCATOR_MAX_LAT == pytest.approx(85.0511287798, abs=1e-9)
    assert LEAFLET_BOUNDS == ((-MERCATOR_MAX_LAT, -180.0), (MERCATOR_MAX_LAT, 180.0))


@pytest.mark.parametrize(("res", "height"), [(0.5, 720), (2.0, 180), (1.0, 500)])
def test_mercator_rows_land_at_right_latitudes(res, height):
    lats = np.arange(90 - res / 2, -90, -res)
    lons = np.arange(-180 + res / 2, 180, res)
    field = np.repeat(lats[:, None], lons.size, axis=1)  # each cell holds its own latitude
    merc = to_mercator(field, res, height=height)
    assert merc.shape == (height, lons.size)
    target = mercator_latitudes(height)
    # every output row shows the source cell that contains the latitude of the row centre
    assert np.all(np.abs(merc[:, 0] - target) <= res / 2 + 1e-9)
    # rows are spaced evenly in Mercator y, not in latitude: the equator is at mid-height
    assert abs(target[height // 2] + target[height // 2 - 1]) < 1e-9
    y = np.log(np.tan(np.pi / 4 + np.radians(target) / 2))
    np.testing.assert_allclose(np.diff(y), -2 * np.pi / height, rtol=1e-6)
    assert target[0] < MERCATOR_MAX_LAT and target[0] > MERCATOR_MAX_LAT - 2 * res


def test_to_mercator_width_resampling():
    field = np.tile(np.arange(8, dtype=float), (4, 1))
    merc = to_mercator(field, 45.0, width=16, height=16)
    assert merc.shape == (16, 16)
    np.testing.assert_array_equal(merc[0], np.repeat(np.arange(8.0), 2))


def test_colorize_maps_range_and_nan():
    field = np.array([[0.0, 0.5, 1.0, np.nan]])
    rgba = colorize(field, "viridis", 0.0, 1.0)
    lut = colormap_lut("viridis")
    assert rgba.dtype == np.uint8 and rgba.shape == (1, 4, 4)
    np.testing.assert_array_equal(rgba[0, 0, :3], lut[0])
    np.testing.assert_array_equal(rgba[0, 2, :3], lut[255])
    assert tuple(rgba[0, :, 3]) == (255, 255, 255, 0)
    assert tuple(lut[0]) == (0x44, 0x01, 0x54) and tuple(lut[255]) == (0xFD, 0xE7, 0x25)  # viridis ends
    # values outside the range clip to the ends
    np.testing.assert_array_equal(colorize(np.array([[-5.0, 5.0]]), "viridis", 0, 1)[0, :, :3], lut[[0, 255]])


def test_reversed_colormap_and_errors():
    np.testing.assert_array_equal(colormap_lut("magma_r"), colormap_lut("magma")[::-1])
    with pytest.raises(ValueError, match="colour map"):
        colormap_lut("no-such-map")
    with pytest.raises(ValueError, match="vmax"):
        colorize(np.zeros((2, 2)), "viridis", 1.0, 0.0)
    with pytest.raises(ValueError, match="2-D"):
        colorize(np.zeros(3))


def test_png_roundtrip():
    rng = np.random.default_rng(0)
    for shape in [(7, 5, 4), (3, 9, 3), (4, 4)]:
        img = rng.integers(0, 256, shape, dtype=np.uint8)
        data = encode_png(img)
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        np.testing.assert_array_equal(_decode_png(data), img)
    with pytest.raises(ValueError, match="uint8"):
        encode_png(np.zeros((2, 2)))


def test_map_image_and_legend(tmp_path):
    rgba = colorize(np.linspace(0, 1, 64).reshape(8, 8), "magma", 0, 1)
    img = MapImage(rgba=rgba, legend=Legend("magma", 0.0, 1.0, "cosine similarity"))
    assert img.bounds == LEAFLET_BOUNDS
    assert img.data_url().startswith("data:image/png;base64,")
    path = img.save(tmp_path / "x.png")
    np.testing.assert_array_equal(_decode_png(path.read_bytes()), rgba)
    leg = img.legend
    assert leg.ticks(3) == [0.0, 0.5, 1.0]
    assert leg.colors(2) == ["#000004", "#fcfdbf"]
    assert leg.css_gradient().startswith("linear-gradient(to right, #000004")
    assert leg.image(100, 5).shape == (5, 100, 3)
    assert "cosine similarity" in leg.html()


def test_png_is_valid_zlib_stream():
    data = encode_png(np.zeros((2, 3, 4), dtype=np.uint8))
    idat = data[data.index(b"IDAT") + 4 : data.index(b"IEND") - 8]
    assert len(zlib.decompress(idat)) == 2 * (1 + 3 * 4)
