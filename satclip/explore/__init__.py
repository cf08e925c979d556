"""Exploration engine: global embedding grids, similarity maps, most-similar places, projections,
k-means regions and exports. Start with :class:`Explorer`; see docs/explore.md."""

from satclip.explore.clusters import Regions, kmeans_regions
from satclip.explore.explorer import Explorer
from satclip.explore.export import (
    embeddings_table,
    export_embeddings_geotiff,
    export_embeddings_table,
    export_field_geotiff,
    export_regions_geotiff,
    export_rgb_geotiff,
    export_similarity_geotiff,
    write_geotiff,
)
from satclip.explore.grid import EmbeddingGrid, build_grid, clear_memory_cache
from satclip.explore.places import PlaceIndex, load_places, nearest_places, place_index
from satclip.explore.projection import Projection, project
from satclip.explore.render import (
    LEAFLET_BOUNDS,
    MERCATOR_MAX_LAT,
    Legend,
    MapImage,
    colorize,
    encode_png,
    to_mercator,
)
from satclip.explore.similarity import SimilarityMap, similarity_map

__all__ = [
    "LEAFLET_BOUNDS",
    "MERCATOR_MAX_LAT",
    "EmbeddingGrid",
    "Explorer",
    "Legend",
    "MapImage",
    "PlaceIndex",
    "Projection",
    "Regions",
    "SimilarityMap",
    "build_grid",
    "clear_memory_cache",
    "colorize",
    "embeddings_table",
    "encode_png",
    "export_embeddings_geotiff",
    "export_embeddings_table",
    "export_field_geotiff",
    "export_regions_geotiff",
    "export_rgb_geotiff",
    "export_similarity_geotiff",
    "kmeans_regions",
    "load_places",
    "nearest_places",
    "place_index",
    "project",
    "similarity_map",
    "to_mercator",
    "write_geotiff",
]
