"""Encoder.embed contract and the scikit-learn featurizer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline

import satclip
from satclip.geo import CoordinateError


def test_embed_contract(small_model_file: Path) -> None:
    enc = satclip.load(small_model_file)
    pts = np.array([[0.0, 0.0], [10.0, 45.0], [-170.0, -80.0]])
    out = enc.embed(pts)
    assert out.shape == (3, 16) and out.dtype == np.float32 and enc.dim == 16
    df = pd.DataFrame({"latitude": pts[:, 1], "longitude": pts[:, 0]})
    np.testing.assert_array_equal(enc.embed(df), out)
    np.testing.assert_allclose(enc.embed(pts, batch_size=1), out, rtol=0, atol=1e-5)  # BLAS may differ by batch
    np.testing.assert_allclose(enc.embed((10.0, 45.0))[0], out[1], rtol=0, atol=1e-5)
    assert enc.card["name"] == "small" and enc.card["config"]["L"] == 6
    assert len(enc.fingerprint) == 16 and enc.fingerprint == satclip.load(small_model_file).fingerprint


def test_embed_rejects_bad_input_and_wraps_on_request(small_model_file: Path) -> None:
    enc = satclip.load(small_model_file)
    with pytest.raises(CoordinateError, match="row 1"):
        enc.embed([[0.0, 0.0], [0.0, 95.0]])
    with pytest.raises(CoordinateError, match="wrap=True"):
        enc.embed([[200.0, 0.0]])
    np.testing.assert_allclose(enc.embed([[200.0, 0.0]], wrap=True), enc.embed([[-160.0, 0.0]]), atol=1e-6)
    with pytest.raises(ValueError, match="batch_size"):
        enc.embed([[0.0, 0.0]], batch_size=0)
    assert enc.embed(np.zeros((0, 2))).shape == (0, 16)


def test_featurizer_in_a_pipeline(small_model_file: Path) -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.uniform(-180, 180, 300), "y": rng.uniform(-60, 60, 300)})
    target = df["y"].to_numpy() / 60
    pipe = make_pipeline(satclip.SatCLIPFeaturizer(model=str(small_model_file), lon_col="x", lat_col="y"), Ridge())
    pipe.fit(df, target)
    feat = pipe[0]
    manual = Ridge().fit(feat.transform(df), target)
    np.testing.assert_allclose(pipe.predict(df), manual.predict(feat.transform(df)), rtol=1e-6)
    assert list(feat.get_feature_names_out()[:2]) == ["satclip_0", "satclip_1"]
    assert clone(feat).get_params()["lon_col"] == "x"
    arr = feat.transform(df[["x", "y"]].to_numpy())
    np.testing.assert_array_equal(arr, feat.transform(df))
    with pytest.raises(CoordinateError, match="longitude column 'lon' not found"):
        satclip.SatCLIPFeaturizer(model=str(small_model_file)).fit(None).transform(df)


def test_featurizer_before_fit_is_both_packages_not_fitted_error(small_model_file: Path) -> None:
    """It was scikit-learn's NotFittedError only, although every error satclip raises is a SatCLIPError."""
    from sklearn.exceptions import NotFittedError as SkNotFitted
    from sklearn.utils.validation import check_is_fitted

    from satclip.errors import NotFittedError, SatCLIPError

    feat = satclip.SatCLIPFeaturizer(model=str(small_model_file))
    for method in (feat.transform, feat.get_feature_names_out):
        with pytest.raises(NotFittedError, match="not fitted yet: call fit first") as info:
            method(pd.DataFrame({"lon": [1.0], "lat": [2.0]})) if method == feat.transform else method()
        assert isinstance(info.value, SatCLIPError) and isinstance(info.value, SkNotFitted)
    with pytest.raises(SkNotFitted):
        check_is_fitted(feat)


def test_embed_memory_is_bounded_by_batch(tmp_path: Path, small_model_file: Path) -> None:
    """Peak memory of embedding 500k points: the output plus a small constant, not one huge batch."""
    script = f"""
import resource, numpy as np, satclip
enc = satclip.load({str(small_model_file)!r})
pts = np.zeros((500_000, 2))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
enc.embed(pts, batch_size=5_000)
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024)
"""
    growth_mb = float(
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.strip()
    )
    # Output 500k x 16 float32 = 32 MB, validated coordinates 8 MB; one unbatched pass would add
    # > 300 MB of features and activations.
    assert growth_mb < 32 + 8 + 60, growth_mb


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="no CUDA device on this machine")
def test_embed_on_cuda_matches_cpu(small_model_file: Path) -> None:
    rng = np.random.default_rng(0)
    pts = np.c_[rng.uniform(-180, 180, 5000), rng.uniform(-90, 90, 5000)]
    cpu = satclip.load(small_model_file).embed(pts)
    gpu_enc = satclip.load(small_model_file, device="cuda")
    assert next(gpu_enc.module.parameters()).is_cuda
    np.testing.assert_allclose(gpu_enc.embed(pts, batch_size=1024), cpu, rtol=0, atol=1e-4)


def test_embed_takes_lon_lat_column_names(small_model_file: Path) -> None:
    enc = satclip.load(small_model_file)
    df = pd.DataFrame({"x": [10.0, -70.0], "y": [45.0, -10.0]})
    np.testing.assert_array_equal(enc.embed(df, lon_col="x", lat_col="y"), enc.embed(df[["x", "y"]].to_numpy()))
