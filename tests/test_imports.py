"""The package's modules import each other without cycles (found by reading the source with ast).

Two graphs: imports that run when a module is imported (top level, outside ``if TYPE_CHECKING``), and
all imports, including those inside functions (lazy imports of heavy optional code). Neither may have a
cycle: a cycle means two modules that cannot be understood, tested or moved one without the other.
Imports of a package (``from satclip.explore import X``) count as an edge to its ``__init__``.
Also: the library never imports the app, and the modules of the core install import no optional package at
import time.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "satclip"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.Module, module: str, is_package: bool, *, top_level_only: bool) -> set[str]:
    """Names of the modules ``module`` imports (absolute, dotted)."""
    found: set[str] = set()

    def visit(nodes: list[ast.stmt], top: bool) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and _is_type_checking(node):
                visit(node.orelse, top)
                continue
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    pkg = module.split(".") if is_package else module.split(".")[:-1]
                    pkg = pkg[: len(pkg) - (node.level - 1)]
                    base = ".".join([*pkg, base] if base else pkg)
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in node.names)  # submodules imported by name
            inner_top = top and not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            if top_level_only and not inner_top:
                continue
            for field in ("body", "orelse", "finalbody", "handlers"):
                children = getattr(node, field, None)
                if isinstance(children, list):
                    visit([c for c in children if isinstance(c, ast.stmt | ast.ExceptHandler)], inner_top)
            if isinstance(node, ast.ExceptHandler | ast.With | ast.Try):
                pass

    visit(tree.body, True)
    return found


def import_graph(*, top_level_only: bool) -> dict[str, set[str]]:
    """Module -> the satclip modules it imports."""
    sources = {_module_name(p): p for p in PKG.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in sources.items():
        tree = ast.parse(path.read_text(), str(path))
        targets = _imports(tree, name, path.name == "__init__.py", top_level_only=top_level_only)
        graph[name] = {t for t in targets if t in sources and t != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a list of modules (first == last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := dfs(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := dfs(node)):
            return cycle
    return None


def test_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_relative_and_lazy_imports_are_read() -> None:
    tree = ast.parse("from . import x\nfrom .y import z\ndef f():\n    from satclip import w\n")
    assert _imports(tree, "satclip.pkg.mod", False, top_level_only=True) == {
        "satclip.pkg",
        "satclip.pkg.x",
        "satclip.pkg.y",
        "satclip.pkg.y.z",
    }
    assert "satclip.w" in _imports(tree, "satclip.pkg.mod", False, top_level_only=False)


@pytest.mark.parametrize("top_level_only", [True, False], ids=["import-time", "all-imports"])
def test_package_imports_form_no_cycle(top_level_only: bool) -> None:
    graph = import_graph(top_level_only=top_level_only)
    assert len(graph) > 50
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_library_never_imports_the_app() -> None:
    for path in PKG.rglob("*.py"):
        tree = ast.parse(path.read_text())
        names = _imports(tree, _module_name(path), path.name == "__init__.py", top_level_only=False)
        assert not {n for n in names if n.split(".")[0] in ("app", "appkit", "streamlit")}, path
