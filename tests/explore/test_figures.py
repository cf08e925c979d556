"""Static figures: plot_map draws fields and RGB maps and leaves the caller's matplotlib backend alone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from satclip.explore.figures import plot_map
from satclip.explore.grid import EmbeddingGrid


@pytest.fixture
def svg_backend() -> Iterator[None]:
    """A backend other than Agg selected by the caller (as a notebook selects its inline backend)."""
    before = matplotlib.get_backend()
    plt.switch_backend("svg")
    yield
    plt.switch_backend(before)


@pytest.mark.usefixtures("svg_backend")
def test_plot_map_keeps_the_callers_backend(grid2: EmbeddingGrid, tmp_path: Path) -> None:
    field = grid2.to_field(grid2.points[:, 1])
    fig = plot_map(grid2, field, label="lat", markers=[(2.35, 48.85)])
    assert matplotlib.get_backend() == "svg"  # was switched to Agg: a notebook stopped showing later figures
    assert len(fig.axes) == 2  # map + colour bar
    plt.close(fig)
    rgb = np.random.default_rng(0).random((*grid2.shape, 3))
    plot_map(grid2, rgb, tmp_path / "rgb.png", outline=False)
    assert (tmp_path / "rgb.png").stat().st_size > 1000
    assert matplotlib.get_backend() == "svg"
