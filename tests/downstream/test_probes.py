"""Probes: ridge recovers linear targets and picks alpha by LOO; MLP learns non-linear targets;
targets are standardised from training data only; seeds are reproducible and independent."""

import numpy as np

from satclip.downstream.probes import MLPConfig, knn_fit_predict, mlp_fit_predict, ridge_fit_predict

RNG = np.random.default_rng(0)
X = RNG.normal(size=(600, 5)) * np.array([1, 10, 0.1, 5, 1])
W = np.array([2.0, -0.3, 10.0, 0.5, 0.0])
TRAIN, TEST = np.arange(450), np.arange(450, 600)


def r2(y, p):
    return 1 - ((y - p) ** 2).sum() / ((y - y.mean()) ** 2).sum()


def test_ridge_recovers_linear_target():
    y = X @ W + 3.0
    res = ridge_fit_predict(X, y, TRAIN, TEST, "regression")
    np.testing.assert_allclose(res.pred, y[TEST], atol=0.05)
    assert res.alpha <= 1.0


def test_ridge_shrinks_on_pure_noise():
    y = RNG.normal(size=600)
    res = ridge_fit_predict(X, y, TRAIN, TEST, "regression")
    assert res.alpha >= 1e3  # LOO prefers heavy shrinkage when features carry no signal
    assert abs(res.pred.mean() - y[TRAIN].mean()) < 0.2


def test_ridge_classifier_separable():
    y = (X[:, 0] > 0).astype(int) + 2 * (X[:, 3] > 0)
    pred = ridge_fit_predict(X, y, TRAIN, TEST, "classification", n_classes=4).pred
    assert (pred == y[TEST]).mean() > 0.9


def test_targets_standardised_from_training_data_only():
    y = X @ W
    y_leak = y.copy()
    y_leak[TEST] = 1e6  # test targets must never influence the fit
    for fn in (
        lambda t: ridge_fit_predict(X, t, TRAIN, TEST, "regression").pred,
        lambda t: mlp_fit_predict(X, t, [(TRAIN, TEST, 0)], "regression", config=MLPConfig(max_epochs=3))[0],
        lambda t: knn_fit_predict(X, t, TRAIN, TEST, "regression"),
    ):
        np.testing.assert_allclose(fn(y), fn(y_leak))


def test_mlp_learns_nonlinear_target_where_ridge_fails():
    x = np.random.default_rng(1).uniform(-3, 3, size=(1500, 1))
    y = np.sin(2 * x[:, 0]) * 3 + 1
    tr, te = np.arange(1200), np.arange(1200, 1500)
    pm = mlp_fit_predict(x, y, [(tr, te, 0)], "regression", config=MLPConfig(max_epochs=150, patience=20))[0]
    pr = ridge_fit_predict(x, y, tr, te, "regression").pred
    assert r2(y[te], pm) > 0.9 and r2(y[te], pr) < 0.3


def test_mlp_classification_and_seeds():
    y = (np.linalg.norm(X[:, [0, 4]], axis=1) > 1.2).astype(int)  # a ring: not linearly separable
    cfg = MLPConfig(max_epochs=60, patience=10, batch_size=128)
    members = [(TRAIN, TEST, 0), (TRAIN, TEST, 1), (TRAIN, TEST, 0)]
    p0, p1, p0b = mlp_fit_predict(X, y, members, "classification", n_classes=2, config=cfg)
    assert (p0 == y[TEST]).mean() > 0.85
    np.testing.assert_array_equal(p0, p0b)  # same seed, same fold -> same result
    alone = mlp_fit_predict(X, y, [(TRAIN, TEST, 1)], "classification", n_classes=2, config=cfg)[0]
    assert (alone == p1).mean() > 0.97  # a member does not depend on what it is batched with


def test_knn_classification():
    y = (X[:, 0] > 0).astype(int)
    pred = knn_fit_predict(X, y, TRAIN, TEST, "classification", k=5)
    assert (pred == y[TEST]).mean() > 0.85
