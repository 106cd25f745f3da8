"""The per-block arithmetic of the interaction matrix: events -> cells -> matrix rows.

A block is any set of whole client rows (the whole log, one client's
request, or one partition of a partitioned event log): the functions here
see only the events of the rows they build, plus the fit's normalisation
statistics, so every path that builds rows -- :func:`~core.engine.interactions.build_interactions`,
:meth:`~core.engine.interactions.Interactions.fold_in` and the scale-out fit --
runs the same code and gets the same cells.

1. :func:`event_cells`: one unaggregated cell per event with its decayed
   weight split into sufficient statistics (other taste, strongest rank,
   gross purchase weight, purchase and return counts);
2. :func:`aggregate_cells`: cells sharing (row, product) summed;
3. :func:`cell_values`: returns netted, confidence transform;
   :func:`norm_sums` the block's share of the normalisation statistics
   (:class:`NormSums` add up over blocks into the fit's idf and BM25 length);
4. :func:`finalize_values` (:func:`finalize_rows` from cells): normalisation
   against popularity with the fit's statistics, the strongest event code of
   each cell.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal, TypeAlias, overload

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.data.ids import IdMap, codes_in
from core.data.schema import EVENT_TYPES
from core.data.values import TimeLike
from core.engine.config import TASTE_EVENT_TYPES, EngineConfig
from core.engine.events import (
    EventArrays,
    event_arrays,
    select_events,
)
from core.engine.transitions import PURCHASE, TransitionCounts, transition_counts

RETURN = EVENT_TYPES.index("return")
# Ties between equally weighted events go to what the client did more deliberately.
_TIE_ORDER = ("email_open", "view", "email_click", "zoom", "wishlist", "try_on", "purchase")


@dataclass(frozen=True)
class Cells:
    """Per-cell sufficient statistics, sorted by (row, col) once aggregated.

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


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False  # shared by every call with the same config
    return a


@functools.lru_cache(maxsize=64)
def event_ranks(config: EngineConfig) -> np.ndarray:
    """Rank of each event type by weight (ties: the more deliberate act wins).

    Returns
    -------
    ndarray, shape (len(EVENT_TYPES),), int8, read-only
        Higher is stronger; ``return`` gets -1.
    """
    order = sorted(TASTE_EVENT_TYPES, key=lambda t: (config.event_weight(t), _TIE_ORDER.index(t)))
    ranks = np.full(len(EVENT_TYPES), -1, dtype=np.int8)
    for r, t in enumerate(order):
        ranks[EVENT_TYPES.index(t)] = r
    return _frozen(ranks)


@functools.lru_cache(maxsize=64)
def _weights(config: EngineConfig) -> np.ndarray:
    return _frozen(np.array([config.event_weight(t) for t in EVENT_TYPES], dtype=np.float64))


def latest_ages(ev: EventArrays, n_rows: int) -> np.ndarray:
    """Age in days of each row's latest event (``inf`` for a row without events)."""
    out = np.full(n_rows, np.inf)
    np.minimum.at(out, ev.rows, ev.age_days)
    return out


def taste_ages(ev: EventArrays, config: EngineConfig, reference: np.ndarray | None) -> np.ndarray:
    """Each event's age as the client's taste counts it (see ``EngineConfig.recency``).

    ``calendar``: days back from the fit date. ``client``: days back from
    ``reference[row]``, the age of the client's latest event (by default the
    latest of ``ev``), so a client's last visit weighs fully however long ago
    it was; a client's rows then do not fade while they are away, and every
    client's history counts alike in the fitted co-occurrences.
    """
    if config.recency == "calendar" or not ev.rows.size:
        return ev.age_days
    if reference is None:
        reference = latest_ages(ev, int(ev.rows.max()) + 1)
    ages: np.ndarray = np.maximum(ev.age_days - reference[ev.rows], 0.0)
    return ages


