"""The hybrid recommender: SVD, item neighbours, content and trends on one scale.

For a client with interaction row ``x`` (decayed, weighted, normalised), past
products ``b`` (1 for each product in ``x``), history strength ``h`` and
declared preferences ``q``, the score of product ``i`` is::

    score_i = a_sv * (u . v_i)                    SVD block, u = x V (fold-in)
            + a_nb * sum_j b_j S_ji               item-neighbour block
            + a_sq * sum_j s_j T_ji               next-step block
            + a_ct * (p . F_i) / ||p||            content block, p = xF/||xF|| + beta q
            + a_tr * t_i                          trend block
            + a_new * n_i * max(0, p . F_i / ||p||)   new-arrival prior

Each ``a`` is a configured weight divided by the spread of its block for this
client (the standard deviation of the block's scores over the catalogue,
:mod:`core.engine.models.blend`), so the blocks meet on one scale whatever
their units, and a block that barely separates products for this client
barely counts:

- ``a_sv = cf_weight * g / spread(u V^T)`` and ``a_nb = item_weight * g /
  spread(b S)``, with ``g = h / (h + blend_k)``: history earns the
  collaborative blocks their weight;
- ``a_ct = content_weight / spread(content)``: content carries the thin end
  (two purchases a year, a new client, declared preferences only);
- ``S`` keeps each product's ``item_neighbours`` nearest products by cosine
  over the clients who have both, shrunk towards zero when few clients share
  them (``item_shrinkage``);
- ``T`` is what buyers went on to buy, in time order: ``T_ji`` the shrunk
  share of the buyers of ``j`` who bought ``i`` within their next
  ``sequence_window`` purchases (:mod:`core.engine.transitions`), and ``s_j``
  the client's row value on the cells they bought (decayed: the latest
  purchases lead most); ``a_sq = sequence_weight * d * g / spread(s T)``,
  ``d`` how one-way the data's sequences are beyond chance (0: order is
  noise there, and the block is silent; :func:`~core.engine.transitions.directionality`);
- ``t`` is the recent demand (``trend_half_life_days``): the catalogue's for
  clients with history, their home store's for clients without;
  ``a_tr = prior_weight / spread(t)``;
- ``n_i`` is 1 for a new arrival -- a product launched within
  ``new_arrival_days`` of the fit date, or due to launch within as many days
  after it -- so a launch is pushed to the clients whose taste it fits;
  ``a_new = new_arrival_weight / spread(content)``. A model fitted at an
  earlier cutoff (the temporal evaluation) sees the launches that follow it in
  the catalogue as upcoming new arrivals.

Products without interactions in the fit window get item factors from a
ridge map from content features to factors learnt on known products, so a
product launched yesterday reaches the clients whose taste it fits. A product
few clients touched sits between the two: its factors are
``c v_i + (1 - c) r_i`` with ``c = n_i / (n_i + factor_shrinkage)``, ``n_i``
its clients and ``r_i`` the ridge map's factors (its own factors rest on a
handful of clients; what it is says more). ``V`` above is these factors.

Every block is a sum of exact terms -- the SVD and neighbour blocks over past
items (``x_j (v_j . v_i)`` and ``b_j S_ji``, one "cf" contribution per past
item), the next-step block over past purchases (``s_j T_ji``, one "sequence"
contribution per past purchase, part of "cf"), content over matched features, the trend and new-arrival priors -- so
:meth:`HybridRecommender.explain` returns contributions that add up to the
score. A client's state and the two priors are in
:mod:`core.engine.models.hybrid_priors`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from core.data.dataset import Dataset
from core.engine.cells import AsOf, cells_mask
from core.engine.events import ExtraEvents, positions
from core.engine.features import ProductFeatures
from core.engine.house import HouseAggregates
from core.engine.interactions import (
    ClientRows,
    Interactions,
    csr_from_state,
    csr_to_state,
    interactions_from_state,
    interactions_to_state,
    resolve_interactions,
)
from core.engine.models.base import (
    ContributionBlock,
    Explanation,
    StatefulRecommender,
    assemble_explanations,
)
from core.engine.models.baselines import item_neighbours
from core.engine.models.blend import (
    BlockMoments,
    binary_rows,
    history_share,
    per_spread,
    row_spread,
    sparse_row_spread,
)
from core.engine.models.content import (
    PreferenceCells,
    attribute_blocks,
    client_preferences,
    content_profiles,
    content_scores,
    declared_preferences,
    name_visual,
    one_profile,
)
from core.engine.models.factors import (
    ItemSide,
    client_factor_moments,
    factor_labels,
    fit_ridge,
    short_label,
    shrink_to_content,
)
from core.engine.models.fit_report import Laps, fit_report, sample_clients, span_days
from core.engine.models.hybrid_kernels import (
    column_matvec,
    cross,
    exact_scores,
    factor_scores,
    fill_scores,
    matvec,
    quantise,
    quantised_bounds,
    rank_one,
    rank_one_bounded,
    row_sums,
    rows_dot,
)
from core.engine.models.hybrid_priors import ClientState, ManyClients, OneClient, Priors
from core.engine.models.svd import fit_item_factors, item_contributions, unit_rows
from core.engine.recent import RecentPerFrame
from core.engine.threads import BlasLimiter
from core.engine.transitions import PURCHASE, next_steps, purchase_rows

_SMALL_REQUEST = 8  # clients per request served with a single BLAS thread ...
_SMALL_FACTORS = 2**19  # ... when the item factors have fewer entries than this
_RECENT_STATES = 64  # single-client states kept, so explain reuses what recommend built
#: One client is ranked without every product's content block
#: (:meth:`HybridRecommender._top_one`) when the product features have at least
#: this many stored cells (a large catalogue, described at length) ...
PRUNED_CONTENT_CELLS = 200_000
#: ... and at least this many times the cells of their Gram matrix (the block's
#: spread from the moments costs ``n_features^2``, the pass over the features
#: their stored cells): 20,000 products, 0.42M cells and 511 features (1.6x)
#: rank faster so, 1,200 products, 63k cells and 541 features (0.2x) twice as
#: slowly (``benchmarks/README.md``).
PRUNED_CELLS_PER_GRAM_CELL = 1.0
#: No weights for :func:`~core.engine.models.hybrid_kernels.row_sums` (1 per row).
_UNWEIGHTED = np.zeros(0)
# Leading directions of the features the content bound keeps (BlockMoments): at
# M, 16 let a median of 49 products of 20,000 through to be scored exactly, 8
# about 65 (more in the tail); int8 columns keep the bounds' pass short.
_BOUND_RANK = 16
_FLOAT32_SAFE = 1e30  # client factors below this are summed in float32 by the bound pass

#: The blocks scaled per client, in the order of ``ClientState.weights``' columns.
_SVD, _NEIGHBOURS, _CONTENT, _SEQUENCE = 0, 1, 2, 3
_BLOCKS = 4


class HybridRecommender(StatefulRecommender):
    """SVD + item neighbours + next step + content + trend, on one per-client scale, exactly explained.

    Parameters
    ----------
    config : EngineConfig, optional
        Engine parameters (``EngineConfig()`` when omitted).

    Attributes
    ----------
    interactions_ : Interactions
    item_factors_ : ndarray, shape (n_products, k)
        SVD factors of known products, ridge-mapped factors of cold ones.
    known_products_ : ndarray of bool, shape (n_products,)
        Products with interactions in the fit window.
    product_features_ : ProductFeatures
    features_ : csr_matrix, shape (n_products, n_features)
    ridge_coef_ : ndarray, shape (n_features, k)
    ridge_intercept_ : ndarray, shape (k,)
    item_similarity_ : csr_matrix, shape (n_products, n_products)
        Row ``j``: the ``item_neighbours`` products most similar to ``j``
        (shrunk cosine over the clients with both), the neighbour block's ``S``.
    sequence_ : csr_matrix, shape (n_products, n_products)
        Row ``j``: what the buyers of ``j`` went on to buy (shrunk shares), the
        next-step block's ``T``.
    sequence_directionality_ : float
        How one-way the data's purchase sequences are beyond chance, in [0, 1]
        (:func:`core.engine.transitions.directionality`); the next-step block
        weighs ``sequence_weight`` times this.
    factor_mean_, factor_std_ : ndarray, shape (k,)
        Mean and spread of client factors (taste profiles are deviations from the mean).
    factor_labels_ : ndarray of int, shape (k, 2, 5)
        Feature indices that load most on each factor, positive then negative direction.
    trend_ : ndarray, shape (n_products,)
        Catalogue trend scaled to a maximum of 1.
    trend_spread_ : float
        Its standard deviation over the catalogue (the trend block's spread).
    fit_report_ : dict
        What the fit derived from the data (:func:`core.engine.models.fit_report.fit_report`),
        saved with the model and shown on Model health.
    new_arrivals_ : ndarray of int, shape (n_new,)
        Products launched within ``new_arrival_days`` of the fit date (before
        or after it), whose new-arrival prior is added to the score (none
        when ``new_arrival_weight`` is 0).
    """

    explains = True

    # ---------------------------------------------------------------- fit
    def _fit(
        self,
        dataset: Dataset,
        as_of: AsOf = None,
        interactions: Interactions | None = None,
    ) -> None:
        """Build the matrix, factorise it, learn features and the ridge map."""
        config = self.config_
        laps = Laps()
        with threadpool_limits(limits=config.n_threads):
            inter = resolve_interactions(dataset, config, as_of, interactions)
            laps.lap("interactions")
            factors, singular_values = fit_item_factors(inter.matrix, config)
            laps.lap("svd")
            counts = np.bincount(inter.matrix.indices, minlength=len(dataset.product_ids))
            similarity = item_neighbours(
                binary_rows(inter.matrix),
                config.item_neighbours,
                support_shrinkage=config.item_shrinkage,
            )
            laps.lap("neighbours")
            moments = functools.partial(client_factor_moments, inter.matrix)
            sequence = next_steps(
                inter.transitions,
                len(dataset.product_ids),
                config.item_neighbours,
                config.item_shrinkage,
            )
            laps.lap("sequence")
            side = ItemSide(factors, singular_values, counts, similarity, moments, sequence)
            self.learn_products(dataset, inter, side, laps)
        active = np.flatnonzero(np.diff(inter.matrix.indptr) > 0)
        sample = sample_clients(active, config.seed)
        self.fit_report_ = fit_report(
            self,
            span_days=span_days(dataset.events["timestamp"], inter.as_of),
            half_life_days=config.half_life_days,
            counts=counts,
            clients_with_history=int(active.size),
            block_spreads=self.block_spreads(
                [str(c) for c in inter.client_ids.to_external(sample)]
            ),
            latest_age=inter.latest_age,
        )
        laps.lap("report")
        self.fit_timings_ = laps.timings

    def learn_products(
        self, dataset: Dataset, inter: Interactions, side: ItemSide, laps: Laps | None = None
    ) -> None:
        """Everything products-sized the hybrid learns, from the matrix's products-side results.

        The one-process fit and the scale-out fit (:mod:`core.engine.scale`)
        both end here: content features, the ridge map and cold products'
        factors, factor labels, and the state derived from them.

        Parameters
        ----------
        dataset : Dataset
            Its products (and stores, clients' declared preferences) are read.
        inter : Interactions
            The fitted matrix, or its products side only (no client rows).
        side : ItemSide
        """
        config = self.config_
        laps = laps or Laps()
        self.singular_values_ = side.singular_values
        embeddings = dataset.embeddings
        self.product_features_ = ProductFeatures(config).fit(dataset.products, embeddings)
        self.features_ = self.product_features_.transform(dataset.products, embeddings)
        laps.lap("features")
        factors = np.array(side.item_factors, dtype=np.float64)
        self.known_products_ = side.counts > 0
        self.ridge_coef_, self.ridge_intercept_ = fit_ridge(
            self.features_, factors, side.counts, config
        )
        self.item_factors_ = shrink_to_content(
            factors,
            np.asarray(self.features_ @ self.ridge_coef_) + self.ridge_intercept_,
            side.counts,
            config.factor_shrinkage,
        )
        laps.lap("ridge")
        self.item_similarity_ = side.similarity
        self.sequence_ = side.sequence.matrix
        self.sequence_directionality_ = side.sequence.directionality
        self.factor_mean_, self.factor_std_ = side.factor_moments(self.item_factors_)
        laps.lap("moments")
        self.factor_labels_, self.factor_loadings_ = factor_labels(
            self.features_[self.known_products_],
            factors[self.known_products_],
            self.product_features_.feature_names_,
        )
        laps.lap("labels")
        self.interactions_ = inter
        self._derive(dataset)
        self.dataset_ = dataset  # the report folds clients in (fit() sets it again)
        laps.lap("derive")

    def _derive(self, dataset: Dataset) -> None:
        """State computed from the fitted arrays (also after a load)."""
        inter = self.interactions_
        config = self.config_
        self._priors = Priors(inter, config, dataset.products["launch_date"])
        self.trend_, self.trend_spread_ = self._priors.trend, self._priors.trend_spread
        self.new_arrivals_ = self._priors.new_arrivals
        # The factors are float32 values (kept as float64): one client's product
        # reads them by columns in float32, half the memory a request streams,
        # and every other product computes on the same numbers in float64. (A
        # model saved before they were is rounded here: its scores move by
        # about 1e-7 of their size.)
        self.item_factors_ = np.asarray(self.item_factors_, dtype=np.float32).astype(np.float64)
        self._unit_factors = unit_rows(self.item_factors_)
        self._product_array = np.asarray(dataset.product_ids.external_ids, dtype=object)
        self._feature_names = np.asarray(self.product_features_.feature_names_, dtype=object)
        self._visual = dataset.embeddings  # (n_products, 0) without the table
        # A block weighed 0 (order is noise in these data, or switched off) is not computed.
        weight = config.sequence_weight * self.sequence_directionality_
        self._sequence_on = bool(weight > 0 and self.sequence_.nnz)
        self._declared = declared_preferences(dataset, self.product_features_)
        # A short profile's content block is read by columns: the same sums as by
        # rows when each row's features are in column order (a model saved before
        # they were is sorted here).
        self.features_.sort_indices()
        # (Explanations find the past products' similarities by bisection: cross.)
        self.item_similarity_.sum_duplicates()
        self.sequence_.sum_duplicates()
        self._features_by_column = sp.csc_matrix(self.features_)
        self._feature_cells = np.diff(self._features_by_column.indptr)
        # The SVD block's spread comes from the factors' moments (no pass over the catalogue).
        factor_moments = BlockMoments.of(self.item_factors_)
        assert factor_moments is not None  # (a handful of factors)
        self._factor_moments = factor_moments
        # One client on a large catalogue is ranked without the full content block.
        cells, n_features = self.features_.nnz, self.features_.shape[1]
        big = cells >= max(PRUNED_CONTENT_CELLS, PRUNED_CELLS_PER_GRAM_CELL * n_features**2)
        self._content_bound = BlockMoments.of(self.features_, _BOUND_RANK) if big else None
        # The factors by columns in float32 (factor_scores), and the columns of
        # the SVD and content bounds as int8 per product (quantised_bounds).
        self._factors_by_column = np.ascontiguousarray(self.item_factors_.T, dtype=np.float32)
        if self._content_bound is not None:
            svd_q, svd_scale = quantise(self.item_factors_.T)
            content_q, content_scale = quantise(self._content_bound.bound_by_column)
            self._bound_columns = np.ascontiguousarray(np.vstack([svd_q, content_q]))
            self._bound_scales = np.vstack([svd_scale, content_scale])
        self._blas = BlasLimiter()
        self._recent: RecentPerFrame[ClientState] = RecentPerFrame(_RECENT_STATES)
        self._warm_kernels()

    def _warm_kernels(self) -> None:
        """Compile the single-client passes for these arrays' types now, not in a request.

        (Or load them from numba's cache: 0.1 s once per process; a first
        compile after an install takes seconds.)
        """
        n = self.item_factors_.shape[0]
        factor_scores(self._factors_by_column, np.zeros(self.item_factors_.shape[1]), np.zeros(n))
        none = self.interactions_.matrix.indices[:0]  # the type of a client's products
        for m in (self.item_similarity_, self.sequence_):
            row_sums(m.indptr, m.indices, m.data, none, _UNWEIGHTED, np.zeros(m.shape[1]))
            cross(m.indptr, m.indices, m.data, none, np.zeros(0, dtype=np.int64))  # (explanations)
        f = self.features_
        row_sums(f.indptr, f.indices, f.data, none, _UNWEIGHTED, np.zeros(f.shape[1]))
        rows_dot(f.indptr, f.indices, f.data, self.new_arrivals_[:0], np.zeros(f.shape[1]))
        self._content_block(np.ones(f.shape[1]), np.zeros(n))  # by rows (every feature)
        self._content_block(np.zeros(f.shape[1]), np.zeros(n))  # by columns (none)
        if self._content_bound is not None:
            self._content_bound.spread(np.zeros(f.shape[1]))
        zeros, nothing = np.zeros(n), np.ones(n, dtype=bool)
        weights, new = np.zeros(_BLOCKS), self.new_arrivals_
        rank_one(1, zeros, zeros, zeros, weights, zeros, new, np.zeros(new.size), nothing, zeros)
        fill_scores(
            np.zeros(n), zeros, zeros, zeros, weights, zeros, new, np.zeros(new.size), zeros
        )
        if self._content_bound is not None:
            u, bound = np.zeros(self.item_factors_.shape[1]), np.zeros(n, dtype=np.float32)
            weights32 = self._bound_weights(u, np.zeros(f.shape[1]))
            quantised_bounds(
                self._bound_columns, weights32, u.size, self._bound_scales, bound, bound
            )
            rank_one_bounded(
                1, bound, bound, self.item_factors_, u, zeros, zeros, weights, zeros, new, 0.0,
                nothing, f.indptr, f.indices, f.data, np.zeros(f.shape[1]),
            )  # fmt: skip

    # ------------------------------------------------------------ scoring
    def _state(
        self, client_ids: Sequence[str], extra_events: ExtraEvents | None, prune: bool = False
    ) -> tuple[ClientState, np.ndarray | None]:
        """The clients' state, and their raw block scores when they had to be computed.

        ``prune``: the caller may do without the content block (one client's
        ranking, :meth:`_top_one`, and the explanation of a few products,
        :meth:`_explain_items`; every other caller wants every product's score).

        A model's fitted arrays never change, so a client's state stays valid
        until the next fit or load: explaining the list just recommended
        reuses it instead of folding the client in a second time. With extra
        events the state is reused only for the very same frame object (a
        served client's events, read once per request: ``core.app.serving``);
        a frame is read as a snapshot, so one changed in place after a call
        must be passed as a new frame (``copy()``). A state found in the cache
        comes without raw scores (``None``).
        """
        if len(client_ids) != 1:
            return self._build_state(client_ids, extra_events)
        key = str(client_ids[0])
        found = self._recent.get(key, extra_events)
        if found is not None:
            if found.new_arrival is None and not prune:
                found = self._with_new_arrivals(found)
                self._recent.put(key, extra_events, found)
            return found, None
        state, raw = self._build_state([key], extra_events, prune=prune)
        self._recent.put(key, extra_events, state)
        return state, raw

    def _with_new_arrivals(self, state: ClientState) -> ClientState:
        """A pruned ranking's state with its new-arrival prior (every score asked for)."""
        new_arrival = self._new_arrival_of(state)(self.new_arrivals_)
        return dataclasses.replace(state, new_arrival=new_arrival[None, :])

    def _new_arrival_of(self, state: ClientState) -> Callable[[np.ndarray], np.ndarray]:
        """One client's new-arrival prior at some products, from their content scores alone.

        The prior :meth:`_finish_state` computes from the whole content block,
        for a pruned state that has none (its ranking computed the content
        scores it needed only): the same floats, ``F_i . p`` summed as ``F @ p``.
        """
        f = self.features_
        _, profile = state.inputs.block_inputs()
        spread = state.spreads[:1, _CONTENT]

        def new_arrival(products: np.ndarray) -> np.ndarray:
            content = rows_dot(f.indptr, f.indices, f.data, products, profile)
            return np.asarray(self._priors.new_arrival(spread, content[None, :])[0])

        return new_arrival

    def seen_mask(
        self, client_ids: Sequence[str], extra_events: ExtraEvents | None = None
    ) -> np.ndarray:
        """:meth:`Recommender.seen_mask`, from the state the scores were built from (no second fold-in)."""
        if extra_events is None:
            return super().seen_mask(client_ids)
        self.check_is_fitted()
        state, _ = self._state(client_ids, extra_events)
        return cells_mask(state.inputs.rows.matrix)

    def forget(self, client_id: str) -> None:
        """Drop the state kept for ``client_id`` (see :meth:`_state`)."""
        self._recent.forget(str(client_id))

    def _build_state(
        self,
        client_ids: Sequence[str],
        extra_events: ExtraEvents | None,
        rows: ClientRows | None = None,
        prune: bool = False,
    ) -> tuple[ClientState, np.ndarray]:
        """The clients' state; ``rows`` are their matrix rows when already built.

        ``prune``: one client's content block may be left out (:meth:`_prunes`).
        """
        config = self.config_
        ids = [str(c) for c in client_ids]
        one = positions(self.interactions_.client_ids, ids, strict=False)
        inputs: OneClient | ManyClients
        fitted = rows is None and extra_events is None and one[0] >= 0
        if len(ids) == 1 and (fitted or rows is not None or extra_events is not None):
            # One client: a fitted row, or one folded in from their events (served per client).
            if fitted:
                inter = self.interactions_
                source, r = ClientRows(inter.matrix, inter.strongest, inter.strength), int(one[0])
            else:
                source = rows if rows is not None else self.interactions_.fold_in(ids, extra_events)
                r = 0
            same = self.interactions_.client_ids is self.dataset_.client_ids  # (not a served model)
            at = one if same else positions(self.dataset_.client_ids, ids, strict=False)
            cells = self._declared.cells(int(at[0]))
            inputs, u = self._one_client(source, r, cells)
            strength = source.strength[r : r + 1].astype(np.float64)
        else:
            prefs = client_preferences(self.dataset_, self._declared, ids)
            if rows is None:
                rows = self.interactions_.fold_in(ids, extra_events)
            u = np.asarray(rows.matrix @ self.item_factors_)
            profiles = content_profiles(
                rows.matrix, self.features_, prefs, config.preference_weight
            )
            bought = purchase_rows(rows.matrix, rows.strongest)
            inputs = ManyClients(rows, binary_rows(rows.matrix), bought, profiles)
            strength = rows.strength
        share = history_share(strength, config.blend_k)
        pruned = prune and self._prunes(share, u)
        raw, spreads = self._raw_blocks(u, inputs, pruned)
        return self._finish_state(one, strength, share, inputs, u, raw, spreads, pruned), raw

    def _prunes(self, share: np.ndarray, u: np.ndarray) -> bool:
        """Whether one client is ranked from bounds (:meth:`_top_one`).

        On a large catalogue, for a client whose history earns the collaborative
        blocks at least half their weight (``share``: :func:`history_share`):
        without it content leads the ranking, its bound prunes nothing, and
        the full blocks are faster. Factors ``u`` past float32's range (the
        bounds' sums) are ranked from the full blocks too.
        """
        if self._content_bound is None or share.size != 1:
            return False
        return bool(share[0] >= 0.5 and np.abs(u).max(initial=0.0) < _FLOAT32_SAFE)

    def _one_client(
        self, source: ClientRows, r: int, prefs: PreferenceCells
    ) -> tuple[OneClient, np.ndarray]:
        """One client's cells, profile and factors, from row ``r`` of ``source``.

        The same arithmetic as the many-client path, written over the client's
        few cells (gathers and ``bincount``) instead of sparse matrix products:
        one request's fixed cost is what a tablet waits for.
        """
        matrix = source.matrix
        lo, hi = int(matrix.indptr[r]), int(matrix.indptr[r + 1])
        items, x = matrix.indices[lo:hi], matrix.data[lo:hi].astype(np.float64)
        codes = source.strongest.data[lo:hi]
        u = (x @ self.item_factors_[items])[None, :]
        history, preference, norm = one_profile(
            items, x, self.features_, prefs, self.config_.preference_weight
        )
        one = OneClient(source, r, items, x, codes, history, preference, norm)
        return one, u

    def _finish_state(
        self,
        idx: np.ndarray,
        strength: np.ndarray,
        share: np.ndarray,
        inputs: OneClient | ManyClients,
        u: np.ndarray,
        raw: np.ndarray,
        spreads: np.ndarray,
        pruned: bool = False,
    ) -> ClientState:
        """The per-client weights and priors that complete a state (``idx``: fitted rows or -1).

        ``share``: :func:`history_share` of ``strength``; ``raw`` and ``spreads``
        come from :meth:`_raw_blocks`; ``pruned``: ``raw`` lacks the content block.
        """
        config = self.config_
        sequence = config.sequence_weight * self.sequence_directionality_
        blend = np.array([config.cf_weight, config.item_weight, 0.0, sequence])
        weights = share[:, None] * blend
        weights[:, _CONTENT] = config.content_weight
        weights = per_spread(weights, spreads)
        prior_row = self._priors.prior_rows(idx, strength)
        new_arrival = None  # (a pruned ranking computes it where it computes the content block)
        if not pruned:
            content = raw[_CONTENT][:, self.new_arrivals_]
            new_arrival = self._priors.new_arrival(spreads[:, _CONTENT], content)
        return ClientState(inputs, u, weights, spreads, prior_row, new_arrival, pruned)

    def block_spreads(self, client_ids: list[str], rows: ClientRows | None = None) -> np.ndarray:
        """Spread of each raw block (SVD, neighbours, content, next step) per client, shape (n, 4).

        ``rows``: the clients' matrix rows when the model holds none (the scale-out fit).
        """
        if not client_ids:
            return np.zeros((0, _BLOCKS))
        state, _ = self._build_state(client_ids, None, rows)
        return state.spreads

    def _raw_blocks(
        self, u: np.ndarray, inputs: OneClient | ManyClients, pruned: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Unweighted block scores and their spreads (:mod:`core.engine.models.blend`).

        ``pruned`` (one client, :meth:`_prunes`): the SVD and content rows are
        not computed (left unset), the content block's spread comes from the
        features' moments; :meth:`_top_one` bounds them and scores the
        products that can reach the top, :meth:`_weighted` computes them
        when every score is asked for.

        Returns
        -------
        raw : ndarray, shape (4, n_clients, n_products)
            SVD, neighbour, content and next-step scores.
        spreads : ndarray, shape (n_clients, 4)
            Each block's standard deviation over the catalogue, per client (the
            SVD block's from the factors' moments).
        """
        n_products = self.item_factors_.shape[0]
        spreads = np.zeros((u.shape[0], _BLOCKS))
        spreads[:, _SVD] = self._factor_moments.spread(u[0] if u.shape[0] == 1 else u)
        if u.shape[0] == 1:  # V u by columns; the past products' rows of S (and of T) summed
            raw = np.empty((_BLOCKS, 1, n_products))
            past, profile = inputs.block_inputs()
            sim = self.item_similarity_
            spreads[0, _NEIGHBOURS] = row_sums(
                sim.indptr, sim.indices, sim.data, past, _UNWEIGHTED, raw[_NEIGHBOURS, 0]
            )
            if pruned:  # no SVD nor content row: rank_one_bounded bounds them
                bound = self._content_bound
                assert bound is not None
                spreads[0, _CONTENT] = bound.spread(profile)[0]
            else:
                factor_scores(self._factors_by_column, u[0], raw[_SVD, 0])
                spreads[0, _CONTENT] = self._content_block(profile, raw[_CONTENT, 0])
            if self._sequence_on:
                bought, s = inputs.sequence_inputs()
                seq = self.sequence_
                spreads[0, _SEQUENCE] = row_sums(
                    seq.indptr, seq.indices, seq.data, bought, s, raw[_SEQUENCE, 0]
                )
            else:
                raw[_SEQUENCE, 0] = 0.0
            return raw, spreads
        assert isinstance(inputs, ManyClients)
        raw = np.zeros((_BLOCKS, u.shape[0], n_products))  # toarray adds into its output
        np.matmul(u, self.item_factors_.T, out=raw[_SVD])
        neighbours = inputs.past @ self.item_similarity_
        spreads[:, _NEIGHBOURS] = sparse_row_spread(neighbours)
        neighbours.toarray(out=raw[_NEIGHBOURS])
        raw[_CONTENT] = content_scores(inputs.profiles, self.features_)
        spreads[:, _CONTENT] = row_spread(raw[_CONTENT])
        if self._sequence_on:
            steps = inputs.purchases @ self.sequence_
            spreads[:, _SEQUENCE] = sparse_row_spread(steps)
            steps.toarray(out=raw[_SEQUENCE])
        return raw, spreads

    def _content_block(self, profile: np.ndarray, out: np.ndarray) -> float:
        """One client's content scores ``F p`` into ``out``, and their spread.

        Read by columns when the profile's features hold fewer cells than
        ``F`` (a client with a short history); the same floats either way.
        """
        nonzero = np.flatnonzero(profile)
        f = self.features_
        if self._feature_cells[nonzero].sum() < f.nnz:
            by_column = self._features_by_column
            return float(
                column_matvec(
                    by_column.indptr, by_column.indices, by_column.data, nonzero, profile, out
                )
            )
        return float(matvec(f.indptr, f.indices, f.data, profile, out))

    def _weighted(
        self, client_ids: Sequence[str], extra_events: ExtraEvents | None
    ) -> tuple[ClientState, np.ndarray, np.ndarray]:
        """The state, the weighted collaborative part (SVD + neighbours) and content part."""
        state, raw = self._state(client_ids, extra_events)
        if raw is None:  # (a cached state comes without its raw blocks)
            raw, _ = self._raw_blocks(state.u, state.inputs)
        w = state.weights
        cf = raw[_SVD] * w[:, _SVD, None]
        cf += raw[_NEIGHBOURS] * w[:, _NEIGHBOURS, None]
        cf += raw[_SEQUENCE] * w[:, _SEQUENCE, None]
        content = raw[_CONTENT] * w[:, _CONTENT, None]
        return state, cf, content

    def score_parts(
        self, client_ids: Sequence[str], extra_events: ExtraEvents | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The three additive parts of :meth:`score_clients`.

        Returns
        -------
        cf, content, prior : ndarray, shape (n_clients, n_products)
            Weighted and scaled; ``cf + content + prior`` is the score
            (``cf`` holds the SVD, item-neighbour and next-step blocks).
        """
        self.check_is_fitted()
        with self._blas_limit(len(client_ids)):
            state, cf, content = self._weighted(client_ids, extra_events)
            prior = self._priors.add(state, np.zeros_like(cf))
        return cf, content, prior

    def _blas_limit(self, n_clients: int) -> contextlib.AbstractContextManager[object]:
        """One BLAS thread for small requests: threads cost more than they give there.

        A few clients' scores over a large catalogue (tens of thousands of
        products) are a matrix product that two threads do in half the time.
        (One client's ranking and scores use no BLAS thread limit: their
        passes over the catalogue are compiled loops, :meth:`_rank` and
        :meth:`score_clients`.)
        """
        if n_clients <= _SMALL_REQUEST and self.item_factors_.size < _SMALL_FACTORS:
            return self._blas.one_thread()
        return contextlib.nullcontext()

    def score_clients(
        self, client_ids: Sequence[str], extra_events: ExtraEvents | None = None
    ) -> np.ndarray:
        self.check_is_fitted()
        if len(client_ids) == 1:  # the blocks weighed and summed in one compiled pass
            state, raw = self._state(client_ids, extra_events)
            if raw is None:  # (a cached state comes without its raw blocks)
                raw, _ = self._raw_blocks(state.u, state.inputs)
            assert state.new_arrival is not None
            out = np.empty((1, raw.shape[2]))
            fill_scores(
                out[0], raw[_SVD, 0], raw[_NEIGHBOURS, 0], raw[_SEQUENCE, 0], state.weights[0],
                self._priors.trend_row(state, 0)[0], self.new_arrivals_, state.new_arrival[0],
                raw[_CONTENT, 0],
            )  # fmt: skip
            return out
        with self._blas_limit(len(client_ids)):
            state, cf, content = self._weighted(client_ids, extra_events)
        content += cf
        return self._priors.add(state, content)

    def _rank(
        self,
        client_ids: list[str],
        k: int,
        candidates: Iterable[str] | None,
        exclude: Iterable[str] | None,
        exclude_seen: bool,
        extra_events: ExtraEvents | None,
    ) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """:meth:`Recommender._rank`; one client through :meth:`_top_one` (one compiled pass)."""
        self.check_is_fitted()
        if len(client_ids) != 1:
            return super()._rank(client_ids, k, candidates, exclude, exclude_seen, extra_events)
        allowed = self._allowed(k, candidates, exclude)
        (cid,) = client_ids
        # (No BLAS limit: one client's passes over the catalogue are compiled
        # loops; what is left for BLAS is too small for it to start threads.)
        top, scores = self._top_one(cid, k, allowed, exclude_seen, extra_events)
        return [(cid, top, scores)]

    def _top_one(
        self,
        client_id: str,
        k: int,
        allowed: np.ndarray | None,
        exclude_seen: bool,
        extra_events: ExtraEvents | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """One client's exact top ``k`` in one compiled pass (:func:`~core.engine.models.hybrid_kernels.rank_one`).

        The blocks are summed, the priors added, the masks applied and the top
        ``k`` kept in one loop over the catalogue instead of a NumPy pass
        each. On a large catalogue (:meth:`_prunes`) the SVD and content
        blocks were not computed: the content block's weight comes from the
        features' moments, and a product's SVD and content scores are
        computed only when their bound (int8 columns; the content part from
        the features' leading directions,
        :class:`~core.engine.models.blend.BlockMoments`) can still lift it
        into the top ``k``. Either way, the products and scores
        :meth:`score_clients` would rank, to the bit, ties to the lower index
        as :func:`~core.engine.ranking.top_indices`.
        """
        state, raw = self._state([client_id], extra_events, prune=True)
        if raw is None:
            raw, _ = self._raw_blocks(state.u, state.inputs, state.pruned)
        blocked = np.zeros(raw.shape[2], dtype=bool) if allowed is None else ~allowed
        if exclude_seen:  # the cells of the client's row (seen_mask's, without a dense mask)
            blocked[state.inputs.seen_products()] = True
        _, profile = state.inputs.block_inputs()
        prior = self._priors.trend_row(state, 0)[0]
        if not state.pruned:
            assert state.new_arrival is not None
            return rank_one(
                k, raw[_SVD, 0], raw[_NEIGHBOURS, 0], raw[_SEQUENCE, 0], state.weights[0], prior,
                self.new_arrivals_, state.new_arrival[0], blocked, raw[_CONTENT, 0],
            )  # fmt: skip
        features, u = self.features_, state.u[0]
        n = self.item_factors_.shape[0]
        svd_bound, content_bound = np.empty(n, dtype=np.float32), np.empty(n, dtype=np.float32)
        quantised_bounds(
            self._bound_columns, self._bound_weights(u, profile), u.size, self._bound_scales,
            svd_bound, content_bound,
        )  # fmt: skip
        top, scores = rank_one_bounded(
            k,
            svd_bound,
            content_bound,
            self.item_factors_,
            u,
            raw[_NEIGHBOURS, 0],
            raw[_SEQUENCE, 0],
            state.weights[0],
            prior,
            self.new_arrivals_,
            float(self._priors.new_arrival_scale(state.spreads[:, _CONTENT])[0]),
            blocked,
            features.indptr,
            features.indices,
            features.data,
            profile,
        )
        return top, scores

    def _bound_weights(self, u: np.ndarray, profile: np.ndarray) -> np.ndarray:
        """The weights of the bounds' columns (:func:`quantised_bounds`), float32.

        ``u``, then the content bound's
        (:meth:`~core.engine.models.blend.BlockMoments.bound_vector`); the
        rounding margins are :func:`quantised_bounds`'.
        """
        assert self._content_bound is not None
        return np.concatenate([u, self._content_bound.bound_vector(profile)]).astype(np.float32)

    def _similarity_row(self, product_idx: int) -> np.ndarray:
        """Factor and content cosines, half each; a third each with the images' cosine."""
        factor = self._unit_factors @ self._unit_factors[product_idx]
        content = (self.features_ @ self.features_[product_idx].T).toarray().ravel()
        if not self._visual.shape[1]:
            return np.asarray(0.5 * factor + 0.5 * content)
        visual = self._visual @ self._visual[product_idx]
        return np.asarray((factor + content + visual) / 3.0)

    def item_embedding(self) -> np.ndarray:
        """Unit-norm item factors, cold products included, shape (n_products, k), float32."""
        self.check_is_fitted()
        return self._unit_factors.astype(np.float32)

    # -------------------------------------------------------- explanations
    def explain_many(
        self,
        client_id: str,
        product_ids: Sequence[str],
        extra_events: ExtraEvents | None = None,
    ) -> list[Explanation]:
        """:meth:`explain` for several products of one client, sharing the client's state.

        Returns
        -------
        list of Explanation
            In the order of ``product_ids``; each one's contributions add up
            to its score (to float rounding).
        """
        self.check_is_fitted()
        items = positions(self.dataset_.product_ids, list(product_ids))
        with self._blas_limit(1):
            return self._explain_items(client_id, product_ids, items, extra_events)

    def _explain_items(
        self,
        client_id: str,
        product_ids: Sequence[str],
        items: np.ndarray,
        extra_events: ExtraEvents | None,
    ) -> list[Explanation]:
        state, _ = self._state([client_id], extra_events, prune=True)
        a_sv, a_nb, a_ct, a_sq = (float(a) for a in state.weights[0])
        m = len(items)
        past, x, codes = state.inputs.cells()
        parts = item_contributions(past, x, self.item_factors_, items)
        parts *= a_sv
        # b_j = 1 for every past item: its neighbour part is S[j, i] itself.
        sim = self.item_similarity_
        neighbours = cross(sim.indptr, sim.indices, sim.data, past, items)
        parts += a_nb * neighbours.T
        cf = a_sv * (state.u[0] @ self.item_factors_[items].T)
        cf += a_nb * neighbours.sum(axis=0)
        bought, s = state.inputs.sequence_inputs() if self._sequence_on else (past[:0], np.zeros(0))
        seq = self.sequence_
        step_values = cross(seq.indptr, seq.indices, seq.data, bought, items) * s[:, None]
        steps = a_sq * step_values
        cf += steps.sum(axis=0)
        h, q, norm = state.inputs.profile_row()
        content, attributes, preferences, visual = attribute_blocks(
            h, q, norm, self.features_, items, self._feature_names, a_ct
        )
        blocks = [
            ContributionBlock.past_items(parts, self._product_array[past], codes, "cf"),
            ContributionBlock.past_items(
                steps.T,
                self._product_array[bought],
                np.full(bought.size, PURCHASE),
                "cf",
                kind="sequence",
            ),
            attributes,
            preferences,
            name_visual(visual, past, x, self._visual, items, self._product_array),
        ]
        prior = np.zeros(m)
        for values, source in self._priors.parts(state, 0, items, self._new_arrival_of(state)):
            prior += values
            blocks.append(
                ContributionBlock(
                    np.arange(m), values, "prior", "prior", np.full(m, source, dtype=object)
                )
            )
        # The score each product was ranked with, to the bit (the parts add up
        # to it within float rounding: they are summed in another order).
        past_products, profile = state.inputs.block_inputs()
        if past_products.size != past.size:  # (the neighbour block reads x > 0 only)
            neighbours = cross(sim.indptr, sim.indices, sim.data, past_products, items)
        f = self.features_
        ranked = exact_scores(
            items, self.item_factors_, state.u[0], neighbours, step_values,
            state.weights[0], self._priors.trend_row(state, 0)[0][items], self.new_arrivals_,
            float(self._priors.new_arrival_scale(state.spreads[:, _CONTENT])[0]),
            f.indptr, f.indices, f.data, profile,
        )  # fmt: skip
        parts_of = {"cf": cf, "content": content, "prior": prior}
        return assemble_explanations(client_id, product_ids, parts_of, blocks, ranked)

    def taste_profile(
        self, client_id: str, n: int = 5, extra_events: ExtraEvents | None = None
    ) -> pd.DataFrame:
        """The client's most distinctive latent factors, named by their attributes.

        A factor's weight is the square of how far the client's folded-in
        vector sits from the average client on it (in standard deviations);
        it is named by the product attributes that correlate most with it in
        the client's direction.

        Returns
        -------
        DataFrame
            Columns ``factor`` (int), ``share`` (sums to 1 over the rows),
            ``label`` (short text) and ``top_attributes`` (list of feature
            names, strongest first); empty for a client without history.
        """
        self.check_is_fitted()
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise ValueError(f"n must be a whole number >= 1, got {n!r}")
        cols = ["factor", "share", "label", "top_attributes"]
        rows = self.interactions_.fold_in([client_id], extra_events)
        if rows.matrix.nnz == 0:
            return pd.DataFrame(columns=cols)
        u = np.asarray(rows.matrix @ self.item_factors_).ravel()
        z = (u - self.factor_mean_) / np.where(self.factor_std_ > 0, self.factor_std_, 1.0)
        energy = z**2
        top = np.argsort(-energy, kind="stable")[: min(n, energy.size)]
        top = top[energy[top] > 0]
        if not top.size:
            return pd.DataFrame(columns=cols)
        names = self.product_features_.feature_names_
        out = []
        for f in top:
            direction = 0 if z[f] > 0 else 1
            feats = [str(names[j]) for j in self.factor_labels_[f, direction] if j >= 0]
            label = " · ".join(short_label(a) for a in feats[:3])
            out.append((int(f), float(energy[f]), label, feats))
        frame = pd.DataFrame(out, columns=cols)
        frame["share"] = frame["share"] / frame["share"].sum()
        return frame

    # ---------------------------------------------------------- persistence
    #: A product-side model's sums over the house's events (popularity, store
    #: sales, co-purchases) for pages served without them; ``None`` otherwise.
    house_: HouseAggregates | None = None

    _ARRAYS = (
        "item_factors",
        "singular_values",
        "known_products",
        "ridge_coef",
        "ridge_intercept",
        "factor_mean",
        "factor_std",
        "factor_labels",
        "factor_loadings",
        "sequence_directionality",
    )

    def _get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays, inter_meta = interactions_to_state(self.interactions_, prefix="inter.")
        f_arrays, f_meta = self.product_features_.get_state()
        arrays.update({f"features.{k}": v for k, v in f_arrays.items()})
        arrays.update(csr_to_state(self.features_, "features.matrix"))
        arrays.update(csr_to_state(self.item_similarity_, "neighbours"))
        arrays.update(csr_to_state(self.sequence_, "sequence"))
        for name in self._ARRAYS:
            arrays[name] = np.asarray(getattr(self, name + "_"))
        if self.house_ is not None:
            arrays.update({f"house.{k}": v for k, v in self.house_.to_arrays().items()})
        meta = {"interactions": inter_meta, "features": f_meta, "report": self.fit_report_}
        return arrays, meta

    def _set_state(
        self, arrays: dict[str, np.ndarray], meta: dict[str, Any], dataset: Dataset
    ) -> None:
        self.interactions_ = interactions_from_state(
            arrays, meta["interactions"], dataset, prefix="inter."
        )
        f_arrays = {k[9:]: v for k, v in arrays.items() if k.startswith("features.")}
        self.product_features_ = ProductFeatures.from_state(f_arrays, meta["features"], self.config)
        n_products = len(dataset.product_ids)
        shape = (n_products, self.product_features_.n_features_)
        self.features_ = csr_from_state(arrays, "features.matrix", shape)
        self.item_similarity_ = csr_from_state(arrays, "neighbours", (n_products, n_products))
        self.sequence_ = csr_from_state(arrays, "sequence", (n_products, n_products))
        for name in self._ARRAYS:
            setattr(self, name + "_", arrays[name])
        self.sequence_directionality_ = float(self.sequence_directionality_)
        self.fit_report_ = dict(meta.get("report", {}))
        house = {k[6:]: v for k, v in arrays.items() if k.startswith("house.")}
        self.house_ = HouseAggregates.from_arrays(house) if house else None
        self.dataset_ = dataset
        self._derive(dataset)
