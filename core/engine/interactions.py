"""Events -> the weighted, time-decayed client x product interaction matrix.

One cell holds what a client's events say about their taste for a product:

- each event weighs its type's weight (:attr:`EngineConfig.event_weights`)
  times ``0.5 ** (age_days / half_life_days)``, age measured back from
  ``as_of``; events after ``as_of`` are ignored (this keeps a temporal
  evaluation split free of leaks);
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
  (``value * (k1 + 1) / (k1 * (1 - b + b * len / avg_len) + value) * idf``).

Everything is vectorised; a fitted :class:`Interactions` also folds in new
events for a client (:meth:`Interactions.fold_in`) with the same arithmetic
as a rebuild, the normalisation statistics being those of the fit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.data.dataset import Dataset
from core.data.ids import IdMap
from core.data.schema import EVENT_TYPES
from core.engine.config import INTERACTION_FIELDS, TASTE_EVENT_TYPES, EngineConfig
from core.exceptions import UnknownIdError

_NS_PER_DAY = 86_400 * 1_000_000_000
_PURCHASE = EVENT_TYPES.index("purchase")
_RETURN = EVENT_TYPES.index("return")
# Ties between equally weighted events go to what the client did more deliberately.
_TIE_ORDER = ("email_open", "view", "email_click", "zoom", "wishlist", "try_on", "purchase")
_REQUIRED_EXTRA = ("client_id", "product_id", "event_type")
_TYPE_CODE = {t: c for c, t in enumerate(EVENT_TYPES)}


_FEW_IDS = 32  # below this many ids, hash look-ups beat building an Index


def positions(ids_map: IdMap, ids: Sequence[Any], *, strict: bool = True) -> np.ndarray:
    """Internal indices of external ``ids`` (-1 for unknown ones when not ``strict``).

    Same result as ``IdMap.to_internal``, faster for the few ids of one request.

    Raises
    ------
    UnknownIdError
        When ``strict`` and an id is unknown (the message names it).
    """
    if len(ids) > _FEW_IDS:
        return ids_map.to_internal(list(ids), strict=strict)
    lookup = ids_map.position_dict()
    if lookup is not None:
        out = np.array([lookup.get(str(x), -1) for x in ids], dtype=np.int64)
    else:
        out = np.empty(len(ids), dtype=np.int64)
        index = ids_map.index
        for n, external in enumerate(ids):
            try:
                loc = index.get_loc(str(external))
            except KeyError:
                loc = -1
            out[n] = loc if isinstance(loc, int | np.integer) else -1
    if strict and (out < 0).any():
        return ids_map.to_internal([str(x) for x in ids], strict=True)  # raises, naming them
    return out


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


@dataclass(frozen=True)
class _Events:
    """Per-event arrays (internal)."""

    rows: np.ndarray  # int32 row of the output
    cols: np.ndarray  # int32 product index
    types: np.ndarray  # int8 code into EVENT_TYPES
    age_days: np.ndarray  # float64, >= 0
    gift: np.ndarray  # bool


@dataclass(frozen=True)
class _Cells:
    """Per-cell sufficient statistics, sorted by (row, col) (internal).

    ``other`` is the decayed weight of taste events other than purchases,
    ``rank`` the rank of the strongest of them (-1 for none), ``p_gross`` the
    decayed weight of non-gift purchases before returns, ``p_n`` the number of
    purchases (gifts included) and ``r_n`` the number of returns.
    """

    rows: np.ndarray
    cols: np.ndarray
    other: np.ndarray
    rank: np.ndarray
    p_gross: np.ndarray
    p_n: np.ndarray
    r_n: np.ndarray


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
        Normalisation statistics of the fit (reused when folding in).
    store_popularity_matrix, store_trend_matrix : csr_matrix, shape (n_stores, n_products)
        Demand per store (see :meth:`store_popularity`).
    other_cells, other_rank, purchase_cells, purchase_n, return_n
        Per-cell statistics that make :meth:`fold_in` equal to a rebuild.
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

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self.client_ids), len(self.product_ids))

    # ------------------------------------------------------------- fold-in
    def fold_in(
        self, client_ids: Sequence[str], extra_events: pd.DataFrame | None = None
    ) -> ClientRows:
        """Rows of ``client_ids`` with ``extra_events`` added, without a refit.

        Parameters
        ----------
        client_ids : sequence of str
            Known clients, or unknown ones that have events in ``extra_events``.
        extra_events : DataFrame, optional
            Columns ``client_id``, ``product_id``, ``event_type`` and optionally
            ``timestamp`` (missing: ``as_of``) and ``is_gift``. Events of other
            clients are ignored; events after ``as_of`` count as of ``as_of``.

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
        extra_ids: set[str] = set()
        extra_clients: list[str] = []
        few = extra_events is not None and 0 < len(extra_events) <= _FEW_IDS
        table: dict[str, list[Any]] = {}
        if extra_events is not None and len(extra_events):
            if few:
                table = _extra_table(extra_events)
                extra_clients = [str(c) for c in table["client_id"]]
            else:
                _check_columns(extra_events)
                _check_types(extra_events["event_type"].astype(str).unique())
                extra_clients = extra_events["client_id"].astype(str).tolist()
            extra_ids = set(extra_clients)
        missing = [c for c, i in zip(ids, idx, strict=True) if i < 0 and c not in extra_ids]
        if missing:
            shown = ", ".join(repr(m) for m in missing[:5])
            raise UnknownIdError(
                f"unknown client id{'s' if len(missing) > 1 else ''}: {shown} "
                "(not in the fitted data and no events given for it)"
            )
        if not extra_ids.intersection(ids):
            return ClientRows(
                self.matrix[idx], self.strongest[idx], self.strength[idx].astype(np.float64)
            )
        assert extra_events is not None
        uniq, inverse = np.unique(np.asarray(ids, dtype=object), return_inverse=True)
        uniq_idx = positions(self.client_ids, list(uniq), strict=False)
        n = len(uniq)
        # Stored statistics of the known clients, re-indexed to output rows.
        pos = np.flatnonzero(uniq_idx >= 0)
        other = _take_rows(self.other_cells, uniq_idx[pos], pos)
        purch = _take_rows(self.purchase_cells, uniq_idx[pos], pos)
        o_sel = row_selector(self.other_cells.indptr, uniq_idx[pos])
        p_sel = row_selector(self.purchase_cells.indptr, uniq_idx[pos])
        stored = _Cells(
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
        row_of = {c: r for r, c in enumerate(uniq.tolist())}
        ev_rows = np.array([row_of.get(c, -1) for c in extra_clients], dtype=np.int64)
        keep = ev_rows >= 0
        if few:
            events = _few_event_arrays(
                {c: [v for v, k in zip(vals, keep, strict=True) if k] for c, vals in table.items()},
                rows=ev_rows[keep],
                product_ids=self.product_ids,
                as_of=self.as_of,
                clip_future=True,
            )
        else:
            events = _event_arrays(
                extra_events if keep.all() else extra_events[keep],
                rows=ev_rows[keep],
                product_ids=self.product_ids,
                as_of=self.as_of,
                clip_future=True,
            )
        new, _ = _event_cells(events, self.config)
        cells = _aggregate(_concat_cells(stored, new), len(self.product_ids))
        rows = _finalize(cells, n, len(self.product_ids), self.config, self.idf, self.avg_len)
        if n == len(ids) and (inverse.ravel() == np.arange(n)).all():  # ids unique and sorted
            return ClientRows(rows.matrix, rows.strongest, rows.strength)
        return ClientRows(rows.matrix[inverse], rows.strongest[inverse], rows.strength[inverse])

    def client_rows(
        self, client_ids: Sequence[str], extra_events: pd.DataFrame | None = None
    ) -> sp.csr_matrix:
        """Matrix rows of ``client_ids`` with ``extra_events`` folded in.

        Same arguments and errors as :meth:`fold_in`; returns its ``matrix``.
        """
        return self.fold_in(client_ids, extra_events).matrix

    def history_strength(
        self, client_ids: Sequence[str], extra_events: pd.DataFrame | None = None
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
        if known.size:
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


# ---------------------------------------------------------------- building
def build_interactions(
    dataset: Dataset, config: EngineConfig | None = None, as_of: Any = None
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
    as_of = pd.Timestamp(dataset.as_of if as_of is None else as_of)
    if as_of.tzinfo is not None:
        as_of = as_of.tz_convert(None)
    clients, products = dataset.client_ids, dataset.product_ids
    store_ids = IdMap(dataset.stores["store_id"], "store")
    n_clients, n_products = len(clients), len(products)
    events = dataset.events
    rows = _codes(events["client_id"], clients.index)
    ev = _event_arrays(events, rows=rows, product_ids=products, as_of=as_of, clip_future=False)
    del rows
    home = _codes(dataset.clients["home_store_id"], store_ids.index)
    if "store_id" in events.columns:
        ev_store = _codes(events["store_id"], store_ids.index)
    else:
        ev_store = np.full(len(events), -1, dtype=np.int32)
    # Later events are the future of a temporal split; unknown ids and types
    # only occur in unvalidated frames.
    keep = (ev.age_days >= 0) & (ev.rows >= 0) & (ev.types >= 0)
    if not keep.all():
        ev = _select(ev, keep)
        ev_store = ev_store[keep]
    del keep
    raw, w = _event_cells(ev, config)
    inverse, cells = _aggregate(raw, n_products, return_inverse=True)
    del raw
    rows_out = _finalize(cells, n_clients, n_products, config, None, 0.0, fit=True)

    # Demand: every event (gifts too), purchases netted of their returns.
    is_purchase = np.flatnonzero(ev.types == _PURCHASE)
    w[is_purchase] *= _keep_share(cells.p_n, cells.r_n, config)[inverse[is_purchase]]
    del inverse, is_purchase
    popularity = np.bincount(ev.cols, weights=w, minlength=n_products)
    ev_store = np.where(ev_store >= 0, ev_store, home[ev.rows])
    store_pop = _group_sums(ev_store, ev.cols, w, len(store_ids), n_products)
    # The trend re-weights the same demand with its own half-life.
    w *= np.exp2(ev.age_days * (1.0 / config.half_life_days - 1.0 / config.trend_half_life_days))
    trend = np.bincount(ev.cols, weights=w, minlength=n_products)
    store_trend = _group_sums(ev_store, ev.cols, w, len(store_ids), n_products)
    del w, ev, ev_store

    has_other = cells.other > 0
    has_purchase = (cells.p_n > 0) | (cells.r_n > 0)
    return Interactions(
        client_ids=clients,
        product_ids=products,
        store_ids=store_ids,
        matrix=rows_out.matrix,
        strongest=rows_out.strongest,
        strength=rows_out.strength,
        popularity=popularity,
        trend=trend,
        home_store=home,
        as_of=as_of,
        config=config,
        idf=rows_out.idf,
        avg_len=rows_out.avg_len,
        store_popularity_matrix=store_pop,
        store_trend_matrix=store_trend,
        other_cells=_csr(cells, has_other, cells.other.astype(np.float32), n_clients, n_products),
        other_rank=cells.rank[has_other],
        purchase_cells=_csr(cells, has_purchase, cells.p_gross, n_clients, n_products),
        purchase_n=cells.p_n[has_purchase].astype(np.int32),
        return_n=cells.r_n[has_purchase].astype(np.int32),
    )


def resolve_interactions(
    dataset: Dataset,
    config: EngineConfig,
    as_of: Any = None,
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


def event_ranks(config: EngineConfig) -> np.ndarray:
    """Rank of each event type by weight (ties: the more deliberate act wins).

    Returns
    -------
    ndarray, shape (len(EVENT_TYPES),), int8
        Higher is stronger; ``return`` gets -1.
    """
    order = sorted(TASTE_EVENT_TYPES, key=lambda t: (config.event_weight(t), _TIE_ORDER.index(t)))
    ranks = np.full(len(EVENT_TYPES), -1, dtype=np.int8)
    for r, t in enumerate(order):
        ranks[EVENT_TYPES.index(t)] = r
    return ranks


def _weights(config: EngineConfig) -> np.ndarray:
    return np.array([config.event_weight(t) for t in EVENT_TYPES], dtype=np.float64)


def _codes(values: pd.Series, index: pd.Index) -> np.ndarray:
    """Positions of ``values`` in ``index`` (-1 where absent), factorised first for speed."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if len(uniques) == 0:
        return np.full(len(values), -1, dtype=np.int32)
    pos = index.get_indexer(pd.Index(np.asarray(uniques, dtype=object).astype(str)))
    pos = np.append(pos, -1).astype(np.int32)  # code -1 (missing) maps to -1
    return pos[codes]


def _check_columns(extra: pd.DataFrame) -> None:
    missing = [c for c in _REQUIRED_EXTRA if c not in extra.columns]
    if missing:
        raise ValueError(
            f"extra_events lacks column(s) {', '.join(missing)}; "
            f"it needs {', '.join(_REQUIRED_EXTRA)} (timestamp and is_gift are optional)"
        )


def _check_types(types: Iterable[Any]) -> None:
    bad = {str(t) for t in types} - set(EVENT_TYPES)
    if bad:
        raise ValueError(
            f"extra_events has unknown event type(s) {', '.join(sorted(map(repr, bad)))}; "
            f"expected one of {', '.join(EVENT_TYPES)}"
        )


def _extra_table(extra: pd.DataFrame) -> dict[str, list[Any]]:
    """A request's few extra events as lists by column, checked.

    One ``to_numpy`` for the whole frame: reading a few rows column by column
    through pandas costs more than the rest of a fold-in.

    Raises
    ------
    ValueError
        For a missing required column or an unknown event type.
    """
    _check_columns(extra)
    values = extra.to_numpy(dtype=object)
    names = list(extra.columns)
    table = {
        c: values[:, names.index(c)].tolist()
        for c in (*_REQUIRED_EXTRA, "timestamp", "is_gift")
        if c in names
    }
    _check_types(table["event_type"])
    return table


def _event_arrays(
    events: pd.DataFrame,
    *,
    rows: np.ndarray,
    product_ids: IdMap,
    as_of: pd.Timestamp,
    clip_future: bool,
) -> _Events:
    """Per-event arrays of ``events`` (rows given; product ids and types checked).

    A request's few events take :func:`_few_event_arrays`, same result without
    pandas' per-column machinery, which costs more than the work there.
    """
    if len(events) <= _FEW_IDS:
        return _few_event_arrays(
            _extra_table(events),
            rows=rows,
            product_ids=product_ids,
            as_of=as_of,
            clip_future=clip_future,
        )
    cols = _codes(events["product_id"], product_ids.index)
    if (cols < 0).any():
        bad = events["product_id"].to_numpy()[cols < 0][:5]
        raise UnknownIdError(f"unknown product id(s): {', '.join(repr(str(b)) for b in bad)}")
    types = _codes(events["event_type"], pd.Index(EVENT_TYPES)).astype(np.int8)
    if "timestamp" in events.columns:
        ts = pd.to_datetime(events["timestamp"])
        if getattr(ts.dt, "tz", None) is not None:
            ts = ts.dt.tz_convert(None)
        ns = ts.to_numpy(dtype="datetime64[ns]").view(np.int64)
        age = (as_of.as_unit("ns").value - ns) / _NS_PER_DAY
        age[ts.isna().to_numpy()] = 0.0  # an undated extra event happens now
    else:
        age = np.zeros(len(events))
    if clip_future:
        age = np.maximum(age, 0.0)
    gift = (
        events["is_gift"].fillna(False).to_numpy(dtype=bool)
        if "is_gift" in events.columns
        else np.zeros(len(events), dtype=bool)
    )
    return _Events(
        rows=np.asarray(rows, dtype=np.int32),
        cols=cols,
        types=types,
        age_days=np.asarray(age, dtype=np.float64),
        gift=gift,
    )


def _few_event_arrays(
    table: dict[str, list[Any]],
    *,
    rows: np.ndarray,
    product_ids: IdMap,
    as_of: pd.Timestamp,
    clip_future: bool,
) -> _Events:
    """:func:`_event_arrays` value by value, for a few events (see :func:`_extra_table`)."""
    products = [str(p) for p in table["product_id"]]
    cols = positions(product_ids, products, strict=False).astype(np.int32)
    if (cols < 0).any():
        bad = [p for p, c in zip(products, cols, strict=True) if c < 0][:5]
        raise UnknownIdError(f"unknown product id(s): {', '.join(repr(b) for b in bad)}")
    types = np.array([_TYPE_CODE.get(str(t), -1) for t in table["event_type"]], dtype=np.int8)
    n = len(products)
    age = np.zeros(n)
    if "timestamp" in table:
        now = as_of.as_unit("ns").value
        for e, value in enumerate(table["timestamp"]):
            ts = pd.NaT if value is None else pd.Timestamp(value)
            if pd.isna(ts):
                continue  # an undated extra event happens now
            if ts.tzinfo is not None:
                ts = ts.tz_convert(None)
            age[e] = (now - ts.as_unit("ns").value) / _NS_PER_DAY
    if clip_future:
        age = np.maximum(age, 0.0)
    gift = np.zeros(n, dtype=bool)
    if "is_gift" in table:
        gift[:] = [False if pd.isna(g) else bool(g) for g in table["is_gift"]]
    return _Events(
        rows=np.asarray(rows, dtype=np.int32), cols=cols, types=types, age_days=age, gift=gift
    )


def _select(ev: _Events, mask: np.ndarray) -> _Events:
    return _Events(ev.rows[mask], ev.cols[mask], ev.types[mask], ev.age_days[mask], ev.gift[mask])


def _event_cells(ev: _Events, config: EngineConfig) -> tuple[_Cells, np.ndarray]:
    """One (unaggregated) cell per event, and every event's decayed weight."""
    w = np.exp2(-ev.age_days / config.half_life_days)
    w *= _weights(config)[ev.types]
    taste = ~ev.gift if config.exclude_gifts else np.ones(ev.gift.size, dtype=bool)
    is_p = ev.types == _PURCHASE
    is_r = ev.types == _RETURN
    is_other = taste & ~is_p & ~is_r & (w > 0)
    ranks = event_ranks(config)
    cells = _Cells(
        rows=ev.rows,
        cols=ev.cols,
        other=np.where(is_other, w, 0.0),
        rank=np.where(is_other, ranks[ev.types], np.int8(-1)).astype(np.int8),
        p_gross=np.where(taste & is_p, w, 0.0),
        p_n=is_p,
        r_n=is_r & config.returns_cancel,
    )
    return cells, w


def _concat_cells(a: _Cells, b: _Cells) -> _Cells:
    return _Cells(
        *(
            np.concatenate([getattr(a, f), getattr(b, f)])
            for f in ("rows", "cols", "other", "rank", "p_gross", "p_n", "r_n")
        )
    )


def _aggregate(cells: _Cells, n_products: int, return_inverse: bool = False) -> Any:
    """Sum the statistics of cells sharing (row, col); sort by (row, col)."""
    keys = cells.rows.astype(np.int64) * n_products + cells.cols
    uniq, inv = np.unique(keys, return_inverse=True)
    del keys
    n = uniq.size
    rank = np.full(n, -1, dtype=np.int8)
    np.maximum.at(rank, inv, cells.rank)
    out = _Cells(
        rows=(uniq // n_products).astype(np.int32),
        cols=(uniq % n_products).astype(np.int32),
        other=np.bincount(inv, weights=cells.other, minlength=n),
        rank=rank,
        p_gross=np.bincount(inv, weights=cells.p_gross, minlength=n),
        p_n=np.bincount(inv, weights=cells.p_n, minlength=n),
        r_n=np.bincount(inv, weights=cells.r_n, minlength=n),
    )
    return (inv, out) if return_inverse else out


def _group_sums(
    group: np.ndarray, cols: np.ndarray, w: np.ndarray, n_groups: int, n_cols: int
) -> sp.csr_matrix:
    """csr (n_groups, n_cols) of ``w`` summed per (group, col); negative groups dropped."""
    ok = group >= 0
    keys = group[ok].astype(np.int64) * n_cols + cols[ok]
    if n_groups * n_cols <= 50_000_000:
        dense = np.bincount(keys, weights=w[ok], minlength=n_groups * n_cols)
        return sp.csr_matrix(dense.reshape(n_groups, n_cols))
    uniq, inv = np.unique(keys, return_inverse=True)
    sums = np.bincount(inv, weights=w[ok])
    return sp.csr_matrix((sums, (uniq // n_cols, uniq % n_cols)), shape=(n_groups, n_cols))


def _keep_share(p_n: np.ndarray, r_n: np.ndarray, config: EngineConfig) -> np.ndarray:
    """Share of a cell's purchase weight that survives its returns."""
    if not config.returns_cancel:
        return np.ones(p_n.size)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(p_n > 0, np.clip(1.0 - r_n / np.maximum(p_n, 1.0), 0.0, 1.0), 0.0)


@dataclass(frozen=True)
class _Finalized:
    matrix: sp.csr_matrix
    strongest: sp.csr_matrix
    strength: np.ndarray
    idf: np.ndarray | None
    avg_len: float


def _finalize(
    cells: _Cells,
    n_rows: int,
    n_products: int,
    config: EngineConfig,
    idf: np.ndarray | None,
    avg_len: float,
    fit: bool = False,
) -> _Finalized:
    """Aggregated cell statistics -> matrix rows (and, when ``fit``, the normalisation)."""
    purchase = cells.p_gross * _keep_share(cells.p_n, cells.r_n, config)
    taste = cells.other + purchase
    strength = np.bincount(cells.rows, weights=taste, minlength=n_rows)
    p_rank = event_ranks(config)[_PURCHASE]
    rank = np.where(purchase > 0, np.maximum(cells.rank, p_rank), cells.rank)
    nz = taste > 0
    rows, cols, taste, rank = cells.rows[nz], cells.cols[nz], taste[nz], rank[nz]
    value = np.log1p(taste) if config.confidence == "log1p" else taste
    if config.item_normalization != "none":
        if fit:
            df = np.bincount(cols, minlength=n_products)
            idf = np.log((1.0 + n_rows) / (1.0 + df)) + 1.0
        assert idf is not None
        if config.item_normalization == "bm25":
            length = np.bincount(rows, weights=value, minlength=n_rows)
            if fit:
                active = length > 0
                avg_len = float(length[active].mean()) if active.any() else 1.0
            k1, b = config.bm25_k1, config.bm25_b
            norm = (1.0 - b) + b * length[rows] / avg_len
            value = value * (k1 + 1.0) / (k1 * norm + value)
        value = value * idf[cols]
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    indices = cols.astype(np.int32)
    shape = (n_rows, n_products)
    matrix = sp.csr_matrix((value.astype(np.float32), indices, indptr), shape=shape)
    codes = _rank_to_code(config)[rank]
    strongest = sp.csr_matrix((codes, indices, indptr), shape=shape)
    return _Finalized(matrix, strongest, strength, idf, avg_len)


def _rank_to_code(config: EngineConfig) -> np.ndarray:
    ranks = event_ranks(config)
    out = np.zeros(int(ranks.max()) + 1, dtype=np.int8)
    for code, r in enumerate(ranks):
        if r >= 0:
            out[r] = code
    return out


def _csr(cells: _Cells, mask: np.ndarray, data: np.ndarray, n_rows: int, n_cols: int) -> Any:
    rows = cells.rows[mask]
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    return sp.csr_matrix(
        (data[mask], cells.cols[mask].astype(np.int32), indptr), shape=(n_rows, n_cols)
    )


def row_selector(indptr: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Positions in a csr's data of the cells of ``rows`` (in that order, repeats allowed)."""
    starts, ends = indptr[rows], indptr[rows + 1]
    lengths = ends - starts
    if lengths.sum() == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    return np.arange(int(lengths.sum())) + offsets


def _take_rows(
    m: sp.csr_matrix, rows: np.ndarray, out_rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, col, value) of the cells of ``rows`` of ``m``, re-labelled ``out_rows``."""
    sel = row_selector(m.indptr, rows)
    lengths = m.indptr[rows + 1] - m.indptr[rows]
    return (
        np.repeat(out_rows.astype(np.int64), lengths),
        m.indices[sel].astype(np.int64),
        m.data[sel],
    )


# ------------------------------------------------------------- persistence
_CSR_FIELDS = (
    "matrix",
    "store_popularity_matrix",
    "store_trend_matrix",
    "other_cells",
    "purchase_cells",
)
_ARRAY_FIELDS = (
    "strength",
    "popularity",
    "trend",
    "home_store",
    "other_rank",
    "purchase_n",
    "return_n",
)


def csr_to_state(m: sp.csr_matrix, name: str) -> dict[str, np.ndarray]:
    """The three arrays of a csr matrix, keyed ``name.data`` etc."""
    return {f"{name}.data": m.data, f"{name}.indices": m.indices, f"{name}.indptr": m.indptr}


def csr_from_state(
    arrays: dict[str, np.ndarray], name: str, shape: tuple[int, int]
) -> sp.csr_matrix:
    """Inverse of :func:`csr_to_state`."""
    return sp.csr_matrix(
        (arrays[f"{name}.data"], arrays[f"{name}.indices"], arrays[f"{name}.indptr"]),
        shape=shape,
    )


def interactions_to_state(
    inter: Interactions, prefix: str = ""
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Arrays and JSON-ready metadata that :func:`interactions_from_state` rebuilds from."""
    arrays: dict[str, np.ndarray] = {}
    for name in _CSR_FIELDS:
        arrays.update(csr_to_state(getattr(inter, name), f"{prefix}{name}"))
    for name in _ARRAY_FIELDS:
        arrays[f"{prefix}{name}"] = getattr(inter, name)
    arrays[f"{prefix}strongest.data"] = inter.strongest.data
    if inter.idf is not None:
        arrays[f"{prefix}idf"] = inter.idf
    meta = {
        "as_of": inter.as_of.isoformat(),
        "avg_len": inter.avg_len,
        "config": inter.config.to_dict(),
        "n_stores": len(inter.store_ids),
    }
    return arrays, meta


def interactions_from_state(
    arrays: dict[str, np.ndarray], meta: dict[str, Any], dataset: Dataset, prefix: str = ""
) -> Interactions:
    """Inverse of :func:`interactions_to_state`; ids come from ``dataset``.

    Raises
    ------
    KeyError
        When an array is missing.
    """
    clients, products = dataset.client_ids, dataset.product_ids
    store_ids = IdMap(dataset.stores["store_id"], "store")
    shapes = {
        "matrix": (len(clients), len(products)),
        "other_cells": (len(clients), len(products)),
        "purchase_cells": (len(clients), len(products)),
        "store_popularity_matrix": (len(store_ids), len(products)),
        "store_trend_matrix": (len(store_ids), len(products)),
    }
    mats = {name: csr_from_state(arrays, f"{prefix}{name}", shapes[name]) for name in _CSR_FIELDS}
    m = mats["matrix"]
    strongest = sp.csr_matrix(
        (arrays[f"{prefix}strongest.data"], m.indices, m.indptr), shape=m.shape
    )
    return Interactions(
        client_ids=clients,
        product_ids=products,
        store_ids=store_ids,
        strongest=strongest,
        as_of=pd.Timestamp(meta["as_of"]),
        config=EngineConfig.from_dict(meta["config"]),
        idf=arrays.get(f"{prefix}idf"),
        avg_len=float(meta["avg_len"]),
        **mats,
        **{name: arrays[f"{prefix}{name}"] for name in _ARRAY_FIELDS},
    )
