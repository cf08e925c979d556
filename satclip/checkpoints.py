"""Model files: our own format (one safetensors file with the model card in its metadata) and
import of the released SatCLIP Lightning checkpoints.

Nothing here unpickles arbitrary objects: safetensors holds only tensors and strings, and
Lightning checkpoints are read with ``torch.load(weights_only=True)`` unless the caller explicitly
trusts the file.
"""

from __future__ import annotations

import datetime as _dt
import importlib
import json
import math
import os
import pickle
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from satclip.cache import atomic_path, file_sha256
from satclip.errors import CheckpointError
from satclip.location_encoder import LocationEncoder, LocationEncoderConfig

FORMAT_NAME = "satclip-location-encoder"
FORMAT_VERSION = "1"
_RELEASED_PREFIXES = ("model.location.nnet.", "model.nnet.")


def _package_version() -> str:
    from satclip._version import __version__

    return __version__


def save_model(
    path: str | os.PathLike[str],
    module: LocationEncoder,
    card: Mapping[str, Any],
    *,
    dtype: torch.dtype = torch.float16,
) -> Path:
    """Write ``module`` and its model ``card`` to one safetensors file, atomically.

    Weights are stored as ``dtype`` (float16 keeps bundled files small; use float64 to keep a
    float64 model exact). The card gets the architecture config, the package version, the
    storage dtype and the compute dtype added.

    Args:
        path: the ``.safetensors`` file to write (replaced atomically if it exists).
        module: the trained :class:`~satclip.location_encoder.LocationEncoder`.
        card: the model card (name, training data, metrics, licence, ...); must be JSON-serialisable.
        dtype: storage dtype of the weights: float16, bfloat16, float32 or float64.

    Returns:
        The path written.

    Raises:
        ValueError: an unsupported storage dtype.
    """
    if dtype not in (torch.float16, torch.bfloat16, torch.float32, torch.float64):
        raise ValueError(f"unsupported storage dtype {dtype}")
    full_card = dict(card)
    full_card["config"] = module.config.to_dict()
    full_card["package_version"] = _package_version()
    full_card["weights_dtype"] = str(dtype).removeprefix("torch.")
    full_card.setdefault("compute_dtype", "float64" if module.dtype == torch.float64 else "float32")
    full_card.setdefault("created", _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    tensors = {k: v.detach().to("cpu", dtype).contiguous() for k, v in module.state_dict().items()}
    metadata = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "card": json.dumps(full_card)}
    target = Path(path)
    with atomic_path(target) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
    return target


