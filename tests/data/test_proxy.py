"""Transfer check on the imagery-derived proxy classes: continent boxes, probes, the ratio; PCA map colours."""

import numpy as np
import pytest

from satclip.data.proxy import centre_colour, colour_classes, continent_mask, transfer_scores


def test_continent_boxes():
    pts = np.array([[20.0, 0.0], [45.0, 25.0], [-60.0, -10.0], [100.0, 40.0], [0.0, 50.0], [-100.0, 40.0]])
    assert continent_mask(pts, "africa").tolist() == [True, False, False, False, False, False]  # Arabia is not
    assert continent_mask(pts, "south_america").tolist() == [False, False, True, False, False, False]
    assert continent_mask(pts, "asia").tolist() == [False, False, False, True, False, False]


def test_centre_colour_and_classes():
    img = np.zeros((4, 9, 9, 3), np.uint8)
    img[:, 2:7, 2:7] = np.array([10, 200, 10])  # centre differs from the border
    img[2:] = 250
    c = centre_colour(img)
    assert np.allclose(c[0], [10, 200, 10]) and np.allclose(c[3], 250)
    labels = colour_classes(c, k=2)
    assert labels[0] == labels[1] != labels[2] == labels[3]


def _world(n=1500, seed=0):
    rng = np.random.default_rng(seed)
    lonlat = np.stack([rng.uniform(-180, 180, n), rng.uniform(-60, 70, n)], 1)
    y = (np.sin(np.radians(lonlat[:, 1]) * 3) > 0).astype(int) + 2 * (np.cos(np.radians(lonlat[:, 0])) > 0)
    return lonlat, y, rng


def test_transfer_ratio_one_when_inputs_equal_and_low_for_noise():
    lonlat, y, rng = _world()
    feats = np.eye(4)[y] + 0.3 * rng.normal(size=(len(y), 4))
    same = transfer_scores(feats, feats, y, lonlat)
    assert same["transfer_ratio"] == pytest.approx(1.0) and same["holdout_img"] > 0.8
    noise = transfer_scores(rng.normal(size=(len(y), 4)), feats, y, lonlat)
    assert noise["transfer_ratio"] < 0.7
    assert {"africa_loc", "south_america_img", "asia_loc", "holdout_loc"} <= set(noise)


def test_mlp_probe_seeds_averaged():
    lonlat, y, rng = _world(600)
    feats = np.eye(4)[y] + 0.3 * rng.normal(size=(len(y), 4))
    s = transfer_scores(feats, feats, y, lonlat, probe="mlp", seeds=(0, 1))
    assert 0.5 < s["holdout_loc"] <= 1.0
    with pytest.raises(ValueError, match="unknown probe"):
        transfer_scores(feats, feats, y, lonlat, probe="svm")
