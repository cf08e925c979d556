"""Backbones: timm parameter layout and counts for 13-band input, strict local weight loading, frozen wrapper."""

import pytest
import torch

from satclip.image.backbones import FrozenBackbone, build_backbone, load_backbone_weights
from satclip.image.cnn import SmallCNN
from satclip.image.factory import build_image_encoder

# timm's published counts (1000 classes, 3 bands) minus the classifier plus the 10 extra input bands
EXPECTED_PARAMS = {
    "resnet18": 11_689_512 - (512 * 1000 + 1000) + 64 * 10 * 7 * 7,
    "resnet50": 25_557_032 - (2048 * 1000 + 1000) + 64 * 10 * 7 * 7,
    "vit_small_patch16": 22_050_664 - (384 * 1000 + 1000) + 384 * 10 * 16 * 16,
}
TIMM_KEYS = {
    "resnet18": ["conv1.weight", "bn1.running_var", "layer2.0.downsample.0.weight", "layer4.1.bn2.bias"],
    "resnet50": ["layer1.0.conv3.weight", "layer1.0.downsample.1.running_mean", "layer4.2.bn3.weight"],
    "vit_small_patch16": [
        "cls_token",
        "pos_embed",
        "patch_embed.proj.weight",
        "blocks.11.attn.qkv.bias",
        "blocks.0.mlp.fc2.weight",
        "norm.bias",
    ],
}


@pytest.mark.parametrize("name", list(EXPECTED_PARAMS))
def test_parameter_count_and_timm_keys(name):
    m = build_backbone(name, in_chans=13)
    assert sum(p.numel() for p in m.parameters()) == EXPECTED_PARAMS[name]
    keys = set(m.state_dict())
    assert set(TIMM_KEYS[name]) <= keys
    assert not any(k.startswith(("fc.", "head.")) for k in keys)


@pytest.mark.parametrize(("name", "size", "dim"), [("resnet18", 64, 512), ("vit_small_patch16", 32, 384)])
def test_forward_13_bands(name, size, dim):
    m = build_backbone(name, in_chans=13, img_size=size).eval()
    with torch.no_grad():
        out = m(torch.rand(2, 13, size, size))
    assert out.shape == (2, dim) and torch.isfinite(out).all()


def test_strict_loading_from_pth_and_safetensors(tmp_path):
    from safetensors.torch import save_file

    src = build_backbone("resnet18")
    state = {k: v.clone() + 0.5 if v.is_floating_point() else v.clone() for k, v in src.state_dict().items()}
    state["fc.weight"], state["fc.bias"] = torch.zeros(1000, 512), torch.zeros(1000)  # classifier is ignored
    torch.save(state, tmp_path / "w.pth")
    save_file(state, str(tmp_path / "w.safetensors"))
    for f in ("w.pth", "w.safetensors"):
        m = load_backbone_weights(build_backbone("resnet18"), tmp_path / f)
        assert torch.equal(m.conv1.weight, state["conv1.weight"])
    broken = dict(state)
    del broken["layer3.0.conv1.weight"]
    broken["extra.weight"] = torch.zeros(1)
    torch.save(broken, tmp_path / "broken.pth")
    with pytest.raises(KeyError, match=r"layer3\.0\.conv1\.weight"):
        load_backbone_weights(build_backbone("resnet18"), tmp_path / "broken.pth")
    with pytest.raises(ValueError, match="shape mismatch"):
        load_backbone_weights(build_backbone("resnet18", in_chans=3), tmp_path / "w.pth")
    with pytest.raises(FileNotFoundError, match="not found"):
        load_backbone_weights(build_backbone("resnet18"), tmp_path / "missing.pth")


def test_factory_frozen_backbone_and_cnn(tmp_path):
    torch.save(build_backbone("resnet18").state_dict(), tmp_path / "r18.pth")
    enc = build_image_encoder({"name": "resnet18", "weights": str(tmp_path / "r18.pth")}, channels=13)
    assert isinstance(enc, FrozenBackbone) and enc.out_dim == 512
    enc.train()
    assert not enc.backbone.training and not any(p.requires_grad for p in enc.parameters())
    cnn = build_image_encoder({"name": "cnn", "width": 4, "out_dim": 32}, channels=13)
    assert isinstance(cnn, SmallCNN) and cnn(torch.rand(2, 13, 16, 16)).shape == (2, 32)
    with pytest.raises(ValueError, match="unknown image encoder"):
        build_image_encoder({"name": "vgg"}, channels=3)
