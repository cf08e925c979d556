"""Downloading released SatCLIP models through a local stand-in for the Hugging Face Hub (tests/hub_server.py):
conversion with outputs equal to the official-layout fixture, the model card, pinning, deletion of the original,
no-op re-downloads, offline / refused-connection errors, the CLI and evaluation. Nothing touches the internet."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

import satclip
from satclip.checkpoints import load_satclip_checkpoint, read_card
from satclip.cli import app
from satclip.hub import DownloadError, download
from satclip.registry import RELEASED, list_models
from tests.conftest import REFERENCE
from tests.hub_server import MAIN_COMMIT, FakeHub, HubFile, closed_port, serve

pytest.importorskip("huggingface_hub")

CKPT = REFERENCE / "satclip_layout_L10.ckpt"
L10 = "satclip-resnet18-l10"  # the fixture's layout: L=10, moco_resnet18
VIT = "satclip-vit16-l40"  # pinned to a commit
runner = CliRunner()
_PROXY_VARS = [f"{name}_proxy" for name in ("http", "https", "all", "no")]
_PROXY_VARS += [v.upper() for v in _PROXY_VARS]  # a CI behind a proxy must not change what these tests see


@pytest.fixture(scope="module")
def l40_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture checkpoint rebuilt at L=40 (random first layer, ViT hyper-parameters): the pinned model's layout."""
    ck = torch.load(CKPT, map_location="cpu", weights_only=True)
    ck["hyper_parameters"] = dict(ck["hyper_parameters"], legendre_polys=40, vision_layers="moco_vit16")
    gen = torch.Generator().manual_seed(1)
    w = (torch.rand(512, 1600, generator=gen, dtype=torch.float64) - 0.5) / 20
    for prefix in ("model.location.", "model."):
        ck["state_dict"][prefix + "nnet.layers.0.weight"] = w.clone()
    path = tmp_path_factory.mktemp("l40") / "satclip-vit16-l40.ckpt"
    torch.save(ck, path)
    return path


