"""Hostile model files (issue 13): a card cannot make the loader allocate, a checkpoint cannot run code,
and bad weights or configs are refused naming the key."""

from __future__ import annotations

import builtins
import collections
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import save_file

import satclip
from satclip.checkpoints import CheckpointError, load_model_file
from satclip.nn.location_encoder import LocationEncoder, LocationEncoderConfig
from tests.conftest import REFERENCE

CKPT = REFERENCE / "satclip_layout_L10.ckpt"
ROOT = Path(__file__).resolve().parents[1]


def _reference_ckpt() -> dict:
    ck = torch.load(CKPT, map_location="cpu", weights_only=True)
    ck["hyper_parameters"] = dict(ck["hyper_parameters"])
    ck["state_dict"] = collections.OrderedDict(ck["state_dict"])
    return ck


def _own_file(path: Path, card: dict[str, Any], tensors: dict[str, torch.Tensor]) -> Path:
    """A safetensors file in our format with whatever card and tensors a hostile author chooses."""
    meta = {"format": "satclip-location-encoder", "format_version": "1", "card": json.dumps(card)}
    save_file(tensors, str(path), metadata=meta)
    return path


def _small() -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    torch.manual_seed(0)
    module = LocationEncoder(LocationEncoderConfig(L=6, hidden_dim=32, embed_dim=16))
    return module.config.to_dict(), {k: v.clone() for k, v in module.state_dict().items()}


_MEASURE = """
import resource, sys, time
from satclip.checkpoints import CheckpointError, load_model_file, load_satclip_checkpoint
path = sys.argv[1]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
try:
    (load_model_file if path.endswith(".safetensors") else load_satclip_checkpoint)(path)
    outcome = "loaded"
except CheckpointError as err:
    outcome = "refused: " + str(err)
print(time.perf_counter() - t0, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024)
print(outcome)
"""


