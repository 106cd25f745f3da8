"""The data contract: every table, its columns, types, keys and enumerations.

This module is the one place where table and column names are declared.
Validation itself is done by pandera; this module only declares.

List-valued columns (``style_tags``, client preferences, ``do_not_suggest``)
are stored as ``|``-separated text, which reads and writes the same in CSV
and Parquet; :func:`split_list` turns them into Python lists.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal, TypeAlias, TypedDict, Unpack

import pandas as pd

Kind = Literal["str", "int", "float", "bool", "datetime", "list"]

EVENT_TYPES: tuple[str, ...] = (
    "view",
    "zoom",
    "wishlist",
    "email_open",
    "email_click",
    "try_on",
    "purchase",
    "return",
)
CHANNELS: tuple[str, ...] = ("store", "online", "email", "app", "phone")
CLIMATES: tuple[str, ...] = ("warm", "temperate", "cold")
ROLES: tuple[str, ...] = ("associate", "stylist", "manager", "admin")
TIERS: tuple[str, ...] = ("prospect", "client", "loyal", "vic")
WARMTH: tuple[str, ...] = ("", "light", "medium", "heavy")
#: Why a piece came back ('' on every other event, and on returns without one).
RETURN_REASONS: tuple[str, ...] = ("", "fit", "quality", "changed mind", "damaged", "other")
LIST_SEPARATOR = "|"
ONLINE_STORE_ID = "online"


#: What an optional column holds when absent (``None``: missing).
CellDefault: TypeAlias = str | float | bool | None


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a table.

    ``required`` columns must be present in a file; optional ones are added
    with ``default`` when absent.
    """

    name: str
    kind: Kind
    required: bool = True
    nullable: bool = False
    unique: bool = False
    enum: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None
    default: CellDefault = None
    description: str = ""


class _Facets(TypedDict, total=False):
    """The :class:`ColumnSpec` fields the table declarations below set by keyword."""

    nullable: bool
    unique: bool
    enum: tuple[str, ...] | None
    min: float | None
    max: float | None
    description: str


@dataclass(frozen=True)
class ForeignKey:
    column: str
    table: str
    table_column: str


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...] = ()
    min_rows: int = 1
    description: str = ""

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> ColumnSpec:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _c(name: str, kind: Kind, **kw: Unpack[_Facets]) -> ColumnSpec:
    return ColumnSpec(name, kind, **kw)


def _opt(name: str, kind: Kind, default: CellDefault, **kw: Unpack[_Facets]) -> ColumnSpec:
    return ColumnSpec(name, kind, required=False, default=default, **kw)


# Price and quantity ceilings catch unit mistakes (cents for euros) and overflow.
MAX_PRICE = 1e9
MAX_QUANTITY = 1e7

PRODUCTS = TableSpec(
    "products",
    (
        _c("product_id", "str", unique=True),
        _c("name", "str"),
        _c("category", "str"),
        _c("price", "float", min=0, max=MAX_PRICE),
        _opt("designer", "str", ""),
        _opt("subcategory", "str", ""),
        _opt("material", "str", ""),
        _opt("color", "str", ""),
        _opt("currency", "str", "EUR"),
        _opt("collection", "str", "", description="season code, e.g. FW26"),
        _opt("launch_date", "datetime", None, nullable=True),
        _opt("style_tags", "list", ""),
        _opt("description", "str", ""),
        _opt("sustainable", "bool", False),
        _opt("limited_edition", "bool", False),
        _opt("sensitive", "bool", False, description="never volunteered in a share"),
        _opt("markdown", "bool", False, description="sold at a reduced price"),
        _opt("warmth", "str", "", enum=WARMTH, description="light/medium/heavy"),
        _opt("sizes", "list", "", description="the size run, e.g. 36|38|40|42 (none: unsized)"),
    ),
    key=("product_id",),
)

STORES = TableSpec(
    "stores",
    (
        _c("store_id", "str", unique=True),
        _c("name", "str"),
        _c("city", "str"),
        _c("country", "str"),
        _c("climate", "str", enum=CLIMATES),
        _opt("online", "bool", False),
    ),
    key=("store_id",),
)

STOCK = TableSpec(
    "stock",
    (
        _c("product_id", "str"),
        _c("store_id", "str"),
        _c("quantity", "int", min=0, max=MAX_QUANTITY),
        _opt("size", "str", "", description="the size these units are in ('': the whole product)"),
    ),
    # Without a size column every row is a whole product: the key is then
    # (product_id, store_id), as an absent optional key column tells no rows apart.
    key=("product_id", "store_id", "size"),
    foreign_keys=(
        ForeignKey("product_id", "products", "product_id"),
        ForeignKey("store_id", "stores", "store_id"),
    ),
    min_rows=0,
)

