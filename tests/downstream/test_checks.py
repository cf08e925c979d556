"""Degenerate downstream targets are named before any quick probe runs (issue 12, defect 8)."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from satclip.downstream.checks import id_like_problems, quick_problems
from satclip.downstream.quick import task_folds
from satclip.downstream.tasks import table_task


def _task(values, n=None):
    n = n or len(values)
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"lon": rng.uniform(-180, 180, n), "lat": rng.uniform(-60, 60, n), "t": values})
    return table_task(df, "t", with_continents=False)


def test_usable_targets_pass():
    rng = np.random.default_rng(0)
    for values in (rng.normal(size=500), rng.integers(0, 5, 500)):
        t = _task(values)
        assert quick_problems(t, task_folds(t, "block"), user_table=True) == []


@pytest.mark.parametrize(
    ("values", "words"),
    [
        (np.full(500, 3.0), "constant"),
        (["a"] * 500, "one class"),
        ([f"site-{i}" for i in range(500)], "500 classes for 500 rows"),
        (np.arange(500).astype(float), "row ID"),
        (np.r_[np.zeros(100, int), np.ones(100, int), [2]].astype(str), "fewer than 2 rows"),
    ],
)
def test_degenerate_targets_are_named(values, words):
    t = _task(values)
    problems = quick_problems(t, task_folds(t, "random"), user_table=True)
    assert any(words in p for p in problems), problems
    assert all("\n" not in p for p in problems)


def test_too_few_rows_are_named():
    t = _task(np.random.default_rng(0).normal(size=12))
    problems = quick_problems(t, task_folds(t, "random"), user_table=True)
    assert any("rows on the test side" in p or "rows on the training side" in p for p in problems), problems


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=80),
    st.sampled_from(["regression", "classification"]),
)
def test_id_check_never_crashes(values, kind):
    problems = id_like_problems(np.asarray(values, dtype=np.float64), kind)
    assert all(isinstance(p, str) and "\n" not in p for p in problems)
