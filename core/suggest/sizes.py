"""Stock in a client's size: per-size stock arrays and the words that say it.

A product is *stocked per size* when the ``stock`` table has rows with a size
for it (:mod:`core.data.sizes`); the size that matters for a client is hers for
the product's kind (``size_rtw``, ``size_shoes``, ``size_ring``, chosen by
:func:`core.data.sizes.client_size_column`). :class:`SizeStock` holds, once per
dataset, which products are stocked per size and their units per size and
store; :meth:`SizeStock.availability` answers for one client's sizes (or a gift
recipient's) at one store: her size per product, units there and online, and
one line the cards and the rules' reasons share (:func:`availability_text`).

Unknown sizes exclude nothing: the line says "size not on file".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.data.dataset import Dataset
from core.data.ids import codes_in
from core.data.sizes import CATEGORY_SIZE_COLUMNS, SUBCATEGORY_SIZE_COLUMNS, client_size_column
from core.engine.purchases import ClientHistory
from core.suggest.catalogue import Catalogue

#: The client columns that hold a size (one per kind of product).
SIZE_COLUMNS: tuple[str, ...] = tuple(
    dict.fromkeys((*SUBCATEGORY_SIZE_COLUMNS.values(), *CATEGORY_SIZE_COLUMNS.values()))
)
#: What a card says for a product stocked per size when the client's size is unknown.
SIZE_NOT_ON_FILE = "size not on file"
#: The associate reason of a piece rarely returned for fit, in a category the
#: client returned a piece of for fit.
RARELY_RETURNED_FOR_FIT = "Rarely returned for fit"
#: Rarely: at least this many units bought, and a smoothed fit-return share below ...
RARELY_MIN_BOUGHT = 3
RARELY_BELOW = 0.05


def client_sizes(row: pd.Series | Mapping[str, object] | None) -> dict[str, str]:
    """A client's (or recipient's) sizes by client column; unknown ones are ``""``."""
    if row is None:
        return dict.fromkeys(SIZE_COLUMNS, "")
    out = {}
    for column in SIZE_COLUMNS:
        value = row.get(column)
        out[column] = "" if value is None or value is pd.NA or value != value else str(value)
        out[column] = out[column].strip()
    return out


@dataclass(frozen=True)
class Availability:
    """Stock in one person's size for some products (arrays aligned with the products asked).

    Attributes
    ----------
    stocked_per_size : ndarray of bool
        The product is stocked per size (else the other arrays say nothing).
    size : ndarray of object
        The person's size for the product ('' when unknown or not per size).
    here, online : ndarray of int
        Units in that size at the store and online (0 when unknown).
    """

    stocked_per_size: np.ndarray
    size: np.ndarray
    here: np.ndarray
    online: np.ndarray

    @property
    def known(self) -> np.ndarray:
        """Stocked per size and the person's size is on file."""
        return np.asarray(self.stocked_per_size & (self.size != ""))


def availability_text(size: str, here: int, online: int, store: str) -> str:
    """One line on stock in a size, for a card and for an exclusion's reason.

    >>> availability_text("38", 0, 2, "Paris")
    'no 38 in Paris; 2 online'
    >>> availability_text("M", 1, 0, "Paris")
    'size M: 1 in Paris; none online'
    >>> availability_text("38", 0, 2, "")
    'size 38: 2 online'
    >>> availability_text("", 0, 0, "Paris")
    'size not on file'

    ``store`` is '' for a client who shops online only.
    """
    if not size:
        return SIZE_NOT_ON_FILE
    if not store:
        return f"size {size}: {online} online" if online > 0 else f"no {size} online"
    if here <= 0:
        return f"no {size} in {store}; {online if online > 0 else 'none'} online"
    return f"size {size}: {here} in {store}; {online if online > 0 else 'none'} online"


