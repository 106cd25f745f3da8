"""What clients bought, kept and volunteered, from events: one piece of arithmetic for every path.

:func:`client_matrices` turns events into clients x products matrices of units
kept (net of returns, never below zero), units kept for themselves (not gifts),
the last purchase time, the most deliberate thing each client did
themselves (:data:`VOLUNTEERED_EVENTS`), and the units bought and returned for
fit (``core.suggest.sizes.FitReturns``). :func:`purchase_returns` flags each
purchase the client later returned (share outcomes' return rates). The suggestion pipeline's catalogue
calls it over the whole event log, and over one client's events with a
request's extra events (:class:`ClientHistory`); the scale-out fit calls it per
client bucket for the house's aggregates (:mod:`core.engine.house`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.data.ids import IdMap

#: Events a client does themselves, as opposed to browsing and email signals
#: (view, zoom, email_open, email_click), which client-facing text never names.
#: Of these, wording names a purchase kept for themselves, a try-on in a store
#: and a wishlist; a return only cancels a purchase.
VOLUNTEERED_EVENTS: tuple[str, ...] = ("wishlist", "try_on", "purchase", "return")

# Codes of the volunteered-interaction matrix (higher = more deliberate).
VOLUNTEERED_WISHLIST, VOLUNTEERED_TRY_ON, VOLUNTEERED_PURCHASE = 1, 2, 3


@dataclass(frozen=True)
class ClientHistory:
    """One client's row of each :class:`ClientMatrices` matrix (1 x products, CSR)."""

    kept: sp.csr_matrix
    own: sp.csr_matrix
    last: sp.csr_matrix
    volunteered: sp.csr_matrix
    bought_units: sp.csr_matrix
    fit_returned: sp.csr_matrix

    @classmethod
    def empty(cls, n_products: int) -> ClientHistory:
        """A client with no purchase and nothing volunteered."""
        zero = sp.csr_matrix((1, n_products), dtype=np.int64)
        return cls(zero, zero, zero, zero.astype(np.int8), zero, zero)

    def returned_for_fit(self) -> np.ndarray:
        """Product indices the client returned at least once with the reason ``fit``."""
        row = self.fit_returned
        return np.asarray(row.indices[row.data > 0])

    def bought(self, *, count_gifts: bool = True) -> np.ndarray:
        """Product indices bought and kept (gift purchases only if ``count_gifts``)."""
        row = self.kept if count_gifts else self.own
        return np.asarray(row.indices[row.data > 0])

    def kept_units(self, product_idx: np.ndarray, *, count_gifts: bool = True) -> np.ndarray:
        """Units of each product bought and kept (gift purchases only if ``count_gifts``)."""
        row = self.kept if count_gifts else self.own
        return np.asarray(row.toarray().ravel()[np.asarray(product_idx, dtype=np.int64)])

    def last_purchase(self, product_idx: np.ndarray) -> np.ndarray:
        """Time of the last purchase of each product (NaT when none or not known)."""
        vals = self.last.toarray().ravel()[np.asarray(product_idx, dtype=np.int64)]
        out = vals.astype("datetime64[ns]")
        out[vals == 0] = np.datetime64("NaT")
        return np.asarray(out)

    def volunteered_codes(self) -> dict[int, int]:
        """Product index -> the most deliberate volunteered code."""
        row = self.volunteered
        return dict(zip(row.indices.tolist(), row.data.astype(int).tolist(), strict=True))


@dataclass(frozen=True)
class ClientMatrices:
    """Clients x products: units kept (gifts included), kept for themselves, last purchase
    time (ns), the volunteered code (:data:`VOLUNTEERED_PURCHASE` ...), units bought
    (before returns, gifts included) and units returned with the reason ``fit``; all CSR."""

    kept: sp.csr_matrix
    own: sp.csr_matrix
    last: sp.csr_matrix
    volunteered: sp.csr_matrix
    bought_units: sp.csr_matrix
    fit_returned: sp.csr_matrix

    def row(self, index: int) -> ClientHistory:
        """One client's history."""
        if index == 0 and self.kept.shape[0] == 1:  # one client's matrices already (a request)
            return ClientHistory(
                self.kept,
                self.own,
                self.last,
                self.volunteered,
                self.bought_units,
                self.fit_returned,
            )
        return ClientHistory(
            self.kept[index],
            self.own[index],
            self.last[index],
            self.volunteered[index],
            self.bought_units[index],
            self.fit_returned[index],
        )


