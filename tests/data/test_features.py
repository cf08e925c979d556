"""Image-feature cache: computed once per (data, encoder config), reused, keyed apart when either changes."""

import numpy as np
import pytest

from satclip.data.bluemarble import PatchArrays
from satclip.data.features import cached_features, feature_key
from satclip.data.image_datasets import PatchArrayDataset


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SATCLIP_CACHE", str(tmp_path / "cache"))


def _dataset(key="k1", n=40, seed=0):
    rng = np.random.default_rng(seed)
    patches = rng.integers(0, 256, (n, 12, 12, 3), dtype=np.uint8)
    patches[:5] = 17  # flat patches must not produce NaN
    lonlat = np.stack([rng.uniform(-180, 180, n), rng.uniform(-90, 90, n)], 1)
    return PatchArrayDataset(PatchArrays(patches, lonlat, np.zeros(n, np.int8), {"key": key}))


def test_cached_once_and_reused():
    ds = _dataset()
    spec = {"name": "rcf", "n_filters": 8}
    f1, info1 = cached_features(ds, spec, progress=False, fit_images=40)
    assert f1.shape == (40, 16) and np.isfinite(f1).all() and not info1["cached"]
    f2, info2 = cached_features(ds, spec, progress=False)
    assert info2["cached"] and info2["key"] == info1["key"] and np.array_equal(f1, f2)


def test_key_depends_on_data_and_config_but_not_on_explicit_defaults():
    ds = _dataset()
    assert feature_key(ds, {"name": "rcf"}) == feature_key(ds, {"name": "rcf", "n_filters": 256, "kernel": 3})
    assert feature_key(ds, {"name": "rcf"}) != feature_key(ds, {"name": "rcf", "n_filters": 8})
    assert feature_key(ds, {"name": "rcf"}) != feature_key(_dataset(key="k2"), {"name": "rcf"})


def test_trainable_encoder_cannot_be_cached():
    with pytest.raises(ValueError, match="trainable"):
        cached_features(_dataset(), {"name": "cnn"}, progress=False)