class SizeStock:
    """Per-size stock of a dataset, built once (:meth:`of`)."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self.catalogue = Catalogue.of(dataset)
        self._by_size: dict[str, sp.csr_matrix] = {}

    @classmethod
    def of(cls, dataset: Dataset) -> SizeStock:
        """The per-size stock of ``dataset`` (built on first use, then kept with it)."""
        return dataset.derived(cls, lambda: cls(dataset))

    @cached_property
    def _rows(self) -> pd.DataFrame:
        """Stock rows with a size: product index, store row, size, quantity."""
        st = self.dataset.stock
        if "size" not in st.columns:
            return pd.DataFrame({"j": [], "store": [], "size": [], "qty": []})
        st = st[st["size"].astype(str) != ""]
        j = self.dataset.product_ids.to_internal(st["product_id"].astype(str), strict=False)
        store = codes_in(st["store_id"], self.catalogue.store_ids)
        out = pd.DataFrame(
            {
                "j": j.astype(np.int32),
                "store": store,
                # Codes into the few distinct sizes, not a text object per stock row.
                "size": pd.Categorical(st["size"].astype(str)),
                "qty": st["quantity"].to_numpy(dtype=np.int64),
            }
        )
        return out[(out["j"] >= 0) & (out["store"] >= 0)]

    @cached_property
    def stocked_per_size(self) -> np.ndarray:
        """Products with per-size stock rows."""
        mask = np.zeros(self.catalogue.n_products, dtype=bool)
        mask[self._rows["j"].to_numpy(dtype=np.int64)] = True
        return mask

    @cached_property
    def size_column(self) -> np.ndarray:
        """The client column holding the size for each product ('' for none)."""
        p = self.dataset.products
        return np.array(
            [
                client_size_column(c, s) or ""
                for c, s in zip(p["category"], p["subcategory"], strict=True)
            ],
            dtype=object,
        )

    def _matrix(self, size: str) -> sp.csr_matrix:
        """Stores x products units of ``size`` (duplicates summed)."""
        if size not in self._by_size:
            r = self._rows[self._rows["size"] == size]
            m = sp.csr_matrix(
                (r["qty"].to_numpy(), (r["store"].to_numpy(), r["j"].to_numpy())),
                shape=(len(self.catalogue.store_ids), self.catalogue.n_products),
            )
            m.sum_duplicates()
            self._by_size[size] = m
        return self._by_size[size]

    @cached_property
    def _store_row(self) -> dict[str, int]:
        return {str(s): i for i, s in enumerate(self.catalogue.store_ids)}

    def quantity(self, size: str, store_ids: tuple[str, ...]) -> np.ndarray:
        """Units of ``size`` per product, summed over ``store_ids`` (unknown stores hold none)."""
        m = self._matrix(size)
        out = np.zeros(self.catalogue.n_products, dtype=np.int64)
        for store in set(store_ids):
            r = self._store_row.get(store)
            if r is not None:
                # a CSR row's column indices are unique: plain fancy addition is exact
                lo, hi = m.indptr[r], m.indptr[r + 1]
                out[m.indices[lo:hi]] += m.data[lo:hi]
        return out

    def availability(
        self, sizes: Mapping[str, str], store_id: str, idx: np.ndarray | None = None
    ) -> Availability:
        """Stock in the person's ``sizes`` at ``store_id`` and online (products ``idx``, or all).

        Parameters
        ----------
        sizes : mapping of client column to size
            From :func:`client_sizes`.
        store_id : str
            Where she shops ('' for none: nothing there).
        idx : ndarray of int, optional
            Product indices; default every product.
        """
        n = self.catalogue.n_products
        idx = np.arange(n) if idx is None else np.asarray(idx, dtype=np.int64)
        per_size = self.stocked_per_size[idx]
        size = np.full(idx.size, "", dtype=object)
        here = np.zeros(idx.size, dtype=np.int64)
        online = np.zeros(idx.size, dtype=np.int64)
        columns = self.size_column[idx]
        online_ids = self.catalogue.online_stores
        home = (store_id,) if store_id and store_id not in online_ids else ()
        for column, value in sizes.items():
            at = per_size & (columns == column)
            if not value or not at.any():
                continue
            size[at] = value
            here[at] = self.quantity(value, home)[idx[at]]
            online[at] = self.quantity(value, online_ids)[idx[at]]
        return Availability(per_size, size, here, online)

    def store_label(self, store_id: str) -> str:
        """How a line names a store: its city, else its name ('' for none or an online store)."""
        cat = self.catalogue
        if not store_id or store_id in cat.online_stores:
            return ""
        return cat.store_cities.get(store_id) or cat.store_names.get(store_id) or store_id

    def lines(self, sizes: Mapping[str, str], store_id: str, idx: np.ndarray) -> list[str]:
        """The availability line of each product in ``idx`` ('' for products not stocked per size)."""
        return self._texts(self.availability(sizes, store_id, idx), store_id)

    def _texts(self, a: Availability, store_id: str, idx: np.ndarray | None = None) -> list[str]:
        store = self.store_label(store_id)
        at = np.arange(a.size.size) if idx is None else idx
        return [
            availability_text(str(a.size[i]), int(a.here[i]), int(a.online[i]), store)
            if a.stocked_per_size[i]
            else ""
            for i in at
        ]

    def exclusion(
        self, sizes: Mapping[str, str], store_id: str, *, with_online: bool
    ) -> tuple[np.ndarray, Callable[[np.ndarray], list[str]]]:
        """Products out of stock in the person's size where she shops, and why (every product).

        Counted: her home store (plus online with ``with_online``; online alone
        when she has no physical home store). A size not on file excludes
        nothing.
        """
        n = self.catalogue.n_products
        sized = np.flatnonzero(self.stocked_per_size)
        mask = np.zeros(n, dtype=bool)
        if sized.size == 0 or not any(sizes.values()):
            return mask, lambda idx: self._texts(self.availability(sizes, store_id, idx), store_id)
        a = self.availability(sizes, store_id, sized)
        counted = a.here + (a.online if with_online or not self.store_label(store_id) else 0)
        mask[sized] = a.known & (counted <= 0)
        return mask, lambda idx: self._texts(
            self.availability(sizes, store_id, np.asarray(idx, dtype=np.int64)), store_id
        )


class FitReturns:
    """Returns for fit, per product and per client, built once per dataset (:meth:`of`).

    ``rate`` is a product's units returned for fit over its units bought,
    smoothed towards zero by ``smoothing`` units (a piece bought twice and
    returned once is not a 50% fit problem). The per-product units are the
    catalogue's (the house's sums when served without events); a client's fit
    returns come from their history (:meth:`Catalogue.history`, extra events
    included).
    """

    def __init__(self, dataset: Dataset, smoothing: float = 5.0) -> None:
        self.dataset = dataset
        self.smoothing = smoothing

    @classmethod
    def of(cls, dataset: Dataset) -> FitReturns:
        return dataset.derived(cls, lambda: cls(dataset))

    @property
    def returned(self) -> np.ndarray:
        """Units returned for fit per product."""
        return Catalogue.of(self.dataset).fit_returned_units

    @property
    def bought(self) -> np.ndarray:
        """Units bought per product."""
        return Catalogue.of(self.dataset).bought_units

    @cached_property
    def rate(self) -> np.ndarray:
        """Smoothed share of units returned for fit, per product."""
        return self.returned / (self.bought + self.smoothing)

    @cached_property
    def _labels(self) -> np.ndarray:
        return self.dataset.products["category"].astype(str).str.lower().to_numpy()

    def categories(self, history: ClientHistory) -> frozenset[str]:
        """Categories (lower-cased) in which the client returned a piece for fit."""
        return frozenset(self._labels[history.returned_for_fit()].tolist())

    def reasons(self, history: ClientHistory, idx: np.ndarray) -> list[list[str]]:
        """:data:`RARELY_RETURNED_FOR_FIT` for products ``idx`` of her fit-return categories
        bought often and rarely returned for fit (else no reason)."""
        cats = self.categories(history)
        idx = np.asarray(idx, dtype=np.int64)
        if not cats:
            return [[] for _ in idx]
        rarely = (
            np.isin(self._labels[idx], list(cats))
            & (self.bought[idx] >= RARELY_MIN_BOUGHT)
            & (self.rate[idx] < RARELY_BELOW)
        )
        return [[RARELY_RETURNED_FOR_FIT] if r else [] for r in rarely]

    def detail(self, idx: np.ndarray) -> list[str]:
        """Words for the fit-return penalty of products ``idx``."""
        return [
            f"often returned for fit ({int(self.returned[i])} of {int(self.bought[i])} bought); "
            "the client has returned pieces of this kind for fit"
            for i in np.asarray(idx, dtype=np.int64)
        ]
