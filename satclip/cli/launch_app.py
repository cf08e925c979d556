"""``satclip app``: launch the Streamlit explorer (``app/`` of a source checkout, or the copy a wheel installs).

Wired into the main CLI by ``register(app)``. It runs ``python -m streamlit run`` with the settings the app
needs offline (static serving of Leaflet and the base map, upload limit, no usage statistics) and passes the
model and grid resolution to the app through environment variables. Nothing here imports streamlit.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Annotated

import typer

from satclip.cli.common import MODEL_HELP, user_errors
from satclip.extras import require_extra
from satclip.registry import DEFAULT_MODEL

DEFAULT_PORT = 8501


def app_dirs() -> list[Path]:
    """Where ``satclip app`` looks for ``streamlit_app.py``, in order: $SATCLIP_APP_DIR, the ``app/`` folder of
    the source checkout this package runs from, and the copy a wheel installs as data under
    ``<prefix>/share/satclip/app`` (this environment's prefix, then the user scheme of ``pip install --user``)."""
    dirs = [Path(os.environ["SATCLIP_APP_DIR"])] if os.environ.get("SATCLIP_APP_DIR") else []
    dirs.append(Path(__file__).resolve().parents[2] / "app")
    for scheme in (sysconfig.get_default_scheme(), f"{os.name}_user"):
        if scheme in sysconfig.get_scheme_names():
            dirs.append(Path(sysconfig.get_path("data", scheme)) / "share" / "satclip" / "app")
    return dirs


def find_app_script(dirs: list[Path] | None = None) -> Path:
    """``streamlit_app.py`` in the first of ``dirs`` (default :func:`app_dirs`) that holds it."""
    searched = app_dirs() if dirs is None else dirs
    for d in searched:
        if (d / "streamlit_app.py").is_file():
            return d / "streamlit_app.py"
    raise FileNotFoundError(
        "the Streamlit app (streamlit_app.py) was not found in "
        + ", ".join(str(d) for d in searched)
        + ": install satclip from its wheel or a source checkout (pip install 'satclip[app]'), or set "
        "SATCLIP_APP_DIR to the folder holding streamlit_app.py"
    )


def streamlit_command(script: Path, *, host: str, port: int, max_upload_mb: int, headless: bool) -> list[str]:
    """The ``streamlit run`` command line with the flags the app relies on."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true" if headless else "false",
        "--server.enableStaticServing",
        "true",
        "--server.maxUploadSize",
        str(max_upload_mb),
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "minimal",
        "--runner.magicEnabled",
        "false",
    ]


def app_environment(model: str | None, resolution: float | None, max_rows: int | None) -> dict[str, str]:
    """Environment for the app process (SATCLIP_APP_* settings; the parent's environment is kept)."""
    env = dict(os.environ)
    if model:
        path = Path(model).expanduser()
        env["SATCLIP_APP_MODEL"] = str(path.resolve()) if path.exists() else model
    if resolution is not None:
        env["SATCLIP_APP_RESOLUTION"] = str(resolution)
    if max_rows is not None:
        env["SATCLIP_APP_MAX_ROWS"] = str(max_rows)
    # the app imports satclip from the checkout it lives in, even when satclip is not installed
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
    return env


def register(app: typer.Typer) -> None:
    """Add the ``app`` command to the satclip CLI."""

    @app.command("app", short_help="Open the interactive explorer in the browser; works offline.")
    @user_errors
    def run_app(
        model: Annotated[
            str | None,
            typer.Option("--model", "-m", help=f"{MODEL_HELP} Default: {DEFAULT_MODEL}."),
        ] = None,
        port: Annotated[int, typer.Option(help="Port to serve on")] = DEFAULT_PORT,
        host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0 to share on the network)")] = "localhost",
        resolution: Annotated[float | None, typer.Option(help="Global grid resolution in degrees (0.5)")] = None,
        max_upload_mb: Annotated[int, typer.Option(help="Largest uploaded file in MB")] = 50,
        max_rows: Annotated[int | None, typer.Option(help="Largest uploaded table in rows (200000)")] = None,
        browser: Annotated[bool, typer.Option("--browser/--no-browser", help="Open a web browser")] = True,
    ) -> None:
        """Open the interactive explorer: click a map to embed places, similarity heat maps, projections,
        downstream probes, table embedding. Works offline."""
        script = find_app_script()
        require_extra("app", "streamlit", "streamlit_folium")
        # Streamlit only opens a browser (and asks first-time users for an e-mail on stdin) when not
        # headless: do that only in an interactive session with a display, never under make/CI/ssh.
        headless = not (browser and interactive_display())
        cmd = streamlit_command(script, host=host, port=port, max_upload_mb=max_upload_mb, headless=headless)
        typer.echo(f"satclip app: http://{host}:{port}  (Ctrl+C to stop)")
        env = app_environment(model, resolution, max_rows)
        if os.name == "posix":  # become the server: signals reach it directly, no orphaned child
            sys.stdout.flush()
            os.execve(sys.executable, cmd, env)
        try:
            code = subprocess.call(cmd, env=env)
        except KeyboardInterrupt:
            code = 0
        raise typer.Exit(code)


def interactive_display() -> bool:
    """A terminal on stdin and a screen to open a browser on."""
    display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    has_screen = sys.platform in ("darwin", "win32") or bool(display)
    return sys.stdin.isatty() and has_screen


if __name__ == "__main__":  # python -m satclip.cli.launch_app [options]
    _cli = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)
    register(_cli)

    @_cli.callback()
    def _root() -> None:
        """satclip app launcher."""

    _cli(["app", *sys.argv[1:]])
