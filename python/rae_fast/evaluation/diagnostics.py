"""How much a set of representations holds, and how much two sets share (numpy only).

* :func:`effective_dimensionality` -- ``exp`` of the entropy of the normalised PCA spectrum:
  the number of equally strong directions that would give the same spread (1 when everything
  lies on a line, ``d`` for isotropic data).
* :func:`representation_statistics` -- that, the variance share of the top components, the
  components needed for 80 % / 90 % of the variance and the fraction of saturated tanh values.
* :func:`linear_predictability` -- cross-validated ridge regression R^2 of one set from
  another (same instances): 1 means the second set is a linear function of the first, so
  fusing them adds nothing a linear classifier could not already see.

Multi-dimensional features (f-rae's ``(time, R)``) are flattened per instance.

>>> rng = np.random.default_rng(0)
>>> a = rng.standard_normal((200, 3)) @ rng.standard_normal((3, 50))
>>> round(effective_dimensionality(a), 1) <= 3.0
True
>>> linear_predictability(a, a @ rng.standard_normal((50, 20))) > 0.99
True
"""
from __future__ import annotations

from typing import Dict, Sequence

import numpy as np

from .._validation import check_float, check_int

__all__ = ["effective_dimensionality", "representation_statistics", "linear_predictability",
           "pairwise_predictability", "ALPHAS"]


def _matrix(x, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim < 2:
        raise ValueError(f"{name} must hold one row per instance (2-D or more), got shape "
                         f"{a.shape}")
    a = a.reshape(a.shape[0], -1)
    if a.shape[0] < 2:
        raise ValueError(f"{name} needs at least 2 instances, got {a.shape[0]}")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} contains NaN or Inf")
    return a


def _spectrum(a: np.ndarray) -> np.ndarray:
    c = a - a.mean(axis=0)
    s = np.linalg.svd(c, compute_uv=False)
    return s ** 2 / max(1, a.shape[0] - 1)


def effective_dimensionality(x) -> float:
    """``exp(H(p))`` with ``p`` the PCA eigenvalues of ``x`` ``(n, d)`` divided by their sum.

    >>> effective_dimensionality(np.eye(4))      # 4 equally spread directions (centred: 3)
    3.0000000000000004
    """
    lam = _spectrum(_matrix(x, "x"))
    total = lam.sum()
    if total <= 0:
        return 0.0
    p = lam[lam > 0] / total
    return float(np.exp(-(p * np.log(p)).sum()))


def representation_statistics(x, top: int = 10, saturation: float = 0.99) -> Dict[str, float]:
    """Summary of a representation set ``x`` ``(n, ...)``.

    Returns ``effective_dimensionality``, ``variance_top`` (share of the variance in the
    ``top`` largest components), ``components_80`` / ``components_90`` (components needed for
    80 % / 90 % of the variance), ``saturated_fraction`` (share of values with ``|v| >
    saturation``), ``dimensions`` and ``n_instances``.

    >>> representation_statistics(np.eye(5))["components_80"]
    4
    """
    a = _matrix(x, "x")
    check_int(top, "top", 1)
    check_float(saturation, "saturation", 0.0, 1.0)
    lam = _spectrum(a)
    total = lam.sum()
    share = np.cumsum(lam) / total if total > 0 else np.ones_like(lam)
    return {"effective_dimensionality": effective_dimensionality(a),
            "variance_top": float(share[min(top, len(share)) - 1]),
            "components_80": int(np.searchsorted(share, 0.8 - 1e-12) + 1),
            "components_90": int(np.searchsorted(share, 0.9 - 1e-12) + 1),
            "saturated_fraction": float(np.mean(np.abs(a) > saturation)),
            "dimensions": int(a.shape[1]), "n_instances": int(a.shape[0])}


def _ridge_fit_predict(xa, ya, xb, alpha):
    mx, my = xa.mean(axis=0), ya.mean(axis=0)
    xa, xb, ya = xa - mx, xb - mx, ya - my
    n, d = xa.shape
    if d > n:     # dual form: W = X^T (X X^T + a I)^-1 Y
        k = xa @ xa.T + alpha * np.eye(n)
        w = xa.T @ np.linalg.solve(k, ya)
    else:
        w = np.linalg.solve(xa.T @ xa + alpha * np.eye(d), xa.T @ ya)
    return xb @ w + my


#: Ridge penalties tried when ``alpha=None`` (standardised inputs).
ALPHAS = tuple(float(a) for a in np.logspace(-1, 5, 7))


def linear_predictability(source, target, alpha=None, folds: int = 5, seed: int = 0) -> float:
    """Cross-validated R^2 of a ridge regression predicting ``target`` from ``source``.

    Both ``(n, ...)`` with the same instances in the same order; columns of ``source`` are
    standardised (statistics of the training folds). ``R^2 = 1 - SSE / SST`` summed over all
    target columns (so strong columns count more), predictions from ``folds`` random folds.
    ``alpha=None`` tries the penalties :data:`ALPHAS` and returns the best R^2 (a similarity
    measure, slightly optimistic); a number uses that penalty only.

    >>> rng = np.random.default_rng(1)
    >>> a = rng.standard_normal((100, 5))
    >>> round(linear_predictability(a, rng.standard_normal((100, 3))), 1) <= 0.0
    True
    """
    xs, ys = _matrix(source, "source"), _matrix(target, "target")
    if xs.shape[0] != ys.shape[0]:
        raise ValueError(f"source and target must hold the same instances, got "
                         f"{xs.shape[0]} and {ys.shape[0]}")
    alphas = ALPHAS if alpha is None else (check_float(alpha, "alpha", 0.0, strict_min=True),)
    n = xs.shape[0]
    folds = check_int(folds, "folds", 2, n)
    fold_of = np.random.default_rng(seed).permutation(n) % folds
    sst = float(((ys - ys.mean(axis=0)) ** 2).sum())
    if sst <= 0:
        return float("nan")
    best = -np.inf
    for a in alphas:
        pred = np.empty_like(ys)
        for f in range(folds):
            tr, te = fold_of != f, fold_of == f
            mu, sd = xs[tr].mean(axis=0), xs[tr].std(axis=0)
            sd[sd < 1e-12] = 1.0
            pred[te] = _ridge_fit_predict((xs[tr] - mu) / sd, ys[tr], (xs[te] - mu) / sd, a)
        best = max(best, 1.0 - float(((ys - pred) ** 2).sum()) / sst)
    return float(best)


def pairwise_predictability(sets: Sequence, names: Sequence[str], alpha=None,
                            folds: int = 5) -> list:
    """:func:`linear_predictability` for every ordered pair of ``sets``: a list of
    ``{"from": name, "to": name, "r2": value}``."""
    if len(sets) != len(names):
        raise ValueError("sets and names must have the same length")
    out = []
    for i, a in enumerate(sets):
        for j, b in enumerate(sets):
            if i != j:
                out.append({"from": names[i], "to": names[j],
                            "r2": linear_predictability(a, b, alpha, folds)})
    return out
