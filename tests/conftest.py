"""Shared fixtures: reference data paths, a small random model file, an isolated cache."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from satclip.checkpoints import save_model
from satclip.nn.location_encoder import LocationEncoder, LocationEncoderConfig

REFERENCE = Path(__file__).parent / "fixtures" / "reference"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SATCLIP_CACHE", str(tmp_path_factory.getbasetemp() / "satclip-cache"))


@pytest.fixture(scope="session")
def reference_points() -> np.ndarray:
    return np.array(json.loads((REFERENCE / "points.json").read_text())["points"], dtype=np.float64)


@pytest.fixture(scope="session")
def small_model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-init float32 model file in our format (L=6, hidden 32, 16-d)."""
    torch.manual_seed(0)
    module = LocationEncoder(LocationEncoderConfig(L=6, hidden_dim=32, embed_dim=16))
    path = tmp_path_factory.mktemp("models") / "small.safetensors"
    save_model(path, module, {"name": "small", "description": "random test model"}, dtype=torch.float32)
    return path
