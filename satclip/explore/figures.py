"""Static figures (matplotlib, optional) of grid fields and RGB maps, with land outlines: for docs,
papers and notebooks. Interactive maps use :class:`~satclip.explore.render.MapImage` instead."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np

from satclip.cache import atomic_path
from satclip.explore.grid import EmbeddingGrid
from satclip.explore.render import colormap_lut


@functools.lru_cache(maxsize=2)
def _land_outline(resolution: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from satclip.data.landmask import land_mask

    lons = np.arange(-180 + resolution / 2, 180, resolution)
    lats = np.arange(90 - resolution / 2, -90, -resolution)
    return lons, lats, land_mask(lons, lats).astype(np.float32)


def plot_map(
    grid: EmbeddingGrid,
    image: np.ndarray,
    path: str | Path | None = None,
    *,
    title: str = "",
    cmap: str = "magma",
    vmin: float | None = None,
    vmax: float | None = None,
    label: str = "",
    markers: Any = None,
    outline: bool = True,
    dpi: int = 110,
) -> Any:
    """Plot an (H, W) field or (H, W, 3) RGB image of ``grid`` on a plate carrée map; optional
    colour bar (fields), land outline and (lon, lat) ``markers``. Saves to ``path`` (atomically) if
    given and returns the matplotlib figure."""
    try:
        from matplotlib.colors import ListedColormap

        from satclip.plotting import pyplot

        plt = pyplot()
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("figures need matplotlib: pip install matplotlib") from err
    image = np.asarray(image)
    west, south, east, north = grid.bounds
    fig, ax = plt.subplots(figsize=(10, 5.4), dpi=dpi, layout="constrained")
    if image.ndim == 2:
        lut = ListedColormap(colormap_lut(cmap) / 255.0)
        im = ax.imshow(
            image, extent=(west, east, south, north), cmap=lut, vmin=vmin, vmax=vmax, interpolation="nearest"
        )
        fig.colorbar(im, ax=ax, shrink=0.75, label=label, pad=0.01)
    else:
        rgba = np.nan_to_num(image.astype(np.float32), nan=1.0)
        ax.imshow(np.clip(rgba, 0, 1), extent=(west, east, south, north), interpolation="nearest")
    if outline:
        lons, lats, land = _land_outline(0.25)
        colour = "white" if image.ndim == 2 else "black"
        ax.contour(lons, lats, land, levels=[0.5], colors=colour, linewidths=0.4, alpha=0.7)
    if markers is not None:
        pts = np.atleast_2d(np.asarray(markers, dtype=float))
        ax.plot(
            pts[:, 0], pts[:, 1], marker="*", color="cyan", markeredgecolor="black", markersize=14, linestyle="none"
        )
    ax.set_xlim(-180, 180)
    ax.set_ylim(-90, 90)
    ax.set_xticks(range(-180, 181, 60))
    ax.set_yticks(range(-90, 91, 30))
    ax.set_title(title)
    if path is not None:
        path = Path(path)
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            fig.savefig(f, format=path.suffix.lstrip(".") or "png")
        plt.close(fig)
    return fig
