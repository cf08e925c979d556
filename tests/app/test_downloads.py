"""The model picker's released-model panel: Download buttons (the click is consent), progress, the command line
equivalent, errors as one line; served by the local Hugging Face stand-in (never the internet)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from satclip.registry import RELEASED
from tests.conftest import REFERENCE
from tests.hub_server import FakeHub, HubFile, serve

pytest.importorskip("huggingface_hub")

NAME = "satclip-resnet18-l10"


def _panel_script() -> None:
    import streamlit as st
    from appkit.downloads import downloaded_models, released_models_panel

    released_models_panel(st)
    st.write("selectable: " + ",".join(downloaded_models()))


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    monkeypatch.setenv("SATCLIP_CACHE", str(tmp_path / "satclip"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    entry = RELEASED[NAME]
    with serve({(entry.repo_id, entry.filename): HubFile((REFERENCE / "satclip_layout_L10.ckpt").read_bytes())}) as f:
        monkeypatch.setenv("HF_ENDPOINT", f.endpoint)
        yield f


def _texts(at: AppTest) -> str:
    return " ".join(
        str(e.value) for kind in ("markdown", "caption", "error", "success", "code") for e in getattr(at, kind)
    )


def test_nothing_downloads_until_the_button_is_clicked(hub: FakeHub) -> None:
    at = AppTest.from_function(_panel_script, default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert hub.requests == [] and not RELEASED[NAME].path.exists()
    assert f"satclip download {NAME}" in [c.value for c in at.code]  # the command line equivalent
    assert len(at.button) == len(RELEASED)
    at.button(key=f"download_{NAME}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert RELEASED[NAME].path.is_file() and any("/resolve/main/" in p for _, p in hub.requests)
    assert f"{NAME} downloaded" in _texts(at) and f"selectable: {NAME}" in _texts(at)
    assert f"download_{NAME}" not in [b.key for b in at.button]  # listed as downloadable no more


def test_a_failed_download_is_shown_as_one_line(hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    at = AppTest.from_function(_panel_script, default_timeout=120)
    at.run()
    at.button(key=f"download_{NAME}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "HF_HUB_OFFLINE" in errors[0] and errors[0].endswith(f"satclip download {NAME}")
    assert not RELEASED[NAME].path.exists() and hub.requests == []


def test_progress_class_reports_bytes() -> None:
    from appkit.downloads import progress_class

    seen: list[tuple[int, int | None]] = []
    bar = progress_class(lambda done, total: seen.append((done, total)))(total=100, initial=10, desc="x", unit="B")
    with bar:
        bar.update(30)
        bar.update(60)
    assert seen == [(10, 100), (40, 100), (100, 100)]
