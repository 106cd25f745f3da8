"""Baselines the engine must beat: popularity, item-kNN and random.

They follow the same contract as the engine's models
(:class:`~core.engine.models.base.Recommender`) and read the same weighted, decayed
interaction matrix (:func:`core.engine.interactions.build_interactions`), so an
evaluation compares models, not data preparation.

- :class:`PopularityRecommender`: the catalogue ranked by summed interaction
  weight, globally or among the clients of the client's home store.
- :class:`ItemKNNRecommender`: cosine item-item neighbourhoods on the
  interaction matrix, shrunk by the clients two products share (top
  ``k_neighbors`` per product, kept sparse); a client's score for a product
  is the sum, over their past products, of the product's similarity to
  each, plus a small popularity prior. Its
  :meth:`~ItemKNNRecommender.explain` is that sum, term by term.
- :class:`RandomRecommender`: a seeded shuffle, the floor.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from core.data.dataset import Dataset
from core.data.schema import COLS, EVENT_TYPES
from core.engine.cells import AsOf
from core.engine.config import EngineConfig
from core.engine.events import ExtraEvents, event_ids
from core.engine.interactions import Interactions, build_interactions
from core.engine.models.base import Contribution, Explanation, Recommender
from core.engine.ranking import top_k_coo
from core.exceptions import UnknownIdError


def _check_number(name: str, value: object, low: float, high: float, *, integer: bool) -> None:
    """Parameter limits, declared at each constructor and checked at fit time."""
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
        kind = "a whole number" if integer else "a number"
        raise ValueError(f"{name} must be {kind} between {low:g} and {high:g}, got {value!r}")


class _InteractionModel(Recommender):
    """Shared plumbing: build the interaction matrix, find clients' rows."""

    config: EngineConfig | None

    def _engine_config(self) -> EngineConfig:
        return self.config if self.config is not None else EngineConfig()

    def _build(
        self,
        dataset: Dataset,
        config: EngineConfig,
        as_of: AsOf,
        interactions: Interactions | None,
    ) -> None:
        if interactions is not None and interactions.config != config:
            raise ValueError(
                "the interactions passed to fit were built with another configuration; "
                "build them with this model's config or let fit build them"
            )
        self.interactions_ = interactions or build_interactions(dataset, config, as_of=as_of)
        self.matrix_ = sp.csr_matrix(self.interactions_.matrix, dtype=np.float64)
        self.config_ = config

    def _client_index(self, client_ids: Sequence[str]) -> np.ndarray:
        """Internal index per client (-1 for unknown)."""
        return self.dataset_.client_ids.to_internal([str(c) for c in client_ids], strict=False)

    def _check_clients(
        self, client_ids: Sequence[str], extra_events: ExtraEvents | None
    ) -> np.ndarray:
        idx = self._client_index(client_ids)
        if (idx < 0).any():
            with_events: set[str] = set()
            if extra_events is not None and len(extra_events):
                with_events = set(event_ids(extra_events, COLS.client_id))
            missing = [str(c) for c, i in zip(client_ids, idx, strict=True) if i < 0]
            missing = [c for c in missing if c not in with_events]
            if missing:
                raise UnknownIdError(
                    f"unknown client id{'s' if len(missing) > 1 else ''}: "
                    f"{', '.join(repr(m) for m in missing[:5])} "
                    "(not in the fitted data, and no extra events given for it)"
                )
        if extra_events is not None and len(extra_events):
            self.dataset_.product_ids.to_internal(event_ids(extra_events, COLS.product_id))
        return idx

    def _rows(self, client_ids: Sequence[str], extra_events: ExtraEvents | None) -> sp.csr_matrix:
        """Interaction rows of ``client_ids`` (fold-in of ``extra_events``)."""
        idx = self._check_clients(client_ids, extra_events)
        if extra_events is None or not len(extra_events):
            return sp.csr_matrix(self.matrix_[idx])
        rows = self.interactions_.client_rows([str(c) for c in client_ids], extra_events)
        return sp.csr_matrix(rows, dtype=np.float64)


