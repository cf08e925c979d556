"""Issue 13.9 through the real command line: bad devices, bad model files, a full disk and a truncated
``last.ckpt`` each give exactly one ``error: ...`` line and exit status 1, never a traceback."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from satclip.nn.location_encoder import LocationEncoder, LocationEncoderConfig
from tests.conftest import REFERENCE

ROOT = Path(__file__).resolve().parents[1]


def _satclip(*args: str, cwd: Path, preexec_fn=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", str(ROOT))}
    return subprocess.run(
        [sys.executable, "-m", "satclip", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
        preexec_fn=preexec_fn,
    )


def _assert_one_error(result: subprocess.CompletedProcess, expected: str) -> str:
    assert result.returncode == 1, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("error: "), result.stderr[-2000:]
    assert expected in errors[0], errors[0]
    return errors[0]


@pytest.fixture
def points(tmp_path: Path) -> Path:
    (tmp_path / "in.csv").write_text("lon,lat\n10,20\n-70,-33\n")
    return tmp_path / "in.csv"


def _card_file(path: Path, card: str) -> Path:
    module = LocationEncoder(LocationEncoderConfig(L=4, hidden_dim=8, embed_dim=4))
    meta = {"format": "satclip-location-encoder", "format_version": "1", "card": card}
    save_file({k: v.contiguous() for k, v in module.state_dict().items()}, str(path), metadata=meta)
    return path


def _config(**change) -> str:
    return json.dumps({"config": {**LocationEncoderConfig(L=4, hidden_dim=8, embed_dim=4).to_dict(), **change}})


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_device_cuda_without_cuda(tmp_path: Path, points: Path, small_model_file: Path) -> None:
    result = _satclip(
        "embed", str(points), "-o", "o.parquet", "-m", str(small_model_file), "--device", "cuda", cwd=tmp_path
    )
    _assert_one_error(result, "CUDA is not available")


@pytest.mark.parametrize(
    "model, expected",
    [
        ("/etc/passwd", "/etc/passwd: not a PyTorch checkpoint"),
        ("text.ckpt", "not a PyTorch checkpoint"),
        ("nested.safetensors", "nested too deeply"),
        ("half.safetensors", "L must be an integer in [1, 100], got 10.5"),
        ("nan.safetensors", "w0 must be a finite number, got nan"),
    ],
)
def test_bad_model_files_and_devices(
    tmp_path: Path, points: Path, small_model_file: Path, model: str, expected: str
) -> None:
    (tmp_path / "text.ckpt").write_text("just some text, not a model\n")
    _card_file(tmp_path / "nested.safetensors", "[" * 50_000 + "]" * 50_000)
    _card_file(tmp_path / "half.safetensors", _config(L=10.5))
    _card_file(tmp_path / "nan.safetensors", _config(w0=float("nan")))
    line = _assert_one_error(_satclip("embed", str(points), "-o", "o.parquet", "-m", model, cwd=tmp_path), expected)
    assert "trust" not in line
    assert not (tmp_path / "o.parquet").exists()


def test_unknown_device(tmp_path: Path, points: Path, small_model_file: Path) -> None:
    result = _satclip(
        "embed", str(points), "-o", "o.parquet", "-m", str(small_model_file), "--device", "bogus", cwd=tmp_path
    )
    _assert_one_error(result, "unknown device 'bogus'")


def test_convert_of_a_bad_safetensors_file(tmp_path: Path) -> None:
    (tmp_path / "bad.safetensors").write_bytes(b'\x10\x00\x00\x00\x00\x00\x00\x00{"a":1}xxxxxxxxx')
    result = _satclip("convert", "bad.safetensors", "out.safetensors", cwd=tmp_path)
    _assert_one_error(result, "bad.safetensors")
    assert not (tmp_path / "out.safetensors").exists()


def _limit_file_size() -> None:  # runs in the child: writes beyond 1 MB fail with EFBIG, as on a full disk
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))


def _many_points(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    lines = ["lon,lat"] + [
        f"{x:.4f},{y:.4f}" for x, y in zip(rng.uniform(-180, 180, 20_000), rng.uniform(-90, 90, 20_000), strict=True)
    ]
    (tmp_path / "many.csv").write_text("\n".join(lines) + "\n")
    return tmp_path / "many.csv"


@pytest.mark.parametrize("fmt", ["parquet", "npy", "csv"])
def test_write_that_fails_for_lack_of_space(tmp_path: Path, small_model_file: Path, fmt: str) -> None:
    src = _many_points(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    result = _satclip(
        "embed",
        str(src),
        "-o",
        str(out / f"e.{fmt}"),
        "-m",
        str(small_model_file),
        cwd=tmp_path,
        preexec_fn=_limit_file_size,
    )
    _assert_one_error(result, "File too large")
    assert list(out.iterdir()) == []  # nothing half-written left behind


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tiny tmpfs needs root")
def test_disk_full_on_a_tiny_tmpfs(tmp_path: Path, small_model_file: Path) -> None:
    src = _many_points(tmp_path)
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        result = _satclip("embed", str(src), "-o", str(disk / "e.parquet"), "-m", str(small_model_file), cwd=tmp_path)
        _assert_one_error(result, "No space left on device")
        assert list(disk.iterdir()) == []
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def test_resume_from_a_truncated_last_ckpt(tmp_path: Path) -> None:
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    ckpt.parent.mkdir(parents=True)
    data = (REFERENCE / "satclip_layout_L10.ckpt").read_bytes()
    ckpt.write_bytes(data[: len(data) // 2])
    result = _satclip(
        "train", "--config", "bluemarble-l10", "--output.dir", str(tmp_path / "run"), "--resume", cwd=tmp_path
    )
    _assert_one_error(result, f"{ckpt}: checkpoint is truncated or corrupt")
