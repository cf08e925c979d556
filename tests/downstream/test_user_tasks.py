"""User tasks through the real `satclip evaluate` CLI: validation before any work, flagged degenerate
results, partial results kept when a run dies, tables with their own split column (CoordBench layout),
k-NN in `--probe all`, K-fold CV and the mean-rank summary."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from satclip.cli import app
from satclip.downstream.evaluate import EvalConfig, evaluate
from satclip.downstream.report import mean_ranks, summarise


def _points(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(-180, 180, n), np.degrees(np.arcsin(rng.uniform(-1, 1, n)))


def _table(path: Path, n: int = 300, **cols: object) -> Path:
    lon, lat = _points(n)
    df = pd.DataFrame({"lon": lon, "lat": lat, "temp": 30 * np.cos(np.radians(lat)) - 5})
    for k, v in cols.items():
        df[k] = v
    if path.suffix == ".parquet":
        df.to_parquet(path, index=False)
    else:
        df.to_csv(path, index=False)
    return path


def _run(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(app, ["evaluate", *args])
    assert r.exception is None or isinstance(r.exception, SystemExit), f"traceback:\n{r.output}\n{r.exception!r}"
    return r.exit_code, r.output


def _eval(table: Path, out: Path, *extra: str, target: str = "temp") -> tuple[int, str]:
    return _run(
        "--tasks",
        str(table),
        "--target",
        target,
        "--encoders",
        "lonlat,xyz",
        "--no-maps",
        "--mlp-epochs",
        "3",
        "--seeds",
        "1",
        "-o",
        str(out),
        *extra,
    )


# --- issue 13 item 6: validate before running, flag degenerate results --------------------------------------


def test_constant_target_is_refused_before_running(tmp_path):
    code, out = _eval(_table(tmp_path / "c.csv", temp=4.0), tmp_path / "o", "--split", "random")
    assert code == 1 and "constant" in out and "'temp'" in out
    assert not (tmp_path / "o").exists()  # nothing written half-way


def test_infinite_target_names_the_rows(tmp_path):
    _, lat = _points(300)
    temp = np.cos(np.radians(lat))
    temp[[3, 7]] = [np.inf, -np.inf]
    code, out = _eval(_table(tmp_path / "i.csv", temp=temp), tmp_path / "o", "--split", "random")
    assert code == 1 and "non-finite" in out and "[3, 7]" in out


def test_one_class_target_is_refused(tmp_path):
    code, out = _eval(_table(tmp_path / "one.csv", cover="forest"), tmp_path / "o", "--split", "random", target="cover")
    assert code == 1 and "one class" in out and "forest" in out


def test_numeric_column_with_junk_strings_names_the_rows(tmp_path):
    _, lat = _points(300)
    temp = [f"{v:.3f}" for v in 30 * np.cos(np.radians(lat))]
    temp[5], temp[17] = "?", "x"
    code, out = _eval(_table(tmp_path / "junk.csv", temp=temp), tmp_path / "o", "--split", "random")
    assert code == 1 and "not numbers" in out and "5 ('?')" in out and "17 ('x')" in out
    assert "--kind classification" in out
    # an explicit --kind classification is the user's decision: then it is a (bad) class task, refused for
    # its one-row classes rather than run as 300 classes
    code, out = _eval(tmp_path / "junk.csv", tmp_path / "o", "--split", "random", "--kind", "classification")
    assert code == 1 and "fewer than 2 rows" in out


@pytest.mark.parametrize(
    ("row", "said"),
    [
        ("7,10,20,5", "row 0 has more fields than the header (3 columns); row 0 is line 2 of the file"),
        ("1,x,3", "column 'lat' is not numeric at row 0 (first: 'x'); row 0 is line 2 of the file"),
    ],
)
def test_a_bad_first_row_of_a_user_table_is_named_with_its_line(tmp_path, row, said):
    """`evaluate --tasks my.csv` read the file with pandas alone: a longer first row made its first field the
    index and shifted every column ('target is missing at rows 1..10'); coordinates were named without the file."""
    lon, lat = _points(60)
    lines = ["lon,lat,y", row] + [f"{a:.3f},{b:.3f},{i}" for i, (a, b) in enumerate(zip(lon, lat, strict=True))]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    args = ["evaluate", "--tasks", str(tmp_path / "t.csv"), "--target", "y", "--encoders", "lonlat"]
    res = CliRunner().invoke(app, [*args, "--probe", "ridge", "--split", "random", "--no-maps", "--out", str(tmp_path)])
    assert res.exit_code == 1 and res.output == f"error: {tmp_path / 't.csv'}: {said} " + (
        "(rows are counted from 0 after the header)\n"
    ), res.output


def test_too_few_rows_is_refused(tmp_path):
    code, out = _eval(_table(tmp_path / "ten.csv", n=10), tmp_path / "o", "--split", "random")
    assert code == 1 and "test side" in out and "rows" in out


def test_class_with_one_row_is_named(tmp_path):
    cover = np.where(np.arange(300) % 2 == 0, "forest", "grass").astype(object)
    cover[11] = "glacier"
    code, out = _eval(_table(tmp_path / "rare.csv", cover=cover), tmp_path / "o", "--split", "random", target="cover")
    assert code == 1 and "'glacier'" in out and "fewer than 2 rows" in out


def test_default_continent_split_without_natural_earth_says_fetch(tmp_path, monkeypatch):
    monkeypatch.setenv("SATCLIP_ASSETS", str(tmp_path / "no-assets"))
    code, out = _eval(_table(tmp_path / "u.csv"), tmp_path / "o")  # default splits include continent
    assert code == 1 and "satclip fetch naturalearth-lowres" in out


def test_summarise_survives_undefined_metrics_and_flags_them():
    rows = [
        {
            "task": "t",
            "kind": "regression",
            "encoder": e,
            "split": "random",
            "fold": "random",
            "probe": "ridge",
            "seed": 0,
            "r2": np.nan,
            "n_test": 60,
        }
        for e in ("a", "b")
    ]
    rows += [
        {
            "task": "t",
            "kind": "regression",
            "encoder": e,
            "split": "block",
            "fold": "fold0",
            "probe": "ridge",
            "seed": 0,
            "r2": v,
            "n_test": 12,
        }
        for e, v in (("a", 0.5), ("b", 0.4))
    ]
    s = summarise(pd.DataFrame(rows)).set_index(["split", "encoder"])
    assert s.loc[("random", "a"), "status"] == "" and "undefined" in s.loc[("random", "a"), "flag"]
    assert s.loc[("block", "a"), "status"] == "best" and "few test rows (12)" in s.loc[("block", "a"), "flag"]


def test_few_test_rows_are_flagged_not_presented_as_results(tmp_path):
    code, out = _eval(_table(tmp_path / "small.csv", n=60), tmp_path / "o", "--split", "random", "--probe", "ridge")
    assert code == 0, out
    s = pd.read_csv(tmp_path / "o" / "summary.csv")
    assert s["flag"].str.contains("few test rows \\(12\\)").all()
    assert "few test rows (12)" in out and "⚠" in out


def test_one_class_test_side_is_flagged(tmp_path):
    # classes split by hemisphere; a table split puts only the north in the test side
    _, lat = _points(300)
    cover = np.where(lat > 0, "north", "south")
    split = np.where((lat > 30) & (np.arange(300) % 2 == 0), "test", "train")
    code, out = _eval(
        _table(tmp_path / "h.parquet", cover=cover, split=split), tmp_path / "o", "--probe", "ridge", target="cover"
    )
    assert code == 0, out
    s = pd.read_csv(tmp_path / "o" / "summary.csv")
    assert s["flag"].str.contains("one class on the test side").all()


def test_partial_results_survive_a_killed_run(tmp_path):
    table = _table(tmp_path / "u.csv", n=3000)
    out = tmp_path / "o"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    encoders = "lonlat,xyz,wrap,sh4,sh6,sh8,sh10,sh12,sh14,sh16"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "satclip",
            "evaluate",
            "--tasks",
            str(table),
            "--target",
            "temp",
            "--encoders",
            encoders,
            "--split",
            "block",
            "--probe",
            "mlp",
            "--seeds",
            "3",
            "--workers",
            "1",
            "--no-maps",
            "-o",
            str(out),
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if "[1/10]" in line:
                break
        else:
            pytest.fail("no progress line")
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    partial = pd.read_csv(out / "results.partial.csv")
    assert len(partial) >= 5 * 3 and partial["encoder"].nunique() >= 1  # one (task, encoder): 5 folds x 3 seeds
    assert not (out / "summary.csv").exists()


# --- issue 14: user tables with their own splits -------------------------------------------------------------


def _coordbench(path: Path, n: int = 400, split: object = None) -> Path:
    """A table in the CoordBench (torchgeo-bench) layout: lon, lat, timestamp, split, id + source columns."""
    lon, lat = _points(n, seed=1)
    if split is None:
        split = np.array(["train", "val", "test", "train", "train"])[np.arange(n) % 5]
    df = pd.DataFrame(
        {
            "lon": lon,
            "lat": lat,
            "timestamp": pd.Timestamp("2020-01-01"),
            "split": split,
            "id": [f"p{i}" for i in range(n)],
            "temperature": 30 * np.cos(np.radians(lat)) - 5,
            "biome": np.where(np.abs(lat) > 40, "cold", "warm"),
        }
    )
    df.to_parquet(path, index=False)
    return path


def test_table_split_column_is_honoured(tmp_path):
    table = _coordbench(tmp_path / "bench.parquet")
    code, out = _eval(table, tmp_path / "o", "--probe", "all", target="temperature")
    assert code == 0, out
    rec = pd.read_csv(tmp_path / "o" / "results.csv")
    assert set(rec.split) == {"table"} and set(rec.probe) == {"ridge", "mlp", "knn"}
    # 400 rows: 240 train, 80 val, 80 test; ridge and k-NN fit on train + val, the MLP fits on train and
    # stops early on val
    by_probe = rec.groupby("probe")[["n_train", "n_val", "n_test"]].first()
    assert by_probe.loc["ridge"].tolist() == [320, 0, 80] and by_probe.loc["knn"].tolist() == [320, 0, 80]
    assert by_probe.loc["mlp"].tolist() == [240, 80, 80]
    pred = pd.read_parquet(tmp_path / "o" / "predictions.parquet")
    test_rows = pd.read_parquet(table).query("split == 'test'")
    assert len(pred[(pred.probe == "ridge") & (pred.encoder == "lonlat")]) == len(test_rows)
    assert np.allclose(np.sort(pred[(pred.probe == "ridge") & (pred.encoder == "lonlat")].lat), np.sort(test_rows.lat))
    assert "mean rank" in out.lower() and (tmp_path / "o" / "mean_rank.csv").is_file()


def test_table_split_and_other_splits_together(tmp_path):
    table = _coordbench(tmp_path / "bench.parquet", split=["train", "test", "train", "train"] * 100)
    code, out = _eval(
        table, tmp_path / "o", "--probe", "ridge", "--split", "table,random", "--cv-folds", "4", target="biome"
    )
    assert code == 0, out
    rec = pd.read_csv(tmp_path / "o" / "results.csv")
    assert sorted(set(rec.fold)) == ["fold0", "fold1", "fold2", "fold3", "table"]
    assert rec[rec.split == "random"].groupby("encoder").n_test.sum().eq(400).all()  # every row tested once


def test_split_column_with_bad_values_is_an_error(tmp_path):
    split = np.array(["train", "test", "train", "train"] * 100, dtype=object)
    split[[6, 9]] = ["trian", None]
    code, out = _eval(_coordbench(tmp_path / "bad.parquet", split=split), tmp_path / "o", target="temperature")
    assert code == 1 and "split" in out and "6 ('trian')" in out and "9 (missing)" in out


def test_split_column_without_test_rows_is_an_error(tmp_path):
    table = _coordbench(tmp_path / "notest.parquet", split=["train", "val"] * 200)
    code, out = _eval(table, tmp_path / "o", target="temperature")
    assert code == 1 and "no 'test' rows" in out


def test_table_split_on_a_table_without_split_column_is_an_error(tmp_path):
    code, out = _eval(_table(tmp_path / "u.csv"), tmp_path / "o", "--split", "table")
    assert code == 1 and "no 'split' column" in out


def test_cv_folds_random_kfold(tmp_path):
    code, out = _eval(
        _table(tmp_path / "u.csv"),
        tmp_path / "o",
        "--split",
        "random,block",
        "--cv-folds",
        "3",
        "--block-deg",
        "30",
        "--probe",
        "knn",
    )
    assert code == 0, out
    rec = pd.read_csv(tmp_path / "o" / "results.csv")
    for split in ("random", "block"):
        r = rec[(rec.split == split) & (rec.encoder == "lonlat")]
        assert len(r) == 3 and r.n_test.sum() == 300 and (r.n_train + r.n_test == 300).all()


def test_mean_ranks_hand_computed():
    # task t1: a 0.9, b 0.8, c 0.8 -> ranks 1, 2.5, 2.5; task t2: a 0.1, b 0.3, c 0.2 -> ranks 3, 1, 2
    summary = pd.DataFrame(
        [
            {"task": t, "split": "random", "probe": "ridge", "encoder": e, "mean": v}
            for t, vals in (("t1", (0.9, 0.8, 0.8)), ("t2", (0.1, 0.3, 0.2)))
            for e, v in zip("abc", vals, strict=True)
        ]
    )
    r = mean_ranks(summary).set_index("encoder")
    assert r.loc["a", "mean_rank"] == pytest.approx(2.0)
    assert r.loc["b", "mean_rank"] == pytest.approx(1.75)
    assert r.loc["c", "mean_rank"] == pytest.approx(2.25)
    assert (r["n_rankings"] == 2).all()
    assert list(r.index) == ["b", "a", "c"]  # best mean rank first


# --- hostile tables: a clear one-line error or a summarised result, never a traceback -----------------------

_cell = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.integers(-3, 3),
    st.sampled_from(["a", "b", "?", "", "1e3", " 2 ", "inf"]),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    target=st.lists(_cell, min_size=1, max_size=80),
    split=st.one_of(
        st.none(), st.lists(st.sampled_from(["train", "test", "val", "TEST", "x", None]), min_size=80, max_size=80)
    ),
)
def test_hostile_user_tables(tmp_path, target, split):
    n = len(target)
    lon, lat = _points(n, seed=n)
    df = pd.DataFrame({"lon": lon, "lat": lat, "y": pd.Series(target, dtype=object)})
    if split is not None:
        df["split"] = split[:n]
    path = tmp_path / "h.csv"
    df.to_csv(path, index=False)
    cfg = EvalConfig(
        tasks=[str(path)],
        user_target="y",
        encoders=["lonlat"],
        probes=["ridge"],
        workers=1,
        splits=None if split is not None else ["random"],
    )
    try:
        res = evaluate(cfg)
    except (ValueError, KeyError) as err:
        assert "\n" not in str(err) and str(err)
        return
    s = summarise(res.records)
    assert len(s) == 1 and (np.isfinite(s["mean"]).all() or s["flag"].str.contains("undefined").all())
