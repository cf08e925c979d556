"""Fetched data assets in tests: the real asset folder survives the suite's isolated cache, and a missing
asset skips the test locally but fails it in CI (env CI=true)."""

import os
from pathlib import Path

import pytest

from satclip.data.assets import assets_root, get_asset, is_available

# Captured at import (collection time), before the autouse fixture isolates SATCLIP_CACHE per test.
REAL_ASSETS = Path(os.environ.get("SATCLIP_ASSETS") or assets_root())


@pytest.fixture()
def real_assets(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point asset lookups at the real asset folder (where `satclip fetch` put them)."""
    monkeypatch.setenv("SATCLIP_ASSETS", str(REAL_ASSETS))
    return REAL_ASSETS


def require_asset(name: str) -> None:
    """Skip the calling test unless asset ``name`` is fetched; in CI a missing asset is a failure.
    Use in tests that also use the ``real_assets`` fixture."""
    if is_available(name):
        return
    asset = get_asset(name)
    msg = (
        f"data asset {name!r} ({asset.requirement}) is not fetched; run `satclip fetch {name}` "
        "(or `satclip fetch` for all) first"
    )
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(msg + " (CI requires every asset)")
    pytest.skip(msg)
