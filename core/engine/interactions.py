"""Events -> the weighted, time-decayed client x product interaction matrix.

One cell holds what a client's events say about their taste for a product:

- each event weighs its type's weight (:attr:`EngineConfig.event_weights`)
  times ``0.5 ** (age_days / half_life_days)``, age measured back from the
  client's latest event (``recency="client"``, the default) or from ``as_of``
  (``"calendar"``); events after ``as_of`` are ignored (this keeps a temporal
  evaluation split free of leaks); popularity and trends always age from
  ``as_of``;
- a return cancels its share of the cell's purchases: with ``p`` purchases
  and ``r`` returns of one product by one client, the purchases keep
  ``max(0, 1 - r / p)`` of their weight, so one purchase and one return
  leave nothing and a cell never goes negative;
- gift purchases (``is_gift``) say nothing about the buyer's taste and are
  left out of the matrix, but they count for product popularity;
- the summed weight ``w`` becomes ``log(1 + w)`` (``confidence="log1p"``) or
  stays ``w``, then is optionally normalised against popularity bias per
  product: ``idf`` multiplies column ``j`` by ``ln((1 + N) / (1 + df_j)) + 1``
  (``N`` clients, ``df_j`` clients with a non-zero cell); ``bm25`` also
  saturates each cell and normalises by the client's row length
  (``value * (k1 + 1) / (k1 * (1 - b + b * len / avg_len) + value) * idf``);
  ``popularity_exponent`` (0: off) further multiplies column ``j`` by
  ``((1 + df_j) / (1 + mean df)) ** -popularity_exponent``, with or without
  ``idf`` (:func:`core.engine.cells.column_weights`).

Everything is vectorised; a fitted :class:`Interactions` also folds in new
events for a client (:meth:`Interactions.fold_in`) with the same arithmetic
as a rebuild, the normalisation statistics being those of the fit.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp

from core.data.dataset import Dataset
from core.data.ids import IdMap
from core.engine.cells import (
    AsOf,
    Cells,
    Demand,
    aggregate_cells,
    cells_csr,
    concat_cells,
    event_block,
    event_cells,
    finalize_rows,
    finalize_values,
    fit_date,
    latest_ages,
    row_selector,
    take_rows,
)
from core.engine.config import INTERACTION_FIELDS, EngineConfig
from core.engine.events import (
    FEW_EVENTS,
    EventArrays,
    ExtraEvents,
    check_event_types,
    check_extra_columns,
    event_arrays,
    extra_table,
    few_event_arrays,
    known_columns,
    positions,
)
from core.engine.interactions_state import (
    csr_from_state,
    csr_to_state,
    interactions_from_state,
    interactions_to_state,
)
from core.engine.transitions import TransitionCounts
from core.exceptions import UnknownIdError

__all__ = [
    "ClientRows",
    "Interactions",
    "build_interactions",
    "csr_from_state",
    "csr_to_state",
    "drop_clients",
    "interactions_from_state",
    "interactions_to_state",
    "products_only_interactions",
    "resolve_interactions",
]


@dataclass(frozen=True)
class ClientRows:
    """Interaction rows of some clients (fitted rows plus folded-in events).

    Attributes
    ----------
    matrix : csr_matrix, shape (n_rows, n_products), float32
        Weighted, decayed, transformed and normalised cells.
    strongest : csr_matrix, shape (n_rows, n_products), int8
        Code (index into :data:`core.data.schema.EVENT_TYPES`) of the strongest
        event of each cell of ``matrix`` (same sparsity structure).
    strength : ndarray, shape (n_rows,), float64
        History strength: the summed weighted, decayed events (after returns,
        without gifts), before the confidence transform.
    """

    matrix: sp.csr_matrix
    strongest: sp.csr_matrix
    strength: np.ndarray

    def cells(self, r: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Row ``r``'s cells: their products, values (float64) and strongest event codes."""
        lo, hi = int(self.matrix.indptr[r]), int(self.matrix.indptr[r + 1])
        return (
            self.matrix.indices[lo:hi],
            self.matrix.data[lo:hi].astype(np.float64),
            self.strongest.data[lo:hi],
        )


