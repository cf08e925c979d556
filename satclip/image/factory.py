"""Build an image encoder from a config ``image_encoder`` section."""

from __future__ import annotations

from typing import Any

from satclip.image.backbones import BACKBONES, FrozenBackbone, build_backbone, load_backbone_weights
from satclip.image.cnn import SmallCNN
from satclip.image.rcf import RCF, RCFConfig

ENCODERS = ("rcf", *BACKBONES, "cnn")
FROZEN = ("rcf", *BACKBONES)  # encoders whose features can be computed once and cached


ImageEncoder = RCF | FrozenBackbone | SmallCNN  # what build_image_encoder returns; each has out_dim


def build_image_encoder(spec: dict[str, Any], channels: int) -> ImageEncoder:
    """``rcf`` (needs ``fit``), a frozen backbone (``weights``: local file or None = random), or ``cnn``.

    Every returned module has ``out_dim``.
    """
    spec = dict(spec)
    name = spec.pop("name", "rcf")
    if name == "rcf":
        return RCF(channels, RCFConfig(**spec))
    if name in BACKBONES or name == "vit_small_patch16_224":
        weights = spec.pop("weights", None)
        img_size = spec.pop("img_size", 224)
        if spec:
            raise ValueError(f"unknown options for image encoder {name!r}: {sorted(spec)}")
        backbone = build_backbone(name, in_chans=channels, img_size=img_size)
        if weights:
            load_backbone_weights(backbone, weights)
        return FrozenBackbone(backbone)
    if name == "cnn":
        return SmallCNN(in_chans=channels, **spec)
    raise ValueError(f"unknown image encoder {name!r}; choose one of {ENCODERS}")
