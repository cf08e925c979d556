"""S2-100K reader on a tiny dataset written in exactly the released layout, and the generic folder reader."""

import numpy as np
import pandas as pd
import pytest
import tifffile
import torch
from PIL import Image

from satclip.data.image_datasets import DatasetError, FolderDataset, S2100KDataset, build_dataset


def write_s2_100k(root, n=3, size=32, planar=True):
    """index.csv (fn, lon, lat) + images/patch_N.tif, 12-band uint16; band b holds DN 1000 * (b + 1) + N."""
    (root / "images").mkdir(parents=True)
    rows = []
    for i in range(n):
        arr = np.stack([np.full((size, size), 1000 * (b + 1) + i, np.uint16) for b in range(12)])
        if not planar:
            arr = np.moveaxis(arr, 0, -1)
        tifffile.imwrite(
            root / "images" / f"patch_{i}.tif",
            arr,
            planarconfig="separate" if planar else "contig",
            photometric="minisblack",
        )
        rows.append({"fn": f"patch_{i}.tif", "lon": -170.0 + 40 * i, "lat": -50.0 + 30 * i})
    pd.DataFrame(rows).to_csv(root / "index.csv", index=False)
    return root


@pytest.mark.parametrize("planar", [True, False])
def test_s2_100k_13_bands_with_zero_b10(tmp_path, planar):
    ds = S2100KDataset(write_s2_100k(tmp_path / "s2", planar=planar))
    assert len(ds) == 3 and ds.channels == 13
    x, i = ds[2]
    assert x.shape == (13, 32, 32) and x.dtype == torch.float32 and i == 2
    assert torch.all(x[10] == 0)
    band_values = [float(x[c, 0, 0]) for c in range(13) if c != 10]
    assert np.allclose(band_values, [(1000 * (b + 1) + 2) / 10000 for b in range(12)])
    assert np.allclose(ds.lonlat[2], [-90.0, 10.0])


def test_s2_100k_crop_limit_fingerprint(tmp_path):
    root = write_s2_100k(tmp_path / "s2")
    ds = S2100KDataset(root, crop=16, limit=2)
    assert len(ds) == 2 and ds[0][0].shape == (13, 16, 16)
    assert ds.fingerprint != S2100KDataset(root).fingerprint
    assert isinstance(build_dataset({"source": "s2_100k", "root": str(root)}), S2100KDataset)


def test_s2_100k_errors(tmp_path):
    with pytest.raises(DatasetError, match=r"index\.csv"):
        S2100KDataset(tmp_path)
    root = write_s2_100k(tmp_path / "s2")
    (root / "images" / "patch_1.tif").unlink()
    with pytest.raises(DatasetError, match="missing"):
        S2100KDataset(root)
    bad = tmp_path / "bad"
    (bad / "images").mkdir(parents=True)
    tifffile.imwrite(
        bad / "images" / "patch_0.tif",
        np.zeros((4, 8, 8), np.uint16),
        planarconfig="separate",
        photometric="minisblack",
    )
    pd.DataFrame([{"fn": "patch_0.tif", "lon": 0, "lat": 0}]).to_csv(bad / "index.csv", index=False)
    with pytest.raises(DatasetError, match="expected 12 bands"):
        S2100KDataset(bad)[0]
    pd.DataFrame([{"file": "patch_0.tif", "x": 0}]).to_csv(bad / "index.csv", index=False)
    with pytest.raises(DatasetError, match="missing columns"):
        S2100KDataset(bad)


def test_folder_of_png_and_tif(tmp_path):
    Image.fromarray(np.full((8, 8, 3), 255, np.uint8)).save(tmp_path / "a.png")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "b.png")
    pd.DataFrame({"file": ["a.png", "b.png"], "lon": [1.0, 2.0], "lat": [3.0, 4.0]}).to_csv(tmp_path / "p.csv")
    ds = FolderDataset(tmp_path / "p.csv")
    assert ds.channels == 3 and torch.allclose(ds[0][0], torch.ones(3, 8, 8)) and float(ds[1][0].max()) == 0
    tifffile.imwrite(tmp_path / "c.tif", np.full((8, 8, 4), 5000, np.uint16), photometric="minisblack")
    pd.DataFrame({"fn": ["c.tif"], "longitude": [0.0], "latitude": [0.0]}).to_csv(tmp_path / "t.csv")
    t = FolderDataset(tmp_path / "t.csv")
    assert t.channels == 4 and torch.allclose(t[0][0], torch.full((4, 8, 8), 0.5))
    pd.DataFrame({"file": ["a.png"], "lon": [0.0], "lat": [95.0]}).to_csv(tmp_path / "bad.csv")
    with pytest.raises(ValueError, match="latitude"):
        FolderDataset(tmp_path / "bad.csv")
