"""Natural Earth admin-0 countries (1:110m, as shipped by geopandas 0.14.4): a small shapefile reader,
point-in-country and continent lookup with shapely. No geopandas or pyshp needed."""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon

from satclip.data.assets import asset_path

CONTINENTS = ("Africa", "Antarctica", "Asia", "Europe", "North America", "Oceania", "South America")


def read_dbf(path: str | Path, encoding: str = "latin-1") -> list[dict[str, object]]:
    """Records of a dBase III table as dicts (N = float, C = stripped str)."""
    raw = Path(path).read_bytes()
    n_records, header_len, record_len = struct.unpack_from("<IHH", raw, 4)
    fields, pos = [], 32
    while raw[pos] != 0x0D:
        name = raw[pos : pos + 11].split(b"\0", 1)[0].decode("ascii")
        fields.append((name, chr(raw[pos + 11]), raw[pos + 16]))
        pos += 32
    rows = []
    for i in range(n_records):
        off = header_len + i * record_len + 1  # skip the deletion flag
        row: dict[str, object] = {}
        for name, ftype, length in fields:
            text = raw[off : off + length].decode(encoding).strip()
            off += length
            row[name] = (float(text) if text else float("nan")) if ftype in "NF" else text
        rows.append(row)
    return rows


def read_shp_polygons(path: str | Path) -> list[MultiPolygon]:
    """Polygon records (shape type 5) of an ESRI shapefile as shapely MultiPolygons.

    Outer rings are clockwise and holes counter-clockwise (the shapefile convention); each hole is
    attached to the outer ring that contains it.
    """
    raw = Path(path).read_bytes()
    if struct.unpack_from(">i", raw, 0)[0] != 9994:
        raise ValueError(f"{path} is not an ESRI shapefile")
    out, pos = [], 100
    while pos < len(raw):
        _, words = struct.unpack_from(">ii", raw, pos)
        content = pos + 8
        shape_type = struct.unpack_from("<i", raw, content)[0]
        if shape_type != 5:
            raise ValueError(f"{path}: expected polygon records (type 5), found type {shape_type}")
        n_parts, n_points = struct.unpack_from("<ii", raw, content + 36)
        parts = [*list(struct.unpack_from(f"<{n_parts}i", raw, content + 44)), n_points]
        pts = np.frombuffer(raw, "<f8", 2 * n_points, content + 44 + 4 * n_parts).reshape(-1, 2)
        rings = [pts[parts[k] : parts[k + 1]] for k in range(n_parts)]
        shells = [r for r in rings if not shapely.is_ccw(shapely.LinearRing(r))]
        holes = [r for r in rings if shapely.is_ccw(shapely.LinearRing(r))]
        polys = []
        for shell in shells:
            sp = Polygon(shell)
            mine = [h for h in holes if sp.contains(shapely.Point(h[0]))]
            polys.append(Polygon(shell, mine))
        out.append(MultiPolygon(polys))
        pos = content + 2 * words
    return out


@dataclass
class Countries:
    """Country polygons with names, ISO codes and continents; vectorised point lookups."""

    names: list[str]
    iso_a3: list[str]
    continents: list[str]
    geoms: list[MultiPolygon]

    def __post_init__(self) -> None:
        self.tree = shapely.STRtree(self.geoms)

    def country_index(self, lonlat: np.ndarray) -> np.ndarray:
        """Index of the country containing each point, -1 outside every polygon."""
        pts = shapely.points(lonlat[:, 0], lonlat[:, 1])
        src, dst = self.tree.query(pts, predicate="within")
        out = np.full(len(lonlat), -1, dtype=np.int64)
        out[src] = dst
        return out

    def nearest_index(self, lonlat: np.ndarray) -> np.ndarray:
        """Index of the containing country, or else the nearest one (planar degrees)."""
        idx = self.country_index(lonlat)
        miss = np.flatnonzero(idx < 0)
        if miss.size:
            pts = shapely.points(lonlat[miss, 0], lonlat[miss, 1])
            src, dst = self.tree.query_nearest(pts, all_matches=False)
            idx[miss[src]] = dst
        return idx

    def continent_of(self, lonlat: np.ndarray) -> np.ndarray:
        """Continent name of each point: the containing or nearest country's (Natural Earth's; Russia is Europe)."""
        cont = np.asarray(self.continents, dtype=object)
        return cont[self.nearest_index(lonlat)].astype(str)


@functools.cache
def load_countries() -> Countries:
    """Natural Earth low-res countries from the fetched ``naturalearth-lowres`` asset."""
    shp = asset_path("naturalearth-lowres")
    dbf = asset_path("naturalearth-lowres", "geopandas/datasets/naturalearth_lowres/naturalearth_lowres.dbf")
    rows = read_dbf(dbf)
    geoms = read_shp_polygons(shp)
    if len(rows) != len(geoms):
        raise ValueError(f"{shp}: {len(geoms)} shapes but {len(rows)} attribute records")
    return Countries(
        [str(r["name"]) for r in rows],
        [str(r["iso_a3"]) for r in rows],
        [str(r["continent"]) for r in rows],
        geoms,
    )
