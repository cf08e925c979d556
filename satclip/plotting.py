"""matplotlib for library figures: the Agg backend for scripts, the caller's backend when it chose one."""

from __future__ import annotations

import os
import sys
from typing import Any


def pyplot() -> Any:
    """matplotlib.pyplot, switched to Agg (no GUI windows) unless pyplot is already in use or MPLBACKEND is set
    (as ipykernel does): switching a notebook to Agg would stop every later figure in it from showing."""
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules and not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
