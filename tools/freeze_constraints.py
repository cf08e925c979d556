"""Write constraints.txt: the exact installed versions of satclip's dependency closure ([all,dev]).

Run in the venv you tested with: ``python tools/freeze_constraints.py`` (``make constraints``). Local version
labels (torch's ``+cpu``) are dropped so the file works for CPU and CUDA builds of the same release.
"""

from __future__ import annotations

import importlib.metadata as md
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
HEADER = (
    "# The exact set `make install` and .ci/run test with: pip install -c constraints.txt -e '.[all,dev]'.\n"
    "# pyproject.toml declares ranges; refresh this after changing them (see Makefile: make constraints).\n"
)


def closure(extras: tuple[str, ...] = ("all", "dev")) -> dict[str, md.Distribution]:
    """Installed distributions that satclip's core and ``extras`` need, directly or not."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    installed = {canonicalize_name(d.metadata["Name"]): d for d in md.distributions()}
    seen: dict[tuple[str, tuple[str, ...]], md.Distribution] = {}

    def visit(text: str, active: tuple[str, ...] = ()) -> None:
        req = Requirement(text)
        if req.marker and not any(req.marker.evaluate({"extra": e}) for e in (active or ("",))):
            return
        name = canonicalize_name(req.name)
        if name == "satclip":
            for extra in req.extras:
                for sub in project["optional-dependencies"][extra]:
                    visit(sub)
            return
        dist = installed.get(name)
        if dist is None:
            raise SystemExit(f"{req.name} is required but not installed in this environment")
        key = (name, tuple(sorted(req.extras)))
        if key not in seen:
            seen[key] = dist
            for sub in dist.requires or []:
                visit(sub, tuple(req.extras))

    for text in project["dependencies"]:
        visit(text)
    for extra in extras:
        for text in project["optional-dependencies"][extra]:
            visit(text)
    return {name: dist for (name, _), dist in seen.items()}


def main() -> None:
    dists = closure()
    lines = {f"{d.metadata['Name']}=={d.version.split('+')[0]}" for d in dists.values()}
    (ROOT / "constraints.txt").write_text(HEADER + "".join(f"{line}\n" for line in sorted(lines, key=str.lower)))
    print(f"constraints.txt: {len(lines)} packages")


if __name__ == "__main__":
    main()