def events_of(events: pd.DataFrame | None, client_id: str) -> pd.DataFrame | None:
    """The rows of ``events`` for ``client_id`` (``events`` itself when all are), or ``None``."""
    if events is None or len(events) == 0 or not {"client_id", "product_id"} <= set(events):
        return None
    mine = _text(events, "client_id") == str(client_id)
    if mine.all():  # a request's events are usually the client's alone
        return events
    return events[mine] if mine.any() else None


def _column(ev: pd.DataFrame, name: str, default: object) -> pd.Series:
    """A column of an events frame, ``default`` where it is missing or empty."""
    if name not in ev.columns:
        return pd.Series(default, index=ev.index)
    col = ev[name]
    return col.astype(object).where(col.notna(), default) if col.isna().any() else col


_FEW_ROWS = 256  # a request's events: element-wise beats pandas' fixed cost


def _text(ev: pd.DataFrame, name: str) -> np.ndarray:
    """A text column as an object array of ``str`` ("" where missing or absent).

    Cheaper than ``astype(str)`` on a request's few rows, where pandas' per-column
    work costs more than the values.
    """
    if name not in ev.columns:
        return np.full(len(ev), "", dtype=object)
    if len(ev) > _FEW_ROWS:  # vectorised, in Arrow or numpy
        return np.asarray(_column(ev, name, "").astype(str).to_numpy(), dtype=object)
    values = ev[name].to_numpy(dtype=object)
    missing = pd.isna(values)
    if missing.any():
        values = values.copy()
        values[missing] = ""
    return np.asarray([v if isinstance(v, str) else str(v) for v in values], dtype=object)


def _times(ev: pd.DataFrame) -> np.ndarray:
    """The ``timestamp`` column as naive datetime64[ns] (NaT where missing or absent)."""
    if "timestamp" not in ev.columns:
        return np.full(len(ev), np.datetime64("NaT"), dtype="datetime64[ns]")
    col = ev["timestamp"]
    if isinstance(col.dtype, np.dtype) and col.dtype.kind == "M":
        return col.to_numpy("datetime64[ns]")
    return pd.to_datetime(col).to_numpy("datetime64[ns]")


