"""Batching: rank-sharded seeded sampler, feature normalisation, coordinate jitter."""

import numpy as np
import pytest
import torch

from satclip.data.loaders import FeatureBatches, ShardedBatchSampler, jitter_lonlat, normalise_features


def test_sharded_sampler_disjoint_equal_and_seeded_by_epoch():
    idx = np.arange(100, 203)
    ranks = [ShardedBatchSampler(idx, 10, shuffle=True, seed=1, rank=r, world_size=3) for r in range(3)]
    batches = [list(s) for s in ranks]
    assert [len(b) for b in batches] == [3, 3, 3] == [len(s) for s in ranks]  # 103 // (10 * 3), last dropped
    flat = [i for b in batches for batch in b for i in batch]
    assert len(flat) == len(set(flat)) == 90 and set(flat) <= set(idx.tolist())
    again = ShardedBatchSampler(idx, 10, shuffle=True, seed=1, rank=0, world_size=3)
    assert list(again) == batches[0]
    again.set_epoch(1)
    assert list(again) != batches[0]
    follows = ShardedBatchSampler(idx, 10, shuffle=True, seed=1, epoch_fn=lambda: 1, rank=0, world_size=3)
    assert list(follows) == list(again)  # epoch_fn wins over a stale set_epoch


def test_eval_sampler_pads_and_covers_everything():
    s = [ShardedBatchSampler(np.arange(25), 4, shuffle=False, drop_last=False, rank=r, world_size=2) for r in (0, 1)]
    seen = [i for x in s for b in x for i in b]
    assert set(seen) == set(range(25)) and len(list(s[0])) == len(list(s[1]))
    with pytest.raises(ValueError, match="no samples"):
        ShardedBatchSampler(np.arange(0), 4, shuffle=True)


def test_feature_batches_return_whole_batches():
    ds = FeatureBatches(torch.arange(20.0).view(10, 2), torch.zeros(10, 2))
    x, ll, i = ds[[3, 1]]
    assert x.tolist() == [[6.0, 7.0], [2.0, 3.0]] and i.tolist() == [3, 1] and ll.shape == (2, 2)


def test_normalise_features_fitted_on_training_rows():
    rng = np.random.default_rng(0)
    f = rng.normal(size=(2000, 6)) @ rng.normal(size=(6, 6)) + 5
    train = np.arange(1500)
    z = normalise_features(f, train, "standardize")
    assert np.allclose(z[train].mean(0), 0, atol=1e-5) and np.allclose(z[train].std(0), 1, atol=1e-4)
    w = normalise_features(f, train, "whiten", eps=1e-9)
    assert np.allclose(np.cov(w[train], rowvar=False), np.eye(6), atol=1e-3)
    assert normalise_features(f, train, "none").dtype == np.float32
    with pytest.raises(ValueError, match="feature_norm"):
        normalise_features(f, train, "pca")


def test_jitter_stays_on_the_sphere_and_within_scale():
    torch.manual_seed(0)
    ll = torch.tensor([[179.9, 0.0], [0.0, 89.9], [-10.0, -45.0]] * 200)
    j = jitter_lonlat(ll, 1.0)
    assert (j[:, 0] >= -180).all() and (j[:, 0] < 180).all() and (j[:, 1].abs() <= 90).all()
    assert ((j[:, 1] - ll[:, 1]).abs() <= 1.0 + 1e-5).all()
    mid = j[2::3]
    assert ((mid[:, 0] - -10.0).abs() <= 1.0 / np.cos(np.radians(45)) + 1e-4).all()
    assert torch.equal(jitter_lonlat(ll, 0.0), ll)
