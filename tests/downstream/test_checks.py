"""Degenerate downstream targets are named before any probe runs (issue 12, defect 8)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from satclip.downstream.checks import MIN_ROWS, TargetError, check_target, validate_target


def test_usable_targets_pass():
    rng = np.random.default_rng(0)
    assert check_target(rng.normal(size=500), "regression") == []
    assert check_target(rng.integers(0, 5, 500), "classification") == []


@pytest.mark.parametrize(("y", "kind", "words"), [
    (np.full(500, 3.0), "regression", "constant"),
    (np.zeros(500, int), "classification", "single class"),
    (np.arange(500), "classification", "500 classes for 500 rows"),
    (np.arange(500).astype(float), "regression", "row ID"),
    (np.random.default_rng(0).normal(size=12), "regression", "only 12 rows"),
    (np.r_[np.zeros(100, int), np.ones(100, int), [2]], "classification", "fewer than 2 rows"),
])
def test_degenerate_targets_are_named(y, kind, words):
    problems = check_target(y, kind)
    assert problems and any(words in p for p in problems), problems
    with pytest.raises(TargetError, match=words):
        validate_target(y, kind)
    assert isinstance(TargetError("x"), ValueError)  # the CLI's ValueError handling covers it


def test_unknown_kind_is_an_error():
    with pytest.raises(ValueError, match="kind must be"):
        check_target(np.zeros(5), "ranking")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=80),
       st.sampled_from(["regression", "classification"]))
def test_any_target_gets_messages_not_crashes(values, kind):
    y = np.asarray(values, dtype=np.float64)
    problems = check_target(y, kind)
    assert all(isinstance(p, str) and "\n" not in p for p in problems)
    if len(y) < MIN_ROWS:
        assert any("rows" in p for p in problems)
