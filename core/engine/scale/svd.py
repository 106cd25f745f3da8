"""Truncated SVD of a tall sparse matrix held in row blocks, with products-sized passes only.

Randomized subspace iteration on the products side: start from a random
orthonormal ``Q`` (products x ``l``, ``l = k + oversampling``), then each
pass sends ``Q`` to every block, which returns ``A_b^T (A_b Q)``; the sum over
blocks is ``A^T A Q``, and a small QR on the driver orthonormalises it for
the next pass. A last pass gives ``G = Q^T A^T A Q`` (``l x l``), whose
eigenvectors rotate ``Q`` onto the right singular vectors and whose
eigenvalues are the squared singular values (Rayleigh-Ritz). No
clients-sized matrix exists anywhere: each block's ``A_b Q`` lives inside one
task. ``n_iter`` passes of ``A^T A`` are the ``n_iter`` power iterations of
Halko, Martinsson and Tropp (2011), the algorithm behind scikit-learn's
randomized ``TruncatedSVD``.

``dask.array.linalg.svd_compressed`` and dask-ml's ``TruncatedSVD`` are not
used: on sparse chunks their ``tensordot`` gathers a whole axis on one worker
(dask issue 6916, dask-ml issue 604).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from core.engine.scale.reduce import BlockReducer, LocalReducer


@dataclass(frozen=True)
class BlockSVD:
    """Right singular vectors and values of a row-blocked matrix.

    Attributes
    ----------
    item_factors : ndarray, shape (n_products, k)
        Orthonormal columns, by decreasing singular value; each column's
        largest-magnitude entry is positive (a deterministic sign).
    singular_values : ndarray, shape (k,)
    frobenius_sq : float
        ``||A||_F^2``, so ``(singular_values ** 2).sum() / frobenius_sq`` is
        the share of the matrix's energy the factors capture.
    """

    item_factors: np.ndarray
    singular_values: np.ndarray
    frobenius_sq: float

    @property
    def captured_energy(self) -> float:
        """Share of ``||A||_F^2`` in the ``k`` factors."""
        if self.frobenius_sq <= 0:
            return 0.0
        return float((self.singular_values**2).sum() / self.frobenius_sq)


def gram_pass(block: sp.csr_matrix, q: np.ndarray) -> np.ndarray:
    """``A_b^T (A_b Q)`` of one block, shape (n_products, l)."""
    return np.asarray(block.T @ (block @ q))


def frobenius_sq(block: sp.csr_matrix) -> np.ndarray:
    """``||A_b||_F^2`` as a 1-element array (so that block results add up)."""
    data = block.data.astype(np.float64)
    return np.array([float(data @ data)])


def block_svd(
    reducer: BlockReducer,
    n_products: int,
    k: int,
    *,
    n_oversamples: int = 10,
    n_iter: int = 5,
    seed: int = 0,
) -> BlockSVD:
    """Top-``k`` right singular vectors of the matrix whose row blocks ``reducer`` holds.

    Parameters
    ----------
    reducer : BlockReducer
        Maps over the row blocks (csr matrices, shape (n_rows_b, n_products)).
    n_products : int
        Columns of every block.
    k : int
        Factors wanted (clipped to ``n_products - 1``).
    n_oversamples, n_iter, seed
        Extra random directions, passes of ``A^T A`` and the seed of ``Q``.

    Returns
    -------
    BlockSVD

    Raises
    ------
    ValueError
        For ``k < 1``, ``n_iter < 1`` or fewer than two products.
    """
    if n_products < 2:
        raise ValueError(f"a truncated SVD needs at least two products, got {n_products}")
    if k < 1 or n_iter < 1:
        raise ValueError(f"k and n_iter must be at least 1, got k={k}, n_iter={n_iter}")
    k = min(k, n_products - 1)
    width = min(n_products, k + max(0, n_oversamples))
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n_products, width)))
    for _ in range(n_iter):
        q, _ = np.linalg.qr(reducer.map_sum(gram_pass, q))
    z = reducer.map_sum(gram_pass, q)
    gram = q.T @ z
    gram = (gram + gram.T) / 2.0  # symmetric up to rounding
    values, vectors = np.linalg.eigh(gram)
    order = np.argsort(values)[::-1][:k]
    sigma = np.sqrt(np.clip(values[order], 0.0, None))
    factors = q @ vectors[:, order]
    # Deterministic signs: the largest-magnitude entry of each column is positive.
    pivot = np.argmax(np.abs(factors), axis=0)
    factors *= np.sign(factors[pivot, np.arange(factors.shape[1])])
    energy = float(reducer.map_sum(frobenius_sq)[0])
    return BlockSVD(np.ascontiguousarray(factors), sigma, energy)


def in_memory_svd(
    matrix: sp.csr_matrix,
    k: int,
    *,
    n_blocks: int = 1,
    n_oversamples: int = 10,
    n_iter: int = 5,
    seed: int = 0,
) -> BlockSVD:
    """:func:`block_svd` of a matrix held in this process, cut into ``n_blocks`` row blocks.

    The one-process run of the distributed algorithm (same arithmetic, same seed).
    """
    bounds = np.linspace(0, matrix.shape[0], max(1, n_blocks) + 1).astype(int)
    blocks = [matrix[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    return block_svd(
        LocalReducer(blocks),
        matrix.shape[1],
        k,
        n_oversamples=n_oversamples,
        n_iter=n_iter,
        seed=seed,
    )
