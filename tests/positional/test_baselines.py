"""Baseline encoders: shapes, values, caching keys, and GeoCLIP against geoclip's own outputs."""

from pathlib import Path

import numpy as np
import pytest
import torch

from satclip.baselines import (
    ConcatEncoder,
    GeoCLIPLocationModule,
    equal_earth,
    geoclip_encoder,
    load_geoclip_weights,
    lonlat_encoder,
    random_satclip,
    sh_encoder,
    wrap_encoder,
    xyz_encoder,
)
from satclip.geo import CoordinateError
from tests.assets_helper import real_assets, require_asset  # noqa: F401

FIXTURE = Path(__file__).parent / "fixtures" / "geoclip_reference.npz"
PTS = np.array([[0.0, 0.0], [90.0, 0.0], [-180.0, 45.0], [12.5, -89.0]])


def test_simple_baselines_values():
    np.testing.assert_allclose(lonlat_encoder().embed(PTS), PTS.astype(np.float32))
    xyz = xyz_encoder().embed(PTS)
    np.testing.assert_allclose(np.linalg.norm(xyz, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(xyz[1], [0, 1, 0], atol=1e-6)
    w = wrap_encoder().embed([[-180.0, 10.0], [180.0, 10.0]])
    np.testing.assert_allclose(w[0], w[1], atol=1e-6)  # continuous across the antimeridian


def test_sh_encoder_matches_core_and_is_orthonormal():
    enc = sh_encoder(10)
    assert enc.dim == 100
    feats = enc.embed(PTS)
    assert feats.shape == (4, 100) and feats.dtype == np.float32
    np.testing.assert_allclose(feats[:, 0], 1 / np.sqrt(4 * np.pi), rtol=1e-6)
    # Monte-Carlo orthonormality over uniform points: Gram ~ identity * 4 pi / N
    rng = np.random.default_rng(0)
    pts = np.stack([rng.uniform(-180, 180, 40000), np.degrees(np.arcsin(rng.uniform(-1, 1, 40000)))], 1)
    g = sh_encoder(4).embed(pts).astype(np.float64)
    gram = g.T @ g * 4 * np.pi / len(pts)
    np.testing.assert_allclose(gram, np.eye(16), atol=0.05)


def test_fingerprints_differ_and_are_stable():
    fps = {e.fingerprint for e in (lonlat_encoder(), xyz_encoder(), wrap_encoder(), sh_encoder(10), sh_encoder(4))}
    assert len(fps) == 5
    assert sh_encoder(10).fingerprint == sh_encoder(10).fingerprint
    assert random_satclip(seed=0).fingerprint == random_satclip(seed=0).fingerprint
    assert random_satclip(seed=0).fingerprint != random_satclip(seed=1).fingerprint


def test_concat_appends_lonlat():
    base = xyz_encoder()
    cat = ConcatEncoder(base)
    assert cat.name == "xyz+lonlat" and cat.dim == 5
    out = cat.embed(PTS)
    np.testing.assert_allclose(out[:, :3], base.embed(PTS))
    np.testing.assert_allclose(out[:, 3:], PTS, atol=1e-5)
    assert cat.fingerprint != base.fingerprint


def test_random_satclip_shape_and_rejects_bad_input():
    enc = random_satclip()
    assert enc.dim == 256 and enc.name == "satclip-random"
    out = enc.embed(PTS)
    assert out.shape == (4, 256) and np.isfinite(out).all()
    with pytest.raises(CoordinateError, match="latitude"):
        enc.embed([[0.0, 95.0]])
    with pytest.raises(CoordinateError):
        lonlat_encoder().embed([[np.nan, 0.0]])


def test_equal_earth_known_values():
    # equator, prime meridian -> origin; the projection is odd in lon and lat; x at lon 180 on the equator
    ll = torch.tensor([[0.0, 0.0], [10.0, 20.0], [-10.0, -20.0], [0.0, 180.0]], dtype=torch.float64)
    xy = equal_earth(ll)
    np.testing.assert_allclose(xy[0].numpy(), [0, 0], atol=1e-12)
    np.testing.assert_allclose(xy[1].numpy(), -xy[2].numpy(), atol=1e-12)
    x180 = 2 * np.sqrt(3) * np.pi / (3 * 1.340264) * 66.50336 / 180  # theta = 0
    assert xy[3, 0].item() == pytest.approx(x180, rel=1e-9)


def test_geoclip_rejects_wrong_state(tmp_path):
    p = tmp_path / "w.pth"
    torch.save({"foo": torch.zeros(2)}, p)
    with pytest.raises(ValueError, match="not GeoCLIP"):
        load_geoclip_weights(p)
    p.write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="cannot read"):
        load_geoclip_weights(p)


def test_geoclip_module_key_layout_matches_release():
    keys = set(GeoCLIPLocationModule().state_dict())
    assert len(keys) == 27
    assert "LocEnc0.capsule.0.b" in keys and "LocEnc2.head.0.bias" in keys and "LocEnc1.capsule.5.weight" in keys


@pytest.mark.usefixtures("real_assets")
def test_geoclip_matches_reference_fixture():
    require_asset("geoclip-weights")
    ref = np.load(FIXTURE)
    enc = geoclip_encoder()
    lonlat = ref["latlon"][:, ::-1].astype(np.float64)
    out = enc.embed(lonlat)
    assert out.shape == (20, 512)
    np.testing.assert_allclose(out, ref["output"], atol=1e-5, rtol=0)  # bitwise equal on x86-64; BLAS may differ
    assert np.abs(ref["output"]).max() > 0.01  # the fixture is not trivially zero
