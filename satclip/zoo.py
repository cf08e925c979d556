"""Every encoder by name, in one place: what ``satclip evaluate --encoders``, the transfer check, the
explorer and the app accept.

Names (:func:`resolve_encoder`): a baseline (``lonlat``, ``xyz``, ``wrap``, ``sh<L>``, ``geoclip``,
``satclip-random[-l<L>]``), a bundled or released model name (see :mod:`satclip.registry`), a model file or
released checkpoint path, ``imagery:<model>`` (the image features of that model's training imagery at each
point), or ``<any of these>+lonlat`` (raw lon, lat appended).
"""

from __future__ import annotations

import re
from pathlib import Path

from satclip.inference import EncoderLike

IMAGERY_PREFIX = "imagery:"
CONCAT_SUFFIX = "+lonlat"


def resolve_encoder(spec: str) -> EncoderLike:
    """An encoder from its name.

    Args:
        spec: an encoder name as described in the module docstring.

    Returns:
        An object with ``name``, ``dim``, ``fingerprint`` and ``embed(lonlat)``.

    Raises:
        CheckpointError: ``spec`` is none of the names and no model file exists at that path.
    """
    from satclip import baselines

    if spec.endswith(CONCAT_SUFFIX):
        return baselines.ConcatEncoder(resolve_encoder(spec[: -len(CONCAT_SUFFIX)]))
    if spec.startswith(IMAGERY_PREFIX):
        return imagery_encoder(spec[len(IMAGERY_PREFIX) :])
    if spec in baselines.BASELINES:
        return baselines.BASELINES[spec]()
    if m := re.fullmatch(r"sh(\d+)", spec):
        return baselines.sh_encoder(int(m.group(1)))
    if m := re.fullmatch(r"satclip-random-l(\d+)", spec):
        return baselines.random_satclip(L=int(m.group(1)))
    from satclip.registry import load

    enc = load(spec)
    if Path(spec).exists() and enc.card.get("name") in (None, "", "unnamed"):
        enc.card["name"] = Path(spec).stem  # a file whose card names no model is called by its file name
    return enc


def imagery_encoder(name_or_path: str) -> EncoderLike:
    """The frozen image features of a model's training imagery at each point, as an encoder: what the
    imagery itself knows, the reference a location embedding is measured against (``imagery:<model>``).

    Args:
        name_or_path: a model trained by ``satclip train`` (name or file), whose card records its training
            data and image encoder.

    Returns:
        An encoder named ``imagery:<model name>`` whose ``embed`` gives the image encoder's features of the
        imagery patch at each (lon, lat).

    Raises:
        CheckpointError: the model cannot be loaded (see :func:`satclip.load`).
        ValueError: the model's card names no training data and image encoder, or its imagery cannot be
            cut at arbitrary points.
    """
    from satclip.baselines import FeatureEncoder
    from satclip.downstream.transfer import image_feature_fn, training_imagery
    from satclip.image.factory import build_image_encoder

    encoder, dataset, image_spec, image_path = training_imagery(name_or_path)
    dim = int(build_image_encoder(image_spec, dataset.channels).out_dim)
    return FeatureEncoder(
        f"imagery:{encoder.name}",
        dim,
        image_feature_fn(dataset, image_spec, image_path),
        params=(dataset.fingerprint, image_spec),
    )
