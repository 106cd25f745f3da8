"""How the hybrid's blocks are put on one scale: per-client spreads, history share, priors.

A block's raw scores (an SVD dot product, an item-neighbour sum, a cosine, a
trend) live on scales that differ by orders of magnitude between blocks, and
between data sets for the same block. The hybrid divides each block by its
*spread for this client*: the standard deviation of the block's scores over
the whole catalogue. A block is then heard in proportion to how far it lifts a
product above the client's other products, whatever its units -- the
per-client standardisation of the z-scored blends that beat single models on
real data. The mean a standardisation would subtract is one number per client
and block, the same for every product, so leaving it out changes no ranking
and keeps every score an exact sum of its parts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp


def row_spread(scores: np.ndarray) -> np.ndarray:
    """Standard deviation of each row over its columns, shape (n_rows,), float64."""
    scores = np.asarray(scores, dtype=np.float64)
    n = scores.shape[1]
    if n == 0:
        return np.zeros(scores.shape[0])
    # Two passes, as numpy's std, with less overhead (one request computes three).
    d = scores - scores.sum(axis=1, keepdims=True) / n
    return np.asarray(np.sqrt(np.einsum("ij,ij->i", d, d) / n))


def sparse_row_spread(m: sp.csr_matrix) -> np.ndarray:
    """:func:`row_spread` of a sparse matrix (its implicit zeros included)."""
    n = m.shape[1]
    if n == 0:
        return np.zeros(m.shape[0])
    data = m.data.astype(np.float64)
    rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
    total = np.bincount(rows, weights=data, minlength=m.shape[0])
    total_sq = np.bincount(rows, weights=data**2, minlength=m.shape[0])
    mean = total / n
    return np.asarray(np.sqrt(np.maximum(total_sq / n - mean**2, 0.0)))


def per_spread(weight: float | np.ndarray, spread: np.ndarray) -> np.ndarray:
    """``weight / spread``, 0 where a block does not vary (it cannot rank anything)."""
    spread = np.asarray(spread, dtype=np.float64)
    weight = np.asarray(weight, dtype=np.float64)  # broadcast against spread
    # A spread this small is float noise on a constant block, not a preference.
    ok = spread > 1e-12
    return np.asarray(np.divide(weight, spread, out=np.zeros_like(spread), where=ok))


def history_share(strength: np.ndarray, blend_k: float) -> np.ndarray:
    """``h / (h + blend_k)``: how much of their weight the collaborative blocks get.

    With ``blend_k = 0`` every client with any history gets all of it.
    """
    h = np.asarray(strength, dtype=np.float64)
    denom = h + blend_k
    return np.divide(h, denom, out=np.zeros_like(h), where=(denom > 0) & (h > 0))


def scaled(v: np.ndarray) -> np.ndarray:
    """``v`` divided by its maximum (zeros when it has no positive value)."""
    top = float(v.max()) if v.size else 0.0
    return v / top if top > 0 else np.zeros_like(v, dtype=np.float64)


def new_arrivals(launch: pd.Series, as_of: pd.Timestamp, days: float) -> np.ndarray:
    """Positions of the products launched within ``days`` of ``as_of``, before or after it."""
    dates = pd.to_datetime(launch, errors="coerce")
    age = (pd.Timestamp(as_of) - dates) / pd.Timedelta(days=1)
    return np.flatnonzero((age.abs() <= days).to_numpy(dtype=bool, na_value=False))


def binary_rows(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """1 for each positive cell of ``matrix`` (a client's past products), float64."""
    out = sp.csr_matrix(matrix, dtype=np.float64, copy=True)
    out.data = (out.data > 0).astype(np.float64)
    out.eliminate_zeros()
    return out
