"""Shared fixtures: reference data paths, a small random model file, an isolated cache."""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from satclip.checkpoints import save_model
from satclip.nn.location_encoder import LocationEncoder, LocationEncoderConfig

REFERENCE = Path(__file__).parent / "fixtures" / "reference"
NO_HUB = "http://127.0.0.1:9"  # nothing listens there, and a port below 1024 is never handed out for port 0


@pytest.fixture(scope="session", autouse=True)
def _huggingface_hub_endpoint_frozen_off_the_fakes() -> Iterator[None]:
    """Import huggingface_hub before any test points HF_ENDPOINT at a fake Hub (tests/hub_server.py).

    It reads HF_ENDPOINT once, at import, and treats that origin as the Hub for good: frozen at one fake's port,
    a later fake's storage host on the same (reused) port got a HEAD instead of the download. Frozen on NO_HUB,
    no fake can collide, and nothing a test forgets to point elsewhere reaches the internet.
    """
    if importlib.util.find_spec("huggingface_hub") is not None:
        before = os.environ.get("HF_ENDPOINT")
        os.environ["HF_ENDPOINT"] = NO_HUB
        try:
            import huggingface_hub.file_download  # noqa: F401  (constants and utils._http with it)
        finally:
            if before is None:
                del os.environ["HF_ENDPOINT"]
            else:
                os.environ["HF_ENDPOINT"] = before
    yield


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
