"""Random convolutional features: flat patches skipped, unit response scale, determinism, clear errors."""

import pytest
import torch

from satclip.image.rcf import RCF, RCFConfig


def _images(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 3, 16, 16, generator=g)
    x[: n // 2] = 0.5  # half the images are perfectly flat
    return x


def test_fit_skips_flat_patches_and_gives_finite_features():
    x = _images()
    rcf = RCF(3, RCFConfig(n_filters=16)).fit(x)
    assert (rcf.weight.flatten(1).norm(dim=1) > 0).all()
    f = rcf(x)
    assert f.shape == (64, rcf.out_dim) == (64, 32)
    assert torch.isfinite(f).all()
    assert f[32:].std(0).mean() > 0  # textured images differ


def test_responses_standardised_and_deterministic():
    x = _images(seed=3)[32:]
    a = RCF(3, RCFConfig(n_filters=8, seed=1)).fit(x)
    resp = torch.nn.functional.conv2d(x, a.weight, -a.shift)
    assert torch.allclose(resp.std(dim=(0, 2, 3)), torch.ones(8), atol=0.05)
    b = RCF(3, RCFConfig(n_filters=8, seed=1)).fit(x)
    assert torch.equal(a.weight, b.weight)
    c = RCF(3, RCFConfig(n_filters=8, seed=2)).fit(x)
    assert not torch.equal(a.weight, c.weight)


def test_multiscale_pool_grid_dimension():
    rcf = RCF(3, RCFConfig(n_filters=4, pool_grid=2)).fit(_images())
    assert rcf(_images()[:2]).shape == (2, 2 * 4 * (1 + 4))


def test_errors():
    with pytest.raises(RuntimeError, match="fit"):
        RCF(3)(torch.rand(1, 3, 8, 8))
    with pytest.raises(ValueError, match="non-flat"):
        RCF(3, RCFConfig(n_filters=4)).fit(torch.full((8, 3, 8, 8), 0.2))
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        RCF(3).fit(torch.rand(2, 4, 8, 8))
