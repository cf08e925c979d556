"""Module renames and moves that touch every branch, applied once on main after the merges (issue 15).

Run from the repository root: ``bash tools/restructure.sh`` (or ``python tools/restructure.py``). Idempotent:
a move already done is skipped, a rewrite with nothing left to rewrite changes nothing, so it is safe to
re-run (e.g. after merging a late branch that still uses the old names).

1. ``git mv`` of the modules below (names that say what each holds; no more encoder.py / location_encoder.py /
   encoding/, no second datasets.py, probes.py or assets.py; CLI modules in a ``satclip/cli/`` package,
   developer tools out of the shipped app folder).
2. Rewrites of every tracked .py/.ipynb/.md/.toml/.yaml/.txt/.cfg file and the Makefile: dotted module names
   (``satclip.cli_train`` -> ``satclip.cli.train``), ``from pkg import module`` imports of moved modules
   (kept under their old local name with ``as``), and file paths (``satclip/cli_train.py``).
3. ``ruff format`` and ``ruff check --fix`` of the code folders; ``make lint`` gets ``ruff format --check``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CODE = ("satclip", "tests", "benchmarks", "app", "tools")

# old path -> new path (files or folders), in the order applied
MOVES: tuple[tuple[str, str], ...] = (
    # the loaded model ready to embed (Encoder, EncoderLike)
    ("satclip/encoder.py", "satclip/inference.py"),
    # the torch network: positional encoding + SIREN, beside nn/siren.py
    ("satclip/location_encoder.py", "satclip/nn/location_encoder.py"),
    # baseline encoders (lonlat, xyz, wrap, sh, GeoCLIP, random SatCLIP) are whole encoders, not encodings
    ("satclip/encoding/baselines.py", "satclip/baselines.py"),
    # what is left of encoding/: positional encodings (spherical harmonics)
    ("satclip/encoding", "satclip/positional"),
    # training image datasets vs downstream tasks
    ("satclip/data/datasets.py", "satclip/data/image_datasets.py"),
    ("satclip/downstream/datasets.py", "satclip/downstream/tasks.py"),
    ("tests/downstream/test_datasets.py", "tests/downstream/test_tasks.py"),
    # the CLI package; `satclip.cli:main` stays the entry point
    ("satclip/cli.py", "satclip/cli/__init__.py"),
    ("satclip/cli_common.py", "satclip/cli/common.py"),
    ("satclip/cli_app.py", "satclip/cli/launch_app.py"),
    ("satclip/cli_evaluate.py", "satclip/cli/evaluate.py"),
    ("satclip/cli_explore.py", "satclip/cli/explore.py"),
    ("satclip/cli_train.py", "satclip/cli/train.py"),
    ("satclip/cli_models.py", "satclip/cli/models.py"),
    # the app's own helpers, named apart from the library's data/assets.py and downstream/probes.py
    ("app/appkit/assets.py", "app/appkit/web_assets.py"),
    ("app/appkit/probes.py", "app/appkit/quick_probes.py"),
    # developer tools out of the shipped app folder
    ("app/appkit/serve.py", "tools/app_browser.py"),
    ("app/screenshots.py", "tools/app_screenshots.py"),
    ("app/bench_click.py", "benchmarks/bench_app_server.py"),
    # tests mirror the package
    ("tests/encoding", "tests/positional"),
    ("tests/test_encoder.py", "tests/test_inference.py"),
)

# text fixes a move needs inside the moved file: (new path, old text, new text)
CONTENT_FIXES: tuple[tuple[str, str, str], ...] = (
    (
        "tools/app_browser.py",
        'APP = Path(__file__).resolve().parent.parent / "streamlit_app.py"',
        'APP = Path(__file__).resolve().parent.parent / "app" / "streamlit_app.py"',
    ),
    (
        "benchmarks/bench_app_server.py",
        'APP = Path(__file__).resolve().parent / "streamlit_app.py"',
        'APP = Path(__file__).resolve().parent.parent / "app" / "streamlit_app.py"',
    ),
    # satclip/cli/launch_app.py is one folder deeper than satclip/cli_app.py: the checkout root is 3 up
    (
        "satclip/cli/launch_app.py",
        'dirs.append(Path(__file__).resolve().parent.parent / "app")',
        'dirs.append(Path(__file__).resolve().parents[2] / "app")',
    ),
    (
        "satclip/cli/launch_app.py",
        "root = str(Path(__file__).resolve().parent.parent)",
        "root = str(Path(__file__).resolve().parents[2])",
    ),
    (
        "satclip/cli/__init__.py",
        "Commands of the other areas live beside their code (cli_<area>.py) and register here.",
        "Commands of the other areas live in satclip/cli/<area>.py and register here.",
    ),
    (  # the docstring's usage line, after the path rewrite, shortened to fit 120 columns
        "benchmarks/bench_app_server.py",
        '"""Per-click latency of the Explore page with the grid cached: ``python benchmarks/bench_app_server.py',
        '"""Per-click latency of the Explore page, grid cached: ``python benchmarks/bench_app_server.py',
    ),
    (
        "tools/app_screenshots.py",
        "sys.path[:0] = [str(APP_DIR.parent), str(APP_DIR)]",
        'sys.path[:0] = [str(APP_DIR.parent), str(APP_DIR.parent / "app")]',
    ),
)

