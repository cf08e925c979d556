"""Transfer ratio on MODIS land cover: image features cut at arbitrary points match the cached training
features exactly, and the ratio is the plain quotient of the two continent hold-out probe scores."""

import numpy as np
import pytest

from satclip.data.bluemarble import PatchConfig, load_prepared, prepare_equirect
from satclip.data.features import compute_features
from satclip.data.image_datasets import PatchArrayDataset
from satclip.downstream.tasks import load_task
from satclip.downstream.transfer import holdout_scores, image_feature_fn, image_features_at, land_cover_transfer
from tests.assets_helper import real_assets, require_asset  # noqa: F401

SPEC = {"name": "rcf", "n_filters": 8}


@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> PatchArrayDataset:
    import os

    old = os.environ.get("SATCLIP_CACHE")
    os.environ["SATCLIP_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    try:
        cfg = PatchConfig(n=300, patch_size=8, seed=3)
        return PatchArrayDataset(load_prepared(prepare_equirect(None, cfg, progress=False), mmap=False))
    finally:
        if old is None:
            os.environ.pop("SATCLIP_CACHE")
        else:
            os.environ["SATCLIP_CACHE"] = old


def test_features_at_training_points_equal_the_training_features(tiny_dataset: PatchArrayDataset) -> None:
    train = compute_features(tiny_dataset, SPEC, progress=False)
    again = image_features_at(tiny_dataset.lonlat, tiny_dataset, SPEC)
    assert again.shape == train.shape == (300, 16)
    np.testing.assert_allclose(again, train, rtol=1e-5, atol=1e-6)


def test_context_features_see_a_wider_patch(tiny_dataset: PatchArrayDataset) -> None:
    near = image_features_at(tiny_dataset.lonlat, tiny_dataset, SPEC)
    wide = image_feature_fn(tiny_dataset, SPEC, scale=4.0)(tiny_dataset.lonlat)
    assert wide.shape == near.shape and np.isfinite(wide).all()
    # the same encoder on a 4x wider footprint: different numbers at most points
    assert np.mean(np.abs(wide - near).max(axis=1) > 1e-3) > 0.5
    with pytest.raises(ValueError, match="scale must be > 0"):
        image_feature_fn(tiny_dataset, SPEC, scale=0.0)


def test_features_refuse_a_different_image(tiny_dataset: PatchArrayDataset, tmp_path) -> None:
    from PIL import Image

    path = tmp_path / "other.png"
    Image.fromarray(np.zeros((90, 180, 3), np.uint8)).save(path)
    with pytest.raises(ValueError, match="not the image the training patches were cut from"):
        image_features_at(tiny_dataset.lonlat[:5], tiny_dataset, SPEC, image_path=str(path))


@pytest.mark.usefixtures("real_assets")
def test_land_cover_transfer_ratio(tiny_dataset: PatchArrayDataset) -> None:
    require_asset("modis-landcover")
    require_asset("naturalearth-lowres")
    task = load_task("land_cover", n=1500)
    # an "embedding" that is the image features themselves transfers exactly as well as they do
    same = land_cover_transfer(
        lambda ll: image_features_at(ll, tiny_dataset, SPEC), tiny_dataset, SPEC, n=1500, seeds=(0,)
    )
    assert same["transfer_ratio"] == pytest.approx(1.0)
    assert set(same["per_continent"]) == {"Africa", "Asia", "South America"}
    coords = land_cover_transfer(lambda ll: np.asarray(ll, np.float32), tiny_dataset, SPEC, n=1500, seeds=(0,))
    direct = holdout_scores(task.lonlat.astype(np.float32), task, (0,))
    assert coords["location_accuracy"] == pytest.approx(np.mean(list(direct.values())))
    assert coords["transfer_ratio"] == pytest.approx(coords["location_accuracy"] / same["image_accuracy"])
    assert 0.0 < coords["location_accuracy"] < 1.0


def test_cli_transfer_refuses_a_model_without_training_card(small_model_file) -> None:
    from typer.testing import CliRunner

    from satclip.cli import app

    r = CliRunner().invoke(app, ["transfer", str(small_model_file)])
    assert r.exit_code == 1
    assert "names no training data and image encoder" in r.output


def test_imagery_encoder_gives_the_training_image_features(tiny_dataset: PatchArrayDataset, tmp_path) -> None:
    import torch

    from satclip.checkpoints import save_model
    from satclip.nn.location_encoder import LocationEncoder, LocationEncoderConfig
    from satclip.zoo import resolve_encoder

    cfg = tiny_dataset.arrays.meta["config"]
    card = {"name": "tiny", "training": {"data": {"spec": {"source": "bluemarble", **cfg}, "image_encoder": SPEC}}}
    path = tmp_path / "tiny.safetensors"
    module = LocationEncoder(LocationEncoderConfig(L=3, hidden_dim=8, embed_dim=4))
    save_model(path, module, card, dtype=torch.float32)
    enc = resolve_encoder(f"imagery:{path}+lonlat")
    pts = tiny_dataset.lonlat[:50]
    X = enc.embed(pts)
    assert enc.dim == X.shape[1] == 16 + 2 and enc.name == "imagery:tiny+lonlat"
    train = compute_features(tiny_dataset, SPEC, progress=False)
    np.testing.assert_allclose(X[:, :16], train[:50], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(X[:, 16:], pts)
