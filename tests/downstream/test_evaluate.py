"""End to end: evaluate(), summaries with ties, outputs, embedding cache, and the CLI commands."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from satclip.cli.evaluate import register
from satclip.downstream.evaluate import EvalConfig, embed_cached, evaluate
from satclip.downstream.probes import MLPConfig
from satclip.downstream.report import markdown_table, summarise, write_outputs
from satclip.zoo import resolve_encoder
from tests.assets_helper import real_assets, require_asset  # noqa: F401

FAST_MLP = MLPConfig(max_epochs=4, patience=2)


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.callback()
    def main() -> None:
        """test app"""

    return app


def _user_csv(path, n=300):
    rng = np.random.default_rng(0)
    lon, lat = rng.uniform(-180, 180, n), np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    pd.DataFrame({"lon": lon, "lat": lat, "temp": 30 * np.cos(np.radians(lat)) - 5}).to_csv(path, index=False)
    return path


def test_resolve_encoder_names():
    assert resolve_encoder("sh4").dim == 16
    assert resolve_encoder("xyz+lonlat").dim == 5
    assert resolve_encoder("satclip-random-l4").dim == 256
    with pytest.raises(ValueError, match="neither a bundled model"):
        resolve_encoder("no-such-model")


def test_embed_cache_reuses(monkeypatch):
    enc = resolve_encoder("sh4")
    pts = np.array([[0.0, 0.0], [10.0, 20.0]])
    first = embed_cached(enc, pts)
    monkeypatch.setattr(enc, "embed", lambda *a, **k: (_ for _ in ()).throw(AssertionError("recomputed")))
    np.testing.assert_array_equal(embed_cached(enc, pts), first)


def test_summary_ties_and_table():
    rows = []
    for enc, vals in {"a": [0.80, 0.83, 0.77], "b": [0.79, 0.80, 0.78], "c": [0.50, 0.52, 0.51]}.items():
        for seed, v in enumerate(vals):
            rows.append(
                {
                    "task": "t",
                    "kind": "regression",
                    "encoder": enc,
                    "split": "random",
                    "fold": "random",
                    "probe": "mlp",
                    "seed": seed,
                    "r2": v,
                }
            )
    for enc, v in {"a": 0.7, "b": 0.7, "c": 0.69}.items():
        rows.append(
            {
                "task": "t",
                "kind": "regression",
                "encoder": enc,
                "split": "random",
                "fold": "random",
                "probe": "ridge",
                "seed": 0,
                "r2": v,
            }
        )
    s = summarise(pd.DataFrame(rows)).set_index(["probe", "encoder"])
    assert s.loc[("mlp", "a"), "status"] == "best (tie)" and s.loc[("mlp", "b"), "status"] == "tie"
    assert s.loc[("mlp", "c"), "status"] == ""
    assert s.loc[("mlp", "a"), "spread"] == pytest.approx(0.03)
    assert s.loc[("ridge", "c"), "status"] == ""  # deterministic: no spread, a lower score is a loss
    assert {s.loc[("ridge", "a"), "status"], s.loc[("ridge", "b"), "status"]} <= {"best (tie)", "tie"}
    table = markdown_table(s.reset_index(), "mlp", ["a", "b", "c"])
    assert "| t (r2) | random | **0.800 ± 0.030** | **0.790 ± 0.010** | 0.510 ± 0.010 |" in table


@pytest.mark.usefixtures("real_assets")
def test_evaluate_real_task_end_to_end(tmp_path):
    for a in ("era5-climatology", "modis-landcover", "naturalearth-lowres"):
        require_asset(a)
    cfg = EvalConfig(
        tasks=["air_temperature", "land_cover"],
        encoders=["lonlat", "sh10"],
        n_points=800,
        seeds=2,
        probes=["ridge", "mlp", "knn"],
        k_folds=3,
        mlp=FAST_MLP,
        workers=1,
    )
    res = evaluate(cfg)
    rec = res.records
    n_folds = 1 + 3 + 3
    assert len(rec) == 2 * 2 * n_folds * (1 + 2 + 1)
    hold = rec[(rec.split == "continent")]
    assert set(hold.fold) == {"Africa", "Asia", "South America"}
    ridge = rec[(rec.probe == "ridge") & (rec.split == "random") & (rec.task == "air_temperature")]
    r2 = ridge.set_index("encoder")["r2"]
    assert r2["sh10"] > 0.8 > r2["lonlat"] + 0.5  # temperature is not linear in (lon, lat), but is in SH
    assert rec.loc[rec.task == "land_cover", "accuracy"].between(0, 1).all()
    summary = summarise(rec)
    assert set(summary.status) >= {"best", ""} or "best (tie)" in set(summary.status)
    paths = write_outputs(res, summary, tmp_path / "out", maps=True)
    names = {p.name for p in paths}
    assert {
        "results.csv",
        "summary.csv",
        "results.json",
        "report.md",
        "predictions.parquet",
        "metrics_ridge.png",
        "map_air_temperature_continent_mlp.png",
    } <= names
    payload = json.loads((tmp_path / "out" / "results.json").read_text())
    assert payload["config"]["n_points"] == 800 and len(payload["results"]) == len(rec)
    pred = pd.read_parquet(tmp_path / "out" / "predictions.parquet")
    assert set(pred.probe) == {"ridge", "mlp", "knn"} and pred.pred.notna().all()


def test_cli_evaluate_user_table(tmp_path):
    csv = _user_csv(tmp_path / "mine.csv")
    out = tmp_path / "res"
    r = CliRunner().invoke(
        _app(),
        [
            "evaluate",
            "--tasks",
            str(csv),
            "--target",
            "temp",
            "--encoders",
            "lonlat,xyz",
            "--split",
            "random,block",
            "--probe",
            "ridge,knn",
            "--no-maps",
            "--block-deg",
            "30",
            "--k",
            "3",
            "-o",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "| mine (r2) | random |" in r.output and "| lonlat | xyz |" in r.output
    assert (out / "summary.csv").is_file() and (out / "report.md").is_file()
    s = pd.read_csv(out / "summary.csv")
    lonlat = s[(s.encoder == "lonlat") & (s.probe == "knn") & (s.split == "random")]["mean"].item()
    assert lonlat > 0.5  # k-NN on (lon, lat) recovers a smooth field of latitude


def test_cli_with_model_file_and_concat(tmp_path, small_model_file):
    csv = _user_csv(tmp_path / "pts.csv", n=200)
    enc = resolve_encoder(str(small_model_file))
    assert enc.dim == 16 and enc.name == "small"
    spec = f"{small_model_file}+lonlat"
    r = CliRunner().invoke(
        _app(),
        [
            "evaluate",
            "--tasks",
            str(csv),
            "--target",
            "temp",
            "--encoders",
            f"{small_model_file},{spec}",
            "--split",
            "random",
            "--probe",
            "ridge",
            "--no-maps",
            "-o",
            str(tmp_path / "o"),
        ],
    )
    assert r.exit_code == 0, r.output
    s = pd.read_csv(tmp_path / "o" / "summary.csv")
    assert set(s.encoder) == {str(small_model_file), spec}


def test_cli_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("SATCLIP_ASSETS", str(tmp_path / "empty-assets"))
    r = CliRunner().invoke(_app(), ["evaluate", "--tasks", "air_temperature", "--encoders", "lonlat"])
    assert r.exit_code == 1 and "satclip fetch" in r.output
    r = CliRunner().invoke(_app(), ["evaluate", "--tasks", "nope", "--encoders", "lonlat"])
    assert r.exit_code == 1 and "unknown task" in r.output
    r = CliRunner().invoke(_app(), ["evaluate", "--split", "sideways"])
    assert r.exit_code == 1 and "unknown split" in r.output
    r = CliRunner().invoke(_app(), ["fetch", "--list"])
    assert r.exit_code == 0 and "era5-climatology" in r.output and "missing" in r.output
    r = CliRunner().invoke(_app(), ["fetch", "bogus"])
    assert r.exit_code != 0


def test_summary_uses_task_primary_metric():
    rows = [
        {
            "task": "u",
            "kind": "classification",
            "primary": "macro_f1",
            "encoder": e,
            "split": "random",
            "fold": "random",
            "probe": "ridge",
            "seed": 0,
            "accuracy": 0.93,
            "macro_f1": f,
        }
        for e, f in (("a", 0.40), ("b", 0.15))
    ]
    s = summarise(pd.DataFrame(rows)).set_index("encoder")
    assert (s.metric == "macro_f1").all() and s.loc["a", "mean"] == 0.40 and s.loc["a", "status"] == "best"


def test_plots_keep_the_callers_backend(tmp_path: Path) -> None:
    import matplotlib
    import matplotlib.pyplot as plt

    from satclip.downstream.report import plot_metrics

    rows = [
        {"task": "t", "kind": "regression", "encoder": e, "split": s, "fold": s, "probe": "ridge", "seed": 0, "r2": v}
        for e, v in (("a", 0.5), ("b", 0.7))
        for s in ("random", "continent")
    ]
    before = matplotlib.get_backend()
    plt.switch_backend("svg")  # as a notebook selects its inline backend
    try:
        paths = plot_metrics(summarise(pd.DataFrame(rows)), ["a", "b"], tmp_path)
        assert matplotlib.get_backend() == "svg"
    finally:
        plt.switch_backend(before)
    assert [p.name for p in paths] == ["metrics_ridge.png"] and paths[0].stat().st_size > 1000


@pytest.mark.parametrize("corrupt", ["nan", "rows", "truncated", "empty"])
def test_embed_cache_bad_entry_is_rebuilt(corrupt):
    """A corrupt embedding cache entry (NaN, wrong row count, truncated, empty) is discarded with a warning
    naming the file, and the embeddings are recomputed: never served as they are."""
    from satclip.cache import cache_dir, content_hash
    from satclip.cache_entries import CacheEntryWarning

    enc = resolve_encoder("sh4")
    pts = np.array([[0.0, 0.0], [10.0, 20.0], [-50.0, 60.0]])
    good = embed_cached(enc, pts)
    (entry,) = cache_dir("embeddings").glob(f"{enc.fingerprint}-{content_hash(np.ascontiguousarray(pts))}.*")
    if corrupt == "nan":
        data = dict(np.load(entry))
        data["embeddings"] = np.full_like(data["embeddings"], np.nan)
        np.savez(entry, **data)
    elif corrupt == "rows":
        data = dict(np.load(entry))
        data["embeddings"] = data["embeddings"][:2]
        np.savez(entry, **data)
    elif corrupt == "truncated":
        entry.write_bytes(entry.read_bytes()[:100])
    else:
        entry.write_bytes(b"")
    with pytest.warns(CacheEntryWarning, match=entry.name):
        again = embed_cached(enc, pts)
    np.testing.assert_array_equal(again, good)