@dataclass(frozen=True)
class Interactions:
    """The fitted interaction matrix and what goes with it.

    Build one with :func:`build_interactions`.

    Attributes
    ----------
    client_ids, product_ids, store_ids : IdMap
        Row, column and store indices (the dataset's, in table order).
    matrix : csr_matrix, shape (n_clients, n_products), float32
        Weighted, decayed, transformed and normalised taste.
    strongest : csr_matrix, shape (n_clients, n_products), int8
        Strongest event code per cell of ``matrix`` (index into ``EVENT_TYPES``).
    strength : ndarray, shape (n_clients,)
        History strength per client (see :class:`ClientRows`).
    popularity, trend : ndarray, shape (n_products,)
        Decayed demand over every event, gifts included, returns netted;
        ``popularity`` with ``half_life_days``, ``trend`` with
        ``trend_half_life_days``.
    home_store : ndarray, shape (n_clients,), int64
        Index of each client's home store in ``store_ids`` (-1 if unknown).
    as_of : Timestamp
        The "now" that ages are measured from.
    config : EngineConfig
        The parameters the matrix was built with.
    idf, avg_len : ndarray or None, float
        Normalisation statistics of the fit (``idf``: the per-product weights,
        idf times the popularity damping; reused when folding in).
    store_popularity_matrix, store_trend_matrix : csr_matrix, shape (n_stores, n_products)
        Demand per store (see :meth:`store_popularity`).
    other_cells, other_rank, purchase_cells, purchase_n, return_n, latest_age
        Per-cell statistics, and the age of each client's latest event (the
        reference of their taste's ages with ``recency="client"``), that make
        :meth:`fold_in` equal to a rebuild.
    clients_without_rows : IdMap or None
        Clients known without a row (a product-side model serving a house's
        clients, :func:`core.engine.scale.fit.with_clients`): folded in from
        their events, and an empty row when they have none.
    transitions : TransitionCounts or None
        What the fitted clients bought next (:mod:`core.engine.transitions`);
        ``None`` where the matrix was not built from events (a loaded model
        keeps the next-step matrix itself).
    """

    client_ids: IdMap
    product_ids: IdMap
    store_ids: IdMap
    matrix: sp.csr_matrix
    strongest: sp.csr_matrix
    strength: np.ndarray
    popularity: np.ndarray
    trend: np.ndarray
    home_store: np.ndarray
    as_of: pd.Timestamp
    config: EngineConfig
    idf: np.ndarray | None
    avg_len: float
    store_popularity_matrix: sp.csr_matrix
    store_trend_matrix: sp.csr_matrix
    other_cells: sp.csr_matrix  # float32 non-purchase taste, for fold-in
    other_rank: np.ndarray  # int8, aligned with other_cells.data
    purchase_cells: sp.csr_matrix  # float64 gross non-gift purchase weight
    purchase_n: np.ndarray  # int32 purchases per purchase cell (gifts included)
    return_n: np.ndarray  # int32 returns per purchase cell
    latest_age: np.ndarray  # float64 days from each client's latest event (inf: none)
    clients_without_rows: IdMap | None = None
    transitions: TransitionCounts | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.client_ids), len(self.product_ids))

    # ------------------------------------------------------------- fold-in
    def fold_in(
        self, client_ids: Sequence[str], extra_events: ExtraEvents | None = None
    ) -> ClientRows:
        """Rows of ``client_ids`` with ``extra_events`` added, without a refit.

        Parameters
        ----------
        client_ids : sequence of str
            Known clients, or unknown ones that have events in ``extra_events``.
        extra_events : DataFrame or pyarrow.Table, optional
            Columns ``client_id``, ``product_id``, ``event_type`` and optionally
            ``timestamp`` (missing: ``as_of``) and ``is_gift``. Events of other
            clients are ignored; events after ``as_of`` count as of ``as_of``.
            A client's Arrow rows (a per-client reader's) are read without a
            DataFrame; more than :data:`~core.engine.events.FEW_EVENTS` go
            through one.

        Returns
        -------
        ClientRows
            One row per requested id, in order (repeats allowed).

        Raises
        ------
        UnknownIdError
            For a client id that is neither known nor in ``extra_events``, or
            an unknown product id in ``extra_events``.
        ValueError
            For ``extra_events`` lacking a column or with an unknown event type.
        """
        ids = [str(c) for c in client_ids]
        idx = positions(self.client_ids, ids, strict=False)
        if isinstance(extra_events, pa.Table) and extra_events.num_rows > FEW_EVENTS:
            extra_events = extra_events.to_pandas()
        extra_clients, table, few = _extra_clients(extra_events)
        extra_ids = set(extra_clients)
        vouched = self._without_rows(ids, idx, extra_ids)
        _check_known(ids, idx, extra_ids | vouched)
        if not extra_ids.intersection(ids):
            if vouched:
                return self._stored_or_empty(idx)
            return ClientRows(
                self.matrix[idx], self.strongest[idx], self.strength[idx].astype(np.float64)
            )
        assert extra_events is not None
        if len(ids) == 1:  # one request: no ids to sort out
            uniq, inverse, uniq_idx = np.asarray(ids, dtype=object), np.zeros(1, np.int64), idx
        else:
            uniq, inverse = np.unique(np.asarray(ids, dtype=object), return_inverse=True)
            uniq_idx = positions(self.client_ids, list(uniq), strict=False)
        n = len(uniq)
        stored = self._stored_cells(uniq_idx)
        events = self._request_events(uniq, extra_events, extra_clients, table, few)
        stored, reference = self._rereferenced(stored, uniq_idx, events)
        new, _ = event_cells(events, self.config, reference)
        cells = aggregate_cells(concat_cells(stored, new), len(self.product_ids))
        rows = finalize_rows(cells, n, len(self.product_ids), self.config, self.idf, self.avg_len)
        if n == len(ids) and (inverse.ravel() == np.arange(n)).all():  # ids unique and sorted
            return ClientRows(rows.matrix, rows.strongest, rows.strength)
        return ClientRows(rows.matrix[inverse], rows.strongest[inverse], rows.strength[inverse])

    def _without_rows(self, ids: list[str], idx: np.ndarray, extra_ids: set[str]) -> set[str]:
        """The ``ids`` known as :attr:`clients_without_rows` that have neither a row nor events."""
        if self.clients_without_rows is None:
            return set()
        rowless = [c for c, i in zip(ids, idx, strict=True) if i < 0 and c not in extra_ids]
        if not rowless:
            return set()
        found = positions(self.clients_without_rows, rowless, strict=False)
        return {c for c, f in zip(rowless, found, strict=True) if f >= 0}

    def _stored_or_empty(self, idx: np.ndarray) -> ClientRows:
        """The stored rows at ``idx``, an empty row where ``idx < 0``."""
        sel = np.flatnonzero(idx >= 0)
        pick = sp.csr_matrix(
            (np.ones(sel.size), (sel, idx[sel])), shape=(idx.size, self.matrix.shape[0])
        )
        strength = np.zeros(idx.size)
        strength[sel] = self.strength[idx[sel]]
        return ClientRows(
            sp.csr_matrix(pick @ self.matrix, dtype=self.matrix.dtype),
            sp.csr_matrix(pick @ self.strongest, dtype=self.strongest.dtype),
            strength,
        )

    @functools.cached_property
    def _no_stored_cells(self) -> Cells:
        """:meth:`_stored_cells` of no client (the same dtypes), built once."""
        return self._stored_cells(np.zeros(0, dtype=np.int64))

    def _stored_cells(self, uniq_idx: np.ndarray) -> Cells:
        """Stored statistics of the known clients among ``uniq_idx``, re-indexed to output rows."""
        pos = np.flatnonzero(uniq_idx >= 0)
        if not pos.size and uniq_idx.size:  # none known (a client served per request)
            return self._no_stored_cells
        other = take_rows(self.other_cells, uniq_idx[pos], pos)
        purch = take_rows(self.purchase_cells, uniq_idx[pos], pos)
        o_sel = row_selector(self.other_cells.indptr, uniq_idx[pos])
        p_sel = row_selector(self.purchase_cells.indptr, uniq_idx[pos])
        return Cells(
            rows=np.concatenate([other[0], purch[0]]),
            cols=np.concatenate([other[1], purch[1]]),
            other=np.concatenate([other[2].astype(np.float64), np.zeros(purch[2].size)]),
            rank=np.concatenate(
                [self.other_rank[o_sel], np.full(purch[2].size, -1, dtype=np.int8)]
            ),
            p_gross=np.concatenate([np.zeros(other[2].size), purch[2]]),
            p_n=np.concatenate([np.zeros(other[2].size), self.purchase_n[p_sel]]),
            r_n=np.concatenate([np.zeros(other[2].size), self.return_n[p_sel]]),
        )

    def _rereferenced(
        self, stored: Cells, uniq_idx: np.ndarray, events: EventArrays
    ) -> tuple[Cells, np.ndarray | None]:
        """Stored cells and each output row's latest event age, with the new events counted.

        With ``recency="client"`` the stored weights are decayed from the
        client's latest event at the fit; a newer event moves that reference,
        so the stored weights are aged by the difference (a factor per row: a
        rebuild with the events would give the same cells).
        """
        if self.config.recency == "calendar":
            return stored, None
        fitted = np.full(uniq_idx.size, np.inf)
        known = uniq_idx >= 0
        fitted[known] = self.latest_age[uniq_idx[known]]
        reference = np.minimum(fitted, latest_ages(events, uniq_idx.size))
        if not stored.rows.size:
            return stored, reference
        shift = fitted[stored.rows] - reference[stored.rows]
        if not shift.any():
            return stored, reference
        factor = np.exp2(-shift / self.config.half_life_days)
        return replace(
            stored, other=stored.other * factor, p_gross=stored.p_gross * factor
        ), reference

    def _request_events(
        self,
        uniq: np.ndarray,
        extra_events: ExtraEvents,
        extra_clients: list[str],
        table: dict[str, Any],
        few: bool,
    ) -> EventArrays:
        """The extra events of the requested clients (rows = positions in ``uniq``)."""
        row_of = {c: r for r, c in enumerate(uniq.tolist())}
        ev_rows = np.array([row_of.get(c, -1) for c in extra_clients], dtype=np.int64)
        keep = ev_rows >= 0
        if few:
            return few_event_arrays(
                table  # a served client's rows are all theirs
                if keep.all()
                else {
                    c: vals[keep]
                    if isinstance(vals, np.ndarray)
                    else [v for v, k in zip(vals, keep, strict=True) if k]
                    for c, vals in table.items()
                },
                rows=ev_rows[keep],
                product_ids=self.product_ids,
                as_of=self.as_of,
                clip_future=True,
            )
        assert isinstance(extra_events, pd.DataFrame)  # many events come as a frame (fold_in)
        return event_arrays(
            extra_events if keep.all() else extra_events[keep],
            rows=ev_rows[keep],
            product_ids=self.product_ids,
            as_of=self.as_of,
            clip_future=True,
        )

    def client_rows(
        self, client_ids: Sequence[str], extra_events: ExtraEvents | None = None
    ) -> sp.csr_matrix:
        """Matrix rows of ``client_ids`` with ``extra_events`` folded in.

        Same arguments and errors as :meth:`fold_in`; returns its ``matrix``.
        """
        return self.fold_in(client_ids, extra_events).matrix

    def history_strength(
        self, client_ids: Sequence[str], extra_events: ExtraEvents | None = None
    ) -> np.ndarray:
        """Summed weighted, decayed events of each client (see :meth:`fold_in`).

        Returns
        -------
        ndarray, shape (len(client_ids),)
        """
        return self.fold_in(client_ids, extra_events).strength

    def seen(self, client_ids: Sequence[str]) -> np.ndarray:
        """Boolean (n, n_products): cells with taste; unknown clients have none.

        Gift purchases and fully returned purchases are not "seen" here
        (business rules on what was bought live in :mod:`core.suggest.rules`).
        """
        idx = positions(self.client_ids, list(client_ids), strict=False)
        out = np.zeros((len(idx), len(self.product_ids)), dtype=bool)
        known = np.flatnonzero(idx >= 0)
        if known.size == 1:  # one request: the row's cells, without a selector
            m, r = self.matrix, int(idx[known[0]])
            out[known[0], m.indices[m.indptr[r] : m.indptr[r + 1]]] = True
        elif known.size:
            rows = idx[known]
            lengths = self.matrix.indptr[rows + 1] - self.matrix.indptr[rows]
            cols = self.matrix.indices[row_selector(self.matrix.indptr, rows)]
            out[np.repeat(known, lengths), cols] = True
        return out

    # -------------------------------------------------------------- demand
    def store_popularity(self, store_id: str, *, recent: bool = False) -> np.ndarray:
        """Decayed demand per product among one store's events.

        An event belongs to its ``store_id``, or, without one (online), to
        the client's home store.

        Parameters
        ----------
        store_id : str
        recent : bool
            Use ``trend_half_life_days`` (the trend) instead of ``half_life_days``.

        Returns
        -------
        ndarray, shape (n_products,)

        Raises
        ------
        UnknownIdError
            For an unknown store id.
        """
        s = self.store_ids.to_internal_one(store_id)
        m = self.store_trend_matrix if recent else self.store_popularity_matrix
        return np.asarray(m[s].toarray()).ravel()

    def client_store(self, client_id: str) -> str | None:
        """The home store id of a known client (``None`` if it is unknown)."""
        s = int(self.home_store[self.client_ids.to_internal_one(client_id)])
        return None if s < 0 else str(self.store_ids.external_ids[s])


