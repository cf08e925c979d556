"""``SatCLIPFeaturizer``: location embeddings as a scikit-learn transformer (usable in a Pipeline)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from satclip.encoder import Encoder
from satclip.geo import validate_lonlat
from satclip.registry import DEFAULT_MODEL


class SatCLIPFeaturizer(TransformerMixin, BaseEstimator):
    """Turn (lon, lat) degrees into SatCLIP embeddings.

    ``X`` is a DataFrame with ``lon_col``/``lat_col`` columns or an (N, 2) array of (lon, lat).
    ``model`` is a bundled name, a model file path, or a loaded :class:`~satclip.encoder.Encoder`.
    The model is loaded in ``fit`` (no training happens: the encoder is frozen).
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
        from satclip.registry import load

        self.encoder_ = self.model if isinstance(self.model, Encoder) else load(self.model, device=self.device)
        self.n_features_in_ = 2
        return self

    def _coords(self, X: Any) -> np.ndarray:
        if isinstance(X, pd.DataFrame):
            return validate_lonlat(X, wrap=self.wrap, lon_col=self.lon_col, lat_col=self.lat_col)
        return validate_lonlat(X, wrap=self.wrap)

    def transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "encoder_")
        return self.encoder_.embed(self._coords(X), batch_size=self.batch_size)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "encoder_")
        return np.array([f"satclip_{i}" for i in range(self.encoder_.dim)], dtype=object)
