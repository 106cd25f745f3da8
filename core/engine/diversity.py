"""How varied a list is: the one measure the app shows and the evaluation reports.

:func:`diversity_vectors` picks the item vectors (a model's own
``item_embedding()`` when it has one, else :func:`attribute_vectors`), and
:func:`intra_list_diversity` is the mean pairwise ``1 - cosine`` of a list in
them. The suggestion pipeline diversifies and reports with these; the
evaluation measures ``Diversity@k`` with the same two functions, so a figure
in a report is the figure an associate's list would show.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from core.data.schema import split_list

#: Product columns whose values are one-hot attributes (style tags are added apart).
DIVERSITY_ATTRIBUTES: tuple[str, ...] = ("designer", "category", "subcategory", "material", "color")

ItemVectors: TypeAlias = np.ndarray | sp.spmatrix


def attribute_vectors(products: pd.DataFrame) -> sp.csr_matrix:
    """One-hot product attributes and style tags, L2-normalised rows.

    Values are compared lower-cased and stripped; empty values and absent
    columns add nothing. Each attribute block has unit weight before the row
    normalisation, so sharing a designer counts as much as sharing a category.

    Returns
    -------
    csr_matrix, shape (n_products, n_attribute_values)
        A row of zeros for a product without any attribute.
    """
    n = len(products)
    blocks: list[sp.csr_matrix] = []
    for col in DIVERSITY_ATTRIBUTES:
        if col not in products.columns:
            continue
        text = products[col].astype(object).fillna("").astype(str).str.strip().str.lower()
        codes, uniques = pd.factorize(text)
        keep = np.asarray(uniques != "")
        if not keep.any():
            continue
        remap = np.cumsum(keep) - 1
        ok = keep[codes]
        rows = np.flatnonzero(ok)
        blocks.append(
            sp.csr_matrix(
                (np.ones(rows.size), (rows, remap[codes[ok]])), shape=(n, int(keep.sum()))
            )
        )
    if "style_tags" in products.columns:
        tags = style_tag_matrix(products["style_tags"])
        if tags.shape[1]:
            blocks.append(tags)
    if not blocks:
        return sp.csr_matrix((n, 1))
    return sp.csr_matrix(normalize(sp.hstack(blocks, format="csr")))


def style_tag_matrix(style_tags: pd.Series) -> sp.csr_matrix:
    """Binary products x lower-cased style tags (``|``-separated values), shape (n, n_tags)."""
    vocab: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    for i, value in enumerate(style_tags):
        for tag in dict.fromkeys(t.lower() for t in split_list(value)):
            rows.append(i)
            cols.append(vocab.setdefault(tag, len(vocab)))
    return sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(style_tags), len(vocab)))


def diversity_vectors(model: object, products: pd.DataFrame) -> ItemVectors:
    """The item vectors lists are diversified and measured in.

    The model's ``item_embedding()`` (one row per product) when it has one of
    the right shape, else :func:`attribute_vectors` of ``products``.
    """
    embedding = getattr(model, "item_embedding", None)
    if callable(embedding):
        v = embedding()
        if isinstance(v, np.ndarray | sp.spmatrix) and v.shape[0] == len(products):
            return v
    return attribute_vectors(products)


def normalized_rows(item_vectors: ItemVectors, idx: np.ndarray | Sequence[int]) -> np.ndarray:
    """Rows ``idx`` of ``item_vectors`` L2-normalised, as a dense array (zero rows stay zero).

    Raises
    ------
    ValueError
        When dense ``item_vectors`` are not 2-D.
    """
    rows = item_vectors[np.asarray(idx, dtype=np.int64)]
    if sp.issparse(rows):
        return np.asarray(normalize(sp.csr_matrix(rows, dtype=np.float64)).toarray())
    rows = np.asarray(rows, dtype=np.float64)
    if rows.ndim != 2:
        raise ValueError(f"item_vectors must be 2-D (n_products, n_dims), got shape {rows.shape}")
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return np.asarray(np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 0))


def intra_list_diversity(item_vectors: ItemVectors, items: Sequence[int] | np.ndarray) -> float:
    """Mean pairwise ``1 - cosine`` over one list.

    Parameters
    ----------
    item_vectors : array or sparse matrix, shape (n_items, n_dims)
        Rows are L2-normalised here (a zero row has cosine 0 with everything).
    items : sequence of int
        Row indices of the list, in any order; ``-1`` entries are gaps.

    Returns
    -------
    float
        0 for identical items, 1 for mutually orthogonal ones; 0 for a list of
        fewer than two items (no pair, so no variety).
    """
    return float(intra_list_diversity_rows(item_vectors, np.asarray(items).reshape(1, -1))[0])


def intra_list_diversity_rows(item_vectors: ItemVectors, lists: np.ndarray) -> np.ndarray:
    """:func:`intra_list_diversity` of each row of ``lists`` (``-1`` for a gap).

    Computed from sums, without the pairwise matrices:
    ``sum_{i != j} v_i . v_j = ||sum v||^2 - sum ||v||^2``.

    Returns
    -------
    ndarray, shape (n_lists,)
        0 for rows with fewer than two items.
    """
    lists = np.asarray(lists, dtype=np.int64)
    if lists.ndim != 2:
        raise ValueError(f"lists must be 2-D (n_lists, k), got shape {lists.shape}")
    n, k = lists.shape
    valid = lists >= 0
    lengths = valid.sum(axis=1)
    # Only the rows the lists hold are normalised (not the whole catalogue per call).
    held, cols = np.unique(lists[valid], return_inverse=True)
    rows = np.repeat(np.arange(n), k)[valid.ravel()]
    indicator = sp.csr_matrix((np.ones(rows.size), (rows, cols.ravel())), shape=(n, held.size))
    if sp.issparse(item_vectors):  # kept sparse: many lists may hold much of a wide catalogue
        vectors = normalize(sp.csr_matrix(item_vectors, dtype=np.float64)[held])
        summed = sp.csr_matrix(indicator @ vectors)
        sq_sum = np.asarray(summed.multiply(summed).sum(axis=1)).ravel()
        self_sq = indicator @ np.asarray(vectors.multiply(vectors).sum(axis=1)).ravel()
    else:
        dense = normalized_rows(item_vectors, held)
        summed = np.asarray(indicator @ dense)
        sq_sum = (summed * summed).sum(axis=1)
        self_sq = indicator @ (dense * dense).sum(axis=1)
    pairs = lengths * (lengths - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_cos = (sq_sum - self_sq) / pairs
    return np.where(pairs > 0, 1.0 - mean_cos, 0.0)