def _extra_clients(
    extra_events: ExtraEvents | None,
) -> tuple[list[str], dict[str, Any], bool]:
    """The client of each extra event (columns and event types checked).

    Also the events as a table of lists and ``True`` when they are few
    (the fast path of a single request), else ``{}`` and ``False``.
    """
    if extra_events is None or not len(extra_events):
        return [], {}, False
    known = known_columns(extra_events)  # a served client's, handed over by its reader
    if known is not None:
        return list(known["client_id"]), known, True
    if len(extra_events) <= FEW_EVENTS:  # Arrow rows beyond came as a frame (fold_in)
        table = extra_table(extra_events)
        return [str(c) for c in table["client_id"]], table, True
    check_extra_columns(extra_events)
    check_event_types(extra_events["event_type"].astype(str).unique())
    return extra_events["client_id"].astype(str).tolist(), {}, False


def _check_known(ids: list[str], idx: np.ndarray, extra_ids: set[str]) -> None:
    """Raise :class:`UnknownIdError` for the ``ids`` neither fitted (``idx < 0``) nor in the extra events."""
    missing = [c for c, i in zip(ids, idx, strict=True) if i < 0 and c not in extra_ids]
    if missing:
        shown = ", ".join(repr(m) for m in missing[:5])
        raise UnknownIdError(
            f"unknown client id{'s' if len(missing) > 1 else ''}: {shown} "
            "(not in the fitted data and no events given for it)"
        )


