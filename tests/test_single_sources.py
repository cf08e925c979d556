"""One way to do each thing: the Blue Marble image is looked up in one place, for the library and the app."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bmng_jpg_is_looked_up_in_one_place() -> None:
    lookups = [
        str(p.relative_to(ROOT))
        for folder in ("satclip", "app")
        for p in (ROOT / folder).rglob("*.py")
        if re.search(r"""==\s*["']bmng\.jpg["']""", p.read_text())
    ]
    assert lookups == ["satclip/data/bluemarble.py"], lookups


def test_app_base_map_is_the_training_image() -> None:
    import sys

    sys.path.insert(0, str(ROOT / "app"))
    try:
        from appkit.web_assets import bluemarble_source
    finally:
        sys.path.remove(str(ROOT / "app"))
    from satclip.data.bluemarble import find_bluemarble

    assert bluemarble_source() == find_bluemarble() and bluemarble_source().name == "bmng.jpg"
