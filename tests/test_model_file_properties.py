"""Property tests for reading model files (issue 13, beyond the list): random bytes, random safetensors
headers, random and hostile cards, random Lightning checkpoints. Invariant: ``satclip.load`` either
returns a model that matches what the file declares or raises ``CheckpointError``; never another
exception, never an allocation beyond what the file holds."""

from __future__ import annotations

import io
import json
import math
import pickle
import struct
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from safetensors.torch import save_file

import satclip
from satclip.checkpoints import FORMAT_NAME, FORMAT_VERSION, CheckpointError
from satclip.nn.location_encoder import LocationEncoder, LocationEncoderConfig
from tests.conftest import REFERENCE

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
pytestmark = [
    pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="peak-RSS reset needs Linux /proc"),
    pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning"),
]
RSS_GROWTH_LIMIT_MB = 150  # a few small models at most; the faults fixed here allocated gigabytes
WEIGHT_COPIES = 8  # a loadable file: its bytes, the float64 copy, the module built from its card, its state

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
small_ints = st.integers(min_value=-3, max_value=12)
hostile_ints = small_ints | st.integers() | st.sampled_from([0, -1, 10**6, 2**31, 2**63, 10**30])
hostile_numbers = (
    hostile_ints | st.floats() | st.booleans() | st.text(max_size=5) | st.none() | st.lists(small_ints, max_size=2)
)


