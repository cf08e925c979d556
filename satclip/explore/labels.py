"""Click-to-label classifier: a probe fitted on the embeddings of a few labelled pins, painted over the globe.

``label_map(grid, lonlat, labels, encoder)`` fits a scikit-learn logistic regression (standardised
features) or k-nearest-neighbour probe on the pins' embeddings, predicts every grid cell's class
probabilities, and reports held-out accuracy by stratified k-fold cross-validation over the pins (the
spread is the standard deviation over folds). Its :class:`LabelMap` renders a class map and an
uncertainty map (entropy of the probabilities, 0 = certain, 1 = uniform) and exports GeoTIFF and tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from satclip.cache import atomic_path
from satclip.errors import LabelError
from satclip.explore.export import write_geotiff
from satclip.explore.grid import EmbeddingGrid
from satclip.explore.render import CATEGORICAL, Legend, MapImage, colorize, to_mercator
from satclip.explore.similarity import embed_points
from satclip.geo import validate_lonlat

PROBES = ("logistic", "knn")
PALETTE = tuple("#" + c for c in (*CATEGORICAL[::2], *CATEGORICAL[1::2]))  # strong colours first
MAX_FOLDS = 5


def make_probe(probe: str = "logistic", k: int = 5) -> Any:
    """An unfitted scikit-learn classifier: standardised features, then logistic regression or k-NN."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if probe == "logistic":
        return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    if probe == "knn":
        return make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=k, weights="distance"))
    raise LabelError(f"unknown probe {probe!r}; choose from {', '.join(PROBES)}")


def check_labels(labels: Any) -> tuple[np.ndarray, list[str]]:
    """(class id per pin, class names sorted) after checking there are >= 2 named classes."""
    lab = pd.Series(labels, dtype=object)
    empty = np.flatnonzero(lab.isna().to_numpy() | (lab.astype(str).str.strip() == "").to_numpy())
    if empty.size:
        raise LabelError(f"pins without a class name at rows {empty[:10].tolist()}")
    names, y = np.unique(lab.astype(str).str.strip().to_numpy(), return_inverse=True)
    if len(names) < 2:
        raise LabelError(
            f"need pins of at least two classes; all {len(lab)} pins are {names[0]!r}"
            if len(names)
            else "need pins of at least two classes; there are none"
        )
    return y.astype(np.int64), [str(n) for n in names]


@dataclass
class HeldOut:
    """Stratified k-fold accuracy over the pins: mean, standard deviation over folds, folds, pins."""

    accuracy: float
    std: float
    folds: int
    n: int

    def text(self) -> str:
        return f"{self.accuracy:.1%} +- {self.std:.1%} held-out accuracy ({self.folds}-fold CV over {self.n} pins)"


