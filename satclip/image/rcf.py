"""MOSAIKS-style random convolutional features (Rolf et al. 2021): the CPU default image encoder.

Filters are k x k patches drawn from the training images, ZCA-whitened; each filter's response is
standardised (mean 0, std 1 over a sample), and the features are the spatial means of
ReLU(c - b) and ReLU(-c - b): 2 x n_filters numbers per image. Nearly flat patches are skipped
when drawing filters (a constant patch whitens to a zero filter and gives NaN features).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class RCFConfig:
    n_filters: int = 256
    kernel: int = 3
    bias: float = 1.0
    zca_eps: float = 1e-2
    seed: int = 0
    pool_grid: int = 1  # >1 also mean-pools on a pool_grid x pool_grid spatial grid (multi-scale features)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class RCF(nn.Module):
    """Random convolutional features; call :meth:`fit` on sample images before use."""

    # buffers (register_buffer in __init__): declared so they type as Tensor, not nn.Module's Tensor | Module
    weight: torch.Tensor
    shift: torch.Tensor
    fitted: torch.Tensor

    def __init__(self, channels: int, config: RCFConfig | None = None) -> None:
        super().__init__()
        self.config = config or RCFConfig()
        c = self.config
        self.channels = channels
        self.register_buffer("weight", torch.zeros(c.n_filters, channels, c.kernel, c.kernel))
        self.register_buffer("shift", torch.zeros(c.n_filters))
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))

    @property
    def out_dim(self) -> int:
        g = self.config.pool_grid
        return 2 * self.config.n_filters * (1 + (g * g if g > 1 else 0))

    @torch.no_grad()
    def fit(self, images: torch.Tensor, n_sample_patches: int = 50_000) -> RCF:
        """Draw filters from ``images`` (B, C, H, W) and calibrate their response scale."""
        c = self.config
        if images.ndim != 4 or images.shape[1] != self.channels:
            raise ValueError(f"expected images (B, {self.channels}, H, W), got {tuple(images.shape)}")
        g = torch.Generator().manual_seed(c.seed)
        k = c.kernel
        b, _, h, w = images.shape
        if h < k or w < k:
            raise ValueError(f"images {h}x{w} are smaller than the {k}x{k} kernel")
        n = max(n_sample_patches, 4 * c.n_filters)
        bi = torch.randint(0, b, (n,), generator=g)
        yi = torch.randint(0, h - k + 1, (n,), generator=g)
        xi = torch.randint(0, w - k + 1, (n,), generator=g)
        offs = torch.arange(k)
        rows = (yi[:, None] + offs[None, :])[:, :, None].expand(n, k, k)
        cols = (xi[:, None] + offs[None, :])[:, None, :].expand(n, k, k)
        patches = images[bi[:, None, None], :, rows, cols]  # (n, k, k, C)
        patches = patches.permute(0, 3, 1, 2).reshape(n, -1).double()
        mean = patches.mean(dim=0)
        centred = patches - mean
        cov = centred.T @ centred / (n - 1)
        evals, evecs = torch.linalg.eigh(cov)
        zca = evecs @ torch.diag(1.0 / torch.sqrt(evals.clamp(min=0) + c.zca_eps)) @ evecs.T
        white = centred @ zca
        spread = centred.std(dim=1)
        ok = torch.nonzero(spread > 1e-3 * spread.max().clamp(min=1e-12)).flatten()
        if ok.numel() < c.n_filters:
            raise ValueError(f"only {ok.numel()} non-flat {k}x{k} patches to draw {c.n_filters} filters from")
        pick = ok[torch.randperm(ok.numel(), generator=g)[: c.n_filters]]
        filt = white[pick].reshape(c.n_filters, self.channels, k, k).float()
        filt = filt / filt.flatten(1).norm(dim=1).clamp(min=1e-12)[:, None, None, None]
        self.weight.copy_(filt)
        self.shift.zero_()
        sample = images[torch.randperm(b, generator=g)[: min(b, 512)]].float()
        resp = F.conv2d(sample, self.weight)
        mu = resp.mean(dim=(0, 2, 3))
        sd = resp.std(dim=(0, 2, 3)).clamp(min=1e-8)
        self.weight.div_(sd[:, None, None, None])
        self.shift.copy_(mu / sd)
        self.fitted.fill_(True)
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not bool(self.fitted):
            raise RuntimeError("RCF filters are not drawn yet: call fit(images) first")
        b = self.config.bias
        c = F.conv2d(x.float(), self.weight, -self.shift)  # standardised responses (bias fused: memory-bound)
        pos = (c - b).clamp_(min=0)
        neg = (c + b).clamp_(max=0).neg_()  # = ReLU(-c - b)
        feats = [pos.mean(dim=(2, 3)), neg.mean(dim=(2, 3))]
        g = self.config.pool_grid
        if g > 1:
            feats += [F.adaptive_avg_pool2d(pos, g).flatten(1), F.adaptive_avg_pool2d(neg, g).flatten(1)]
        return torch.cat(feats, dim=1)
