"""SIREN (sinusoidal representation network) exactly as the released SatCLIP location encoders use it.

Hidden layer: ``sin(w0 * dropout(x W^T + b))`` with w0 = 30 in the first layer and 1 after it;
dropout (p = 0.5 in SatCLIP) acts on the pre-activations, in training only (``dropout_at="post_sine"``
applies it to the sine outputs instead: the trained network then has the frequencies of the evaluated
one, where pre-sine dropout doubles them for kept units). The last layer is linear.
Initialisation: first layer U(±1/fan_in), the others U(±sqrt(6/fan_in)/w0).
Parameter names (``layers.{i}.weight``, ``last_layer.weight``) match the released checkpoints.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

DROPOUT_POSITIONS = ("pre_sine", "post_sine")


class SirenLayer(nn.Module):
    """One SIREN layer; ``activation=False`` makes it the linear output layer."""

    def __init__(
        self,
        dim_in: int,
        dim_out: int,
        *,
        w0: float = 1.0,
        is_first: bool = False,
        activation: bool = True,
        dropout: float = 0.0,
        dropout_at: str = "pre_sine",
        c: float = 6.0,
    ) -> None:
        super().__init__()
        self.dim_in, self.dim_out = dim_in, dim_out
        self.w0, self.activation, self.dropout, self.dropout_at = w0, activation, dropout, dropout_at
        bound = (1.0 / dim_in) if is_first else (math.sqrt(c / dim_in) / w0)
        self.weight = nn.Parameter(torch.empty(dim_out, dim_in).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(dim_out).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.linear(x, self.weight, self.bias)
        if not self.activation:
            return out
        drop = self.dropout > 0 and self.training
        if drop and self.dropout_at == "pre_sine":
            out = F.dropout(out, p=self.dropout, training=True)
        if torch.is_grad_enabled():
            out = torch.sin(self.w0 * out)
        else:
            out = out.mul_(self.w0).sin_()  # inference: no autograd history, so reuse the buffer
        if drop and self.dropout_at == "post_sine":
            out = F.dropout(out, p=self.dropout, training=True)
        return out

    def extra_repr(self) -> str:
        return (
            f"{self.dim_in}->{self.dim_out}, w0={self.w0}, activation={self.activation}, "
            f"dropout={self.dropout} ({self.dropout_at})"
        )


class SirenNet(nn.Module):
    """``num_layers`` sine layers of width ``dim_hidden`` followed by a linear layer to ``dim_out``."""

    def __init__(
        self,
        dim_in: int,
        dim_hidden: int,
        dim_out: int,
        num_layers: int,
        *,
        w0: float = 1.0,
        w0_initial: float = 30.0,
        dropout: float = 0.5,
        dropout_at: str = "pre_sine",
    ) -> None:
        super().__init__()
        if dropout_at not in DROPOUT_POSITIONS:
            raise ValueError(f"dropout_at must be one of {DROPOUT_POSITIONS}, got {dropout_at!r}")
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        self.layers = nn.ModuleList(
            SirenLayer(
                dim_in if i == 0 else dim_hidden,
                dim_hidden,
                w0=w0_initial if i == 0 else w0,
                is_first=i == 0,
                dropout=dropout,
                dropout_at=dropout_at,
            )
            for i in range(num_layers)
        )
        self.last_layer = SirenLayer(dim_hidden, dim_out, w0=w0, activation=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return self.last_layer(x)