def read_card(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The model card stored in one of our model files, without loading the weights."""
    return _open_own(Path(path))[1]


def _open_own(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    if not path.is_file():
        raise CheckpointError(f"model file not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{path}: not a readable safetensors file (corrupt or truncated?): {err}") from err
    if metadata.get("format") != FORMAT_NAME:
        raise CheckpointError(
            f"{path}: safetensors file without satclip model metadata (format={metadata.get('format')!r}); "
            "expected a file written by satclip.checkpoints.save_model"
        )
    if metadata.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path}: unsupported format version {metadata.get('format_version')!r}")
    try:
        card = json.loads(metadata["card"])
    except (KeyError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path}: model card missing or not valid JSON: {err}") from err
    return tensors, card


def load_model_file(path: str | os.PathLike[str]) -> tuple[LocationEncoder, dict[str, Any]]:
    """Load one of our model files -> (LocationEncoder in eval mode, card).

    The module computes in the card's ``compute_dtype`` (float32, or float64 for converted
    released checkpoints).
    """
    path = Path(path)
    tensors, card = _open_own(path)
    try:
        config = LocationEncoderConfig.from_dict(card["config"])
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{path}: invalid 'config' in model card: {err}") from err
    compute = {"float32": torch.float32, "float64": torch.float64}.get(card.get("compute_dtype", "float32"))
    if compute is None:
        raise CheckpointError(f"{path}: unsupported compute_dtype {card.get('compute_dtype')!r}")
    module = LocationEncoder(config).to(compute)
    _load_state(module, {k: v.to(compute) for k, v in tensors.items()}, path)
    card.setdefault("name", path.stem)
    card["file"] = str(path)
    return module.eval(), card


def _load_state(module: LocationEncoder, state: Mapping[str, torch.Tensor], source: Path | str) -> None:
    """Strict load with errors that name the missing, unexpected or mis-shaped keys."""
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise CheckpointError(f"{source}: weights do not match the architecture: missing keys {missing}, "
                              f"unexpected keys {unexpected}")
    for key, ref in expected.items():
        if tuple(state[key].shape) != tuple(ref.shape):
            raise CheckpointError(
                f"{source}: key {key!r} has shape {tuple(state[key].shape)}, expected {tuple(ref.shape)} "
                f"for config {module.config}"
            )
        if not torch.isfinite(state[key]).all():
            raise CheckpointError(f"{source}: key {key!r} contains NaN or inf")
    module.load_state_dict(dict(state), strict=True)


def _torch_load(path: Path, trust: bool) -> Any:
    """``torch.load(weights_only=True)``; with ``trust``, the globals the file names are allow-listed.

    Even a trusted file goes through the restricted unpickler: only the classes it references by
    name are admitted (imported from installed modules), never arbitrary code paths.
    """
    allowed: list[Any] = _checkpoint_globals(path) if trust else []
    try:
        with torch.serialization.safe_globals(allowed):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        first = str(err).strip().splitlines()
        detail = next((line for line in first if "Unsupported global" in line), first[0] if first else "")
        raise CheckpointError(
            f"{path}: refusing to unpickle objects the checkpoint needs ({detail.strip()}). "
            "Only if you trust this file, load it with trust_checkpoint=True (CLI: --trust-checkpoint)."
        ) from err
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as err:
        raise CheckpointError(f"{path}: cannot read checkpoint (corrupt or truncated?): {err}") from err


def _checkpoint_globals(path: Path) -> list[Any]:
    """Resolve the 'module.Name' globals a checkpoint references (for an explicitly trusted file)."""
    try:
        names = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as err:
        raise CheckpointError(f"{path}: cannot read checkpoint (corrupt or truncated?): {err}") from err
    objects = []
    for name in names:
        module_name, _, attr = name.rpartition(".")
        try:
            obj: Any = importlib.import_module(module_name)
            for part in attr.split("."):
                obj = getattr(obj, part)
        except (ImportError, AttributeError) as err:
            raise CheckpointError(f"{path}: the checkpoint needs {name!r}, which is not importable here") from err
        objects.append(obj)
    return objects


def _closed_form_scale(L: int) -> torch.Tensor:
    """Per-feature factor s with closed-form = satclip("analytic") * s: (-1)^m for m != 0, 1/pi for m = 0."""
    scale = []
    for l in range(L):  # noqa: E741
        for m in range(-l, l + 1):
            scale.append(1.0 / math.pi if m == 0 else (-1.0) ** m)
    return torch.tensor(scale, dtype=torch.float64)


def load_satclip_checkpoint(
    path: str | os.PathLike[str], *, trust_checkpoint: bool = False
) -> tuple[LocationEncoder, dict[str, Any]]:
    """Import the location encoder of a released SatCLIP Lightning checkpoint (float64, eval mode).

    Reads only ``state_dict`` (keys ``model.location.nnet.*`` or ``model.nnet.*``) and
    ``hyper_parameters``; everything else (image encoder, optimizer state) is ignored. "analytic"
    features map to our "satclip" convention; "closed-form" ones are folded into the first layer
    (they differ from analytic by a fixed sign/scale per feature), so outputs are unchanged.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    ckpt = _torch_load(path, trust_checkpoint)
    if not isinstance(ckpt, Mapping) or not isinstance(ckpt.get("state_dict"), Mapping):
        raise CheckpointError(f"{path}: not a Lightning checkpoint (no 'state_dict' mapping)")
    hp = ckpt.get("hyper_parameters")
    if not isinstance(hp, Mapping):
        raise CheckpointError(f"{path}: no 'hyper_parameters' mapping; cannot tell the architecture")
    state_dict = ckpt["state_dict"]
    prefix = next((p for p in _RELEASED_PREFIXES if any(str(k).startswith(p) for k in state_dict)), None)
    if prefix is None:
        raise CheckpointError(f"{path}: no location-encoder keys (expected {' or '.join(_RELEASED_PREFIXES)}*)")
    state = {"nnet." + k[len(prefix):]: v for k, v in state_dict.items() if str(k).startswith(prefix)}

    def need(key: str) -> Any:
        if key not in hp:
            raise CheckpointError(f"{path}: hyper_parameters lack {key!r}")
        return hp[key]

    if need("le_type") != "sphericalharmonics" or need("pe_type") != "siren":
        raise CheckpointError(
            f"{path}: only spherical-harmonics + SIREN encoders are supported, got le_type={hp['le_type']!r}, "
            f"pe_type={hp['pe_type']!r}"
        )
    mode = hp.get("harmonics_calculation", "analytic")
    if mode not in ("analytic", "closed-form"):
        raise CheckpointError(f"{path}: harmonics_calculation={mode!r} is not supported (analytic, closed-form)")
    try:
        config = LocationEncoderConfig(
            L=int(need("legendre_polys")),
            convention="satclip",
            hidden_dim=int(need("capacity")),
            num_hidden_layers=int(need("num_hidden_layers")),
            embed_dim=int(need("embed_dim")),
        )
    except (TypeError, ValueError) as err:
        raise CheckpointError(f"{path}: invalid hyper_parameters: {err}") from err
    state = {k: torch.as_tensor(v).to(torch.float64) for k, v in state.items()}
    if mode == "closed-form" and "nnet.layers.0.weight" in state:
        w = state["nnet.layers.0.weight"]
        if w.shape[-1] == config.L**2:
            state["nnet.layers.0.weight"] = w * _closed_form_scale(config.L)
    module = LocationEncoder(config).to(torch.float64)
    _load_state(module, state, path)
    card = {
        "name": path.stem,
        "description": "Location encoder imported from a released SatCLIP checkpoint",
        "compute_dtype": "float64",
        "provenance": {
            "source": "microsoft/satclip Lightning checkpoint",
            "file": path.name,
            "sha256": file_sha256(path),
            "harmonics_calculation": mode,
            "vision_layers": hp.get("vision_layers"),
        },
        "training": {"data": "S2-100K (Sentinel-2)" if hp.get("in_channels") == 13 else "unknown"},
        "license": "MIT (microsoft/satclip)",
        "file": str(path),
    }
    return module.eval(), card


def convert_checkpoint(
    src: str | os.PathLike[str], dst: str | os.PathLike[str], *, trust_checkpoint: bool = False
) -> Path:
    """Convert a released SatCLIP checkpoint to our format (float64 weights: outputs unchanged)."""
    module, card = load_satclip_checkpoint(src, trust_checkpoint=trust_checkpoint)
    card.pop("file", None)
    card["name"] = Path(dst).stem
    return save_model(dst, module, card, dtype=torch.float64)
