"""Download a released SatCLIP model from the Hugging Face Hub, on explicit request only, and keep its
location encoder alone as our model file.

The download goes through ``huggingface_hub.hf_hub_download`` (optional extra ``satclip[hub]``): its cache
(``HF_HOME`` / ``HF_HUB_CACHE``), retries, revision pinning, mirrors (``HF_ENDPOINT``) and offline mode
(``HF_HUB_OFFLINE=1``). These variables are read when :func:`download` is called, so a value set after import
(a notebook, the app) applies. The original checkpoint is checked against the Hub's LFS sha256, its location
encoder is extracted with :func:`satclip.checkpoints.load_satclip_checkpoint` (``weights_only``, float64, outputs
identical to loading the ``.ckpt``), stored with a full model card at ``ReleasedModel.path``
(``$SATCLIP_CACHE/models/<name>.safetensors``, atomically), and the multi-hundred-MB original is removed from
the Hugging Face cache unless ``keep_original`` (or it was there before).
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import socket
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from satclip.cache import file_sha256
from satclip.checkpoints import CheckpointError, load_satclip_checkpoint, read_card, save_model
from satclip.errors import DownloadError
from satclip.released import (
    RELEASED,
    SATCLIP_CITATION,
    SATCLIP_LICENSE,
    SATCLIP_TRAINING_DATA,
    ReleasedModel,
)

_SHA256 = re.compile(r"[0-9a-f]{64}")
_COMMIT = re.compile(r"[0-9a-f]{40}")
_TRUE = {"1", "on", "yes", "true"}
_CONNECT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class DownloadResult:
    """What :func:`download` did: ``fetched`` is False when the model was already on disk (a no-op)."""

    name: str
    path: Path
    fetched: bool
    commit: str
    sha256: str
    original: Path | None  # the original .ckpt in the Hugging Face cache, when kept


def _huggingface_hub() -> Any:
    """The ``huggingface_hub`` module; a MissingExtraError naming ``satclip[hub]`` when it is not installed."""
    from satclip.extras import require_extra

    require_extra("hub", "huggingface_hub")
    import huggingface_hub
    import huggingface_hub.constants

    return huggingface_hub


def _hub_options(hub: Any) -> dict[str, Any]:
    """Endpoint, cache folder and offline mode from the environment as it is now (huggingface_hub itself
    reads them once, at import)."""
    home = os.environ.get("HF_HOME")
    cache = os.environ.get("HF_HUB_CACHE") or (os.path.join(os.path.expanduser(home), "hub") if home else None)
    offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE or hub.constants.is_offline_mode()
    endpoint = (os.environ.get("HF_ENDPOINT") or hub.constants.ENDPOINT).rstrip("/")
    return {"endpoint": endpoint, "cache_dir": cache or hub.constants.HF_HUB_CACHE, "offline": offline}


def entry_for(name: str) -> ReleasedModel:
    """The registry entry of a released model, or an error listing the names."""
    if name not in RELEASED:
        raise CheckpointError(f"{name!r} is not a released SatCLIP model; choose one of: {', '.join(RELEASED)}")
    return RELEASED[name]


def is_current(entry: ReleasedModel) -> bool:
    """Whether the converted file on disk came from this entry's repository (and pinned commit, if any)."""
    if not entry.path.is_file():
        return False
    try:
        prov = read_card(entry.path).get("provenance") or {}
    except CheckpointError:
        return False
    return prov.get("repo_id") == entry.repo_id and (not entry.pinned or prov.get("commit") == entry.revision)


