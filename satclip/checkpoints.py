"""Model files: our own format (one safetensors file with the model card in its metadata) and
import of the released SatCLIP Lightning checkpoints.

Nothing here unpickles arbitrary objects: safetensors holds only tensors and strings, and
Lightning checkpoints are read with ``torch.load(weights_only=True)``; trusting a file admits only
the fixed ``TRUSTED_GLOBALS``. Every file is checked (config types and bounds, names, shapes, dtypes,
finite values) before a module is built, so a file cannot make the loader allocate more than it
holds. See docs/security.md.
"""

from __future__ import annotations

import datetime as _dt
import importlib
import json
import math
import numbers
import operator
import os
import pickle
import pickletools
import re
import warnings
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from satclip.cache import atomic_path, file_sha256
from satclip.errors import CheckpointError
from satclip.nn.location_encoder import LocationEncoder, LocationEncoderConfig

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
        module: the trained :class:`~satclip.nn.location_encoder.LocationEncoder`.
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
    """The model card stored in one of our model files, without reading the weights.

    Args:
        path: a ``.safetensors`` file written by :func:`save_model`.

    Returns:
        The card as a dict (name, config, compute dtype, provenance, metrics, ...), unchecked beyond being a
        JSON object.

    Raises:
        CheckpointError: the file is missing, not a readable safetensors file, not a satclip model file, of
            an unsupported format version, or its card is not a JSON object.
    """
    return _read_own(Path(path), with_weights=False)[0]


