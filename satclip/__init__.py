"""satclip: global, general-purpose location embeddings learned from satellite imagery.

Public API: :func:`load`, :func:`list_models`, :func:`spherical_harmonics`, :class:`SatCLIPFeaturizer`.
"""

from typing import TYPE_CHECKING, Any

from satclip._version import __version__
from satclip.positional.spherical_harmonics import spherical_harmonics
from satclip.registry import list_models, load

if TYPE_CHECKING:
    from satclip.featurizer import SatCLIPFeaturizer

__all__ = ["SatCLIPFeaturizer", "__version__", "list_models", "load", "spherical_harmonics"]


def __getattr__(name: str) -> Any:
    """``satclip.SatCLIPFeaturizer`` imports scikit-learn only when first used (about 0.5 s of import time)."""
    if name == "SatCLIPFeaturizer":
        from satclip.featurizer import SatCLIPFeaturizer

        return SatCLIPFeaturizer
    raise AttributeError(f"module 'satclip' has no attribute {name!r}")
