"""Spherical harmonics: reference agreement with the official SatCLIP features, orthonormality,
precision, and conventions."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special
import torch

import satclip
from satclip.positional.spherical_harmonics import spherical_harmonics, spherical_harmonics_feature_major
from tests.conftest import REFERENCE


def _lm(L: int) -> tuple[np.ndarray, np.ndarray]:
    ls = np.concatenate([[l] * (2 * l + 1) for l in range(L)])  # noqa: E741
    ms = np.concatenate([np.arange(-l, l + 1) for l in range(L)])  # noqa: E741
    return ls, ms


def test_public_api_exports_spherical_harmonics() -> None:
    assert satclip.spherical_harmonics is spherical_harmonics


def test_satclip_convention_matches_official_analytic_l10(reference_points: np.ndarray) -> None:
    ours = spherical_harmonics(reference_points[:, 0], reference_points[:, 1], 10, "satclip").numpy()
    np.testing.assert_allclose(ours, np.load(REFERENCE / "sh_analytic_L10.npy"), rtol=0, atol=1e-11)


def test_satclip_convention_matches_official_analytic_l40_within_its_noise(reference_points: np.ndarray) -> None:
    """The official L=40 features lose up to 0.64 near the poles (README); ours are exact."""
    ours = spherical_harmonics(reference_points[:, 0], reference_points[:, 1], 40, "satclip").numpy()
    ref = np.load(REFERENCE / "sh_analytic_L40.npy")
    alat = np.abs(reference_points[:, 1])
    for lo, hi, atol in [(0, 30, 1e-7), (30, 60, 2e-2), (60, 91, 1.0)]:
        m = (alat >= lo) & (alat < hi)
        np.testing.assert_allclose(ours[m], ref[m], rtol=0, atol=atol)
    rel = np.linalg.norm(ours - ref, axis=1) / np.linalg.norm(ref, axis=1)
    assert rel.max() < 5e-2


@pytest.mark.parametrize("L, atol", [(10, 1e-11), (40, 1e-10)])
def test_closed_form_reference_is_a_fixed_sign_and_scale_of_ours(reference_points: np.ndarray, L: int, atol: float):
    """closed-form = (-1)^m analytic (m != 0), analytic / pi (m = 0): checks ours against the exact mode."""
    ours = spherical_harmonics(reference_points[:, 0], reference_points[:, 1], L, "satclip").numpy()
    _, ms = _lm(L)
    converted = np.where(ms == 0, ours / np.pi, ours * (-1.0) ** ms)
    np.testing.assert_allclose(converted, np.load(REFERENCE / f"sh_closedform_L{L}.npy"), rtol=0, atol=atol)


def test_orthonormal_relates_to_satclip_by_degree_sign_and_pi(reference_points: np.ndarray) -> None:
    lon, lat = reference_points[:, 0], reference_points[:, 1]
    ortho = spherical_harmonics(lon, lat, 20, "orthonormal").numpy()
    sat = spherical_harmonics(lon, lat, 20, "satclip").numpy()
    ls, ms = _lm(20)
    np.testing.assert_allclose(sat, ortho * (-1.0) ** ls * np.where(ms == 0, np.pi, 1.0), rtol=0, atol=1e-11)


def test_orthonormal_convention_matches_scipy_at_high_degree() -> None:
    """Independent check against scipy's complex harmonics (which carry the Condon-Shortley phase)."""
    rng = np.random.default_rng(1)
    lon, lat = rng.uniform(-180, 180, 50), np.degrees(np.arcsin(rng.uniform(-1, 1, 50)))
    L = 60
    ours = spherical_harmonics(lon, lat, L, "orthonormal").numpy()
    colat, az = np.radians(90 - lat), np.radians(lon)
    for l in (0, 1, 7, 33, 59):  # noqa: E741
        for m in sorted({0, min(1, l), l // 2, l}):
            y = scipy.special.sph_harm_y(l, m, colat, az)
            cs = (-1.0) ** m  # remove the Condon-Shortley phase
            if m == 0:
                np.testing.assert_allclose(ours[:, l * l + l], y.real, atol=1e-10)
            else:
                np.testing.assert_allclose(ours[:, l * l + l + m], cs * np.sqrt(2) * y.real, atol=1e-10)
                np.testing.assert_allclose(ours[:, l * l + l - m], cs * np.sqrt(2) * y.imag, atol=1e-10)


@pytest.mark.parametrize("L", [10, 40])
def test_orthonormality_by_gauss_legendre_quadrature(L: int) -> None:
    """Exact quadrature for band-limited functions: Gram matrix must be the identity."""
    x, w = np.polynomial.legendre.leggauss(L + 1)
    nlon = 2 * L + 1
    lon = np.arange(nlon) * 360.0 / nlon - 180.0
    lat = np.degrees(np.arcsin(x))
    lon2, lat2 = np.meshgrid(lon, lat)
    weights = np.repeat(w, nlon) * (2 * np.pi / nlon)
    y = spherical_harmonics(lon2.ravel(), lat2.ravel(), L, "orthonormal").numpy()
    gram = y.T @ (y * weights[:, None])
    np.testing.assert_allclose(gram, np.eye(L * L), atol=1e-11)


def test_float32_within_1e4_of_float64_at_l40_including_poles_and_dateline(reference_points: np.ndarray) -> None:
    rng = np.random.default_rng(2)
    extra = np.array([[180, 0], [-180, 0], [180, 89.99], [-180, -89.99], [0, 90], [0, -90], [179.999, 45]])
    pts = np.vstack([reference_points, extra, np.c_[rng.uniform(-180, 180, 2000), rng.uniform(-90, 90, 2000)]])
    for conv in ("orthonormal", "satclip"):
        f64 = spherical_harmonics(pts[:, 0], pts[:, 1], 40, conv, dtype=torch.float64).numpy()
        f32 = spherical_harmonics(pts[:, 0], pts[:, 1], 40, conv, dtype=torch.float32)
        assert f32.dtype == torch.float32
        np.testing.assert_allclose(f32.numpy(), f64, rtol=0, atol=1e-4)


def test_degree_100_is_finite_and_normalised() -> None:
    """At L=100 the mean of Y_lm^2 over a dense area-uniform sample approaches 1/(4 pi)."""
    rng = np.random.default_rng(3)
    n = 8000
    lon, lat = rng.uniform(-180, 180, n), np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    y = spherical_harmonics(lon, lat, 100, "orthonormal").numpy()
    assert np.isfinite(y).all()
    mean_sq = (y**2).mean(axis=0) * 4 * np.pi
    assert abs(np.median(mean_sq) - 1.0) < 0.06
    poles = spherical_harmonics([0.0, 0.0], [90.0, -90.0], 100, "orthonormal").numpy()
    _, ms = _lm(100)
    assert np.all(poles[:, ms != 0] == 0)
    np.testing.assert_allclose(poles[0, ms == 0], np.sqrt((2 * np.arange(100) + 1) / (4 * np.pi)), rtol=1e-12)


def test_chunking_and_feature_major_layout_agree() -> None:
    rng = np.random.default_rng(4)
    pts = np.c_[rng.uniform(-180, 180, 20000), rng.uniform(-90, 90, 20000)]
    row = spherical_harmonics(pts[:, 0], pts[:, 1], 12, "satclip")
    fm = spherical_harmonics_feature_major(torch.from_numpy(pts), 12, "satclip")
    assert row.shape == (20000, 144) and fm.shape == (144, 20000)
    torch.testing.assert_close(row, fm.T, rtol=0, atol=0)
    single = spherical_harmonics(pts[:1, 0], pts[:1, 1], 12, "satclip")
    torch.testing.assert_close(single[0], row[0], rtol=0, atol=1e-14)


def test_accepts_tensors_and_lists_and_validates_arguments() -> None:
    a = spherical_harmonics(torch.tensor([10.0]), torch.tensor([20.0]), 3)
    b = spherical_harmonics([10.0], [20.0], 3)
    torch.testing.assert_close(a, b)
    with pytest.raises(ValueError, match="positive integer"):
        spherical_harmonics([0.0], [0.0], 0)
    with pytest.raises(ValueError, match="unknown convention"):
        spherical_harmonics([0.0], [0.0], 3, convention="closed-form")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="same length"):
        spherical_harmonics([0.0, 1.0], [0.0], 3)
    with pytest.raises(ValueError, match="dtype"):
        spherical_harmonics([0.0], [0.0], 3, dtype=torch.float16)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_cuda_matches_cpu() -> None:
    rng = np.random.default_rng(5)
    pts = np.c_[rng.uniform(-180, 180, 5000), rng.uniform(-90, 90, 5000)]
    cpu = spherical_harmonics(pts[:, 0], pts[:, 1], 40, dtype=torch.float64)
    for dtype, atol in ((torch.float64, 1e-10), (torch.float32, 1e-4)):
        gpu = spherical_harmonics(pts[:, 0], pts[:, 1], 40, dtype=dtype, device="cuda")
        assert gpu.is_cuda
        np.testing.assert_allclose(gpu.cpu().double().numpy(), cpu.numpy(), rtol=0, atol=atol)


def test_out_buffer_is_filled_and_validated() -> None:
    lon, lat = np.array([10.0, -20.0, 30.0]), np.array([5.0, 50.0, -70.0])
    buf = torch.full((3, 25), float("nan"), dtype=torch.float64)
    res = spherical_harmonics(lon, lat, 5, out=buf)
    assert res is buf
    torch.testing.assert_close(buf, spherical_harmonics(lon, lat, 5), rtol=0, atol=0)
    with pytest.raises(ValueError, match=r"out must be a \(3, 25\)"):
        spherical_harmonics(lon, lat, 5, out=torch.empty(3, 16, dtype=torch.float64))