def download(name: str, *, keep_original: bool = False, force: bool = False, tqdm_class: Any = None) -> DownloadResult:
    """Fetch released model ``name`` (once), convert its location encoder, and return where it is.

    A model already on disk from the same source is left alone (no network) unless ``force``.
    ``tqdm_class`` replaces huggingface_hub's progress bar (the app passes one that drives ``st.progress``).
    """
    entry = entry_for(name)
    if not force and is_current(entry):
        prov = read_card(entry.path).get("provenance") or {}
        return DownloadResult(name, entry.path, False, str(prov.get("commit")), str(prov.get("sha256")), None)
    hub = _huggingface_hub()
    opts = _hub_options(hub)
    before = hub.try_to_load_from_cache(
        entry.repo_id, entry.filename, cache_dir=opts["cache_dir"], revision=entry.revision
    )
    if not opts["offline"] and (force or not isinstance(before, str)) and (why := _unreachable(opts["endpoint"])):
        raise DownloadError(_message(entry, opts, why))
    try:
        local = hub.hf_hub_download(
            entry.repo_id,
            entry.filename,
            revision=entry.revision,
            cache_dir=opts["cache_dir"],
            endpoint=opts["endpoint"],
            local_files_only=opts["offline"],
            force_download=force and not opts["offline"],
            library_name="satclip",
            library_version=_version(),
            **({"tqdm_class": tqdm_class} if tqdm_class else {}),
        )
    except Exception as err:  # huggingface_hub / httpx errors, OSError: all become one line naming the command
        raise DownloadError(_explain(entry, opts, err)) from err
    original = Path(local)
    commit = original.parent.name if _COMMIT.fullmatch(original.parent.name) else "unknown"
    sha256 = _verified_sha256(entry, original)
    module, ckpt_card = load_satclip_checkpoint(original)
    cfg = module.config
    if (cfg.L, cfg.embed_dim, cfg.hidden_dim) != (entry.L, entry.embed_dim, entry.hidden_dim):
        raise DownloadError(
            f"{entry.repo_id}/{entry.filename}@{commit}: location encoder has L={cfg.L}, dim={cfg.embed_dim}, "
            f"hidden={cfg.hidden_dim}; the registry expects L={entry.L}, dim={entry.embed_dim}, "
            f"hidden={entry.hidden_dim}"
        )
    save_model(
        entry.path, module, _card(entry, ckpt_card, opts["endpoint"], commit, sha256, original), dtype=torch.float64
    )
    kept = keep_original or isinstance(before, str)
    if not kept:
        _remove_from_hf_cache(original)
    return DownloadResult(name, entry.path, True, commit, sha256, original if kept else None)


def _version() -> str:
    from satclip._version import __version__

    return __version__


def _unreachable(endpoint: str, timeout: float = _CONNECT_TIMEOUT_S) -> str | None:
    """Why a direct connection to ``endpoint``'s host fails (name not resolved, refused, no answer), or None.

    :func:`download` asks before huggingface_hub's first request: on an unreachable host that retries five times,
    printing "Retrying in ..." lines for about 25 s, before failing with the same cause. None when the host
    answers, and whenever a proxy is configured (``HTTPS_PROXY``, ``ALL_PROXY`` ..., or the system's on macOS
    and Windows): the request may go through it, and only the proxy can tell then.

    Args:
        endpoint: The Hub's base URL, e.g. ``https://huggingface.co``.
        timeout: Seconds to wait for a connection, over all the host's addresses together.

    Returns:
        One phrase saying what failed, or None.
    """
    parts = urllib.parse.urlsplit(endpoint)
    host, scheme = parts.hostname, parts.scheme or "https"
    if not host or _proxy_configured():
        return None
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        return f"{endpoint!r} has no valid port"
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return f"the host name {host!r} cannot be resolved (no network, or no DNS)"
    except (UnicodeError, ValueError):
        return f"{host!r} is not a valid host name"
    deadline = time.monotonic() + timeout
    error: OSError | None = None
    for family, kind, proto, _, address in addresses:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            with socket.socket(family, kind, proto) as sock:
                sock.settimeout(left)
                sock.connect(address)
                return None
        except OSError as err:
            error = err
    if isinstance(error, ConnectionRefusedError):
        return f"{host}:{port} refused the connection"
    if error is None or isinstance(error, TimeoutError):
        return f"{host}:{port} did not answer within {timeout:g} s"
    return f"{host}:{port} cannot be reached ({error.strerror or error})"


def _proxy_configured() -> bool:
    """Whether any HTTP(S) proxy is configured, as httpx finds them (environment, or the system's settings on
    macOS and Windows). Its bypass rules (``NO_PROXY`` forms, CIDR) are not second-guessed: any proxy at all and
    the direct check stands aside."""
    proxies = urllib.request.getproxies()
    return any(proxies.get(key) for key in ("http", "https", "all"))


