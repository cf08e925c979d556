"""Every command's --help shows its docstring and option help as written. Typer renders help through Rich, which
reads ``[word]`` as a markup tag: ``pip install 'satclip[hub]'`` was shown as ``pip install 'satclip'``. Brackets
that are text are written escaped (``\\[hub]``) in the source."""

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
    """Whitespace-normalised text without the help boxes, Rich escapes (``\\[``) and Markdown backticks."""
    text = text.replace("\\[", "[")
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text.replace("`", "")).split())  # `code` spans render without backticks


COMMANDS = _commands()


@pytest.mark.parametrize(("path", "cmd"), COMMANDS, ids=[" ".join(p) or "satclip" for p, _ in COMMANDS])
def test_help_shows_every_text_as_written(path: list[str], cmd: Any) -> None:
    res = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "1000"})
    assert res.exit_code == 0, res.output
    shown = _flat(res.output)
    texts = [(cmd.help or "").split("\n\n")[0]] + [p.help or "" for p in cmd.params if getattr(p, "help", None)]
    for text in texts:
        assert _flat(text) in shown, f"{text!r} is not shown as written in `satclip {' '.join(path)} --help`"


def test_the_hub_extra_is_named_in_the_download_help() -> None:
    res = CliRunner().invoke(app, ["download", "--help"], env={"COLUMNS": "1000"})
    assert "pip install 'satclip[hub]'" in res.output
