"""Image + location datasets: prepared equirectangular patches, S2-100K, and a folder of patches + CSV.

Every dataset yields ``(image float32 (C, H, W), index)``, and exposes ``lonlat`` (N, 2) degrees,
``channels`` and ``fingerprint`` (a content hash used as the feature-cache key).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from satclip.cache import content_hash
from satclip.data.bluemarble import PatchArrays
from satclip.errors import DatasetError
from satclip.geo import validate_lonlat

S2_BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12")
S2_MODEL_BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B10", "B11", "B12")
S2_SCALE = 1.0 / 10000.0  # reflectance = DN / 10000


class ImageDataset(Dataset[tuple[torch.Tensor, int]]):
    """What every dataset here is: ``dataset[i]`` = (image (C, H, W) float32, i), with the attributes below."""

    lonlat: np.ndarray  # (N, 2) degrees
    channels: int
    fingerprint: str  # content hash: the feature-cache key

    def __len__(self) -> int:
        return len(self.lonlat)


class PatchArrayDataset(ImageDataset):
    """In-memory uint8 (N, H, W, C) patches -> float32 in [0, 1]."""

    def __init__(self, arrays: PatchArrays) -> None:
        self.arrays = arrays
        self.lonlat = arrays.lonlat
        self.channels = int(arrays.patches.shape[-1])
        self.fingerprint = arrays.fingerprint

    def batch(self, index: np.ndarray | slice) -> torch.Tensor:
        """Images for many indices at once, float32 (B, C, H, W)."""
        x = torch.from_numpy(np.array(self.arrays.patches[index], dtype=np.uint8))
        return x.permute(0, 3, 1, 2).float().div_(255.0)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.batch(slice(i, i + 1))[0], i


def _read_tiff(path: Path, bands: int | None) -> np.ndarray:
    import tifffile

    try:
        arr = tifffile.imread(path)
    except Exception as err:  # tifffile raises several types for corrupt files
        raise DatasetError(f"cannot read GeoTIFF {path}: {err}") from err
    if arr.ndim == 2:
        arr = arr[None]
    elif arr.ndim == 3 and bands is not None and arr.shape[-1] == bands and arr.shape[0] != bands:
        arr = np.moveaxis(arr, -1, 0)
    elif arr.ndim == 3 and bands is None and arr.shape[-1] < arr.shape[0]:
        arr = np.moveaxis(arr, -1, 0)
    if arr.ndim != 3:
        raise DatasetError(f"{path}: expected a (bands, H, W) image, got shape {arr.shape}")
    return arr


class S2100KDataset(ImageDataset):
    """The released S2-100K layout: ``index.csv`` (fn, lon, lat) + ``images/<fn>`` 12-band uint16 GeoTIFFs.

    Returns 13 channels (B01..B09, a zero B10 at index 10, B11, B12) as reflectance DN / 10000,
    optionally centre-cropped to ``crop`` pixels (SatCLIP feeds 224 px to its ViT).
    """

    def __init__(self, root: str | Path, *, crop: int | None = None, limit: int | None = None) -> None:
        self.root = Path(root)
        index = self.root / "index.csv"
        if not index.is_file():
            raise DatasetError(f"{self.root} is not an S2-100K folder: {index} is missing (see docs/training.md)")
        df = pd.read_csv(index)
        missing = {"fn", "lon", "lat"} - set(df.columns)
        if missing:
            raise DatasetError(f"{index}: missing columns {sorted(missing)}; expected fn, lon, lat")
        if limit is not None:
            df = df.iloc[:limit]
        self.files = [self.root / "images" / str(fn) for fn in df["fn"]]
        absent = [str(p) for p in self.files if not p.is_file()]
        if absent:
            raise DatasetError(f"{len(absent)} image(s) listed in {index} are missing, e.g. {absent[:3]}")
        self.lonlat = validate_lonlat(df[["lon", "lat"]].to_numpy())
        self.crop = crop
        self.channels = len(S2_MODEL_BANDS)
        sizes = [p.stat().st_size for p in self.files]
        self.fingerprint = content_hash("s2-100k", index.read_bytes(), sizes, crop, limit)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        arr = _read_tiff(self.files[i], len(S2_BANDS))
        if arr.shape[0] != len(S2_BANDS):
            raise DatasetError(f"{self.files[i]}: expected {len(S2_BANDS)} bands {S2_BANDS}, got {arr.shape[0]}")
        x = arr.astype(np.float32) * S2_SCALE
        x = np.concatenate([x[:10], np.zeros_like(x[:1]), x[10:]], axis=0)
        if self.crop is not None:
            h, w = x.shape[1:]
            if self.crop > min(h, w):
                raise DatasetError(f"{self.files[i]}: crop {self.crop} is larger than the image {h}x{w}")
            top, left = (h - self.crop) // 2, (w - self.crop) // 2
            x = x[:, top : top + self.crop, left : left + self.crop]
        return torch.from_numpy(np.ascontiguousarray(x)), i


class FolderDataset(ImageDataset):
    """A folder of patches (GeoTIFF, PNG, JPEG) listed in a CSV with a file column and lon/lat.

    ``scale`` multiplies pixel values; by default 1/255 for 8-bit and 1/10000 for 16-bit images.
    """

    FILE_COLUMNS = ("fn", "file", "filename", "path", "image")

    def __init__(self, csv: str | Path, root: str | Path | None = None, *, scale: float | None = None) -> None:
        csv = Path(csv)
        if not csv.is_file():
            raise DatasetError(f"CSV not found: {csv}")
        df = pd.read_csv(csv)
        col = next((c for c in self.FILE_COLUMNS if c in df.columns), None)
        if col is None:
            raise DatasetError(f"{csv}: no file column; expected one of {list(self.FILE_COLUMNS)}")
        base = Path(root) if root is not None else csv.parent
        self.files = [base / str(f) for f in df[col]]
        absent = [str(p) for p in self.files if not p.is_file()]
        if absent:
            raise DatasetError(f"{len(absent)} image(s) listed in {csv} are missing, e.g. {absent[:3]}")
        self.lonlat = validate_lonlat(df)
        self.scale = scale
        first = self._load(0)
        self.channels = int(first.shape[0])
        self.fingerprint = content_hash("folder", csv.read_bytes(), [p.stat().st_size for p in self.files], scale)

    def _load(self, i: int) -> np.ndarray:
        path = self.files[i]
        if path.suffix.lower() in (".tif", ".tiff"):
            arr = _read_tiff(path, None)
        else:
            from PIL import Image

            with Image.open(path) as im:
                arr = np.array(im)
            arr = arr[None] if arr.ndim == 2 else np.moveaxis(arr, -1, 0)
        scale = self.scale
        if scale is None:
            scale = 1 / 255 if arr.dtype == np.uint8 else S2_SCALE if arr.dtype == np.uint16 else 1.0
        return arr.astype(np.float32) * scale

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        x = self._load(i)
        if x.shape[0] != self.channels:
            raise DatasetError(f"{self.files[i]}: {x.shape[0]} channels, but the first image has {self.channels}")
        return torch.from_numpy(np.ascontiguousarray(x)), i


def build_dataset(spec: dict[str, Any]) -> ImageDataset:
    """Dataset from a config ``data`` section: source = bluemarble | equirect | s2_100k | folder."""
    from satclip.data.bluemarble import PatchConfig, load_prepared, prepare_equirect

    spec = dict(spec)
    source = spec.pop("source", "bluemarble")
    progress = spec.pop("progress", True)
    if source in ("bluemarble", "equirect"):
        image = spec.pop("image", None)
        if source == "equirect" and image is None:
            raise DatasetError("data.source 'equirect' needs data.image: the path of a global equirectangular image")
        return PatchArrayDataset(load_prepared(prepare_equirect(image, PatchConfig(**spec), progress=progress)))
    if source == "s2_100k":
        return S2100KDataset(spec.pop("root"), **spec)
    if source == "folder":
        return FolderDataset(spec.pop("csv"), **spec)
    raise DatasetError(f"unknown data.source {source!r}; choose bluemarble, equirect, s2_100k or folder")