def _read_own(path: Path, *, with_weights: bool) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """(card, weights) of one of our model files; ``with_weights=False`` reads the header only.

    The card's config is checked against the header (names, dtypes, shapes) before any weight is
    read or any module built, so a hostile card cannot make the loader allocate memory the file
    does not hold.
    """
    if not path.is_file():
        raise CheckpointError(f"model file not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            card = _card_from_metadata(f.metadata() or {}, path)
            if not with_weights:
                return card, {}
            layout = {k: (f.get_slice(k).get_dtype(), tuple(f.get_slice(k).get_shape())) for k in f.keys()}
            config = config_from_card(card, path)
            _check_layout(config, {k: shape for k, (_, shape) in layout.items()}, path)
            for key, (dtype, _) in layout.items():
                if dtype not in _SAFETENSORS_FLOAT_DTYPES:
                    raise CheckpointError(
                        f"{path}: key {key!r} has dtype {dtype}; weights must be float16, bfloat16, float32 or float64"
                    )
            return card, {k: f.get_tensor(k) for k in layout}
    except CheckpointError:
        raise
    except (SafetensorError, OSError, ValueError, TypeError, OverflowError) as err:
        raise CheckpointError(f"{path}: not a readable safetensors file (corrupt or truncated?): {err}") from err


_SAFETENSORS_FLOAT_DTYPES = ("F16", "BF16", "F32", "F64")
MAX_ABS_WEIGHT = 1e4  # trained SatCLIP weights are O(1); beyond this sin(w0 * x) is aliasing noise


def _card_from_metadata(metadata: Mapping[str, str], path: Path) -> dict[str, Any]:
    """The JSON model card of a safetensors header, after checking the format markers."""
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
    except RecursionError:
        raise CheckpointError(f"{path}: model card is nested too deeply to be a model card") from None
    if not isinstance(card, dict):
        raise CheckpointError(f"{path}: model card must be a JSON object, got {type(card).__name__}")
    return card


def config_from_card(card: Mapping[str, Any], path: Path | str) -> LocationEncoderConfig:
    """The architecture a model card declares, with its types and bounds checked.

    Args:
        card: a model card (:func:`read_card`) with a ``config`` mapping.
        path: the file the card came from, named in errors.

    Returns:
        The card's :class:`LocationEncoderConfig`.

    Raises:
        CheckpointError: the card has no ``config`` or it has an unknown key, a wrong type or a value out of
            bounds; the message names ``path``.
    """
    try:
        return LocationEncoderConfig.from_dict(card["config"])
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{path}: invalid 'config' in model card: {err}") from err


def load_model_file(path: str | os.PathLike[str]) -> tuple[LocationEncoder, dict[str, Any]]:
    """Load one of our model files -> (LocationEncoder in eval mode, card).

    The module computes in the card's ``compute_dtype`` (float32, or float64 for converted
    released checkpoints). Config, names, dtypes and shapes are checked against the file's header
    before anything is allocated; weights must be finite and below ``MAX_ABS_WEIGHT``.

    Args:
        path: a ``.safetensors`` file written by :func:`save_model`.

    Returns:
        ``(module, card)``: the :class:`LocationEncoder` in eval mode, in the card's compute dtype, and the
        card, with ``name`` (the file's stem when it has none) and ``file`` (``path``) set.

    Raises:
        CheckpointError: the file is missing, corrupt or not a satclip model file, its config is invalid,
            its weights' names, shapes or dtypes differ from the config, a weight is not finite or too large,
            or its ``compute_dtype`` is not float32/float64.
    """
    path = Path(path)
    card, tensors = _read_own(path, with_weights=True)
    compute = {"float32": torch.float32, "float64": torch.float64}.get(card.get("compute_dtype", "float32"))
    if compute is None:
        raise CheckpointError(f"{path}: unsupported compute_dtype {card.get('compute_dtype')!r}")
    module = _build(config_from_card(card, path), tensors, compute, path)
    card.setdefault("name", path.stem)
    card["file"] = str(path)
    return module, card


def _check_layout(config: LocationEncoderConfig, shapes: Mapping[str, tuple[int, ...]], source: Path | str) -> None:
    """Refuse weights whose names or shapes differ from the architecture ``config`` declares."""
    expected = config.state_shapes()
    missing = sorted(set(expected) - set(shapes))
    unexpected = sorted(set(shapes) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{source}: weights do not match the architecture: missing keys {missing}, unexpected keys {unexpected}"
        )
    for key, shape in expected.items():
        if tuple(shapes[key]) != shape:
            raise CheckpointError(
                f"{source}: key {key!r} has shape {tuple(shapes[key])}, expected {shape} for config {config}"
            )


def _check_values(state: Mapping[str, torch.Tensor], source: Path | str) -> None:
    """Refuse non-float, non-finite or implausibly large weights, naming the key."""
    for key, value in state.items():
        if not value.is_floating_point():
            raise CheckpointError(
                f"{source}: key {key!r} has dtype {str(value.dtype).removeprefix('torch.')}; "
                "weights must be floating point"
            )
        if not torch.isfinite(value).all():
            raise CheckpointError(f"{source}: key {key!r} contains NaN or inf")
        if value.numel() and value.abs().max().item() > MAX_ABS_WEIGHT:
            raise CheckpointError(
                f"{source}: key {key!r} has a weight of magnitude "
                f"{value.abs().max().item():.3g} (> {MAX_ABS_WEIGHT:g}); not a trained model"
            )


def _build(
    config: LocationEncoderConfig, state: Mapping[str, torch.Tensor], dtype: torch.dtype, source: Path | str
) -> LocationEncoder:
    """A LocationEncoder in eval mode holding ``state``, built only after names, shapes and values passed."""
    _check_layout(config, {k: tuple(v.shape) for k, v in state.items()}, source)
    _check_values(state, source)
    module = LocationEncoder(config).to(dtype)
    module.load_state_dict({k: v.to(dtype) for k, v in state.items()}, strict=True)
    return module.eval()


# The only globals a trusted checkpoint may name beyond torch's own safe set: plain-data classes
# that Lightning checkpoints written by other pipelines are known to contain. Constructing them
# runs no code the file chooses; the file cannot add to this list.
TRUSTED_GLOBALS = (
    "pathlib.Path",
    "pathlib.PosixPath",
    "pathlib.WindowsPath",
    "pathlib.PurePath",
    "pathlib.PurePosixPath",
    "pathlib.PureWindowsPath",
    "argparse.Namespace",
    "numpy.dtype",
    "numpy.core.multiarray.scalar",
    "numpy._core.multiarray.scalar",
    "lightning.fabric.utilities.data.AttributeDict",
    "lightning_fabric.utilities.data.AttributeDict",
    "pytorch_lightning.utilities.parsing.AttributeDict",
    "lightning.pytorch.utilities.parsing.AttributeDict",
)


def _torch_load(path: Path, trust: bool) -> Any:
    """``torch.load(weights_only=True)``: torch's restricted unpickler, which constructs only tensors
    and plain containers. ``trust`` additionally admits the fixed ``TRUSTED_GLOBALS`` (those the file
    needs, if importable); nothing the file names can widen that list, so no file runs code.
    """
    with path.open("rb") as fh:
        magic = fh.read(4)
    if magic != b"PK\x03\x04":
        raise CheckpointError(f"{path}: not a PyTorch checkpoint (not a zip archive as torch.save writes)")
    _refuse_amplifying_pickle(path)
    allowed = _trusted_globals(path) if trust else []
    try:
        with torch.serialization.safe_globals(allowed):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        lines = str(err).strip().splitlines()
        detail = next((line for line in lines if "GLOBAL" in line or "but got" in line), "")
        needed = _unsupported_global(detail)
        if needed in TRUSTED_GLOBALS and not trust:
            hint = "Only if you trust this file, load it with trust_checkpoint=True (CLI: --trust-checkpoint)."
        else:
            hint = (
                "satclip never unpickles it, trusted or not: re-save the checkpoint with plain dicts, "
                "tensors and numbers (state_dict and hyper_parameters)."
            )
        raise CheckpointError(
            f"{path}: refusing to unpickle {needed or detail.strip()!r}, which the checkpoint needs. {hint}"
        ) from err
    except Exception as err:  # torch's reader raises many types (RuntimeError, KeyError, ...) for a bad file
        raise CheckpointError(
            f"{path}: cannot read checkpoint (corrupt or truncated?): {type(err).__name__}: {err}"
        ) from err


def verify_checkpoint_archive(path: str | os.PathLike[str]) -> None:
    """Refuse a ``torch.save`` file that is not a complete zip archive with intact CRCs (e.g. one
    truncated by a killed or failed write), naming the file; reads the file once, builds nothing.

    Args:
        path: a checkpoint written by ``torch.save`` (e.g. a Lightning ``.ckpt``).

    Raises:
        CheckpointError: the file cannot be opened as a zip archive (missing, truncated, not a zip) or a
            member fails its CRC.
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
        raise CheckpointError(f"{path}: checkpoint is truncated or corrupt ({err}); delete it to start over") from err
    if bad is not None:
        raise CheckpointError(f"{path}: checkpoint is corrupt (bad CRC in {bad!r}); delete it to start over")


MAX_PICKLE_BYTES = 64 * 2**20  # the pickled structure of a checkpoint; tensors are stored beside it


def _refuse_amplifying_pickle(path: Path) -> None:
    """Refuse the constructors torch's restricted unpickler admits that turn a small number into a
    huge allocation (``bytearray(n)``, legacy ``torch.FloatTensor(n)``): a 384-byte file otherwise
    takes 2 GB and 15 s. Real checkpoints never name them (tensors come from ``_rebuild_tensor_v2``)."""
    try:
        with zipfile.ZipFile(path) as archive:
            info = next((i for i in archive.infolist() if i.filename.endswith("data.pkl")), None)
            if info is None:
                raise CheckpointError(f"{path}: not a PyTorch checkpoint (no data.pkl in the archive)")
            if info.file_size > MAX_PICKLE_BYTES:
                raise CheckpointError(
                    f"{path}: pickled structure of {info.file_size} bytes is too large "
                    f"(> {MAX_PICKLE_BYTES}); not a model checkpoint"
                )
            data = archive.read(info)
    except CheckpointError:
        raise
    except Exception as err:  # zipfile raises several types for a damaged archive
        raise CheckpointError(f"{path}: cannot read checkpoint (corrupt or truncated?): {err}") from err
    strings: list[str] = []
    try:
        for op, arg, _ in pickletools.genops(data):
            if op.name == "GLOBAL":
                name = str(arg).replace(" ", ".")
            elif op.name == "STACK_GLOBAL":
                name = ".".join(strings[-2:])
            else:
                if isinstance(arg, str):
                    strings.append(arg)
                continue
            if name == "builtins.bytearray" or re.fullmatch(r"torch(\.cuda|\.sparse)?\.[A-Za-z]+Tensor", name):
                raise CheckpointError(
                    f"{path}: refusing to unpickle {name!r}, which can allocate unbounded "
                    "memory; not a model checkpoint"
                )
    except CheckpointError:
        raise
    except Exception:  # a malformed opcode stream: torch.load reports it with its own message
        return


def _unsupported_global(detail: str) -> str:
    """'module.Name' out of torch's "Unsupported global: GLOBAL module.Name was not ..." message."""
    words = detail.split()
    return words[words.index("GLOBAL") + 1] if "GLOBAL" in words[:-1] else ""


def _trusted_globals(path: Path) -> list[Callable[..., Any] | tuple[Callable[..., Any], str]]:
    """The ``TRUSTED_GLOBALS`` this checkpoint names, imported; others stay refused by torch."""
    try:
        names = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    except Exception as err:  # same reader as torch.load: any failure means an unreadable file
        raise CheckpointError(f"{path}: cannot read checkpoint (corrupt or truncated?): {err}") from err
    objects: list[Callable[..., Any] | tuple[Callable[..., Any], str]] = []  # as torch's safe_globals takes
    for name in set(names) & set(TRUSTED_GLOBALS):
        module_name, _, attr = name.rpartition(".")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # numpy.core is numpy._core in numpy 2
                objects.append((getattr(importlib.import_module(module_name), attr), name))
        except (ImportError, AttributeError):
            continue  # not installed here: torch refuses it with a message naming it
    if "numpy.dtype" in names:  # a pickled numpy dtype is rebuilt as an instance of its numpy.dtypes class
        import numpy as np

        for code in "?bhilqBHILQefdFD":
            cls = type(np.dtype(code))
            objects.append((cls, f"numpy.dtypes.{cls.__name__}"))
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

    Args:
        path: the ``.ckpt`` file.
        trust_checkpoint: also admit the fixed ``TRUSTED_GLOBALS`` (plain-data classes) that some
            checkpoints pickle; nothing else is ever unpickled and no code runs.

    Returns:
        ``(module, card)``: the :class:`LocationEncoder` (float64, eval mode) and a card naming the file,
        its sha256 and the harmonics mode under ``provenance``.

    Raises:
        CheckpointError: the file is missing, not a torch zip archive, corrupt, needs a global outside
            ``TRUSTED_GLOBALS`` (or inside it without ``trust_checkpoint``), is not a Lightning checkpoint of a
            spherical-harmonics + SIREN location encoder, or its hyper-parameters or weights are invalid.
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
    state = {"nnet." + k[len(prefix) :]: v for k, v in state_dict.items() if str(k).startswith(prefix)}

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

    def need_int(key: str) -> int:
        value = need(key)
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise CheckpointError(f"{path}: hyper_parameters[{key!r}] must be an integer, got {value!r}")
        return operator.index(value)

    try:
        config = LocationEncoderConfig(
            L=need_int("legendre_polys"),
            convention="satclip",
            hidden_dim=need_int("capacity"),
            num_hidden_layers=need_int("num_hidden_layers"),
            embed_dim=need_int("embed_dim"),
        )
    except (TypeError, ValueError) as err:
        if isinstance(err, CheckpointError):
            raise
        raise CheckpointError(f"{path}: invalid hyper_parameters: {err}") from err
    for key, value in state.items():
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(f"{path}: state_dict key {key!r} is a {type(value).__name__}, not a tensor")
        if value.numel() * value.element_size() > value.untyped_storage().nbytes():  # e.g. stride 0
            raise CheckpointError(f"{path}: state_dict key {key!r} is a view larger than the data stored for it")
    _check_layout(config, {k: tuple(v.shape) for k, v in state.items()}, path)  # before anything is allocated
    _check_values(state, path)
    state = {k: v.to(torch.float64) for k, v in state.items()}
    if mode == "closed-form":
        state["nnet.layers.0.weight"] = state["nnet.layers.0.weight"] * _closed_form_scale(config.L)
    module = _build(config, state, torch.float64, path)
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
    """Convert a released SatCLIP checkpoint to our format (float64 weights: outputs unchanged).

    Args:
        src: the released Lightning ``.ckpt``.
        dst: the ``.safetensors`` file to write (atomically); its stem becomes the model's name.
        trust_checkpoint: as in :func:`load_satclip_checkpoint`.

    Returns:
        The path written.

    Raises:
        CheckpointError: ``src`` cannot be imported (see :func:`load_satclip_checkpoint`).
    """
    module, card = load_satclip_checkpoint(src, trust_checkpoint=trust_checkpoint)
    card.pop("file", None)
    card["name"] = Path(dst).stem
    return save_model(dst, module, card, dtype=torch.float64)
