"""What the hybrid learns around its SVD factors.

- :func:`fit_ridge`: a ridge map from content features to factors, learnt on
  products with interactions, which gives products without any (a launch)
  factors of their own;
- :func:`client_factor_moments`: the mean and spread of folded-in client
  vectors (a taste profile is a deviation from the average client);
- :func:`factor_labels`: the product attributes that load most on each factor,
  in each direction (how a factor is named on the client page).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from core.engine.config import EngineConfig
from core.engine.transitions import NextSteps

#: Feature prefixes that never name a taste (season codes, description words).
_UNLABELLED = ("collection=", "word=", "visual:")  # an image dimension names nothing
N_LABEL = 5


@dataclass(frozen=True)
class ItemSide:
    """What the hybrid needs from the interaction matrix, all products-sized.

    Attributes
    ----------
    item_factors : ndarray, shape (n_products, k)
        Right singular vectors (zero rows for products without interactions).
    singular_values : ndarray, shape (k,)
    counts : ndarray, shape (n_products,)
        Clients with a cell per product.
    similarity : csr_matrix, shape (n_products, n_products)
        The item-neighbour block's ``S``.
    factor_moments : callable
        ``factor_moments(V)``: mean and spread of the clients' factors ``x V``
        for the final item factors ``V`` (known only once the content side
        is learnt: :func:`shrink_to_content`); one pass over the client rows.
    sequence : NextSteps
        The next-step block's ``T`` and weight factor (:func:`core.engine.transitions.next_steps`).
    """

    item_factors: np.ndarray
    singular_values: np.ndarray
    counts: np.ndarray
    similarity: sp.csr_matrix
    factor_moments: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
    sequence: NextSteps


def short_label(feature: str) -> str:
    """``material=cashmere`` -> ``cashmere``; ``price_band=5`` -> ``price band 5``."""
    key, _, value = feature.partition("=")
    return f"price band {value}" if key == "price_band" else value or key


def fit_ridge(
    features: sp.csr_matrix, factors: np.ndarray, counts: np.ndarray, config: EngineConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Ridge map features -> factors, learnt on products with interactions.

    The exact ridge solution ``(X'X + alpha I) W = X'V`` (a constant column
    of ``X`` stands for the intercept and is penalised like the others, as
    scikit-learn's ``Ridge(fit_intercept=False)`` does), solved by a sparse
    LU factorisation (SuperLU, minimum-degree ordering of the symmetric
    ``X'X``). Product features are block-sparse (one-hot attributes, a few
    description words each), so ``X'X`` is too: on Complete Journey's
    20,000 products x 6,100 features it holds 0.6 % of its cells and the
    sparse solve takes a fifth of the dense Cholesky's time, with the same
    coefficients to 1e-12.
    """
    n_features, k = features.shape[1], factors.shape[1]
    train = np.flatnonzero(counts > 0)
    if train.size < 2 or n_features == 0:
        mean = factors[train].mean(axis=0) if train.size else np.zeros(k)
        return np.zeros((n_features, k)), mean
    x = sp.hstack([features[train], np.ones((train.size, 1))], format="csr", dtype=np.float64)
    gram = (x.T @ x + config.ridge_alpha * sp.identity(n_features + 1)).tocsc()
    rhs = np.asarray(x.T @ np.asarray(factors[train], dtype=np.float64))
    coef = splu(gram, permc_spec="MMD_AT_PLUS_A").solve(rhs)  # (n_features + 1, k)
    return np.ascontiguousarray(coef[:-1]), np.ascontiguousarray(coef[-1])


