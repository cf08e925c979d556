"""End to end in a real browser: Playwright drives Debian's Chromium against the app served on 127.0.0.1,
with every request outside that server blocked. Screenshots go to artifacts/app/.

Needs ``apt-get install -y chromium`` (/usr/bin/chromium) and the ``playwright`` Python package (no
``playwright install``). Without them the test skips, except in CI (CI=true), where it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app.conftest import ROOT

CHROMIUM = os.environ.get("SATCLIP_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "artifacts" / "app"


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


@pytest.fixture(scope="module")
def server(app_env: dict[str, str]) -> Iterator[str]:
    """The app under ``streamlit run`` with the flags ``satclip app`` uses, on a free local port."""
    _require_browser()
    from appkit.serve import running_app

    with running_app(app_env["SATCLIP_APP_MODEL"], float(app_env["SATCLIP_APP_RESOLUTION"]),
                     Path(app_env["tmp"]) / "server.log") as url:
        yield url


@pytest.mark.slow
def test_click_map_shows_marker_heatmap_and_similar_places(server: str, tmp_path: Path) -> None:
    from appkit.serve import browser

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    outside: list[str] = []  # network-free: anything not for the app's own server is aborted and listed
    timings: dict[str, float] = {}
    with browser(tmp_path / "profile", server, CHROMIUM, outside) as ctx:
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
    (ARTIFACTS / "timings.json").write_text(json.dumps(timings, indent=2))
    assert not outside, f"requests left the machine: {outside[:5]}"
    print("browser timings (s):", timings, file=sys.stderr)


@pytest.mark.slow
def test_projection_selection_highlights_cells_on_the_map(server: str, tmp_path: Path) -> None:
    from appkit.serve import browser

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    outside: list[str] = []
    with browser(tmp_path / "profile", server, CHROMIUM, outside) as ctx:
        page = ctx.new_page()
        page.goto(f"{server}/projection", timeout=120_000)
        page.get_by_text("Explained variance").wait_for(timeout=120_000)
        frame = page.frame_locator("iframe[title*='st_folium']").first
        frame.locator("img.satclip-overlay").wait_for(timeout=60_000)
        plot = page.locator(".js-plotly-plot .nsewdrag").first
        plot.wait_for(timeout=60_000)
        box = plot.bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.2)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.7, steps=8)
        page.mouse.up()
        page.get_by_text("cells selected").wait_for(timeout=60_000)
        page.wait_for_timeout(1000)
        assert frame.locator("path.leaflet-interactive").count() > 0  # the selected cells drawn on the map
        page.screenshot(path=str(ARTIFACTS / "04-projection-selection.png"))
    assert not outside, f"requests left the machine: {outside[:5]}"