def _load_in_subprocess(path: Path) -> tuple[float, float, str]:
    """(seconds, peak-RSS growth in MB, outcome) of loading ``path`` in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", str(ROOT))}
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(path)], capture_output=True, text=True, env=env, timeout=120, check=True
    ).stdout.splitlines()
    seconds, growth = map(float, out[0].split())
    return seconds, growth, out[1]


@pytest.mark.parametrize("L, hidden", [(1000, 512), (100, 4096)])
def test_card_cannot_make_the_loader_allocate(tmp_path: Path, L: int, hidden: int) -> None:
    """Issue 13.1: a ~1 MB file whose card declares a huge network is refused in well under a second with
    bounded memory (the old loader built the module first: L=1000 took 2.3 GB and 17 s)."""
    config, tensors = _small()
    card = {"config": dict(config, L=L, hidden_dim=hidden), "description": "x" * 1_000_000}  # ~1 MB, as reported
    path = _own_file(tmp_path / "huge.safetensors", card, tensors)
    seconds, growth_mb, outcome = _load_in_subprocess(path)
    assert outcome.startswith("refused") and ("must be an integer in [1, 100]" in outcome or "has shape" in outcome)
    assert seconds < 1.0 and growth_mb < 50, (seconds, growth_mb)


@pytest.mark.parametrize("L, capacity", [(1000, 512), (100, 4096)])
def test_released_checkpoint_hyper_parameters_cannot_make_the_loader_allocate(
    tmp_path: Path, L: int, capacity: int
) -> None:
    ck = _reference_ckpt()
    ck["hyper_parameters"].update(legendre_polys=L, capacity=capacity)
    torch.save(ck, tmp_path / "huge.ckpt")
    seconds, growth_mb, outcome = _load_in_subprocess(tmp_path / "huge.ckpt")
    assert outcome.startswith("refused")
    assert seconds < 1.0 and growth_mb < 50, (seconds, growth_mb)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"L": 10.5}, r"L must be an integer in \[1, 100\], got 10.5"),
        ({"L": "6"}, r"L must be an integer.*got '6'"),
        ({"hidden_dim": True}, r"hidden_dim must be an integer.*got True"),
        ({"w0": float("nan")}, r"w0 must be a finite number, got nan"),
        ({"w0_initial": float("inf")}, r"w0_initial must be a finite number, got inf"),
        ({"w0": 0}, r"w0 and w0_initial must be positive"),
        ({"w0": -1}, r"w0 and w0_initial must be positive"),  # found by Hypothesis: a RuntimeError inside torch
        ({"convention": ["satclip"]}, r"unknown SH convention"),
        ({"num_hidden_layers": 10**9}, r"num_hidden_layers must be an integer in \[1, 64\]"),
    ],
)
def test_invalid_card_configs_get_one_clear_error(tmp_path: Path, change: dict, message: str) -> None:
    config, tensors = _small()
    path = _own_file(tmp_path / "bad.safetensors", {"config": {**config, **change}}, tensors)
    with pytest.raises(CheckpointError, match=r"invalid 'config' in model card: .*" + message):
        load_model_file(path)


@pytest.mark.parametrize(
    "card, message",
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ("[1, 2]", "must be a JSON object, got list"),
        ('{"config": [1]}', "config must be a mapping"),
        ("{}", "invalid 'config'"),
    ],
)
def test_malformed_cards_get_one_clear_error(tmp_path: Path, card: str, message: str) -> None:
    _, tensors = _small()
    meta = {"format": "satclip-location-encoder", "format_version": "1", "card": card}
    save_file(tensors, str(tmp_path / "card.safetensors"), metadata=meta)
    with pytest.raises(CheckpointError, match=message):
        load_model_file(tmp_path / "card.safetensors")


def test_integer_and_huge_weights_are_refused_naming_the_key(tmp_path: Path) -> None:
    """Issue 13.10: int32 weights and a 1e30 weight were accepted."""
    config, tensors = _small()
    ints = dict(tensors, **{"nnet.layers.1.weight": tensors["nnet.layers.1.weight"].to(torch.int32)})
    with pytest.raises(CheckpointError, match=r"'nnet.layers.1.weight' has dtype I32"):
        load_model_file(_own_file(tmp_path / "int.safetensors", {"config": config}, ints))
    huge = {k: v.clone() for k, v in tensors.items()}
    huge["nnet.last_layer.bias"][3] = 1e30
    with pytest.raises(CheckpointError, match=r"'nnet.last_layer.bias' has a weight of magnitude 1e\+30"):
        load_model_file(_own_file(tmp_path / "huge.safetensors", {"config": config}, huge))
    ck = _reference_ckpt()
    ck["state_dict"]["model.location.nnet.layers.0.bias"] = ck["state_dict"]["model.location.nnet.layers.0.bias"].to(
        torch.int32
    )
    torch.save(ck, tmp_path / "int.ckpt")
    with pytest.raises(CheckpointError, match=r"'nnet.layers.0.bias' has dtype int32"):
        satclip.load(tmp_path / "int.ckpt")
    ck = _reference_ckpt()
    ck["state_dict"]["model.location.nnet.last_layer.weight"][0, 0] = 1e30
    torch.save(ck, tmp_path / "huge.ckpt")
    with pytest.raises(CheckpointError, match=r"'nnet.last_layer.weight' has a weight of magnitude 1e\+30"):
        satclip.load(tmp_path / "huge.ckpt")


class _Payload:
    """Unpickles to ``func(arg)``: what a malicious checkpoint does to run code."""

    def __init__(self, func: Any, arg: str) -> None:
        self.func, self.arg = func, arg

    def __reduce__(self) -> tuple:
        return self.func, (self.arg,)


@pytest.mark.parametrize("func", ["eval", "system"])
@pytest.mark.parametrize("trust", [False, True])
def test_code_payload_never_runs_even_when_trusted(tmp_path: Path, func: str, trust: bool) -> None:
    """Issue 13.2: with --trust-checkpoint the allow-list came from the file, so an eval payload ran."""
    marker = tmp_path / "pwned"
    code = {
        "eval": (builtins.eval, f"open({str(marker)!r}, 'w').write('x')"),
        "system": (os.system, f"touch {marker}"),
    }[func]
    ck = _reference_ckpt()
    ck["callbacks"] = {"x": _Payload(*code)}
    torch.save(ck, tmp_path / "evil.ckpt")
    with pytest.raises(CheckpointError, match=r"refusing to unpickle '(eval|posix.system)'.*never"):
        satclip.load(tmp_path / "evil.ckpt", trust_checkpoint=trust)
    assert not marker.exists()


@pytest.mark.parametrize("content", [b"hello world\n", b"root:x:0:0:root:/root:/bin/bash\n" * 20, b""])
def test_non_checkpoint_files_are_not_told_to_trust(tmp_path: Path, content: bytes) -> None:
    """Issue 13.9: /etc/passwd gave an IndexError, a text file was told to re-run with --trust-checkpoint."""
    (tmp_path / "model.ckpt").write_bytes(content)
    with pytest.raises(CheckpointError, match="not a PyTorch checkpoint") as info:
        satclip.load(tmp_path / "model.ckpt")
    assert "trust" not in str(info.value)


def _torch_zip(path: Path, pickle_bytes: bytes) -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("archive/data.pkl", pickle_bytes)
        zf.writestr("archive/byteorder", "little")
        zf.writestr("archive/version", "3\n")
    path.write_bytes(buf.getvalue())
    return path


@pytest.mark.parametrize("constructor", [b"builtins\nbytearray", b"torch\nFloatTensor"])
def test_tiny_checkpoint_cannot_allocate_gigabytes(tmp_path: Path, constructor: bytes) -> None:
    """torch's restricted unpickler admits bytearray(n): a 384-byte file took 2 GB and 15 s."""
    payload = b"\x80\x02c" + constructor + b"\nJ\x00\x94\x35\x77\x85R."  # constructor(2_000_000_000)
    path = _torch_zip(tmp_path / "bomb.ckpt", payload)
    seconds, growth_mb, outcome = _load_in_subprocess(path)
    assert outcome.startswith("refused") and "can allocate unbounded memory" in outcome, outcome
    assert seconds < 1.0 and growth_mb < 50, (seconds, growth_mb)


def test_broadcast_view_weights_are_refused(tmp_path: Path) -> None:
    """A stride-0 view stores one number but claims a full weight matrix (memory not held by the file)."""
    ck = _reference_ckpt()
    key = "model.location.nnet.layers.1.weight"
    ck["state_dict"][key] = torch.zeros(1, dtype=torch.float64).expand(512, 512)
    torch.save(ck, tmp_path / "view.ckpt")
    with pytest.raises(CheckpointError, match=r"key 'nnet.layers.1.weight' is a view larger"):
        satclip.load(tmp_path / "view.ckpt")