ASSOCIATES = TableSpec(
    "associates",
    (
        _c("user_id", "str", unique=True),
        _c("name", "str"),
        _c("role", "str", enum=ROLES),
        _opt("store_id", "str", None, nullable=True),
        _opt("email", "str", ""),
    ),
    key=("user_id",),
    foreign_keys=(ForeignKey("store_id", "stores", "store_id"),),
    min_rows=0,
)

CLIENTS = TableSpec(
    "clients",
    (
        _c("client_id", "str", unique=True),
        _c("first_name", "str"),
        _c("last_name", "str"),
        _c("home_store_id", "str"),
        _c("tier", "str", enum=TIERS),
        _c("consent_personalization", "bool"),
        _c("consent_contact", "bool"),
        _opt("email", "str", ""),
        _opt("phone", "str", ""),
        _opt("assigned_associate_id", "str", None, nullable=True),
        _opt("pref_designers", "list", ""),
        _opt("pref_categories", "list", ""),
        _opt("pref_colors", "list", ""),
        _opt("pref_materials", "list", ""),
        _opt("price_min", "float", None, nullable=True, min=0, max=MAX_PRICE),
        _opt("price_max", "float", None, nullable=True, min=0, max=MAX_PRICE),
        _opt("size_rtw", "str", ""),
        _opt("size_shoes", "str", ""),
        _opt("size_ring", "str", ""),
        _opt("birthday", "datetime", None, nullable=True),
        _opt("anniversary", "datetime", None, nullable=True),
        _opt("do_not_suggest", "list", "", description="product ids never to suggest"),
        _opt("sustainable_only", "bool", False),
        _opt("last_contacted_at", "datetime", None, nullable=True),
        _opt("created_at", "datetime", None, nullable=True),
    ),
    key=("client_id",),
    foreign_keys=(
        ForeignKey("home_store_id", "stores", "store_id"),
        ForeignKey("assigned_associate_id", "associates", "user_id"),
    ),
)

EVENTS = TableSpec(
    "events",
    (
        _c("client_id", "str"),
        _c("product_id", "str"),
        _c("event_type", "str", enum=EVENT_TYPES),
        _c("timestamp", "datetime"),
        _opt("channel", "str", "online", enum=CHANNELS),
        _opt("store_id", "str", None, nullable=True),
        _opt("quantity", "int", 1, min=0, max=MAX_QUANTITY),
        _opt("value", "float", 0.0, min=0, max=MAX_PRICE * MAX_QUANTITY),
        _opt("is_gift", "bool", False),
        _opt(
            "reason",
            "str",
            "",
            enum=RETURN_REASONS,
            description="why a return came back (fit, quality, ...); returns only",
        ),
    ),
    key=(),
    foreign_keys=(
        ForeignKey("client_id", "clients", "client_id"),
        ForeignKey("product_id", "products", "product_id"),
        ForeignKey("store_id", "stores", "store_id"),
    ),
)

# Order matters: a table's foreign keys point only at tables before it.
TABLES: dict[str, TableSpec] = {
    t.name: t for t in (PRODUCTS, STORES, STOCK, ASSOCIATES, CLIENTS, EVENTS)
}
TABLE_ORDER: tuple[str, ...] = tuple(TABLES)


def split_list(value: object) -> list[str]:
    """Split one ``|``-separated cell into a list of stripped, non-empty items."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    return [v.strip() for v in str(value).split(LIST_SEPARATOR) if v.strip()]


def join_list(values: Iterable[str]) -> str:
    """Inverse of :func:`split_list`."""
    return LIST_SEPARATOR.join(str(v) for v in values)


@dataclass(frozen=True)
class Columns:
    """Names of columns in the DataFrames that public functions return.

    Product data keeps the catalogue's column names; the rest are named here
    once, for the engine's rankings, the suggestion pipeline's lists, the
    curated lists and the shares the pages show.
    """

    client_id: str = "client_id"
    product_id: str = "product_id"
    score: str = "score"
    rank: str = "rank"
    cf_score: str = "cf_score"
    content_score: str = "content_score"
    prior_score: str = "prior_score"
    reason: str = "reason"
    # product data as the pages show it
    name: str = "name"
    designer: str = "designer"
    category: str = "category"
    subcategory: str = "subcategory"
    color: str = "color"
    material: str = "material"
    price: str = "price"
    currency: str = "currency"
    sensitive: str = "sensitive"
    launch_date: str = "launch_date"
    stock_here: str = "stock_here"
    stock_online: str = "stock_online"
    size_stock: str = "size_stock"
    # suggestions and curated lists
    final_score: str = "final_score"
    reasons: str = "reasons"
    client_reason: str = "client_reason"
    client_reasons: str = "client_reasons"
    source: str = "source"
    pinned: str = "pinned"
    position: str = "position"
    note: str = "note"
    # shares
    share_id: str = "share_id"
    shared_at: str = "shared_at"
    author_id: str = "author_id"
    channel: str = "channel"
    extra: dict[str, str] = field(default_factory=dict)


COLS = Columns()