def _message(entry: ReleasedModel, opts: dict[str, Any], why: str) -> str:
    """One line: what failed, ``why``, and the command to run."""
    where = f"{entry.repo_id}@{entry.revision} ({entry.filename}) from {opts['endpoint']}"
    if opts["offline"]:
        todo = f"on a machine with internet access (HF_HUB_OFFLINE unset) run: {entry.download_command}"
    else:
        todo = f"check the connection (and HF_ENDPOINT), then run: {entry.download_command}"
    return f"cannot download {entry.name}: {where}: {why}; {todo}"


def _explain(entry: ReleasedModel, opts: dict[str, Any], err: BaseException) -> str:
    """The one-line message for an error of huggingface_hub (offline, refused connection, HTTP status ...)."""
    if opts["offline"]:
        why = "HF_HUB_OFFLINE is set, so nothing may be downloaded, and the file is not in the Hugging Face cache"
        return _message(entry, opts, why)
    cause: BaseException = err  # a generic "cannot locate the file" error: show what happened underneath
    while type(cause).__name__ == "LocalEntryNotFoundError" and cause.__cause__ is not None:
        cause = cause.__cause__
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    detail = " ".join(lines[:2]) or type(cause).__name__
    return _message(entry, opts, f"{type(cause).__name__}: {detail[:300]}")


def _verified_sha256(entry: ReleasedModel, original: Path) -> str:
    """sha256 of the downloaded file, checked against the Hub's LFS hash (the cache's blob name) when there is one."""
    sha256 = file_sha256(original)
    blob = _blob_of(original)
    if _SHA256.fullmatch(blob.name) and blob.name != sha256:
        _remove_from_hf_cache(original)
        raise DownloadError(
            f"{entry.repo_id}/{entry.filename}: downloaded file has sha256 {sha256}, the Hub announced {blob.name} "
            f"(corrupted transfer or mirror); it was removed, run again: {entry.download_command}"
        )
    return sha256


def _card(
    entry: ReleasedModel, ckpt_card: dict[str, Any], endpoint: str, commit: str, sha256: str, original: Path
) -> dict[str, Any]:
    provenance = dict(ckpt_card.get("provenance") or {})
    provenance.update(
        repo_id=entry.repo_id,
        filename=entry.filename,
        revision=entry.revision,
        revision_pinned=entry.pinned,
        commit=commit,
        sha256=sha256,
        size_bytes=original.stat().st_size,
        endpoint=endpoint,
        url=f"{endpoint}/{entry.repo_id}/resolve/{commit}/{entry.filename}",
        downloaded=_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    if not entry.pinned:
        provenance["revision_note"] = (
            f"no commit of {entry.repo_id} is pinned by satclip; 'commit' records what "
            f"'{entry.revision}' resolved to at download time"
        )
    return {
        "name": entry.name,
        "description": f"Location encoder of the released SatCLIP model {entry.repo_id} (Klemmer et al.), "
        "extracted by satclip download; its image encoder and optimizer state are not kept",
        "L": entry.L,
        "image_encoder": entry.image_encoder,
        "training": {
            "data": "S2-100K (Sentinel-2)",
            "description": SATCLIP_TRAINING_DATA,
            "image_encoder": entry.image_encoder,
        },
        "provenance": provenance,
        "license": SATCLIP_LICENSE,
        "citation": SATCLIP_CITATION,
        "compute_dtype": "float64",
    }


def _blob_of(pointer: Path) -> Path:
    """The ``blobs/<etag>`` entry a snapshot file links to, one link deep (that entry may itself link into a
    shared store named by another hash); the file itself when the cache holds copies instead of links."""
    if not pointer.is_symlink():
        return pointer
    return Path(os.path.normpath(pointer.parent / os.readlink(pointer)))


def _remove_from_hf_cache(pointer: Path) -> None:
    """Delete a downloaded file from the Hugging Face cache: its snapshot entry, and its blob unless another
    snapshot still links to it."""
    blob = _blob_of(pointer)
    pointer.unlink(missing_ok=True)
    if blob != pointer and blob.exists():
        snapshots = blob.parent.parent / "snapshots"
        links = snapshots.rglob("*") if snapshots.is_dir() else iter(())
        if not any(p.is_symlink() and _blob_of(p) == blob for p in links):
            blob.unlink(missing_ok=True)  # the blobs/<etag> entry (a link, if it points into a shared store)
    try:
        pointer.parent.rmdir()  # the snapshot folder, if nothing else is in it
    except OSError:
        pass
