"""Probes fitted on frozen embeddings: ridge (alpha by leave-one-out CV), k-NN, and an MLP with early
stopping trained for many (fold, seed) members at once.

Features and regression targets are standardised with the training side of each fold only;
predictions come back in the target's own units (regression) or as class ids (classification).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import torch

PROBES = ("ridge", "mlp", "knn")
DEFAULT_ALPHAS = tuple(float(a) for a in np.logspace(-3, 5, 9))


def _stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mu = x.mean(axis=0)
    sd = x.std(axis=0)
    return mu, np.where(sd > 1e-12, sd, 1.0)


def _onehot(y: np.ndarray, n_classes: int) -> np.ndarray:
    out = -np.ones((len(y), n_classes))
    out[np.arange(len(y)), y] = 1.0
    return out


@dataclass
class RidgeResult:
    pred: np.ndarray
    alpha: float


def ridge_fit_predict(
    X: np.ndarray,
    y: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    kind: str,
    n_classes: int = 0,
    alphas: tuple[float, ...] = DEFAULT_ALPHAS,
) -> RidgeResult:
    """Ridge regression (or one-vs-all ridge classification, targets +-1) with an intercept; alpha chosen
    by exact leave-one-out error over ``alphas`` (eigen-decomposition of the Gram matrix)."""
    mu, sd = _stats(X[train])
    Xtr = (X[train] - mu) / sd
    if kind == "regression":
        ymu, ysd = float(y[train].mean()), float(y[train].std() or 1.0)
        Y = ((y[train] - ymu) / ysd)[:, None]
    else:
        Y = _onehot(y[train], n_classes)
        ymu_c = Y.mean(axis=0)
        Y = Y - ymu_c
    evals, evecs = np.linalg.eigh(Xtr.T @ Xtr)
    evals = np.clip(evals, 0.0, None)
    Z = Xtr @ evecs  # (n, d)
    ZtY = Z.T @ Y  # (d, c)
    Z2 = Z**2
    Z32, ZtY32, Y32 = Z.astype(np.float32), ZtY.astype(np.float32), Y.astype(np.float32)  # LOO search in float32
    best = (np.inf, alphas[0])
    n = len(train)
    for a in alphas:
        inv = 1.0 / (evals + a)
        fitted = Z32 @ (ZtY32 * inv[:, None].astype(np.float32))
        hat = Z2 @ inv + 1.0 / n  # leverage incl. the (centred) intercept
        loo = ((Y32 - fitted) / (1.0 - hat).astype(np.float32)[:, None]) ** 2
        err = float(loo.mean())
        if err < best[0]:
            best = (err, a)
    a = best[1]
    coef = evecs @ (ZtY / (evals + a)[:, None])
    out = ((X[test] - mu) / sd) @ coef
    if kind == "regression":
        return RidgeResult(out[:, 0] * ysd + ymu, a)
    return RidgeResult(np.argmax(out + ymu_c, axis=1), a)


def knn_fit_predict(
    X: np.ndarray, y: np.ndarray, train: np.ndarray, test: np.ndarray, kind: str, k: int = 10
) -> np.ndarray:
    """k nearest neighbours (Euclidean on standardised features), mean or majority vote."""
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

    mu, sd = _stats(X[train])
    model = KNeighborsRegressor(k) if kind == "regression" else KNeighborsClassifier(k)
    model.fit((X[train] - mu) / sd, y[train])
    return model.predict((X[test] - mu) / sd)


@dataclass(frozen=True)
class MLPConfig:
    """MLP probe: hidden layers with ReLU, AdamW, early stopping on a held-out part of the training side."""

    hidden: tuple[int, ...] = (64,)
    lr: float = 5e-3
    weight_decay: float = 1e-4
    batch_size: int = 1024
    max_epochs: int = 40
    patience: int = 6
    val_fraction: float = 0.1


def _pad(arrays: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack index arrays of unequal length into (S, max_len) with a validity mask."""
    m = max(len(a) for a in arrays)
    idx = np.zeros((len(arrays), m), dtype=np.int64)
    mask = np.zeros((len(arrays), m), dtype=bool)
    for i, a in enumerate(arrays):
        idx[i, : len(a)] = a
        mask[i, : len(a)] = True
    return torch.from_numpy(idx), torch.from_numpy(mask)


Member = tuple[np.ndarray, np.ndarray, int] | tuple[np.ndarray, np.ndarray, int, np.ndarray]