def event_cells(
    ev: EventArrays, config: EngineConfig, reference: np.ndarray | None = None
) -> tuple[Cells, np.ndarray]:
    """One (unaggregated) cell per event, and every event's weight decayed from the fit date.

    The cells' taste weights are decayed by :func:`taste_ages` (``reference``:
    each row's latest event age, when the rows hold more than ``ev``, as a
    fold-in's stored rows do); the returned weights, what demand (popularity,
    trends) counts, always by the age from the fit date.
    """
    weights = _weights(config)[ev.types]
    w = np.exp2(-ev.age_days / config.half_life_days) * weights
    ages = taste_ages(ev, config, reference)
    taste_w = w if ages is ev.age_days else np.exp2(-ages / config.half_life_days) * weights
    taste = ~ev.gift if config.exclude_gifts else np.ones(ev.gift.size, dtype=bool)
    is_p = ev.types == PURCHASE
    is_r = ev.types == RETURN
    is_other = taste & ~is_p & ~is_r & (taste_w > 0)
    ranks = event_ranks(config)
    cells = Cells(
        rows=ev.rows,
        cols=ev.cols,
        other=np.where(is_other, taste_w, 0.0),
        rank=np.where(is_other, ranks[ev.types], np.int8(-1)).astype(np.int8),
        p_gross=np.where(taste & is_p, taste_w, 0.0),
        p_n=is_p,
        r_n=is_r & config.returns_cancel,
    )
    return cells, w


def concat_cells(a: Cells, b: Cells) -> Cells:
    return Cells(
        *(
            np.concatenate([getattr(a, f), getattr(b, f)])
            for f in ("rows", "cols", "other", "rank", "p_gross", "p_n", "r_n")
        )
    )


@overload
def aggregate_cells(
    cells: Cells, n_products: int, return_inverse: Literal[False] = False
) -> Cells: ...


@overload
def aggregate_cells(
    cells: Cells, n_products: int, return_inverse: Literal[True]
) -> tuple[np.ndarray, Cells]: ...


