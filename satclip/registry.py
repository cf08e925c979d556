"""Named models: the bundled default models, their files and pinned checksums, and ``load``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from satclip.errors import CheckpointError

if TYPE_CHECKING:  # torch and the model code load on first use: the CLI starts fast and reads the names
    import torch

    from satclip.encoder import Encoder

WEIGHTS_DIR = Path(__file__).parent / "weights"
# the model used wherever none is named (API, CLI, featurizer, explorer, app)
DEFAULT_MODEL = "satclip-bluemarble-l10"


@dataclass(frozen=True)
class BundledModel:
    """A model shipped inside the package: file name under ``satclip/weights`` and its sha256."""

    name: str
    filename: str
    sha256: str
    summary: str

    @property
    def path(self) -> Path:
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


def list_models() -> list[str]:
    """The model names :func:`load` accepts.

    Returns:
        Sorted names of the bundled models (``satclip-bluemarble-l10`` is :data:`DEFAULT_MODEL`).
    """
    return sorted(BUNDLED)


def resolve_bundled(name: str) -> Path:
    """Path of a bundled model file, checked against its pinned sha256."""
    from satclip.cache import file_sha256

    entry = BUNDLED[name]
    if not entry.path.is_file():
        raise CheckpointError(
            f"bundled model {name!r} is missing from this installation ({entry.path}); reinstall satclip"
        )
    if entry.sha256 and file_sha256(entry.path) != entry.sha256:
        raise CheckpointError(f"bundled model file {entry.path} does not match its pinned sha256 (corrupted?)")
    return entry.path


def load(
    name_or_path: str | os.PathLike[str] = DEFAULT_MODEL,
    device: str | torch.device = "cpu",
    *,
    trust_checkpoint: bool = False,
) -> Encoder:
    """Load a location encoder: a bundled name, one of our ``.safetensors`` model files, or a
    released SatCLIP Lightning ``.ckpt``.

    Args:
        name_or_path: a name from :func:`list_models` or the path of a model file.
        device: torch device to embed on (``"cpu"``, ``"cuda"``, ...).
        trust_checkpoint: allow unpickling for a ``.ckpt`` that needs it: only for files you trust.

    Returns:
        An :class:`~satclip.encoder.Encoder`: ``embed((lon, lat) degrees) -> (N, dim) float32``.

    Raises:
        CheckpointError: an unknown name, a missing, corrupt or untrusted file, or a bundled file that
            does not match its pinned sha256.
    """
    from satclip.checkpoints import load_model_file, load_satclip_checkpoint
    from satclip.encoder import Encoder

    key = os.fspath(name_or_path)
    if key in BUNDLED:
        module, card = load_model_file(resolve_bundled(key))
        card["name"] = key
        return Encoder(module, card, device)
    path = Path(key).expanduser()
    if not path.exists():
        raise CheckpointError(
            f"{key!r} is neither a bundled model ({', '.join(list_models())}) nor an existing file"
        )
    if path.suffix == ".safetensors":
        module, card = load_model_file(path)
    else:
        module, card = load_satclip_checkpoint(path, trust_checkpoint=trust_checkpoint)
    return Encoder(module, card, device)