def shrink_to_content(
    factors: np.ndarray, predicted: np.ndarray, counts: np.ndarray, shrinkage: float
) -> np.ndarray:
    """Each product's factors pulled towards the factors its content predicts.

    ``c_i v_i + (1 - c_i) r_i`` with ``c_i = n_i / (n_i + shrinkage)``: a
    product ``n_i`` clients touched keeps its own SVD factors ``v_i`` in
    proportion to that support, and takes the rest from ``r_i``, the ridge
    map's factors for its content (:func:`fit_ridge`). A product nobody touched
    (``n_i = 0``) gets ``r_i`` alone; ``shrinkage = 0`` keeps the own factors
    of every touched product.

    Parameters
    ----------
    factors, predicted : ndarray, shape (n_products, k)
    counts : ndarray, shape (n_products,)
        Clients with a cell per product.
    shrinkage : float
        Clients at which both weigh the same (>= 0).

    Returns
    -------
    ndarray, shape (n_products, k), float64
    """
    n = np.asarray(counts, dtype=np.float64)
    keep = np.divide(n, n + shrinkage, out=np.zeros_like(n), where=(n + shrinkage) > 0)
    keep[n <= 0] = 0.0
    own = np.asarray(factors, dtype=np.float64)
    return np.asarray(keep[:, None] * own + (1.0 - keep)[:, None] * predicted, dtype=np.float64)


def client_factor_moments(
    matrix: sp.csr_matrix, factors: np.ndarray, chunk: int = 200_000
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of ``x V`` over clients with history."""
    return factor_moments(factor_sums(matrix, factors, chunk))


def factor_sums(matrix: sp.csr_matrix, factors: np.ndarray, chunk: int = 200_000) -> np.ndarray:
    """``[n, sum of u, sum of u**2]`` over the rows with history (``u = x V``), shape (1 + 2k,).

    Sums over row blocks add up, so :func:`factor_moments` of the total is
    the moments of the whole matrix.
    """
    k = factors.shape[1]
    active = np.flatnonzero(np.diff(matrix.indptr) > 0)
    total, total_sq = np.zeros(k), np.zeros(k)
    for start in range(0, active.size, chunk):
        u = np.asarray(matrix[active[start : start + chunk]] @ factors)
        total += u.sum(axis=0)
        total_sq += (u**2).sum(axis=0)
    return np.concatenate([[float(active.size)], total, total_sq])


def factor_moments(sums: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation from :func:`factor_sums` (zeros and ones without history)."""
    k = (sums.size - 1) // 2
    n = sums[0]
    if n <= 0:
        return np.zeros(k), np.ones(k)
    mean = sums[1 : 1 + k] / n
    var = np.maximum(sums[1 + k :] / n - mean**2, 0.0)
    return mean, np.sqrt(var)


def factor_labels(
    features: sp.csr_matrix, factors: np.ndarray, names: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per factor, the features most correlated with it (each direction).

    Returns
    -------
    labels : ndarray of int, shape (k, 2, 5)
        Feature indices (-1 pads), positive direction then negative.
    loadings : ndarray, shape (n_features, k)
        Correlation of each feature with each factor over known products.
    """
    m, k = factors.shape
    n_features = features.shape[1]
    labels = np.full((k, 2, N_LABEL), -1, dtype=np.int64)
    if m < 3 or n_features == 0:
        return labels, np.zeros((n_features, k))
    f_mean = np.asarray(features.mean(axis=0)).ravel()
    f_sq = np.asarray(features.multiply(features).mean(axis=0)).ravel()
    f_std = np.sqrt(np.maximum(f_sq - f_mean**2, 0.0))
    v_mean, v_std = factors.mean(axis=0), factors.std(axis=0)
    cov = np.asarray(features.T @ factors) / m - np.outer(f_mean, v_mean)
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = cov / np.outer(f_std, v_std)
    corr = np.nan_to_num(corr)
    # Rare features correlate by accident: ask for a little support.
    support = np.asarray((features != 0).sum(axis=0)).ravel()
    named = np.array([not str(n).startswith(_UNLABELLED) for n in names], dtype=bool)
    usable = (support >= max(3, int(0.002 * m))) & named
    masked = np.where(usable[:, None], corr, 0.0)
    for f in range(k):
        for d, col in enumerate((masked[:, f], -masked[:, f])):
            order = np.argsort(-col, kind="stable")[:N_LABEL]
            order = order[col[order] > 0]
            labels[f, d, : order.size] = order
    return labels, corr
