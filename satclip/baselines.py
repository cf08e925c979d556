"""Baseline location encoders to compare SatCLIP against, all with the ``Encoder`` interface.

Every encoder here has ``name``, ``dim``, ``fingerprint`` (cache key) and
``embed(lonlat, batch_size=...) -> np.ndarray (N, dim) float32`` taking (lon, lat) degrees:

- ``lonlat``: the raw (lon, lat) degrees; ``xyz``: unit 3-D Cartesian coordinates;
  ``wrap``: (cos lon, sin lon, lat / 90), continuous across the antimeridian;
- ``sh{L}``: direct real spherical-harmonic features (orthonormal convention), L*L columns;
- ``geoclip``: GeoCLIP's released location encoder (Equal-Earth projection + three random-Fourier-
  feature MLP branches, summed, 512-d), re-implemented here; weights from the pinned geoclip wheel;
- ``satclip-random``: a SatCLIP location encoder (SH L=10 + SIREN) with random initial weights;
- :class:`ConcatEncoder`: any encoder's output with (lon, lat) appended (``NAME+lonlat``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from satclip.cache import content_hash, file_sha256
from satclip.geo import lonlat_to_xyz, validate_lonlat
from satclip.inference import Encoder, EncoderLike
from satclip.nn.location_encoder import LocationEncoder, LocationEncoderConfig
from satclip.positional.spherical_harmonics import Convention, spherical_harmonics


class FeatureEncoder:
    """A fixed, parameter-free feature map of (lon, lat) degrees as an encoder."""

    def __init__(self, name: str, dim: int, fn: Callable[[np.ndarray], np.ndarray], params: Any = None):
        self._name, self._dim, self._fn = name, dim, fn
        self._fingerprint = content_hash("feature-encoder", name, dim, params)

    name = property(lambda self: self._name)
    dim = property(lambda self: self._dim)
    fingerprint = property(lambda self: self._fingerprint)

    def __repr__(self) -> str:
        return f"FeatureEncoder(name={self._name!r}, dim={self._dim})"

    def embed(self, lonlat: Any, batch_size: int = 65536) -> np.ndarray:
        coords = validate_lonlat(lonlat)
        out = np.empty((coords.shape[0], self._dim), dtype=np.float32)
        for start in range(0, coords.shape[0], batch_size):
            out[start : start + batch_size] = self._fn(coords[start : start + batch_size])
        return out


def lonlat_encoder() -> FeatureEncoder:
    """Raw (lon, lat) in degrees."""
    return FeatureEncoder("lonlat", 2, lambda c: c)


def xyz_encoder() -> FeatureEncoder:
    """Unit 3-D Cartesian coordinates."""
    return FeatureEncoder("xyz", 3, lonlat_to_xyz)


def wrap_encoder() -> FeatureEncoder:
    """(cos lon, sin lon, lat / 90): continuous across the antimeridian."""

    def fn(c: np.ndarray) -> np.ndarray:
        lon = np.radians(c[:, 0])
        return np.stack([np.cos(lon), np.sin(lon), c[:, 1] / 90.0], axis=1)

    return FeatureEncoder("wrap", 3, fn)


def sh_encoder(L: int = 10, convention: Convention = "orthonormal") -> FeatureEncoder:
    """Direct spherical-harmonic features up to degree L-1 (L*L columns)."""

    def fn(c: np.ndarray) -> np.ndarray:
        return spherical_harmonics(c[:, 0], c[:, 1], L, convention).numpy()

    return FeatureEncoder(f"sh{L}", L * L, fn, params=(L, convention))


class ConcatEncoder:
    """An encoder's embedding with columns appended from another (default: raw lon, lat)."""

    def __init__(self, base: EncoderLike, extra: EncoderLike | None = None):
        self.base = base
        self.extra = extra or lonlat_encoder()

    name = property(lambda self: f"{self.base.name}+{self.extra.name}")
    dim = property(lambda self: self.base.dim + self.extra.dim)
    fingerprint = property(lambda self: content_hash("concat", self.base.fingerprint, self.extra.fingerprint))

    def embed(self, lonlat: Any, batch_size: int = 8192) -> np.ndarray:
        coords = validate_lonlat(lonlat)
        return np.concatenate(
            [self.base.embed(coords, batch_size=batch_size), self.extra.embed(coords, batch_size=batch_size)], axis=1
        ).astype(np.float32)


def random_satclip(L: int = 10, seed: int = 0, **config: Any) -> Encoder:
    """A SatCLIP location encoder (SH + SIREN, released architecture) with random initial weights."""
    torch.manual_seed(seed)
    module = LocationEncoder(LocationEncoderConfig(L=L, **config))
    card = {
        "name": "satclip-random" if L == 10 else f"satclip-random-l{L}",
        "training_data": "none (random initialisation)",
        "seed": seed,
    }
    return Encoder(module, card)