# ================================================================ popularity
def _shares(totals: np.ndarray) -> np.ndarray:
    """Each row divided by its sum (rows summing to 0 stay 0)."""
    sums = totals.sum(axis=-1, keepdims=True)
    return totals / np.where(sums > 0, sums, 1.0)


class PopularityRecommender(_InteractionModel):
    """Products ranked by their summed interaction weight (the same for every client).

    Parameters
    ----------
    per_store : bool
        Rank by popularity among the clients of the client's home store
        (plus ``global_weight`` times the global popularity, which orders
        what the store has not seen). Clients unknown to the fitted data
        get the global ranking.
    half_life_days : float, optional
        Time decay of the popularity (default: the configuration's
        ``half_life_days``). A short half-life ranks what is selling now.
    global_weight : float
        Weight of the global share in the per-store score, in [0, 1].
    config : EngineConfig, optional
        Event weights, decay and returns (default settings otherwise).

    Attributes
    ----------
    popularity_ : ndarray, shape (n_products,)
        Global share of the summed interaction weight.
    store_popularity_ : ndarray, shape (n_stores, n_products)
        Share within each store (``per_store`` only).
    """

    def __init__(
        self,
        per_store: bool = False,
        half_life_days: float | None = None,
        global_weight: float = 0.05,
        config: EngineConfig | None = None,
    ) -> None:
        self.per_store = per_store
        self.half_life_days = half_life_days
        self.global_weight = global_weight
        self.config = config

    def _fit(
        self,
        dataset: Dataset,
        as_of: AsOf = None,
        interactions: Interactions | None = None,
    ) -> None:
        """Build (or reuse) the interaction matrix as of ``as_of`` and sum demand."""
        _check_number("global_weight", self.global_weight, 0.0, 1.0, integer=False)
        config = self._engine_config()
        if self.half_life_days is not None:
            config = config.with_updates(half_life_days=self.half_life_days)
        self._build(dataset, config, as_of, interactions)
        # Demand over every event (gifts included, returns netted), not the taste matrix.
        self.popularity_ = _shares(np.asarray(self.interactions_.popularity, dtype=np.float64))
        if self.per_store:
            by_store = self.interactions_.store_popularity_matrix.toarray()
            self.store_popularity_ = _shares(by_store)
            self.client_store_ = np.asarray(self.interactions_.home_store, dtype=np.int64)
            self.store_ids_ = self.interactions_.store_ids.index

    def _parts(self, client_ids: Sequence[str], extra_events: ExtraEvents | None) -> np.ndarray:
        """(n_clients, 2, n_products): store part, global part."""
        idx = self._check_clients(client_ids, extra_events)
        n = len(idx)
        glob = np.broadcast_to(self.popularity_, (n, self.popularity_.size))
        if not self.per_store:
            return np.stack([np.zeros_like(glob), glob], axis=1)
        store = np.zeros((n, self.popularity_.size))
        home = np.where(idx >= 0, self.client_store_[np.maximum(idx, 0)], -1)
        has = home >= 0
        store[has] = self.store_popularity_[home[has]]
        # Clients without a known store fall back to the global ranking, fully weighted.
        weight = np.where(has, self.global_weight, 1.0)[:, None]
        return np.stack([store, glob * weight], axis=1)

    def score_clients(
        self, client_ids: Sequence[str], extra_events: ExtraEvents | None = None
    ) -> np.ndarray:
        self.check_is_fitted()
        return np.asarray(self._parts(client_ids, extra_events).sum(axis=1))

    def _similarity_row(self, product_idx: int) -> np.ndarray:
        # Popularity knows no similarity between products: the most popular are "similar".
        return np.asarray(self.popularity_, dtype=np.float64)

    def explain(
        self, client_id: str, product_id: str, extra_events: ExtraEvents | None = None
    ) -> Explanation:
        """The score as a store-popularity part and a global-popularity part."""
        self.check_is_fitted()
        j = self.dataset_.product_ids.to_internal_one(product_id)
        parts = self._parts([client_id], extra_events)[0, :, j]
        contributions = [Contribution("prior", "popularity:global", float(parts[1]), "prior")]
        if self.per_store:
            i = self._client_index([client_id])[0]
            home = self.client_store_[i] if i >= 0 else -1
            if home >= 0:
                store = self.store_ids_[home]
                contributions.insert(
                    0, Contribution("prior", f"popularity:store={store}", float(parts[0]), "prior")
                )
        return Explanation.of_parts(client_id, product_id, contributions, prior=float(parts.sum()))