TEXT_SUFFIXES = (".py", ".ipynb", ".md", ".toml", ".yaml", ".yml", ".txt", ".cfg", ".ini", ".sh")
SELF = {"tools/restructure.py", "tools/restructure.sh"}

README_LAYOUT_OLD = (
    "Layout: `satclip/` (library; never imports the app), `app/` (Streamlit), `benchmarks/`, `docs/`,\n"
    "`tests/` mirroring `satclip/`."
)
README_LAYOUT_NEW = """Layout: `satclip/` (library; never imports the app), `app/` (Streamlit), `benchmarks/`, `docs/`,
`tools/` (developer tools: browser driver, screenshots, constraints, this restructure), `tests/` mirroring
`satclip/`. Inside `satclip/`: `inference.py` (`Encoder`: a loaded model that embeds points),
`nn/location_encoder.py` (the network: positional encoding + SIREN), `positional/` (spherical harmonics),
`baselines.py` (baseline encoders), `zoo.py` (every encoder by name), `registry.py` (named models, `load`),
`released.py` (the released models' facts), `hub.py` (their download),
`errors.py` (`SatCLIPError` and its subclasses), `extras.py` (optional dependencies), `configs/schema.py`
(typed training config), `data/image_datasets.py` (training imagery), `downstream/tasks.py` (evaluation tasks),
`cli/` (one module per command group)."""


def module_of(path: str) -> str | None:
    """Dotted module name of a repository path (``satclip/cli/__init__.py`` -> ``satclip.cli``)."""
    p = Path(path)
    if p.suffix == ".py":
        p = p.with_suffix("")
    parts = list(p.parts)
    if parts and parts[-1] == "__init__":
        parts = parts[:-1]
    if parts[:1] == ["app"]:  # the app runs with app/ on sys.path: app/appkit/x.py is `appkit.x`
        parts = parts[1:]
        if not parts or parts[0] != "appkit":
            return None
    return ".".join(parts) if parts else None


def module_map() -> dict[str, str]:
    """Old dotted module -> new dotted module, longest first (packages map their submodules too)."""
    out: dict[str, str] = {}
    for old, new in MOVES:
        o, n = module_of(old), module_of(new)
        if o and n and o != n:
            out[o] = n
    return dict(sorted(out.items(), key=lambda kv: -len(kv[0])))


def run(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, check=check, text=True, capture_output=True)


def apply_moves() -> list[str]:
    done = []
    for old, new in MOVES:
        src, dst = ROOT / old, ROOT / new
        if not src.exists():
            continue  # done before (or never existed on this branch)
        if src.is_file() and dst.exists():
            raise SystemExit(f"both {old} and {new} exist: merge them by hand, then re-run")
        if src.is_dir() and dst.exists():  # a branch added files under the old folder after the move
            for f in sorted(p for p in src.rglob("*") if p.is_file()):
                target = dst / f.relative_to(src)
                if target.exists():
                    raise SystemExit(f"both {f.relative_to(ROOT)} and {target.relative_to(ROOT)} exist: merge by hand")
                target.parent.mkdir(parents=True, exist_ok=True)
                run("git", "mv", str(f.relative_to(ROOT)), str(target.relative_to(ROOT)))
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        run("git", "mv", old, new)
        done.append(f"{old} -> {new}")
    for pkg in ("tools",):
        init = ROOT / pkg / "__init__.py"
        if not init.exists():
            init.write_text('"""Developer tools (not shipped), importable as ``tools.<name>`` from the checkout."""\n')
            run("git", "add", str(init.relative_to(ROOT)))
    return done


def apply_content_fixes() -> None:
    """Fixes inside moved files (paths relative to ``__file__``), after the name rewrites."""
    for new, old_text, new_text in CONTENT_FIXES:
        path = ROOT / new
        if path.is_file() and old_text in path.read_text():
            path.write_text(path.read_text().replace(old_text, new_text))


FROM_IMPORT = re.compile(
    r"^(?P<indent>[ \t]*)from (?P<pkg>[\w.]+) import (?P<names>\([^)]*\)|[^\n#]+?)(?P<tail>[ \t]*#[^\n]*)?$", re.M
)


