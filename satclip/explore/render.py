"""Turning grid fields into map images: colour maps, Web Mercator resampling, PNG encoding, legends.

Dependency-free (numpy + zlib): colour maps are stored as control points, PNGs are encoded here.
:class:`MapImage` is what a Leaflet ``ImageOverlay`` needs: an RGBA image in Web Mercator cropped to
+-85.0511 deg, its bounds ``[[south, west], [north, east]]`` and a :class:`Legend`.
"""

from __future__ import annotations

import base64
import functools
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from satclip.cache import atomic_path

MERCATOR_MAX_LAT = float(np.degrees(np.arctan(np.sinh(np.pi))))  # 85.0511287798...
LEAFLET_BOUNDS = ((-MERCATOR_MAX_LAT, -180.0), (MERCATOR_MAX_LAT, 180.0))

_CMAPS = {  # 17 evenly spaced control points of the matplotlib colour maps of the same names
    "viridis": "440154 48186a 472d7b 424086 3b528b 33638d 2c728e 26828e 21918c 1fa088 28ae80 3fbc73 5ec962 "
    "84d44b addc30 d8e219 fde725",
    "magma": "000004 0a0822 1d1147 36106b 51127c 6a1c81 832681 9c2e7f b73779 d0416f e75263 f56b5c fc8961 "
    "fea772 fec488 fde2a3 fcfdbf",
    "RdBu_r": "053061 175290 2a71b2 3f8ec0 6bacd1 9bc9e0 c2ddec e0ecf3 f7f6f6 fbe5d8 fbccb4 f5aa89 e48066 "
    "d05548 ba2832 930e26 67001f",
    "turbo": "30123b 4040a2 466be3 4294ff 28bceb 18ddc2 32f298 6dfe62 a4fc3c cdec34 eecf3a fdac34 fb7e21 "
    "eb500e d02f05 a91601 7a0403",
    "gray": "000000 ffffff",
}
CATEGORICAL = (  # tab20, for k-means regions
    "1f77b4 aec7e8 ff7f0e ffbb78 2ca02c 98df8a d62728 ff9896 9467bd c5b0d5 8c564b c49c94 e377c2 f7b6d2 "
    "7f7f7f c7c7c7 bcbd22 dbdb8d 17becf 9edae5"
).split()


def colormap_names() -> list[str]:
    """Names accepted as ``cmap`` (built in; any matplotlib name works too when matplotlib is installed)."""
    return sorted(_CMAPS)


@functools.lru_cache(maxsize=32)
def colormap_lut(name: str) -> np.ndarray:
    """(256, 3) uint8 lookup table of a colour map (``name`` or ``name_r`` reversed)."""
    reverse = name.endswith("_r") and name not in _CMAPS
    base = name[:-2] if reverse else name
    if base in _CMAPS:
        stops = np.array([[int(h[i : i + 2], 16) for i in (0, 2, 4)] for h in _CMAPS[base].split()], dtype=np.float64)
        x = np.linspace(0.0, 1.0, len(stops))
        t = np.linspace(0.0, 1.0, 256)
        lut = np.stack([np.interp(t, x, stops[:, c]) for c in range(3)], axis=1)
    else:
        try:
            import matplotlib
        except ImportError as err:
            raise ValueError(f"unknown colour map {name!r}; built in: {colormap_names()}") from err
        try:
            cm = matplotlib.colormaps[base]
        except KeyError as err:
            raise ValueError(f"unknown colour map {name!r}; built in: {colormap_names()}") from err
        lut = cm(np.linspace(0.0, 1.0, 256))[:, :3] * 255.0
    lut = np.clip(np.rint(lut), 0, 255).astype(np.uint8)
    return lut[::-1].copy() if reverse else lut