# ==================================================================== item-kNN
def item_neighbours(
    matrix: sp.csr_matrix,
    k_neighbors: int,
    shrinkage: float = 0.0,
    block_rows: int | None = None,
    *,
    support_shrinkage: float = 0.0,
) -> sp.csr_matrix:
    """Top-``k`` cosine neighbours of every column of ``matrix``, as a sparse matrix.

    ``sim(i, j) = x_i . x_j / (|x_i| |x_j| + shrinkage) * n_ij / (n_ij + support_shrinkage)``
    over the columns (products) of the client x product matrix, where
    ``n_ij`` is the number of clients with both products. The product x
    product Gram matrix is computed a block of rows at a time and cut to the
    top ``k`` per row at once, so memory stays ``O(n_products * k)`` plus one
    block.

    Parameters
    ----------
    matrix : sparse matrix, shape (n_clients, n_products)
    k_neighbors : int
    shrinkage : float
        Added to the cosine denominator, in the units of the matrix's norms.
    block_rows : int, optional
        Products per block (default: about 16M cells per block).
    support_shrinkage : float
        Shared clients at which a cosine is halved (significance weighting):
        a similarity resting on one or two shared clients -- most pairs in
        sparse data, where two products bought once by the same client have
        a cosine of 1 -- is pulled towards zero whatever the matrix's scale.

    Returns
    -------
    csr_matrix, shape (n_products, n_products)
        Row ``i``: the neighbours of product ``i`` (itself excluded) and their
        similarities, only positive ones.
    """
    x = sp.csr_matrix(matrix, dtype=np.float64)
    n_products = x.shape[1]
    if shrinkage == 0 and x.has_canonical_format and np.all(x.data == 1):
        return _binary_neighbours(x, k_neighbors, support_shrinkage, block_rows)
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=0)).ravel())
    xt = x.T.tocsr()
    support = None
    if support_shrinkage > 0:
        ones = x.copy()
        ones.data = (ones.data != 0).astype(np.float64)
        support = (ones.T.tocsr(), ones)
    block = gram_block_rows(n_products, block_rows)
    parts = []
    for start in range(0, n_products, block):
        stop = min(start + block, n_products)
        gram = (xt[start:stop] @ x).tocsr()
        shared = None
        if support is not None:
            shared = _aligned_counts(gram, (support[0][start:stop] @ support[1]).tocsr())
        parts.append(
            _neighbour_rows(gram, start, norms, k_neighbors, shrinkage, shared, support_shrinkage)
        )
    return stack_neighbour_rows(parts, n_products)


def _binary_neighbours(
    x: sp.csr_matrix, k_neighbors: int, support_shrinkage: float, block_rows: int | None
) -> sp.csr_matrix:
    """:func:`item_neighbours` of a binary matrix: its Gram rows are the shared-client counts.

    One Gram product per block (the general path needs a second one for the
    counts), in float32, which holds the counts exactly (below 2**24 clients),
    from the transpose built once: what the scale-out fit does per row block.
    """
    rows = sp.csr_matrix(x, dtype=np.float32)
    columns = sp.csr_matrix(rows.T)
    counts = np.diff(columns.indptr)
    n_products = x.shape[1]
    block = gram_block_rows(n_products, block_rows)
    parts = [
        gram_neighbour_rows(
            columns[start : start + block] @ rows, start, counts, k_neighbors, support_shrinkage
        )
        for start in range(0, n_products, block)
    ]
    return stack_neighbour_rows(parts, n_products)


