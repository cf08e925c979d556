"""End to end in a real browser: Playwright drives Debian's Chromium against the app served on 127.0.0.1,
with every request outside that server blocked. Screenshots go to artifacts/app/.

Needs ``apt-get install -y chromium`` (/usr/bin/chromium) and the ``playwright`` Python package (no
``playwright install``). Without them the test skips, except in CI (CI=true), where it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from satclip.cli_app import app_environment, streamlit_command
from tests.app.conftest import APP, ROOT

CHROMIUM = os.environ.get("SATCLIP_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "artifacts" / "app"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _require_browser() -> None:
    missing = []
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright Python package (pip install playwright; no `playwright install` needed)")
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        missing.append(f"Chromium at {CHROMIUM} (apt-get install -y chromium)")
    if missing:
        msg = "browser test needs " + " and ".join(missing)
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(msg + " (CI=true: not skipping)")
        pytest.skip(msg)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(app_env: dict[str, str]) -> Iterator[str]:
    """The app under ``streamlit run`` with the flags ``satclip app`` uses, on a free local port."""
    _require_browser()
    port = _free_port()
    cmd = streamlit_command(APP, host="127.0.0.1", port=port, max_upload_mb=50, headless=True)
    env = app_environment(app_env["SATCLIP_APP_MODEL"], float(app_env["SATCLIP_APP_RESOLUTION"]), None)
    log = Path(app_env["tmp"]) / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the app did not start: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.slow
def test_click_map_shows_marker_heatmap_and_similar_places(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    outside: list[str] = []
    timings: dict[str, float] = {}
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000})
        try:
            def guard(route) -> None:  # network-free: only the app's own server
                if route.request.url.startswith((server, "data:", "blob:")):
                    route.continue_()
                else:
                    outside.append(route.request.url)
                    route.abort()

            ctx.route("**/*", guard)
            page = ctx.new_page()
            page.goto(server, timeout=120_000)
            frame = page.frame_locator("iframe[title*='st_folium']").first
            leaflet = frame.locator(".leaflet-container")
            leaflet.wait_for(timeout=180_000)
            frame.locator("img.satclip-basemap").wait_for(timeout=30_000)
            assert frame.locator("img.satclip-basemap").evaluate("img => img.complete && img.naturalWidth > 0")
            page.get_by_text("Click the map to embed a place").wait_for(timeout=60_000)
            page.screenshot(path=str(ARTIFACTS / "01-start.png"))

            box = leaflet.bounding_box()
            assert box is not None
            t0 = time.perf_counter()
            leaflet.click(position={"x": box["width"] * 0.52, "y": box["height"] * 0.36})  # Europe
            page.get_by_text("Most similar places").wait_for(timeout=60_000)
            timings["first_click_s"] = time.perf_counter() - t0
            frame.locator(".leaflet-marker-icon").first.wait_for(timeout=30_000)
            assert frame.locator(".leaflet-marker-icon").count() == 1
            icon = frame.locator(".leaflet-marker-icon").first.get_attribute("src") or ""
            assert "/app/static/leaflet/images/marker-icon" in icon
            overlay = frame.locator("img.satclip-overlay")
            assert overlay.count() == 1 and overlay.first.evaluate("img => img.naturalWidth > 0")
            assert frame.locator("path.leaflet-interactive").count() >= 10  # similar places and cells drawn
            first_a = page.get_by_text("A:", exact=False).first.inner_text()
            page.screenshot(path=str(ARTIFACTS / "02-after-click.png"))

            # a second click moves the query; the map component is not remounted (the same frame keeps working)
            old_src = overlay.first.get_attribute("src")
            t0 = time.perf_counter()
            leaflet.click(position={"x": box["width"] * 0.30, "y": box["height"] * 0.62})  # South America
            page.wait_for_function(
                "([old]) => { const f = document.querySelector(\"iframe[title*='st_folium']\");"
                " const img = f && f.contentDocument.querySelector('img.satclip-overlay');"
                " return img && img.src !== old; }", arg=[old_src], timeout=60_000)
            timings["second_click_overlay_s"] = time.perf_counter() - t0
            page.wait_for_function("([a]) => !document.body.innerText.includes(a)", arg=[first_a], timeout=30_000)
            timings["second_click_text_s"] = time.perf_counter() - t0
            assert frame.locator(".leaflet-marker-icon").count() == 1
            page.wait_for_timeout(500)
            page.screenshot(path=str(ARTIFACTS / "03-second-click.png"))
        finally:
            ctx.close()
    (ARTIFACTS / "timings.json").write_text(json.dumps(timings, indent=2))
    assert not outside, f"requests left the machine: {outside[:5]}"
    print("browser timings (s):", timings, file=sys.stderr)
