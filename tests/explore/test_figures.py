"""Static figures: plot_map draws fields and RGB maps and leaves the caller's matplotlib backend alone."""

from __future__ import annotations

import os
import subprocess
import sys
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


SCRIPT = """
import matplotlib
import numpy as np
from satclip.explore.figures import plot_map
from satclip.explore.grid import EmbeddingGrid

lons, lats = np.arange(-175.0, 180, 10), np.arange(85.0, -90, -10)
grid = EmbeddingGrid(10.0, lons, lats, np.ones((18, 36), bool), np.zeros((18 * 36, 4), np.float16))
plot_map(grid, np.zeros((18, 36)), outline=False)
print(matplotlib.get_backend().lower())
"""


@pytest.mark.parametrize(("mplbackend", "expected"), [("svg", "svg"), ("", "agg")])
def test_plot_map_backend_before_pyplot_is_imported(mplbackend: str, expected: str) -> None:
    """ipykernel selects its inline backend through MPLBACKEND before any pyplot import; a script gets Agg."""
    env = {**os.environ, "MPLBACKEND": mplbackend}
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == expected
