"""``SatCLIPFeaturizer``: location embeddings as a scikit-learn transformer (usable in a Pipeline).

Part of the core install: with scikit-learn installed it is a full scikit-learn estimator (``clone``,
``get_params``, ``set_output``, Pipeline); without it, ``fit``/``transform`` still work, so a user of the
core package can embed DataFrames the same way.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from satclip.errors import NotFittedError
from satclip.geo import validate_lonlat
from satclip.inference import Encoder
from satclip.registry import DEFAULT_MODEL

if TYPE_CHECKING:
    from sklearn.base import BaseEstimator, TransformerMixin
else:
    try:
        from sklearn.base import BaseEstimator, TransformerMixin
    except ImportError:  # core install: no scikit-learn; the featurizer still fits and transforms

        class BaseEstimator:
            """Stand-in for scikit-learn's BaseEstimator: parameters are the ``__init__`` arguments."""

            def get_params(self, deep: bool = True) -> dict[str, Any]:
                import inspect

                names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
                return {name: getattr(self, name) for name in names}

            def set_params(self, **params: Any) -> Any:
                for name, value in params.items():
                    setattr(self, name, value)
                return self

        class TransformerMixin:
            """Stand-in for scikit-learn's TransformerMixin."""

            def fit_transform(self, X: Any, y: Any = None) -> Any:
                return self.fit(X, y).transform(X)


@functools.cache
def _not_fitted_error() -> type[NotFittedError]:
    """satclip's NotFittedError, also a scikit-learn NotFittedError when scikit-learn is installed, so that
    ``except`` of either catches it (the package's errors are all SatCLIPError; sklearn code expects its own)."""
    try:
        from sklearn.exceptions import NotFittedError as SkNotFitted
    except ImportError:
        return NotFittedError
    return type("NotFittedError", (NotFittedError, SkNotFitted), {"__module__": "satclip.errors"})


def _check_fitted(featurizer: Any) -> None:
    if not hasattr(featurizer, "encoder_"):
        raise _not_fitted_error()("this SatCLIPFeaturizer is not fitted yet: call fit first")


class SatCLIPFeaturizer(TransformerMixin, BaseEstimator):
    """Turn (lon, lat) degrees into SatCLIP embeddings.

    ``X`` is a DataFrame with ``lon_col``/``lat_col`` columns or an (N, 2) array of (lon, lat).
    ``model`` is a bundled name, a model file path, or a loaded :class:`~satclip.inference.Encoder`.
    The model is loaded in ``fit`` (no training happens: the encoder is frozen).

    Args:
        model: a model name (:func:`satclip.list_models`), a model file path, or a loaded Encoder.
        lon_col: longitude column of DataFrame input.
        lat_col: latitude column of DataFrame input.
        batch_size: points per forward pass.
        wrap: wrap longitudes outside [-180, 180] instead of raising.
        device: torch device of the model.

    Raises:
        CoordinateError: in ``transform``, for invalid coordinates (naming the rows).
        NotFittedError: ``transform`` before ``fit``.
    """

    def __init__(
        self,
        model: str | Encoder = DEFAULT_MODEL,
        lon_col: str = "lon",
        lat_col: str = "lat",
        batch_size: int = 8192,
        wrap: bool = False,
        device: str = "cpu",
    ) -> None:
        self.model = model
        self.lon_col = lon_col
        self.lat_col = lat_col
        self.batch_size = batch_size
        self.wrap = wrap
        self.device = device

    def fit(self, X: Any, y: Any = None) -> SatCLIPFeaturizer:
        """Load the model (nothing is trained: the encoder is frozen).

        Args:
            X: ignored (accepted for the scikit-learn API).
            y: ignored.

        Returns:
            This featurizer, with ``encoder_`` (the loaded Encoder) and ``n_features_in_`` (2) set.

        Raises:
            CheckpointError: ``model`` is neither a known name nor a loadable model file.
            ModelNotDownloadedError: ``model`` is a released model not downloaded yet.
        """
        from satclip.registry import load

        self.encoder_ = self.model if isinstance(self.model, Encoder) else load(self.model, device=self.device)
        self.n_features_in_ = 2
        return self

    def _coords(self, X: Any) -> np.ndarray:
        if isinstance(X, pd.DataFrame):
            return validate_lonlat(X, wrap=self.wrap, lon_col=self.lon_col, lat_col=self.lat_col)
        return validate_lonlat(X, wrap=self.wrap)

    def transform(self, X: Any) -> np.ndarray:
        """Embed the points of ``X``.

        Args:
            X: a DataFrame with ``lon_col``/``lat_col`` columns, or an (N, 2) array of (lon, lat) degrees.

        Returns:
            Float32 array (N, dim) of embeddings, one row per row of ``X``.

        Raises:
            CoordinateError: NaN, out-of-range or malformed coordinates, naming the rows.
            NotFittedError: called before ``fit`` (:class:`satclip.errors.NotFittedError`, and also
                scikit-learn's when it is installed).
        """
        _check_fitted(self)
        return self.encoder_.embed(self._coords(X), batch_size=self.batch_size)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the output columns, for ``set_output(transform="pandas")`` and Pipelines.

        Args:
            input_features: ignored (the input is always lon, lat).

        Returns:
            Object array ``["satclip_0", ..., "satclip_{dim-1}"]``.

        Raises:
            NotFittedError: called before ``fit``.
        """
        _check_fitted(self)
        return np.array([f"satclip_{i}" for i in range(self.encoder_.dim)], dtype=object)
