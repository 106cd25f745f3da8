"""Binary-relevance ranking metrics, per list and vectorised over many lists.

Recall@k, Precision@k, NDCG@k (log2 discount), MAP@k and hit rate@k, plus
catalogue coverage and novelty. The evaluation runner computes them for every
client at once with :func:`metrics_from_hits`; the per-list functions are the
same arithmetic on one list, for notebooks and tests.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Sequence

import numpy as np
from scipy import stats


def _discounts(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))


def metrics_from_hits(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """Per-row Recall, Precision, NDCG, MAP and hit rate at ``k``.

    Parameters
    ----------
    hits : ndarray of bool, shape (n, K) with K >= k
        ``hits[i, r]``: the item at rank ``r + 1`` of list ``i`` is relevant.
    n_relevant : ndarray of int, shape (n,)
        Number of relevant items of each row (> 0).
    k : int

    Returns
    -------
    dict of str to ndarray, shape (n,)
        ``Recall``, ``Precision``, ``NDCG``, ``MAP`` and ``HitRate`` of each row.
    """
    h = np.asarray(hits[:, :k], dtype=np.float64)
    if h.shape[1] < k:
        h = np.pad(h, ((0, 0), (0, k - h.shape[1])))
    n_rel = np.asarray(n_relevant, dtype=np.float64)
    n_hits = h.sum(axis=1)
    disc = _discounts(k)
    ideal = np.cumsum(disc)[np.minimum(n_rel, k).astype(np.int64) - 1]
    precision_at_rank = np.cumsum(h, axis=1) / np.arange(1, k + 1)
    return {
        "Recall": n_hits / n_rel,
        "Precision": n_hits / k,
        "NDCG": (h @ disc) / ideal,
        "MAP": (precision_at_rank * h).sum(axis=1) / np.minimum(n_rel, k),
        "HitRate": (n_hits > 0).astype(np.float64),
    }


def ratio_interval(
    mine: np.ndarray,
    theirs: np.ndarray,
    *,
    level: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """``mean(mine) / mean(theirs)`` and its paired bootstrap interval.

    ``mine[i]`` and ``theirs[i]`` are one client's metric under two models;
    clients are resampled with replacement, the same clients for both
    (``scipy.stats.bootstrap``, ``paired=True``, percentile interval), so the
    interval reflects how much the comparison depends on which clients
    happened to be evaluated.

    Returns
    -------
    ratio, low, high : float
        NaN when ``theirs`` averages 0 or there are fewer than 2 clients.

    Raises
    ------
    ValueError
        When the two arrays differ in length, or ``level`` is not in (0, 1).
    """
    a = np.asarray(mine, dtype=np.float64).ravel()
    b = np.asarray(theirs, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"paired metrics need as many values each, got {a.size} and {b.size}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    if a.size < 2 or b.mean() <= 0:
        return float("nan"), float("nan"), float("nan")

    def statistic(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
        denominator = y.mean(axis=axis)
        return np.asarray(
            np.divide(
                x.mean(axis=axis),
                denominator,
                out=np.full(np.shape(denominator), np.nan),
                where=denominator > 0,
            )
        )

    result = stats.bootstrap(
        (a, b),
        statistic,
        paired=True,
        vectorized=True,
        n_resamples=n_resamples,
        batch=200,
        confidence_level=level,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    interval = result.confidence_interval
    return float(a.mean() / b.mean()), float(interval.low), float(interval.high)


def _one_list(
    recommended: Sequence[Hashable], relevant: Collection[Hashable], k: int, metric: str
) -> float:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k must be a whole number >= 1, got {k!r}")
    rel = set(relevant)
    if not rel:
        raise ValueError("relevant is empty: ranking metrics are undefined without a relevant item")
    hits = np.array([[r in rel for r in list(recommended)[:k]]], dtype=bool).reshape(1, -1)
    return float(metrics_from_hits(hits, np.array([len(rel)]), int(k))[metric][0])


def recall_at_k(recommended: Sequence[Hashable], relevant: Collection[Hashable], k: int) -> float:
    """Share of the relevant items found in the first ``k`` recommended.

    Parameters
    ----------
    recommended : sequence
        Ranked item ids, best first.
    relevant : collection
        The relevant item ids (non-empty).
    k : int

    Returns
    -------
    float
        ``|top-k ∩ relevant| / |relevant|``.
    """
    return _one_list(recommended, relevant, k, "Recall")


def precision_at_k(
    recommended: Sequence[Hashable], relevant: Collection[Hashable], k: int
) -> float:
    """``|top-k ∩ relevant| / k`` (a list shorter than ``k`` counts its gaps as misses)."""
    return _one_list(recommended, relevant, k, "Precision")


def ndcg_at_k(recommended: Sequence[Hashable], relevant: Collection[Hashable], k: int) -> float:
    """Normalised discounted cumulative gain with binary relevance.

    ``DCG = sum over ranks r <= k of rel_r / log2(r + 1)``, divided by the DCG
    of an ideal list (all relevant items first). Agrees with
    :func:`sklearn.metrics.ndcg_score` on binary relevance.
    """
    return _one_list(recommended, relevant, k, "NDCG")


def average_precision_at_k(
    recommended: Sequence[Hashable], relevant: Collection[Hashable], k: int
) -> float:
    """AP@k: mean of precision@r over the ranks r of hits, divided by ``min(k, |relevant|)``."""
    return _one_list(recommended, relevant, k, "MAP")


def hit_rate_at_k(recommended: Sequence[Hashable], relevant: Collection[Hashable], k: int) -> float:
    """1.0 when at least one relevant item is in the first ``k``, else 0.0."""
    return _one_list(recommended, relevant, k, "HitRate")


def catalogue_coverage(recommended_lists: Sequence[Sequence[Hashable]], n_items: int) -> float:
    """Share of the catalogue that appears in at least one list.

    Parameters
    ----------
    recommended_lists : sequence of sequences
    n_items : int
        Catalogue size (> 0).
    """
    if n_items < 1:
        raise ValueError(f"n_items must be at least 1, got {n_items}")
    seen = {item for lst in recommended_lists for item in lst}
    return len(seen) / n_items


def novelty(recommended: Sequence[int], popularity: np.ndarray) -> float:
    """Mean ``-log2(popularity)`` of the recommended items (higher = less obvious).

    Parameters
    ----------
    recommended : sequence of int
        Indices into ``popularity``.
    popularity : ndarray, shape (n_items,)
        Probability that a client interacted with each item, in (0, 1].
    """
    p = np.asarray(popularity, dtype=np.float64)[np.asarray(list(recommended), dtype=np.int64)]
    if p.size == 0:
        raise ValueError("novelty needs at least one recommended item")
    if (p <= 0).any() or (p > 1).any():
        raise ValueError("popularity must be in (0, 1]; smooth zero counts before calling")
    return float(np.mean(-np.log2(p)))
