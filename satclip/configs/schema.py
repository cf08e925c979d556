"""Typed training configs: one dataclass per section of a config file, each checked by ``from_dict``.

``TrainingConfig.from_dict(yaml_dict)`` rejects unknown keys naming their full path (``train.max_epoch``,
``data.ocean_frac``, ``image_encoder.n_filter``), values of the wrong type, and fills defaults in this one
place. ``to_dict()`` gives the plain, fully resolved dict that checkpoints and model cards store.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from satclip.errors import ConfigError
from satclip.nn.location_encoder import LocationEncoderConfig

DATA_SOURCES = ("bluemarble", "equirect", "s2_100k", "folder")


def check_keys(data: Any, allowed: set[str] | tuple[str, ...], path: str) -> dict[str, Any]:
    """``data`` as a dict after checking it is a mapping whose keys are all ``allowed``.

    Raises:
        ConfigError: naming ``path.key`` of the first unknown key and the known ones.
    """
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys, got {type(data).__name__}")
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ConfigError(
            f"unknown config key {path}.{unknown[0]}"
            f"{f' (and {len(unknown) - 1} more)' if len(unknown) > 1 else ''}; "
            f"known keys of {path}: {', '.join(sorted(allowed))}"
        )
    return dict(data)


def _check_type(value: Any, annotation: str, key: str) -> Any:
    """``value`` if it fits a plain ``int``/``float``/``bool`` field (ints are accepted for floats; ``None`` for
    optional fields); other annotations are not checked here."""
    base = annotation.replace(" | None", "")
    if (value is None and annotation.endswith("| None")) or base not in ("int", "float", "bool"):
        return value
    ok = {
        "bool": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, int | float) and not isinstance(value, bool),
    }[base]
    if not ok:
        raise ConfigError(f"{key}: expected {base}, got {value!r}")
    return float(value) if base == "float" else value


@dataclass(frozen=True)
class TrainConfig:
    """The ``train`` section: optimisation, validation and the Lightning trainer."""

    batch_size: int = 4096
    lr: float = 1e-3
    weight_decay: float = 0.01
    max_epochs: int = 30
    max_time_s: float | None = None
    val_size: int = 8192
    jitter_deg: float = 1.0
    feature_norm: str = "standardize"
    soft_targets: float = 0.0
    schedule: str = "none"
    cache_features: bool = True
    accelerator: str = "cpu"
    devices: Any = 1
    strategy: str = "auto"
    num_workers: int = 0
    precision: str = "32-true"
    transfer_every: int = 5
    proxy_classes: int = 8
    log_every_n_steps: int = 10
    train_kinds: list[str] | None = None
    val_every: int = 1
    first_layer_lr_scale: Any = "auto"
    progress: bool = True
    val_batch_size: int = 8192

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None, path: str = "train") -> TrainConfig:
        """The section from a config dict; missing keys take the defaults above.

        Raises:
            ConfigError: an unknown key (named ``train.<key>``) or a value of the wrong type.
        """
        fields = {f.name: str(f.type) for f in dataclasses.fields(cls)}
        values = check_keys(data, tuple(fields), path)
        return cls(**{k: _check_type(v, fields[k], f"{path}.{k}") for k, v in values.items()})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _data_keys(source: str) -> tuple[str, ...]:
    """The keys a ``data`` section may have for ``source`` (besides ``source`` and ``progress``)."""
    if source in ("bluemarble", "equirect"):
        from satclip.data.bluemarble import PatchConfig

        return (*(f.name for f in dataclasses.fields(PatchConfig)), "image")
    if source == "s2_100k":
        return ("root", "crop", "limit")
    return ("csv", "root", "scale")


@dataclass(frozen=True)
class DataConfig:
    """The ``data`` section: ``source`` and its own options (patch sampling, folder, S2-100K root)."""

    source: str = "bluemarble"
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None, path: str = "data") -> DataConfig:
        """Raises: ConfigError naming ``data.<key>`` for an unknown key or source."""
        values = dict(data or {})
        source = values.pop("source", "bluemarble")
        if source not in DATA_SOURCES:
            raise ConfigError(f"{path}.source: unknown source {source!r}; choose {', '.join(DATA_SOURCES)}")
        options = check_keys(values, (*_data_keys(source), "progress"), path)
        return cls(source, options)

    def to_dict(self) -> dict[str, Any]:
        """What :func:`satclip.data.image_datasets.build_dataset` takes."""
        return {"source": self.source, **self.options}


def _image_encoder_keys(name: str) -> tuple[str, ...]:
    if name == "rcf":
        from satclip.image.rcf import RCFConfig

        return tuple(f.name for f in dataclasses.fields(RCFConfig))
    if name == "cnn":
        return ("width", "out_dim")
    return ("weights", "img_size")


@dataclass(frozen=True)
class ImageEncoderConfig:
    """The ``image_encoder`` section: ``name`` (rcf, a timm backbone, cnn) and its options."""

    name: str = "rcf"
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None, path: str = "image_encoder") -> ImageEncoderConfig:
        """Raises: ConfigError naming ``image_encoder.<key>`` for an unknown key or encoder."""
        from satclip.image.factory import ENCODERS

        values = dict(data or {})
        name = values.pop("name", "rcf")
        if name not in (*ENCODERS, "vit_small_patch16_224"):
            raise ConfigError(f"{path}.name: unknown image encoder {name!r}; choose one of {', '.join(ENCODERS)}")
        return cls(name, check_keys(values, _image_encoder_keys(name), path))

    def to_dict(self) -> dict[str, Any]:
        """What :func:`satclip.image.factory.build_image_encoder` takes."""
        return {"name": self.name, **self.options}


@dataclass(frozen=True)
class TrainingConfig:
    """A whole training config file: name, seed, output folder and the four typed sections."""

    name: str = "satclip"
    description: str = ""
    seed: int = 0
    output_dir: str | None = None
    data: DataConfig = field(default_factory=DataConfig)
    image_encoder: ImageEncoderConfig = field(default_factory=ImageEncoderConfig)
    location_encoder: LocationEncoderConfig = field(default_factory=LocationEncoderConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    @classmethod
    def from_dict(cls, cfg: dict[str, Any]) -> TrainingConfig:
        """Check every section of ``cfg`` (as read from YAML, overrides applied).

        Raises:
            ConfigError: naming the path of the first unknown key (``train.max_epoch``) or bad value.
        """
        top = check_keys(
            cfg,
            ("name", "description", "seed", "data", "image_encoder", "location_encoder", "train", "output"),
            "config",
        )
        output = check_keys(top.get("output"), ("dir",), "output")
        loc = check_keys(
            top.get("location_encoder"),
            tuple(f.name for f in dataclasses.fields(LocationEncoderConfig)),
            "location_encoder",
        )
        try:
            location_encoder = LocationEncoderConfig.from_dict(loc)
        except (TypeError, ValueError) as err:
            raise ConfigError(f"location_encoder: {err}") from err
        return cls(
            name=str(top.get("name", "satclip")),
            description=str(top.get("description", "")),
            seed=_check_type(top.get("seed", 0), "int", "seed"),
            output_dir=None if output.get("dir") is None else str(output["dir"]),
            data=DataConfig.from_dict(top.get("data")),
            image_encoder=ImageEncoderConfig.from_dict(top.get("image_encoder")),
            location_encoder=location_encoder,
            train=TrainConfig.from_dict(top.get("train")),
        )

    @property
    def run_dir(self) -> str:
        """``output.dir``, by default ``runs/<name>``."""
        return self.output_dir or f"runs/{self.name}"

    def to_dict(self) -> dict[str, Any]:
        """The plain dict (YAML layout, defaults filled in) stored in checkpoints and model cards."""
        out: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "seed": self.seed,
            "data": self.data.to_dict(),
            "image_encoder": self.image_encoder.to_dict(),
            "location_encoder": self.location_encoder.to_dict(),
            "train": self.train.to_dict(),
        }
        if self.output_dir is not None:
            out["output"] = {"dir": self.output_dir}
        return out
