"""Click-to-label classifier (issue 12): land/water pins on the bundled model, maps, exports, bad labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from satclip.downstream.offline_tasks import land_or_water
from satclip.explore.grid import build_grid
from satclip.explore.labels import LabelError, check_labels, label_map
from satclip.geo import sample_uniform_sphere


@pytest.fixture(scope="module")
def bluemarble():
    import satclip

    enc = satclip.load("satclip-bluemarble-l10")
    return enc, build_grid(enc, 2.0)


@pytest.fixture(scope="module")
def land_water_pins():
    pts = sample_uniform_sphere(400, np.random.default_rng(3))
    pts = pts[np.abs(pts[:, 1]) < 70]  # pins a user would click, away from the poles
    land = land_or_water(pts).astype(bool)
    pick = np.r_[np.flatnonzero(land)[:30], np.flatnonzero(~land)[:30]]
    return pts[pick], np.where(land[pick], "land", "water")


@pytest.mark.parametrize("probe", ["logistic", "knn"])
def test_land_water_pins_give_a_land_water_map_with_high_held_out_accuracy(bluemarble, land_water_pins, probe):
    enc, grid = bluemarble
    pts, labels = land_water_pins
    m = label_map(grid, pts, labels, enc, probe=probe)
    assert m.classes == ["land", "water"]
    assert m.held_out is not None and m.held_out.folds == 5 and m.held_out.n == 60
    assert m.held_out.accuracy >= 0.85, m.held_out.text()
    assert "held-out accuracy (5-fold CV over 60 pins)" in m.held_out.text()
    # the map itself agrees with the land mask on most of the globe between 60S and 60N
    cells = grid.points
    mid = np.abs(cells[:, 1]) < 60
    truth = land_or_water(cells[mid]) == 0  # water -> class 1
    agree = (m.predicted[mid] == truth.astype(int)).mean()
    assert agree > 0.8, agree
    assert np.all((m.uncertainty >= 0) & (m.uncertainty <= 1 + 1e-6))
    np.testing.assert_allclose(m.proba.sum(axis=1), 1.0, atol=1e-4)


def test_maps_and_exports(bluemarble, land_water_pins, tmp_path):
    import tifffile

    enc, grid = bluemarble
    pts, labels = land_water_pins
    m = label_map(grid, pts, labels, enc)
    img = m.class_image(opacity=0.8)
    assert img.rgba.shape[2] == 4 and img.legend is None and (img.rgba[..., 3] > 0).any()
    u = m.uncertainty_image()
    assert u.legend is not None and u.legend.vmin == 0 and u.legend.vmax == 1
    tif = tifffile.imread(m.export_geotiff(tmp_path / "labels.tif"))
    assert tif.shape == (*grid.shape, 4)
    np.testing.assert_allclose(tif[..., 1], grid.to_field(m.uncertainty), atol=1e-6, equal_nan=True)
    back = pd.read_parquet(m.export_table(tmp_path / "labels.parquet"))
    assert list(back.columns) == ["lon", "lat", "class", "confidence", "uncertainty", "p_land", "p_water"]
    assert len(back) == grid.n_cells and set(back["class"]) <= {"land", "water"}
    with pytest.raises(ValueError, match=r"use \.parquet or \.csv"):
        m.export_table(tmp_path / "labels.xlsx")


def test_held_out_needs_two_pins_per_class(bluemarble):
    enc, grid = bluemarble
    m = label_map(grid, [(10, 25), (45, 23), (-30, 30)], ["desert", "desert", "sea"], enc)
    assert m.held_out is None and m.classes == ["desert", "sea"]
    assert m.predicted[grid.cell_index(np.array([[10.0, 25.0]]))[0]] == 0


@pytest.mark.parametrize(
    ("labels", "words"),
    [
        (["a", "a", "a"], "at least two classes; all 3 pins are 'a'"),
        (["a", "", "b"], "without a class name at rows [1]"),
        (["a", None, "b"], "without a class name at rows [1]"),
        ([], "there are none"),
    ],
)
def test_bad_labels_are_named(labels, words):
    with pytest.raises(LabelError) as info:
        check_labels(labels)
    assert words in str(info.value)


def test_mismatched_pins_and_unknown_probe(bluemarble):
    enc, grid = bluemarble
    with pytest.raises(LabelError, match="3 pins but 2 labels"):
        label_map(grid, [(0, 0), (1, 1), (2, 2)], ["a", "b"], enc)
    with pytest.raises(LabelError, match="unknown probe 'svm'"):
        label_map(grid, [(0, 0), (1, 1)], ["a", "b"], enc, probe="svm")
