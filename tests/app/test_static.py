"""Static checks of the app's source and launch settings (no Streamlit runtime needed)."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

from satclip.cli import launch_app as cli_app
from tests.app.conftest import APP, ROOT

APP_DIR = ROOT / "app"


def _bare_expressions(path: Path) -> list[str]:
    """Expression statements Streamlit 'magic' would write onto the page (docstrings and calls excepted)."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(body[0])
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and (body := node.body)
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    }
    return [
        f"{path.relative_to(ROOT)}:{n.lineno}"
        for n in ast.walk(tree)
        if isinstance(n, ast.Expr)
        and id(n) not in docstrings
        and not isinstance(n.value, ast.Call | ast.Await | ast.Yield | ast.YieldFrom)
    ]


def test_no_bare_expression_statements_in_the_app() -> None:
    """A bare expression (``a if c else b``, a name, a comparison) is rendered by Streamlit magic: the model page
    showed ``st.json(...) if ... else st.write(...)``, the DeltaGenerator docstring and a table of st methods."""
    found = [hit for f in sorted(APP_DIR.rglob("*.py")) for hit in _bare_expressions(f)]
    assert not found, f"bare expression statements: {found}"


def test_magic_is_off_everywhere() -> None:
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["runner"]["magicEnabled"] is False
    cmd = cli_app.streamlit_command(APP, host="127.0.0.1", port=8765, max_upload_mb=20, headless=True)
    flags = dict(zip(cmd[5::2], cmd[6::2], strict=True))
    assert flags["--runner.magicEnabled"] == "false"


def test_app_listens_on_localhost_by_default() -> None:
    """`satclip app` defaults --host to localhost (issue 13, item 7)."""
    import inspect

    import typer

    app = typer.Typer()
    cli_app.register(app)
    params = inspect.signature(app.registered_commands[0].callback).parameters
    assert params["host"].default in ("localhost", "127.0.0.1")


def test_documented_streamlit_run_listens_on_loopback_only() -> None:
    """The command docs/app.md gives, ``streamlit run app/streamlit_app.py`` from the repository root, reads
    .streamlit/config.toml: its listening sockets are loopback only (it used to listen on every interface)."""
    import os
    import subprocess
    import sys
    import time

    import psutil

    from tools.app_browser import free_port

    assert "streamlit run app/streamlit_app.py" in (ROOT / "docs" / "app.md").read_text()
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app/streamlit_app.py", "--server.port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        deadline = time.monotonic() + 90
        listening: list[str] = []
        while not listening and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.5)
            listening = [
                c.laddr.ip
                for c in psutil.Process(proc.pid).net_connections("inet")
                if c.status == psutil.CONN_LISTEN and c.laddr.port == port
            ]
        assert listening, "the app did not start listening"
        assert set(listening) <= {"127.0.0.1", "::1"}, listening
    finally:
        proc.terminate()
        proc.wait(timeout=15)
