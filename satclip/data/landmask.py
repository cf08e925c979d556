"""Land/sea classification of points and patches, from the maintained ``global-land-mask`` package."""

from __future__ import annotations

import numpy as np

LAND, COAST, OCEAN = 0, 1, 2
KIND_NAMES = ("land", "coast", "ocean")


def is_land(lonlat: np.ndarray) -> np.ndarray:
    """Boolean land mask (1 km GLOBE-based) at (lon, lat) degrees, shape (N,)."""
    try:
        from global_land_mask import globe
    except ImportError as err:  # pragma: no cover - a declared dependency of the training extra
        raise ImportError("the land mask needs the 'global-land-mask' package: pip install global-land-mask") from err
    lonlat = np.asarray(lonlat, dtype=np.float64)
    lon = np.clip(lonlat[:, 0], -180.0, 179.999)
    lat = np.clip(lonlat[:, 1], -89.999, 89.999)
    return np.asarray(globe.is_land(lat, lon), dtype=bool)


def classify_kind(center_land: np.ndarray, land_fraction: np.ndarray) -> np.ndarray:
    """LAND where the centre is land, COAST where a water centre's patch holds land, else OCEAN."""
    kind = np.full(center_land.shape, OCEAN, dtype=np.int8)
    kind[(~center_land) & (land_fraction > 0)] = COAST
    kind[center_land] = LAND
    return kind
