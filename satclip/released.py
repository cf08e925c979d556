"""The six SatCLIP models released by Microsoft on the Hugging Face Hub: their repositories, files, pinned
revisions and model-card facts (licence, training data, citation). Plain data, read by the registry (names,
``load``) and by the hub download (``satclip.hub``), so neither imports the other's module at its top."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from satclip.cache import cache_dir

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
        return (
            f"SH L={self.L} + SIREN {self.num_hidden_layers}x{self.hidden_dim} -> {self.embed_dim}, released "
            f"SatCLIP trained on S2-100K with a {self.image_encoder} image encoder ({self.repo_id})"
        )


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


def models_dir() -> Path:
    """Folder of downloaded (converted) released models: ``cache_dir("models")``, i.e. ``$SATCLIP_CACHE/models``."""
    return cache_dir("models")
