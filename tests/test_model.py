"""SatCLIP model: CLIP loss, temperature clamp, AdamW parameter groups, retrieval metrics."""

import math

import numpy as np
import pytest
import torch

from satclip.image.cnn import SmallCNN
from satclip.model import (
    LOGIT_SCALE_INIT,
    SatCLIP,
    clip_loss,
    parameter_groups,
    retrieval_metrics,
    soft_targets_from_features,
)
from satclip.nn.location_encoder import LocationEncoderConfig

SMALL = LocationEncoderConfig(L=4, hidden_dim=32, embed_dim=16)


def test_clip_loss_perfect_pairs_near_zero_and_random_near_log_b():
    torch.manual_seed(0)
    e = torch.nn.functional.normalize(torch.randn(64, 16), dim=-1)
    assert clip_loss(e, e, torch.tensor(100.0)) < 0.05
    r = clip_loss(torch.randn(64, 16), torch.randn(64, 16), torch.tensor(1.0))
    assert abs(float(r) - math.log(64)) < 0.3


def test_clip_loss_symmetric_and_identity_soft_targets_match_hard():
    torch.manual_seed(1)
    a, b = torch.randn(8, 4), torch.randn(8, 4)
    s = torch.tensor(5.0)
    assert torch.allclose(clip_loss(a, b, s), clip_loss(b, a, s))
    assert torch.allclose(clip_loss(a, b, s), clip_loss(a, b, s, torch.eye(8)))
    soft = soft_targets_from_features(torch.randn(8, 3), 0.3)
    assert torch.allclose(soft.sum(1), torch.ones(8))
    assert (soft.diagonal() >= 0.7).all()


def test_temperature_initialised_and_clamped_at_100():
    m = SatCLIP(SMALL, image_dim=10)
    assert float(m.logit_scale.detach()) == pytest.approx(LOGIT_SCALE_INIT)
    assert float(m.temperature_scale().detach()) == pytest.approx(1 / 0.07, rel=1e-5)
    with torch.no_grad():
        m.logit_scale.fill_(10.0)
    assert float(m.temperature_scale().detach()) == pytest.approx(100.0, rel=1e-5)


def test_parameter_groups_follow_satclip():
    m = SatCLIP(SMALL, image_dim=12, image_encoder=SmallCNN(3, width=4, out_dim=12))
    no_decay, decay = parameter_groups(m, 0.01)
    assert no_decay["weight_decay"] == 0.0 and decay["weight_decay"] == 0.01
    names = {id(p): n for n, p in m.named_parameters()}
    nd = {names[id(p)] for p in no_decay["params"]}
    d = {names[id(p)] for p in decay["params"]}
    assert "logit_scale" in nd and "image_head.bias" in nd and "location.nnet.layers.0.bias" in nd
    assert any("features.1" in n for n in nd)  # BatchNorm weight (ndim 1)
    assert "image_head.weight" in d and "location.nnet.layers.0.weight" in d
    assert nd.isdisjoint(d) and nd | d == set(names.values())


def test_parameter_groups_skip_frozen():
    m = SatCLIP(SMALL, image_dim=12, image_encoder=SmallCNN(3, width=4, out_dim=12))
    m.image_encoder.requires_grad_(False)
    groups = parameter_groups(m, 0.01)
    n = sum(p.numel() for g in groups for p in g["params"])
    assert n == sum(p.numel() for p in m.parameters() if p.requires_grad)


def test_forward_shapes_with_features_input():
    m = SatCLIP(SMALL, image_dim=10)
    img, loc = m(torch.randn(5, 10), torch.tensor([[0.0, 0.0]] * 5))
    assert img.shape == loc.shape == (5, 16)


def test_retrieval_metrics_perfect_and_shuffled():
    rng = np.random.default_rng(0)
    lonlat = np.stack([rng.uniform(-180, 180, 50), rng.uniform(-60, 60, 50)], 1)
    e = torch.randn(50, 8)
    m = retrieval_metrics(e, e, lonlat, chunk=16)
    assert m["img2loc_top1"] == 1.0 and m["loc2img_top10"] == 1.0 and m["median_km"] == 0.0
    shuffled = retrieval_metrics(e, e[torch.roll(torch.arange(50), 1)], lonlat)
    assert shuffled["img2loc_top1"] == 0.0 and shuffled["median_km"] > 100