def _aligned_counts(gram: sp.csr_matrix, shared: sp.csr_matrix) -> np.ndarray:
    """The shared-client count of each stored cell of ``gram``, in ``gram.data``'s order.

    Both are products of matrices with the same pattern, so they store the
    same cells unless a sum cancelled to zero; sorted, their data arrays then
    line up (one gather instead of a sparse fancy index per cell).
    """
    gram.sort_indices()
    shared.sort_indices()
    if np.array_equal(gram.indptr, shared.indptr) and np.array_equal(gram.indices, shared.indices):
        return np.asarray(shared.data, dtype=np.float64)
    cells = gram.tocoo()
    return np.asarray(shared[cells.row, cells.col], dtype=np.float64).ravel()


def gram_block_rows(n_products: int, block_rows: int | None = None) -> int:
    """Products per block of Gram rows: about 16M cells a block."""
    return block_rows or max(32, 2**24 // max(n_products, 1))


def gram_neighbour_rows(
    rows: sp.csr_matrix,
    start: int,
    counts: np.ndarray,
    k_neighbors: int,
    support_shrinkage: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The top neighbours (row, column, similarity) of products ``start, ...`` from their Gram rows.

    :func:`item_neighbours` of a binary matrix ``B``, from rows ``start, start +
    1, ...`` of its Gram matrix ``B^T B``: for a binary matrix that is also the
    count of shared clients, and its diagonal (``counts``, clients per product)
    the squared column norms, so it is all the neighbours need. The scale-out
    fit (:mod:`core.engine.scale`) sums each block of Gram rows over the row
    blocks of ``B`` and cuts it here, where the sum is; the blocks' results
    are put together by :func:`stack_neighbour_rows`. ``k_neighbors`` and
    ``support_shrinkage`` as in :func:`item_neighbours` (``shrinkage`` 0).
    """
    norms = np.sqrt(np.asarray(counts, dtype=np.float64))
    rows = sp.csr_matrix(rows, dtype=np.float64)  # in any column order: the cut sorts what it keeps
    shared = rows.data if support_shrinkage > 0 else None
    return _neighbour_rows(rows, start, norms, k_neighbors, 0.0, shared, support_shrinkage)


def _neighbour_rows(
    gram: sp.csr_matrix,
    start: int,
    norms: np.ndarray,
    k_neighbors: int,
    shrinkage: float,
    shared: np.ndarray | None,
    support_shrinkage: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The top neighbours of the products ``start, start + 1, ...`` from their Gram rows.

    ``shared``: the shared-client count of each stored cell, in ``gram.data``'s order.
    """
    r = np.repeat(np.arange(gram.shape[0], dtype=np.int64) + start, np.diff(gram.indptr))
    c = gram.indices.astype(np.int64)
    keep = (r != c) & (gram.data > 0)
    r, c, v = r[keep], c[keep], gram.data[keep]
    v = v / (norms[r] * norms[c] + shrinkage)
    if shared is not None and r.size:
        n = shared[keep]
        v = v * n / (n + support_shrinkage)
    return top_k_coo(r, c, v, k_neighbors)


def stack_neighbour_rows(
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]], n_products: int
) -> sp.csr_matrix:
    """The neighbour rows of blocks of products (row, column, similarity) as one csr matrix."""
    rows = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
    cols = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, dtype=np.int64)
    vals = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0)
    return sp.csr_matrix((vals, (rows, cols)), shape=(n_products, n_products))


