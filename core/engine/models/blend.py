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

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.engine.models.hybrid_kernels import sparse_quadratic_form

#: Largest column count whose Gram matrix :class:`BlockMoments` keeps (32 MB of float64).
MAX_GRAM_COLUMNS = 2048


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


def row_norms(m: sp.csr_matrix | np.ndarray) -> np.ndarray:
    """Euclidean norm of each row, shape (n_rows,), float64."""
    if not sp.issparse(m):
        dense = np.asarray(m, dtype=np.float64)
        return np.asarray(np.sqrt(np.einsum("ij,ij->i", dense, dense)))
    m = sp.csr_matrix(m)
    lengths = np.diff(m.indptr)
    sq = np.zeros(m.shape[0])
    nonempty = lengths > 0
    if nonempty.any():
        sq[nonempty] = np.add.reduceat(m.data.astype(np.float64) ** 2, m.indptr[:-1][nonempty])
    return np.sqrt(sq)


@dataclass(frozen=True)
class BlockMoments:
    """A block of scores ``X p`` known without computing it: its spread, and a bound per row.

    The SVD block (``X`` the item factors, ``p`` the client's factors) and the
    content block (``X`` the product features, ``p`` the client's profile) are
    each a pass over the whole catalogue; what weighing them needs is only
    their spread over it, and that follows from ``X``'s moments, kept once
    per model:

    - ``mean(Xp) = m . p`` and ``mean((Xp)^2) = p' (X'X / n) p``, with ``m``
      the column means;
    - and a bound per row from the ``rank`` leading directions ``Q`` of ``X'X``:
      ``X_i . p <= X_i Q . Q'p + |X_i - X_i QQ'| |p - QQ'p|`` (the projection
      exactly, Cauchy-Schwarz on what is left), with which a single client's
      ranking scores the content block only where it can reach the top
      (:mod:`core.engine.models.hybrid_kernels`). A client's profile lies
      mostly along those directions, so the bound is close: at M it lets
      about 50 of 20,000 products through where ``|X_i| |p|`` let 900.

    Attributes
    ----------
    mean : ndarray, shape (n_columns,)
    gram : ndarray, shape (n_columns, n_columns)
        ``X'X / n_rows``.
    basis : ndarray, shape (n_columns, rank)
        ``Q``, orthonormal columns.
    bound_by_column : ndarray, shape (rank + 1, n_rows)
        ``X Q``, then each row's residual norm: the bound is
        ``bound_by_column.T @ b`` with ``b`` from :meth:`bound_vector`, in
        exact arithmetic (a sum in floats adds its own rounding margin:
        :func:`~core.engine.models.hybrid_kernels.quantised_bounds`).
    """

    mean: np.ndarray
    gram: np.ndarray
    basis: np.ndarray
    bound_by_column: np.ndarray

    @classmethod
    def of(cls, x: sp.csr_matrix | np.ndarray, rank: int = 0) -> BlockMoments | None:
        """The moments of ``x`` (sparse or dense); ``None`` past :data:`MAX_GRAM_COLUMNS` columns.

        ``rank``: how many leading directions the per-row bound keeps (0:
        Cauchy-Schwarz's ``|X_i| |p|``).
        """
        n_rows, n_columns = x.shape
        if not n_rows or n_columns > MAX_GRAM_COLUMNS:
            return None
        if sp.issparse(x):
            f = sp.csr_matrix(x, dtype=np.float64)
            gram = np.asarray((f.T @ f).toarray())
        else:
            f = np.asarray(x, dtype=np.float64)
            gram = f.T @ f
        mean = np.asarray(f.sum(axis=0)).ravel() / n_rows
        rank = min(rank, n_columns)
        _, vectors = np.linalg.eigh(gram)
        basis = np.ascontiguousarray(vectors[:, ::-1][:, :rank])
        projected = np.asarray(f @ basis)
        square = row_norms(f) ** 2
        # |X_i - X_i QQ'|^2 = |X_i|^2 - |X_i Q|^2, rounded up past its cancellation.
        residual = np.sqrt(np.maximum(square - (projected**2).sum(axis=1), 0.0) + 1e-12 * square)
        return cls(mean, gram / n_rows, basis, np.vstack([projected.T, residual]))

    def spread(self, p: np.ndarray) -> np.ndarray:
        """Standard deviation of ``X @ p[r]`` over the rows of ``X``, for each row of ``p``.

        ``p``: shape (n_columns,) or (n, n_columns); returns shape (n,) (1 for
        a vector). A variance within float rounding of zero (a block that
        does not vary) is 0, as :func:`row_spread` gives for it.
        """
        p = np.asarray(p, dtype=np.float64)
        if p.ndim == 1:  # one client (a request): the same arithmetic on floats
            nonzero = np.flatnonzero(p)
            if nonzero.size * 2 < p.size:  # a content profile: G read where p is not zero
                sq = float(sparse_quadratic_form(self.gram, nonzero, p))
            else:
                sq = float(p @ (self.gram @ p))
            m = float(p @ self.mean)
            var = sq - m * m
            return np.array([0.0 if var <= 1e-12 * max(sq, 0.0) else math.sqrt(var)])
        mean = p @ self.mean
        square = np.einsum("ij,ij->i", p @ self.gram, p)
        variance = square - mean * mean
        flat = variance <= 1e-12 * np.maximum(square, 0.0)
        return np.where(flat, 0.0, np.sqrt(np.where(flat, 0.0, variance)))

    def bound_vector(self, p: np.ndarray) -> np.ndarray:
        """The vector ``b`` whose product with :attr:`bound_by_column` bounds ``X_i . p`` for every row:

        ``(Q'p, |p - QQ'p|)``.
        """
        q = self.basis.T @ p
        rest = p - self.basis @ q
        return np.concatenate([q, [np.sqrt(rest @ rest)]])


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