def client_matrices(
    events: pd.DataFrame, rows: np.ndarray, n_rows: int, product_ids: IdMap
) -> ClientMatrices:
    """Purchases kept and what was volunteered per row and product (``product_ids``), from events.

    ``rows`` gives each event's row (negative: left out). Returns net of
    returns, never below zero; gifts are bought for someone else, so they are
    not "kept for themselves" and never volunteered. Missing optional columns
    read as one unit, not a gift, no channel, no time, no return reason.
    """
    n = len(product_ids)
    shape = (n_rows, n)
    et = _text(events, "event_type")
    is_p, is_r = et == "purchase", et == "return"
    p = product_ids.to_internal(_text(events, "product_id"), strict=False)
    ok = (np.asarray(rows) >= 0) & (p >= 0)
    q = _column(events, "quantity", 1).to_numpy(dtype=np.int64)
    gift = _column(events, "is_gift", False).to_numpy(dtype=bool)
    ts = _times(events)
    for_fit = is_r & (_text(events, "reason") == "fit")
    rows = np.asarray(rows, dtype=np.int64)
    sel = ok & (is_p | is_r)
    r, c, (buy, ret, gift_q, fit, last_ts) = _cells(
        rows[sel],
        p[sel],
        n,
        sums=[
            np.where(is_p, q, 0)[sel],
            np.where(is_r, q, 0)[sel],
            np.where(is_p & gift, q, 0)[sel],
            np.where(for_fit, q, 0)[sel],
        ],
        maxes=[np.where(is_p, ts.astype(np.int64), np.iinfo(np.int64).min)[sel]],
    )
    net = (buy - ret).clip(0)
    own = np.minimum(net, buy - gift_q).clip(0)
    keep = net > 0

    def mk(vals: np.ndarray, where: np.ndarray | None = None) -> sp.csr_matrix:
        at = vals != 0 if where is None else where
        return _csr(vals[at], r[at], c[at], shape)

    kept, own_m, last = mk(net, keep), mk(own, keep), mk(last_ts, keep)
    bought_units, fit_returned = mk(buy), mk(fit)
    channel = _text(events, "channel")
    tried = (et == "try_on") & (channel == "store")
    code = np.where(tried, VOLUNTEERED_TRY_ON, VOLUNTEERED_WISHLIST).astype(np.int64)
    sel = ok & (tried | (et == "wishlist"))
    # Several events per cell: keep the most deliberate (max code), not their sum; a
    # product kept for themselves counts as bought.
    mine = keep & (own > 0)
    vr, vc, (best,) = _cells(
        np.r_[rows[sel], r[mine]],
        np.r_[p[sel], c[mine]],
        n,
        sums=[],
        maxes=[np.r_[code[sel], np.full(int(mine.sum()), VOLUNTEERED_PURCHASE, dtype=np.int64)]],
    )
    volunteered = _csr(best, vr, vc, shape)
    return ClientMatrices(
        kept, own_m, last, volunteered.astype(np.int8), bought_units, fit_returned
    )


def _cells(
    rows: np.ndarray,
    cols: np.ndarray,
    n_cols: int,
    *,
    sums: list[np.ndarray],
    maxes: list[np.ndarray],
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Distinct (row, column) cells in order, with each value array summed or maxed per cell."""
    key = rows * n_cols + cols
    order = np.argsort(key, kind="stable")
    key = key[order]
    if key.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, [empty for _ in (*sums, *maxes)]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    out = [np.add.reduceat(v[order].astype(np.int64), starts) for v in sums]
    out += [np.maximum.reduceat(v[order].astype(np.int64), starts) for v in maxes]
    first = key[starts]
    return first // n_cols, first % n_cols, out


def _csr(vals: np.ndarray, r: np.ndarray, c: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """A CSR matrix of cells sorted by row then column (as :func:`_cells` gives them)."""
    index = np.int32 if max(len(vals), shape[1]) < 2**31 else np.int64
    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(r, minlength=shape[0]), out=indptr[1:])
    return sp.csr_matrix(
        (vals.astype(np.int64), c.astype(index), indptr.astype(index)), shape=shape
    )


def purchase_returns(events: pd.DataFrame) -> pd.DataFrame:
    """Every purchase, flagged when the client returned that product on or after it.

    Returns
    -------
    DataFrame
        ``client_id``, ``product_id``, ``timestamp`` of each purchase event, in
        the order of ``events``; ``returned`` (bool), and ``returned_for_fit``
        when such a return's ``reason`` is ``fit`` (none without the column).
    """
    buys = events[events["event_type"] == "purchase"][["client_id", "product_id", "timestamp"]]
    buys = buys.reset_index(drop=True)
    rets = events[events["event_type"] == "return"]
    fit = _column(rets, "reason", "").astype(str) == "fit"
    rets = rets.assign(fit=fit)[["client_id", "product_id", "timestamp", "fit"]]
    m = buys.reset_index().merge(rets, on=["client_id", "product_id"], suffixes=("", "_r"))
    m = m[m["timestamp_r"] >= m["timestamp"]]
    returned = np.zeros(len(buys), dtype=bool)
    returned[m["index"].unique()] = True
    for_fit = np.zeros(len(buys), dtype=bool)
    for_fit[m.loc[m["fit"], "index"].unique()] = True
    return buys.assign(returned=returned, returned_for_fit=for_fit)
