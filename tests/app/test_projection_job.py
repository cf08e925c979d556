"""The Projection page's UMAP fit runs as a background job: it shows its stage and elapsed time, survives page
switches and method changes (one fit, never restarted), and once its result shows, no "needs a fit" notice or
"Compute UMAP" button is left above it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from satclip.explore import projection as proj_mod
from tests.app.conftest import APP

TIMEOUT = 600  # first run builds the grid; the fit compiles umap-learn's code on a fresh cache (busy machine)


@pytest.fixture
def gated_umap(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """Counts the real UMAP fits the app starts and holds each at its start until ``gate`` is set, so the test
    can navigate while the fit is certainly still running."""
    real = proj_mod._FITTERS["umap"]
    state: dict[str, Any] = {"fits": 0, "gate": threading.Event()}

    def counted(*args: Any, **kwargs: Any) -> Any:
        state["fits"] += 1
        state["gate"].wait(TIMEOUT)
        return real(*args, **kwargs)

    monkeypatch.setitem(proj_mod._FITTERS, "umap", counted)
    yield state
    state["gate"].set()


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _texts(at: AppTest) -> str:
    kinds = ("markdown", "caption", "info", "warning", "error", "progress")
    return " ".join(str(getattr(e, "text", None) or getattr(e, "value", "")) for k in kinds for e in at.get(k))


def _show_umap(at: AppTest) -> AppTest:
    at.switch_page("pages/projection.py")
    _run(at)
    at.radio(key="proj_method").set_value("UMAP")
    return _run(at)


def test_umap_job_survives_navigation_and_leaves_no_stale_notice(app_env: dict[str, str], gated_umap: dict) -> None:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    _run(at)
    _show_umap(at)
    shown = _texts(at)
    assert "UMAP:" in shown and "elapsed" in shown, shown  # stage and elapsed time while it runs
    deadline = time.monotonic() + 60
    while gated_umap["fits"] == 0 and time.monotonic() < deadline:  # the job's thread reaches the fit
        time.sleep(0.1)
    assert gated_umap["fits"] == 1

    _run(at.switch_page("pages/explore.py"))  # away and back, and to PCA and back, mid-fit
    _show_umap(at)
    at.radio(key="proj_method").set_value("PCA")
    _run(at)
    assert at.get("plotly_chart"), "PCA shows while the UMAP fit runs"
    at.radio(key="proj_method").set_value("UMAP")
    _run(at)
    assert "UMAP:" in _texts(at)
    assert gated_umap["fits"] == 1, "navigation restarted the fit"

    gated_umap["gate"].set()
    deadline = time.monotonic() + TIMEOUT
    while "UMAP:" in _texts(at) and time.monotonic() < deadline:
        time.sleep(1.0)
        _run(at)
    shown = _texts(at)
    assert "UMAP:" not in shown, "the fit did not finish"
    assert gated_umap["fits"] == 1
    assert at.get("plotly_chart") and at.get("component_instance"), "the UMAP scatter and map are shown"
    assert "one-off fit" not in shown and "needs" not in shown, shown
    assert not [b for b in at.button if "UMAP" in str(b.label)], "no Compute UMAP button above the result"

    fresh = AppTest.from_file(str(APP), default_timeout=TIMEOUT)  # a new session: from the cache, no fit
    _run(fresh)
    _show_umap(fresh)
    assert fresh.get("plotly_chart") and "UMAP:" not in _texts(fresh)
    assert gated_umap["fits"] == 1


def test_bundled_model_umap_page_uses_the_shipped_layout(
    app_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default bundled model's UMAP map comes from the layout shipped with it: no UMAP fit runs, and the
    page shows the map (before, the page fitted: 40 s on 2 cores on a fresh install)."""
    from satclip.registry import DEFAULT_MODEL

    fits: list[int] = []
    real = proj_mod.umap_layout

    def counted(*args: Any, **kwargs: Any) -> Any:
        fits.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(proj_mod, "umap_layout", counted)
    monkeypatch.setenv("SATCLIP_APP_MODEL", DEFAULT_MODEL)
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    _run(at)
    _show_umap(at)
    deadline = time.monotonic() + 120
    while "UMAP:" in _texts(at) and time.monotonic() < deadline:
        time.sleep(0.5)
        _run(at)
    assert at.get("plotly_chart") and at.get("component_instance"), _texts(at)
    assert not fits, "the page fitted UMAP although the bundled model ships its layout"
