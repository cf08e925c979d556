"""LocationEncoder = spherical-harmonic positional encoding + SIREN network, and its config."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from satclip.nn.siren import DROPOUT_POSITIONS, SirenNet
from satclip.positional.spherical_harmonics import CONVENTIONS, Convention, spherical_harmonics_feature_major

# Upper bounds of a plausible architecture (the released models use L <= 40, width 512, 2 layers,
# 256-d output); anything larger in a model file is refused before memory is allocated for it.
_INT_BOUNDS = {"L": 100, "hidden_dim": 8192, "num_hidden_layers": 64, "embed_dim": 8192}
MAX_W0 = 1e4


@dataclass(frozen=True)
class LocationEncoderConfig:
    """Architecture of a location encoder. Defaults are those of the released SatCLIP models."""

    L: int = 10
    convention: Convention = "orthonormal"
    hidden_dim: int = 512
    num_hidden_layers: int = 2
    embed_dim: int = 256
    w0_initial: float = 30.0
    w0: float = 1.0
    dropout: float = 0.5
    dropout_at: str = "pre_sine"  # SatCLIP drops pre-activations; "post_sine" drops the sine outputs instead

    def __post_init__(self) -> None:
        # Strict types and bounds: configs come from model cards and checkpoints, i.e. from files
        # that may be hostile; a float L or a NaN w0 must fail here, not deep inside torch.
        for name, high in _INT_BOUNDS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
                raise ValueError(f"location encoder config: {name} must be an integer in [1, {high}], got {value!r}")
        for name in ("w0_initial", "w0", "dropout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError(f"location encoder config: {name} must be a finite number, got {value!r}")
        if not 0 < self.w0 <= MAX_W0 or not 0 < self.w0_initial <= MAX_W0:
            raise ValueError(
                f"location encoder config: w0 and w0_initial must be positive and at most {MAX_W0} "
                f"(SIREN's initialisation divides by them), got w0={self.w0!r}, w0_initial={self.w0_initial!r}"
            )
        if not isinstance(self.convention, str) or self.convention not in CONVENTIONS:
            raise ValueError(f"unknown SH convention {self.convention!r}; choose one of {CONVENTIONS}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if not isinstance(self.dropout_at, str) or self.dropout_at not in DROPOUT_POSITIONS:
            raise ValueError(f"dropout_at must be one of {DROPOUT_POSITIONS}, got {self.dropout_at!r}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LocationEncoderConfig:
        if not isinstance(data, dict):
            raise ValueError(f"location encoder config must be a mapping, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown location encoder config keys {sorted(unknown)}; known: {sorted(known)}")
        return cls(**data)

    def state_shapes(self) -> dict[str, tuple[int, ...]]:
        """Shape of every weight of ``LocationEncoder(self)``, computed without allocating anything.

        Model files are checked against this before a module is built, so a card cannot make the
        loader allocate more than the stored weights (see ``satclip.checkpoints``).
        """
        shapes: dict[str, tuple[int, ...]] = {}
        dim_in = self.L * self.L
        for i in range(self.num_hidden_layers):
            shapes[f"nnet.layers.{i}.weight"] = (self.hidden_dim, dim_in)
            shapes[f"nnet.layers.{i}.bias"] = (self.hidden_dim,)
            dim_in = self.hidden_dim
        shapes["nnet.last_layer.weight"] = (self.embed_dim, self.hidden_dim)
        shapes["nnet.last_layer.bias"] = (self.embed_dim,)
        return shapes


class LocationEncoder(nn.Module):
    """Maps (N, 2) (lon, lat) degrees to (N, embed_dim) embeddings (not normalised).

    Computes in the dtype of its parameters (float64 for released SatCLIP weights).
    """

    def __init__(self, config: LocationEncoderConfig | None = None) -> None:
        super().__init__()
        self.config = config or LocationEncoderConfig()
        c = self.config
        self.nnet = SirenNet(
            c.L * c.L,
            c.hidden_dim,
            c.embed_dim,
            c.num_hidden_layers,
            w0=c.w0,
            w0_initial=c.w0_initial,
            dropout=c.dropout,
            dropout_at=c.dropout_at,
        )

    @property
    def dtype(self) -> torch.dtype:
        return self.nnet.last_layer.weight.dtype

    def positional_encoding(self, lonlat: torch.Tensor) -> torch.Tensor:
        """Spherical-harmonic features, (N, L*L), as a transposed view of a feature-major buffer."""
        lonlat = lonlat.to(dtype=self.dtype)
        return spherical_harmonics_feature_major(lonlat, self.config.L, self.config.convention).T

    def forward(self, lonlat: torch.Tensor) -> torch.Tensor:
        return self.nnet(self.positional_encoding(lonlat))
