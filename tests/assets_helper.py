"""Skip (locally) or fail (in CI, env CI=true) when a fetched data asset is missing."""

import os

import pytest

from satclip.data.assets import asset_path, get_asset, is_available


def require_asset(name: str) -> None:
    """Skip the calling test unless asset ``name`` is in the cache; in CI a missing asset is a failure."""
    if is_available(name):
        return
    asset = get_asset(name)
    msg = (f"data asset {name!r} ({asset.requirement}) is not in the cache; run `satclip fetch {name}` "
           "(or `satclip fetch --all`) first")
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(msg + " (CI requires every asset)")
    pytest.skip(msg)
    asset_path(name)
