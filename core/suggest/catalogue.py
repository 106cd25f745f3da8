"""The catalogue as the suggestion pipeline reads it: per-dataset arrays, built once.

:class:`Catalogue` holds what the rules, the re-ranking and the reasons read
about products (codes, prices, flags, text, colour families), stores (names,
climates, stock) and clients (purchases kept, what they volunteered). It is
built lazily, once per dataset, and kept with it (:meth:`Catalogue.of`, through
:meth:`core.data.dataset.Dataset.derived`). Every product array is indexed like
``dataset.product_ids``, every client array like ``dataset.client_ids``.

This module also says once what a client *volunteered*
(:data:`VOLUNTEERED_EVENTS`) and which colours read as one family
(:func:`color_family`).
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
from core.data.schema import CLIENTS, ONLINE_STORE_ID, PRODUCTS
from core.engine.diversity import style_tag_matrix
from core.suggest.conditions import Condition, typed_values

_T = TypeVar("_T")

#: Events a client does themselves, as opposed to browsing and email signals
#: (view, zoom, email_open, email_click), which client-facing text never names.
#: Of these, wording names a purchase kept for themselves, a try-on in a store
#: and a wishlist; a return only cancels a purchase.
VOLUNTEERED_EVENTS: tuple[str, ...] = ("wishlist", "try_on", "purchase", "return")

# Codes of the volunteered-interaction matrix (higher = more deliberate).
VOLUNTEERED_WISHLIST, VOLUNTEERED_TRY_ON, VOLUNTEERED_PURCHASE = 1, 2, 3

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


class Catalogue:
    """Per-dataset arrays the rules, re-ranking and reasons read.

    Get it with :meth:`of`, which builds it on first use and keeps it with the
    dataset; each array is computed on first use too.
    """

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self._memo: dict[Hashable, Any] = {}

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
        rows = self.store_ids.get_indexer(pd.Index(st["store_id"].astype(str)))
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
        return client_matrices(ev, rows, len(self.dataset.client_ids), self.dataset)

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
        """
        extra = _events_of(extra_events, client_id)
        if extra is None:
            index = self.dataset.client_ids.to_internal([client_id], strict=False)[0]
            if index < 0:
                return ClientHistory.empty(self.n_products)
            return self._client_matrices.row(int(index))
        ev = self.dataset.events
        own = ev.iloc[self._event_rows.get(str(client_id), np.empty(0, dtype=np.int64))]
        both = pd.concat([own, extra], ignore_index=True) if len(own) else extra
        return client_matrices(both, np.zeros(len(both), dtype=np.int64), 1, self.dataset).row(0)

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
        """Units bought and kept per product, gifts included (popularity)."""
        return np.asarray(self._client_matrices.kept.sum(axis=0)).ravel().astype(np.float64)


@dataclass(frozen=True)
class ClientHistory:
    """One client's row of each :class:`ClientMatrices` matrix (1 x products, CSR)."""

    kept: sp.csr_matrix
    own: sp.csr_matrix
    last: sp.csr_matrix
    volunteered: sp.csr_matrix

    @classmethod
    def empty(cls, n_products: int) -> ClientHistory:
        """A client with no purchase and nothing volunteered."""
        zero = sp.csr_matrix((1, n_products), dtype=np.int64)
        return cls(zero, zero, zero, zero.astype(np.int8))

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
    time (ns) and the volunteered code (:data:`VOLUNTEERED_PURCHASE` ...), all CSR."""

    kept: sp.csr_matrix
    own: sp.csr_matrix
    last: sp.csr_matrix
    volunteered: sp.csr_matrix

    def row(self, index: int) -> ClientHistory:
        """One client's history."""
        return ClientHistory(
            self.kept[index], self.own[index], self.last[index], self.volunteered[index]
        )