def _peak_rss_mb() -> float:
    """Peak resident memory (VmHWM) since the last ``_reset_peak_rss``, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _reset_peak_rss() -> None:
    """Restart peak-RSS accounting at the current RSS (Linux: write 5 to /proc/self/clear_refs)."""
    Path("/proc/self/clear_refs").write_text("5")


@contextmanager
def _bounded_peak_rss(file: Path | None = None) -> Iterator[None]:
    """Fail if the peak resident memory inside exceeds the RSS at entry by RSS_GROWTH_LIMIT_MB, plus, for a
    ``file`` that may legitimately load, a few copies of the weights it really holds (never what a card claims)."""
    limit = RSS_GROWTH_LIMIT_MB + (WEIGHT_COPIES * file.stat().st_size / 2**20 if file is not None else 0)
    _reset_peak_rss()
    before = _peak_rss_mb()
    yield
    growth = _peak_rss_mb() - before
    assert growth < limit, f"peak RSS grew by {growth:.0f} MB (limit {limit:.0f} MB)"


def _load_or_refuse(path: Path) -> satclip.Encoder | None:
    """The invariant: a model or a CheckpointError; any other exception fails the test."""
    try:
        return satclip.load(path)
    except CheckpointError:
        return None


def _reference_state(L: int = 3, hidden: int = 8, embed: int = 4) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return LocationEncoder(LocationEncoderConfig(L=L, hidden_dim=hidden, embed_dim=embed)).state_dict()


def _write_own(path: Path, card: Any, tensors: dict[str, torch.Tensor], card_text: str | None = None) -> Path:
    meta = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "card": card_text if card_text is not None else json.dumps(card),
    }
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path), metadata=meta)
    return path


@SETTINGS
@given(
    data=st.binary(max_size=4096),
    suffix=st.sampled_from([".safetensors", ".ckpt"]),
    prefix=st.sampled_from([b"", b"PK\x03\x04", struct.pack("<Q", 64), struct.pack("<Q", 2**62)]),
)
@example(data=b"root:x:0:0:root:/root:/bin/bash\n", suffix=".ckpt", prefix=b"")  # /etc/passwd: IndexError
@example(data=b"just text\n", suffix=".ckpt", prefix=b"")
def test_random_bytes(tmp_path: Path, data: bytes, suffix: str, prefix: bytes) -> None:
    path = tmp_path / f"random{suffix}"
    path.write_bytes(prefix + data)
    with _bounded_peak_rss():
        assert _load_or_refuse(path) is None


tensor_entries = st.fixed_dictionaries(
    {
        "dtype": st.sampled_from(["F16", "BF16", "F32", "F64", "I32", "I64", "U8", "BOOL", "F8_E4M3", "X"]),
        "shape": st.lists(st.integers(min_value=0, max_value=2**40) | small_ints, max_size=3),
        "data_offsets": st.lists(st.integers(min_value=0, max_value=2**40) | small_ints, min_size=2, max_size=2),
    }
)


@SETTINGS
@given(
    entries=st.dictionaries(
        st.sampled_from(list(_reference_state())) | st.text(max_size=8), tensor_entries, max_size=7
    ),
    metadata=st.dictionaries(st.sampled_from(["format", "format_version", "card"]), st.text(max_size=30))
    | st.just({"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "card": '{"config": {"L": 3}}'}),
    buffer=st.integers(min_value=0, max_value=4096),
)
def test_random_safetensors_headers(tmp_path: Path, entries: dict, metadata: dict, buffer: int) -> None:
    header = json.dumps({**entries, "__metadata__": metadata}).encode()
    path = tmp_path / "header.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + bytes(buffer))
    with _bounded_peak_rss():
        _load_or_refuse(path)


config_changes = st.dictionaries(
    st.sampled_from(
        [
            "L",
            "hidden_dim",
            "num_hidden_layers",
            "embed_dim",
            "w0",
            "w0_initial",
            "dropout",
            "convention",
            "dropout_at",
            "unknown",
        ]
    ),
    hostile_numbers | st.sampled_from(["satclip", "orthonormal", "pre_sine", "post_sine"]),
    max_size=4,
)


@SETTINGS
@given(change=config_changes, compute=st.sampled_from(["float32", "float64", "float16", None, 3]))
def test_random_card_configs_load_exactly_what_they_declare_or_are_refused(
    tmp_path: Path, change: dict, compute: Any
) -> None:
    """Weights of the declared architecture, so a card that passes must give back exactly those weights."""
    config = {**LocationEncoderConfig(L=3, hidden_dim=8, embed_dim=4).to_dict(), **change}
    try:
        state = LocationEncoder(LocationEncoderConfig.from_dict(config)).state_dict()
    except (ValueError, TypeError):
        state = _reference_state()
    path = _write_own(tmp_path / "card.safetensors", {"config": config, "compute_dtype": compute}, state)
    with _bounded_peak_rss(path):  # a valid card of a large model loads that model's weights, no more
        encoder = _load_or_refuse(path)
    if encoder is not None:
        assert encoder.module.config == LocationEncoderConfig.from_dict(config)
        assert compute in ("float32", "float64") and str(encoder.module.dtype) == f"torch.{compute}"
        for key, value in state.items():
            torch.testing.assert_close(encoder.module.state_dict()[key], value.to(encoder.module.dtype))


@SETTINGS
@given(card=json_values, depth=st.integers(min_value=0, max_value=200_000))
def test_random_and_deeply_nested_cards(tmp_path: Path, card: Any, depth: int) -> None:
    text = "[" * depth + json.dumps(card) + "]" * depth
    with _bounded_peak_rss():
        assert _load_or_refuse(_write_own(tmp_path / "any.safetensors", None, _reference_state(), text)) is None


@SETTINGS
@given(
    scale=st.floats(allow_nan=True, allow_infinity=True),
    key=st.sampled_from(list(_reference_state())),
    dtype=st.sampled_from([torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.int32, torch.int8]),
)
def test_weight_values_are_finite_floats_of_plausible_size_or_refused(
    tmp_path: Path, scale: float, key: str, dtype: torch.dtype
) -> None:
    state = dict(_reference_state())
    state[key] = (state[key] * scale).to(dtype)
    config = LocationEncoderConfig(L=3, hidden_dim=8, embed_dim=4).to_dict()
    try:
        encoder = satclip.load(_write_own(tmp_path / "w.safetensors", {"config": config}, state))
    except CheckpointError as err:
        assert repr(key) in str(err)
        return
    weights = encoder.module.state_dict()[key]
    assert dtype.is_floating_point and torch.isfinite(weights).all() and weights.abs().max() <= 1e4


hyper_parameters = st.fixed_dictionaries(
    {
        "le_type": st.sampled_from(["sphericalharmonics", "sphericalharmonics", "grid"]),
        "pe_type": st.sampled_from(["siren", "siren", "mlp"]),
        "harmonics_calculation": st.sampled_from(["analytic", "closed-form", "discretized"]),
        "legendre_polys": hostile_numbers | st.just(10),
        "capacity": hostile_numbers | st.just(512),
        "num_hidden_layers": hostile_numbers | st.just(2),
        "embed_dim": hostile_numbers | st.just(256),
    },
)


def _reference_ckpt() -> dict:
    return torch.load(REFERENCE / "satclip_layout_L10.ckpt", map_location="cpu", weights_only=True)


REFERENCE_CKPT = _reference_ckpt()


@SETTINGS
@given(hp=hyper_parameters, drop=st.sets(st.sampled_from(list(REFERENCE_CKPT["state_dict"])), max_size=2))
@example(
    hp={
        "le_type": "sphericalharmonics",
        "pe_type": "siren",
        "harmonics_calculation": "analytic",
        "legendre_polys": 10.5,
        "capacity": 512,
        "num_hidden_layers": 2,
        "embed_dim": 256,
    },
    drop=set(),
)
def test_random_lightning_checkpoints(tmp_path: Path, hp: dict, drop: set) -> None:
    ck = dict(
        REFERENCE_CKPT,
        hyper_parameters=hp,
        state_dict={k: v for k, v in REFERENCE_CKPT["state_dict"].items() if k not in drop},
    )
    torch.save(ck, tmp_path / "r.ckpt")
    with _bounded_peak_rss():
        encoder = _load_or_refuse(tmp_path / "r.ckpt")
    if encoder is not None:
        c = encoder.module.config
        assert (c.L, c.hidden_dim, c.num_hidden_layers, c.embed_dim) == (10, 512, 2, 256)
        declared = [hp[k] for k in ("legendre_polys", "capacity", "num_hidden_layers", "embed_dim")]
        assert all(type(v) is int for v in declared), declared  # 10.5 or True is not silently truncated
        assert hp["harmonics_calculation"] in ("analytic", "closed-form")


@SETTINGS
@given(obj=json_values, protocol=st.integers(min_value=2, max_value=5), cut=st.integers(min_value=0, max_value=64))
def test_random_pickles_in_a_torch_zip(tmp_path: Path, obj: Any, protocol: int, cut: int) -> None:
    """The restricted unpickler's own failures (bad opcodes, truncation, non-mapping payloads) become
    CheckpointError too."""
    payload = pickle.dumps(obj, protocol=protocol)
    payload = payload[: max(0, len(payload) - cut)] if cut % 2 else payload
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("archive/data.pkl", payload)
        zf.writestr("archive/byteorder", "little")
        zf.writestr("archive/version", "3\n")
    (tmp_path / "p.ckpt").write_bytes(buf.getvalue())
    with _bounded_peak_rss():
        assert _load_or_refuse(tmp_path / "p.ckpt") is None


def test_rss_bound_is_meaningful(tmp_path: Path) -> None:
    """The bound used above does catch a load that allocates what an L=1000 card asked for."""
    with pytest.raises(AssertionError, match="peak RSS grew"), _bounded_peak_rss():
        torch.ones(int(RSS_GROWTH_LIMIT_MB * 2**20 / 4 * 1.5))
    assert math.isfinite(_peak_rss_mb())
