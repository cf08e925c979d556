"""App settings from environment variables (the CLI ``satclip app`` sets them from its options)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from satclip.registry import DEFAULT_MODEL


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as err:
        raise ValueError(f"environment variable {name}={raw!r} is not a number") from err


@dataclass(frozen=True)
class Settings:
    """What the app runs on. Each field comes from an environment variable:

    - ``model`` (SATCLIP_APP_MODEL): bundled model name or model file path opened first.
    - ``resolution`` (SATCLIP_APP_RESOLUTION): global grid resolution in degrees (0.5; tests use 2).
    - ``max_rows`` (SATCLIP_APP_MAX_ROWS): largest table accepted by the Embed and Downstream pages.
    - ``max_upload_mb``: the upload size limit (Streamlit's ``server.maxUploadSize``), stated in the pages.
    - ``base_width`` (SATCLIP_APP_BASEMAP_PX): width of the Web Mercator Blue Marble base image.
    - ``model_dirs`` (SATCLIP_APP_MODEL_DIRS, ``os.pathsep``-separated): folders the "Local model file" box may
      open, besides the configured model's own folder, the bundled weights and the app's upload cache.
    """

    model: str = DEFAULT_MODEL
    resolution: float = 0.5
    max_rows: int = 200_000
    max_upload_mb: int = 50
    base_width: int = 2048
    model_dirs: tuple[Path, ...] = field(default_factory=tuple)

    @classmethod
    def from_env(cls) -> Settings:
        max_upload = 50
        try:
            import streamlit as st

            max_upload = int(st.get_option("server.maxUploadSize"))
        except Exception:
            pass
        model = os.environ.get("SATCLIP_APP_MODEL") or DEFAULT_MODEL
        dirs = [Path(d) for d in os.environ.get("SATCLIP_APP_MODEL_DIRS", "").split(os.pathsep) if d.strip()]
        if Path(model).suffix:  # a model file: its folder holds the operator's models
            dirs.append(Path(model).expanduser().parent)
        return cls(
            model=model,
            model_dirs=tuple(dirs),
            resolution=_float("SATCLIP_APP_RESOLUTION", 0.5),
            max_rows=int(_float("SATCLIP_APP_MAX_ROWS", 200_000)),
            max_upload_mb=max_upload,
            base_width=int(_float("SATCLIP_APP_BASEMAP_PX", 2048)),
        )
