"""PCA false-colour map of a location embedding over a global grid: a quick look at what a model learned.

    python -m satclip.data.pca_map satclip-bluemarble-l10 docs/pca-bluemarble-l10.png [--resolution 1.0] [--fit-on land]

The first three principal components of the embedding on a ``resolution``-degree grid become R, G, B
(each stretched to its 1st-99th percentile). A good model shows smooth regions (deserts,
rainforests, the boreal belt, ice sheets), not a mottled texture.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from satclip.geo import lonlat_grid


def pca_rgb(embedding: np.ndarray, shape: tuple[int, int], fit_mask: np.ndarray | None = None) -> np.ndarray:
    """(H*W, D) embedding -> uint8 (H, W, 3) image of its first three principal components.

    ``fit_mask`` selects the cells the components and colour stretch are fitted on (e.g. land,
    so that the land/sea contrast does not take all three colours); every cell is coloured.
    """
    fit = embedding if fit_mask is None else embedding[fit_mask]
    mean = fit.mean(axis=0)
    _, _, vt = np.linalg.svd((fit - mean)[:: max(1, len(fit) // 20000)].astype(np.float64), full_matrices=False)
    pcs = (embedding.astype(np.float64) - mean) @ vt[:3].T
    ref = pcs if fit_mask is None else pcs[fit_mask]
    lo, hi = np.percentile(ref, 1, axis=0), np.percentile(ref, 99, axis=0)
    rgb = np.clip((pcs - lo) / np.where(hi > lo, hi - lo, 1.0), 0, 1)
    return (rgb.reshape(*shape, 3) * 255).round().astype(np.uint8)


def write_pca_map(model: str, out: str | Path, resolution: float = 1.0, scale: int = 3, fit_on: str = "all") -> Path:
    """Embed a global grid with ``satclip.load(model)`` and save the PCA false-colour PNG.

    ``fit_on="land"`` fits the components on land cells (readable land regions; oceans are
    coloured by the same projection), ``"all"`` on every cell.
    """
    from PIL import Image

    from satclip.registry import load

    enc = load(model)
    lons, lats, pts = lonlat_grid(resolution)
    mask = None
    if fit_on == "land":
        from satclip.data.landmask import is_land

        mask = is_land(pts)
    img = pca_rgb(enc.embed(pts), (len(lats), len(lons)), mask)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).resize((img.shape[1] * scale, img.shape[0] * scale), Image.NEAREST).save(out)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description="PCA false-colour map of a location embedding")
    p.add_argument("model", help="bundled model name or model file path")
    p.add_argument("out", help="output PNG")
    p.add_argument("--resolution", type=float, default=1.0, help="grid spacing in degrees")
    p.add_argument("--fit-on", choices=("land", "all"), default="all", help="cells the PCA is fitted on")
    a = p.parse_args()
    print(write_pca_map(a.model, a.out, a.resolution, fit_on=a.fit_on))


if __name__ == "__main__":
    main()
