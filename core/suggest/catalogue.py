"""The catalogue as the suggestion pipeline reads it: per-dataset arrays, built once.

:class:`Catalogue` holds what the rules, the re-ranking and the reasons read
about products (codes, prices, flags, text, colour families), stores (names,
climates, stock) and clients (purchases kept, what they volunteered). It is
built lazily, once per dataset, and kept with it (:meth:`Catalogue.of`, through
:meth:`core.data.dataset.Dataset.derived`). Every product array is indexed like
``dataset.product_ids``, every client array like ``dataset.client_ids``.

What a client bought, kept and *volunteered* (:data:`VOLUNTEERED_EVENTS`) is
computed by :func:`core.engine.purchases.client_matrices`, for every client
at once and for one client with a request's extra events. This module says
once which colours read as one family (:func:`color_family`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.data.dataset import Dataset
from core.data.ids import codes_in
from core.data.schema import CLIENTS, ONLINE_STORE_ID, PRODUCTS
from core.engine.diversity import style_tag_matrix
from core.engine.house import house_of
from core.engine.purchases import (
    ClientHistory,
    ClientMatrices,
    client_matrices,
    events_of,
)
from core.engine.recent import RecentPerFrame
from core.suggest.conditions import Condition, typed_values

_T = TypeVar("_T")


# Colours that read as one family in a look ("neutral tones").
COLOR_FAMILIES: dict[str, str] = {
    **{
        c: "neutral tones"
        for c in [
            "black",
            "white",
            "ivory",
            "cream",
            "ecru",
            "beige",
            "camel",
            "taupe",
            "grey",
            "gray",
            "navy",
            "charcoal",
            "stone",
            "sand",
            "tan",
            "nude",
            "off-white",
            "chocolate",
            "brown",
            "graphite",
            "cognac",
        ]
    },
    **{c: "metallics" for c in ("gold", "silver", "rose gold", "white gold", "platinum")},
    **{c: "greens" for c in ("green", "forest green", "sage", "olive", "emerald", "acid green")},
    **{c: "blues" for c in ("blue", "sky blue", "electric blue", "sapphire")},
    **{c: "reds" for c in ("red", "burgundy", "oxblood", "fuchsia", "rose")},
}

#: Product columns whose words :attr:`Catalogue.product_text` holds.
_TEXT_COLUMNS = (
    "category",
    "subcategory",
    "style_tags",
    "material",
    "color",
    "name",
    "description",
)


def color_family(color: str) -> str:
    """The colour family of ``color`` (e.g. ``"camel"`` -> ``"neutral tones"``), or the colour."""
    c = str(color).strip().lower()
    return COLOR_FAMILIES.get(c, c)


@dataclass(frozen=True, eq=False)
class Client:
    """One client as a request reads them, looked up once.

    Attributes
    ----------
    client_id : str
    index : int
        Position in ``dataset.client_ids``.
    row : Series
        The client's row of ``dataset.clients``.
    home_store : str
        Their home store id ('' when not recorded).
    history : ClientHistory
        What they bought, kept and volunteered (with the request's extra events).
    """

    client_id: str
    index: int
    row: pd.Series
    home_store: str
    history: ClientHistory


#: Clients whose history with extra events a :class:`Catalogue` keeps (see :meth:`Catalogue.history`).
RECENT_HISTORIES = 64


class Catalogue:
    """Per-dataset arrays the rules, re-ranking and reasons read.

    Get it with :meth:`of`, which builds it on first use and keeps it with the
    dataset; each array is computed on first use too.
    """

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self._memo: dict[Hashable, Any] = {}
        self._histories: RecentPerFrame[ClientHistory] = RecentPerFrame(RECENT_HISTORIES)

    @classmethod
    def of(cls, dataset: Dataset) -> Catalogue:
        """The catalogue of ``dataset`` (built on first use, then kept with it)."""
        return dataset.derived(cls, lambda: cls(dataset))

    def _cached(self, key: Hashable, build: Callable[[], _T]) -> _T:
        """A value keyed by its arguments (masks per category set, stock per store set, ...)."""
        if key not in self._memo:
            self._memo[key] = build()
        return self._memo[key]  # type: ignore[no-any-return]

    # ------------------------------------------------------------ products
    @property
    def n_products(self) -> int:
        return len(self.dataset.product_ids)

    @cached_property
    def product_ids(self) -> np.ndarray:
        return self.dataset.product_ids.external_ids

    @cached_property
    def product_position(self) -> dict[str, int]:
        """External product id -> index (a plain dict: fastest for a few lookups)."""
        return {str(p): i for i, p in enumerate(self.product_ids)}

    def _codes(self, column: str) -> tuple[np.ndarray, pd.Index]:
        s = self.dataset.products[column].astype(object).fillna("").astype(str).str.strip()
        codes, uniques = pd.factorize(s.str.lower())
        return codes.astype(np.int64), pd.Index(uniques)

    @cached_property
    def category_codes(self) -> tuple[np.ndarray, pd.Index]:
        """Lower-cased category codes and their labels."""
        return self._codes("category")

    @cached_property
    def designer_codes(self) -> tuple[np.ndarray, pd.Index]:
        return self._codes("designer")

    @cached_property
    def price(self) -> np.ndarray:
        return self.dataset.products["price"].to_numpy(dtype=np.float64)

    @cached_property
    def sensitive(self) -> np.ndarray:
        return self.dataset.products["sensitive"].to_numpy(dtype=bool)

    @cached_property
    def warmth(self) -> np.ndarray:
        return self.column("products", "warmth")

    @cached_property
    def category_labels(self) -> np.ndarray:
        """Categories as written in the catalogue."""
        return self.dataset.products["category"].astype(str).to_numpy(dtype=object)

    @cached_property
    def currency(self) -> np.ndarray:
        return self.dataset.products["currency"].astype(str).to_numpy(dtype=object)

    def warmth_mask(self, value: str) -> np.ndarray:
        """Products of warmth ``value``."""
        return self._cached(("warmth", value), lambda: self.warmth == value)

    @cached_property
    def names(self) -> np.ndarray:
        return self.dataset.products["name"].astype(str).to_numpy(dtype=object)

    @cached_property
    def launch_date(self) -> np.ndarray:
        return pd.to_datetime(self.dataset.products["launch_date"]).to_numpy("datetime64[ns]")

    @cached_property
    def color_families(self) -> np.ndarray:
        """Each product's colour family (:func:`color_family`)."""
        colors = self.column("products", "color")
        return np.array([color_family(c) for c in colors], dtype=object)

    @cached_property
    def style_tags(self) -> sp.csr_matrix:
        """Binary products x lower-cased style tags."""
        return style_tag_matrix(self.dataset.products["style_tags"])

    def column(self, table: str, column: str) -> np.ndarray:
        """A product (or client) column as lower-cased text, numbers or bools."""

        def build() -> np.ndarray:
            frame = self.dataset.products if table == "products" else self.dataset.clients
            spec = PRODUCTS if table == "products" else CLIENTS
            kind = spec.column(column).kind if column in spec.column_names else "str"
            kind = "float" if kind in ("int", "float") else kind
            return typed_values(frame[column].to_numpy(dtype=object), kind)

        return self._cached(("column", table, column), build)

    def category_mask(self, categories: Iterable[str]) -> np.ndarray:
        """Products whose category is one of ``categories`` (case-insensitive)."""
        wanted = tuple(sorted({str(c).strip().lower() for c in categories}))

        def build() -> np.ndarray:
            codes, labels = self.category_codes
            return np.isin(codes, np.flatnonzero(labels.isin(wanted)))

        return self._cached(("category", wanted), build)

    def condition_mask(self, cond: Condition) -> np.ndarray:
        """Products matching a product condition."""
        return self._cached(
            ("condition", cond.column, cond.op, cond.value),
            lambda: cond.mask(self.dataset.products[cond.column].to_numpy(dtype=object)),
        )

    @cached_property
    def product_text(self) -> pd.Series:
        """Lower-cased words of each product (category, tags, material, name, description)."""
        p = self.dataset.products
        parts = [p[c].astype(object).fillna("").astype(str) for c in _TEXT_COLUMNS]
        text = parts[0]
        for s in parts[1:]:
            text = text + " | " + s
        return text.str.lower()

    def keyword_mask(self, keywords: Iterable[str]) -> np.ndarray:
        """Products whose text holds any keyword as whole words."""
        words = tuple(sorted({str(k).strip().lower() for k in keywords if str(k).strip()}))

        def build() -> np.ndarray:
            if not words:
                return np.zeros(self.n_products, dtype=bool)
            pattern = r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + r")(?!\w)"
            return self.product_text.str.contains(pattern, regex=True).to_numpy(dtype=bool)

        return self._cached(("keywords", words), build)

    # -------------------------------------------------------------- stores
    @cached_property
    def store_ids(self) -> pd.Index:
        return pd.Index(self.dataset.stores["store_id"].astype(str))

    def _store_column(self, column: str) -> dict[str, str]:
        s = self.dataset.stores
        return dict(zip(s["store_id"].astype(str), s[column].astype(str), strict=True))

    @cached_property
    def store_names(self) -> dict[str, str]:
        return self._store_column("name")

    @cached_property
    def store_cities(self) -> dict[str, str]:
        return self._store_column("city")

    @cached_property
    def store_climates(self) -> dict[str, str]:
        return self._store_column("climate")

    @cached_property
    def online_stores(self) -> tuple[str, ...]:
        """The online store ids: ``ONLINE_STORE_ID`` and any store flagged ``online``."""
        s = self.dataset.stores
        ids = set(s.loc[s["online"].astype(bool), "store_id"].astype(str))
        if ONLINE_STORE_ID in set(self.store_ids):
            ids.add(ONLINE_STORE_ID)
        return tuple(sorted(ids))

    @cached_property
    def _stock(self) -> sp.csr_matrix:
        st = self.dataset.stock
        rows = codes_in(st["store_id"], self.store_ids)
        cols = self.dataset.product_ids.to_internal(st["product_id"].astype(str), strict=False)
        ok = (rows >= 0) & (cols >= 0)
        qty = st["quantity"].to_numpy(dtype=np.int64)[ok]
        return sp.csr_matrix(
            (qty, (rows[ok], cols[ok])), shape=(len(self.store_ids), self.n_products)
        )

    def quantity(self, store_ids: Iterable[str]) -> np.ndarray:
        """Units in stock per product, summed over ``store_ids`` (unknown stores hold none)."""
        ids = tuple(sorted({str(s) for s in store_ids}))

        def build() -> np.ndarray:
            rows = self.store_ids.get_indexer(pd.Index(list(ids)))
            rows = rows[rows >= 0]
            if rows.size == 0:
                return np.zeros(self.n_products, dtype=np.int64)
            return np.asarray(self._stock[rows].sum(axis=0)).ravel().astype(np.int64)

        return self._cached(("quantity", ids), build)

    @cached_property
    def quantity_anywhere(self) -> np.ndarray:
        return np.asarray(self._stock.sum(axis=0)).ravel().astype(np.int64)

    # ------------------------------------------------------------- clients
    def client_index(self, client_id: str) -> int:
        """Internal index of a known client (:class:`UnknownIdError` otherwise)."""
        return self.dataset.client_ids.to_internal_one(client_id)

    def client_row(self, client_id: str) -> pd.Series:
        return self.dataset.clients.iloc[self.client_index(client_id)]

    def client(self, client_id: str, extra_events: pd.DataFrame | None = None) -> Client:
        """The client's index, row and home store, looked up once (:class:`UnknownIdError`); ``extra_events`` count in their history."""
        index = self.client_index(client_id)
        row = self.dataset.clients.iloc[index]
        home = row.get("home_store_id")
        home_store = "" if home is None or pd.isna(home) else str(home)
        return Client(str(client_id), index, row, home_store, self.history(client_id, extra_events))

    @cached_property
    def _client_matrices(self) -> ClientMatrices:
        """Every client's purchases kept and what they volunteered (rows like ``client_ids``)."""
        ev = self.dataset.events
        rows = self.dataset.client_ids.to_internal(ev["client_id"].astype(str), strict=False)
        return client_matrices(ev, rows, len(self.dataset.client_ids), self.dataset.product_ids)

    @cached_property
    def _event_rows(self) -> dict[str, np.ndarray]:
        """Client id -> positions of their rows in ``dataset.events`` (built on first use)."""
        ev = self.dataset.events
        groups = ev.groupby(ev["client_id"].astype(str), sort=False).indices
        return {str(k): np.asarray(v, dtype=np.int64) for k, v in groups.items()}

    def history(self, client_id: str, extra_events: pd.DataFrame | None = None) -> ClientHistory:
        """What one client bought, kept and volunteered, with ``extra_events`` not yet in the data.

        Without extra events of this client it is their row of the catalogue's
        matrices; with some, the same arithmetic runs over their events in the
        dataset and the extra ones together (an unknown client has only the extra).
        The last :data:`RECENT_HISTORIES` of those are kept for the very frame
        object they came from (a served client's page reruns with the same
        frame; see ``core.app.serving``): a frame is read as a snapshot, so one
        changed in place must be passed as a new frame.
        """
        extra = events_of(extra_events, client_id)
        if extra is None:
            index = self.dataset.client_ids.to_internal([client_id], strict=False)[0]
            if index < 0:
                return ClientHistory.empty(self.n_products)
            return self._client_matrices.row(int(index))
        assert extra_events is not None
        key = str(client_id)
        found = self._histories.get(key, extra_events)
        if found is not None:
            return found
        ev = self.dataset.events
        own = ev.iloc[self._event_rows.get(key, np.empty(0, dtype=np.int64))]
        both = pd.concat([own, extra], ignore_index=True) if len(own) else extra
        rows = np.zeros(len(both), dtype=np.int64)
        history = client_matrices(both, rows, 1, self.dataset.product_ids).row(0)
        self._histories.put(key, extra_events, history)
        return history

    def bought(self, client_index: int, *, count_gifts: bool = True) -> np.ndarray:
        """Product indices the client bought and kept (gift purchases only if ``count_gifts``)."""
        return self._client_matrices.row(client_index).bought(count_gifts=count_gifts)

    @cached_property
    def own_purchase_matrix(self) -> sp.csc_matrix:
        """Binary clients x products matrix of kept, non-gift purchases (CSC)."""
        own = self._client_matrices.own
        b = sp.csr_matrix(
            ((own.data > 0).astype(np.float64), own.indices, own.indptr), shape=own.shape
        )
        b.eliminate_zeros()
        return b.tocsc()

    @property
    def volunteered(self) -> sp.csr_matrix:
        """Per client and product, the most deliberate thing the client did themselves.

        Codes: ``VOLUNTEERED_PURCHASE`` (bought for themselves and kept),
        ``VOLUNTEERED_TRY_ON`` (tried on in a store), ``VOLUNTEERED_WISHLIST``;
        absent otherwise. Browsing, zooms and email signals never count.
        """
        return self._client_matrices.volunteered

    @cached_property
    def purchase_counts(self) -> np.ndarray:
        """Units bought and kept per product, gifts included (popularity).

        A dataset served without events reads the house's sums (:mod:`core.engine.house`).
        """
        house = house_of(self.dataset)
        if house is not None:
            return np.asarray(house.kept_units, dtype=np.float64)
        return np.asarray(self._client_matrices.kept.sum(axis=0)).ravel().astype(np.float64)

    @cached_property
    def bought_units(self) -> np.ndarray:
        """Units bought per product, before returns, gifts included (house's sums when served)."""
        house = house_of(self.dataset)
        if house is not None:
            return np.asarray(house.bought_units, dtype=np.float64)
        return np.asarray(self._client_matrices.bought_units.sum(axis=0)).ravel().astype(np.float64)

    @cached_property
    def fit_returned_units(self) -> np.ndarray:
        """Units returned with the reason ``fit`` per product (house's sums when served)."""
        house = house_of(self.dataset)
        if house is not None:
            return np.asarray(house.fit_returned_units, dtype=np.float64)
        return np.asarray(self._client_matrices.fit_returned.sum(axis=0)).ravel().astype(np.float64)
