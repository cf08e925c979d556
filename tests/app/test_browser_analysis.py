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


@pytest.fixture(scope="module")
def server(app_env: dict[str, str]) -> Iterator[str]:
    _require_browser()
    from tools.app_browser import running_app

    with running_app(
        app_env["SATCLIP_APP_MODEL"],
        float(app_env["SATCLIP_APP_RESOLUTION"]),
        Path(app_env["tmp"]) / "server-analysis.log",
    ) as url:
        yield url


def _leaflet(page: Any, index: int = 0) -> Any:
    frame = page.frame_locator("iframe[title*='st_folium']").nth(index)
    leaflet = frame.locator(".leaflet-container")
    leaflet.wait_for(timeout=180_000)
    return leaflet


def _click_lonlat(leaflet: Any, lon: float, lat: float) -> None:
    """Click where Leaflet draws (lon, lat), after scrolling the map into view."""
    leaflet.scroll_into_view_if_needed()
    pt = leaflet.evaluate(
        f"(el, ll) => {{ const m = ({FIND_MAP})(el); const p = m.latLngToContainerPoint([ll[1], "
        "ll[0]]); return [p.x, p.y]; }",
        [lon, lat],
    )
    leaflet.click(position={"x": pt[0], "y": pt[1]})


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
        page.get_by_text("Held-out accuracy").wait_for(timeout=60_000)
        page.get_by_text("3-fold CV over 6 pins").wait_for(timeout=60_000)
        assert leaflet.locator("img.satclip-overlay").count() == 1
        body = page.inner_text("body")
        assert "Traceback" not in body and "DeltaGenerator" not in body
        page.wait_for_timeout(800)
        page.screenshot(path=str(ARTIFACTS / "11-label-1280x720.png"))
        page.screenshot(path=str(ARTIFACTS / "11-label-1280x720-full.png"), full_page=True)
    assert not outside, f"requests left the machine: {outside[:5]}"


@pytest.mark.slow
def test_search_side_by_side_maps_share_the_view(server: str, tmp_path: Path) -> None:
    from tools.app_browser import browser

    outside: list[str] = []
    with browser(tmp_path / "profile", server, CHROMIUM, outside, viewport=VIEWPORT) as ctx:
        page = ctx.new_page()
        page.goto(server, timeout=120_000)
        _leaflet(page)
        page.get_by_role("link", name="Search").click()
        page.get_by_text("Search with pins").wait_for(timeout=60_000)
        box = page.get_by_role("combobox", name="Second model (side by side)")
        box.click()
        page.get_by_role("option", name="satclip-bluemarble-l10").click()
        page.wait_for_function(
            "() => document.querySelectorAll(\"iframe[title*='st_folium']\").length == 2", timeout=180_000
        )
        first, second = _leaflet(page, 0), _leaflet(page, 1)
        _click_lonlat(first, 10.0, 25.0)
        page.get_by_text("Most similar places (satclip-bluemarble-l10)").wait_for(timeout=120_000)
        first, second = _leaflet(page, 0), _leaflet(page, 1)
        zoom = f"(el) => ({FIND_MAP})(el).getZoom()"
        start = second.evaluate(zoom)
        first.locator(".leaflet-control-zoom-in").click()
        page.wait_for_function(
            "([z]) => { const fs = document.querySelectorAll(\"iframe[title*='st_folium']\");"
            " const w = fs[1] && fs[1].contentWindow; if (!w || !w.L) return false;"
            " const m = Object.values(w).find(v => v instanceof w.L.Map); return m && m.getZoom() > z; }",
            arg=[start],
            timeout=60_000,
        )
        assert second.evaluate(zoom) == first.evaluate(zoom) == start + 1
        assert page.locator("img").count() >= 0 and first.locator("img.satclip-overlay").count() == 1
        assert second.locator("img.satclip-overlay").count() == 1
        page.wait_for_timeout(800)
        page.screenshot(path=str(ARTIFACTS / "12-search-side-by-side-1280x720.png"))
    assert not outside, f"requests left the machine: {outside[:5]}"
