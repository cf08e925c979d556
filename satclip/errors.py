"""The package's exception types, all under one base, :class:`SatCLIPError`.

``except satclip.errors.SatCLIPError`` catches every error the library raises on purpose (bad input,
corrupt or untrusted files, missing data or optional packages). Each type also keeps the builtin
base it had before (``ValueError``, ``FileNotFoundError``, ``RuntimeError``, ``ImportError``) so that
existing ``except ValueError`` code keeps working. The modules that raise them re-export them
(``from satclip.geo import CoordinateError`` still works).
"""

from __future__ import annotations


class SatCLIPError(Exception):
    """Base of every error the satclip library raises on purpose; the CLI prints it as one line."""


class CoordinateError(SatCLIPError, ValueError):
    """Invalid coordinates: NaN, out of range, wrong shape or columns. The message names the rows; ``rows``
    holds the first of them (0-based, as in the message) so a file reader can say where they are."""

    def __init__(self, message: str, rows: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.rows = tuple(int(r) for r in rows)


class TableError(SatCLIPError, ValueError):
    """A table (CSV/Parquet) cannot be read or written as asked; the message names the file and column."""


class ConfigError(SatCLIPError, ValueError):
    """An invalid training or model config; the message names the key (e.g. ``train.max_epochs``)."""


class CheckpointError(SatCLIPError, ValueError):
    """A model file or checkpoint is missing, corrupt, untrusted or does not match its card."""


class DatasetError(SatCLIPError, ValueError):
    """A training dataset cannot be built from its spec."""


class DataPreparationError(SatCLIPError, RuntimeError):
    """Training data could not be prepared (imagery missing, bad sampling spec)."""


class AssetError(SatCLIPError, RuntimeError):
    """A data asset could not be fetched or failed its checksum."""


class AssetMissingError(AssetError, FileNotFoundError):
    """An asset is not in the cache; the message says how to fetch it."""


class MissingExtraError(SatCLIPError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


class NotFittedError(SatCLIPError, ValueError, AttributeError):
    """A featurizer used before ``fit`` (the same builtin bases as scikit-learn's NotFittedError)."""


class TaskError(TableError):
    """A downstream task that cannot be evaluated meaningfully (raised before any probe runs)."""


class DownloadError(CheckpointError):
    """A released model could not be downloaded or converted; the message says why and what to run."""


class ModelNotDownloadedError(CheckpointError, FileNotFoundError):
    """A released model's name was asked for but it is not on disk; the message gives the command to run."""


class CacheEntryError(SatCLIPError, ValueError):
    """A cache entry that fails validation (unreadable, truncated, wrong shape/dtype, non-finite, checksum)."""


class DeviceError(SatCLIPError, ValueError):
    """A device string torch does not know, or a device this machine does not have."""


class PinError(TableError):
    """A pin table or pin file that cannot be used (format, columns, values); names the row or feature."""


class LabelError(SatCLIPError, ValueError):
    """Labelled pins that cannot train a classifier (fewer than two classes, empty names, bad rows)."""