# ---------------------------------------------------------------- building
def build_interactions(
    dataset: Dataset, config: EngineConfig | None = None, as_of: AsOf = None
) -> Interactions:
    """Build the interaction matrix of ``dataset`` as of ``as_of``.

    Parameters
    ----------
    dataset : Dataset
    config : EngineConfig, optional
        Defaults to ``EngineConfig()``.
    as_of : timestamp-like, optional
        Ages are measured from here and later events are ignored; defaults to
        ``dataset.as_of``.

    Returns
    -------
    Interactions
    """
    config = config or EngineConfig()
    as_of = fit_date(dataset.as_of if as_of is None else as_of)
    clients, products = dataset.client_ids, dataset.product_ids
    store_ids = IdMap(dataset.stores["store_id"], "store")
    n_clients, n_products = len(clients), len(products)
    block = event_block(
        dataset.events, dataset.clients, clients, products, store_ids, as_of, config
    )
    idf, avg_len = block.norm.statistics(config)
    rows_out = finalize_values(block.values, n_products, config, idf, avg_len)
    cells, home, demand = block.cells, block.home, block.demand
    transitions, latest = block.transitions, block.latest
    del block

    has_other = cells.other > 0
    has_purchase = (cells.p_n > 0) | (cells.r_n > 0)
    return Interactions(
        client_ids=clients,
        product_ids=products,
        store_ids=store_ids,
        matrix=rows_out.matrix,
        strongest=rows_out.strongest,
        strength=rows_out.strength,
        popularity=demand.popularity,
        trend=demand.trend,
        home_store=home,
        as_of=as_of,
        config=config,
        idf=rows_out.idf,
        avg_len=rows_out.avg_len,
        store_popularity_matrix=demand.store_popularity,
        store_trend_matrix=demand.store_trend,
        other_cells=cells_csr(
            cells, has_other, cells.other.astype(np.float32), n_clients, n_products
        ),
        other_rank=cells.rank[has_other],
        purchase_cells=cells_csr(cells, has_purchase, cells.p_gross, n_clients, n_products),
        purchase_n=cells.p_n[has_purchase].astype(np.int32),
        return_n=cells.r_n[has_purchase].astype(np.int32),
        latest_age=latest,
        transitions=transitions,
    )


