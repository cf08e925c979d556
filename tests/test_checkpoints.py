"""Model files: round trip, released-checkpoint import, and clear errors for bad files."""

from __future__ import annotations

import argparse
import collections
import pathlib
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

import satclip
from satclip.checkpoints import (
    CheckpointError,
    convert_checkpoint,
    load_model_file,
    load_satclip_checkpoint,
    read_card,
    save_model,
)
from satclip.nn.location_encoder import LocationEncoder, LocationEncoderConfig
from tests.conftest import REFERENCE

CKPT = REFERENCE / "satclip_layout_L10.ckpt"


def _reference_ckpt() -> dict:
    return torch.load(CKPT, map_location="cpu", weights_only=True)


def test_round_trip_keeps_weights_config_and_card(tmp_path: Path) -> None:
    torch.manual_seed(0)
    module = LocationEncoder(LocationEncoderConfig(L=8, hidden_dim=64, embed_dim=32))
    path = save_model(tmp_path / "m.safetensors", module, {"name": "m", "metrics": {"x": 1.5}}, dtype=torch.float32)
    loaded, card = load_model_file(path)
    assert loaded.config == module.config
    assert card["metrics"] == {"x": 1.5} and card["weights_dtype"] == "float32"
    assert card["package_version"] == satclip.__version__
    for k, v in module.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[k], v, rtol=0, atol=0)
    assert read_card(path)["config"]["L"] == 8


def test_float16_storage_is_small_and_close(tmp_path: Path) -> None:
    module = LocationEncoder(LocationEncoderConfig(L=10))
    path = save_model(tmp_path / "h.safetensors", module, {"name": "h"})
    assert path.stat().st_size < 0.55 * 445_696 * 4
    loaded, card = load_model_file(path)
    assert loaded.dtype == torch.float32 and card["weights_dtype"] == "float16"
    x = torch.tensor([[5.0, 5.0], [-120.0, 60.0]])
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), module.eval()(x), rtol=0, atol=5e-2)


def test_convert_released_checkpoint_keeps_outputs_identical(tmp_path: Path, reference_points: np.ndarray) -> None:
    out = convert_checkpoint(CKPT, tmp_path / "converted.safetensors")
    enc = satclip.load(out)
    expected = np.load(REFERENCE / "satclip_layout_L10_expected.npy")
    np.testing.assert_allclose(enc.embed(reference_points, dtype=np.float64), expected, rtol=0, atol=1e-10)
    assert enc.card["provenance"]["source"].startswith("microsoft/satclip")
    assert enc.card["compute_dtype"] == "float64"


def test_load_accepts_model_nnet_prefix_and_ignores_unknown_keys(tmp_path: Path, reference_points: np.ndarray):
    ck = _reference_ckpt()
    sd = {k: v for k, v in ck["state_dict"].items() if not k.startswith("model.location.")}
    sd["model.visual.fc.weight"] = torch.zeros(3, 3)
    ck["state_dict"] = dict(sd)  # a plain dict, not an OrderedDict
    ck["extra_top_level"] = {"anything": 1}
    torch.save(ck, tmp_path / "alt.ckpt")
    enc = satclip.load(tmp_path / "alt.ckpt")
    expected = np.load(REFERENCE / "satclip_layout_L10_expected.npy")
    np.testing.assert_allclose(enc.embed(reference_points, dtype=np.float64), expected, rtol=0, atol=1e-10)


def test_closed_form_checkpoint_is_folded_into_first_layer(tmp_path: Path, reference_points: np.ndarray) -> None:
    """A 'closed-form' model with first layer W sees features F_cf; output must equal F_cf @ W.T ..."""
    ck = _reference_ckpt()
    ck["hyper_parameters"] = dict(ck["hyper_parameters"], harmonics_calculation="closed-form")
    torch.save(ck, tmp_path / "cf.ckpt")
    module, _ = load_satclip_checkpoint(tmp_path / "cf.ckpt")
    sd = {
        k[len("model.location.") :]: v
        for k, v in _reference_ckpt()["state_dict"].items()
        if k.startswith("model.location.")
    }
    feats = torch.from_numpy(np.load(REFERENCE / "sh_closedform_L10.npy"))
    with torch.no_grad():
        h = torch.sin(30 * (feats @ sd["nnet.layers.0.weight"].T + sd["nnet.layers.0.bias"]))
        h = torch.sin(h @ sd["nnet.layers.1.weight"].T + sd["nnet.layers.1.bias"])
        expected = h @ sd["nnet.last_layer.weight"].T + sd["nnet.last_layer.bias"]
        ours = module(torch.from_numpy(reference_points))
    torch.testing.assert_close(ours, expected, rtol=0, atol=1e-10)


class _Untrusted:  # a class that weights_only=True must refuse to unpickle
    pass