def hex_color(rgb: Any) -> str:
    """'#rrggbb' of an (r, g, b) triple of 0-255 integers."""
    r, g, b = (int(v) for v in rgb[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


def auto_range(
    values: np.ndarray, percentiles: tuple[float, float] = (1.0, 99.5), symmetric: bool = False
) -> tuple[float, float]:
    """Robust (vmin, vmax) of the finite values; ``symmetric`` centres the range on 0."""
    finite = np.asarray(values, dtype=np.float32)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return 0.0, 1.0
    lo, hi = (float(v) for v in np.percentile(finite, percentiles))
    if symmetric:
        m = max(abs(lo), abs(hi)) or 1.0
        return -m, m
    if hi <= lo:
        hi = lo + 1e-6
    return lo, hi


def colorize(
    field: np.ndarray, cmap: str = "viridis", vmin: float | None = None, vmax: float | None = None, opacity: float = 1.0
) -> np.ndarray:
    """Colour-map a 2-D field -> RGBA uint8; NaN cells are transparent."""
    field = np.asarray(field, dtype=np.float32)
    if field.ndim != 2:
        raise ValueError(f"expected a 2-D field, got shape {field.shape}")
    if vmin is None or vmax is None:
        lo, hi = auto_range(field)
        vmin = lo if vmin is None else vmin
        vmax = hi if vmax is None else vmax
    if not vmax > vmin:
        raise ValueError(f"vmax must exceed vmin, got vmin={vmin}, vmax={vmax}")
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f"opacity must be in [0, 1], got {opacity}")
    finite = np.isfinite(field)
    scaled = np.nan_to_num((field - vmin) * (255.0 / (vmax - vmin)), nan=0.0, posinf=255.0, neginf=0.0)
    idx = np.clip(scaled, 0, 255).astype(np.uint8)
    rgba = np.empty((*field.shape, 4), dtype=np.uint8)
    rgba[..., :3] = colormap_lut(cmap)[idx]
    rgba[..., 3] = np.where(finite, np.uint8(round(255 * opacity)), np.uint8(0))
    return rgba


def rgb_to_rgba(rgb: np.ndarray, opacity: float = 1.0) -> np.ndarray:
    """Float RGB in [0, 1] (NaN = no data), shape (H, W, 3) -> RGBA uint8 with transparent gaps."""
    rgb = np.asarray(rgb, dtype=np.float32)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) RGB array, got shape {rgb.shape}")
    finite = np.isfinite(rgb).all(axis=2)
    out = np.empty((*rgb.shape[:2], 4), dtype=np.uint8)
    out[..., :3] = np.clip(np.rint(np.nan_to_num(rgb, nan=0.0) * 255.0), 0, 255).astype(np.uint8)
    out[..., 3] = np.where(finite, np.uint8(round(255 * opacity)), np.uint8(0))
    return out


# ---------------------------------------------------------------------------------------------- Mercator
def mercator_latitudes(height: int) -> np.ndarray:
    """Latitudes (deg) of the pixel-row centres of a ``height``-row Web Mercator image of +-85.0511 deg."""
    y = np.pi * (1.0 - 2.0 * (np.arange(height) + 0.5) / height)
    return np.degrees(np.arctan(np.sinh(y)))


@functools.lru_cache(maxsize=16)
def mercator_row_index(resolution: float, north: float, n_rows: int, height: int) -> np.ndarray:
    """Source row (in a north->south equirectangular grid) of each Web Mercator output row (nearest)."""
    lat = mercator_latitudes(height)
    idx = np.floor((north - lat) / resolution).astype(np.int64)
    idx = np.clip(idx, 0, n_rows - 1)
    idx.setflags(write=False)
    return idx


def to_mercator(
    image: np.ndarray, resolution: float, north: float = 90.0, height: int | None = None, width: int | None = None
) -> np.ndarray:
    """Resample a global equirectangular image (rows north->south, columns -180..180) to Web Mercator.

    Output covers +-85.0511 deg (Leaflet's world square), ``width`` columns (default: the input's) and
    ``height`` rows (default: ``width``, square pixels at the equator scale). Nearest-neighbour.
    """
    image = np.asarray(image)
    n_rows, n_cols = image.shape[:2]
    width = n_cols if width is None else int(width)
    height = width if height is None else int(height)
    if height < 1 or width < 1:
        raise ValueError(f"height and width must be >= 1, got {height}, {width}")
    rows = mercator_row_index(float(resolution), float(north), n_rows, height)
    out = image[rows]
    if width != n_cols:
        cols = np.minimum((np.arange(width) + 0.5) * (n_cols / width), n_cols - 1).astype(np.int64)
        out = out[:, cols]
    return out