def products_only_interactions(
    product_ids: IdMap,
    store_ids: IdMap,
    demand: Demand,
    as_of: pd.Timestamp,
    config: EngineConfig,
    idf: np.ndarray | None,
    avg_len: float,
) -> Interactions:
    """An :class:`Interactions` without client rows: the fit's statistics and demand only.

    What the scale-out fit (:mod:`core.engine.scale`) keeps: every client is
    unknown to it and is scored from their events, folded in
    (:meth:`Interactions.fold_in` with ``extra_events``) with the same
    arithmetic and statistics as a full build.
    """
    n_products = len(product_ids)
    empty = sp.csr_matrix((0, n_products), dtype=np.float32)
    return Interactions(
        client_ids=IdMap([], "client"),
        product_ids=product_ids,
        store_ids=store_ids,
        matrix=empty,
        strongest=sp.csr_matrix((0, n_products), dtype=np.int8),
        strength=np.zeros(0),
        popularity=demand.popularity,
        trend=demand.trend,
        home_store=np.zeros(0, dtype=np.int32),
        as_of=as_of,
        config=config,
        idf=idf,
        avg_len=avg_len,
        store_popularity_matrix=demand.store_popularity,
        store_trend_matrix=demand.store_trend,
        other_cells=empty,
        other_rank=np.zeros(0, dtype=np.int8),
        purchase_cells=sp.csr_matrix((0, n_products), dtype=np.float64),
        purchase_n=np.zeros(0, dtype=np.int32),
        return_n=np.zeros(0, dtype=np.int32),
        latest_age=np.zeros(0),
    )


