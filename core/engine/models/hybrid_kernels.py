"""The hybrid's single-client passes over the catalogue, compiled (numba).

One request for one client is a handful of passes over every product: sums of
a few sparse rows (the neighbour and next-step blocks), then the weighted sum
of the blocks and the priors, the masks and a top-``k``. In NumPy each pass is
its own loop over the catalogue and its own temporary array, and on a
catalogue of 50,000 products they cost several times the one matrix-vector
product the client's factors need. Here they are one loop each:

- :func:`factor_scores`: ``V u`` from ``V`` stored by columns in float32 (half
  the memory a float64 product reads), summed in float64;
- :func:`row_sums`: ``sum_j w_j M[j]`` over a few rows of a CSR matrix, and the
  spread of the result (``E[x^2] - E[x]^2`` over the catalogue), in one pass;
- :func:`matvec`: ``F p`` and its spread in one pass (the content block of a
  catalogue small enough to score whole);
- :func:`column_matvec`: the same, read by columns at the profile's
  nonzero features only, when they hold fewer cells;
- :func:`sparse_quadratic_form`: ``p' G p`` read at ``p``'s nonzero entries
  only (the content block's spread from the features' moments);
- :func:`cross`: a few rows and columns of a sparse matrix, dense (what an
  explanation reads of the neighbour and next-step blocks);
- :func:`fill_scores`: every product's score of one client, in one pass;
- :func:`exact_scores`: a few products' scores, as the ranking computes them
  (what an explanation reports);
- :func:`rank_one`: the exact top ``k`` of
  ``score_i = a_ct c_i + (a_sv v_i + a_nb n_i + a_sq s_i) + prior_i`` from
  every block;
- :func:`quantise` and :func:`quantised_bounds`: upper bounds of a few dense
  sums per product from int8 columns (a quarter of float32's bytes);
- :func:`rank_one_bounded`: the same top ``k`` with the SVD and content
  scores computed only for the products whose bound can still reach it.

Every score is summed in :meth:`HybridRecommender.score_clients`' order (its
one-client path: ``V u`` is :func:`factor_scores`'), so a score here is the
score there to the bit (no fast-math: the compiler may not
reorder or fuse float operations). Ties go to the lower index and non-finite
scores are never returned, as :func:`core.engine.ranking.top_indices`.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def factor_scores(by_column: np.ndarray, u: np.ndarray, out: np.ndarray) -> None:
    """Write ``V u`` into ``out``, ``V`` given as ``V.T`` in float32 (``by_column``, shape (k, n)).

    Each product's score is ``sum_f V[i, f] u[f]`` in float64, ``f`` ascending:
    exact float64 arithmetic on the stored float32 values, so with factors
    that are float32 values (:meth:`HybridRecommender._derive`) every other
    product with them (explanations, the batch path) computes on the same
    numbers. Read by columns, the loop runs across products, which the
    compiler vectorises without reordering any product's sum.
    """
    out[:] = 0.0
    for f in range(by_column.shape[0]):
        weight = u[f]
        column = by_column[f]
        for i in range(out.size):
            out[i] += np.float64(column[i]) * weight


def quantise(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A float block as int8 per product (column), for :func:`quantised_bounds`.

    ``block`` is (m, n), one column per product. Each product's entries are
    divided by its scale (its largest magnitude over 127, rounded up in
    float32) and rounded to the nearest integer: ``block[:, i]`` is
    ``scale[i] * (q[:, i] + e)`` with every ``|e| <= 1/2``.

    Returns
    -------
    q : ndarray of int8, shape (m, n)
    scale : ndarray of float32, shape (n,)
    """
    block = np.asarray(block, dtype=np.float64)
    top = np.abs(block).max(axis=0, initial=0.0) / 127.0
    scale = top.astype(np.float32)
    low = scale.astype(np.float64) < top
    scale[low] = np.nextafter(scale[low], np.float32(np.inf))
    divisor = np.where(scale > 0, scale, 1.0).astype(np.float64)
    q = np.clip(np.rint(block / divisor), -127, 127).astype(np.int8)
    return np.ascontiguousarray(q), scale


#: Products per block of :func:`quantised_bounds` (its sums stay in the L1 cache).
_CHUNK = 1024
#: Half a unit of each quantised entry, and float32's rounding of the sums past it.
_QUANTISATION_SLACK = 0.502


