"""LocationEncoder = spherical-harmonic positional encoding + SIREN network, and its config."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from satclip.encoding.spherical_harmonics import CONVENTIONS, Convention, spherical_harmonics_feature_major
from satclip.nn.siren import DROPOUT_POSITIONS, SirenNet


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
        if self.L < 1 or self.hidden_dim < 1 or self.embed_dim < 1 or self.num_hidden_layers < 1:
            raise ValueError(f"invalid location encoder config: {self}")
        if self.convention not in CONVENTIONS:
            raise ValueError(f"unknown SH convention {self.convention!r}; choose one of {CONVENTIONS}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.dropout_at not in DROPOUT_POSITIONS:
            raise ValueError(f"dropout_at must be one of {DROPOUT_POSITIONS}, got {self.dropout_at!r}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LocationEncoderConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown location encoder config keys {sorted(unknown)}; known: {sorted(known)}")
        return cls(**data)


class LocationEncoder(nn.Module):
    """Maps (N, 2) (lon, lat) degrees to (N, embed_dim) embeddings (not normalised).

    Computes in the dtype of its parameters (float64 for released SatCLIP weights).
    """

    def __init__(self, config: LocationEncoderConfig | None = None) -> None:
        super().__init__()
        self.config = config or LocationEncoderConfig()
        c = self.config
        self.nnet = SirenNet(
            c.L * c.L, c.hidden_dim, c.embed_dim, c.num_hidden_layers,
            w0=c.w0, w0_initial=c.w0_initial, dropout=c.dropout, dropout_at=c.dropout_at,
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
