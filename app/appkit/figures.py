"""Static matplotlib maps for the app (offline: the Blue Marble as background, plate carrée)."""

from __future__ import annotations

import functools

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from appkit.web_assets import AssetError, bluemarble_source


@functools.lru_cache(maxsize=1)
def _background(width: int = 1080) -> np.ndarray | None:
    """The Blue Marble, downsampled, dimmed; None if unavailable."""
    try:
        from PIL import Image

        with Image.open(bluemarble_source()) as im:
            arr = np.asarray(im.convert("RGB").resize((width, width // 2)), dtype=np.float32) / 255.0
    except (AssetError, OSError, ImportError):
        return None
    return arr * 0.6


def point_map(
    df: pd.DataFrame,
    column: str,
    label: str,
    vmin: float | None = None,
    vmax: float | None = None,
    cmap: str = "viridis",
) -> Figure:
    """Points of ``df`` (lon, lat) coloured by ``column`` over the Blue Marble."""
    fig, ax = plt.subplots(figsize=(7.2, 3.9), dpi=100)
    bg = _background()
    if bg is not None:
        ax.imshow(bg, extent=(-180, 180, -90, 90), origin="upper", interpolation="bilinear")
    else:
        ax.set_facecolor("#1b2430")
    sc = ax.scatter(df["lon"], df["lat"], c=df[column], s=10, cmap=cmap, vmin=vmin, vmax=vmax, linewidths=0)
    fig.colorbar(sc, ax=ax, shrink=0.8, label=label)
    ax.set(xlim=(-180, 180), ylim=(-90, 90), xlabel="lon", ylabel="lat", title=label)
    fig.tight_layout()
    plt.close(fig)
    return fig


def embedding_chart(emb: np.ndarray, labels: list[str]) -> tuple[pd.DataFrame, dict]:
    """(data, Vega-Lite spec) of embedding vectors as lines over their dimensions. Both scale domains are given,
    so Vega never derives an extent from a momentarily empty dataset ('Infinite extent' console warnings that
    ``st.line_chart`` caused while the page redrew)."""
    data = pd.DataFrame(
        {
            "dimension": np.tile(np.arange(emb.shape[1]), len(labels)),
            "place": np.repeat(labels, emb.shape[1]),
            "value": emb[: len(labels)].ravel(),
        }
    )
    lo, hi = float(np.min(emb)), float(np.max(emb))
    pad = 0.05 * (hi - lo) or 1.0
    spec = {
        "mark": {"type": "line", "strokeWidth": 1.2},
        "encoding": {
            "x": {"field": "dimension", "type": "quantitative", "scale": {"domain": [0, emb.shape[1] - 1]}},
            "y": {"field": "value", "type": "quantitative", "scale": {"domain": [lo - pad, hi + pad]}},
            "color": {"field": "place", "type": "nominal", "scale": {"domain": labels}},
        },
    }
    return data, spec
