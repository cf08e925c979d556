"""The API reference is generated from the public modules' docstrings (pdoc) by this test into a temporary
folder, so it cannot rot: a module that fails to import or a docstring pdoc cannot read fails here.
Build it yourself: ``python -m pdoc --docformat google -o docs/api <the modules below>``."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import satclip

PUBLIC_MODULES = (
    "satclip",
    "satclip.registry",
    "satclip.inference",
    "satclip.featurizer",
    "satclip.errors",
    "satclip.extras",
    "satclip.zoo",
    "satclip.checkpoints",
    "satclip.positional.spherical_harmonics",
    "satclip.geo",
    "satclip.tables",
)
# satclip.SatCLIPFeaturizer is imported on first use (keeps `import satclip` free of scikit-learn's import
# time); pdoc reports it as unresolved on the package page and documents it on satclip.featurizer's.
LAZY_NAMES = ("SatCLIPFeaturizer",)


@pytest.mark.slow
def test_api_reference_builds_without_warnings(tmp_path: Path) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "pdoc", "--docformat", "google", "-o", str(tmp_path), *PUBLIC_MODULES],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    warnings = [
        line
        for line in res.stderr.splitlines()
        if line.startswith("Warn") and not any(f"'{name}' in satclip.__all__" in line for name in LAZY_NAMES)
    ]
    assert not warnings, warnings
    for module in PUBLIC_MODULES:
        assert (tmp_path / (module.replace(".", "/") + ".html")).is_file(), module
    load_page = (tmp_path / "satclip" / "registry.html").read_text()
    assert "Raises" in load_page and "CheckpointError" in load_page


def _public_api() -> list[object]:
    from satclip.checkpoints import save_model
    from satclip.inference import Encoder

    return [
        satclip.load,
        satclip.list_models,
        satclip.spherical_harmonics,
        satclip.SatCLIPFeaturizer,
        Encoder.embed,
        save_model,
    ]


@pytest.mark.parametrize("obj", _public_api(), ids=lambda o: getattr(o, "__qualname__", str(o)))
def test_public_api_docstrings_have_sections(obj: object) -> None:
    doc = inspect.getdoc(obj) or ""
    if inspect.signature(obj).parameters:
        assert "Args:" in doc, f"{obj}: no Args section"
    if not inspect.isclass(obj):
        assert "Returns:" in doc, f"{obj}: no Returns section"