def rewrite_from_imports(text: str, mapping: dict[str, str]) -> str:
    """``from satclip import cli_train`` -> ``from satclip.cli import train as cli_train`` (one import per
    moved module; the names that did not move stay in the original statement)."""

    def fix(m: re.Match[str]) -> str:
        pkg, names_src = m.group("pkg"), m.group("names").strip()
        if names_src.startswith("("):
            names_src = names_src[1:-1]
        items = [n.strip() for n in names_src.replace("\n", " ").split(",") if n.strip()]
        keep, moved = [], []
        for item in items:
            name, _, alias = (p.strip() for p in item.partition(" as "))
            new = mapping.get(f"{pkg}.{name}")
            if new is None:
                keep.append(item)
                continue
            parent, _, leaf = new.rpartition(".")
            local = alias or name
            moved.append(f"from {parent} import {leaf}" + (f" as {local}" if local != leaf else ""))
        if not moved:
            return m.group(0)
        indent, tail = m.group("indent"), m.group("tail") or ""
        lines = [f"{indent}{line}" for line in moved]
        if keep:
            lines.insert(0, f"{indent}from {pkg} import {', '.join(keep)}")
        lines[-1] += tail
        return "\n".join(lines)

    return FROM_IMPORT.sub(fix, text)


def rewrite_dotted(text: str, mapping: dict[str, str]) -> str:
    for old, new in mapping.items():
        text = re.sub(rf"(?<![\w.]){re.escape(old)}(?![\w])", new, text)
    return text


def rewrite_paths(text: str) -> str:
    for old, new in MOVES:
        text = re.sub(rf"(?<![\w/.]){re.escape(old)}(?=$|[^\w])", new, text, flags=re.M)
    return text


def rewrite_text(text: str, suffix: str, mapping: dict[str, str]) -> str:
    if suffix == ".py":
        text = rewrite_from_imports(text, mapping)
    text = rewrite_dotted(text, mapping)
    return rewrite_paths(text)


def rewrite_notebook(raw: str, mapping: dict[str, str]) -> str:
    nb = json.loads(raw)
    changed = False
    for cell in nb.get("cells", []):
        src = cell.get("source", [])
        text = "".join(src) if isinstance(src, list) else src
        new = rewrite_text(text, ".py" if cell.get("cell_type") == "code" else ".md", mapping)
        if new != text:
            changed = True
            cell["source"] = new.splitlines(keepends=True) if isinstance(src, list) else new
    if not changed:
        return raw
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def rewrite_all(mapping: dict[str, str]) -> list[str]:
    files = run("git", "ls-files").stdout.splitlines()
    changed = []
    for rel in files:
        path = ROOT / rel
        if rel in SELF or not path.is_file() or not (path.suffix in TEXT_SUFFIXES or path.name == "Makefile"):
            continue
        raw = path.read_text(encoding="utf-8")
        new = rewrite_notebook(raw, mapping) if path.suffix == ".ipynb" else rewrite_text(raw, path.suffix, mapping)
        if rel == "README.md" and README_LAYOUT_OLD in new:
            new = new.replace(README_LAYOUT_OLD, README_LAYOUT_NEW)
        if new != raw:
            path.write_text(new, encoding="utf-8")
            changed.append(rel)
    return changed


def enable_format_check() -> bool:
    """``make lint`` runs ``ruff format --check`` once the tree is formatted (added once)."""
    makefile = ROOT / "Makefile"
    text = makefile.read_text()
    if "ruff format --check" in text:
        return False
    new = re.sub(r"(\n\t\$\(VENV\)/bin/ruff check \$\(SRC\)\n)", r"\1\t$(VENV)/bin/ruff format --check $(SRC)\n", text)
    if new == text:
        raise SystemExit("Makefile: no `ruff check $(SRC)` line in the lint target to add the format check after")
    makefile.write_text(new)
    return True


def ruff(*args: str) -> None:
    exe = Path(sys.executable).parent / "ruff"
    cmd = [str(exe) if exe.exists() else "ruff", *args, *[c for c in CODE if (ROOT / c).exists()]]
    res = subprocess.run(cmd, cwd=ROOT, text=True, capture_output=True)
    print(f"$ {' '.join(cmd[1:])}\n{(res.stdout + res.stderr).strip()}")


def main() -> None:
    if not (ROOT / ".git").exists():
        raise SystemExit(f"{ROOT} is not a git checkout")
    mapping = module_map()
    moved = apply_moves()
    changed = rewrite_all(mapping)
    apply_content_fixes()
    fmt = enable_format_check()
    ruff("format")
    ruff("check", "--fix")
    print(f"moved {len(moved)}:", *moved, sep="\n  ")
    print(f"rewrote {len(changed)} files:", *changed, sep="\n  ")
    if fmt:
        print("Makefile: lint now runs `ruff format --check`")
    left = run("git", "grep", "-nE", "|".join(re.escape(o) + r"\b" for o in mapping), "--", *CODE, check=False)
    hits = [h for h in left.stdout.splitlines() if not any(h.startswith(s) for s in SELF)]
    if hits:
        print("old module names still mentioned (check by hand):", *hits[:40], sep="\n  ")
    print("next: ruff check, mypy satclip, pytest; review `git diff --stat` and commit")


if __name__ == "__main__":
    main()
