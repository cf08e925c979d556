"""satclip: global, general-purpose location embeddings learned from satellite imagery.

Public API: :func:`load`, :func:`list_models`, :func:`spherical_harmonics`, :class:`SatCLIPFeaturizer`.
"""

from satclip.encoding.spherical_harmonics import spherical_harmonics
from satclip.featurizer import SatCLIPFeaturizer
from satclip.registry import list_models, load

__all__ = ["SatCLIPFeaturizer", "list_models", "load", "spherical_harmonics"]
__version__ = "0.1.0"
