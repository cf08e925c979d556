"""Fixtures for the app tests: a small random-init model file, a fresh cache, a coarse grid (fast)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app" / "streamlit_app.py"
RESOLUTION = os.environ.get("SATCLIP_TEST_APP_RESOLUTION", "2")  # degrees: 16,200 cells, builds in about a second

pytest.importorskip("streamlit")
pytest.importorskip("streamlit_folium")
if str(ROOT / "app") not in sys.path:
    sys.path.insert(0, str(ROOT / "app"))


@pytest.fixture(scope="session")
def app_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """SATCLIP_APP_* and SATCLIP_CACHE for the whole session (restored afterwards)."""
    import torch

    from satclip.checkpoints import save_model
    from satclip.nn.location_encoder import LocationEncoder, LocationEncoderConfig

    tmp = tmp_path_factory.mktemp("app")
    torch.manual_seed(0)
    model = save_model(
        tmp / "tiny-l10.safetensors",
        LocationEncoder(LocationEncoderConfig(L=10)),
        {
            "name": "tiny-test",
            "training_data": "none (random init)",
            "metrics": {"test": {"r2": 0.3017578125, "n": 1200}},
        },
    )
    env = {
        "SATCLIP_APP_MODEL": str(model),
        "SATCLIP_APP_RESOLUTION": RESOLUTION,
        "SATCLIP_CACHE": str(tmp / "cache"),
        "SATCLIP_APP_BASEMAP_PX": "512",
        "SATCLIP_APP_MAX_ROWS": "5000",
    }
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield {**env, "tmp": str(tmp)}
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
