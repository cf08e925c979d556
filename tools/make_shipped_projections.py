"""Regenerate the UMAP layouts shipped with the bundled models: ``python tools/make_shipped_projections.py``.

For every bundled model and every grid resolution in :data:`satclip.explore.shipped.SHIPPED_RESOLUTIONS`, fits
the UMAP sample layout exactly as ``satclip.explore.project(grid, "umap", 3)`` does at its defaults (seed 0,
the app's and ``satclip explore-map umap``'s settings) and writes it to ``satclip/weights/projections`` under
the projection's cache key; files no longer produced are removed. Run it after any change to the bundled
models, the grid or the UMAP pipeline (a test fails until then: the shipped keys no longer match).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from satclip import __version__, load
from satclip.explore.grid import build_grid
from satclip.explore.projection import _settings, fit_umap_sample, projection_key
from satclip.explore.shipped import SHIPPED_DIR, SHIPPED_RESOLUTIONS, save_shipped_layout
from satclip.registry import BUNDLED

N_COMPONENTS = 3


def main() -> None:
    import umap

    written = set()
    for name in sorted(BUNDLED):
        encoder = load(name)
        for resolution in SHIPPED_RESOLUTIONS:
            grid = build_grid(encoder, resolution, progress=True)
            _, settings = _settings(grid, "umap", N_COMPONENTS, 0, None, {})  # project()'s defaults
            key = projection_key(grid, "umap", N_COMPONENTS, settings)
            t0 = time.perf_counter()
            index, layout = fit_umap_sample(grid, N_COMPONENTS, **settings)
            meta = {
                "model": name,
                "resolution": resolution,
                "n_components": N_COMPONENTS,
                "settings": settings,
                "satclip": __version__,
                "umap_learn": umap.__version__,
            }
            path = save_shipped_layout(grid, key, index, layout, meta)
            written.add(path.name)
            print(
                f"{name} {resolution} deg: {path.name} ({path.stat().st_size / 1024:.0f} KiB, "
                f"fit {time.perf_counter() - t0:.1f} s)",
                flush=True,
            )
    for old in SHIPPED_DIR.glob("*.npz"):
        if old.name not in written:
            old.unlink()
            print(f"removed {old.name}")
    total = sum(p.stat().st_size for p in SHIPPED_DIR.glob("*.npz"))
    print(f"{len(written)} layouts, {total / 1024:.0f} KiB in {SHIPPED_DIR}")


if __name__ == "__main__":
    main()
