"""Which task should the app's Downstream page open with? Each candidate task (offline ones and, when
fetched, suite tasks) with the app's defaults (2000 points, spatial-block CV, ridge): a bundled model
against the quick baselines. Prints one table; the gap between the model and the best baseline is
what the default task should show.

    python benchmarks/quick_tasks.py [--model satclip-bluemarble-l10] [--n 2000]
"""

from __future__ import annotations

import argparse
import os

import pandas as pd

import satclip
from satclip.data.assets import is_available
from satclip.downstream.quick import baseline_encoders, quick_evaluate
from satclip.downstream.tasks import TASKS, load_task, required_assets


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="satclip-bluemarble-l10")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--tasks", default="land_or_water,city_population,air_temperature,land_cover,elevation")
    ap.add_argument("--split", default="block")
    ap.add_argument("--probe", default="ridge")
    a = ap.parse_args()
    print(f"load average: {os.getloadavg()}")
    enc = {a.model: satclip.load(a.model), **baseline_encoders()}
    rows = []
    for name in a.tasks.split(","):
        missing = [x for x in required_assets([name]) if not is_available(x)]
        if missing:
            print(f"{name}: skipped, needs `satclip fetch {' '.join(missing)}`")
            continue
        res = quick_evaluate(load_task(name, a.n, 0), enc, a.split, a.probe)
        metric = "r2" if TASKS[name].kind == "regression" else "macro_f1"
        m = res.metrics.set_index("encoder")[metric]
        best_base = m.drop(a.model).max()
        rows.append(
            {
                "task": name,
                "offline": TASKS[name].offline,
                "metric": metric,
                "model": m[a.model],
                "best baseline": best_base,
                "gap": m[a.model] - best_base,
                **m.drop(a.model).to_dict(),
            }
        )
    pd.set_option("display.width", 200)
    print(pd.DataFrame(rows).round(3).to_string(index=False))


if __name__ == "__main__":
    main()
