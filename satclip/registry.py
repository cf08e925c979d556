"""Named models: the bundled default models, the six released SatCLIP models (downloaded on request
only), their files, pinned checksums and revisions, model-card facts, and ``load``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from satclip.cache import cache_dir, file_sha256
from satclip.checkpoints import CheckpointError, load_model_file, load_satclip_checkpoint
from satclip.encoder import Encoder

WEIGHTS_DIR = Path(__file__).parent / "weights"
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

SATCLIP_LICENSE = "MIT (microsoft/satclip)"
SATCLIP_TRAINING_DATA = "S2-100K: 100,000 Sentinel-2 L2A patches sampled uniformly over land (2021-01 to 2023-05)"
SATCLIP_CITATION = (
    "@article{klemmer2025satclip, title={SatCLIP: Global, General-Purpose Location Embeddings with Satellite "
    "Imagery}, author={Klemmer, Konstantin and Rolf, Esther and Robinson, Caleb and Mackey, Lester and "
    "Ru{\\ss}wurm, Marc}, journal={Proceedings of the AAAI Conference on Artificial Intelligence}, volume={39}, "
    "number={4}, pages={4347--4355}, year={2025}, doi={10.1609/aaai.v39i4.32457}}"
)


@dataclass(frozen=True)
class ReleasedModel:
    """One of the six SatCLIP models released by Microsoft on the Hugging Face Hub (a Lightning ``.ckpt``
    holding image encoder, location encoder and optimizer state). ``satclip download NAME`` fetches it and
    keeps the location encoder alone, as our model file at :attr:`path`.

    ``revision`` is a commit hash where one is known (then the download is pinned), else ``"main"``.
    """

    name: str
    repo_id: str
    filename: str
    revision: str
    image_encoder: str
    L: int
    hidden_dim: int = 512
    num_hidden_layers: int = 2
    embed_dim: int = 256

    @property
    def pinned(self) -> bool:
        """Whether :attr:`revision` is an immutable commit hash (not a branch name)."""
        return len(self.revision) == 40 and all(c in "0123456789abcdef" for c in self.revision)

    @property
    def url(self) -> str:
        return f"https://huggingface.co/{self.repo_id}"

    @property
    def path(self) -> Path:
        """Where the converted location encoder lives once downloaded: ``<cache>/models/<name>.safetensors``."""
        return models_dir() / f"{self.name}.safetensors"

    @property
    def n_parameters(self) -> int:
        """Parameters of the location encoder (SH features -> SIREN hidden layers -> linear output)."""
        h = self.hidden_dim
        return (self.L**2 * h + h) + (self.num_hidden_layers - 1) * (h * h + h) + (h * self.embed_dim + self.embed_dim)

    @property
    def converted_bytes(self) -> int:
        """Approximate size of the converted file (float64 weights; the card adds a few kB)."""
        return 8 * self.n_parameters

    @property
    def download_command(self) -> str:
        return f"satclip download {self.name}"

    @property
    def summary(self) -> str:
        return (f"SH L={self.L} + SIREN {self.num_hidden_layers}x{self.hidden_dim} -> {self.embed_dim}, released "
                f"SatCLIP trained on S2-100K with a {self.image_encoder} image encoder ({self.repo_id})")


_IMAGE_ENCODERS = {
    "ResNet18": "ResNet18 (SSL4EO-S12 MoCo, 13 Sentinel-2 bands)",
    "ResNet50": "ResNet50 (SSL4EO-S12 MoCo, 13 Sentinel-2 bands)",
    "ViT16": "ViT-S/16 (SSL4EO-S12 MoCo, 13 Sentinel-2 bands)",
}
# Commits known for a repository (torchgeo pins SatCLIP-ViT16-L40 at this one); the others follow "main".
_PINNED = {"microsoft/SatCLIP-ViT16-L40": "0ef2acc0b91d3c8cfdf4a0cc03207095989287ab"}

RELEASED: dict[str, ReleasedModel] = {
    m.name: m
    for m in (
        ReleasedModel(
            name=f"satclip-{arch.lower()}-l{L}",
            repo_id=f"microsoft/SatCLIP-{arch}-L{L}",
            filename=f"satclip-{arch.lower()}-l{L}.ckpt",
            revision=_PINNED.get(f"microsoft/SatCLIP-{arch}-L{L}", "main"),
            image_encoder=_IMAGE_ENCODERS[arch],
            L=L,
        )
        for arch in ("ResNet18", "ResNet50", "ViT16")
        for L in (10, 40)
    )
}


class ModelNotDownloadedError(CheckpointError, FileNotFoundError):
    """A released model's name was asked for but it is not on disk; the message gives the command to run."""


def models_dir() -> Path:
    """Folder of downloaded (converted) released models: ``cache_dir("models")``, i.e. ``$SATCLIP_CACHE/models``."""
    return cache_dir("models")


def downloaded(name: str) -> bool:
    """Whether released model ``name`` has been downloaded and converted (its model file exists)."""
    return RELEASED[name].path.is_file()


def not_downloaded(names: list[str]) -> list[str]:
    """The released model names among ``names`` (also as ``NAME+lonlat``) that are not on disk yet."""
    bases = dict.fromkeys(n.removesuffix("+lonlat") for n in names)
    return [n for n in bases if n in RELEASED and not downloaded(n)]


def list_models(*, downloadable: bool = False) -> list[str]:
    """Names that ``load`` accepts right now, offline: the bundled models and the released models already
    downloaded. ``downloadable=True`` adds the released models not on disk yet (``load(name, download=True)``
    or ``satclip download NAME`` fetches them)."""
    names = set(BUNDLED) | {name for name in RELEASED if downloadable or downloaded(name)}
    return sorted(names)


def resolve_bundled(name: str) -> Path:
    """Path of a bundled model file, checked against its pinned sha256."""
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

    Without ``download`` a model not on disk raises :class:`ModelNotDownloadedError` naming the command.
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
    Hugging Face Hub if it is not (explicit consent: nothing else ever downloads). ``trust_checkpoint=True``
    also admits the fixed ``satclip.checkpoints.TRUSTED_GLOBALS`` (plain-data classes) in a ``.ckpt``;
    it never runs code.
    """
    key = os.fspath(name_or_path)
    if key in BUNDLED or key in RELEASED:
        path = resolve_bundled(key) if key in BUNDLED else resolve_released(key, download=download)
        module, card = load_model_file(path)
        if key in RELEASED:
            _check_source(RELEASED[key], card, path)
        card["name"] = key
        return Encoder(module, card, device)
    path = Path(key).expanduser()
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
