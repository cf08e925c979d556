"""Training configs: YAML files here (``bluemarble-l10.yaml`` ...), loading and ``--section.key value`` overrides."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from satclip.errors import ConfigError

CONFIG_DIR = Path(__file__).parent
SECTIONS = ("data", "image_encoder", "location_encoder", "train", "output")


def config_path(name_or_path: str | Path) -> Path:
    """A path as given, or a bundled config by name (``bluemarble-l10`` -> configs/bluemarble-l10.yaml)."""
    p = Path(name_or_path)
    if p.is_file():
        return p
    bundled = CONFIG_DIR / (p.name if p.suffix == ".yaml" else f"{p.name}.yaml")
    if bundled.is_file():
        return bundled
    known = sorted(f.stem for f in CONFIG_DIR.glob("*.yaml"))
    raise ConfigError(f"config {name_or_path} not found (bundled configs: {known})")


def load_config(name_or_path: str | Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Read a YAML config and apply dotted overrides such as ``{"train.lr": 1e-3}``."""
    path = config_path(name_or_path)
    try:
        cfg = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: invalid YAML: {err}") from err
    if not isinstance(cfg, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    unknown = set(cfg) - set(SECTIONS) - {"name", "description", "seed"}
    if unknown:
        raise ConfigError(
            f"{path}: unknown top-level keys {sorted(unknown)}; known: name, description, seed, {SECTIONS}"
        )
    return apply_overrides(cfg, overrides or {})


def apply_overrides(cfg: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Copy of ``cfg`` with dotted keys set; string values are parsed as YAML scalars ("1e-3" -> 0.001)."""
    out = copy.deepcopy(cfg)
    for key, value in overrides.items():
        parts = key.split(".")
        if parts[0] not in (*SECTIONS, "name", "description", "seed"):
            raise ConfigError(f"override {key!r}: unknown section {parts[0]!r}; known: {SECTIONS}")
        node = out
        for p in parts[:-1]:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override {key!r}: {p!r} is not a section")
        if isinstance(value, str):
            value = _parse_scalar(value)
        node[parts[-1]] = value
    return out


def _parse_scalar(text: str) -> Any:
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(value, str):  # YAML 1.1 reads 1e-3 as a string
        try:
            return float(value)
        except ValueError:
            return value
    return value


def parse_cli_overrides(args: list[str]) -> dict[str, Any]:
    """``["--train.lr", "1e-3", "--data.n=5000"]`` -> ``{"train.lr": "1e-3", "data.n": "5000"}``."""
    out: dict[str, Any] = {}
    i = 0
    while i < len(args):
        a = args[i]
        if not a.startswith("--"):
            raise ConfigError(f"unexpected argument {a!r}: overrides look like --section.key value")
        if "=" in a:
            k, v = a[2:].split("=", 1)
            i += 1
        else:
            if i + 1 >= len(args):
                raise ConfigError(f"override {a} has no value")
            k, v = a[2:], args[i + 1]
            i += 2
        out[k.replace("-", "_") if "." not in k else k] = v
    return out
