"""Generic suggestions: new arrivals and a store's bestsellers, reading nobody's history.

What a client without personalisation consent (or in the holdout group) and a
store-level list get instead of the model's suggestions: new arrivals (newest
first) alternate with the store's bestsellers, then maison bestsellers, then
the rest of the catalogue (:func:`generic_ranking`); each kind has its own
words (:func:`generic_words`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.data.dataset import Dataset
from core.engine.house import house_of
from core.suggest.catalogue import Catalogue

#: Kinds of generic suggestion: new arrival, store bestseller, maison bestseller, the rest.
NEW_ARRIVAL, STORE_BESTSELLER, MAISON_BESTSELLER, OTHER = 0, 1, 2, 3


def generic_words(kind: int, store_name: str) -> tuple[str, str]:
    """(associate wording, client wording) of a generic suggestion of ``kind``."""
    return {
        NEW_ARRIVAL: ("New arrival", "New this season"),
        STORE_BESTSELLER: (f"Bestseller in {store_name}", f"A favourite at {store_name}"),
        MAISON_BESTSELLER: ("Popular across the maison", "A maison favourite"),
        OTHER: ("From the current collection", "Selected for you by your advisor"),
    }[kind]


def generic_ranking(
    dataset: Dataset,
    store_id: str,
    as_of: pd.Timestamp,
    *,
    new_arrival_days: int,
    bestseller_days: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Generic score (1 = first) and kind per product, for one store.

    New arrivals (launched within ``new_arrival_days`` of ``as_of``, newest
    first) alternate with the store's bestsellers (units kept over
    ``bestseller_days``); then maison bestsellers, then the rest of the
    catalogue. Depends on the store, never on a client.

    Returns
    -------
    score : ndarray of float, shape (n_products,)
    kind : ndarray of int8, shape (n_products,)
        :data:`NEW_ARRIVAL`, :data:`STORE_BESTSELLER`, :data:`MAISON_BESTSELLER` or :data:`OTHER`.
    """
    catalogue = Catalogue.of(dataset)
    n = catalogue.n_products
    now = as_of.to_datetime64().astype("datetime64[ns]")
    launch = catalogue.launch_date
    recent = ~np.isnat(launch) & (launch >= now - np.timedelta64(new_arrival_days, "D"))
    new = np.flatnonzero(recent)
    new = new[np.lexsort((new, -launch[new].astype(np.int64)))]
    sales = store_sales(dataset, store_id, as_of, bestseller_days)
    best = np.flatnonzero(sales > 0)
    best = best[np.lexsort((best, -sales[best]))]
    order: list[int] = []
    kind = np.full(n, OTHER, dtype=np.int8)
    seen = np.zeros(n, dtype=bool)
    for a, b in zip(_pad(new, len(best)), _pad(best, len(new)), strict=True):
        for j, kd in ((a, NEW_ARRIVAL), (b, STORE_BESTSELLER)):
            if j >= 0 and not seen[j]:
                seen[j] = True
                order.append(int(j))
                kind[j] = kd
    pop = catalogue.purchase_counts
    rest = np.flatnonzero(~seen)
    rest = rest[np.lexsort((rest, -pop[rest]))]
    kind[rest[pop[rest] > 0]] = MAISON_BESTSELLER
    order += rest.tolist()
    score = np.empty(n)
    score[np.array(order, dtype=np.int64)] = 1.0 - np.arange(n) / max(n, 1)
    return score, kind


def store_sales(dataset: Dataset, store_id: str, as_of: pd.Timestamp, days: int) -> np.ndarray:
    """Units kept per product in ``store_id`` over the ``days`` before ``as_of`` (never < 0).

    A dataset served without events reads the house's daily sales (:mod:`core.engine.house`).
    """
    house = house_of(dataset)
    if house is not None:
        return house.store_sales(store_id, as_of, days)
    ev = dataset.events
    since = as_of - pd.Timedelta(days=days)
    sel = (
        ev["event_type"].isin(["purchase", "return"])
        & (ev["store_id"].astype(object) == store_id)
        & (ev["timestamp"] >= since)
        & (ev["timestamp"] <= as_of)
    )
    sub = ev.loc[sel]
    sign = np.where(sub["event_type"] == "purchase", 1, -1) * sub["quantity"].to_numpy()
    idx = dataset.product_ids.to_internal(sub["product_id"].astype(str), strict=False)
    out = np.zeros(len(dataset.product_ids))
    np.add.at(out, idx[idx >= 0], sign[idx >= 0])
    return np.maximum(out, 0)


def _pad(a: np.ndarray, n: int) -> np.ndarray:
    """``a`` padded with -1 to at least ``n`` entries (for interleaving)."""
    return np.concatenate([a, np.full(max(n - a.size, 0), -1, dtype=np.int64)])