def aggregate_cells(
    cells: Cells, n_products: int, return_inverse: bool = False
) -> Cells | tuple[np.ndarray, Cells]:
    """Sum the statistics of cells sharing (row, col); sort by (row, col)."""
    keys = cells.rows.astype(np.int64) * n_products + cells.cols
    uniq, inv = np.unique(keys, return_inverse=True)
    del keys
    n = uniq.size
    rank = np.full(n, -1, dtype=np.int8)
    np.maximum.at(rank, inv, cells.rank)
    out = Cells(
        rows=(uniq // n_products).astype(np.int32),
        cols=(uniq % n_products).astype(np.int32),
        other=np.bincount(inv, weights=cells.other, minlength=n),
        rank=rank,
        p_gross=np.bincount(inv, weights=cells.p_gross, minlength=n),
        p_n=np.bincount(inv, weights=cells.p_n, minlength=n),
        r_n=np.bincount(inv, weights=cells.r_n, minlength=n),
    )
    return (inv, out) if return_inverse else out


def group_sums(
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


def keep_share(p_n: np.ndarray, r_n: np.ndarray, config: EngineConfig) -> np.ndarray:
    """Share of a cell's purchase weight that survives its returns."""
    if not config.returns_cancel:
        return np.ones(p_n.size)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(p_n > 0, np.clip(1.0 - r_n / np.maximum(p_n, 1.0), 0.0, 1.0), 0.0)


@dataclass(frozen=True)
class FinalizedRows:
    matrix: sp.csr_matrix
    strongest: sp.csr_matrix
    strength: np.ndarray
    idf: np.ndarray | None
    avg_len: float


@dataclass(frozen=True)
class CellValues:
    """Cells with taste after returns and the confidence transform, before normalisation.

    ``value`` is what the normalisation scales; ``strength`` is every row's
    summed taste (rows without cells included).
    """

    rows: np.ndarray
    cols: np.ndarray
    rank: np.ndarray
    value: np.ndarray
    strength: np.ndarray


def cell_values(cells: Cells, n_rows: int, config: EngineConfig) -> CellValues:
    """Aggregated cell statistics -> cell values (returns netted, confidence applied)."""
    purchase = cells.p_gross * keep_share(cells.p_n, cells.r_n, config)
    taste = cells.other + purchase
    strength = np.bincount(cells.rows, weights=taste, minlength=n_rows)
    p_rank = event_ranks(config)[PURCHASE]
    rank = np.where(purchase > 0, np.maximum(cells.rank, p_rank), cells.rank)
    nz = taste > 0
    rows, cols, taste, rank = cells.rows[nz], cells.cols[nz], taste[nz], rank[nz]
    value = np.log1p(taste) if config.confidence == "log1p" else taste
    return CellValues(rows, cols, rank, value, strength)


@dataclass(frozen=True)
class NormSums:
    """What the normalisation statistics are computed from, summable over row blocks.

    ``df`` counts the rows with a cell per product, ``length`` sums the row
    lengths (summed cell values) of the ``active`` rows that have any, out of
    ``n_rows`` rows in all (rows without cells count for the idf).
    """

    df: np.ndarray
    length: float
    active: int
    n_rows: int

    def __add__(self, other: NormSums) -> NormSums:
        return NormSums(
            self.df + other.df,
            self.length + other.length,
            self.active + other.active,
            self.n_rows + other.n_rows,
        )

    def statistics(self, config: EngineConfig) -> tuple[np.ndarray | None, float]:
        """``(idf, avg_len)`` of the fit: ``idf`` None without normalisation, ``avg_len`` 0 unless bm25.

        ``idf`` is the per-product weight of :func:`column_weights` (the idf
        times the popularity damping).
        """
        if config.item_normalization == "none" and config.popularity_exponent <= 0:
            return None, 0.0
        idf = column_weights(self.df, self.n_rows, config)
        if config.item_normalization != "bm25":
            return idf, 0.0
        return idf, (self.length / self.active if self.active else 1.0)


def column_weights(df: np.ndarray, n_rows: int, config: EngineConfig) -> np.ndarray:
    """Per-product weights learnt at the fit: idf (unless ``"none"``) times the popularity damping.

    With ``df_j`` the clients with a cell on product ``j``: idf is
    ``ln((1 + n_rows) / (1 + df_j)) + 1``; the damping is
    ``((1 + df_j) / (1 + mean df)) ** -popularity_exponent`` (the mean over
    products with a cell, so a typical product keeps its weight).
    """
    df = np.asarray(df, dtype=np.float64)
    weights = np.ones(df.size)
    if config.item_normalization != "none":
        weights = np.log((1.0 + n_rows) / (1.0 + df)) + 1.0
    if config.popularity_exponent > 0:
        active = df > 0
        typical = float(df[active].mean()) if active.any() else 1.0
        weights = weights * ((1.0 + df) / (1.0 + typical)) ** -config.popularity_exponent
    return weights


def norm_sums(values: CellValues, n_rows: int, n_products: int) -> NormSums:
    """The :class:`NormSums` of one block of whole rows."""
    df = np.bincount(values.cols, minlength=n_products)
    length = np.bincount(values.rows, weights=values.value, minlength=n_rows)
    active = length > 0
    return NormSums(df, float(length[active].sum()), int(active.sum()), n_rows)


def finalize_rows(
    cells: Cells,
    n_rows: int,
    n_products: int,
    config: EngineConfig,
    idf: np.ndarray | None,
    avg_len: float,
) -> FinalizedRows:
    """Aggregated cell statistics -> matrix rows, normalised with the fit's statistics."""
    return finalize_values(cell_values(cells, n_rows, config), n_products, config, idf, avg_len)


def finalize_values(
    values: CellValues,
    n_products: int,
    config: EngineConfig,
    idf: np.ndarray | None,
    avg_len: float,
) -> FinalizedRows:
    """Cell values -> matrix rows: normalisation against popularity (idf / BM25), strongest codes."""
    rows, cols, rank, value = values.rows, values.cols, values.rank, values.value
    n_rows = values.strength.size
    if config.item_normalization != "none" or config.popularity_exponent > 0:
        if idf is None:
            raise ValueError(
                f"item_normalization {config.item_normalization!r} needs the fit's idf"
            )
        if config.item_normalization == "bm25":
            length = np.bincount(rows, weights=value, minlength=n_rows)
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
    return FinalizedRows(matrix, strongest, values.strength, idf, avg_len)


@functools.lru_cache(maxsize=64)
def _rank_to_code(config: EngineConfig) -> np.ndarray:
    ranks = event_ranks(config)
    out = np.zeros(int(ranks.max()) + 1, dtype=np.int8)
    for code, r in enumerate(ranks):
        if r >= 0:
            out[r] = code
    return _frozen(out)


def cells_csr(
    cells: Cells, mask: np.ndarray, data: np.ndarray, n_rows: int, n_cols: int
) -> sp.csr_matrix:
    rows = cells.rows[mask]
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    return sp.csr_matrix(
        (data[mask], cells.cols[mask].astype(np.int32), indptr), shape=(n_rows, n_cols)
    )


def row_selector(indptr: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Positions in a csr's data of the cells of ``rows`` (in that order, repeats allowed)."""
    starts = indptr[rows]
    lengths = indptr[rows + 1] - starts
    ends = np.cumsum(lengths)  # where each row's cells end in the output
    total = int(ends[-1]) if ends.size else 0
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    out = np.arange(total)
    out += np.repeat(starts - (ends - lengths), lengths)
    return out


def cells_mask(m: sp.csr_matrix) -> np.ndarray:
    """Boolean dense ``m.shape``: True on every stored cell of ``m`` (rows of a few clients)."""
    out = np.zeros(m.shape, dtype=bool)
    out[np.repeat(np.arange(m.shape[0]), np.diff(m.indptr)), m.indices] = True
    return out


def one_row(m: sp.csr_matrix, r: int) -> sp.csr_matrix:
    """Row ``r`` of ``m`` as a 1-row csr sharing its arrays (no fancy-indexing cost)."""
    lo, hi = int(m.indptr[r]), int(m.indptr[r + 1])
    indptr = np.array([0, hi - lo], dtype=m.indptr.dtype)
    return sp.csr_matrix((m.data[lo:hi], m.indices[lo:hi], indptr), shape=(1, m.shape[1]))


def take_rows(
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


@dataclass(frozen=True)
class Demand:
    """Decayed demand per product (and per store) of a block of events.

    Sums over blocks give the demand of the whole log.
    """

    popularity: np.ndarray  # (n_products,) with half_life_days
    trend: np.ndarray  # (n_products,) with trend_half_life_days
    store_popularity: sp.csr_matrix  # (n_stores, n_products)
    store_trend: sp.csr_matrix  # (n_stores, n_products)

    def __add__(self, other: Demand) -> Demand:
        return Demand(
            self.popularity + other.popularity,
            self.trend + other.trend,
            sp.csr_matrix(self.store_popularity + other.store_popularity),
            sp.csr_matrix(self.store_trend + other.store_trend),
        )


def event_demand(
    ev: EventArrays,
    w: np.ndarray,
    cells: Cells,
    inverse: np.ndarray,
    store: np.ndarray,
    config: EngineConfig,
    n_stores: int,
    n_products: int,
) -> Demand:
    """Demand of every event (gifts too), purchases netted of their returns.

    Parameters
    ----------
    ev : EventArrays
    w : ndarray, shape (n_events,)
        Each event's decayed weight (from :func:`event_cells`); scaled in place.
    cells, inverse : Cells, ndarray
        The aggregated cells and each event's cell (``aggregate_cells(..., return_inverse=True)``).
    store : ndarray, shape (n_events,)
        Store index of each event (-1: counted in no store).
    """
    is_purchase = np.flatnonzero(ev.types == PURCHASE)
    w[is_purchase] *= keep_share(cells.p_n, cells.r_n, config)[inverse[is_purchase]]
    del is_purchase
    popularity = np.bincount(ev.cols, weights=w, minlength=n_products)
    store_pop = group_sums(store, ev.cols, w, n_stores, n_products)
    # The trend re-weights the same demand with its own half-life.
    w *= np.exp2(ev.age_days * (1.0 / config.half_life_days - 1.0 / config.trend_half_life_days))
    trend = np.bincount(ev.cols, weights=w, minlength=n_products)
    store_trend = group_sums(store, ev.cols, w, n_stores, n_products)
    return Demand(popularity, trend, store_pop, store_trend)


#: What a fit's "now" may be given as: anything ``pd.Timestamp`` reads (``None``: the data's own).
AsOf: TypeAlias = TimeLike | None


def fit_date(as_of: TimeLike) -> pd.Timestamp:
    """``as_of`` as a timezone-naive timestamp (the fit's "now")."""
    out = pd.Timestamp(as_of)
    return out.tz_convert(None) if out.tzinfo is not None else out


@dataclass(frozen=True)
class EventBlock:
    """The events of a block of whole client rows as cells: what every path builds rows from.

    :func:`~core.engine.interactions.build_interactions` makes one block of the whole log; the
    scale-out fit (:mod:`core.engine.scale`) one per client bucket, whose
    ``norm`` and ``demand`` add up to the whole log's.

    Attributes
    ----------
    cells : Cells
        Aggregated, rows being positions in the block's clients.
    values : CellValues
        The cells' values before normalisation.
    norm : NormSums
        The block's share of the normalisation statistics.
    demand : Demand
        The block's decayed demand per product and per store.
    home : ndarray, shape (n_rows,)
        Each client's home store in the store ids (-1 if unknown).
    transitions : TransitionCounts
        What the block's clients bought next (:mod:`core.engine.transitions`).
    latest : ndarray, shape (n_rows,)
        Age in days of each client's latest event (``inf``: none), what
        ``recency="client"`` measures their taste's ages from.
    """

    cells: Cells
    values: CellValues
    norm: NormSums
    demand: Demand
    home: np.ndarray
    transitions: TransitionCounts
    latest: np.ndarray


def event_block(
    events: pd.DataFrame,
    clients: pd.DataFrame,
    client_ids: IdMap,
    product_ids: IdMap,
    store_ids: IdMap,
    as_of: pd.Timestamp,
    config: EngineConfig,
) -> EventBlock:
    """The :class:`EventBlock` of ``clients`` (rows in ``client_ids`` order) from their ``events``.

    Events after ``as_of`` (the future of a temporal split) and, in
    unvalidated frames, events of unknown clients or types are left out.
    """
    n_rows, n_products = len(client_ids), len(product_ids)
    rows = codes_in(events["client_id"], client_ids.index)
    ev = event_arrays(events, rows=rows, product_ids=product_ids, as_of=as_of, clip_future=False)
    del rows
    home = codes_in(clients["home_store_id"], store_ids.index)
    if "store_id" in events.columns:
        ev_store = codes_in(events["store_id"], store_ids.index)
    else:
        ev_store = np.full(len(events), -1, dtype=np.int32)
    keep = (ev.age_days >= 0) & (ev.rows >= 0) & (ev.types >= 0)
    if not keep.all():
        ev = select_events(ev, keep)
        ev_store = ev_store[keep]
    del keep
    transitions = transition_counts(ev, n_products, config.sequence_window)
    latest = latest_ages(ev, n_rows)
    raw, w = event_cells(ev, config, latest)
    inverse, cells = aggregate_cells(raw, n_products, return_inverse=True)
    del raw
    values = cell_values(cells, n_rows, config)
    # An event belongs to its store or, without one (online), to the client's home store.
    ev_store = np.where(ev_store >= 0, ev_store, home[ev.rows])
    demand = event_demand(ev, w, cells, inverse, ev_store, config, len(store_ids), n_products)
    norm = norm_sums(values, n_rows, n_products)
    return EventBlock(cells, values, norm, demand, home, transitions, latest)