@pytest.fixture
def hf_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Isolated satclip and Hugging Face caches; no token, online."""
    monkeypatch.setenv("SATCLIP_CACHE", str(tmp_path / "satclip"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_TOKEN", *_PROXY_VARS):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return tmp_path


@pytest.fixture
def hub(hf_env: Path, l40_ckpt: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    files = {
        (RELEASED[L10].repo_id, RELEASED[L10].filename): HubFile(CKPT.read_bytes()),
        (RELEASED[VIT].repo_id, RELEASED[VIT].filename): HubFile(
            l40_ckpt.read_bytes(), commits=(MAIN_COMMIT, RELEASED[VIT].revision)
        ),
    }
    with serve(files) as fake:
        monkeypatch.setenv("HF_ENDPOINT", fake.endpoint)
        yield fake


def test_huggingface_hub_never_takes_a_fake_hub_for_the_hub(hub: FakeHub) -> None:
    """huggingface_hub freezes HF_ENDPOINT when its modules are first imported and follows redirects to that origin
    as if it were the Hub. Frozen at an earlier fake Hub's port, a later fake's storage host given the same port by
    the OS got a HEAD instead of the download (CI failed on this). tests/conftest.py imports it with an endpoint on
    a port below 1024, which the OS never hands out to a server bound to port 0."""
    from urllib.parse import urlsplit

    from huggingface_hub import constants

    port = urlsplit(constants.ENDPOINT).port
    assert port is not None and port < 1024 and port not in (hub.port, hub.cdn_port), constants.ENDPOINT


def _hf_blobs(hf_env: Path) -> list[Path]:
    return [p for p in (hf_env / "hf" / "hub").rglob("blobs/*") if p.is_file()]


def test_load_with_download_gives_the_fixture_outputs(hub: FakeHub, hf_env: Path, reference_points: np.ndarray) -> None:
    assert L10 not in list_models()
    enc = satclip.load(L10, download=True)
    expected = np.load(REFERENCE / "satclip_layout_L10_expected.npy")
    out = enc.embed(reference_points, dtype=np.float64)
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-10)
    direct = satclip.load(CKPT).embed(reference_points, dtype=np.float64)
    np.testing.assert_array_equal(out, direct)  # identical to loading the .ckpt itself (float64 kept)
    assert enc.module.dtype == torch.float64 and enc.name == L10
    sha = hashlib.sha256(CKPT.read_bytes()).hexdigest()  # HEAD on the Hub, GET from its storage host:
    assert [r for r in hub.requests if "/api/" not in r[1]] == [
        ("HEAD", f"/{RELEASED[L10].repo_id}/resolve/main/{RELEASED[L10].filename}"),
        ("GET", f"/cdn/{sha}"),
    ]
    assert L10 in list_models()


def test_card_records_source_revision_sha256_and_licence(hub: FakeHub, hf_env: Path) -> None:
    result = download(L10)
    card = read_card(result.path)
    prov = card["provenance"]
    assert prov["sha256"] == hashlib.sha256(CKPT.read_bytes()).hexdigest() == result.sha256
    assert prov["repo_id"] == "microsoft/SatCLIP-ResNet18-L10" and prov["filename"] == "satclip-resnet18-l10.ckpt"
    assert prov["revision"] == "main" and prov["commit"] == MAIN_COMMIT and not prov["revision_pinned"]
    assert "no commit" in prov["revision_note"] and prov["endpoint"] == hub.endpoint
    assert prov["size_bytes"] == CKPT.stat().st_size and prov["vision_layers"] == "moco_resnet18"
    assert card["L"] == 10 and "ResNet18" in card["image_encoder"] and card["compute_dtype"] == "float64"
    assert card["training"]["data"].startswith("S2-100K") and card["license"].startswith("MIT")
    assert "klemmer2025satclip" in card["citation"] and card["weights_dtype"] == "float64"
    assert result.path == hf_env / "satclip" / "models" / "satclip-resnet18-l10.safetensors"


def test_original_deleted_unless_kept_and_second_download_is_a_no_op(hub: FakeHub, hf_env: Path) -> None:
    first = download(L10)
    assert first.fetched and first.original is None and _hf_blobs(hf_env) == []  # the .ckpt is gone
    n_requests = len(hub.requests)
    mtime = first.path.stat().st_mtime_ns
    again = download(L10)
    assert not again.fetched and again.path == first.path and again.sha256 == first.sha256
    assert len(hub.requests) == n_requests and first.path.stat().st_mtime_ns == mtime  # no network, no rewrite
    kept = download(L10, force=True, keep_original=True)
    assert kept.fetched and kept.original is not None and kept.original.is_file()
    assert hashlib.sha256(kept.original.read_bytes()).hexdigest() == first.sha256


def test_pinned_revision_is_what_gets_downloaded(hub: FakeHub, l40_ckpt: Path, reference_points: np.ndarray) -> None:
    result = download(VIT)
    pinned = RELEASED[VIT].revision
    assert all(f"/resolve/{pinned}/" in p for p in hub.resolve_requests()) and hub.resolve_requests()
    assert result.commit == pinned and read_card(result.path)["provenance"]["revision_pinned"] is True
    module, _ = load_satclip_checkpoint(l40_ckpt)
    with torch.no_grad():
        direct = module(torch.from_numpy(reference_points)).numpy()
    np.testing.assert_array_equal(satclip.load(VIT).embed(reference_points, dtype=np.float64), direct)


def test_offline_converts_an_original_already_in_the_hf_cache(hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    first = download(L10, keep_original=True)
    first.path.unlink()
    n = len(hub.requests)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    again = download(L10)
    assert again.fetched and again.path.is_file() and again.sha256 == first.sha256 and len(hub.requests) == n


def test_a_file_already_in_the_hf_cache_is_left_there(hub: FakeHub, hf_env: Path) -> None:
    from huggingface_hub import hf_hub_download

    mine = hf_hub_download(
        RELEASED[L10].repo_id, RELEASED[L10].filename, endpoint=hub.endpoint, cache_dir=str(hf_env / "hf" / "hub")
    )
    result = download(L10)
    assert Path(mine).is_file() and result.original == Path(mine)


def test_corrupted_transfer_is_rejected_and_removed(hf_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    entry = RELEASED[L10]
    with serve({(entry.repo_id, entry.filename): HubFile(CKPT.read_bytes(), corrupt=True)}) as fake:
        monkeypatch.setenv("HF_ENDPOINT", fake.endpoint)
        with pytest.raises(DownloadError, match=r"sha256 .* the Hub announced 849f5a9e"):
            download(L10)
    assert not entry.path.exists() and _hf_blobs(hf_env) == []


def test_wrong_architecture_is_rejected(hf_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    entry = RELEASED["satclip-vit16-l40"]  # served the L=10 file
    with serve({(entry.repo_id, entry.filename): HubFile(CKPT.read_bytes(), commits=(entry.revision,))}) as fake:
        monkeypatch.setenv("HF_ENDPOINT", fake.endpoint)
        with pytest.raises(DownloadError, match=r"has L=10, .* expects L=40"):
            download("satclip-vit16-l40")
    assert not entry.path.exists()


def test_offline_gives_one_line_with_the_command(hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DownloadError) as info:
        satclip.load(L10, download=True)
    msg = str(info.value)
    assert "\n" not in msg and "HF_HUB_OFFLINE" in msg and msg.endswith(f"run: satclip download {L10}")
    assert hub.requests == []


def test_missing_repository_gives_one_line(hub: FakeHub, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(
        DownloadError,
        match=r"cannot download satclip-resnet50-l10: microsoft/SatCLIP-ResNet50-L10@main"
        r".*RepositoryNotFoundError.*satclip download satclip-resnet50-l10",
    ) as info:
        download("satclip-resnet50-l10")
    assert "\n" not in str(info.value)


def test_cli_download_models_and_no_op(hub: FakeHub, hf_env: Path) -> None:
    result = runner.invoke(app, ["models"])
    assert result.exit_code == 0, result.output
    for name in RELEASED:
        assert f"not downloaded: satclip download {name}" in result.output
    result = runner.invoke(app, ["download", L10])
    assert result.exit_code == 0, result.output
    assert f"{L10}: downloaded microsoft/SatCLIP-ResNet18-L10@{MAIN_COMMIT[:12]}" in result.output
    assert "original deleted" in result.output
    n = len(hub.requests)
    result = runner.invoke(app, ["download", L10])
    assert result.exit_code == 0 and "already downloaded" in result.output and len(hub.requests) == n
    listing = json.loads(runner.invoke(app, ["models", "--json"]).output)
    assert listing[L10]["status"] == "downloaded" and listing[VIT]["status"] == "downloadable"
    assert listing[L10]["provenance"]["sha256"] == hashlib.sha256(CKPT.read_bytes()).hexdigest()
    assert listing[L10]["size_bytes"] == RELEASED[L10].path.stat().st_size
    assert listing["satclip-bluemarble-l10"]["status"] == "bundled"
    assert "downloaded (microsoft/SatCLIP-ResNet18-L10@" in runner.invoke(app, ["models"]).output


def test_cli_download_checks_every_name_first(hub: FakeHub) -> None:
    result = runner.invoke(app, ["download", L10, "satclip-nope"])
    assert result.exit_code == 1 and "'satclip-nope' is not a released SatCLIP model" in result.output
    assert hub.requests == []


def test_cli_refused_connection_and_offline_are_one_error_line(hf_env: Path) -> None:
    """A real process (as users run it): the error is one ``error:`` line naming the command, no traceback, and
    it comes at once (huggingface_hub alone retried the refused connection for about 25 s, printing each retry)."""
    env = {**os.environ, "HF_ENDPOINT": f"http://127.0.0.1:{closed_port()}", "PYTHONPATH": str(Path.cwd())}
    for extra in ({}, {"HF_HUB_OFFLINE": "1"}):
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "satclip", "download", L10],
            capture_output=True,
            text=True,
            env={**env, **extra},
            timeout=300,
        )
        seconds = time.perf_counter() - start
        errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
        assert proc.returncode == 1 and errors == proc.stderr.strip().splitlines(), proc.stderr  # nothing else
        assert errors[0].endswith(f"run: satclip download {L10}")
        assert ("HF_HUB_OFFLINE" if extra else "refused the connection") in errors[0]
        assert seconds < 15, f"{seconds:.1f} s to say the Hub cannot be reached"
    assert not RELEASED[L10].path.exists()


def test_unresolvable_host_is_said_at_once(hf_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No network or no DNS (an air-gapped cluster): the host name is said to be unresolvable, without retries."""
    monkeypatch.setenv("HF_ENDPOINT", "https://hub.satclip-test.invalid")  # .invalid never resolves (RFC 6761)
    start = time.perf_counter()
    with pytest.raises(DownloadError, match=r"'hub\.satclip-test\.invalid' cannot be resolved .*satclip download"):
        download(L10)
    assert time.perf_counter() - start < 15


