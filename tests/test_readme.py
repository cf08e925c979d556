"""The README's Quick start runs as printed: it is the first code a user copies (it once used undefined
``lon``/``lat``)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _python_block_under(heading: str) -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1, f"expected one python block under '## {heading}'"
    return blocks[0]


def test_quick_start_runs_as_printed(tmp_path: Path) -> None:
    code = (
        _python_block_under("Quick start")
        + "\nprint('OK', emb.shape, tuple(Y.shape), model.predict(places[['lon', 'lat']]).shape)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SATCLIP_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    n = len((ROOT / "examples" / "places.csv").read_text().strip().splitlines()) - 1
    assert proc.stdout.split("\n")[-2] == f"OK ({n}, 256) (2, 1600) ({n},)"
