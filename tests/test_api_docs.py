"""The API reference is generated from the public modules' docstrings (pdoc) by this test into a temporary
folder, so it cannot rot: a module that fails to import or a docstring pdoc cannot read fails here.
Build it yourself: ``python -m pdoc --docformat google -o docs/api <the modules below>``."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

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
    "satclip.data.landmask",
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


_SECTION = re.compile(r"^(Args|Arguments|Attributes|Returns|Yields|Raises|Examples?|Notes?|Warns|See Also):\s*$")


def _section(doc: str, name: str) -> str | None:
    """The text of the Google-style section ``name`` of ``doc`` (None when it has none)."""
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == f"{name}:" and not line.startswith(" "):
            body = []
            for rest in lines[i + 1 :]:
                if _SECTION.match(rest):
                    break
                body.append(rest)
            text = "\n".join(body)
            return text if text.strip() else None
    return None


def _undocumented(params: list[str], section: str | None) -> list[str]:
    """The parameters that the Args (or Attributes) section does not describe on a line of their own."""
    if section is None:
        return params
    described = {m.group(1) for m in re.finditer(r"^\s+\**(\w+)\b.*:", section, re.M)}
    return [p for p in params if p not in described]


def _own_doc(obj: Any) -> str:
    """The object's own docstring (``inspect.getdoc`` would fall back to a base class's)."""
    return inspect.cleandoc(obj.__doc__ or "")


def _raised_errors(func: Any) -> set[str]:
    """Names of the exception classes that ``func``'s body raises by name (``raise SomeError(...)``)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            name = exc.attr if isinstance(exc, ast.Attribute) else getattr(exc, "id", "")
            if name.endswith(("Error", "Exception")):
                names.add(name)
    return names


def _public_api() -> list[tuple[str, Any]]:
    """Every public function and class defined in PUBLIC_MODULES, and the public methods of those classes
    (exceptions are documented by their one-line docstrings in satclip.errors)."""
    found: list[tuple[str, Any]] = []
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
        for name in names:
            obj = getattr(module, name, None)
            if getattr(obj, "__module__", None) != module_name:
                continue  # re-exported: checked in the module that defines it
            if inspect.isfunction(obj):
                found.append((f"{module_name}.{name}", obj))
            elif inspect.isclass(obj) and not issubclass(obj, BaseException):
                found.append((f"{module_name}.{name}", obj))
                for member_name, member in vars(obj).items():
                    func = getattr(member, "__func__", member)  # staticmethod / classmethod
                    if not member_name.startswith("_") and inspect.isfunction(func):
                        found.append((f"{module_name}.{name}.{member_name}", func))
    return found


def _check_function(func: Any) -> list[str]:
    doc = _own_doc(func)
    sig = inspect.signature(func)
    problems = []
    params = [p for p in sig.parameters if p not in ("self", "cls")]
    if params and _section(doc, "Args") is None:
        problems.append("no Args section")
    elif missing := _undocumented(params, _section(doc, "Args")):
        problems.append(f"Args does not describe {missing}")
    if inspect.isgeneratorfunction(func):
        if _section(doc, "Yields") is None:
            problems.append("a generator with no Yields section")
    elif sig.return_annotation not in (None, "None") and _section(doc, "Returns") is None:
        if _section(doc, "Yields") is None:
            problems.append("no Returns section")
    raised = _raised_errors(func)
    raises = _section(doc, "Raises")
    if raised and raises is None:
        problems.append(f"raises {sorted(raised)} but has no Raises section")
    elif raises is not None:
        problems += [f"Raises section does not name {name}" for name in sorted(raised) if name not in raises]
    return problems


def _check_class(cls: type) -> list[str]:
    doc = _own_doc(cls)
    if not doc:
        return ["no docstring"]
    if getattr(cls, "_is_protocol", False):
        return []  # a Protocol has no constructor; its members are checked one by one
    params = list(inspect.signature(cls).parameters)
    if dataclasses.is_dataclass(cls):
        missing = _undocumented(params, _section(doc, "Attributes") or _section(doc, "Args"))
        return [f"a dataclass whose Attributes do not describe {missing}"] if missing else []
    missing = _undocumented(params, _section(doc, "Args"))
    return [f"the class's Args section does not describe constructor arguments {missing}"] if missing else []


_API = _public_api()


def test_public_api_covers_the_modules() -> None:
    names = {name for name, _ in _API}
    for expected in (
        "satclip.registry.load",
        "satclip.inference.Encoder.embed",
        "satclip.geo.validate_lonlat",
        "satclip.data.landmask.GlobeLandMask.is_land",
        "satclip.tables.read_chunks",
    ):
        assert expected in names, expected


@pytest.mark.parametrize(("name", "obj"), _API, ids=[name for name, _ in _API])
def test_public_api_docstrings_have_sections(name: str, obj: Any) -> None:
    problems = _check_class(obj) if inspect.isclass(obj) else _check_function(obj)
    assert not problems, f"{name}: " + "; ".join(problems)