def mlp_fit_predict(
    X: np.ndarray, y: np.ndarray, members: list[Member], kind: str, n_classes: int = 0, config: MLPConfig | None = None
) -> list[np.ndarray]:
    """Train one MLP per member ``(train_idx, test_idx, seed[, val_idx])``, all batched together; return test
    predictions.

    Each member draws its own validation subset (``val_fraction`` of its training rows, unless it gives
    ``val_idx``: then it fits on all of ``train_idx`` and stops early on ``val_idx``), initial weights and
    mini-batches from its seed, and keeps the weights of its best validation epoch (``patience``).
    """
    cfg = config or MLPConfig()
    S, d = len(members), X.shape[1]
    out_dim = 1 if kind == "regression" else n_classes
    # Standardise features per fold (training side only), once per distinct training set.
    fold_key: dict[int, int] = {}
    fold_X: list[torch.Tensor] = []
    member_fold, fit_idx, val_idx, ymus, ysds, gens, batch_gens = [], [], [], [], [], [], []
    for member in members:
        train, seed = member[0], member[2]
        given_val = member[3] if len(member) > 3 else None
        key = id(train)
        if key not in fold_key:
            mu, sd = _stats(X[train])
            fold_key[key] = len(fold_X)
            fold_X.append(torch.from_numpy(((X - mu) / sd).astype(np.float32)))
        member_fold.append(fold_key[key])
        rng = np.random.default_rng([seed, len(train), int(train[:50].sum())])
        perm = rng.permutation(train)
        if given_val is not None and len(given_val):
            val_idx.append(np.asarray(given_val))
            fit_idx.append(perm)
        else:
            n_val = max(1, round(cfg.val_fraction * len(train)))
            val_idx.append(perm[:n_val])
            fit_idx.append(perm[n_val:])
        ymus.append(float(y[train].mean()) if kind == "regression" else 0.0)
        ysds.append(float(y[train].std() or 1.0) if kind == "regression" else 1.0)
        gens.append(torch.Generator().manual_seed(int(rng.integers(2**62))))
        batch_gens.append(torch.Generator().manual_seed(int(rng.integers(2**62))))
    Xf = torch.stack(fold_X)  # (F, N, d)
    mf = torch.tensor(member_fold)[:, None]
    ymu_t = torch.tensor(ymus, dtype=torch.float32)[:, None]
    ysd_t = torch.tensor(ysds, dtype=torch.float32)[:, None]
    yt = torch.from_numpy(np.asarray(y, dtype=np.float32 if kind == "regression" else np.int64))

    sizes = [d, *cfg.hidden, out_dim]
    params: list[torch.Tensor] = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        bound = 1.0 / np.sqrt(fan_in)
        W = torch.stack([(torch.rand(fan_in, fan_out, generator=g) * 2 - 1) * bound for g in gens])
        b = torch.stack([(torch.rand(1, fan_out, generator=g) * 2 - 1) * bound for g in gens])
        params += [W.requires_grad_(), b.requires_grad_()]

    def forward(xb: torch.Tensor, ps: list[torch.Tensor]) -> torch.Tensor:
        h = xb
        for i in range(0, len(ps), 2):
            h = torch.baddbmm(ps[i + 1], h, ps[i])
            if i + 2 < len(ps):
                h = torch.relu(h)
        return h

    def loss_per_member(pred: torch.Tensor, idx: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if kind == "regression":
            target = (yt[idx] - ymu_t) / ysd_t
            err = (pred[..., 0] - target) ** 2
        else:
            err = torch.nn.functional.cross_entropy(pred.transpose(1, 2), yt[idx], reduction="none")
        return (err * mask).sum(1) / mask.sum(1)

    fit_pad, fit_mask = _pad(fit_idx)
    fit_len = fit_mask.sum(1)
    val_pad, val_mask = _pad(val_idx)
    xval = Xf[mf, val_pad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    best_loss = torch.full((S,), float("inf"))
    best = [p.detach().clone() for p in params]
    waited = torch.zeros(S, dtype=torch.long)
    steps = int(np.ceil(fit_len.max().item() / cfg.batch_size))
    ones = torch.ones(S, cfg.batch_size, dtype=torch.bool)
    epochs = 0
    for _ in range(cfg.max_epochs):
        epochs += 1
        for _ in range(steps):
            u = torch.stack([torch.rand(cfg.batch_size, generator=g) for g in batch_gens])
            pos = (u * fit_len[:, None]).long()
            idx = fit_pad.gather(1, pos)
            xb = Xf[mf, idx]
            loss = loss_per_member(forward(xb, params), idx, ones).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        with torch.no_grad():
            vl = loss_per_member(forward(xval, params), val_pad, val_mask)
            # a member that ran out of patience is frozen at its best epoch, so its result does not
            # depend on which other members share the batch
            improved = (vl < best_loss - 1e-6) & (waited < cfg.patience)
            best_loss = torch.where(improved, vl, best_loss)
            waited = torch.where(improved, torch.zeros_like(waited), torch.clamp(waited + 1, max=cfg.patience))
            for bp, p in zip(best, params, strict=True):
                bp[improved] = p[improved]
        if bool((waited >= cfg.patience).all()):
            break
    preds = []
    with torch.no_grad():
        for s, member in enumerate(members):
            test = member[1]
            xs = Xf[member_fold[s]][torch.from_numpy(test)][None]
            out = forward(xs, [p[s : s + 1] for p in best])[0]
            if kind == "regression":
                preds.append((out[:, 0] * ysd_t[s] + ymu_t[s]).numpy().astype(np.float64))
            else:
                preds.append(out.argmax(1).numpy())
    return preds


def score(kind: str, y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """R2/RMSE/MAE for regression, accuracy/macro-F1 for classification."""
    from sklearn.metrics import f1_score

    if kind == "regression":
        err = pred - y
        ss_tot = float(((y - y.mean()) ** 2).sum())
        return {
            "r2": 1.0 - float((err**2).sum()) / ss_tot if ss_tot > 0 else float("nan"),
            "rmse": float(np.sqrt((err**2).mean())),
            "mae": float(np.abs(err).mean()),
        }
    return {
        "accuracy": float((pred == y).mean()),
        "macro_f1": float(f1_score(y, pred, average="macro", zero_division=0)),
    }
