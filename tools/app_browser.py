"""Run the app in a background ``streamlit run`` on a free local port and drive Debian's Chromium against it
(used by the browser test and by ``tools/app_screenshots.py``)."""

from __future__ import annotations

import contextlib
import http.client
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from satclip.cli.launch_app import app_environment, streamlit_command

APP = Path(__file__).resolve().parent.parent / "app" / "streamlit_app.py"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(port: int) -> bool:
    """Whether the app we started answers its health check (loopback only, never another host)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/_stcore/health")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


@contextlib.contextmanager
def running_app(model: str | None, resolution: float | None, log: Path, timeout: float = 120) -> Iterator[str]:
    """Serve the app on 127.0.0.1 with the flags of ``satclip app``; yields its URL, stops it afterwards."""
    port = free_port()
    cmd = streamlit_command(APP, host="127.0.0.1", port=port, max_upload_mb=50, headless=True)
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd,
            env=app_environment(model, resolution, None),
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=APP.parent.parent,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if _healthy(port):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the app did not start: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.contextmanager
def browser(
    profile: Path,
    url: str,
    chromium: str = CHROMIUM,
    blocked: list[str] | None = None,
    viewport: tuple[int, int] = (1400, 1000),
) -> Iterator[Any]:
    """A Playwright persistent Chromium context where every request outside ``url`` is aborted (and listed
    in ``blocked``)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(profile),
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": viewport[0], "height": viewport[1]},
        )

        def guard(route: Any) -> None:
            if route.request.url.startswith((url, "data:", "blob:")):
                route.continue_()
            else:
                if blocked is not None:
                    blocked.append(route.request.url)
                route.abort()

        try:
            ctx.route("**/*", guard)
            yield ctx
        finally:
            ctx.close()


MAP_FRAME = "iframe[title*='st_folium']"


def script_finished(page: Any, timeout: float = 120_000, settle_ms: int = 300) -> None:
    """Wait until the app's script run is over (Streamlit's 'Running...' status widget gone)."""
    page.wait_for_timeout(settle_ms)
    page.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidget]')", timeout=timeout, polling=20)
    page.wait_for_timeout(settle_ms)


def press_lonlat(page: Any, lon: float, lat: float, hold_ms: int = 120) -> float:
    """Press and release the mouse where the Explore map's Leaflet draws (lon, lat), as a person does; first
    scroll the page (with the wheel off the map, where it would zoom) if that spot is outside the window.
    Returns ``time.perf_counter()`` at mouse-up (when the browser fires the click)."""
    leaflet = page.frame_locator(MAP_FRAME).first.locator(".leaflet-container")
    width, height = page.viewport_size["width"], page.viewport_size["height"]

    def where() -> tuple[float, float]:
        x, y = leaflet.evaluate(
            "(el, ll) => { const p = window.map.latLngToContainerPoint([ll[1], ll[0]]);"
            " const r = el.getBoundingClientRect(); return [p.x + r.left, p.y + r.top]; }",
            [lon, lat],
        )
        box = page.locator(MAP_FRAME).first.bounding_box()
        return box["x"] + x, box["y"] + y

    px, py = where()
    for _ in range(3):
        if 20 < py < height - 20:
            break
        page.mouse.move(width - 12, height / 2)
        page.mouse.wheel(0, py - height / 2)
        px, py = where()
    for _ in range(20):  # until the page has stopped moving (smooth scrolling, a layout still settling)
        page.wait_for_timeout(150)
        prev, (px, py) = (px, py), where()
        if abs(px - prev[0]) < 0.5 and abs(py - prev[1]) < 0.5:
            break
    page.mouse.move(px, py)
    page.mouse.down()
    page.wait_for_timeout(hold_ms)
    page.mouse.up()
    return time.perf_counter()
