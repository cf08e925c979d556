"""Every command's --help, read in an 80-column terminal, shows its summary, option help and defaults whole.

Typer's Rich help truncated them there (``[default: satclip-bluemarble…``, ``--no-trust-checkp…``) and read
``[word]`` as a markup tag (``pip install 'satclip[hub]'`` was shown as ``pip install 'satclip'``); the CLI
uses Click's plain help, and each command has a summary that fits the command list (Click cut the docstrings'
first sentences there with '...')."""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from satclip.cli import app


def _commands() -> list[tuple[list[str], Any]]:
    root = typer.main.get_command(app)
    found: list[tuple[list[str], Any]] = []

    def walk(cmd: Any, path: list[str]) -> None:  # typer vendors its own click: duck-typed
        found.append((path, cmd))
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                walk(sub, [*path, name])

    walk(root, [])
    return found


def _flat(text: str) -> str:
    """Whitespace-normalised text, a word broken after its hyphen at a line end joined again."""
    return re.sub(r"(?<=\w-) (?=\w)", "", " ".join(text.split()))


def _help(path: list[str]) -> str:
    res = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "80"}, terminal_width=80)
    assert res.exit_code == 0, res.output
    return res.output


COMMANDS = _commands()


@pytest.mark.parametrize(("path", "cmd"), COMMANDS, ids=[" ".join(p) or "satclip" for p, _ in COMMANDS])
def test_help_shows_every_text_and_default_whole(path: list[str], cmd: Any) -> None:
    out = _help(path)
    assert "…" not in out and max(len(line) for line in out.splitlines()) <= 80, out
    usage = out.splitlines()[0]  # arguments named in capitals ('{src}' was shown); repeatable options by example
    assert not re.search(r"[{\[][a-z_]+[}\]]", usage) and not re.search(r"--\S+ <list\[", out), usage
    shown = _flat(out)
    texts = [(cmd.help or "").split("\n\n")[0]] + [p.help or "" for p in cmd.params if getattr(p, "help", None)]
    for text in texts:
        assert _flat(text) in shown, f"{text!r} is not shown as written in `satclip {' '.join(path)} --help`"
    for p in cmd.params:
        default = p.default
        if p.show_default and default not in (None, False, ()) and not isinstance(default, bool):
            said = ", ".join(map(str, default)) if isinstance(default, list | tuple) else str(default)
            if isinstance(p.show_default, str):  # a display form of the default: the same values
                assert p.show_default.replace(", ", ",") == said, (p.show_default, said)
                said = f"({p.show_default})"  # Click puts a display form in parentheses
            assert f"[default: {_flat(said)}]" in shown, f"default of {p.name} not shown whole: {said!r}"


def test_command_list_shows_every_summary_whole() -> None:
    out = _help([])
    for name, cmd in typer.main.get_command(app).commands.items():
        line = next(line for line in out.splitlines() if line.strip().startswith(name + " "))
        assert line.split(None, 1)[1] == cmd.short_help, line  # not cut with '...'


def test_the_hub_extra_is_named_in_the_download_help() -> None:
    assert "pip install 'satclip[hub]'" in _flat(_help(["download"]))
