"""Every cache entry is validated on load (shape, dtype, finite values, checksum, belonging to its model);
a bad one is rebuilt with a warning that names the file and the reason. Grids, places, image features,
prepared patches."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from satclip.cache_entries import (
    CacheEntryError,
    CacheEntryWarning,
    load_checked_arrays,
    save_checked_arrays,
)
from satclip.explore.grid import EmbeddingGrid, build_grid, clear_memory_cache, grid_cache_path
from tests.explore.conftest import make_encoder

EXPECT = {"x": {"shape": (None, 3), "dtype": np.float32, "finite": True}}


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SATCLIP_CACHE", str(tmp_path / "cache"))
    clear_memory_cache()
    yield tmp_path / "cache"
    clear_memory_cache()


def _rewrite(path: Path, **changes: np.ndarray) -> None:
    """Replace arrays of a checked .npz, keeping its old checksum record (a corrupt or modified entry)."""
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays.update(changes)
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def _resave(path: Path, **changes: np.ndarray) -> None:
    """Replace arrays of a checked .npz with a valid checksum record (written wrong, not corrupted)."""
    with np.load(path, allow_pickle=False) as z:
        check = json.loads(str(z["__satclip_check__"]))
        arrays = {k: z[k] for k in z.files if k != "__satclip_check__"}
    arrays.update(changes)
    save_checked_arrays(path, arrays, check["meta"])


def test_checked_arrays_round_trip_and_each_fault_is_named(tmp_path: Path) -> None:
    path = tmp_path / "a.npz"
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    save_checked_arrays(path, {"x": x}, {"k": 1})
    arrays, meta = load_checked_arrays(path, EXPECT)
    np.testing.assert_array_equal(arrays["x"], x)
    assert meta == {"k": 1}
    faults = {
        "unreadable": lambda: path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2]),  # truncated
        "checksum": lambda: _rewrite(path, x=x + 1),
        "non-finite": lambda: save_checked_arrays(path, {"x": np.full((4, 3), np.nan, np.float32)}),
        "shape": lambda: save_checked_arrays(path, {"x": np.zeros((4, 2), np.float32)}),
        "dtype": lambda: save_checked_arrays(path, {"x": np.zeros((4, 3), np.float64)}),
        "no checksum record": lambda: np.savez(open(path, "wb"), x=x),
        "missing array": lambda: save_checked_arrays(path, {"y": x}),
    }
    for reason, damage in faults.items():
        save_checked_arrays(path, {"x": x}, {"k": 1})
        damage()
        with pytest.raises(CacheEntryError, match=reason):
            load_checked_arrays(path, EXPECT)
    path.write_bytes(b"")
    with pytest.raises(CacheEntryError, match="empty file"):
        load_checked_arrays(path, EXPECT)


GRID_FAULTS = {
    "nan": lambda p, g: _resave(p, embeddings=np.full_like(g.embeddings, np.nan)),
    "random": lambda p, g: _resave(
        p, embeddings=np.random.default_rng(0).normal(size=g.embeddings.shape).astype(np.float16)
    ),
    "wrong rows": lambda p, g: _resave(p, embeddings=g.embeddings[:-5]),
    "corrupt": lambda p, g: _rewrite(p, embeddings=g.embeddings[::-1].copy()),
    "truncated": lambda p, g: p.write_bytes(p.read_bytes()[:1000]),
    "empty": lambda p, g: p.write_bytes(b""),
}


@pytest.mark.parametrize("fault", list(GRID_FAULTS))
def test_bad_grid_entry_is_rebuilt_with_a_warning(cache: Path, fault: str) -> None:
    enc = make_encoder(7)
    good = build_grid(enc, 10.0)
    path = grid_cache_path(enc.fingerprint, 10.0, False)
    GRID_FAULTS[fault](path, good)
    clear_memory_cache()
    with pytest.warns(CacheEntryWarning, match=rf"{path.name} is invalid \(.+\); rebuilding"):
        again = build_grid(enc, 10.0)
    np.testing.assert_array_equal(again.embeddings, good.embeddings)
    assert EmbeddingGrid.load(path).n_cells == good.n_cells  # the rebuilt entry is valid


def test_grid_of_another_model_under_this_key_is_rebuilt(cache: Path) -> None:
    a, b = make_encoder(8), make_encoder(9)
    build_grid(a, 10.0)
    build_grid(b, 10.0)
    pa, pb = grid_cache_path(a.fingerprint, 10.0, False), grid_cache_path(b.fingerprint, 10.0, False)
    pb.write_bytes(pa.read_bytes())
    clear_memory_cache()
    with pytest.warns(CacheEntryWarning, match="another model"):
        build_grid(b, 10.0)


def test_bad_places_entry_is_rebuilt_with_a_warning(cache: Path) -> None:
    from satclip.explore import places as places_mod

    enc = make_encoder(10)
    good = places_mod.place_index(enc, 5_000_000)
    path = next((cache / "explore" / "places").glob("*.npz"))
    for damage in (
        lambda: _resave(path, embeddings=np.full_like(good.embeddings, np.nan)),
        lambda: _resave(path, embeddings=np.zeros_like(good.embeddings)),
        lambda: path.write_bytes(b""),
    ):
        damage()  # each on the valid entry the previous round rebuilt
        places_mod._PLACE_INDEX_MEMORY.clear()
        with pytest.warns(CacheEntryWarning, match=path.name):
            again = places_mod.place_index(enc, 5_000_000)
        np.testing.assert_array_equal(again.embeddings, good.embeddings)


def test_bad_feature_entry_is_recomputed_with_a_warning(cache: Path) -> None:
    from satclip.data.features import cached_features
    from tests.data.test_features import _dataset

    ds, spec = _dataset(), {"name": "rcf", "n_filters": 8}
    good, info = cached_features(ds, spec, progress=False, fit_images=40)
    path = Path(info["path"])
    for damage in (
        lambda: _resave(path, features=np.full_like(good, np.nan)),
        lambda: _resave(path, features=good[:-1]),
        lambda: path.write_bytes(path.read_bytes()[:200]),
    ):
        damage()
        with pytest.warns(CacheEntryWarning, match=path.name):
            again, info = cached_features(ds, spec, progress=False, fit_images=40)
        assert not info["cached"]
        np.testing.assert_array_equal(again, good)


def test_bad_patch_set_is_refused_on_load_and_rebuilt_by_prepare(tmp_path: Path, cache: Path) -> None:
    from satclip.data.bluemarble import DataPreparationError, PatchConfig, load_prepared, prepare_equirect
    from tests.data.test_bluemarble import _gradient_image

    image = _gradient_image(tmp_path / "g.png")
    cfg = PatchConfig(n=100, patch_size=8, seed=1)
    out = prepare_equirect(image, cfg, progress=False)
    good = load_prepared(out, mmap=False)
    patches = out / "patches.npy"
    patches.write_bytes(patches.read_bytes()[:-100])  # a killed copy or a full disk
    with pytest.raises(DataPreparationError, match=r"patches.npy.*prepare --force"):
        load_prepared(out)
    with pytest.warns(CacheEntryWarning, match=r"meta\.json is invalid"):
        again = prepare_equirect(image, cfg, progress=False)
    np.testing.assert_array_equal(load_prepared(again, mmap=False).patches, good.patches)
    lonlat = np.load(out / "lonlat.npy")
    lonlat[3, 1] = np.nan
    np.save(out / "lonlat.npy", lonlat)
    with pytest.raises(DataPreparationError, match=r"lonlat\.npy"):
        load_prepared(out)


def test_object_arrays_are_refused_when_written_not_when_read(tmp_path: Path) -> None:
    """The loader never unpickles, so an object array is refused at save time instead of making a file that
    fails on every later read."""
    path = tmp_path / "a.npz"
    with pytest.raises(ValueError, match="allow_pickle"):
        save_checked_arrays(path, {"x": np.array([{"a": 1}], dtype=object)})
    assert not path.exists()
