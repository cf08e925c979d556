"""Named models: the bundled default models, the six released SatCLIP models (downloaded on request
only), their files, pinned checksums and revisions, model-card facts, and ``load``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from satclip.cache import file_sha256
from satclip.errors import CheckpointError, ModelNotDownloadedError
from satclip.released import (  # noqa: F401 - re-exported: the registry lists every named model
    RELEASED,
    SATCLIP_CITATION,
    SATCLIP_LICENSE,
    SATCLIP_TRAINING_DATA,
    ReleasedModel,
    models_dir,
)

if TYPE_CHECKING:  # torch and the model code load on first use: the CLI starts fast and reads the names
    import torch

    from satclip.inference import Encoder

WEIGHTS_DIR = Path(__file__).parent / "weights"
# the model used wherever none is named (API, CLI, featurizer, explorer, app)
DEFAULT_MODEL = "satclip-bluemarble-l10"


@dataclass(frozen=True)
class BundledModel:
    """A model shipped inside the package: file name under ``satclip/weights`` and its sha256.

    Attributes:
        name: the name :func:`load` accepts (``satclip-bluemarble-l10``).
        filename: the model file's name under ``satclip/weights`` (``.safetensors``).
        sha256: the file's pinned sha256 (hex), checked by :func:`resolve_bundled`.
        summary: one line on what the model is, for listings.
    """

    name: str
    filename: str
    sha256: str
    summary: str

    @property
    def path(self) -> Path:
        """Where the model file is in this installation."""
        return WEIGHTS_DIR / self.filename


BUNDLED: dict[str, BundledModel] = {
    m.name: m
    for m in (
        BundledModel(
            "satclip-bluemarble-l10",
            "satclip-bluemarble-l10.safetensors",
            "3c5803376bedf4849019ff2b8ef2fe9077bc74dac4562235f08ce2c55f3eec2a",
            "SH L=10 + SIREN 2x512 -> 256, trained by satclip on NASA Blue Marble patches (default)",
        ),
        BundledModel(
            "satclip-bluemarble-l40",
            "satclip-bluemarble-l40.safetensors",
            "895e50dc0ae9fa519ff8f47d91f698a5275eece256b2694d1ca4f7baeb3bb148",
            "SH L=40 + SIREN 2x512 -> 256, trained by satclip on Blue Marble patches with +-3 deg jitter (smoother)",
        ),
    )
}


def downloaded(name: str) -> bool:
    """Whether released model ``name`` has been downloaded and converted (its model file exists).

    Args:
        name: a released model's name (a key of ``RELEASED``, e.g. ``satclip-vit16-l40``).

    Returns:
        True when its converted model file is on disk.

    Raises:
        KeyError: ``name`` is not a released model.
    """
    return RELEASED[name].path.is_file()


def not_downloaded(names: list[str]) -> list[str]:
    """The released model names among ``names`` (also as ``NAME+lonlat``) that are not on disk yet.

    Args:
        names: encoder names; names that are not released models (bundled names, files) are ignored.

    Returns:
        The released models' base names (without ``+lonlat``) not downloaded yet, each once, in first-seen order.
    """
    bases = dict.fromkeys(n.removesuffix("+lonlat") for n in names)
    return [n for n in bases if n in RELEASED and not downloaded(n)]


def list_models(*, downloadable: bool = False) -> list[str]:
    """Names that :func:`load` accepts right now, offline: the bundled models and the released models already
    downloaded.

    Args:
        downloadable: also list the released models not on disk yet (``load(name, download=True)`` or
            ``satclip download NAME`` fetches them).

    Returns:
        Sorted model names (``satclip-bluemarble-l10`` is :data:`DEFAULT_MODEL`).
    """
    names = set(BUNDLED) | {name for name in RELEASED if downloadable or downloaded(name)}
    return sorted(names)


def resolve_bundled(name: str) -> Path:
    """Path of a bundled model file, checked against its pinned sha256.

    Args:
        name: a bundled model's name (a key of ``BUNDLED``).

    Returns:
        The path of its ``.safetensors`` file under ``satclip/weights``.

    Raises:
        KeyError: ``name`` is not a bundled model.
        CheckpointError: the file is missing from the installation or does not match its pinned sha256.
    """
    entry = BUNDLED[name]
    if not entry.path.is_file():
        raise CheckpointError(
            f"bundled model {name!r} is missing from this installation ({entry.path}); reinstall satclip"
        )
    if entry.sha256 and file_sha256(entry.path) != entry.sha256:
        raise CheckpointError(f"bundled model file {entry.path} does not match its pinned sha256 (corrupted?)")
    return entry.path


def resolve_released(name: str, *, download: bool = False) -> Path:
    """Path of a released model's converted file; downloads it first only when ``download=True``.

    Args:
        name: a released model's name (a key of ``RELEASED``).
        download: fetch and convert it from the Hugging Face Hub (``satclip.hub.download``) when it is not on
            disk; the only network access, and only on request.

    Returns:
        The path of its converted ``.safetensors`` model file.

    Raises:
        KeyError: ``name`` is not a released model.
        ModelNotDownloadedError: the model is not on disk and ``download`` is False; the message gives the
            command to run.
        DownloadError: ``download=True`` and the download or conversion failed.
        MissingExtraError: ``download=True`` without ``huggingface_hub`` installed (``satclip[hub]``).
    """
    entry = RELEASED[name]
    if not entry.path.is_file():
        if not download:
            raise ModelNotDownloadedError(
                f"released model {name!r} is not downloaded yet (nothing is fetched without your consent); "
                f"download it once from {entry.url} with: {entry.download_command}  "
                f"(or satclip.load({name!r}, download=True))"
            )
        from satclip.hub import download as hub_download

        hub_download(name)
    return entry.path


def _check_source(entry: ReleasedModel, card: dict, path: Path) -> None:
    """Refuse a file at a released model's path that ``satclip download NAME`` did not write."""
    source = (card.get("provenance") or {}).get("repo_id")
    if source != entry.repo_id:
        raise CheckpointError(
            f"{path}: model card names source {source!r}, expected {entry.repo_id!r}; "
            f"replace it with: {entry.download_command} --force"
        )


