"""What pages read about the whole house, summed over client buckets: for serving without the event log.

A dashboard serving per client (:mod:`core.app.serving`) holds no event, yet
three things it shows are sums over every client's events:

- popularity, the units bought and kept per product (the generic list and gift
  ideas: ``Catalogue.purchase_counts``);
- store bestsellers, units kept per store and product over the last days
  (``core.suggest.generic.store_sales``), and the Trends page's demand over
  time (``core.engine.trends.demand_events``);
- complete-the-look's co-purchases: how many clients kept both products for
  themselves (``core.suggest.rerank.look.copurchase_lift``);
- returns for fit: units bought and units returned for fit per product
  (``core.suggest.sizes.FitReturns``), and how many purchases came back
  (share outcomes' return rates, ``core.app.outcomes.return_rates``).

:class:`HouseAggregates` holds them. :func:`bucket_house` computes one
bucket's share with the same arithmetic as the in-memory path
(:func:`core.engine.purchases.client_matrices`); shares add up (``+``), so the
scale-out fit sums them over the buckets like its other statistics and saves
the result with the product-side model.

Activity (purchases, returns, try-ons, wishlists) is summed per store, product,
event type and *time bin*, each event dated at the start of its bin. Bins
split every calendar day at midnight and at ``as_of``'s time of day, so the
windows the pages ask for -- whole days before ``as_of``, or weeks from a
midnight -- never cut a bin, and every such window reads the same sums as
the events would. A bin is held as its number (:func:`bin_code`: two per
day), so the rows fit 32-bit integers: half the memory of a dashboard's
largest array at L.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.data.dataset import Dataset
from core.data.ids import IdMap
from core.engine.purchases import client_matrices, purchase_returns

_DAY_NS = 86_400 * 10**9

#: The event types whose activity is summed, in the order of their codes.
ACTIVITY_EVENTS: tuple[str, ...] = ("purchase", "return", "try_on", "wishlist")


@dataclass(frozen=True)
class HouseAggregates:
    """Popularity, daily store sales and co-purchases of the whole house.

    Attributes
    ----------
    kept_units : ndarray, shape (n_products,)
        Units bought and kept per product, gifts included.
    copurchase : csr_matrix, shape (n_products, n_products)
        Clients who kept both products for themselves (not as gifts); the
        diagonal is each product's number of such buyers.
    n_buyers : int
        Clients who kept at least one product for themselves.
    activity : ndarray, shape (n, 6), int32 (int64 when a sum needs it)
        Rows ``(store index, product index, bin code, event code, units,
        units at least 1 per event)``; store index -1 for events without a
        store; the bin's start is :func:`bin_start` of its code and
        ``as_of``; event codes index :data:`ACTIVITY_EVENTS`.
    store_ids : ndarray of str
        The stores the store indices of ``activity`` point to.
    as_of : Timestamp
    bought_units : ndarray, shape (n_products,)
        Units bought per product, before returns, gifts included.
    fit_returned_units : ndarray, shape (n_products,)
        Units returned with the reason ``fit`` per product.
    purchase_returns : ndarray, shape (3,), int64
        Purchases, purchases later returned, and later returned for fit
        (:func:`core.engine.purchases.purchase_returns`).
    """

    kept_units: np.ndarray
    copurchase: sp.csr_matrix
    n_buyers: int
    activity: np.ndarray
    store_ids: np.ndarray
    as_of: pd.Timestamp
    bought_units: np.ndarray
    fit_returned_units: np.ndarray
    purchase_returns: np.ndarray

    def __add__(self, other: HouseAggregates) -> HouseAggregates:
        """Two buckets' shares together (their clients are disjoint)."""
        return HouseAggregates.total([self, other])

    @staticmethod
    def total(parts: Sequence[HouseAggregates]) -> HouseAggregates:
        """Many buckets' shares together, in one pass.

        Summing once instead of pairwise keeps the activity rows (which rarely
        coincide across buckets) from being copied and re-sorted at every level
        of a tree: the scale-out fit collects the shares and adds them here.
        """
        if not parts:
            raise ValueError("no bucket shares to add up")
        first = parts[0]
        pairs = [p.copurchase.tocoo() for p in parts]
        copurchase = sp.csr_matrix(  # duplicates are summed
            (
                np.concatenate([c.data for c in pairs]),
                (np.concatenate([c.row for c in pairs]), np.concatenate([c.col for c in pairs])),
            ),
            shape=first.copurchase.shape,
        )
        del pairs
        return HouseAggregates(
            np.sum([p.kept_units for p in parts], axis=0),
            copurchase,
            sum(p.n_buyers for p in parts),
            _sum_activity(np.concatenate([p.activity for p in parts])),
            first.store_ids,
            first.as_of,
            np.sum([p.bought_units for p in parts], axis=0),
            np.sum([p.fit_returned_units for p in parts], axis=0),
            np.sum([p.purchase_returns for p in parts], axis=0),
        )

    @cached_property
    def _store_rows(self) -> np.ndarray | None:
        """Where each store index's activity rows start (index -1 first), or ``None`` if unsorted.

        :func:`_sum_activity` sorts the rows by store first, so a store's rows
        are one slice.
        """
        stores = self.activity[:, 0]
        if stores.size > 1 and not (stores[1:] >= stores[:-1]).all():
            return None
        return np.searchsorted(stores, np.arange(-1, self.store_ids.size + 1))

    def store_sales(self, store_id: str, as_of: pd.Timestamp, days: int) -> np.ndarray:
        """Units kept per product in ``store_id`` over the ``days`` before ``as_of`` (never < 0).

        Reads only the store's slice of the activity, so that a page of a large
        house does not scan every store's rows.
        """
        n = self.kept_units.size
        found = np.flatnonzero(self.store_ids == str(store_id))
        if found.size == 0 or len(self.activity) == 0:
            return np.zeros(n)
        store = int(found[0])
        bounds = self._store_rows
        a = self.activity
        if bounds is not None:
            a = a[bounds[store + 1] : bounds[store + 2]]
        since = (as_of - pd.Timedelta(days=days)).value
        start = bin_start(a[:, 2], self.as_of)
        keep = (a[:, 0] == store) & (a[:, 3] <= 1) & (start >= since) & (start <= as_of.value)
        a = a[keep]
        sign = np.where(a[:, 3] == 0, 1.0, -1.0)
        out = np.bincount(a[:, 1], weights=sign * a[:, 4], minlength=n)
        return np.maximum(out, 0)

    def demand_frame(self, product_ids: IdMap, weights: dict[str, float]) -> pd.DataFrame:
        """What :func:`core.engine.trends.demand_events` gives, one row per bin (same sums)."""
        a = self.activity
        w = {**weights, "return": -weights.get("purchase", 1.0)}
        per = np.array([w.get(e, np.nan) for e in ACTIVITY_EVENTS])[a[:, 3]]
        a, per = a[~np.isnan(per)], per[~np.isnan(per)]
        stores = np.array([*self.store_ids.tolist(), None], dtype=object)  # -1: no store
        return pd.DataFrame(
            {
                "product_id": np.asarray(product_ids.external_ids, dtype=object)[a[:, 1]],
                "timestamp": pd.Series(bin_start(a[:, 2], self.as_of).astype("datetime64[ns]")),
                "store_id": stores[a[:, 0]],
                "event_type": np.array(ACTIVITY_EVENTS, dtype=object)[a[:, 3]],
                "demand": per * a[:, 5],
            }
        )

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The aggregates as plain arrays (saved with a model; no pickle)."""
        c = self.copurchase
        return {
            "kept_units": self.kept_units,
            "copurchase.data": c.data,
            "copurchase.indices": c.indices,
            "copurchase.indptr": c.indptr,
            "n_buyers": np.array([self.n_buyers]),
            "activity_bins": self.activity,
            "store_ids": self.store_ids.astype(str),
            "as_of": np.array([self.as_of.value]),
            "bought_units": self.bought_units,
            "fit_returned_units": self.fit_returned_units,
            "purchase_returns": self.purchase_returns,
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> HouseAggregates | None:
        """The inverse of :meth:`to_arrays`; ``None`` for arrays saved before a sum was kept."""
        if not {"bought_units", "fit_returned_units", "purchase_returns"} <= set(arrays):
            return None
        n = arrays["kept_units"].size
        as_of = pd.Timestamp(int(arrays["as_of"][0]))
        if "activity_bins" in arrays:
            activity = arrays["activity_bins"].reshape(-1, 6)
        else:  # saved before bins were numbered: each bin's start in ns
            activity = arrays["activity"].reshape(-1, 6).copy()
            activity[:, 2] = bin_code(activity[:, 2], as_of)
            activity = _narrow(activity)
        copurchase = sp.csr_matrix(
            (
                arrays["copurchase.data"],
                arrays["copurchase.indices"],
                arrays["copurchase.indptr"],
            ),
            shape=(n, n),
        )
        return cls(
            arrays["kept_units"],
            copurchase,
            int(arrays["n_buyers"][0]),
            activity,
            arrays["store_ids"].astype(str),
            as_of,
            arrays["bought_units"],
            arrays["fit_returned_units"],
            arrays["purchase_returns"].astype(np.int64),
        )


def _sum_activity(rows: np.ndarray) -> np.ndarray:
    """Rows of the same (store, product, bin, event) added, sorted by those four.

    A stable sort on the four keys and a sum per run of equal keys: about a
    third of the memory of ``np.unique(axis=0)``, which matters when a fit
    adds up tens of millions of rows.
    """
    if len(rows) == 0:
        return rows.reshape(0, 6).astype(np.int32)
    order = np.lexsort((rows[:, 3], rows[:, 2], rows[:, 1], rows[:, 0]))
    rows = rows[order].astype(np.int64, copy=False)  # sums in 64 bits, then narrowed
    del order
    new = np.ones(len(rows), dtype=bool)
    new[1:] = (rows[1:, :4] != rows[:-1, :4]).any(axis=1)
    starts = np.flatnonzero(new)
    del new
    out = rows[starts]
    out[:, 4] = np.add.reduceat(rows[:, 4], starts)
    out[:, 5] = np.add.reduceat(rows[:, 5], starts)
    return _narrow(out)


def _narrow(rows: np.ndarray) -> np.ndarray:
    """``rows`` as int32 when every value fits (it does unless a sum of units is huge)."""
    info = np.iinfo(np.int32)
    if rows.size == 0 or (rows.min() >= info.min and rows.max() <= info.max):
        return rows.astype(np.int32)
    return rows.astype(np.int64, copy=False)


def bucket_house(
    events: pd.DataFrame, product_ids: IdMap, store_ids: IdMap, as_of: pd.Timestamp
) -> HouseAggregates:
    """One bucket's share of the :class:`HouseAggregates` (its clients' events, whole)."""
    clients = events["client_id"].astype(str)
    codes, uniques = pd.factorize(clients, sort=False)
    m = client_matrices(events, codes, len(uniques), product_ids)
    own = sp.csr_matrix(
        ((m.own.data > 0).astype(np.float64), m.own.indices, m.own.indptr), shape=m.own.shape
    )
    own.eliminate_zeros()
    copurchase = sp.csr_matrix(own.T @ own)
    n_buyers = int((np.diff(own.indptr) > 0).sum())

    def units(x: sp.csr_matrix) -> np.ndarray:
        return np.asarray(x.sum(axis=0)).ravel().astype(np.float64)

    activity = _bucket_activity(events, product_ids, store_ids, as_of)
    stores = np.asarray(store_ids.external_ids, dtype=str)
    flagged = purchase_returns(events)
    came_back = np.array(
        [len(flagged), flagged["returned"].sum(), flagged["returned_for_fit"].sum()],
        dtype=np.int64,
    )
    return HouseAggregates(
        units(m.kept),
        copurchase,
        n_buyers,
        activity,
        stores,
        as_of,
        units(m.bought_units),
        units(m.fit_returned),
        came_back,
    )


def _bucket_activity(
    events: pd.DataFrame, product_ids: IdMap, store_ids: IdMap, as_of: pd.Timestamp
) -> np.ndarray:
    """Activity rows of some events on or before ``as_of`` (see :class:`HouseAggregates`)."""
    et = events["event_type"].astype(str).to_numpy()
    code = pd.Index(ACTIVITY_EVENTS).get_indexer(pd.Index(et))
    ev = events[code >= 0]
    code = code[code >= 0]
    if len(ev) == 0:
        return np.zeros((0, 6), dtype=np.int32)
    s = store_ids.to_internal(ev["store_id"], strict=False)  # no store: -1
    p = product_ids.to_internal(ev["product_id"].astype(str), strict=False)
    ts = pd.to_datetime(ev["timestamp"]).to_numpy("datetime64[ns]").astype(np.int64)
    q = ev["quantity"].to_numpy(dtype=np.int64)
    keep = (p >= 0) & (ts <= as_of.value)
    rows = np.column_stack([s, p, bin_code(ts, as_of), code, q, np.maximum(q, 1)]).astype(np.int64)
    return _sum_activity(rows[keep])


def bin_code(ts: np.ndarray, as_of: pd.Timestamp) -> np.ndarray:
    """The number of each time's bin: two per calendar day, split at ``as_of``'s time of day.

    ``2 * day + 1`` from the split on (the whole day when ``as_of`` is at
    midnight), ``2 * day`` before it; ``day`` counts days since 1970-01-01.
    Codes order like the bins' starts.
    """
    ts = np.asarray(ts, dtype=np.int64)
    day = np.floor_divide(ts, _DAY_NS)
    split = as_of.value - as_of.normalize().value
    return np.asarray(2 * day + (ts - day * _DAY_NS >= split))


def bin_start(code: np.ndarray, as_of: pd.Timestamp) -> np.ndarray:
    """The start (ns) of each bin :func:`bin_code` numbered."""
    code = np.asarray(code, dtype=np.int64)
    split = as_of.value - as_of.normalize().value
    return np.asarray((code >> 1) * _DAY_NS + (code & 1) * split)


def house_of(dataset: Dataset) -> HouseAggregates | None:
    """The aggregates a dataset served without events carries (:func:`attach_house`), or ``None``."""
    found = dataset.derived(HouseAggregates, lambda: None)
    return found if isinstance(found, HouseAggregates) else None


def attach_house(dataset: Dataset, house: HouseAggregates) -> None:
    """Let the pages of ``dataset`` (which holds no event) read the house's aggregates."""
    if len(dataset.events):
        raise ValueError("a dataset with events reads its own; aggregates are for one without")
    dataset.derived(HouseAggregates, lambda: house)