# ---------------------------------------------------------------------------------------------- PNG
def encode_png(image: np.ndarray, level: int = 1) -> bytes:
    """PNG bytes of a uint8 image: (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA."""
    img = np.ascontiguousarray(image)
    if img.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {img.dtype}")
    if img.ndim == 2:
        img = img[..., None]
    if img.ndim != 3 or img.shape[2] not in (1, 3, 4):
        raise ValueError(f"expected (H, W), (H, W, 3) or (H, W, 4), got shape {image.shape}")
    h, w, c = img.shape
    color_type = {1: 0, 3: 2, 4: 6}[c]
    raw = np.zeros((h, 1 + w * c), dtype=np.uint8)  # filter byte 0 (None) per row
    raw[:, 1:] = img.reshape(h, w * c)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 8, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw.tobytes(), level))
        + chunk(b"IEND", b"")
    )


def write_png(path: str | Path, image: np.ndarray) -> Path:
    """Write a uint8 image as PNG, atomically."""
    path = Path(path)
    data = encode_png(image, level=6)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path


# ---------------------------------------------------------------------------------------------- legend
@dataclass(frozen=True)
class Legend:
    """Colour scale of a map: colour map name, value range and label."""

    cmap: str
    vmin: float
    vmax: float
    label: str = ""
    below: bool = False  # some values lie below vmin (drawn in the end colour): the label reads "<= vmin"
    above: bool = False  # some values lie above vmax: "<= vmax" would hide them, the label reads ">= vmax"

    def ticks(self, n: int = 5) -> list[float]:
        return [float(v) for v in np.linspace(self.vmin, self.vmax, n)]

    def colors(self, n: int = 9) -> list[str]:
        """``n`` hex colours evenly spaced along the scale."""
        lut = colormap_lut(self.cmap)
        return [hex_color(lut[i]) for i in np.linspace(0, 255, n).round().astype(int)]

    def css_gradient(self, n: int = 9) -> str:
        """A CSS ``linear-gradient`` of the scale (for an HTML legend bar)."""
        return f"linear-gradient(to right, {', '.join(self.colors(n))})"

    def image(self, width: int = 256, height: int = 12) -> np.ndarray:
        """(height, width, 3) uint8 colour bar, low values on the left."""
        lut = colormap_lut(self.cmap)
        idx = np.linspace(0, 255, width).round().astype(np.int64)
        return np.repeat(lut[idx][None], height, axis=0)

    def html(self, width_px: int = 240, fmt: str = "{:.2f}") -> str:
        """A small self-contained HTML colour bar with end labels (with &le; / &ge; where values go beyond)."""
        return (
            f'<div style="font:12px sans-serif;width:{width_px}px">{self.label}'
            f'<div style="height:10px;background:{self.css_gradient()}"></div>'
            f'<div style="display:flex;justify-content:space-between">'
            f"<span>{'&le; ' if self.below else ''}{fmt.format(self.vmin)}</span>"
            f"<span>{'&ge; ' if self.above else ''}{fmt.format(self.vmax)}</span></div></div>"
        )


@dataclass(frozen=True)
class MapImage:
    """An RGBA image in Web Mercator ready for a Leaflet ``ImageOverlay``.

    ``rgba`` (h, w, 4) uint8; ``bounds`` ``((south, west), (north, east))`` in Leaflet order; ``legend``
    (None for RGB composites). Use ``mercator_project=False`` in folium: the image is already projected.
    """

    rgba: np.ndarray
    bounds: tuple[tuple[float, float], tuple[float, float]] = LEAFLET_BOUNDS
    legend: Legend | None = None

    def png(self, level: int = 1) -> bytes:
        return encode_png(self.rgba, level=level)

    def data_url(self) -> str:
        """``data:image/png;base64,...`` (an ImageOverlay URL that needs no file server)."""
        return "data:image/png;base64," + base64.b64encode(self.png()).decode("ascii")

    def save(self, path: str | Path) -> Path:
        return write_png(path, self.rgba)