def load(
    name_or_path: str | os.PathLike[str] = DEFAULT_MODEL,
    device: str | torch.device = "cpu",
    *,
    trust_checkpoint: bool = False,
    download: bool = False,
) -> Encoder:
    """Load a location encoder: a bundled name, a released model's name (``satclip-vit16-l40`` ...), one of
    our ``.safetensors`` model files, or a released SatCLIP Lightning ``.ckpt``.

    A released model must be on disk (``satclip download NAME``); ``download=True`` fetches it from the
    Hugging Face Hub if it is not (explicit consent: nothing else ever downloads).

    Args:
        name_or_path: a name from :func:`list_models` (``downloadable=True`` for the released ones) or the path
            of a model file.
        device: torch device to embed on (``"cpu"``, ``"cuda"``, ...).
        trust_checkpoint: also admit the fixed ``satclip.checkpoints.TRUSTED_GLOBALS`` (plain-data classes) in a
            ``.ckpt``; it never runs code.
        download: fetch a released model that is not on disk yet.

    Returns:
        An :class:`~satclip.inference.Encoder`: ``embed((lon, lat) degrees) -> (N, dim) float32``.

    Raises:
        ModelNotDownloadedError: a released model not on disk (the message gives the command to run).
        CheckpointError: an unknown name, a missing, corrupt or untrusted file, or a bundled file that does
            not match its pinned sha256.
    """
    from satclip.checkpoints import load_model_file, load_satclip_checkpoint
    from satclip.inference import Encoder

    key = os.fspath(name_or_path)
    if key in BUNDLED or key in RELEASED:
        path = resolve_bundled(key) if key in BUNDLED else resolve_released(key, download=download)
        module, card = load_model_file(path)
        if key in RELEASED:
            _check_source(RELEASED[key], card, path)
        card["name"] = key
        return Encoder(module, card, device)
    if not key.strip():
        raise CheckpointError(f"empty model name: give a model name ({', '.join(sorted(BUNDLED))}, ...) or a file")
    path = Path(key).expanduser()
    if path.is_dir():
        raise CheckpointError(f"{key}: is a folder, not a model file (.safetensors or .ckpt)")
    if not path.exists():
        raise CheckpointError(
            f"{key!r} is neither a bundled model ({', '.join(sorted(BUNDLED))}), a released model "
            f"({', '.join(RELEASED)}) nor an existing file"
        )
    if path.suffix == ".safetensors":
        module, card = load_model_file(path)
    else:
        module, card = load_satclip_checkpoint(path, trust_checkpoint=trust_checkpoint)
    return Encoder(module, card, device)