class ItemKNNRecommender(_InteractionModel):
    """Item-item collaborative filtering with shrunk cosine neighbourhoods and a popularity prior.

    ``score(client, j) = sum over past products i of r[client, i] * W[i, j]
    + popularity_weight * pop_j``, where ``W[i]`` holds the ``k_neighbors``
    products most similar to ``i`` (cosine of the interaction matrix's
    columns, shrunk by the number of clients the two products share), ``r``
    is 1 for every past product (``binary_rows``) or the client's interaction
    weight, and ``pop`` the decayed popularity scaled to a maximum of 1. The
    prior orders what the neighbourhoods leave at zero: clients with no
    history, or whose products have no neighbours, get the popularity
    ranking. New events change a client's row and hence their scores at once
    (``extra_events``), without a refit.

    Why these defaults: on sparse purchase data (Online Retail, Complete
    Journey) a plain cosine ranks first the products that share a single
    client with the client's own -- two products bought once by the same
    client have a cosine of 1 -- which is why the unshrunk model (and one
    shrunk in the matrix's own units, which an idf-weighted, decayed matrix
    makes arbitrary) scored about 0.005 Recall@20 there, ten times below
    popularity; and it left every client without neighbours to the
    catalogue order. Shrinking by shared clients, a 5 % popularity prior and
    binary rows (the engine's idf weighting makes a client's rarest products
    dominate the sum) bring it to about 0.05-0.07 there, above popularity; on
    the generated maison it stays within a few points of the plain cosine on
    time splits and gains a third on the last-N split (see
    ``benchmarks/bench_quality.py``).

    Parameters
    ----------
    k_neighbors : int
        Neighbours kept per product (1 to 10,000).
    shrinkage : float
        Shared clients at which a similarity is halved (0 to 1e6; 0 for the
        plain cosine).
    binary_rows : bool
        Sum the neighbours of each past product once (default), rather than
        weighted by the client's interaction weight.
    popularity_weight : float
        Weight of the popularity prior, in [0, 1].
    config : EngineConfig, optional
        Event weights, decay, normalisation of the interaction matrix.

    Attributes
    ----------
    similarity_ : csr_matrix, shape (n_products, n_products)
        Row ``i``: the neighbours of product ``i``.
    prior_ : ndarray, shape (n_products,)
        ``popularity_weight`` times the popularity scaled to a maximum of 1.
    """

    explains = True

    def __init__(
        self,
        k_neighbors: int = 100,
        shrinkage: float = 50.0,
        binary_rows: bool = True,
        popularity_weight: float = 0.05,
        config: EngineConfig | None = None,
    ) -> None:
        self.k_neighbors = k_neighbors
        self.shrinkage = shrinkage
        self.binary_rows = binary_rows
        self.popularity_weight = popularity_weight
        self.config = config

    def _fit(
        self,
        dataset: Dataset,
        as_of: AsOf = None,
        interactions: Interactions | None = None,
    ) -> None:
        """Build (or reuse) the interaction matrix as of ``as_of``; find the neighbours."""
        _check_number("k_neighbors", self.k_neighbors, 1, 10_000, integer=True)
        _check_number("shrinkage", self.shrinkage, 0.0, 1e6, integer=False)
        _check_number("popularity_weight", self.popularity_weight, 0.0, 1.0, integer=False)
        if not isinstance(self.binary_rows, bool | np.bool_):
            raise ValueError(f"binary_rows must be True or False, got {self.binary_rows!r}")
        self._build(dataset, self._engine_config(), as_of, interactions)
        self.similarity_ = item_neighbours(
            self.matrix_, int(self.k_neighbors), support_shrinkage=float(self.shrinkage)
        )
        popularity = np.maximum(np.asarray(self.interactions_.popularity, dtype=np.float64), 0.0)
        top = popularity.max() if popularity.size else 0.0
        scale = float(self.popularity_weight) / top if top > 0 else 0.0
        self.prior_ = popularity * scale

    def _weights(self, rows: sp.csr_matrix) -> sp.csr_matrix:
        """The client rows as summed: 1 per past product, or the interaction weights."""
        out = sp.csr_matrix(rows, dtype=np.float64, copy=True)
        if self.binary_rows:
            out.data = (out.data != 0).astype(np.float64)
        return out

    def score_clients(
        self, client_ids: Sequence[str], extra_events: ExtraEvents | None = None
    ) -> np.ndarray:
        self.check_is_fitted()
        rows = self._weights(self._rows(client_ids, extra_events))
        return np.asarray((rows @ self.similarity_).todense()) + self.prior_[None, :]

    def _similarity_row(self, product_idx: int) -> np.ndarray:
        return np.asarray(self.similarity_[product_idx].toarray().ravel())

    def explain(
        self, client_id: str, product_id: str, extra_events: ExtraEvents | None = None
    ) -> Explanation:
        """The score as one contribution per past product (``r[client, i] * W[i, j]``) and the prior."""
        self.check_is_fitted()
        j = self.dataset_.product_ids.to_internal_one(product_id)
        self._check_clients([client_id], extra_events)
        rows = self.interactions_.fold_in([str(client_id)], extra_events)
        row = self._weights(rows.matrix)
        strongest = sp.csr_matrix(rows.strongest)
        past = row.indices
        sims = np.asarray(self.similarity_[past, j].todense()).ravel()
        values = row.data * sims
        keep = values != 0
        codes = strongest[0, past[keep]].toarray().ravel() if keep.any() else []
        events = [EVENT_TYPES[int(c)] for c in codes]
        past, values = past[keep], values[keep]
        pids = self.dataset_.product_ids.to_external(past)
        contributions = [
            Contribution("item", str(p), float(v), "cf", e)
            for p, v, e in zip(pids, values, events, strict=True)
        ]
        cf = float(np.asarray((row @ self.similarity_[:, j]).todense()).ravel()[0])
        prior = float(self.prior_[j])
        if prior:
            contributions.append(Contribution("prior", "popularity:global", prior, "prior"))
        return Explanation.of_parts(client_id, product_id, contributions, cf=cf, prior=prior)


