"""Tasks on the real data files: known places, valid areas, determinism, caching, user tables."""

import numpy as np
import pandas as pd
import pytest

from satclip.downstream import sources
from satclip.downstream.tasks import TASKS, load_table, load_task, sample_valid
from tests.assets_helper import real_assets, require_asset  # noqa: F401

pytestmark = pytest.mark.usefixtures("real_assets")

PLACES = {  # (lon, lat)
    "sahara": (10.0, 25.0),
    "antarctica": (0.0, -80.0),
    "amazon": (-62.0, -3.0),
    "tibet": (88.0, 32.0),
    "netherlands": (5.0, 52.3),
    "greenland": (-40.0, 72.0),
    "paris": (2.35, 48.86),
    "nairobi": (36.82, -1.29),
    "moscow": (37.62, 55.75),
    "atlantic": (-30.0, 30.0),
}


def at(*names):
    return np.array([PLACES[n] for n in names], dtype=np.float64)


def test_era5_known_places():
    require_asset("era5-climatology")
    t = sources.era5_temperature(at("sahara", "antarctica", "amazon", "greenland"))
    assert t[0] > 20 and t[1] < -20 and 24 < t[2] < 30 and t[3] < -10
    p = np.log1p(sources.era5_precipitation(at("amazon", "sahara")))
    assert p[0] > np.log1p(1500) and p[1] < np.log1p(100)


def test_altitude_and_landcover_known_places():
    require_asset("altitude")
    require_asset("modis-landcover")
    alt = sources.altitude_m(at("tibet", "netherlands", "atlantic"))
    assert alt[0] > 4000 and alt[1] < 100 and np.isnan(alt[2])
    lc = sources.landcover_igbp(at("amazon", "greenland", "sahara", "atlantic"))
    assert list(lc) == [2, 15, 16, 0]  # evergreen broadleaf, snow/ice, barren, water


def test_countries_urbanisation_known_places():
    require_asset("naturalearth-lowres")
    require_asset("degurba")
    from satclip.downstream.naturalearth import load_countries

    c = load_countries()
    idx = c.country_index(at("paris", "nairobi", "atlantic"))
    assert [c.names[i] for i in idx[:2]] == ["France", "Kenya"] and idx[2] == -1
    assert list(c.continent_of(at("nairobi", "moscow", "amazon"))) == ["Africa", "Europe", "South America"]
    codes = sources.degurba_code(at("paris", "sahara"))
    assert codes[0] == 30 and codes[1] in (11, 255)


def test_sample_valid_is_area_uniform_and_seeded():
    pts = sample_valid(lambda ll: np.ones(len(ll), bool), 20000, seed=5)
    frac_tropics = (np.abs(pts[:, 1]) < 30).mean()  # band area fraction sin(30 deg) = 0.5
    assert abs(frac_tropics - 0.5) < 0.02
    north = sample_valid(lambda ll: ll[:, 1] > 0, 500, seed=5)
    assert len(north) == 500 and (north[:, 1] > 0).all()
    np.testing.assert_array_equal(north, sample_valid(lambda ll: ll[:, 1] > 0, 500, seed=5))
    with pytest.raises(RuntimeError, match="could not draw"):
        sample_valid(lambda ll: np.zeros(len(ll), bool), 10, seed=0, max_rounds=2)


@pytest.mark.parametrize("name", list(TASKS))
def test_task_points_targets_and_cache(name):
    for a in TASKS[name].assets:
        require_asset(a)
    require_asset("naturalearth-lowres")
    d = load_task(name, n=400, seed=11)
    assert len(d) == 400 and d.lonlat.shape == (400, 2) and d.kind == TASKS[name].kind
    assert TASKS[name].valid(d.lonlat).all()
    assert set(np.unique(d.continent)) <= {
        "Africa",
        "Antarctica",
        "Asia",
        "Europe",
        "North America",
        "Oceania",
        "South America",
        "Seven seas (open ocean)",
    }
    if d.kind == "regression":
        assert np.isfinite(d.y).all() and d.y.std() > 0
    else:
        assert d.y.min() >= 0 and d.y.max() < len(d.class_names) and len(np.unique(d.y)) >= 2
    again = load_task(name, n=400, seed=11)
    np.testing.assert_array_equal(again.lonlat, d.lonlat)
    np.testing.assert_array_equal(again.y, d.y)
    other = load_task(name, n=400, seed=12)
    assert not np.array_equal(other.lonlat, d.lonlat)
    if name == "elevation":
        assert np.abs(d.lonlat[:, 1]).max() <= 60


def test_user_table_csv_and_parquet(tmp_path):
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "longitude": rng.uniform(-180, 180, 50),
            "lat": rng.uniform(-60, 60, 50),
            "y": rng.normal(size=50),
            "label": rng.choice(["a", "b"], 50),
        }
    )
    df.to_csv(tmp_path / "t.csv", index=False)
    df.to_parquet(tmp_path / "t.parquet")
    reg = load_table(tmp_path / "t.csv", "y")
    assert reg.kind == "regression" and reg.name == "t" and len(reg) == 50
    np.testing.assert_allclose(reg.lonlat[:, 0], df.longitude)
    cls = load_table(tmp_path / "t.parquet", "label")
    assert cls.kind == "classification" and cls.class_names == ["a", "b"]
    with pytest.raises(KeyError, match="target column 'nope'"):
        load_table(tmp_path / "t.csv", "nope")
    df.loc[3, "y"] = np.nan
    df.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(ValueError, match="missing at rows"):
        load_table(tmp_path / "bad.csv", "y")
    with pytest.raises(FileNotFoundError):
        load_table(tmp_path / "none.csv", "y")
