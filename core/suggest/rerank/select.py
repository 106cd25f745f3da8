"""Choosing a list: Maximal Marginal Relevance within caps per designer and category.

:func:`mmr` orders candidates by relevance traded against similarity to what
is already chosen; :func:`item_vectors_for` gives the item vectors that
similarity (and the list's diversity) is measured in.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.data.dataset import Dataset
from core.engine.diversity import (
    ItemVectors,
    attribute_vectors,
    diversity_vectors,
    normalized_rows,
)
from core.engine.models.base import Recommender

#: One cap: each candidate's label code, the count per label so far, the cap.
_Cap = tuple[np.ndarray, np.ndarray, int]


def mmr(
    scores: np.ndarray,
    candidates_idx: Sequence[int] | np.ndarray,
    item_vectors: ItemVectors | None,
    k: int,
    strength: float = 0.3,
    *,
    designers: np.ndarray | None = None,
    categories: np.ndarray | None = None,
    max_per_designer: int | None = None,
    max_per_category: int | None = None,
    selected: Sequence[int] | np.ndarray = (),
) -> np.ndarray:
    """Order candidates by Maximal Marginal Relevance, within caps.

    Each step picks the candidate maximising
    ``(1 - strength) * relevance - strength * max_similarity_to_chosen``,
    where relevance is the candidates' scores min-max scaled to [0, 1] and
    similarity the cosine of normalised item vectors. Ties go to the
    candidate listed first.

    Parameters
    ----------
    scores : ndarray, shape (n_products,)
        Relevance of every product; only ``candidates_idx`` are read.
    candidates_idx : sequence of int
        Product indices to choose from (duplicates are ignored).
    item_vectors : ndarray or sparse matrix, shape (n_products, n_dims), or None
        Only read when ``strength > 0``.
    k : int
        How many to return (fewer if the candidates or caps run out).
    strength : float in [0, 1]
        0: pure relevance order; 1: as diverse as possible.
    designers, categories : ndarray, shape (n_products,), optional
        Labels (or integer codes) for the caps.
    max_per_designer, max_per_category : int, optional
        At most this many per designer / category (``None``: no cap).
    selected : sequence of int
        Products already in the list (e.g. pinned): they count towards the
        caps and the similarity term, and are not returned.

    Returns
    -------
    ndarray of int
        The chosen product indices, best first.

    Raises
    ------
    ValueError
        For ``strength`` outside [0, 1], ``k < 0``, a cap below 1, or a cap
        without its labels.

    Longer than 60 lines for this documentation only; the body is 10 lines.
    """
    _check_arguments(strength, k, designers, categories, max_per_designer, max_per_category)
    pre = np.asarray(selected, dtype=np.int64)
    cand = _unique_candidates(candidates_idx, pre)
    if cand.size == 0 or k == 0:
        return np.empty(0, dtype=np.int64)
    lam = float(strength)
    v, max_sim = _similarities(item_vectors, cand, pre) if lam > 0 else (None, np.zeros(cand.size))
    caps = _caps(pre, cand, ((designers, max_per_designer), (categories, max_per_category)))
    chosen = _greedy(_relevance(scores, cand), v, max_sim, caps, k, lam, started=pre.size > 0)
    return cand[np.array(chosen, dtype=np.int64)]


def _check_arguments(
    strength: float,
    k: int,
    designers: np.ndarray | None,
    categories: np.ndarray | None,
    max_per_designer: int | None,
    max_per_category: int | None,
) -> None:
    if not 0.0 <= float(strength) <= 1.0:
        raise ValueError(f"strength must be between 0 and 1, got {strength}")
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    for name, cap, labels in (
        ("max_per_designer", max_per_designer, designers),
        ("max_per_category", max_per_category, categories),
    ):
        if cap is not None and cap < 1:
            raise ValueError(f"{name} must be at least 1 (or None for no cap), got {cap}")
        if cap is not None and labels is None:
            raise ValueError(f"{name} needs the matching labels array")


def _unique_candidates(candidates_idx: Sequence[int] | np.ndarray, pre: np.ndarray) -> np.ndarray:
    """The candidates not already selected, duplicates dropped, in their first order."""
    cand = np.asarray(candidates_idx, dtype=np.int64)
    cand = cand[~np.isin(cand, pre)]
    if cand.size:
        _, first = np.unique(cand, return_index=True)
        cand = cand[np.sort(first)]
    return cand


def _similarities(
    item_vectors: ItemVectors | None, cand: np.ndarray, pre: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The candidates' normalised vectors and their largest cosine to the selected products."""
    if item_vectors is None:
        raise ValueError("strength > 0 needs item_vectors to measure similarity")
    v = normalized_rows(item_vectors, cand)
    max_sim = np.zeros(cand.size)
    # One matrix-vector product per pick, not the full m x m similarity matrix:
    # cheaper for k << m, and small enough that BLAS does not spin up threads.
    for p in normalized_rows(item_vectors, pre) if pre.size else ():
        max_sim = np.maximum(max_sim, v @ p)
    return v, max_sim


def _relevance(scores: np.ndarray, cand: np.ndarray) -> np.ndarray:
    """The candidates' scores min-max scaled to [0, 1]; -inf/NaN candidates get 0 (come last)."""
    rel = np.asarray(scores, dtype=np.float64)[cand]
    finite = np.isfinite(rel)
    lo = float(rel[finite].min()) if finite.any() else 0.0
    hi = float(rel[finite].max()) if finite.any() else 0.0
    rel = (rel - lo) / (hi - lo) if hi > lo else np.ones(cand.size)
    return np.where(finite, rel, 0.0)


def _caps(
    pre: np.ndarray, cand: np.ndarray, specs: Sequence[tuple[np.ndarray | None, int | None]]
) -> list[_Cap]:
    """Caps per label; labels are factorised over the few products involved."""
    involved = np.concatenate([pre, cand])
    caps = []
    for labels, cap in specs:
        if labels is not None and cap is not None:
            codes, uniques = pd.factorize(np.asarray(labels)[involved])
            counts = np.bincount(codes[: pre.size], minlength=len(uniques))
            caps.append((codes[pre.size :], counts, cap))
    return caps


def _greedy(
    rel: np.ndarray,
    v: np.ndarray | None,
    max_sim: np.ndarray,
    caps: list[_Cap],
    k: int,
    lam: float,
    *,
    started: bool,
) -> list[int]:
    """Positions (in the candidates) picked one by one by the MMR objective, within caps."""
    available = np.ones(rel.size, dtype=bool)
    chosen: list[int] = []
    while len(chosen) < k and available.any():
        obj = (1 - lam) * rel - lam * max_sim if started else rel.copy()
        obj = np.where(available, obj, -np.inf)
        i = int(np.argmax(obj))
        if not np.isfinite(obj[i]):
            break
        available[i] = False
        if any(counts[codes[i]] >= cap for codes, counts, cap in caps):
            continue
        chosen.append(i)
        for codes, counts, _ in caps:
            counts[codes[i]] += 1
        if v is not None:
            sim = v @ v[i]
            max_sim = np.maximum(max_sim, sim) if started else sim
        started = True
    return chosen


def item_vectors_for(model: Recommender, dataset: Dataset) -> ItemVectors:
    """The item vectors lists are diversified and measured in (kept with the dataset).

    See :func:`core.engine.diversity.diversity_vectors`.
    """
    if callable(getattr(model, "item_embedding", None)):
        return diversity_vectors(model, dataset.products)
    return dataset.derived(
        (attribute_vectors, "products"), lambda: attribute_vectors(dataset.products)
    )