# --- GeoCLIP ------------------------------------------------------------------------------------
_A1, _A2, _A3, _A4, _SF = 1.340264, -0.081106, 0.000893, 0.003796, 66.50336
GEOCLIP_SIGMAS = (2.0**0, 2.0**4, 2.0**8)


def equal_earth(latlon: torch.Tensor) -> torch.Tensor:
    """GeoCLIP's scaled Equal Earth projection of (lat, lon) degrees -> (x, y), both scaled by SF / 180."""
    lat, lon = torch.deg2rad(latlon[:, 0]), torch.deg2rad(latlon[:, 1])
    sqrt3 = torch.sqrt(torch.tensor(3.0, dtype=latlon.dtype))
    theta = torch.asin(sqrt3 / 2 * torch.sin(lat))
    denom = 3 * (9 * _A4 * theta**8 + 7 * _A3 * theta**6 + 3 * _A2 * theta**2 + _A1)
    x = 2 * sqrt3 * lon * torch.cos(theta) / denom
    y = _A4 * theta**9 + _A3 * theta**7 + _A2 * theta**3 + _A1 * theta
    return torch.stack((x, y), dim=1) * _SF / 180


class _RFF(nn.Module):
    """Gaussian random Fourier features [cos 2 pi v b^T, sin 2 pi v b^T] with a stored matrix b."""

    b: torch.Tensor  # buffer (register_buffer in __init__)

    def __init__(self, encoded: int = 256) -> None:
        super().__init__()
        self.register_buffer("b", torch.zeros(encoded, 2))

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        vp = 2 * np.pi * v @ self.b.T
        return torch.cat((torch.cos(vp), torch.sin(vp)), dim=-1)


class _Branch(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.capsule = nn.Sequential(
            _RFF(), nn.Linear(512, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU()
        )
        self.head = nn.Sequential(nn.Linear(1024, 512))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.capsule(x))


class GeoCLIPLocationModule(nn.Module):
    """GeoCLIP's location encoder: (lat, lon) degrees -> sum of three RFF-MLP branches (512-d)."""

    def __init__(self, n_branches: int = len(GEOCLIP_SIGMAS)) -> None:
        super().__init__()
        for i in range(n_branches):
            self.add_module(f"LocEnc{i}", _Branch())
        self.n = n_branches

    def forward(self, latlon: torch.Tensor) -> torch.Tensor:
        x = equal_earth(latlon)
        return sum(getattr(self, f"LocEnc{i}")(x) for i in range(self.n))


def load_geoclip_weights(path: str | Path) -> GeoCLIPLocationModule:
    """Load ``location_encoder_weights.pth`` (geoclip 1.3.0) safely (``weights_only=True``, strict keys)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ValueError(f"cannot read GeoCLIP weights {path}: {err}") from err
    if not isinstance(state, dict):
        raise ValueError(f"{path}: expected a state dict of tensors, got {type(state).__name__}")
    module = GeoCLIPLocationModule()
    missing, unexpected = module.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(f"{path}: not GeoCLIP location-encoder weights (missing {missing}, unexpected {unexpected})")
    return module.eval()


class GeoCLIPEncoder:
    """GeoCLIP's location encoder behind the (lon, lat) ``Encoder`` interface (512-d, float32)."""

    def __init__(self, module: GeoCLIPLocationModule, fingerprint: str, name: str = "geoclip"):
        self.module, self._fingerprint, self._name = module.eval(), fingerprint, name

    name = property(lambda self: self._name)
    dim = property(lambda self: 512)
    fingerprint = property(lambda self: self._fingerprint)

    @torch.no_grad()
    def embed(self, lonlat: Any, batch_size: int = 8192) -> np.ndarray:
        coords = validate_lonlat(lonlat)
        out = np.empty((coords.shape[0], 512), dtype=np.float32)
        for start in range(0, coords.shape[0], batch_size):
            c = torch.from_numpy(coords[start : start + batch_size, ::-1].copy()).float()  # (lat, lon)
            out[start : start + batch_size] = self.module(c).numpy()
        return out


def geoclip_encoder(path: str | Path | None = None) -> GeoCLIPEncoder:
    """GeoCLIP from a weights file, by default the pinned asset (``satclip fetch geoclip-weights``)."""
    if path is None:
        from satclip.data.assets import asset_path

        path = asset_path("geoclip-weights")
    return GeoCLIPEncoder(load_geoclip_weights(path), content_hash("geoclip", file_sha256(path)))


BASELINES: dict[str, Callable[[], EncoderLike]] = {
    "lonlat": lonlat_encoder,
    "xyz": xyz_encoder,
    "wrap": wrap_encoder,
    "sh10": lambda: sh_encoder(10),
    "geoclip": geoclip_encoder,
    "satclip-random": random_satclip,
}