def held_out_accuracy(
    X: np.ndarray, y: np.ndarray, probe: str = "logistic", k: int = 5, seed: int = 0
) -> HeldOut | None:
    """Cross-validated accuracy of the probe on the pins, or None when a class has fewer than 2 pins."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    smallest = int(np.bincount(y).min())
    if smallest < 2:
        return None
    folds = min(MAX_FOLDS, smallest)
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    kk = max(1, min(k, int(len(y) * (folds - 1) / folds)))
    scores = cross_val_score(make_probe(probe, kk), X, y, cv=cv)
    return HeldOut(float(scores.mean()), float(scores.std()), folds, len(y))


@dataclass(eq=False)
class LabelMap:
    """Class probabilities of every grid cell (``proba`` (n_cells, C)), the classes and the held-out score."""

    grid: EmbeddingGrid
    classes: list[str]
    proba: np.ndarray
    held_out: HeldOut | None
    probe: str

    @property
    def predicted(self) -> np.ndarray:
        """Most likely class id of each cell."""
        return self.proba.argmax(axis=1)

    @property
    def confidence(self) -> np.ndarray:
        """Probability of the most likely class of each cell."""
        return self.proba.max(axis=1)

    @property
    def uncertainty(self) -> np.ndarray:
        """Entropy of each cell's class probabilities divided by log(C): 0 = certain, 1 = uniform."""
        p = np.clip(self.proba, 1e-12, 1.0)
        return (-(p * np.log(p)).sum(axis=1) / np.log(len(self.classes))).astype(np.float32)

    def colors(self) -> list[str]:
        """Hex colour of each class."""
        return [PALETTE[i % len(PALETTE)] for i in range(len(self.classes))]

    def class_image(self, opacity: float = 1.0, land_only: bool = False) -> MapImage:
        """Class map (one colour per class) in Web Mercator for a Leaflet overlay."""
        palette = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in self.colors()], dtype=np.uint8)
        keep = self.grid.land if land_only else np.ones(self.grid.n_cells, bool)
        f = self.grid.to_field(np.where(keep, self.predicted, -1).astype(np.int16), fill=-1)
        rgba = np.zeros((*f.shape, 4), np.uint8)
        valid = f >= 0
        rgba[valid, :3] = palette[f[valid]]
        rgba[valid, 3] = round(255 * opacity)
        return MapImage(rgba=to_mercator(rgba, self.grid.resolution, self.grid.bounds[3]))

    def uncertainty_image(self, opacity: float = 1.0, land_only: bool = False) -> MapImage:
        """Uncertainty (normalised entropy, 0..1) in Web Mercator with its legend."""
        u = np.where(self.grid.land, self.uncertainty, np.nan) if land_only else self.uncertainty
        rgba = colorize(self.grid.to_field(u), "viridis", 0.0, 1.0, opacity=opacity)
        return MapImage(
            rgba=to_mercator(rgba, self.grid.resolution, self.grid.bounds[3]),
            legend=Legend("viridis", 0.0, 1.0, "uncertainty (entropy / log C)"),
        )

    def table(self) -> pd.DataFrame:
        """One row per grid cell: lon, lat, class, confidence, uncertainty and p_<class> per class."""
        pts = self.grid.points
        out = pd.DataFrame(
            {
                "lon": pts[:, 0],
                "lat": pts[:, 1],
                "class": np.asarray(self.classes, dtype=object)[self.predicted],
                "confidence": self.confidence.astype(np.float32),
                "uncertainty": self.uncertainty,
            }
        )
        for i, c in enumerate(self.classes):
            out[f"p_{c}"] = self.proba[:, i].astype(np.float32)
        return out

    def export_geotiff(self, path: str | Path) -> Path:
        """A float32 GeoTIFF: band 1 the class id (names in the band description), band 2 the uncertainty,
        then one probability band per class; NaN where the grid has no cell."""
        bands = [self.predicted.astype(np.float32), self.uncertainty, *self.proba.T.astype(np.float32)]
        cube = np.stack([self.grid.to_field(b) for b in bands], axis=2)
        names = [
            "class (" + ", ".join(f"{i}={c}" for i, c in enumerate(self.classes)) + ")",
            "uncertainty",
            *[f"p_{c}" for c in self.classes],
        ]
        west, _, _, north = self.grid.bounds
        return write_geotiff(
            path, cube, west=west, north=north, resolution=self.grid.resolution, nodata=float("nan"), band_names=names
        )

    def export_table(self, path: str | Path) -> Path:
        """Write :meth:`table` as Parquet (``.parquet``) or CSV (``.csv``), atomically."""
        p = Path(path)
        if p.suffix.lower() not in (".parquet", ".csv"):
            raise ValueError(f"unsupported table format {p.suffix!r}: use .parquet or .csv")
        with atomic_path(p) as tmp:
            if p.suffix.lower() == ".parquet":
                self.table().to_parquet(tmp, index=False, engine="pyarrow")
            else:
                self.table().to_csv(tmp, index=False, float_format="%.6g")
        return p


def label_map(
    grid: EmbeddingGrid,
    lonlat: Any,
    labels: Any,
    encoder: Any = None,
    probe: str = "logistic",
    k: int = 5,
    seed: int = 0,
) -> LabelMap:
    """Fit ``probe`` on labelled pins ((N, 2) lon/lat and N class names) and predict every grid cell.
    Pins are embedded exactly with ``encoder`` if given, else taken from their grid cells."""
    pts = validate_lonlat(lonlat)
    y, classes = check_labels(labels)
    if len(y) != len(pts):
        raise LabelError(f"{len(pts)} pins but {len(y)} labels")
    X = embed_points(pts, encoder, grid)
    model = make_probe(probe, max(1, min(k, len(y))))
    model.fit(X, y)
    proba = np.zeros((grid.n_cells, len(classes)), np.float32)
    step = 200_000  # bounded memory on fine grids
    for s in range(0, grid.n_cells, step):
        proba[s : s + step] = model.predict_proba(grid.embeddings[s : s + step].astype(np.float32))
    return LabelMap(grid, classes, proba, held_out_accuracy(X, y, probe, k, seed), probe)
