"""The map-native analysis pages (Search, Label) in a real browser: Debian's Chromium via Playwright at
1280x720, every request outside the app's own server blocked. Clicks are aimed with Leaflet's own
``latLngToContainerPoint`` and the pins read back from the map's layers. Screenshots go to artifacts/app/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.app.test_browser import ARTIFACTS, CHROMIUM, _require_browser

VIEWPORT = (1280, 720)
FIND_MAP = (
    "(el) => { const w = el.ownerDocument.defaultView; return Object.values(w).find(v => v instanceof w.L.Map); }"
)
PIN_COLOURS = {"like": "#22c55e", "unlike": "#ef4444"}


@pytest.fixture
def server(app_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """A fresh app server per test: each test here checks one page on its own."""
    _require_browser()
    from tools.app_browser import running_app

    with running_app(
        app_env["SATCLIP_APP_MODEL"],
        float(app_env["SATCLIP_APP_RESOLUTION"]),
        tmp_path / "server-analysis.log",
    ) as url:
        yield url


def _leaflet(page: Any, index: int = 0) -> Any:
    frame = page.frame_locator("iframe[title*='st_folium']").nth(index)
    leaflet = frame.locator(".leaflet-container")
    leaflet.wait_for(timeout=180_000)
    return leaflet


def _click_lonlat(leaflet: Any, lon: float, lat: float) -> None:
    """Press and release the mouse where Leaflet draws (lon, lat), as a person does: scroll the map into view,
    wait until the page has stopped moving, then press at the point (page coordinates of the map's box)."""
    leaflet.scroll_into_view_if_needed()
    page = leaflet.page

    def where() -> tuple[float, float]:
        x, y = leaflet.evaluate(
            f"(el, ll) => {{ const m = ({FIND_MAP})(el); const p = m.latLngToContainerPoint([ll[1], "
            "ll[0]]); return [p.x, p.y]; }",
            [lon, lat],
        )
        box = leaflet.bounding_box()
        return box["x"] + x, box["y"] + y

    px, py = where()
    for _ in range(20):  # smooth scrolling or a layout still settling moves the map under the pointer
        page.wait_for_timeout(150)
        prev, (px, py) = (px, py), where()
        if abs(px - prev[0]) < 0.5 and abs(py - prev[1]) < 0.5:
            break
    page.mouse.move(px, py)
    page.mouse.down()
    page.wait_for_timeout(100)
    page.mouse.up()


def _circles(leaflet: Any, colour: str) -> list[list[float]]:
    """(lon, lat) of the circle markers of one fill colour on the map."""
    return leaflet.evaluate(
        f"(el, c) => {{ const m = ({FIND_MAP})(el); const out = []; m.eachLayer(l => {{"
        " if (l.getLatLng && l.options && l.options.fillColor === c) {"
        " const p = l.getLatLng(); out.push([p.lng, p.lat]); } }); return out; }",
        colour,
    )


def _wait_circles(page: Any, leaflet: Any, colour: str, n: int, timeout_s: float = 60) -> list[list[float]]:
    for _ in range(int(timeout_s * 4)):
        try:
            got = _circles(leaflet, colour)
        except Exception:  # the map is being redrawn
            got = []
        if len(got) >= n:
            return got
        page.wait_for_timeout(250)
    raise AssertionError(f"expected {n} {colour} pins on the map, found {len(got)}")


def _near(got: list[list[float]], want: tuple[float, float], tol: float = 0.5) -> bool:
    return any(abs(g[0] - want[0]) <= tol and abs(g[1] - want[1]) <= tol for g in got)


@pytest.mark.slow
def test_search_page_like_and_unlike_pins_in_the_browser(server: str, tmp_path: Path) -> None:
    from tools.app_browser import browser

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    outside: list[str] = []
    with browser(tmp_path / "profile", server, CHROMIUM, outside, viewport=VIEWPORT) as ctx:
        page = ctx.new_page()
        page.goto(server, timeout=120_000)
        _leaflet(page)
        page.get_by_role("link", name="Search").click()  # registered in st.navigation
        page.get_by_text("Search with pins").wait_for(timeout=60_000)
        leaflet = _leaflet(page)
        page.get_by_text("drop a 'like' pin").wait_for(timeout=120_000)
        _click_lonlat(leaflet, 10.0, 25.0)  # Sahara
        page.get_by_text("Most similar places").wait_for(timeout=60_000)
        leaflet = _leaflet(page)
        likes = _wait_circles(page, leaflet, PIN_COLOURS["like"], 1)
        assert _near(likes, (10.0, 25.0)), likes
        page.get_by_text("unlike", exact=True).first.click()
        page.wait_for_timeout(1500)
        _click_lonlat(leaflet, -62.0, -3.0)  # Amazon
        unlikes = _wait_circles(page, leaflet, PIN_COLOURS["unlike"], 1)
        assert _near(unlikes, (-62.0, -3.0)), unlikes
        assert leaflet.locator("img.satclip-overlay").count() == 1
        body = page.inner_text("body")
        assert "Traceback" not in body and "DeltaGenerator" not in body
        page.wait_for_timeout(800)
        page.screenshot(path=str(ARTIFACTS / "10-search-1280x720.png"))
        page.screenshot(path=str(ARTIFACTS / "10-search-1280x720-full.png"), full_page=True)
    assert not outside, f"requests left the machine: {outside[:5]}"


@pytest.mark.slow
def test_label_page_fits_a_classifier_in_the_browser(server: str, tmp_path: Path) -> None:
    from tools.app_browser import browser

    outside: list[str] = []
    land = [(10.0, 25.0), (45.0, 23.0), (-62.0, -3.0)]
    water = [(-40.0, 30.0), (-20.0, -35.0), (65.0, -25.0)]  # inside the default view (about +-90 deg lon)
    with browser(tmp_path / "profile", server, CHROMIUM, outside, viewport=VIEWPORT) as ctx:
        page = ctx.new_page()
        page.goto(server, timeout=120_000)
        _leaflet(page)
        page.get_by_role("link", name="Label").click()
        page.get_by_text("teach the map").wait_for(timeout=60_000)
        leaflet = _leaflet(page)
        page.get_by_text("Drop pins of at least two classes").wait_for(timeout=120_000)
        for i, (lon, lat) in enumerate(land):
            _click_lonlat(leaflet, lon, lat)
            page.get_by_text(f"land {i + 1}").wait_for(timeout=60_000)
            leaflet = _leaflet(page)
        page.get_by_text("water", exact=True).first.click()
        page.wait_for_timeout(1500)
        for lon, lat in water:
            _click_lonlat(leaflet, lon, lat)
            page.wait_for_timeout(1500)
            leaflet = _leaflet(page)
        page.get_by_text("Held-out accuracy", exact=True).wait_for(timeout=60_000)
        page.get_by_text("3-fold cross-validation over 6 pins").wait_for(timeout=60_000)
        assert leaflet.locator("img.satclip-overlay").count() == 1
        body = page.inner_text("body")
        assert "Traceback" not in body and "DeltaGenerator" not in body
        page.wait_for_timeout(800)
        page.screenshot(path=str(ARTIFACTS / "11-label-1280x720.png"))
        page.screenshot(path=str(ARTIFACTS / "11-label-1280x720-full.png"), full_page=True)
    assert not outside, f"requests left the machine: {outside[:5]}"