@numba.njit(cache=True, nogil=True)
def quantised_bounds(
    columns: np.ndarray,
    weights: np.ndarray,
    split: int,
    scales: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
) -> None:
    """Upper bounds of two sums per product from quantised columns (:func:`quantise`), in float32.

    ``first[i] >= sum_{f < split} B[f, i] w_f`` and ``second[i] >=
    sum_{f >= split} B[f, i] w_f`` for the block ``B`` each group of rows was
    quantised from (``scales[0]`` and ``scales[1]``): the quantised sum plus
    ``0.502 sum_f |w_f|`` units of the product's scale, past each entry's
    half unit and float32's own rounding (at most ``1e-6`` of ``127 sum |w_f|``
    units). A product's column is one byte per row: a quarter of what
    float32 reads, so a large catalogue's pass stays in the cache.
    """
    n_columns, n = columns.shape
    slack_first = np.float32(0.0)
    slack_second = np.float32(0.0)
    for f in range(n_columns):
        if f < split:
            slack_first += abs(weights[f])
        else:
            slack_second += abs(weights[f])
    slack_first *= np.float32(_QUANTISATION_SLACK)
    slack_second *= np.float32(_QUANTISATION_SLACK)
    sum_first = np.empty(_CHUNK, dtype=np.float32)
    sum_second = np.empty(_CHUNK, dtype=np.float32)
    for start in range(0, n, _CHUNK):
        end = min(start + _CHUNK, n)
        size = end - start
        sum_first[:size] = 0.0
        sum_second[:size] = 0.0
        for f in range(split):
            weight = weights[f]
            column = columns[f, start:end]
            for i in range(size):
                sum_first[i] += np.float32(column[i]) * weight
        for f in range(split, n_columns):
            weight = weights[f]
            column = columns[f, start:end]
            for i in range(size):
                sum_second[i] += np.float32(column[i]) * weight
        scale_first = scales[0, start:end]
        scale_second = scales[1, start:end]
        out_first = first[start:end]
        out_second = second[start:end]
        for i in range(size):
            out_first[i] = scale_first[i] * (sum_first[i] + slack_first)
            out_second[i] = scale_second[i] * (sum_second[i] + slack_second)


@numba.njit(cache=True, nogil=True)
def row_sums(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    rows: np.ndarray,
    weights: np.ndarray,
    out: np.ndarray,
) -> float:
    """Write ``sum_t weights[t] * M[rows[t]]`` into ``out`` and return its spread.

    Parameters
    ----------
    indptr, indices, data : ndarray
        The CSR arrays of ``M``, shape (n_rows, n_cols).
    rows : ndarray of int, shape (m,)
    weights : ndarray of float64, shape (m,) or (0,)
        Empty: 1 for every row.
    out : ndarray of float64, shape (n_cols,)
        Overwritten.

    Returns
    -------
    float
        The standard deviation of ``out`` over its ``n_cols`` entries (0 for
        a constant result, within float rounding).
    """
    out[:] = 0.0
    weighted = weights.size > 0
    for t in range(rows.size):
        r = rows[t]
        for jj in range(indptr[r], indptr[r + 1]):
            if weighted:
                out[indices[jj]] += np.float64(data[jj]) * weights[t]
            else:
                out[indices[jj]] += np.float64(data[jj])
    return _array_spread(out)


@numba.njit(cache=True, nogil=True)
def matvec(
    indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, v: np.ndarray, out: np.ndarray
) -> float:
    """Write ``M @ v`` into ``out`` (each row summed in scipy's order) and return its spread.

    One client's whole content block and its standard deviation in one pass
    (:func:`row_sums`' spread).
    """
    total = 0.0
    square = 0.0
    for i in range(out.size):
        value = _dot(indptr, indices, data, i, v)
        out[i] = value
        total += value
        square += value * value
    return _spread(total, square, out.size)


@numba.njit(cache=True, nogil=True)
def column_matvec(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    columns: np.ndarray,
    v: np.ndarray,
    out: np.ndarray,
) -> float:
    """:func:`matvec` read by columns: ``M @ v`` from the CSC arrays of ``M``, only at ``v``'s nonzeros.

    ``columns``: the nonzero entries of ``v``, ascending. Each product's sum
    gets the same terms in the same (column) order as :func:`matvec`'s, less
    the zeros, which change no float: the same result to the bit, for the
    cells of ``v``'s columns only (a few features of a catalogue's hundreds).
    """
    out[:] = 0.0
    for a in range(columns.size):
        c = columns[a]
        value = v[c]
        for jj in range(indptr[c], indptr[c + 1]):
            out[indices[jj]] += np.float64(data[jj]) * value
    return _array_spread(out)


