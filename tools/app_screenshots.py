"""Screenshots of every page for docs/app.md: ``python tools/app_screenshots.py [--model M] [--out docs/figures]``.

Serves the app on 127.0.0.1 (network blocked), drives Debian's Chromium with Playwright, and writes small
palette PNGs ``app_explore.png``, ``app_compare.png``, ``app_search.png``, ``app_label.png``,
``app_projection.png``, ``app_downstream.png``, ``app_embed.png``, ``app_model.png``. Model: --model, else
SATCLIP_APP_MODEL, else the default bundled model.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

APP_DIR = Path(__file__).resolve().parent
sys.path[:0] = [str(APP_DIR.parent), str(APP_DIR.parent / "app")]

from satclip.registry import DEFAULT_MODEL  # noqa: E402
from tools.app_browser import CHROMIUM, browser, press_lonlat, running_app, script_finished  # noqa: E402


def _shrink(path: Path) -> None:
    from PIL import Image

    with Image.open(path) as im:
        small = im.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default=os.environ.get("SATCLIP_APP_MODEL") or DEFAULT_MODEL)
    ap.add_argument("--resolution", type=float, default=0.5)
    ap.add_argument("--out", type=Path, default=APP_DIR.parent / "docs" / "figures")
    ap.add_argument("--chromium", default=CHROMIUM)
    ap.add_argument("--viewport", default="1440x900", help="window size, WIDTHxHEIGHT")
    ap.add_argument("--prefix", default="app_", help="file name prefix")
    args = ap.parse_args()
    viewport = tuple(int(v) for v in args.viewport.lower().split("x"))
    args.out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="satclip-shots-"))
    blocked: list[str] = []
    shots: list[Path] = []
    with (
        running_app(args.model, args.resolution, tmp / "server.log", timeout=600) as url,
        browser(tmp / "profile", url, args.chromium, blocked, viewport=viewport) as ctx,
    ):
        page = ctx.new_page()

        def shot(name: str) -> None:
            script_finished(page, 600_000)
            page.wait_for_timeout(3000)  # the data grids paint after the script run
            path = args.out / f"{args.prefix}{name}.png"
            page.screenshot(path=str(path))
            shots.append(path)

        page.goto(url, timeout=600_000)
        frame = page.frame_locator("iframe[title*='st_folium']").first
        leaflet = frame.locator(".leaflet-container")
        leaflet.wait_for(timeout=600_000)
        script_finished(page, 600_000)
        press_lonlat(page, 2.35, 48.86)  # Paris
        page.get_by_text("Most similar places").wait_for(timeout=120_000)
        page.mouse.move(viewport[0] - 12, viewport[1] / 2)  # off the map, where the wheel would zoom it
        page.mouse.wheel(0, -2000)
        shot("explore")

        page.get_by_text("Compare two places").click()
        script_finished(page, 120_000)
        press_lonlat(page, 36.82, -1.29)  # Nairobi
        page.get_by_text("Cosine similarity A-B").wait_for(timeout=120_000)
        page.get_by_text("like A, unlike B").click()
        shot("compare")

        def pin(lon: float, lat: float, then: str) -> None:
            """Press the page's map at (lon, lat) and wait for ``then`` (a text the click makes appear)."""
            script_finished(page, 120_000)
            press_lonlat(page, lon, lat)
            page.get_by_text(then).first.wait_for(timeout=300_000)
            script_finished(page, 300_000)

        page.get_by_role("link", name="Search").click()
        page.get_by_text("drop a 'like' pin").wait_for(timeout=600_000)
        pin(10.0, 25.0, "Most similar places")  # like the Sahara
        pin(45.0, 23.0, "Most similar places")  # and the Arabian desert
        page.get_by_text("unlike", exact=True).first.click()
        pin(-62.0, -3.0, "Most similar places")  # unlike the Amazon
        shot("search")

        page.get_by_role("link", name="Label").click()
        page.get_by_text("Drop pins of at least two classes").wait_for(timeout=600_000)
        for i, (lon, lat) in enumerate([(10.0, 25.0), (45.0, 23.0), (-62.0, -3.0), (100.0, 60.0)]):
            pin(lon, lat, f"land {i + 1}")
        page.get_by_text("water", exact=True).first.click()
        for i, (lon, lat) in enumerate([(-40.0, 30.0), (-20.0, -35.0), (65.0, -25.0), (-150.0, 10.0)]):
            pin(lon, lat, f"water: {i + 1} pins")
        page.get_by_text("Held-out accuracy", exact=True).wait_for(timeout=300_000)
        shot("label")

        page.get_by_role("link", name="Projection").click()
        page.get_by_text("Explained variance").wait_for(timeout=600_000)
        shot("projection")

        page.get_by_role("link", name="Downstream").click()
        page.get_by_role("button", name="Run").wait_for(timeout=120_000)
        page.get_by_role("button", name="Run").click()
        page.get_by_text("Download predictions (CSV)").wait_for(timeout=600_000)
        page.mouse.wheel(0, 500)
        shot("downstream")

        page.get_by_role("link", name="Embed").click()
        page.locator("input[type=file]").first.set_input_files(str(APP_DIR.parent / "examples" / "places.csv"))
        page.get_by_role("button", name="Embed", exact=True).click()
        page.get_by_text("Embedded ").first.wait_for(timeout=120_000)
        shot("embed")

        page.get_by_role("link", name="Model").click()
        page.get_by_role("heading", name="Training data").wait_for(timeout=120_000)
        shot("model")
    for p in shots:
        _shrink(p)
        print(f"{p}  {p.stat().st_size / 1024:.0f} KiB")
    if blocked:
        print(f"blocked requests (the app must not need them): {blocked[:5]}")


if __name__ == "__main__":
    main()
