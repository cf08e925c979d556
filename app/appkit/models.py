"""Model choice shared by every page: bundled models, the configured default, an uploaded or local model
file. Loaded encoders and their explorers are kept per process (one grid per model and resolution)."""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import streamlit as st

from appkit.downloads import downloaded_models, released_models_panel
from satclip.cache import atomic_path, cache_dir
from satclip.explore import Explorer
from satclip.registry import BUNDLED

MODEL_SUFFIXES = (".safetensors", ".ckpt")
GEOCLIP = "GeoCLIP (baseline)"
_EXPLORERS: OrderedDict[tuple[str, float], Explorer] = OrderedDict()
_LOCK = threading.Lock()
_MAX_EXPLORERS = 2


def bundled_available() -> list[str]:
    """Bundled model names whose files are present in this installation."""
    return [name for name, m in BUNDLED.items() if m.path.is_file()]


def geoclip_available() -> bool:
    """GeoCLIP's location encoder is offered when the baseline encoders (``satclip.baselines``) exist."""
    try:
        return importlib.util.find_spec("satclip.baselines") is not None
    except ImportError:
        return False


@st.cache_resource(show_spinner="Loading model ...", max_entries=4)
def load_encoder(key: str) -> Any:
    """A loaded encoder for a bundled name, a file path or GeoCLIP (errors propagate to the caller's message)."""
    from satclip.zoo import resolve_encoder

    return resolve_encoder("geoclip" if key == GEOCLIP else key)


def save_upload(name: str, data: bytes) -> Path:
    """Store an uploaded model file in the cache (by content hash) and return its path."""
    suffix = Path(name).suffix.lower()
    if suffix not in MODEL_SUFFIXES:
        raise ValueError(f"{name}: a model file must end in {' or '.join(MODEL_SUFFIXES)}")
    digest = hashlib.sha256(data).hexdigest()[:16]
    path = cache_dir("app", "models") / f"{Path(name).stem[:40]}-{digest}{suffix}"
    if not path.is_file():
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
    return path


def explorer_for(encoder: Any, resolution: float, where: Any = None) -> Explorer:
    """The encoder's explorer on a global grid: loaded from the cache, or built with a progress bar shown in
    ``where`` (a container that always exists, so the page layout does not shift between runs)."""
    key = (str(encoder.fingerprint), float(resolution))
    with _LOCK:
        if key in _EXPLORERS:
            _EXPLORERS.move_to_end(key)
            return _EXPLORERS[key]
    bar = (where or st).progress(0.0, text=f"Loading the global {resolution} deg grid ...")

    def report(done: int, total: int) -> None:
        bar.progress(
            min(done / max(total, 1), 1.0),
            text=f"Embedding the global {resolution} deg grid: {done:,} / {total:,} cells (first start only)",
        )

    try:
        ex = Explorer(encoder, resolution, progress=report)
        bar.progress(1.0, text="Building the search indexes ...")
        ex.warm_up()
        bar.progress(1.0, text="Land mask of the grid ...")
        try:  # here, behind the bar, not in whichever later run first turns on 'Land only' (cached on disk)
            _ = ex.grid.land
        except ImportError:  # global-land-mask missing: 'Land only' says so when used
            pass
    finally:
        bar.empty()
    with _LOCK:
        _EXPLORERS[key] = ex
        while len(_EXPLORERS) > _MAX_EXPLORERS:
            _EXPLORERS.popitem(last=False)
    return ex


UPLOAD, LOCAL = "Upload a model file ...", "Local model file ..."


def allowed_model_path(text: str, extra_dirs: tuple[Path, ...] = ()) -> str:
    """The resolved path of a typed model file if it lies in an allowed folder: the bundled weights, the app's
    upload cache and ``extra_dirs`` (the configured model's folder, SATCLIP_APP_MODEL_DIRS). Anything else gets
    one ValueError that says nothing about the path itself, so a visitor cannot probe which files exist."""
    from satclip.registry import WEIGHTS_DIR

    roots = [WEIGHTS_DIR, cache_dir("app", "models"), *extra_dirs]
    path = Path(text).expanduser().resolve()  # symlinks and '..' resolved before the check
    if path.suffix.lower() not in MODEL_SUFFIXES or not any(path.is_relative_to(r.resolve()) for r in roots):
        raise ValueError(
            "Only model files (.safetensors, .ckpt) in the allowed folders can be opened here (the "
            "operator adds folders with SATCLIP_APP_MODEL_DIRS); use 'Upload a model file' instead."
        )
    return str(path)


def model_sidebar(default: str, model_dirs: tuple[Path, ...] = ()) -> Any | None:
    """Sidebar model selector; returns the current encoder (or None with a message when none loads).

    The choice is kept in plain session state, so it survives page switches. A failed load (bad file,
    missing bundled model) shows an error and keeps the previous model."""
    state = st.session_state
    options = [
        *dict.fromkeys([default, *bundled_available(), *downloaded_models()]),
        *([GEOCLIP] if geoclip_available() else []),
        UPLOAD,
        LOCAL,
    ]
    saved = state.get("model_choice_saved", options[0])
    choice = st.sidebar.selectbox(
        "Model",
        options,
        index=options.index(saved) if saved in options else 0,
        key="model_choice",
        format_func=lambda o: Path(o).name if "/" in o else o,
        help="Bundled models, SATCLIP_APP_MODEL, or a .safetensors / SatCLIP .ckpt file",
    )
    state["model_choice_saved"] = choice
    key: str | None = choice
    if choice == UPLOAD:
        up = st.sidebar.file_uploader(
            "Model file (.safetensors or SatCLIP .ckpt)", type=["safetensors", "ckpt"], key="model_upload"
        )
        key = None
        if up is not None:
            try:
                key = str(save_upload(up.name, up.getvalue()))
            except ValueError as err:
                st.sidebar.error(str(err))
    elif choice == LOCAL:
        path = st.sidebar.text_input(
            "Path to a model file", value=state.get("model_path_saved", ""), key="model_path"
        ).strip()
        state["model_path_saved"] = path
        key = None
        if path:
            try:
                key = allowed_model_path(path, model_dirs)
            except ValueError as err:
                st.sidebar.error(str(err))
    released_models_panel(st.sidebar)
    failed = False
    if key is not None:
        try:
            enc = load_encoder(key)
        except Exception as err:  # any load failure becomes a message
            st.sidebar.error(f"Cannot load model {key!r}: {err}")
            failed = True
        else:
            state["model_key"] = key
            return enc
    prev = state.get("model_key")
    if prev is None:
        return None
    if failed:
        st.sidebar.caption(f"Still using the previous model: {Path(prev).name}")
    try:
        return load_encoder(prev)
    except Exception:  # the previous model vanished
        return None


def model_label(encoder: Any) -> str:
    c = getattr(encoder, "card", {}).get("config", {})
    return f"{encoder.name} (L={c.get('L', '?')}, {encoder.dim}-d)"