def test_reachability_is_left_to_the_proxy_when_one_is_configured(
    hf_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Behind a proxy the direct connection may fail while the proxy works (and httpx's NO_PROXY rules are its
    own): with any proxy configured the early check stands aside. Invalid host names are said as such."""
    from satclip.hub import _unreachable

    endpoint = f"http://127.0.0.1:{closed_port()}"
    assert "refused the connection" in (_unreachable(endpoint) or "")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    assert _unreachable(endpoint) is None
    monkeypatch.delenv("HTTPS_PROXY")
    assert _unreachable("https://huggingface.co:notaport") == "'https://huggingface.co:notaport' has no valid port"
    assert _unreachable("https://a..b") == "'a..b' is not a valid host name"


def test_forced_download_of_a_cached_original_is_refused_at_once_offline(
    hub: FakeHub, hf_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--force goes to the network even when the original is in the Hugging Face cache: the early check applies."""
    download(L10, keep_original=True)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    start = time.perf_counter()
    with pytest.raises(DownloadError, match="refused the connection"):
        download(L10, force=True)
    assert time.perf_counter() - start < 15


def test_evaluate_with_a_downloaded_model(hub: FakeHub, hf_env: Path) -> None:
    rng = np.random.default_rng(0)
    lonlat = np.column_stack([rng.uniform(-180, 180, 400), rng.uniform(-60, 70, 400)])
    table = hf_env / "task.csv"
    pd.DataFrame({"lon": lonlat[:, 0], "lat": lonlat[:, 1], "y": np.sin(np.radians(lonlat[:, 1]))}).to_csv(table)
    args = [
        "evaluate",
        "--tasks",
        str(table),
        "--target",
        "y",
        "--encoders",
        f"{L10},lonlat",
        "--split",
        "random",
        "--probe",
        "ridge",
        "--n",
        "400",
        "--no-maps",
        "--out",
        str(hf_env / "eval"),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 1 and f"run `satclip download {L10}`" in result.output
    fetched = runner.invoke(app, ["download", L10])
    assert fetched.exit_code == 0, fetched.output
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert L10 in result.output


def test_hf_cache_blob_linked_into_a_shared_store(tmp_path: Path) -> None:
    """huggingface_hub may link ``blobs/<sha256>`` into a shared store named by another (Xet) hash: the checksum is
    compared with the blob's own name, and deleting the original leaves the shared store's file alone."""
    from satclip.hub import _remove_from_hf_cache, _verified_sha256

    data = CKPT.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    store = tmp_path / "store" / ("ab" * 32)
    store.parent.mkdir()
    store.write_bytes(data)
    repo = tmp_path / "hub" / "models--microsoft--SatCLIP-ResNet18-L10"
    (repo / "blobs").mkdir(parents=True)
    (repo / "blobs" / sha).symlink_to(store)
    pointer = repo / "snapshots" / MAIN_COMMIT / "satclip-resnet18-l10.ckpt"
    pointer.parent.mkdir(parents=True)
    pointer.symlink_to(Path("..", "..", "blobs", sha))
    assert _verified_sha256(RELEASED[L10], pointer) == sha
    _remove_from_hf_cache(pointer)
    assert not pointer.exists() and not (repo / "blobs" / sha).is_symlink() and store.is_file()
