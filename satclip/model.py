"""SatCLIP = location encoder + image side (optional encoder + trainable projection head) + temperature.

Loss: symmetric cross-entropy over ``exp(logit_scale) * normalize(img) @ normalize(loc).T`` as in
SatCLIP, with the learnable temperature initialised to log(1/0.07) and clamped at log(100) (the
original never clamps). Optional soft targets mix the identity with a softmax over image-feature
similarity, so that look-alike patches are not pushed apart as hard negatives.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from satclip.geo import haversine_km
from satclip.nn.location_encoder import LocationEncoder, LocationEncoderConfig

LOGIT_SCALE_INIT = math.log(1 / 0.07)
LOGIT_SCALE_MAX = math.log(100.0)


class SatCLIP(nn.Module):
    """Contrastive model. ``image_encoder=None`` means the image input is already a feature vector."""

    def __init__(
        self,
        location: LocationEncoderConfig,
        image_dim: int,
        image_encoder: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.location = LocationEncoder(location)
        self.image_encoder = image_encoder
        self.image_head = nn.Linear(image_dim, location.embed_dim)
        self.logit_scale = nn.Parameter(torch.tensor(LOGIT_SCALE_INIT))

    def image_features(self, x: torch.Tensor) -> torch.Tensor:
        """Input of the projection head: the encoder's output, or ``x`` itself for cached features."""
        return x if self.image_encoder is None else self.image_encoder(x)

    def encode_image(self, x: torch.Tensor) -> torch.Tensor:
        return self.image_head(self.image_features(x))

    def encode_location(self, lonlat: torch.Tensor) -> torch.Tensor:
        return self.location(lonlat)

    def forward(self, x: torch.Tensor, lonlat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.encode_image(x), self.encode_location(lonlat)

    def temperature_scale(self) -> torch.Tensor:
        return self.logit_scale.clamp(max=LOGIT_SCALE_MAX).exp()


def clip_loss(
    img: torch.Tensor,
    loc: torch.Tensor,
    scale: torch.Tensor,
    soft_targets: torch.Tensor | None = None,
) -> torch.Tensor:
    """Symmetric CLIP cross-entropy. ``soft_targets`` (B, B) rows summing to 1 replace the identity."""
    img = F.normalize(img, dim=-1)
    loc = F.normalize(loc, dim=-1)
    logits = scale * img @ loc.T
    if soft_targets is None:
        labels = torch.arange(len(img), device=img.device)
        return 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels))
    t = soft_targets.to(logits.dtype)
    return 0.5 * (F.cross_entropy(logits, t) + F.cross_entropy(logits.T, t.T))


def soft_targets_from_features(feats: torch.Tensor, weight: float, tau: float = 0.1) -> torch.Tensor:
    """(1 - weight) * I + weight * softmax(cos(feats_i, feats_j) / tau): look-alike patches share mass."""
    f = F.normalize(feats.float(), dim=-1)
    return (1 - weight) * torch.eye(len(f), device=f.device) + weight * torch.softmax(f @ f.T / tau, dim=-1)


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """SatCLIP's AdamW groups: no decay on parameters with ndim < 2, norms, biases and the temperature."""
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        exclude = p.ndim < 2 or "bn" in name or "norm" in name or "bias" in name or "logit_scale" in name
        (no_decay if exclude else decay).append(p)
    return [{"params": no_decay, "weight_decay": 0.0}, {"params": decay, "weight_decay": weight_decay}]


@torch.no_grad()
def retrieval_metrics(img: torch.Tensor, loc: torch.Tensor, lonlat: np.ndarray, chunk: int = 2048) -> dict[str, float]:
    """Image<->location retrieval within a gallery of the same points, and geolocation error.

    ``img``/``loc``: (N, D) embeddings of the same N points. Returns top-1/top-10 accuracy both ways
    and the median great-circle distance (km) from each image to its best-matching location.
    """
    img = F.normalize(img.float(), dim=-1)
    loc = F.normalize(loc.float(), dim=-1)
    n = len(img)
    k = min(10, n)
    hits = {"img2loc_top1": 0, "img2loc_top10": 0, "loc2img_top1": 0, "loc2img_top10": 0}
    best = np.empty(n, dtype=np.int64)
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        truth = torch.arange(start, stop)[:, None]
        for name, a, b in (("img2loc", img, loc), ("loc2img", loc, img)):
            top = (a[start:stop] @ b.T).topk(k, dim=1).indices
            hits[f"{name}_top1"] += int((top[:, :1] == truth).sum())
            hits[f"{name}_top10"] += int((top == truth).any(dim=1).sum())
            if name == "img2loc":
                best[start:stop] = top[:, 0].numpy()
    out = {key: v / n for key, v in hits.items()}
    out["median_km"] = float(np.median(haversine_km(lonlat, lonlat[best])))
    return out