def _events_of(events: pd.DataFrame | None, client_id: str) -> pd.DataFrame | None:
    """The rows of ``events`` for ``client_id``, or ``None`` when there are none."""
    if events is None or len(events) == 0 or not {"client_id", "product_id"} <= set(events):
        return None
    mine = events[events["client_id"].astype(str) == str(client_id)]
    return mine if len(mine) else None


def _column(ev: pd.DataFrame, name: str, default: object) -> pd.Series:
    """A column of an events frame, ``default`` where it is missing or empty."""
    if name not in ev.columns:
        return pd.Series(default, index=ev.index)
    col = ev[name]
    return col.astype(object).where(col.notna(), default) if col.isna().any() else col


def client_matrices(
    events: pd.DataFrame, rows: np.ndarray, n_rows: int, dataset: Dataset
) -> ClientMatrices:
    """Purchases kept and what was volunteered per row and product of ``dataset``, from events.

    ``rows`` gives each event's row (negative: left out). Returns net of
    returns, never below zero; gifts are bought for someone else, so they are
    not "kept for themselves" and never volunteered. Missing optional columns
    read as one unit, not a gift, no channel, no time.
    """
    n = len(dataset.product_ids)
    shape = (n_rows, n)
    et = events["event_type"].astype(str).to_numpy()
    is_p, is_r = et == "purchase", et == "return"
    p = dataset.product_ids.to_internal(events["product_id"].astype(str), strict=False)
    ok = (np.asarray(rows) >= 0) & (p >= 0)
    q = _column(events, "quantity", 1).to_numpy(dtype=np.int64)
    gift = _column(events, "is_gift", False).to_numpy(dtype=bool)
    ts = pd.to_datetime(_column(events, "timestamp", pd.NaT)).to_numpy("datetime64[ns]")
    frame = pd.DataFrame(
        {
            "c": rows,
            "p": p,
            "buy": np.where(is_p, q, 0),
            "ret": np.where(is_r, q, 0),
            "gift": np.where(is_p & gift, q, 0),
            "ts": np.where(is_p, ts.astype(np.int64), np.iinfo(np.int64).min),
        }
    )[ok & (is_p | is_r)]
    g = frame.groupby(["c", "p"], sort=True).agg(
        buy=("buy", "sum"), ret=("ret", "sum"), gift=("gift", "sum"), ts=("ts", "max")
    )
    r, c = g.index.get_level_values(0).to_numpy(), g.index.get_level_values(1).to_numpy()
    net = (g["buy"] - g["ret"]).clip(lower=0).to_numpy(dtype=np.int64)
    own = np.minimum(net, (g["buy"] - g["gift"]).to_numpy(dtype=np.int64)).clip(0)
    keep = net > 0

    def mk(vals: np.ndarray) -> sp.csr_matrix:
        return sp.csr_matrix((vals[keep], (r[keep], c[keep])), shape=shape, dtype=np.int64)

    kept, own_m, last = mk(net), mk(own), mk(g["ts"].to_numpy(dtype=np.int64))
    channel = _column(events, "channel", "").astype(str).to_numpy()
    tried = (et == "try_on") & (channel == "store")
    code = np.where(tried, VOLUNTEERED_TRY_ON, VOLUNTEERED_WISHLIST).astype(np.int64)
    sel = ok & (tried | (et == "wishlist"))
    # Several events per cell: keep the most deliberate (max code), not their sum.
    best = (
        pd.DataFrame({"c": rows[sel], "p": p[sel], "k": code[sel]}).groupby(["c", "p"])["k"].max()
    )
    done = sp.csr_matrix(
        (
            best.to_numpy(dtype=np.int64),
            (best.index.get_level_values(0), best.index.get_level_values(1)),
        ),
        shape=shape,
    )
    bought = sp.csr_matrix(
        ((own_m.data > 0).astype(np.int64) * VOLUNTEERED_PURCHASE, own_m.indices, own_m.indptr),
        shape=shape,
    )
    volunteered = done.maximum(bought).tocsr()
    volunteered.eliminate_zeros()
    return ClientMatrices(kept, own_m, last, volunteered.astype(np.int8))
