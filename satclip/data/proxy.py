"""Offline transfer check: does the location embedding carry what the ground looks like to unseen continents?

Until real land-cover labels are on disk (the downstream issue brings MODIS land cover), the classes
are a **proxy computed from the imagery itself**: k-means clusters of the mean colour of the
central pixels of each patch (about 0.3 deg for Blue Marble; finer than the 2 deg patch the image
features see). A linear probe is trained on points outside a continent and tested inside it
(Africa, South America, Asia; rough lon/lat boxes), once on the location embedding and once on
the frozen image features at the same points; the transfer ratio is the first score over the second.
"""

from __future__ import annotations

import numpy as np

# Rough boxes (lon_min, lon_max, lat_min, lat_max); Africa excludes Arabia (lon > 34 and lat > 12).
CONTINENTS: dict[str, tuple[float, float, float, float]] = {
    "africa": (-18.0, 52.0, -35.0, 37.5),
    "south_america": (-82.0, -34.0, -56.0, 13.0),
    "asia": (60.0, 150.0, -10.0, 80.0),
}


def continent_mask(lonlat: np.ndarray, name: str) -> np.ndarray:
    """Points inside the named continent box."""
    lo0, lo1, la0, la1 = CONTINENTS[name]
    lon, lat = lonlat[:, 0], lonlat[:, 1]
    inside = (lon >= lo0) & (lon <= lo1) & (lat >= la0) & (lat <= la1)
    if name == "africa":
        inside &= ~((lon > 34.0) & (lat > 12.0))
    return inside


def centre_colour(images: np.ndarray, window: int = 5, channels_last: bool = True) -> np.ndarray:
    """Mean of the central ``window`` x ``window`` pixels per image and channel, (N, C) float."""
    x = images if channels_last else np.moveaxis(images, 1, -1)
    h, w = x.shape[1:3]
    t, left = (h - window) // 2, (w - window) // 2
    return np.asarray(x[:, t : t + window, left : left + window], dtype=np.float64).mean(axis=(1, 2))


def colour_classes(colours: np.ndarray, k: int = 8, seed: int = 0) -> np.ndarray:
    """k-means (seeded) class of each colour vector: a land-cover proxy."""
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=k, n_init=4, random_state=seed).fit_predict(colours).astype(np.int64)


def _probe_accuracy(
    x_tr: np.ndarray, y_tr: np.ndarray, x_te: np.ndarray, y_te: np.ndarray, probe: str, seed: int
) -> float:
    from sklearn.linear_model import RidgeClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if probe == "linear":
        clf = RidgeClassifier(alpha=1.0)  # closed form: fast and deterministic
    elif probe == "mlp":
        clf = MLPClassifier((128,), max_iter=60, early_stopping=True, random_state=seed)
    else:
        raise ValueError(f"unknown probe {probe!r}; choose linear (ridge) or mlp")
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = make_pipeline(StandardScaler(), clf).fit(x_tr, y_tr)
    return float((model.predict(x_te) == y_te).mean())


def transfer_scores(
    loc_emb: np.ndarray,
    img_feats: np.ndarray,
    labels: np.ndarray,
    lonlat: np.ndarray,
    *,
    probe: str = "linear",
    seeds: tuple[int, ...] = (0,),
    min_points: int = 20,
) -> dict[str, float]:
    """Hold-out probe accuracies per continent for both inputs, their means, and the transfer ratio."""
    out: dict[str, float] = {}
    loc_acc, img_acc = [], []
    for name in CONTINENTS:
        test = continent_mask(lonlat, name)
        if test.sum() < min_points or (~test).sum() < min_points:
            continue
        a = np.mean(
            [_probe_accuracy(loc_emb[~test], labels[~test], loc_emb[test], labels[test], probe, s) for s in seeds]
        )
        b = np.mean(
            [_probe_accuracy(img_feats[~test], labels[~test], img_feats[test], labels[test], probe, s) for s in seeds]
        )
        out[f"{name}_loc"], out[f"{name}_img"] = float(a), float(b)
        loc_acc.append(a)
        img_acc.append(b)
    if loc_acc:
        out["holdout_loc"] = float(np.mean(loc_acc))
        out["holdout_img"] = float(np.mean(img_acc))
        out["transfer_ratio"] = out["holdout_loc"] / max(out["holdout_img"], 1e-12)
    return out