@numba.njit(cache=True, nogil=True)
def rows_dot(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    rows: np.ndarray,
    v: np.ndarray,
) -> np.ndarray:
    """``M[rows] @ v`` for a few rows of a CSR ``M``, each summed in ``M @ v``'s order."""
    out = np.empty(rows.size)
    for t in range(rows.size):
        out[t] = _dot(indptr, indices, data, rows[t], v)
    return out


@numba.njit(cache=True, nogil=True)
def cross(
    indptr: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    rows: np.ndarray,
    columns: np.ndarray,
) -> np.ndarray:
    """``M[rows][:, columns]`` dense, float64, for a few rows and columns of a CSR ``M``.

    What an explanation reads of the neighbour and next-step blocks: the
    similarity of each past product to each explained one (repeats allowed
    on either side). ``M`` in canonical form (each row's columns ascending,
    none twice): each entry is found by bisection in its row.
    """
    out = np.zeros((rows.size, columns.size))
    for t in range(rows.size):
        r = rows[t]
        row = indices[indptr[r] : indptr[r + 1]]
        for a in range(columns.size):
            at = np.searchsorted(row, columns[a])
            if at < row.size and row[at] == columns[a]:
                out[t, a] = np.float64(data[indptr[r] + at])
    return out


@numba.njit(cache=True, nogil=True)
def sparse_quadratic_form(gram: np.ndarray, nonzero: np.ndarray, p: np.ndarray) -> float:
    """``p' G p`` for a symmetric ``G``, read only at ``p``'s nonzero entries (``nonzero``, ascending).

    A client's content profile touches a third of the features: this reads a
    sixth of ``G`` (its upper triangle at those rows and columns), which is
    what one request's content spread costs on a large catalogue.
    """
    total = 0.0
    for a in range(nonzero.size):
        r = nonzero[a]
        off = 0.0
        for b in range(a + 1, nonzero.size):
            c = nonzero[b]
            off += gram[r, c] * p[c]
        total += p[r] * (gram[r, r] * p[r] + 2.0 * off)
    return total


@numba.njit(cache=True, nogil=True)
def _array_spread(out: np.ndarray) -> float:
    """:func:`_spread` of every entry of ``out``."""
    total = 0.0
    square = 0.0
    for i in range(out.size):
        total += out[i]
        square += out[i] * out[i]
    return _spread(total, square, out.size)


@numba.njit(cache=True, nogil=True)
def _spread(total: float, square: float, n: int) -> float:
    """Standard deviation from a sum and a sum of squares (0 within rounding of a constant)."""
    if n == 0:
        return 0.0
    mean = total / n
    mean_square = square / n
    variance = mean_square - mean * mean
    if variance <= 1e-12 * mean_square:
        return 0.0
    return float(np.sqrt(variance))


@numba.njit(cache=True, nogil=True)
def _worse(score_a: float, index_a: int, score_b: float, index_b: int) -> bool:
    """Whether ``a`` ranks below ``b``: a lower score, or the same score and a higher index."""
    return score_a < score_b or (score_a == score_b and index_a > index_b)


@numba.njit(cache=True, nogil=True)
def _sift_down(scores: np.ndarray, items: np.ndarray, size: int, at: int) -> None:
    """Restore the heap (worst at the root) below ``at``."""
    while True:
        child = 2 * at + 1
        if child >= size:
            return
        if child + 1 < size and _worse(
            scores[child + 1], items[child + 1], scores[child], items[child]
        ):
            child += 1
        if not _worse(scores[child], items[child], scores[at], items[at]):
            return
        scores[at], scores[child] = scores[child], scores[at]
        items[at], items[child] = items[child], items[at]
        at = child


@numba.njit(cache=True, nogil=True)
def _push(scores: np.ndarray, items: np.ndarray, size: int, score: float, item: int) -> int:
    """Add ``(score, item)`` to a heap of ``size`` (room for one more); the new size."""
    at = size
    scores[at] = score
    items[at] = item
    while at > 0:
        parent = (at - 1) // 2
        if not _worse(scores[at], items[at], scores[parent], items[parent]):
            break
        scores[at], scores[parent] = scores[parent], scores[at]
        items[at], items[parent] = items[parent], items[at]
        at = parent
    return size + 1


