"""SIREN and LocationEncoder: exact agreement with the official SatCLIP encoder, sizes, dropout."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from satclip.checkpoints import load_satclip_checkpoint
from satclip.nn.location_encoder import LocationEncoder, LocationEncoderConfig
from satclip.nn.siren import SirenNet
from tests.conftest import REFERENCE


def test_released_layout_checkpoint_reproduces_official_embeddings(reference_points: np.ndarray) -> None:
    module, _ = load_satclip_checkpoint(REFERENCE / "satclip_layout_L10.ckpt")
    assert module.dtype == torch.float64 and not module.training
    with torch.no_grad():
        emb = module(torch.from_numpy(reference_points)).numpy()
    expected = np.load(REFERENCE / "satclip_layout_L10_expected.npy")
    np.testing.assert_allclose(emb, expected, rtol=0, atol=1e-10)


@pytest.mark.parametrize("L, params", [(10, 445_696), (40, 1_213_696)])
def test_parameter_counts_match_released_models(L: int, params: int) -> None:
    module = LocationEncoder(LocationEncoderConfig(L=L))
    assert sum(p.numel() for p in module.parameters()) == params


def test_siren_initialisation_bounds_follow_satclip() -> None:
    torch.manual_seed(0)
    net = SirenNet(100, 512, 256, 2)
    assert net.layers[0].weight.abs().max() <= 1 / 100
    assert net.layers[0].weight.abs().max() > 0.9 / 100
    bound = np.sqrt(6 / 512)
    for layer in (net.layers[1], net.last_layer):
        assert layer.weight.abs().max() <= bound and layer.weight.abs().max() > 0.9 * bound
    assert net.layers[0].w0 == 30.0 and net.layers[1].w0 == 1.0 and not net.last_layer.activation


def test_dropout_acts_before_the_sine_in_training_only() -> None:
    torch.manual_seed(0)
    module = LocationEncoder(LocationEncoderConfig(L=4, hidden_dim=64, embed_dim=8, dropout=0.5))
    x = torch.tensor([[10.0, 20.0]] * 4)
    module.eval()
    with torch.no_grad():
        a, b = module(x), module(x)
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a[0], a[1])
    module.train()
    first = module.nnet.layers[0]
    with torch.no_grad():
        h = first(module.positional_encoding(x))
    # Dropped units are sin(0) = 0 exactly; kept ones are sin(30 * 2 * pre): about half are zero.
    zero_fraction = (h == 0).float().mean().item()
    assert 0.35 < zero_fraction < 0.65


def test_post_sine_dropout_drops_sine_outputs_and_keeps_eval_identical() -> None:
    torch.manual_seed(0)
    cfg = LocationEncoderConfig(L=4, hidden_dim=64, embed_dim=8, dropout=0.5, dropout_at="post_sine")
    module = LocationEncoder(cfg)
    pre = LocationEncoder(LocationEncoderConfig(**{**cfg.to_dict(), "dropout_at": "pre_sine"}))
    pre.load_state_dict(module.state_dict())
    x = torch.tensor([[10.0, 20.0]] * 4)
    module.eval(), pre.eval()
    with torch.no_grad():
        torch.testing.assert_close(module(x), pre(x))  # dropout's position changes training only
    module.train()
    first = module.nnet.layers[0]
    with torch.no_grad():
        z = first.w0 * torch.nn.functional.linear(module.positional_encoding(x), first.weight, first.bias)
        h = first(module.positional_encoding(x))
    kept = h != 0
    assert 0.35 < kept.float().mean().item() < 0.65
    torch.testing.assert_close(h[kept], 2 * torch.sin(z)[kept])  # kept sine outputs scaled by 1 / (1 - p)
    with pytest.raises(ValueError, match="dropout_at"):
        LocationEncoderConfig(dropout_at="after")


def test_config_validation_and_round_trip() -> None:
    cfg = LocationEncoderConfig(L=12, convention="satclip", hidden_dim=64)
    assert LocationEncoderConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown location encoder config keys"):
        LocationEncoderConfig.from_dict({**cfg.to_dict(), "legendre_polys": 3})
    with pytest.raises(ValueError, match="convention"):
        LocationEncoderConfig(convention="analytic")
    with pytest.raises(ValueError, match="dropout"):
        LocationEncoderConfig(dropout=1.0)


def test_float32_encoder_close_to_float64() -> None:
    torch.manual_seed(1)
    module = LocationEncoder(LocationEncoderConfig(L=10)).double().eval()
    pts = torch.tensor([[0.0, 90.0], [180.0, 0.0], [-180.0, 0.0], [12.3, -45.6]], dtype=torch.float64)
    with torch.no_grad():
        f64 = module(pts)
        f32 = module.float()(pts.float())
    torch.testing.assert_close(f32.double(), f64, rtol=0, atol=1e-4)


def test_training_backward_and_inference_paths_agree() -> None:
    torch.manual_seed(2)
    module = LocationEncoder(LocationEncoderConfig(L=6, hidden_dim=32, embed_dim=8))
    x = torch.tensor([[10.0, 20.0], [-100.0, -45.0]])
    module.train()
    module(x).pow(2).sum().backward()
    grads = [p.grad for p in module.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert all(g.abs().sum() > 0 for g in grads)
    module.eval()
    with_grad = module(x)  # autograd path (out-of-place sine)
    with torch.no_grad():
        without = module(x)  # inference path (in-place sine)
    torch.testing.assert_close(with_grad.detach(), without, rtol=0, atol=0)
