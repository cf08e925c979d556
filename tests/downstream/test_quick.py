"""The app's quick tasks are registered tasks of the suite, evaluated by the suite's own engine."""

import numpy as np
import pandas as pd
import pytest

from satclip.downstream.quick import CONSTANT, baseline_encoders, quick_evaluate, task_folds
from satclip.downstream.tasks import DEFAULT_TASKS, TASKS, infer_kind, load_task, required_assets, table_task


def test_offline_tasks_are_registered_but_not_in_the_default_suite():
    for name in ("land_or_water", "city_population"):
        assert TASKS[name].offline and name not in DEFAULT_TASKS and required_assets([name]) == []
    assert "air_temperature" in DEFAULT_TASKS and "naturalearth-lowres" in required_assets(["air_temperature"])


def test_land_or_water_offline_has_known_places_and_unknown_continents():
    t = load_task("land_or_water", 400, seed=1)
    assert t.kind == "classification" and t.class_names == ["water", "land"] and len(t) == 400
    assert 0.2 < t.y.mean() < 0.4  # about 29 % of Earth's surface is land
    assert (t.continent == "unknown").all()  # naturalearth is not fetched in the isolated test cache
    from satclip.downstream.offline_tasks import land_or_water

    assert land_or_water(np.array([[10.0, 25.0], [-30.0, 30.0], [-62.0, -3.0]])).tolist() == [1, 0, 1]


def test_city_population_is_cities():
    t = load_task("city_population", 300, seed=0)
    assert t.kind == "regression" and len(t) == 300 and t.y.min() >= np.log10(15_000) - 1e-9


def test_quick_evaluate_ranks_embedding_features_above_the_constant():
    t = load_task("land_or_water", 600, seed=0)
    res = quick_evaluate(t, baseline_encoders(), "block", "ridge")
    m = res.metrics.set_index("encoder")
    assert list(m.index) == list(baseline_encoders()) and (m["folds"] == 5).all()
    assert m.loc["spherical harmonics L=10 (untrained)", "accuracy"] > m.loc[CONSTANT, "accuracy"] + 0.05
    assert len(res.predictions) == 3 * 600 and set(res.predictions.columns) >= {"encoder", "y", "pred", "lon"}


def test_continent_split_without_continents_says_what_to_do():
    t = load_task("land_or_water", 200, seed=0)
    with pytest.raises(ValueError, match="satclip fetch naturalearth-lowres"):
        task_folds(t, "continent")
    with pytest.raises(ValueError, match="unknown probe"):
        quick_evaluate(t, {}, "block", "svm")


def test_table_task_kind_rule_is_the_suites():
    """The app used `nunique() <= 20` for integers; the suite's rule is max(20, 5 % of rows)."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "lon": rng.uniform(-180, 180, 1000),
            "lat": rng.uniform(-60, 60, 1000),
            "code": rng.integers(0, 40, 1000),
            "continent": "Africa",
        }
    )
    assert infer_kind(df["code"]) == "classification"  # 40 <= 5 % of 1000 = 50
    t = table_task(df, "code")
    assert t.kind == "classification" and len(t.class_names) == 40 and (t.continent == "Africa").all()
    df.loc[5, "code"] = np.nan
    with pytest.raises(ValueError, match=r"missing at rows \[5\]"):
        table_task(df, "code")
    with pytest.raises(ValueError, match=r"numeric except at rows 1 \('x'\)"):
        table_task(df.assign(v=["1", "x", *["2"] * 998]), "v", kind="regression")


def _table(n: int = 400, seed: int = 0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"lon": rng.uniform(-180, 180, n), "lat": rng.uniform(-70, 70, n)})
    df["t"] = 0.3 * df["lat"] + 0.05 * df["lon"] + rng.normal(0, 1, n)
    df["cls"] = np.where(df["lat"] > 0, "north", "south")
    return df


@pytest.mark.parametrize("probe", ["ridge", "knn", "mlp"])
def test_probes_beat_the_constant_on_a_simple_target(probe):
    """Moved from the app's own probe suite (app/appkit/quick_probes.py, now deleted) onto the library engine."""
    df = _table()
    enc = {"lon/lat": baseline_encoders(["lon/lat"])["lon/lat"], CONSTANT: None}
    res = quick_evaluate(table_task(df, "t", with_continents=False), enc, "random", probe)
    r2 = res.metrics.set_index("encoder")["r2"]
    assert r2["lon/lat"] > 0.5 and abs(r2[CONSTANT]) < 0.1
    assert set(res.predictions.columns) == {"encoder", "fold", "lon", "lat", "y", "pred"}
    assert len(res.predictions) == 2 * 80
    res = quick_evaluate(table_task(df, "cls", with_continents=False), {"lon/lat": enc["lon/lat"]}, "block", probe)
    assert res.metrics["accuracy"].iloc[0] > 0.8 and res.metrics["folds"].iloc[0] == 5


def test_continent_split_uses_the_tables_continent_column():
    df = _table().assign(continent=lambda d: np.where(d["lon"] < 0, "Africa", "Asia"))
    folds = task_folds(table_task(df, "t"), "continent")
    assert [f.label for f in folds] == ["Africa", "Asia"]
    for f in folds:
        assert len(np.intersect1d(f.train, f.test)) == 0 and len(f.train) + len(f.test) == len(df)
