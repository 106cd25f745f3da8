"""The one exact top-k of the code base: scores in, best indices out.

Every ranking -- a model's ``recommend``, the suggestion pipeline's candidate
pool, the evaluation's lists -- goes through :func:`top_indices`, so ties,
``NaN`` and masked products are treated the same way everywhere: best first,
ties to the lower index, non-finite scores never returned. (One exception
keeps the same contract: the hybrid ranks one client in compiled passes
that score and select the top ``k`` themselves,
:mod:`core.engine.models.hybrid_kernels`, tested against this function.)
"""

from __future__ import annotations

import numpy as np

_SAMPLE_STRIDE = 16  # the 1-D pre-selection looks at every 16th score first


def top_indices(scores: np.ndarray, k: int, mask: np.ndarray | None = None) -> np.ndarray:
    """Indices of the ``k`` best finite ``scores``, best first (ties: lower index).

    Parameters
    ----------
    scores : ndarray, shape (n,) or (n_rows, n)
        ``-inf`` and ``NaN`` mark products that may not be returned.
    k : int
        How many at most.
    mask : ndarray of bool, same shape as ``scores``, optional
        Only where ``mask`` is true may an index be returned.

    Returns
    -------
    ndarray of int64
        1-D ``scores``: shape (m,) with ``m <= k`` (fewer when fewer are finite).
        2-D ``scores``: shape (n_rows, k), each row best first, padded with
        ``-1`` where a row has fewer than ``k`` finite scores.

    Raises
    ------
    ValueError
        When ``scores`` is neither 1-D nor 2-D, or ``mask`` has another shape.
    """
    scores = np.asarray(scores)
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != scores.shape:
            raise ValueError(
                f"mask has shape {mask.shape} but scores have shape {scores.shape}; "
                "pass one flag per score"
            )
        scores = np.where(mask, scores, -np.inf)
    if scores.ndim == 1:
        return _top_1d(scores, k)
    if scores.ndim == 2:
        return _top_2d(scores, k)
    raise ValueError(f"scores must be 1-D or 2-D, got shape {scores.shape}")


def _top_1d(scores: np.ndarray, k: int) -> np.ndarray:
    """Exact, and faster than a full ``argpartition`` on a large catalogue.

    The ``2k``-th best of every 16th score is a threshold that at least ``2k``
    scores reach, so the best ``k`` are among the scores at or above it, and
    only those few are partitioned.
    """
    n = scores.size
    k = min(k, n)
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    candidates = None
    m = 2 * k
    if n >= 8 * m * _SAMPLE_STRIDE:  # large enough for the sample to pay
        sample = scores[::_SAMPLE_STRIDE]
        sample = sample[np.isfinite(sample)]
        if sample.size >= m:
            threshold = np.partition(sample, sample.size - m)[sample.size - m]
            candidates = np.flatnonzero(scores >= threshold)
            candidates = candidates[np.isfinite(scores[candidates])]
    if candidates is None:
        candidates = np.flatnonzero(np.isfinite(scores))
    if candidates.size > k:
        sub = scores[candidates]
        part = np.argpartition(-sub, k - 1)[:k]
        # Ties at the k-th score: keep every tied candidate, the lexsort picks lower indices.
        kth = sub[part].min()
        candidates = candidates[sub >= kth]
    vals = scores[candidates]
    order = np.lexsort((candidates, -vals))[:k]
    return candidates[order].astype(np.int64, copy=False)


def _top_2d(scores: np.ndarray, k: int) -> np.ndarray:
    """Row-wise top-k of a block of scores, ``-1`` padded."""
    n, m = scores.shape
    if k <= 0:
        return np.zeros((n, 0), dtype=np.int64)
    kk = min(k, m)
    clean = np.where(np.isfinite(scores), scores, -np.inf)
    if kk < m:
        part = np.argpartition(-clean, kk - 1, axis=1)[:, :kk]
        # Ties at the k-th score of a row: widen to every tied column, then sort.
        kth = np.take_along_axis(clean, part, axis=1).min(axis=1, keepdims=True)
        tied = (clean == kth).sum(axis=1) > (np.take_along_axis(clean, part, axis=1) == kth).sum(
            axis=1
        )
        if tied.any():
            rows = np.flatnonzero(tied)
            full = np.tile(np.arange(m), (rows.size, 1))
            order = np.lexsort((full, -clean[rows]), axis=1)[:, :kk]
            part[rows] = np.take_along_axis(full, order, axis=1)
    else:
        part = np.tile(np.arange(m), (n, 1))
    vals = np.take_along_axis(clean, part, axis=1)
    order = np.lexsort((part, -vals), axis=1)
    top = np.take_along_axis(part, order, axis=1)
    finite = np.isfinite(np.take_along_axis(clean, top, axis=1))
    top = np.where(finite, top, -1).astype(np.int64)
    if kk < k:
        top = np.pad(top, ((0, 0), (0, k - kk)), constant_values=-1)
    return top


def top_k_coo(
    rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keep the ``k`` largest ``vals`` of each sparse row (ties: lower column first), sorted by row.

    Within a row, the kept cells come by decreasing value (ties: lower column
    first). Rows longer than ``k`` are cut one at a time with a partition (a
    block of item-neighbour Gram rows holds millions of cells, of which a few
    hundred per row are kept: sorting them all cost four fifths of the
    neighbours' time); only the kept cells are sorted.
    """
    rows, cols, vals = np.asarray(rows), np.asarray(cols), np.asarray(vals)
    if k < 1:
        return rows[:0], cols[:0], vals[:0]
    if rows.size > 1 and (rows[1:] < rows[:-1]).any():
        by_row = np.argsort(rows, kind="stable")
        rows, cols, vals = rows[by_row], cols[by_row], vals[by_row]
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]]) if rows.size else rows[:0]
    ends = np.r_[starts[1:], rows.size].astype(np.int64)
    keep = np.ones(rows.size, dtype=bool)
    long = ends - starts > k
    for lo, hi in zip(starts[long].tolist(), ends[long].tolist(), strict=True):
        v = vals[lo:hi]
        kth = np.partition(v, v.size - k)[v.size - k]  # the k-th largest
        row_keep = v > kth
        tied = np.flatnonzero(v == kth)
        need = k - int(row_keep.sum())
        row_keep[tied[np.argsort(cols[lo:hi][tied], kind="stable")[:need]]] = True
        keep[lo:hi] = row_keep
    rows, cols, vals = rows[keep], cols[keep], vals[keep]
    order = np.lexsort((cols, -vals, rows))
    return rows[order], cols[order], vals[order]
