"""What pages read about the whole house, summed over client buckets: for serving without the event log.

A dashboard serving per client (:mod:`core.app.serving`) holds no event, yet
three things it shows are sums over every client's events:

- popularity, the units bought and kept per product (the generic list and gift
  ideas: ``Catalogue.purchase_counts``);
- store bestsellers, units kept per store and product over the last days
  (``core.suggest.generic.store_sales``);
- complete-the-look's co-purchases: how many clients kept both products for
  themselves (``core.suggest.rerank.look.copurchase_lift``).

:class:`HouseAggregates` holds them. :func:`bucket_house` computes one
bucket's share with the same arithmetic as the in-memory path
(:func:`core.engine.purchases.client_matrices`); shares add up (``+``), so the
scale-out fit sums them over the buckets like its other statistics and saves
the result with the product-side model. Sales are kept per store, product and
day before ``as_of`` (each day's events dated at its middle), so every window
of whole days before ``as_of`` reads the same units as the events would.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.data.dataset import Dataset
from core.data.ids import IdMap
from core.engine.purchases import client_matrices

_DAY_NS = 86_400 * 10**9


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
    sales : ndarray, shape (n, 4), int64
        Rows ``(store index, product index, day, units)``: units bought minus
        units returned in the store on the ``day``-th day before ``as_of``
        (0: the last 24 hours), nonzero rows only.
    store_ids : ndarray of str
        The stores the store indices of ``sales`` point to.
    as_of : Timestamp
    """

    kept_units: np.ndarray
    copurchase: sp.csr_matrix
    n_buyers: int
    sales: np.ndarray
    store_ids: np.ndarray
    as_of: pd.Timestamp

    def __add__(self, other: HouseAggregates) -> HouseAggregates:
        """Two buckets' shares together (their clients are disjoint)."""
        return HouseAggregates(
            self.kept_units + other.kept_units,
            sp.csr_matrix(self.copurchase + other.copurchase),
            self.n_buyers + other.n_buyers,
            _sum_sales(np.vstack([self.sales, other.sales])),
            self.store_ids,
            self.as_of,
        )

    def store_sales(self, store_id: str, as_of: pd.Timestamp, days: int) -> np.ndarray:
        """Units kept per product in ``store_id`` over the ``days`` before ``as_of`` (never < 0)."""
        out = np.zeros(self.kept_units.size)
        found = np.flatnonzero(self.store_ids == str(store_id))
        if found.size == 0 or len(self.sales) == 0:
            return out
        sales = self.sales[self.sales[:, 0] == found[0]]
        when = self.as_of.value - (sales[:, 2] * _DAY_NS + _DAY_NS // 2)
        since = (as_of - pd.Timedelta(days=days)).value
        keep = (when >= since) & (when <= as_of.value)
        np.add.at(out, sales[keep, 1], sales[keep, 3])
        return np.maximum(out, 0)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The aggregates as plain arrays (saved with a model; no pickle)."""
        c = self.copurchase
        return {
            "kept_units": self.kept_units,
            "copurchase.data": c.data,
            "copurchase.indices": c.indices,
            "copurchase.indptr": c.indptr,
            "n_buyers": np.array([self.n_buyers]),
            "sales": self.sales,
            "store_ids": self.store_ids.astype(str),
            "as_of": np.array([self.as_of.value]),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> HouseAggregates:
        """The inverse of :meth:`to_arrays`."""
        n = arrays["kept_units"].size
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
            arrays["sales"].reshape(-1, 4),
            arrays["store_ids"].astype(str),
            pd.Timestamp(int(arrays["as_of"][0])),
        )


def _sum_sales(rows: np.ndarray) -> np.ndarray:
    """Rows of the same (store, product, day) added, zero sums dropped."""
    if len(rows) == 0:
        return rows.reshape(0, 4)
    keys, inverse = np.unique(rows[:, :3], axis=0, return_inverse=True)
    units = np.bincount(inverse.ravel(), weights=rows[:, 3], minlength=len(keys))
    out = np.column_stack([keys, units.round().astype(np.int64)])
    return np.asarray(out[out[:, 3] != 0])


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
    kept = np.asarray(m.kept.sum(axis=0)).ravel().astype(np.float64)
    sales = _bucket_sales(events, product_ids, store_ids, as_of)
    stores = np.asarray(store_ids.external_ids, dtype=str)
    return HouseAggregates(kept, copurchase, n_buyers, sales, stores, as_of)


def _bucket_sales(
    events: pd.DataFrame, product_ids: IdMap, store_ids: IdMap, as_of: pd.Timestamp
) -> np.ndarray:
    et = events["event_type"].astype(str)
    ev = events[et.isin(["purchase", "return"]).to_numpy()]
    if len(ev) == 0:
        return np.zeros((0, 4), dtype=np.int64)
    s = store_ids.to_internal(ev["store_id"].astype(object).fillna("").astype(str), strict=False)
    p = product_ids.to_internal(ev["product_id"].astype(str), strict=False)
    ts = pd.to_datetime(ev["timestamp"]).to_numpy("datetime64[ns]").astype(np.int64)
    age = ts - as_of.value
    day = np.floor_divide(-age, _DAY_NS)
    sign = np.where(ev["event_type"].astype(str).to_numpy() == "purchase", 1, -1)
    units = sign * ev["quantity"].to_numpy(dtype=np.int64)
    keep = (s >= 0) & (p >= 0) & (age <= 0)
    rows = np.column_stack([s[keep], p[keep], day[keep], units[keep]]).astype(np.int64)
    return _sum_sales(rows)


def house_of(dataset: Dataset) -> HouseAggregates | None:
    """The aggregates a dataset served without events carries (:func:`attach_house`), or ``None``."""
    found = dataset.derived(HouseAggregates, lambda: None)
    return found if isinstance(found, HouseAggregates) else None


def attach_house(dataset: Dataset, house: HouseAggregates) -> None:
    """Let the pages of ``dataset`` (which holds no event) read the house's aggregates."""
    if len(dataset.events):
        raise ValueError("a dataset with events reads its own; aggregates are for one without")
    dataset.derived(HouseAggregates, lambda: house)
