"""Per-click latency of the Explore page, grid cached: ``python benchmarks/bench_app_server.py [--resolution 0.5]``.

Runs the app headless (streamlit AppTest), builds or loads the grid once, then simulates clicks at random
places and prints the time of each page run (what the server spends before the browser can redraw) and the
page's own timer. Uses SATCLIP_APP_MODEL if set, else a bundled model, else a full-size random-init L=10 model.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app" / "streamlit_app.py"
sys.path.insert(0, str(APP.parent.parent))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--resolution", type=float, default=0.5)
    ap.add_argument("--clicks", type=int, default=20)
    args = ap.parse_args()
    from streamlit.testing.v1 import AppTest

    from satclip.registry import BUNDLED

    if not os.environ.get("SATCLIP_APP_MODEL"):
        bundled = [n for n, m in BUNDLED.items() if m.path.is_file()]
        if bundled:
            os.environ["SATCLIP_APP_MODEL"] = bundled[0]
        else:
            import torch

            from satclip.checkpoints import save_model
            from satclip.nn.location_encoder import LocationEncoder, LocationEncoderConfig

            torch.manual_seed(0)
            path = Path(tempfile.gettempdir()) / "satclip-bench-random-l10.safetensors"
            save_model(path, LocationEncoder(LocationEncoderConfig(L=10)), {"name": "random-l10 (benchmark)"})
            os.environ["SATCLIP_APP_MODEL"] = str(path)
    os.environ["SATCLIP_APP_RESOLUTION"] = str(args.resolution)
    print(f"model {os.environ['SATCLIP_APP_MODEL']}, grid {args.resolution} deg")

    at = AppTest.from_file(str(APP), default_timeout=900)
    t0 = time.perf_counter()
    at.run()
    print(f"first start (grid, places, indexes; cached on disk afterwards): {time.perf_counter() - t0:.1f} s")
    import numpy as np

    rng = np.random.default_rng(0)
    runs, page = [], []
    for i in range(args.clicks + 1):
        lon, lat = float(rng.uniform(-180, 180)), float(rng.uniform(-60, 75))
        at.session_state["explore_map"] = {"last_clicked": {"lat": lat, "lng": lon}}
        t0 = time.perf_counter()
        at.run()
        dt = time.perf_counter() - t0
        if at.exception:
            raise SystemExit(f"page failed: {at.exception[0].value}")
        if i:  # the first click also warms lazy caches
            runs.append(dt)
            page.append(at.session_state["explore_ms"] / 1000)
    q = statistics.quantiles(runs, n=10)
    print(
        f"per click, {len(runs)} clicks: page run median {statistics.median(runs) * 1000:.0f} ms, "
        f"p90 {q[-1] * 1000:.0f} ms, max {max(runs) * 1000:.0f} ms; page timer median "
        f"{statistics.median(page) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
