"""Trainer: tiny end-to-end runs on real Blue Marble patches, resume after a kill, 2-process CPU DDP (gloo),
the pixel path with a trainable CNN on an S2-100K-layout folder, config overrides and the CLI."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tifffile
import torch
import typer
from typer.testing import CliRunner

from satclip.configs import ConfigError, apply_overrides, load_config, parse_cli_overrides
from satclip.train import fit, learning_curve_ok
from tests.assets_helper import real_assets, require_asset  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]

TINY = {
    "data.n": 600,
    "data.patch_size": 8,
    "image_encoder.n_filters": 8,
    "location_encoder.L": 3,
    "location_encoder.hidden_dim": 16,
    "location_encoder.embed_dim": 8,
    "train.batch_size": 128,
    "train.val_size": 100,
    "train.max_epochs": 4,
    "train.max_time_s": None,
    "train.lr": 0.01,
    "train.transfer_every": 2,
    "train.log_every_n_steps": 1,
    "train.progress": False,
    "train.proxy_classes": 4,
}


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SATCLIP_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def tiny_config(out: Path, **extra) -> dict:
    return load_config("bluemarble-l10", {**TINY, "output.dir": str(out), **extra})


def test_overrides_parse_and_apply():
    o = parse_cli_overrides(["--train.lr", "1e-3", "--data.n=500", "--train.jitter_deg", "0"])
    cfg = apply_overrides({"train": {"lr": 1.0}}, o)
    assert cfg["train"]["lr"] == pytest.approx(1e-3) and cfg["data"]["n"] == 500 and cfg["train"]["jitter_deg"] == 0
    with pytest.raises(ConfigError, match="unknown section"):
        apply_overrides({}, {"trian.lr": "1"})
    with pytest.raises(ConfigError, match="no value"):
        parse_cli_overrides(["--train.lr"])
    with pytest.raises(ConfigError, match="not found"):
        load_config("no-such-config")
    assert load_config("bluemarble-l40")["location_encoder"]["L"] == 40


@pytest.mark.usefixtures("real_assets")
def test_fit_end_to_end_checkpoint_metrics_export(tmp_path, cache, recwarn):
    import logging

    from satclip.registry import load
    from satclip.train_report import build_card, export_model, final_evaluation

    require_asset("modis-landcover")
    require_asset("naturalearth-lowres")

    class Keep(logging.Handler):
        def __init__(self):
            super().__init__()
            self.messages = []

        def emit(self, record):
            self.messages.append(record.getMessage())

    lightning_log, keep = logging.getLogger("lightning.pytorch.utilities.rank_zero"), Keep()
    lightning_log.addHandler(keep)
    try:
        r = fit(tiny_config(tmp_path / "run"), progress=False)
    finally:
        lightning_log.removeHandler(keep)
    assert any("GPU available" in m for m in keep.messages)  # Lightning's own notices still come through ...
    assert not any("Tip" in m for m in keep.messages), keep.messages  # ... its cloud-service adverts do not
    assert not [w for w in recwarn if "LeafSpec" in str(w.message) or "weights_only" in str(w.message)]
    assert r.epochs == 4
    ck = torch.load(r.checkpoint, weights_only=True)  # no unpickling of arbitrary objects
    assert ck["epoch"] == 3 and "model.logit_scale" in ck["state_dict"]
    m = r.metrics
    for key in (
        "val/img2loc_top1",
        "val/img2loc_top10",
        "val/median_km",
        "val_land/median_km",
        "transfer/transfer_ratio",
    ):
        assert key in m and np.isfinite(m[key])
    assert m["val/img2loc_top10"] >= m["val/img2loc_top1"]
    csv = next((tmp_path / "run" / "logs").rglob("metrics.csv"))
    assert learning_curve_ok(csv)
    ev = final_evaluation(r, probe_seeds=(0,), transfer_points=1500)
    assert set(ev) >= {
        "retrieval_mixed",
        "retrieval_land",
        "transfer_linear_land",
        "transfer_linear_mixed",
        "transfer_mlp_land",
        "transfer_land_cover",
    }
    real = ev["transfer_land_cover"]
    assert 0 < real["location_accuracy"] < 1 and 0 < real["image_accuracy"] < 1
    assert real["transfer_ratio"] == pytest.approx(real["location_accuracy"] / real["image_accuracy"])
    skipped = final_evaluation(r, probe_seeds=())["transfer_land_cover"]
    assert skipped == {"skipped": "no MLP probe seeds (--probe-seeds 0)"}
    card = build_card(r, ev, "satclip train --config bluemarble-l10")
    path = export_model(r, tmp_path / "m.safetensors", card)
    enc = load(path)
    emb = enc.embed([[0.0, 0.0], [10.0, 50.0]])
    assert emb.shape == (2, 8) and np.isfinite(emb).all()
    assert enc.card["training"]["n_samples"] == 500 and enc.card["config"]["L"] == 3
    assert enc.card["weights_dtype"] == "float16"
    assert "Blue Marble" in enc.card["provenance"]["imagery"] and "Blue Marble" in enc.card["license"]
    from satclip.downstream.transfer import model_transfer

    again = model_transfer(str(path), n=1500, seeds=(0,))  # data and image encoder rebuilt from the card
    assert again["image_accuracy"] == real["image_accuracy"]
    assert again["location_accuracy"] == pytest.approx(real["location_accuracy"], abs=0.05)  # float16 weights
    with pytest.raises(FileExistsError, match="--resume"):
        fit(tiny_config(tmp_path / "run"), progress=False)


RUNNER = textwrap.dedent(
    """
    import json, os, sys, time
    import lightning.pytorch as pl
    from satclip.train import fit

    class Probe(pl.Callback):
        def __init__(self, slow, log):
            self.slow, self.batch_log = slow, log
        def on_train_batch_start(self, trainer, module, batch, batch_idx):
            if self.batch_log:
                with open(f"{self.batch_log}.{trainer.global_rank}", "a") as f:
                    f.write(json.dumps(batch[2].tolist()) + "\\n")
        def on_train_epoch_end(self, trainer, module):
            time.sleep(self.slow)

    cfg = json.loads(sys.argv[1])
    r = fit(cfg, resume=sys.argv[2] == "resume", callbacks=[Probe(float(sys.argv[3]), sys.argv[4])], progress=False)
    if r.is_global_zero:
        print("RESULT", json.dumps({"epochs": r.epochs, "loss": r.metrics["val/loss"]}))
    """
)


def _run_script(tmp_path, cfg, mode="fresh", slow=0.0, log="", wait=True):
    script = tmp_path / "runner.py"
    script.write_text(RUNNER)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, str(script), json.dumps(cfg), mode, str(slow), log]
    if wait:
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)


def test_resume_after_kill_matches_uninterrupted_run(tmp_path, cache):
    full = fit(tiny_config(tmp_path / "full"), progress=False)
    cfg = tiny_config(tmp_path / "killed")
    ckpt = tmp_path / "killed" / "checkpoints" / "last.ckpt"
    proc = _run_script(tmp_path, cfg, slow=4.0, wait=False)
    deadline = time.time() + 240
    try:
        while time.time() < deadline:
            if ckpt.is_file() and torch.load(ckpt, weights_only=True)["epoch"] >= 1:
                break
            assert proc.poll() is None, "training process ended before it could be killed"
            time.sleep(0.2)
        else:
            pytest.fail("no checkpoint of epoch 1 appeared")
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    killed_at = torch.load(ckpt, weights_only=True)["epoch"]
    assert killed_at < 3
    t1 = time.perf_counter()
    resumed = fit(cfg, resume=True, progress=False)
    segment = time.perf_counter() - t1
    assert resumed.epochs == 4
    a, b = full.module.state_dict(), resumed.module.state_dict()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-6, msg=f"parameter {k} differs after resume")
    assert_same_log_as_uninterrupted(tmp_path / "killed", tmp_path / "full")
    # the killed segment counts too: it ran at least one 4 s pause before its last checkpoint
    assert resumed.wall_time_s >= segment + 4.0


def _logged(run: Path) -> tuple[list[int], list[int]]:
    """(steps with a training loss, epochs with a validation loss) of a run's single CSV log."""
    logs = sorted((run / "logs").glob("version_*"))
    assert [p.name for p in logs] == ["version_0"], "a resumed run must continue its own log"
    df = pd.read_csv(logs[0] / "metrics.csv")
    return df["step"][df["train/loss"].notna()].astype(int).tolist(), df["epoch"][df["val/loss"].notna()].astype(
        int
    ).tolist()