def resolve_interactions(
    dataset: Dataset,
    config: EngineConfig,
    as_of: AsOf = None,
    interactions: Interactions | None = None,
) -> Interactions:
    """The matrix a model fits on: ``interactions`` if given (checked), else a new build.

    Raises
    ------
    ValueError
        When ``interactions`` was built with other matrix parameters than
        ``config``, for other data, or as of another date than ``as_of``.
    """
    if interactions is None:
        return build_interactions(dataset, config, as_of)
    clash = [f for f in INTERACTION_FIELDS if getattr(interactions.config, f) != getattr(config, f)]
    if clash:
        raise ValueError(
            f"the interactions given were built with other {', '.join(clash)} than the "
            "model's config; build them with the same config or let fit build them"
        )
    if interactions.shape != (len(dataset.client_ids), len(dataset.product_ids)):
        raise ValueError("the interactions given belong to other data; let fit build them")
    if as_of is not None and pd.Timestamp(as_of) != interactions.as_of:
        raise ValueError(
            f"as_of {pd.Timestamp(as_of)} differs from the interactions' "
            f"{interactions.as_of}; pass only one of them"
        )
    return interactions


def _rows_of(m: sp.csr_matrix, rows: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray]:
    """Rows ``rows`` of ``m`` and the positions in ``m.data`` of their cells, in order."""
    sel = row_selector(m.indptr, rows)
    lengths = m.indptr[rows + 1] - m.indptr[rows]
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(m.indptr.dtype)
    out = sp.csr_matrix((m.data[sel], m.indices[sel], indptr), shape=(len(rows), m.shape[1]))
    return out, sel


def drop_clients(inter: Interactions, dataset: Dataset) -> Interactions:
    """The fitted matrix for ``dataset``, the fitted data less some clients: their rows dropped.

    What is kept per client (rows, strengths, home stores, fold-in statistics)
    follows ``dataset.clients``; catalogue-wide demand (popularity, trends per
    store) and the normalisation statistics stay those of the fit until the
    next one.

    Raises
    ------
    UnknownIdError
        When ``dataset`` has a client the fitted matrix does not.
    """
    rows = positions(inter.client_ids, list(dataset.client_ids.external_ids), strict=True)
    matrix, sel = _rows_of(inter.matrix, rows)
    other, other_sel = _rows_of(inter.other_cells, rows)
    purchases, purchase_sel = _rows_of(inter.purchase_cells, rows)
    strongest = sp.csr_matrix(
        (inter.strongest.data[sel], matrix.indices, matrix.indptr), shape=matrix.shape
    )
    return replace(
        inter,
        client_ids=dataset.client_ids,
        matrix=matrix,
        strongest=strongest,
        strength=inter.strength[rows],
        home_store=inter.home_store[rows],
        other_cells=other,
        other_rank=inter.other_rank[other_sel],
        purchase_cells=purchases,
        purchase_n=inter.purchase_n[purchase_sel],
        return_n=inter.return_n[purchase_sel],
        latest_age=inter.latest_age[rows],
    )