# ==================================================================== random
class RandomRecommender(Recommender):
    """Uniform random scores, fixed per (seed, client): the floor any model must clear.

    Parameters
    ----------
    seed : int
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def _fit(
        self, dataset: Dataset, as_of: AsOf = None, interactions: Interactions | None = None
    ) -> None:
        """Nothing to learn but the catalogue size (``as_of`` and ``interactions`` unused)."""
        _check_number("seed", self.seed, 0, 2**32 - 1, integer=True)
        self.n_products_ = len(dataset.product_ids)

    def _rng(self, key: str) -> np.random.Generator:
        return np.random.default_rng([int(self.seed), zlib.crc32(key.encode())])

    def score_clients(
        self, client_ids: Sequence[str], extra_events: ExtraEvents | None = None
    ) -> np.ndarray:
        self.check_is_fitted()
        ids = [str(c) for c in client_ids]
        idx = self.dataset_.client_ids.to_internal(ids, strict=False)
        with_events: set[str] = set()
        if extra_events is not None and len(extra_events):
            with_events = set(event_ids(extra_events, COLS.client_id))
            self.dataset_.product_ids.to_internal(event_ids(extra_events, COLS.product_id))
        missing = [c for c, i in zip(ids, idx, strict=True) if i < 0 and c not in with_events]
        if missing:
            raise UnknownIdError(
                f"unknown client id{'s' if len(missing) > 1 else ''}: "
                f"{', '.join(repr(m) for m in missing[:5])}"
            )
        out = np.empty((len(ids), self.n_products_))
        for r, cid in enumerate(ids):
            out[r] = self._rng(f"client:{cid}").random(self.n_products_)
        return out

    def _similarity_row(self, product_idx: int) -> np.ndarray:
        pid = self.dataset_.product_ids.to_external([product_idx])[0]
        return self._rng(f"product:{pid}").random(self.n_products_)
