"""Splits: disjointness, coverage, and continent hold-outs that really hold a continent out."""

import numpy as np
import pytest

from satclip.downstream.splits import block_cv, block_ids, continent_holdout, make_folds, random_split
from satclip.geo import sample_uniform_sphere
from tests.assets_helper import real_assets, require_asset  # noqa: F401


def test_random_split_partitions():
    (f,) = random_split(1000, 0.2, seed=3)
    assert len(f.test) == 200 and len(f.train) == 800
    assert not set(f.train) & set(f.test)
    assert set(f.train) | set(f.test) == set(range(1000))
    assert not np.array_equal(random_split(1000, 0.2, seed=4)[0].test, f.test)


def test_block_cv_keeps_blocks_on_one_side():
    pts = sample_uniform_sphere(3000, 1)
    folds = block_cv(pts, block_deg=15.0, k=4, seed=0)
    ids = block_ids(pts, 15.0)
    tested = np.concatenate([f.test for f in folds])
    assert np.array_equal(np.sort(tested), np.arange(3000))  # every point tested exactly once
    for f in folds:
        assert not set(ids[f.train]) & set(ids[f.test])  # no block on both sides
        assert len(f.train) + len(f.test) == 3000


def test_block_ids_geometry():
    ids = block_ids(np.array([[-179.9, -89.9], [-170.1, -80.1], [-169.9, -89.9], [180.0, 90.0]]), 10.0)
    assert ids[0] == ids[1] and ids[0] != ids[2]
    assert ids[3] == block_ids(np.array([[179.9, 89.9]]), 10.0)[0]


def test_split_errors():
    pts = sample_uniform_sphere(50, 0)
    with pytest.raises(ValueError, match="k >= 2"):
        block_cv(pts, 10.0, k=1)
    with pytest.raises(ValueError, match="occupied"):
        block_cv(np.zeros((10, 2)), 10.0, k=3)
    with pytest.raises(ValueError, match="unknown split"):
        make_folds("nope", pts, np.array(["Asia"] * 50))
    with pytest.raises(ValueError, match="no held-out continent"):
        continent_holdout(np.array(["Europe"] * 50), ("Africa",))
    with pytest.raises(ValueError, match="test_fraction"):
        random_split(10, 1.5)


@pytest.mark.usefixtures("real_assets")
def test_continent_holdout_has_no_training_points_on_that_continent():
    require_asset("naturalearth-lowres")
    from satclip.downstream.naturalearth import load_countries

    countries = load_countries()
    pts = sample_uniform_sphere(20000, 7)
    inside = countries.country_index(pts)
    pts = pts[inside >= 0]  # points on land polygons
    continent = countries.continent_of(pts)
    folds = continent_holdout(continent, ("Africa", "Asia", "South America"))
    assert [f.label for f in folds] == ["Africa", "Asia", "South America"]
    for f in folds:
        assert (continent[f.test] == f.label).all() and (continent[f.train] != f.label).all()
        assert len(f.train) + len(f.test) == len(pts)
        # geometric check, independent of the labels: no training point inside a country of that continent
        owner = np.asarray(countries.continents)[countries.country_index(pts[f.train])]
        assert not (owner == f.label).any()
    africa = folds[0]
    lon, lat = pts[africa.test, 0], pts[africa.test, 1]
    assert lon.min() > -26 and lon.max() < 64 and lat.min() > -36 and lat.max() < 38


def test_random_kfold_partitions_and_table_split_labels():
    from satclip.downstream.splits import parse_split_labels, random_kfold, table_split
    from satclip.tables import TableError

    folds = random_kfold(103, 4, seed=1)
    assert [f.label for f in folds] == ["fold0", "fold1", "fold2", "fold3"]
    assert np.array_equal(np.sort(np.concatenate([f.test for f in folds])), np.arange(103))
    assert all(not set(f.train) & set(f.test) and len(f.train) + len(f.test) == 103 for f in folds)
    with pytest.raises(ValueError, match="2 <= k"):
        random_kfold(5, 6)
    labels = parse_split_labels([" Train", "VALID", "test", "validation", "train"])
    assert labels.tolist() == ["train", "val", "test", "val", "train"]
    (f,) = table_split(labels)
    assert f.train.tolist() == [0, 4] and f.val.tolist() == [1, 3] and f.test.tolist() == [2]
    with pytest.raises(TableError, match="no 'train' rows"):
        parse_split_labels(["test", "val"])
