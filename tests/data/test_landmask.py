"""The one land-mask reader (``satclip.data.landmask``): agrees with the ``global-land-mask`` package point for
point and cell for cell, frees its ~0.9 GB after use, refuses bad coordinates instead of clipping them."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from satclip.data.landmask import GlobeLandMask, land_mask_grid
from satclip.errors import CoordinateError
from satclip.geo import lonlat_grid, sample_uniform_sphere

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def globe_mask():
    with GlobeLandMask() as mask:
        yield mask


def test_points_and_grid_agree_with_the_package(globe_mask) -> None:
    from global_land_mask import globe

    pts = np.concatenate(
        [
            sample_uniform_sphere(20_000, seed=3),
            [[-180.0, -90.0], [180.0, 90.0], [179.9999, 0.0], [2.35, 48.86], [-150.0, 0.0], [0.0, -85.0]],
        ]
    )
    np.testing.assert_array_equal(globe_mask.is_land(pts), globe.is_land(pts[:, 1], pts[:, 0]))
    lons, lats, _ = lonlat_grid(2.0)
    lon2, lat2 = np.meshgrid(lons, lats)
    np.testing.assert_array_equal(land_mask_grid(lons, lats), globe.is_land(lat2, lon2))
    assert globe_mask.is_land([[2.35, 48.86], [-150.0, 0.0]]).tolist() == [True, False]  # Paris, the Pacific


@pytest.mark.parametrize(
    ("pts", "message"),
    [
        ([[0.0, 91.0]], "latitude outside"),
        ([[0.0, 0.0], [np.nan, 0.0]], "row 1"),
        ([[200.0, 0.0]], "longitude outside"),
    ],
)
def test_bad_points_are_refused_not_clipped(globe_mask, pts, message) -> None:
    with pytest.raises(CoordinateError, match=message):
        globe_mask.is_land(np.array(pts))


def test_bad_grid_axes_are_refused() -> None:
    with pytest.raises(CoordinateError, match="latitude outside"):
        land_mask_grid(np.array([0.0, 1.0]), np.array([0.0, 95.0]))


def test_the_mask_is_read_only_inside_its_block() -> None:
    mask = GlobeLandMask()
    with pytest.raises(RuntimeError, match="with"):
        mask.is_land(np.zeros((1, 2)))


def test_a_lookup_frees_the_decompressed_mask() -> None:
    """Importing ``global_land_mask.globe`` (the old reader) kept 0.9 GB for the life of a training process."""
    code = textwrap.dedent(
        """
        import gc, sys
        import numpy as np
        from satclip.data.landmask import is_land

        def rss_mb():
            for line in open("/proc/self/status"):
                if line.startswith("VmRSS"):
                    return int(line.split()[1]) / 1024

        before = rss_mb()
        land = is_land(np.array([[2.35, 48.86], [-150.0, 0.0]]))
        gc.collect()
        print(land.tolist(), "global_land_mask.globe" in sys.modules, rss_mb() - before)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
        check=True,
    ).stdout.split()
    assert out[:3] == ["[True,", "False]", "False"]
    assert float(out[3]) < 200, f"{out[3]} MB still held after the lookup"


def test_without_the_package_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from satclip.errors import MissingExtraError

    monkeypatch.setitem(sys.modules, "global_land_mask", None)  # what an import of a missing package sees
    with pytest.raises(MissingExtraError, match=r"pip install 'satclip\[explore\]'"), GlobeLandMask():
        pass


def test_land_mask_is_computed_once_when_asked_at_the_same_time(tmp_path, monkeypatch):
    """The app asked for the same grid's land mask from three script runs at once (a stale run, the Downstream
    task, the return to Explore), each decompressing the 1 km mask: Explore took 20 s to come back."""
    import threading
    import time

    from satclip.data import landmask

    calls = []

    def slow(lons, lats):
        calls.append(1)
        time.sleep(0.5)
        return np.zeros((lats.size, lons.size), dtype=bool)

    monkeypatch.setenv("SATCLIP_CACHE", str(tmp_path))  # the all-sea stand-in stays out of the shared cache
    monkeypatch.setattr(landmask, "land_mask_grid", slow)
    lons, lats, _ = lonlat_grid(10.0)
    threads = [threading.Thread(target=landmask.land_mask, args=(lons, lats)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1


def test_land_mask_reads_the_1km_mask_without_holding_it():
    """The 1 km mask is 933 MB once decompressed: streamed a block of rows at a time it never is whole."""
    import tracemalloc

    from satclip.data.landmask import land_mask

    lons, lats, _ = lonlat_grid(5.0)
    tracemalloc.start()
    try:
        mask = land_mask(lons, lats, cache=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert 0.25 < mask.mean() < 0.4
    assert peak < 100 * 2**20, f"peak {peak / 2**20:.0f} MiB"