@numba.njit(cache=True, nogil=True)
def _is_new(new_items: np.ndarray, i: int) -> bool:
    """Whether product ``i`` is among the (ascending) ``new_items``."""
    at = np.searchsorted(new_items, i)
    return bool(at < new_items.size and new_items[at] == i)


@numba.njit(cache=True, nogil=True)
def _score(
    content_part: float,
    cf: float,
    prior: float,
    new_value: float,
    is_new: bool,
) -> float:
    """A score from its parts, in ``score_clients``' order of sums (content first, then cf, ...)."""
    score = content_part + cf
    score += prior
    if is_new:
        score += new_value
    return score


@numba.njit(cache=True, nogil=True)
def _dot(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, i: int, v: np.ndarray) -> float:
    """``M[i] . v`` for a CSR ``M``, summed in ``M @ v``'s order."""
    total = 0.0
    for jj in range(indptr[i], indptr[i + 1]):
        total += np.float64(data[jj]) * v[indices[jj]]
    return total


@numba.njit(cache=True, nogil=True)
def _keep(
    scores: np.ndarray, items: np.ndarray, size: int, k: int, score: float, i: int
) -> tuple[int, float]:
    """Keep ``(score, i)`` among the ``k`` best so far; the new size and the score to beat.

    Called only for a finite ``score`` above the score to beat (``-inf``
    until ``k`` are held; ``i`` is above every held index, so a tie loses).
    """
    if size < k:
        size = _push(scores, items, size, score, i)
    else:
        scores[0] = score
        items[0] = i
        _sift_down(scores, items, size, 0)
    return size, (scores[0] if size == k else -np.inf)


@numba.njit(cache=True, nogil=True)
def _offer(scores: np.ndarray, items: np.ndarray, size: int, score: float, i: int) -> int:
    """Keep ``(score, i)`` among the ``len(scores)`` best, in any order of ``i``; the new size.

    Non-finite scores are never kept; a tie goes to the lower index.
    """
    if not (score > -np.inf and score != np.inf):
        return size
    if size < scores.size:
        return _push(scores, items, size, score, i)
    if _worse(scores[0], items[0], score, i):
        scores[0] = score
        items[0] = i
        _sift_down(scores, items, size, 0)
    return size


