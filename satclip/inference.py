"""``Encoder``: a loaded location encoder with its model card, embedding any (lon, lat) in batches."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

from satclip.cache import content_hash
from satclip.devices import resolve_device
from satclip.geo import validate_lonlat
from satclip.nn.location_encoder import LocationEncoder

DEFAULT_BATCH_SIZE = 8192


@runtime_checkable
class EncoderLike(Protocol):
    """What code that embeds points needs from an encoder: :class:`Encoder`, the baselines of
    :mod:`satclip.baselines`, or anything :func:`satclip.zoo.resolve_encoder` returns."""

    @property
    def name(self) -> str:
        """The encoder's name, as reports and caches show it."""
        ...

    @property
    def dim(self) -> int:
        """Length of one embedding."""
        ...

    @property
    def fingerprint(self) -> str:
        """A hash of what determines the embeddings (weights, config); a cache key."""
        ...

    def embed(self, lonlat: Any, batch_size: int = ...) -> np.ndarray:
        """Embed points.

        Args:
            lonlat: (N, 2) array-like of (lon, lat) degrees.
            batch_size: points per batch (bounds memory).

        Returns:
            Array (N, dim), one row per point.
        """
        ...


class Encoder:
    """A location encoder ready for inference: ``embed((lon, lat) degrees) -> (N, dim) float32``.

    Made by :func:`satclip.load`; build one yourself only around a module you constructed.

    Args:
        module: the torch :class:`LocationEncoder`; moved to ``device`` and put in eval mode.
        card: the model card (name, L, dims, training data, provenance, metrics); deep-copied, and given
            ``config`` (from the module) and ``name`` (``"unnamed"``) when it lacks them.
        device: torch device to embed on (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``).

    Attributes:
        module: the :class:`LocationEncoder`, on ``device``, in eval mode.
        card: the model card dict.
        device: the resolved :class:`torch.device`.

    Raises:
        DeviceError: ``device`` is unknown or not available on this machine.
    """

    def __init__(self, module: LocationEncoder, card: dict[str, Any], device: str | torch.device = "cpu"):
        self.device = resolve_device(device)
        self.module = module.to(self.device).eval()
        self.card = copy.deepcopy(card)
        self.card.setdefault("config", module.config.to_dict())
        self.card.setdefault("name", "unnamed")
        self._fingerprint: str | None = None

    @property
    def dim(self) -> int:
        """Length of one embedding (the model's ``embed_dim``)."""
        return self.module.config.embed_dim

    @property
    def name(self) -> str:
        """The model's name from its card (``"unnamed"`` when the card has none)."""
        return str(self.card["name"])

    @property
    def fingerprint(self) -> str:
        """Hash of the weights and config (computed once); use it as a cache key."""
        if self._fingerprint is None:
            tensors = [t.detach().cpu().numpy() for t in self.module.state_dict().values()]
            self._fingerprint = content_hash(self.module.config.to_dict(), *tensors)
        return self._fingerprint

    def __repr__(self) -> str:
        c = self.module.config
        return f"Encoder(name={self.name!r}, L={c.L}, dim={self.dim}, dtype={self.module.dtype}, device={self.device})"

    @torch.no_grad()
    def embed(
        self,
        lonlat: Any,
        batch_size: int = DEFAULT_BATCH_SIZE,
        *,
        wrap: bool = False,
        lon_col: str | None = None,
        lat_col: str | None = None,
        dtype: Any = np.float32,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Embed (lon, lat) degrees -> array (N, dim).

        ``lonlat``: (N, 2) array-like of (lon, lat) degrees, a single pair, or a DataFrame with
        lon/lat columns (lon/lng/longitude, lat/latitude; ``lon_col``/``lat_col`` name others). Invalid rows raise
        :class:`satclip.geo.CoordinateError` naming them; ``wrap=True`` wraps longitudes outside
        [-180, 180] instead. Computed in the model's precision, ``batch_size`` points at a time
        (memory is bounded by the batch, whatever N), returned as ``dtype`` (float32 by default;
        ``np.float64`` keeps full precision of float64 models). ``progress(n_done)`` is called
        after each batch.

        Args:
            lonlat: (N, 2) (lon, lat) degrees, one pair, or a DataFrame with lon/lat columns.
            batch_size: points per forward pass (bounds memory).
            wrap: wrap longitudes outside [-180, 180] instead of raising.
            lon_col: the longitude column of a DataFrame, when it is not one of the usual names.
            lat_col: the latitude column of a DataFrame, when it is not one of the usual names.
            dtype: dtype of the returned array.
            progress: called with the number of points done after each batch.

        Returns:
            Array (N, dim) of ``dtype``.

        Raises:
            CoordinateError: NaN, out-of-range or malformed coordinates, naming the rows.
            ValueError: ``batch_size`` < 1.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        coords = validate_lonlat(lonlat, wrap=wrap, lon_col=lon_col, lat_col=lat_col)
        out = np.empty((coords.shape[0], self.dim), dtype=dtype)
        model_dtype = self.module.dtype
        for start in range(0, coords.shape[0], batch_size):
            stop = min(start + batch_size, coords.shape[0])
            batch = torch.from_numpy(coords[start:stop]).to(self.device, model_dtype)
            out[start:stop] = self.module(batch).cpu().numpy()
            if progress is not None:
                progress(stop)
        return out