def assert_same_log_as_uninterrupted(run: Path, full: Path) -> None:
    """Every training step and every epoch's validation logged exactly once, as in the uninterrupted run."""
    assert _logged(run) == _logged(full)


def test_two_process_ddp_gloo_shards_batches(tmp_path, cache):
    cfg = tiny_config(tmp_path / "ddp", **{"train.devices": 2, "train.strategy": "ddp", "train.max_epochs": 2})
    log = str(tmp_path / "batches")
    res = _run_script(tmp_path, cfg, log=log)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "RESULT" in res.stdout
    seen = [[json.loads(line) for line in Path(f"{log}.{r}").read_text().splitlines()] for r in (0, 1)]
    assert len(seen[0]) == len(seen[1]) == 2 * 1  # 500 train points / (128 x 2 ranks) = 1 step per epoch
    for e in range(2):
        assert len(seen[0][e]) == 128 and set(seen[0][e]).isdisjoint(seen[1][e])
    assert (tmp_path / "ddp" / "checkpoints" / "last.ckpt").is_file()


def _tiny_s2(root: Path, n=12, size=16) -> Path:
    (root / "images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        arr = rng.integers(0, 10000, (12, size, size), dtype=np.uint16)
        tifffile.imwrite(root / "images" / f"patch_{i}.tif", arr, planarconfig="separate", photometric="minisblack")
    lon, lat = rng.uniform(-180, 180, n), rng.uniform(-60, 60, n)
    pd.DataFrame({"fn": [f"patch_{i}.tif" for i in range(n)], "lon": lon, "lat": lat}).to_csv(root / "index.csv")
    return root


def test_pixel_path_trainable_cnn_on_s2_100k_layout(tmp_path, cache):
    root = _tiny_s2(tmp_path / "s2")
    cfg = load_config(
        "bluemarble-l10",
        {
            **TINY,
            "data": {"source": "s2_100k", "root": str(root)},
            "image_encoder": {"name": "cnn", "width": 4},
            "train.batch_size": 4,
            "train.max_epochs": 2,
            "output.dir": str(tmp_path / "cnn"),
        },
    )
    r = fit(cfg, progress=False)
    assert r.data.features is None and r.module.model.image_encoder is not None
    assert np.isfinite(r.metrics["val/loss"])
    cnn = r.module.model.image_encoder
    assert cnn.features[0].weight.requires_grad
    assert cnn.features[1].running_mean.abs().sum() > 0  # the CNN ran in training mode
    from satclip.train_report import build_card

    card = build_card(r, {}, "satclip train ...")  # the card names the user's imagery, not Blue Marble
    assert str(root) in card["provenance"]["imagery"] and "Blue Marble" not in card["license"]


def test_cli_prepare_and_train(tmp_path, cache):
    from satclip.cli.train import register

    app = typer.Typer()
    register(app)
    runner = CliRunner()
    res = runner.invoke(app, ["prepare", "bluemarble", "--n", "200", "--patch-size", "8"])
    assert res.exit_code == 0, res.output
    assert "prepared 200 patches" in res.output and "'coast': 20" in res.output
    args = [f"--{k}={v}" for k, v in TINY.items() if v is not None] + ["--train.max_epochs=2"]
    out = tmp_path / "cli.safetensors"
    res = runner.invoke(
        app,
        [
            "train",
            "--config",
            "bluemarble-l10",
            *args,
            "--output.dir",
            str(tmp_path / "r"),
            "--export",
            str(out),
            "--probe-seeds",
            "1",
        ],
    )
    assert res.exit_code == 0, res.output
    assert out.is_file() and "val/median_km=" in res.output
    card = json.loads((tmp_path / "r" / "evaluation.json").read_text())
    assert card["n_val"] == 100
    res = runner.invoke(app, ["train", "--config", "bluemarble-l10", "--trian.lr", "1"])
    assert res.exit_code == 1 and "unknown section" in res.output


@pytest.mark.parametrize(
    ("override", "path"),
    [
        ({"train.max_epoch": 3}, "train.max_epoch"),  # silently ignored before: training ran 30 epochs
        ({"data.ocean_frac": 0.2}, "data.ocean_frac"),  # a bare TypeError from PatchConfig before
        ({"image_encoder.n_filter": 64}, "image_encoder.n_filter"),  # a bare TypeError from RCFConfig before
        ({"location_encoder.LL": 4}, "location_encoder.LL"),
        ({"output.folder": "x"}, "output.folder"),
    ],
)
def test_a_typo_in_any_section_is_an_error_naming_its_path(tmp_path, cache, override, path):
    with pytest.raises(ConfigError, match=rf"unknown config key {path}\b"):
        fit(tiny_config(tmp_path / "run", **override), progress=False)
    assert not (tmp_path / "run").exists()  # refused before any work


def test_a_value_of_the_wrong_type_is_named(tmp_path, cache):
    with pytest.raises(ConfigError, match=r"train.max_epochs: expected int, got 'ten'"):
        fit(tiny_config(tmp_path / "run", **{"train.max_epochs": "ten"}), progress=False)


def test_typed_config_fills_defaults_once_and_round_trips():
    from satclip.configs.schema import TrainConfig, TrainingConfig

    raw = load_config("bluemarble-l10")
    cfg = TrainingConfig.from_dict(raw)
    assert cfg.train.batch_size == raw["train"]["batch_size"]  # given in the file
    assert "val_batch_size" not in raw["train"] and cfg.train.val_batch_size == TrainConfig().val_batch_size  # default
    assert TrainingConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg.to_dict()["train"] == TrainConfig.from_dict(load_config("bluemarble-l10")["train"]).to_dict()


def test_cli_train_names_the_misspelt_key(tmp_path, cache):
    from satclip.cli.train import register

    app = typer.Typer()
    register(app)
    res = CliRunner().invoke(
        app, ["train", "--config", "bluemarble-l10", "--train.max_epoch", "2", "--output.dir", str(tmp_path / "r")]
    )
    assert res.exit_code == 1 and "unknown config key train.max_epoch" in res.output
    assert len(res.output.strip().splitlines()) == 1


FAULT_RUNNER = textwrap.dedent(
    """
    import json, sys, time
    import lightning.pytorch as pl
    import torch
    from satclip.train import fit

    cfg, mode, steps_file, slow_from_epoch = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
    real_save = torch.save

    def slow_save(obj, f, *args, **kwargs):  # the checkpoint is written to its temporary, then a long pause
        real_save(obj, f, *args, **kwargs)    # before the rename: a kill now lands inside the checkpoint write
        if isinstance(obj, dict) and obj.get("epoch", -1) >= slow_from_epoch >= 0:
            open(steps_file + ".writing", "w").write(str(f))
            time.sleep(120)

    torch.save = slow_save

    class Steps(pl.Callback):
        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
            open(steps_file, "w").write(str(trainer.global_step))

    fit(cfg, resume=mode == "resume", callbacks=[Steps()], progress=False)
    """
)


def _kill_when(proc: subprocess.Popen, ready, what: str) -> None:
    deadline = time.time() + 240
    try:
        while not ready():
            assert proc.poll() is None, f"training ended before {what}"
            assert time.time() < deadline, f"timed out waiting for {what}"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_kill_minus_9_at_random_steps_and_inside_a_checkpoint_write_then_resume(tmp_path, cache):
    import random

    rng = random.Random(13)
    full = fit(tiny_config(tmp_path / "full"), progress=False)
    total_steps = torch.load(full.checkpoint, weights_only=True)["global_step"]
    per_epoch = total_steps // 4
    cfg = tiny_config(tmp_path / "run")
    ckpt_dir = tmp_path / "run" / "checkpoints"
    script = tmp_path / "fault_runner.py"
    script.write_text(FAULT_RUNNER)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def start(mode: str, slow_from_epoch: int) -> tuple[subprocess.Popen, Path]:
        steps = tmp_path / f"steps-{mode}-{time.monotonic_ns()}"
        cmd = [sys.executable, str(script), json.dumps(cfg), mode, str(steps), str(slow_from_epoch)]
        return subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), steps

    # 1. killed inside the write of a checkpoint (epoch 1 or 2): its temporary is left, last.ckpt is the one before
    slow_epoch = rng.randint(1, 2)
    proc, steps = start("fresh", slow_epoch)
    _kill_when(proc, lambda: Path(f"{steps}.writing").exists(), "the checkpoint write")
    assert list(ckpt_dir.glob(".last.ckpt.*.tmp")), "no temporary left by the killed write"
    assert torch.load(ckpt_dir / "last.ckpt", weights_only=True)["epoch"] == slow_epoch - 1
    # 2. resumed, then killed at a random training step of a later epoch
    resumed_from = torch.load(ckpt_dir / "last.ckpt", weights_only=True)["global_step"]
    kill_at = rng.randint(resumed_from + per_epoch + 1, total_steps - 1)
    proc, steps = start("resume", -1)
    _kill_when(
        proc,
        lambda: steps.exists() and steps.read_text().strip().isdigit() and int(steps.read_text()) >= kill_at,
        f"step {kill_at}",
    )
    # 3. resumed to the end: the same number of steps and the same weights as the uninterrupted run
    done = fit(cfg, resume=True, progress=False)
    assert done.epochs == 4
    assert torch.load(done.checkpoint, weights_only=True)["global_step"] == total_steps
    a, b = full.module.state_dict(), done.module.state_dict()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-6, msg=f"parameter {k} differs after the kills")
    assert not list(ckpt_dir.glob(".*.tmp")), "stale checkpoint temporaries were not swept"
    assert_same_log_as_uninterrupted(tmp_path / "run", tmp_path / "full")