@numba.njit(cache=True, nogil=True)
def _best_first(scores: np.ndarray, items: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Empty a heap of ``size`` (worst at the root) into arrays, best first."""
    out_items = np.empty(size, dtype=np.int64)
    out_scores = np.empty(size)
    for end in range(size - 1, -1, -1):
        out_items[end] = items[0]
        out_scores[end] = scores[0]
        scores[0] = scores[end]
        items[0] = items[end]
        _sift_down(scores, items, end, 0)
    return out_items, out_scores


@numba.njit(cache=True, nogil=True)
def rank_one(
    k: int,
    svd: np.ndarray,
    neighbours: np.ndarray,
    sequence: np.ndarray,
    weights: np.ndarray,
    prior: np.ndarray,
    new_items: np.ndarray,
    new_values: np.ndarray,
    blocked: np.ndarray,
    content: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """One client's exact top ``k`` from every block: product indices and scores, best first.

    Parameters
    ----------
    k : int
        At least 1.
    svd, neighbours, sequence, content : ndarray of float64, shape (n,)
        The raw blocks.
    weights : ndarray of float64, shape (4,)
        ``a_sv, a_nb, a_ct, a_sq``.
    prior : ndarray of float64, shape (n,)
        The trend block, weighted.
    new_items : ndarray of int, shape (n_new,)
        The new arrivals, ascending.
    new_values : ndarray of float64, shape (n_new,)
        Their new-arrival prior.
    blocked : ndarray of bool, shape (n,)
        Products that may not be ranked.

    Returns
    -------
    items : ndarray of int64, shape (m,)
        ``m <= k``: fewer when fewer products may be ranked.
    scores : ndarray of float64, shape (m,)
    """
    # Every product's score first, in a loop without branches the compiler
    # can vectorise; then the k best of them.
    scores = np.empty(svd.size)
    fill_scores(scores, svd, neighbours, sequence, weights, prior, new_items, new_values, content)
    top_scores = np.empty(k)
    top_items = np.empty(k, dtype=np.int64)
    size = _select(scores, blocked, top_scores, top_items)
    return _best_first(top_scores, top_items, size)


@numba.njit(cache=True, nogil=True)
def rank_one_bounded(
    k: int,
    svd_bound: np.ndarray,
    content_bound: np.ndarray,
    factors: np.ndarray,
    u: np.ndarray,
    neighbours: np.ndarray,
    sequence: np.ndarray,
    weights: np.ndarray,
    prior: np.ndarray,
    new_items: np.ndarray,
    new_scale: float,
    blocked: np.ndarray,
    features_indptr: np.ndarray,
    features_indices: np.ndarray,
    features_data: np.ndarray,
    profile: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`rank_one` from bounds of the SVD and content blocks: exact scores only where they can win.

    A first pass bounds every product's score and takes the ``2k`` best
    bounds; the ``k``-th best of their exact scores is reached by ``k``
    products, so it is a threshold: a second pass scores exactly only the
    other products whose bound reaches it, or the ``k``-th best exact score
    found since, which rises (a small share of a large catalogue).
    An exact score is :func:`rank_one`'s to the bit: ``V_i . u`` summed as
    :func:`factor_scores` sums it, ``F_i . profile`` as ``F @ profile``.

    A bound's terms are the score's, each at least as large (the weights
    are not negative), summed in the same order: the rounding of each step
    keeps the order, so a bound is at least the score.

    Parameters
    ----------
    svd_bound, content_bound : ndarray, shape (n,)
        At least ``V_i . u`` and ``F_i . profile`` as computed here
        (:meth:`HybridRecommender._bound_weights`).
    factors : ndarray of float64, shape (n, n_factors)
        ``V`` (float32 values), for the exact SVD scores.
    u : ndarray of float64, shape (n_factors,)
    neighbours, sequence : ndarray of float64, shape (n,)
    weights : ndarray of float64, shape (4,)
        ``a_sv, a_nb, a_ct, a_sq``, none negative.
    prior : ndarray of float64, shape (n,)
    new_items : ndarray of int, shape (n_new,)
        The new arrivals, ascending; their prior is ``new_scale * max(0, c_i)``.
    blocked : ndarray of bool, shape (n,)
    features_indptr, features_indices, features_data : ndarray
        The CSR arrays of ``F``, shape (n, n_features).
    profile : ndarray of float64, shape (n_features,)

    Returns
    -------
    items, scores : as :func:`rank_one`.
    """
    n = factors.shape[0]
    bounds = np.empty(n)
    _fill(bounds, svd_bound, neighbours, sequence, weights, prior, content_bound)
    for t in range(new_items.size):  # the new-arrival prior's bound, a score's last term
        i = new_items[t]
        bounds[i] += new_scale * max(np.float64(content_bound[i]), 0.0)
    top_scores = np.empty(k)
    top_items = np.empty(k, dtype=np.int64)
    # The exact scores of the 2k best bounds first: their k-th best is a
    # threshold, reached by k products. (The lowest of only the k best
    # bounds' scores was far lower for one client in ten at M: every bound
    # passed it.)
    seed_scores = np.empty(2 * k)
    seed_items = np.empty(2 * k, dtype=np.int64)
    seeds = _select(bounds, blocked, seed_scores, seed_items)
    size = 0
    for t in range(seeds):
        i = seed_items[t]
        score = _exact(
            i, factors, u, neighbours[i], sequence[i], weights, prior[i], _is_new(new_items, i),
            new_scale, features_indptr, features_indices, features_data, profile,
        )  # fmt: skip
        size = _offer(top_scores, top_items, size, score, i)
        bounds[i] = -np.inf  # (scored: the pass below skips it)
    # Every other product whose bound reaches the k-th best exact score so far
    # (ties included: a tied product may win on its lower index), scored
    # exactly; the threshold rises as better scores are found.
    for i in range(n):
        bound = bounds[i]
        if blocked[i] or bound == -np.inf or (size == k and not bound >= top_scores[0]):
            continue
        score = _exact(
            i, factors, u, neighbours[i], sequence[i], weights, prior[i], _is_new(new_items, i),
            new_scale, features_indptr, features_indices, features_data, profile,
        )  # fmt: skip
        size = _offer(top_scores, top_items, size, score, i)
    return _best_first(top_scores, top_items, size)


@numba.njit(cache=True, nogil=True)
def fill_scores(
    out: np.ndarray,
    svd: np.ndarray,
    neighbours: np.ndarray,
    sequence: np.ndarray,
    weights: np.ndarray,
    prior: np.ndarray,
    new_items: np.ndarray,
    new_values: np.ndarray,
    content: np.ndarray,
) -> None:
    """One client's every score into ``out``: the blocks weighed, the priors added (:func:`rank_one`'s arguments).

    One pass instead of NumPy's pass and temporary per term, in
    ``score_clients``' order of sums: the same floats.
    """
    _fill(out, svd, neighbours, sequence, weights, prior, content)
    for t in range(new_items.size):  # the new-arrival prior, a score's last term
        out[new_items[t]] += new_values[t]


@numba.njit(cache=True, nogil=True)
def exact_scores(
    items: np.ndarray,
    factors: np.ndarray,
    u: np.ndarray,
    neighbours: np.ndarray,
    sequence: np.ndarray,
    weights: np.ndarray,
    prior: np.ndarray,
    new_items: np.ndarray,
    new_scale: float,
    features_indptr: np.ndarray,
    features_indices: np.ndarray,
    features_data: np.ndarray,
    profile: np.ndarray,
) -> np.ndarray:
    """Some products' scores as one client's ranking computes them (:func:`rank_one_bounded`'s exact scores).

    ``neighbours`` and ``sequence`` (past products x ``items``) are the terms
    of those blocks at ``items`` (:func:`cross`, the next step's already
    multiplied by each purchase's input), summed here in :func:`row_sums`'
    order; ``prior`` is the trend at ``items``. What an explanation reports
    as the score of a product it explains, to the bit.
    """
    out = np.empty(items.size)
    for t in range(items.size):
        neighbour = 0.0
        for r in range(neighbours.shape[0]):
            neighbour += neighbours[r, t]
        step = 0.0
        for r in range(sequence.shape[0]):
            step += sequence[r, t]
        i = items[t]
        out[t] = _exact(
            i, factors, u, neighbour, step, weights, prior[t], _is_new(new_items, i), new_scale,
            features_indptr, features_indices, features_data, profile,
        )  # fmt: skip
    return out


@numba.njit(cache=True, nogil=True)
def _fill(
    out: np.ndarray,
    svd: np.ndarray,
    neighbours: np.ndarray,
    sequence: np.ndarray,
    weights: np.ndarray,
    prior: np.ndarray,
    content: np.ndarray,
) -> None:
    """``out_i = a_ct c_i + (a_sv v_i + a_nb n_i + a_sq s_i) + prior_i``.

    :func:`_score`'s order of sums, without the new-arrival term: the scores,
    or with bounds of ``v`` and ``c`` (float32), the bounds.
    """
    a_sv, a_nb, a_ct, a_sq = weights[0], weights[1], weights[2], weights[3]
    for i in range(out.size):
        cf = svd[i] * a_sv
        cf += neighbours[i] * a_nb
        cf += sequence[i] * a_sq
        score = content[i] * a_ct + cf
        score += prior[i]
        out[i] = score


@numba.njit(cache=True, nogil=True)
def _select(
    scores: np.ndarray, blocked: np.ndarray, top_scores: np.ndarray, top_items: np.ndarray
) -> int:
    """The ``len(top_scores)`` best finite, unblocked ``scores`` into a heap; its size."""
    k = top_scores.size
    size, worst = 0, -np.inf
    for i in range(scores.size):
        score = scores[i]
        if score > worst and score != np.inf and not blocked[i]:
            size, worst = _keep(top_scores, top_items, size, k, score, i)
    return size


@numba.njit(cache=True, nogil=True)
def _exact(
    i: int,
    factors: np.ndarray,
    u: np.ndarray,
    neighbour: float,
    step: float,
    weights: np.ndarray,
    prior: float,
    is_new: bool,
    new_scale: float,
    features_indptr: np.ndarray,
    features_indices: np.ndarray,
    features_data: np.ndarray,
    profile: np.ndarray,
) -> float:
    """Product ``i``'s exact score from its neighbour, next-step and prior values, its SVD and content blocks (and new-arrival prior) computed here."""
    svd = 0.0
    for f in range(u.size):  # factor_scores' sum, f ascending
        svd += factors[i, f] * u[f]
    cf = svd * weights[0]
    cf += neighbour * weights[1]
    cf += step * weights[3]
    dot = _dot(features_indptr, features_indices, features_data, i, profile)
    new_value = new_scale * max(dot, 0.0) if is_new else 0.0
    return _score(dot * weights[2], cf, prior, new_value, is_new)
