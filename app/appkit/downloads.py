"""The released SatCLIP models in the sidebar's model picker: downloaded ones are selectable; the others are listed
with a Download button (the click is the user's consent; nothing downloads otherwise), a progress bar, errors
shown as one line, and the equivalent command line."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import streamlit as st
from tqdm import tqdm

from satclip.registry import RELEASED, downloaded

_MESSAGE = "released_download_message"


def downloaded_models() -> list[str]:
    """Released model names already on disk (``satclip.load`` accepts them offline)."""
    return [name for name in RELEASED if downloaded(name)]


def progress_class(report: Callable[[int, int | None], None]) -> type[tqdm]:
    """A tqdm class for ``huggingface_hub`` that draws nothing and calls ``report(bytes_done, total)`` instead."""

    class ReportingBar(tqdm):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.pop("name", None)
            super().__init__(*args, **{**kwargs, "disable": True})
            self.done = int(kwargs.get("initial") or 0)
            report(self.done, self.total)

        def update(self, n: float | None = 1) -> bool | None:
            self.done += int(n or 0)
            report(self.done, self.total)
            return None

    return ReportingBar


def _download(name: str, where: Any) -> None:
    from satclip.hub import download

    entry = RELEASED[name]
    bar = where.progress(0.0, text=f"Downloading {entry.repo_id} ...")

    def report(done: int, total: int | None) -> None:
        frac = min(done / total, 1.0) if total else 0.0
        size = f"{done / 1e6:.0f} / {total / 1e6:.0f} MB" if total else f"{done / 1e6:.0f} MB"
        bar.progress(frac, text=f"Downloading {entry.repo_id}: {size}")

    try:
        result = download(name, tqdm_class=progress_class(report))
    except (ValueError, ImportError, OSError) as err:  # DownloadError, missing huggingface_hub, disk errors
        st.session_state[_MESSAGE] = ("error", str(err))
    else:
        st.session_state[_MESSAGE] = (
            "success",
            f"{name} downloaded ({result.path.stat().st_size / 1e6:.1f} MB): choose it in the Model list",
        )
    finally:
        bar.empty()
    st.rerun()


def released_models_panel(where: Any = None) -> None:
    """An expander listing the released models not yet on disk, each with a Download button and its command."""
    where = where or st.sidebar
    message = st.session_state.pop(_MESSAGE, None)
    if message is not None:
        (where.error if message[0] == "error" else where.success)(message[1])
    missing = [name for name in RELEASED if not downloaded(name)]
    if not missing:
        return
    with where.expander(f"Released SatCLIP models ({len(missing)} to download)"):
        st.caption(
            "Microsoft's six released models (Sentinel-2 S2-100K, MIT licence) from the Hugging Face Hub. "
            "A click downloads the original checkpoint (57-130 MB), keeps its location encoder and deletes "
            "the original."
        )
        for name in missing:
            entry = RELEASED[name]
            encoder = entry.image_encoder.split(" (")[0]
            st.markdown(
                f"**{name}**  \nL={entry.L}, {encoder} image encoder, "
                f"{entry.converted_bytes / 1e6:.1f} MB once downloaded"
            )
            if st.button(f"Download {name}", key=f"download_{name}", help=entry.url):
                _download(name, st)
            st.code(entry.download_command, language="bash", wrap_lines=True)
