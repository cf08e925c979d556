"""The model registry: bundled and released entries, ``list_models``, and loading a released name without a
download (a clear error naming the command; nothing is fetched)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import satclip
from satclip.checkpoints import CheckpointError, convert_checkpoint
from satclip.nn.location_encoder import LocationEncoder, LocationEncoderConfig
from satclip.registry import (
    BUNDLED,
    RELEASED,
    SATCLIP_CITATION,
    ModelNotDownloadedError,
    list_models,
    models_dir,
    not_downloaded,
)
from tests.conftest import REFERENCE

NAMES = [
    "satclip-resnet18-l10",
    "satclip-resnet18-l40",
    "satclip-resnet50-l10",
    "satclip-resnet50-l40",
    "satclip-vit16-l10",
    "satclip-vit16-l40",
]
ARCH = {"resnet18": "ResNet18", "resnet50": "ResNet50", "vit16": "ViT16"}


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh SATCLIP_CACHE per test: no released model downloaded."""
    monkeypatch.setenv("SATCLIP_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_six_released_models_with_repo_file_and_revision() -> None:
    assert list(RELEASED) == NAMES
    for name, entry in RELEASED.items():
        arch, L = name.removeprefix("satclip-").split("-")
        assert entry.L == int(L[1:])
        assert entry.repo_id == f"microsoft/SatCLIP-{ARCH[arch]}-L{entry.L}"
        assert entry.filename == f"{name}.ckpt"
        assert entry.download_command == f"satclip download {name}"
        assert ("ViT-S/16" if arch == "vit16" else arch.replace("resnet", "ResNet")) in entry.image_encoder
    vit = RELEASED["satclip-vit16-l40"]
    assert vit.revision == "0ef2acc0b91d3c8cfdf4a0cc03207095989287ab" and vit.pinned  # the commit torchgeo pins
    assert all(e.revision == "main" and not e.pinned for n, e in RELEASED.items() if n != "satclip-vit16-l40")
    assert "klemmer2025satclip" in SATCLIP_CITATION and "AAAI" in SATCLIP_CITATION
    assert not set(RELEASED) & set(BUNDLED)


@pytest.mark.parametrize("L", [10, 40])
def test_parameter_count_matches_the_architecture(L: int) -> None:
    entry = RELEASED[f"satclip-vit16-l{L}"]
    module = LocationEncoder(
        LocationEncoderConfig(
            L=L, hidden_dim=entry.hidden_dim, num_hidden_layers=entry.num_hidden_layers, embed_dim=entry.embed_dim
        )
    )
    assert entry.n_parameters == sum(p.numel() for p in module.parameters())


def test_released_models_live_under_the_satclip_cache(empty_cache: Path) -> None:
    assert models_dir() == empty_cache / "models"
    assert RELEASED["satclip-vit16-l40"].path == empty_cache / "models" / "satclip-vit16-l40.safetensors"


def test_list_models_keeps_its_contract(empty_cache: Path) -> None:
    """Default: what ``load`` accepts offline now (bundled + downloaded); ``downloadable=True`` adds the rest."""
    assert list_models() == sorted(BUNDLED) == satclip.list_models()
    assert list_models(downloadable=True) == sorted([*BUNDLED, *NAMES])
    for name in list_models():
        satclip.load(name)


def test_load_of_a_released_model_not_on_disk_names_the_command(
    empty_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # any download attempt would fail with ImportError
    with pytest.raises(
        ModelNotDownloadedError, match=r"not downloaded yet.*with: satclip download satclip-vit16-l40"
    ) as info:
        satclip.load("satclip-vit16-l40")
    assert "\n" not in str(info.value) and isinstance(info.value, CheckpointError)
    assert not (empty_cache / "models" / "satclip-vit16-l40.safetensors").exists()


def test_download_without_huggingface_hub_names_the_extra(empty_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    with pytest.raises(ImportError, match=r"pip install 'satclip\[hub\]'"):
        satclip.load("satclip-resnet18-l10", download=True)


def test_unknown_name_lists_bundled_and_released() -> None:
    with pytest.raises(CheckpointError, match=r"neither a bundled model .*satclip-vit16-l40.* nor an existing file"):
        satclip.load("satclip-vit99-l10")


def test_a_foreign_file_in_the_released_slot_is_refused(empty_cache: Path) -> None:
    """A model file at the released name's path that ``satclip download`` did not write (no matching source)."""
    entry = RELEASED["satclip-resnet18-l10"]
    convert_checkpoint(REFERENCE / "satclip_layout_L10.ckpt", entry.path)
    with pytest.raises(CheckpointError, match=r"names source None, expected 'microsoft/SatCLIP-ResNet18-L10'.*--force"):
        satclip.load("satclip-resnet18-l10")


def test_not_downloaded_lists_released_names_only(empty_cache: Path) -> None:
    assert not_downloaded(
        ["lonlat", "satclip-bluemarble-l10", "satclip-vit16-l40+lonlat", "satclip-vit16-l40", "satclip-resnet18-l10"]
    ) == ["satclip-vit16-l40", "satclip-resnet18-l10"]


def test_bundled_models_still_load_unchanged(reference_points: np.ndarray) -> None:
    enc = satclip.load("satclip-bluemarble-l10")
    assert enc.name == "satclip-bluemarble-l10" and enc.module.dtype == torch.float32
    assert np.isfinite(enc.embed(reference_points)).all()