def test_checkpoint_needing_unpickling_is_refused_unless_trusted(tmp_path: Path) -> None:
    """Plain-data classes of the fixed allow-list load only when trusted; any other class never does."""
    ck = _reference_ckpt()
    ck["hyper_parameters"] = dict(ck["hyper_parameters"])
    ck["callbacks"] = {"path": pathlib.PurePosixPath("/x"), "ns": argparse.Namespace(lr=1e-4), "x": np.float64(1)}
    torch.save(ck, tmp_path / "pickled.ckpt")
    with pytest.raises(CheckpointError, match=r"refusing to unpickle 'pathlib.PurePosixPath'.*trust_checkpoint=True"):
        satclip.load(tmp_path / "pickled.ckpt")
    enc = satclip.load(tmp_path / "pickled.ckpt", trust_checkpoint=True)
    assert enc.dim == 256
    ck["callbacks"] = {"obj": _Untrusted()}
    torch.save(ck, tmp_path / "class.ckpt")
    for trust in (False, True):
        with pytest.raises(CheckpointError, match=r"refusing to unpickle 'tests.test_checkpoints._Untrusted'.*never"):
            satclip.load(tmp_path / "class.ckpt", trust_checkpoint=trust)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda ck: ck.pop("state_dict"), "no 'state_dict'"),
        (lambda ck: ck.pop("hyper_parameters"), "no 'hyper_parameters'"),
        (lambda ck: ck["hyper_parameters"].pop("capacity"), "lack 'capacity'"),
        (lambda ck: ck["hyper_parameters"].update(legendre_polys=12), r"has shape \(512, 100\), expected \(512, 144\)"),
        (lambda ck: ck["hyper_parameters"].update(pe_type="mlp"), "only spherical-harmonics \\+ SIREN"),
        (lambda ck: ck.update(state_dict={"model.visual.x": torch.zeros(1)}), "no location-encoder keys"),
        (
            lambda ck: [ck["state_dict"].pop(p + "nnet.layers.1.bias") for p in ("model.location.", "model.")],
            r"missing keys \['nnet.layers.1.bias'\]",
        ),
    ],
)
def test_malformed_released_checkpoints_get_clear_errors(tmp_path: Path, mutate, message: str) -> None:
    ck = _reference_ckpt()
    ck["hyper_parameters"] = dict(ck["hyper_parameters"])
    ck["state_dict"] = collections.OrderedDict(ck["state_dict"])
    mutate(ck)
    torch.save(ck, tmp_path / "bad.ckpt")
    with pytest.raises(CheckpointError, match=message):
        satclip.load(tmp_path / "bad.ckpt")


def test_truncated_and_garbage_files_get_clear_errors(tmp_path: Path, small_model_file: Path) -> None:
    data = CKPT.read_bytes()
    (tmp_path / "trunc.ckpt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        satclip.load(tmp_path / "trunc.ckpt")
    (tmp_path / "garbage.ckpt").write_bytes(pickle.dumps([1, 2, 3]) * 3)
    with pytest.raises(CheckpointError, match=r"garbage.ckpt"):
        satclip.load(tmp_path / "garbage.ckpt")
    blob = small_model_file.read_bytes()
    (tmp_path / "trunc.safetensors").write_bytes(blob[: len(blob) - 100])
    with pytest.raises(CheckpointError, match="not a readable safetensors file"):
        satclip.load(tmp_path / "trunc.safetensors")
    (tmp_path / "empty.safetensors").write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"empty\.safetensors"):
        satclip.load(tmp_path / "empty.safetensors")


def test_foreign_or_mismatched_safetensors_files_get_clear_errors(tmp_path: Path, small_model_file: Path) -> None:
    save_file({"w": torch.zeros(2)}, str(tmp_path / "foreign.safetensors"))
    with pytest.raises(CheckpointError, match="without satclip model metadata"):
        satclip.load(tmp_path / "foreign.safetensors")
    module, card = load_model_file(small_model_file)
    tensors = {k: v.clone() for k, v in module.state_dict().items()}
    tensors["nnet.layers.0.weight"] = torch.zeros(32, 7)
    import json

    meta = {"format": "satclip-location-encoder", "format_version": "1", "card": json.dumps(card)}
    save_file(tensors, str(tmp_path / "shape.safetensors"), metadata=meta)
    with pytest.raises(CheckpointError, match=r"'nnet.layers.0.weight' has shape \(32, 7\), expected \(32, 36\)"):
        satclip.load(tmp_path / "shape.safetensors")
    tensors = {k: v.clone() for k, v in module.state_dict().items()}
    tensors["nnet.layers.0.bias"][0] = float("nan")
    save_file(tensors, str(tmp_path / "nan.safetensors"), metadata=meta)
    with pytest.raises(CheckpointError, match="NaN or inf"):
        satclip.load(tmp_path / "nan.safetensors")


def test_unknown_name_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="neither a bundled model"):
        satclip.load("no-such-model")
    with pytest.raises(CheckpointError, match="neither a bundled model"):
        satclip.load(tmp_path / "missing.safetensors")


@pytest.mark.parametrize(
    ("name", "message"), [("", "empty model name"), ("  ", "empty model name"), (".", "is a folder")]
)
def test_empty_name_and_folder_are_named_as_such(tmp_path: Path, name: str, message: str) -> None:
    """'' became the path '.', reported as 'checkpoint not found: .'; a folder was 'not found' although it exists."""
    with pytest.raises(CheckpointError, match=message):
        satclip.load(name)
    with pytest.raises(CheckpointError, match=f"{tmp_path}: is a folder, not a model file"):
        satclip.load(tmp_path)


def test_save_is_atomic_on_failure(tmp_path: Path, small_model_file: Path) -> None:
    target = tmp_path / "keep.safetensors"
    target.write_bytes(small_model_file.read_bytes())
    module, _ = load_model_file(small_model_file)
    with pytest.raises(TypeError):
        save_model(target, module, {"bad": object()})  # card not JSON-serialisable
    assert target.read_bytes() == small_model_file.read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["keep.safetensors"]
