"""Time from a map click to the new heat map on screen, in a real browser: ``python benchmarks/bench_app_click.py``.

Serves the app on 127.0.0.1 (``satclip app``'s flags; every other request blocked), opens it in Debian's Chromium
(Playwright) at 1440x900, clicks the Explore map at random places (pressed where Leaflet draws each lon/lat) and
times mouse-up -> the new similarity overlay decoded in the page, and mouse-up -> the page's script run finished
(tables, chart). Prints the median and p90 of ``--clicks`` clicks (after one warm-up click) and the machine load.
Options: --model (default: the bundled satclip-bluemarble-l10), --resolution (grid degrees, default 0.5).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "app")]

from tools.app_browser import CHROMIUM, browser, press_lonlat, running_app, script_finished  # noqa: E402

OVERLAY = (
    "() => { const f = document.querySelector(\"iframe[title*='st_folium']\");"
    " const img = f && f.contentDocument.querySelector('img.satclip-overlay');"
    " return img && img.complete && img.naturalWidth > 0 ? img.src : null; }"
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="satclip-bluemarble-l10")
    ap.add_argument("--resolution", type=float, default=0.5)
    ap.add_argument("--clicks", type=int, default=10)
    args = ap.parse_args()
    import numpy as np

    tmp = Path(tempfile.mkdtemp(prefix="satclip-bench-click-"))
    blocked: list[str] = []
    heat, done = [], []
    with (
        running_app(args.model, args.resolution, tmp / "server.log", timeout=900) as url,
        browser(tmp / "profile", url, CHROMIUM, blocked, viewport=(1440, 900)) as ctx,
    ):
        page = ctx.new_page()
        page.goto(url, timeout=900_000)
        frame = page.frame_locator("iframe[title*='st_folium']").first
        frame.locator("img.satclip-basemap").wait_for(timeout=900_000)
        script_finished(page, 900_000)
        rng = np.random.default_rng(0)
        for i in range(args.clicks + 1):
            lon, lat = float(rng.uniform(-150, 150)), float(rng.uniform(-50, 65))
            old = page.evaluate(OVERLAY)
            t0 = press_lonlat(page, lon, lat)
            page.wait_for_function(
                f"([old]) => {{ const s = ({OVERLAY})(); return s && s !== old; }}",
                arg=[old],
                timeout=120_000,
                polling=10,
            )
            t_heat = time.perf_counter() - t0
            script_finished(page, 120_000, settle_ms=0)
            t_done = time.perf_counter() - t0
            if i:  # the first click warms lazy caches
                heat.append(t_heat)
                done.append(t_done)
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()

    def summary(xs: list[float]) -> str:
        return f"median {statistics.median(xs) * 1000:.0f} ms, p90 {statistics.quantiles(xs, n=10)[-1] * 1000:.0f} ms"

    print(f"model {args.model}, grid {args.resolution} deg, Chromium 1440x900, {len(heat)} clicks")
    print(f"click -> heat map on screen: {summary(heat)}")
    print(f"click -> page finished (tables, chart): {summary(done)}")
    print(f"load: {load}")
    if blocked:
        print(f"blocked requests: {blocked[:3]}")


if __name__ == "__main__":
    main()
