"""House rules: hard exclusions and soft penalties, each explaining itself.

A :class:`RuleSet` is read from a TOML policy file (the shipped one is
``core/suggest/default_rules.toml``, loaded by :meth:`RuleSet.default`) and applied
to one client at a time::

    rules = RuleSet.default()
    result = rules.apply(dataset, "C000123", removed_products=["P0042"])
    result.allowed        # bool, one per product (dataset.product_ids order)
    result.penalty        # float >= 0, one per product
    result.exclusions     # DataFrame[product_id, rule, detail]
    result.why_not("P0042")

Hard exclusions (a product failing any of them is never suggested):

``already_bought``
    Bought by the client and not (fully) returned, unless its category is in
    ``repeatable_categories``.
``out_of_stock``
    Zero units in the client's home store and online (``stores =
    "home_and_online"``), or in every store (``stores = "any"``).
``sensitive``
    Flagged ``sensitive`` in the catalogue.
``brand_alignment``
    Declarative conditions: when the client matches ``when_client``, products
    matching ``exclude_product`` are excluded. A condition is ``column
    operator literal`` with ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``,
    ``in`` or ``not in`` (a list literal ``[a, b]``); it is parsed, never
    evaluated as code. Text compares case-insensitively.
``do_not_suggest``
    The client's own do-not-suggest list.
``removed_by_associate``
    Products and categories an associate removed for this client (the caller
    passes them from the database).
``no_consent``
    Excludes nothing: without ``consent_personalization`` the result is marked
    not personalised (:attr:`RuleResult.personalized`), the rules that read
    the client's behaviour (``already_bought``, the price band inferred from
    purchases) are skipped, and the pipeline shows generic suggestions.

Rules marked ``overridable`` let through the products the caller explicitly
allows (an associate adding or pinning a product by hand); ``do_not_suggest``
and brand alignment (unless configured) are never overridden.

Soft penalties (each recorded in :attr:`RuleResult.penalties`) are additive
on the pipeline's relevance scale: :mod:`core.suggest.pipeline` min-max scales a
client's candidate scores to [0, 1] and subtracts ``penalty`` (and adds
context boosts). So a penalty of 0.3 costs three tenths of the distance
between the best and the weakest candidate; penalties of several rules add.

``price_band``
    A price ``r`` times beyond the edge of the client's band (declared
    ``price_min``/``price_max``, else ``[cheapest, dearest]`` of their own
    purchases) costs ``weight * clip(log(r / (1 + tolerance)) / log(full_at),
    0, 1)``, with separate weights above and below the band.
``climate``
    ``weight`` for a heavy piece when the home store's climate is warm, or a
    light one when it is cold.
``recently_shown``
    ``weight`` for products the caller says were shown to the client recently.

Everything per product is vectorised; what depends only on the dataset
(stock per store, purchases per client, category codes, ...) is computed once
per dataset in a :class:`RuleContext`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.config_files import read_toml
from core.data.dataset import Dataset
from core.data.ids import IdMap
from core.data.schema import CLIENTS, ONLINE_STORE_ID, PRODUCTS, TableSpec, split_list
from core.exceptions import ConfigError

DEFAULT_RULES_PATH = Path(__file__).with_name("default_rules.toml")

#: Hard exclusion rules, in the order they are checked and reported.
RULE_NAMES: tuple[str, ...] = (
    "no_consent",
    "do_not_suggest",
    "removed_by_associate",
    "sensitive",
    "brand_alignment",
    "already_bought",
    "out_of_stock",
)
#: Soft penalties, in the order they are reported.
PENALTY_NAMES: tuple[str, ...] = ("price_band", "climate", "recently_shown")

# Codes of the volunteered-interaction matrix (higher = more deliberate).
VOLUNTEERED_WISHLIST, VOLUNTEERED_TRY_ON, VOLUNTEERED_PURCHASE = 1, 2, 3
VOLUNTEERED_EVENT = {
    VOLUNTEERED_WISHLIST: "wishlist",
    VOLUNTEERED_TRY_ON: "try_on",
    VOLUNTEERED_PURCHASE: "purchase",
}

Fraction = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]


# =============================================================== conditions
_COND = re.compile(
    r"^\s*(?P<col>[A-Za-z_][A-Za-z0-9_]*)\s*"
    r"(?:(?P<op>==|!=|<=|>=|<|>)|\s(?P<wop>not\s+in|in)\s)\s*(?P<rest>.*?)\s*$",
    re.DOTALL,
)
_ITEM = re.compile(r"""\s*(?:"([^"]*)"|'([^']*)'|([^,"'\[\]()]+?))\s*(?:,|$)""")
_CONDITION_KINDS = ("str", "bool", "int", "float")


@dataclass(frozen=True)
class Condition:
    """One parsed condition ``column operator literal`` over a table's column.

    Build one with :meth:`parse`; it is never evaluated as code.

    Attributes
    ----------
    table : {"clients", "products"}
    column : str
    op : {"==", "!=", "<", "<=", ">", ">=", "in", "not in"}
    value : bool, float, str or tuple
        The literal, typed after the column (text lower-cased).
    text : str
        The condition as written.
    """

    table: str
    column: str
    op: str
    value: Any
    text: str

    @classmethod
    def parse(cls, text: str, table: TableSpec) -> Condition:
        """Parse ``text`` against ``table``'s columns.

        Raises
        ------
        ValueError
            For bad syntax, an unknown or list-valued column, an ordering
            operator on a non-numeric column, or a literal of the wrong type.
        """
        m = _COND.match(text)
        if m is None:
            raise ValueError(
                f"cannot read condition {text!r}; write `column operator value`, e.g. "
                "`tier == vic` or `category in [bags, shoes]`"
            )
        column = m["col"]
        op = " ".join((m["op"] or m["wop"]).split())
        if column not in table.column_names:
            known = ", ".join(c.name for c in table.columns if c.kind in _CONDITION_KINDS)
            raise ValueError(f"unknown {table.name} column {column!r} (known: {known})")
        kind = table.column(column).kind
        if kind not in _CONDITION_KINDS:
            raise ValueError(
                f"{table.name} column {column!r} holds {kind} values; conditions take "
                "text, true/false or number columns"
            )
        rest = m["rest"]
        if op in ("<", "<=", ">", ">=") and kind not in ("int", "float"):
            raise ValueError(f"{op} needs a number column; {column!r} is {kind}")
        if op in ("in", "not in"):
            if (rest[:1], rest[-1:]) not in (("[", "]"), ("(", ")")):
                raise ValueError(f"`{op}` takes a list like [a, b]; got {rest!r}")
            inner = rest[1:-1].strip()
            raw = [] if not inner else _split_items(inner, text)
            value: Any = tuple(_literal(r, q, kind, column) for r, q in raw)
        else:
            if not rest:
                raise ValueError(f"condition {text!r} has no value after {op}")
            quoted = rest[:1] in "\"'" and rest[-1:] == rest[:1] and len(rest) >= 2
            value = _literal(rest[1:-1] if quoted else rest, quoted, kind, column)
        return cls(table.name, column, op, value, text.strip())

    def holds(self, value: Any) -> bool:
        """Whether the condition holds for one value (e.g. a client's)."""
        kind = self.value_kind
        missing = value is None or (isinstance(value, float) and np.isnan(value))
        if kind == "bool":
            v: Any = False if missing else bool(value)
        elif kind == "float":
            try:
                v = np.nan if missing else float(value)
            except (TypeError, ValueError):
                v = np.nan
        else:
            v = "" if missing else str(value).lower()
        op, lit = self.op, self.value
        if op == "in":
            return v in lit
        if op == "not in":
            return v not in lit
        return bool(
            {
                "==": lambda: v == lit,
                "!=": lambda: v != lit,
                "<": lambda: v < lit,
                "<=": lambda: v <= lit,
                ">": lambda: v > lit,
                ">=": lambda: v >= lit,
            }[op]()
        )

    def mask(self, values: np.ndarray) -> np.ndarray:
        """Vectorised test over an array of column values; missing values fail ``==``/``in``."""
        vals = _typed(values, self.value_kind)
        op, lit = self.op, self.value
        if op == "in":
            return (
                np.isin(vals, np.array(lit, dtype=vals.dtype)) if lit else np.zeros(len(vals), bool)
            )
        if op == "not in":
            return (
                ~np.isin(vals, np.array(lit, dtype=vals.dtype)) if lit else np.ones(len(vals), bool)
            )
        with np.errstate(invalid="ignore"):
            if op == "==":
                return np.asarray(vals == lit, dtype=bool)
            if op == "!=":
                return np.asarray(vals != lit, dtype=bool)
            if op == "<":
                return np.asarray(vals < lit, dtype=bool)
            if op == "<=":
                return np.asarray(vals <= lit, dtype=bool)
            if op == ">":
                return np.asarray(vals > lit, dtype=bool)
            return np.asarray(vals >= lit, dtype=bool)

    @property
    def value_kind(self) -> str:
        spec = CLIENTS if self.table == "clients" else PRODUCTS
        kind = spec.column(self.column).kind
        return "float" if kind in ("int", "float") else kind


def _split_items(inner: str, text: str) -> list[tuple[str, bool]]:
    items: list[tuple[str, bool]] = []
    pos = 0
    while pos < len(inner):
        m = _ITEM.match(inner, pos)
        if m is None or m.end() == pos:
            raise ValueError(f"cannot read the list in condition {text!r}")
        if m[1] is not None or m[2] is not None:
            items.append((m[1] if m[1] is not None else m[2], True))
        else:
            items.append((m[3], False))
        pos = m.end()
    return items


def _literal(raw: str, quoted: bool, kind: str, column: str) -> Any:
    if kind == "bool":
        low = raw.strip().lower()
        if quoted or low not in ("true", "false"):
            raise ValueError(f"{column!r} is true/false; got {raw!r}")
        return low == "true"
    if kind in ("int", "float"):
        try:
            if quoted:
                raise ValueError
            return float(raw)
        except ValueError:
            raise ValueError(f"{column!r} is a number; got {raw!r}") from None
    return raw.strip().lower() if not quoted else raw.lower()


def _typed(values: np.ndarray, kind: str) -> np.ndarray:
    if kind == "bool":
        out = np.zeros(len(values), dtype=bool)
        for i, v in enumerate(values):
            out[i] = (
                bool(v) if v is not None and not (isinstance(v, float) and np.isnan(v)) else False
            )
        return out
    if kind == "float":
        return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(float)
    s = pd.Series(values, dtype=object)
    return s.where(s.notna(), "").astype(str).str.lower().to_numpy(dtype=object)


# ============================================================ configuration
class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class AlreadyBoughtRule(_Model):
    """Exclude what the client bought and kept."""

    enabled: bool = True
    repeatable_categories: list[str] = Field(default_factory=lambda: ["fragrance"])
    count_gifts: bool = True
    overridable: bool = True


class OutOfStockRule(_Model):
    """Exclude what is out of stock where the client shops."""

    enabled: bool = True
    stores: Literal["home_and_online", "any"] = "home_and_online"
    overridable: bool = True


class SensitiveRule(_Model):
    """Exclude products flagged sensitive."""

    enabled: bool = True
    overridable: bool = True


class DoNotSuggestRule(_Model):
    """Exclude the client's do-not-suggest list (never overridden)."""

    enabled: bool = True


class RemovedByAssociateRule(_Model):
    """Exclude products and categories an associate removed for the client."""

    enabled: bool = True
    overridable: bool = True


class NoConsentRule(_Model):
    """Personalise only with consent_personalization."""

    enabled: bool = True


class BrandAlignmentRule(_Model):
    """When the client matches ``when_client``, exclude products matching ``exclude_product``."""

    name: str = Field(min_length=1)
    when_client: list[str] = Field(default_factory=list)
    exclude_product: list[str] = Field(min_length=1)
    detail: str = ""
    enabled: bool = True
    overridable: bool = False

    _as_list = field_validator("when_client", "exclude_product", mode="before")(_as_list)

    @field_validator("when_client")
    @classmethod
    def _check_client(cls, v: list[str]) -> list[str]:
        for text in v:
            if text.strip():
                Condition.parse(text, CLIENTS)
        return v

    @field_validator("exclude_product")
    @classmethod
    def _check_product(cls, v: list[str]) -> list[str]:
        for text in v:
            Condition.parse(text, PRODUCTS)
        return v

    def client_conditions(self) -> list[Condition]:
        return [Condition.parse(t, CLIENTS) for t in self.when_client if t.strip()]

    def product_conditions(self) -> list[Condition]:
        return [Condition.parse(t, PRODUCTS) for t in self.exclude_product]


class Rules(_Model):
    """The hard exclusions."""

    already_bought: AlreadyBoughtRule = AlreadyBoughtRule()
    out_of_stock: OutOfStockRule = OutOfStockRule()
    sensitive: SensitiveRule = SensitiveRule()
    do_not_suggest: DoNotSuggestRule = DoNotSuggestRule()
    removed_by_associate: RemovedByAssociateRule = RemovedByAssociateRule()
    no_consent: NoConsentRule = NoConsentRule()
    brand_alignment: list[BrandAlignmentRule] = Field(default_factory=list)

    @field_validator("brand_alignment")
    @classmethod
    def _unique_names(cls, rules: list[BrandAlignmentRule]) -> list[BrandAlignmentRule]:
        names = [r.name for r in rules]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"rule names must be unique; repeated: {', '.join(dup)}")
        return rules


class PriceBandPenalty(_Model):
    """Penalty for prices far outside the client's band."""

    enabled: bool = True
    weight_above: Fraction = 0.3
    weight_below: Fraction = 0.15
    tolerance: Annotated[float, Field(ge=0.0, le=10.0)] = 0.25
    full_at: Annotated[float, Field(gt=1.0, le=100.0)] = 2.0
    infer_from_purchases: bool = True
    min_purchases: Annotated[int, Field(ge=1, le=1000)] = 2


class ClimatePenalty(_Model):
    """Penalty for heavy pieces in warm climates and light ones in cold climates."""

    enabled: bool = True
    weight: Fraction = 0.15


class RecentlyShownPenalty(_Model):
    """Penalty for products shown to the client recently."""

    enabled: bool = True
    weight: Fraction = 0.2


class Penalties(_Model):
    """The soft penalties."""

    price_band: PriceBandPenalty = PriceBandPenalty()
    climate: ClimatePenalty = ClimatePenalty()
    recently_shown: RecentlyShownPenalty = RecentlyShownPenalty()


class OccasionSpec(_Model):
    """Products matching any keyword get ``boost`` for this occasion."""

    label: str = Field(min_length=1)
    keywords: list[str] = Field(min_length=1)
    boost: Fraction = 0.15


class SeasonSpec(_Model):
    """Boosts for the chosen (or current and next) collection and for warmth."""

    collection_boost: Fraction = 0.1
    next_collection_boost: Fraction = 0.05
    warmth_boost: Fraction = 0.05


class DatesSpec(_Model):
    """Lift giftable products before a client's birthday or anniversary."""

    within_days: Annotated[int, Field(ge=0, le=366)] = 30
    boost: Fraction = 0.15
    categories: list[str] = Field(default_factory=lambda: ["jewellery", "watches", "fragrance"])
    keywords: list[str] = Field(default_factory=lambda: ["gift", "giftable"])


def _default_occasions() -> dict[str, OccasionSpec]:
    return {
        "evening": OccasionSpec(label="For the evening", keywords=["evening", "cocktail"]),
        "work": OccasionSpec(label="For work", keywords=["work", "tailored"]),
        "wedding": OccasionSpec(label="For a wedding", keywords=["wedding", "ceremony"]),
        "travel": OccasionSpec(label="For travel", keywords=["travel", "weekender"]),
        "gift": OccasionSpec(label="A lovely gift", keywords=["gift", "giftable"]),
    }


class ContextConfig(_Model):
    """Context boosts used by :func:`core.suggest.rerank.context_boosts`."""

    occasions: dict[str, OccasionSpec] = Field(default_factory=_default_occasions)
    season: SeasonSpec = SeasonSpec()
    dates: DatesSpec = DatesSpec()


class RuleConfig(_Model):
    """A whole policy file: ``[rules]``, ``[penalties]`` and ``[context]``."""

    rules: Rules = Rules()
    penalties: Penalties = Penalties()
    context: ContextConfig = ContextConfig()


def _model_at(loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The pydantic model that holds the last key of ``loc`` (for error messages)."""
    model: type[BaseModel] = RuleConfig
    skip_key = False
    for part in loc:
        if isinstance(part, int):
            continue
        if skip_key:
            skip_key = False
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        ann = field.annotation
        origin = get_origin(ann)
        if origin is dict:
            skip_key = True
        if origin in (list, tuple, dict):
            ann = get_args(ann)[-1]
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            model = ann
        else:
            return model
    return model


def _key(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _config_error(err: ValidationError, source: str) -> ConfigError:
    lines = []
    for e in err.errors():
        loc = [p for p in e["loc"] if p != "[key]"]
        key = _key(loc)
        if e["type"] == "extra_forbidden":
            parent = _model_at(loc[:-1]) if loc else None
            known = ", ".join(parent.model_fields) if parent else ""
            lines.append(f"{key}: unknown key" + (f" (known: {known})" if known else ""))
            continue
        msg = str(e["msg"]).removeprefix("Value error, ")
        got = e.get("input")
        shown = "" if isinstance(got, dict | list) or got is None else f" (got {got!r})"
        lines.append(f"{key or '(top level)'}: {msg}{shown}")
    return ConfigError(f"invalid rules in {source}: " + "; ".join(lines))


# ================================================================= context
class RuleContext:
    """Per-dataset arrays the rules (and re-ranking, explanations) read.

    Built lazily, once per dataset: get it with :meth:`of`, which keeps it in
    the dataset's cache. Every array is indexed like ``dataset.product_ids``
    (products) or ``dataset.client_ids`` (clients).
    """

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self._masks: dict[Any, np.ndarray] = {}

    @classmethod
    def of(cls, dataset: Dataset) -> RuleContext:
        """The context of ``dataset`` (built on first use, then cached with it)."""
        return dataset.derived(cls, lambda: cls(dataset))

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
        """Products of warmth ``value`` (cached)."""
        key = ("warmth", value)
        if key not in self._masks:
            self._masks[key] = self.warmth == value
        return self._masks[key]

    @cached_property
    def names(self) -> np.ndarray:
        return self.dataset.products["name"].astype(str).to_numpy(dtype=object)

    @cached_property
    def launch_date(self) -> np.ndarray:
        return pd.to_datetime(self.dataset.products["launch_date"]).to_numpy("datetime64[ns]")

    def column(self, table: str, column: str) -> np.ndarray:
        """A product column as lower-cased text, numbers or bools (cached)."""
        key = ("column", table, column)
        if key not in self._masks:
            frame = self.dataset.products if table == "products" else self.dataset.clients
            spec = PRODUCTS if table == "products" else CLIENTS
            kind = spec.column(column).kind if column in spec.column_names else "str"
            kind = "float" if kind in ("int", "float") else kind
            self._masks[key] = _typed(frame[column].to_numpy(dtype=object), kind)
        return self._masks[key]

    def category_mask(self, categories: Iterable[str]) -> np.ndarray:
        """Products whose category is one of ``categories`` (case-insensitive)."""
        wanted = tuple(sorted({str(c).strip().lower() for c in categories}))
        key = ("category", wanted)
        if key not in self._masks:
            codes, labels = self.category_codes
            hit = np.flatnonzero(labels.isin(wanted))
            self._masks[key] = np.isin(codes, hit)
        return self._masks[key]

    def condition_mask(self, cond: Condition) -> np.ndarray:
        """Products matching a product condition (cached per condition)."""
        key = ("condition", cond.column, cond.op, cond.value)
        if key not in self._masks:
            self._masks[key] = cond.mask(self.dataset.products[cond.column].to_numpy(dtype=object))
        return self._masks[key]

    @cached_property
    def product_text(self) -> pd.Series:
        """Lower-cased words of each product (category, tags, material, name, description)."""
        p = self.dataset.products
        parts = [
            p[c].astype(object).fillna("").astype(str)
            for c in (
                "category",
                "subcategory",
                "style_tags",
                "material",
                "color",
                "name",
                "description",
            )
        ]
        text = parts[0]
        for s in parts[1:]:
            text = text + " | " + s
        return text.str.lower()

    def keyword_mask(self, keywords: Iterable[str]) -> np.ndarray:
        """Products whose text holds any keyword as whole words (cached per keyword set)."""
        words = tuple(sorted({str(k).strip().lower() for k in keywords if str(k).strip()}))
        key = ("keywords", words)
        if key not in self._masks:
            if not words:
                self._masks[key] = np.zeros(self.n_products, dtype=bool)
            else:
                pattern = r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + r")(?!\w)"
                self._masks[key] = self.product_text.str.contains(pattern, regex=True).to_numpy(
                    dtype=bool
                )
        return self._masks[key]

    # -------------------------------------------------------------- stores
    @cached_property
    def store_ids(self) -> pd.Index:
        return pd.Index(self.dataset.stores["store_id"].astype(str))

    @cached_property
    def store_names(self) -> dict[str, str]:
        s = self.dataset.stores
        return dict(zip(s["store_id"].astype(str), s["name"].astype(str), strict=True))

    @cached_property
    def store_cities(self) -> dict[str, str]:
        s = self.dataset.stores
        return dict(zip(s["store_id"].astype(str), s["city"].astype(str), strict=True))

    @cached_property
    def store_climates(self) -> dict[str, str]:
        s = self.dataset.stores
        return dict(zip(s["store_id"].astype(str), s["climate"].astype(str), strict=True))

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
        key = ("quantity", ids)
        if key not in self._masks:
            rows = self.store_ids.get_indexer(pd.Index(list(ids)))
            rows = rows[rows >= 0]
            if rows.size == 0:
                q = np.zeros(self.n_products, dtype=np.int64)
            else:
                q = np.asarray(self._stock[rows].sum(axis=0)).ravel().astype(np.int64)
            self._masks[key] = q
        return self._masks[key]

    @cached_property
    def quantity_anywhere(self) -> np.ndarray:
        return np.asarray(self._stock.sum(axis=0)).ravel().astype(np.int64)

    # ------------------------------------------------------------- clients
    def client_index(self, client_id: str) -> int:
        """Internal index of a known client (:class:`UnknownIdError` otherwise)."""
        return self.dataset.client_ids.to_internal_one(client_id)

    def client_row(self, client_id: str) -> pd.Series:
        return self.dataset.clients.iloc[self.client_index(client_id)]

    @cached_property
    def _purchases(self) -> tuple[sp.csr_matrix, sp.csr_matrix, sp.csr_matrix]:
        """(kept units, kept units not bought as gifts, last purchase time in ns)."""
        ev = self.dataset.events
        is_p = (ev["event_type"] == "purchase").to_numpy()
        is_r = (ev["event_type"] == "return").to_numpy()
        sel = is_p | is_r
        ev = ev.loc[sel]
        is_p, is_r = is_p[sel], is_r[sel]
        shape = (len(self.dataset.client_ids), self.n_products)
        if len(ev) == 0:
            empty = sp.csr_matrix(shape, dtype=np.int64)
            return empty, empty, empty
        c = self.dataset.client_ids.to_internal(ev["client_id"].astype(str), strict=False)
        p = self.dataset.product_ids.to_internal(ev["product_id"].astype(str), strict=False)
        q = ev["quantity"].to_numpy(dtype=np.int64)
        gift = ev["is_gift"].to_numpy(dtype=bool)
        ts = pd.to_datetime(ev["timestamp"]).to_numpy("datetime64[ns]").astype(np.int64)
        df = pd.DataFrame(
            {
                "c": c,
                "p": p,
                "buy": np.where(is_p, q, 0),
                "ret": np.where(is_r, q, 0),
                "gift": np.where(is_p & gift, q, 0),
                "ts": np.where(is_p, ts, np.iinfo(np.int64).min),
            }
        )
        df = df[(df["c"] >= 0) & (df["p"] >= 0)]
        g = df.groupby(["c", "p"], sort=True).agg(
            buy=("buy", "sum"), ret=("ret", "sum"), gift=("gift", "sum"), ts=("ts", "max")
        )
        rows = g.index.get_level_values(0).to_numpy()
        cols = g.index.get_level_values(1).to_numpy()
        net = (g["buy"] - g["ret"]).clip(lower=0).to_numpy(dtype=np.int64)
        own = np.minimum(net, (g["buy"] - g["gift"]).to_numpy(dtype=np.int64)).clip(0)
        keep = net > 0
        ts_kept = g["ts"].to_numpy(dtype=np.int64)
        mk = lambda vals: sp.csr_matrix(  # noqa: E731
            (vals[keep], (rows[keep], cols[keep])), shape=shape, dtype=np.int64
        )
        return mk(net), mk(own), mk(ts_kept)

    def bought(self, client_index: int, *, count_gifts: bool = True) -> np.ndarray:
        """Product indices the client bought and kept (gift purchases only if ``count_gifts``)."""
        m = self._purchases[0] if count_gifts else self._purchases[1]
        row = m[client_index]
        return row.indices[row.data > 0]

    def last_purchase(self, client_index: int, product_idx: np.ndarray) -> np.ndarray:
        """Time of the client's last purchase of each product (NaT when none)."""
        row = self._purchases[2][client_index].toarray().ravel()
        vals = row[np.asarray(product_idx, dtype=np.int64)]
        out = vals.astype("datetime64[ns]")
        out[vals == 0] = np.datetime64("NaT")
        return out

    @cached_property
    def volunteered(self) -> sp.csr_matrix:
        """Per client and product, the most deliberate thing the client did themselves.

        Codes: ``VOLUNTEERED_PURCHASE`` (bought for themselves and kept),
        ``VOLUNTEERED_TRY_ON`` (tried on in a store), ``VOLUNTEERED_WISHLIST``;
        absent otherwise. Browsing, zooms and email signals never count.
        """
        ev = self.dataset.events
        et = ev["event_type"]
        wish = (et == "wishlist").to_numpy()
        tried = ((et == "try_on") & (ev["channel"] == "store")).to_numpy()
        sel = wish | tried
        shape = (len(self.dataset.client_ids), self.n_products)
        sub = ev.loc[sel]
        c = self.dataset.client_ids.to_internal(sub["client_id"].astype(str), strict=False)
        p = self.dataset.product_ids.to_internal(sub["product_id"].astype(str), strict=False)
        code = np.where(tried[sel], VOLUNTEERED_TRY_ON, VOLUNTEERED_WISHLIST).astype(np.int64)
        ok = (c >= 0) & (p >= 0)
        # Several events per cell: keep the most deliberate (max code), not their sum.
        best = pd.DataFrame({"c": c[ok], "p": p[ok], "k": code[ok]}).groupby(["c", "p"])["k"].max()
        m = sp.csr_matrix(
            (
                best.to_numpy(dtype=np.int64),
                (best.index.get_level_values(0), best.index.get_level_values(1)),
            ),
            shape=shape,
        )
        own = self._purchases[1]
        bought = sp.csr_matrix(
            ((own.data > 0).astype(np.int64) * VOLUNTEERED_PURCHASE, own.indices, own.indptr),
            shape=shape,
        )
        out = m.maximum(bought).tocsr()
        out.eliminate_zeros()
        return out.astype(np.int8)

    @cached_property
    def purchase_counts(self) -> np.ndarray:
        """Units bought and kept per product, gifts included (popularity)."""
        return np.asarray(self._purchases[0].sum(axis=0)).ravel().astype(np.float64)


# ================================================================== result
Detail = str | Callable[[np.ndarray], Sequence[str]]


@dataclass(frozen=True)
class _Fired:
    rule: str
    mask: np.ndarray
    detail: Detail


def _details(detail: Detail, idx: np.ndarray) -> list[str]:
    if isinstance(detail, str):
        return [detail] * len(idx)
    return [str(d) for d in detail(idx)]


@dataclass(frozen=True, eq=False)
class RuleResult:
    """What the rules say about every product for one client.

    Attributes
    ----------
    client_id : str
    allowed : ndarray of bool, shape (n_products,)
        ``False`` where a hard rule excludes the product (dataset.product_ids order).
    penalty : ndarray of float, shape (n_products,)
        Sum of the soft penalties, ``>= 0``; subtracted from the [0, 1]-scaled
        relevance by the pipeline (see the module docstring).
    personalized : bool
        ``False`` when the client has not consented to personalisation (and
        the ``no_consent`` rule is enabled): the caller must not use their history.
    note : str or None
        A sentence about the whole result (e.g. no consent).
    """

    client_id: str
    product_ids: IdMap
    allowed: np.ndarray
    penalty: np.ndarray
    personalized: bool
    fired: tuple[_Fired, ...] = ()
    penalised: tuple[_Fired, ...] = ()
    penalty_parts: tuple[np.ndarray, ...] = ()
    note: str | None = None

    @cached_property
    def exclusions(self) -> pd.DataFrame:
        """Every excluded product with every rule that excluded it.

        Columns ``product_id``, ``rule``, ``detail``; rows by product (dataset
        order), rules in the order they are checked (:data:`RULE_NAMES`), so
        the first row of a product is the first rule that excluded it.
        """
        frames = []
        for order, f in enumerate(self.fired):
            idx = np.flatnonzero(f.mask)
            if idx.size:
                frames.append(
                    pd.DataFrame(
                        {"_i": idx, "_o": order, "rule": f.rule, "detail": _details(f.detail, idx)}
                    )
                )
        if not frames:
            return pd.DataFrame(
                {"product_id": pd.Series(dtype=object), "rule": pd.Series(dtype=object),
                 "detail": pd.Series(dtype=object)}
            )  # fmt: skip
        out = pd.concat(frames, ignore_index=True).sort_values(["_i", "_o"], kind="stable")
        out.insert(0, "product_id", self.product_ids.to_external(out["_i"].to_numpy()))
        return out.drop(columns=["_i", "_o"]).reset_index(drop=True)

    @cached_property
    def penalties(self) -> pd.DataFrame:
        """Every soft penalty applied: columns ``product_id``, ``rule``, ``penalty``, ``detail``."""
        frames = []
        for order, (f, amount) in enumerate(zip(self.penalised, self.penalty_parts, strict=True)):
            idx = np.flatnonzero(f.mask)
            if idx.size:
                frames.append(
                    pd.DataFrame(
                        {"_i": idx, "_o": order, "rule": f.rule, "penalty": amount[idx],
                         "detail": _details(f.detail, idx)}
                    )
                )  # fmt: skip
        if not frames:
            return pd.DataFrame(
                {"product_id": pd.Series(dtype=object), "rule": pd.Series(dtype=object),
                 "penalty": pd.Series(dtype=float), "detail": pd.Series(dtype=object)}
            )  # fmt: skip
        out = pd.concat(frames, ignore_index=True).sort_values(["_i", "_o"], kind="stable")
        out.insert(0, "product_id", self.product_ids.to_external(out["_i"].to_numpy()))
        return out.drop(columns=["_i", "_o"]).reset_index(drop=True)

    def excluded_by(self, product_id: str) -> list[tuple[str, str]]:
        """``(rule, detail)`` of every rule excluding ``product_id`` (empty if allowed)."""
        j = self.product_ids.to_internal_one(product_id)
        idx = np.array([j])
        return [(f.rule, _details(f.detail, idx)[0]) for f in self.fired if f.mask[j]]

    def penalised_by(self, product_id: str) -> list[tuple[str, float, str]]:
        """``(rule, penalty, detail)`` of every penalty on ``product_id``."""
        j = self.product_ids.to_internal_one(product_id)
        idx = np.array([j])
        return [
            (f.rule, float(a[j]), _details(f.detail, idx)[0])
            for f, a in zip(self.penalised, self.penalty_parts, strict=True)
            if f.mask[j]
        ]

    def why_not(self, product_id: str) -> str:
        """One sentence: which rule(s) excluded ``product_id``, or that none did.

        Examples: ``"Excluded by out_of_stock: 0 in Paris Saint-Honoré and 0
        online"``; ``"Not excluded by any rule; penalised by climate (-0.15):
        a heavy piece for a warm-climate store"``.
        """
        hits = self.excluded_by(product_id)
        if hits:
            text = "Excluded by " + "; also by ".join(f"{r}: {d}" for r, d in hits)
        else:
            text = "Not excluded by any rule"
            pens = self.penalised_by(product_id)
            if pens:
                text += "; penalised by " + "; ".join(f"{r} (-{p:.2f}): {d}" for r, p, d in pens)
        if self.note:
            text += f" ({self.note})"
        return text


# ================================================================= rule set
class RuleSet:
    """A validated policy: exclusions, penalties and context boosts.

    Parameters
    ----------
    config : RuleConfig, optional
        The policy; default: :class:`RuleConfig` defaults (no brand-alignment
        rules). :meth:`default` loads the shipped policy file instead.
    """

    def __init__(self, config: RuleConfig | None = None) -> None:
        self.config = config if config is not None else RuleConfig()
        self._brand = [
            (r, r.client_conditions(), r.product_conditions())
            for r in self.config.rules.brand_alignment
            if r.enabled
        ]

    def __repr__(self) -> str:
        return f"RuleSet({self.config!r})"

    # ---------------------------------------------------------- construction
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "rules") -> RuleSet:
        """Validate a policy given as nested dicts (the TOML's structure).

        Raises
        ------
        ConfigError
            Naming every bad key (unknown rule, wrong type, bad condition).
        """
        if not isinstance(data, Mapping):
            raise ConfigError(f"invalid rules in {source}: expected a table of settings")
        try:
            return cls(RuleConfig.model_validate(dict(data)))
        except ValidationError as err:
            raise _config_error(err, source) from None

    @classmethod
    def from_toml(cls, path: str | Path) -> RuleSet:
        """Read a policy file (see ``core/suggest/default_rules.toml`` for every key).

        Raises
        ------
        ConfigError
            When the file is missing, is not TOML, or holds a bad key.
        """
        return cls.from_dict(read_toml(path, "rules file"), source=str(path))

    @classmethod
    def default(cls) -> RuleSet:
        """The shipped policy (``core/suggest/default_rules.toml``)."""
        return cls.from_toml(DEFAULT_RULES_PATH)

    @property
    def context(self) -> ContextConfig:
        return self.config.context

    # ------------------------------------------------------------- consent
    def personalization_allowed(
        self, client_row: pd.Series, consent_override: bool | None = None
    ) -> bool:
        """Whether this client's history may be used (``no_consent`` rule)."""
        if not self.config.rules.no_consent.enabled:
            return True
        if consent_override is not None:
            return bool(consent_override)
        return bool(client_row.get("consent_personalization", False))

    # --------------------------------------------------------------- apply
    def apply(
        self,
        dataset: Dataset,
        client_id: str,
        *,
        removed_products: Iterable[str] = (),
        removed_categories: Iterable[str] = (),
        allow: Iterable[str] = (),
        recently_shown: Iterable[str] = (),
        consent_override: bool | None = None,
        extra_events: pd.DataFrame | None = None,
    ) -> RuleResult:
        """Apply every rule to every product for one client.

        Parameters
        ----------
        dataset : Dataset
        client_id : str
            A client of ``dataset``.
        removed_products, removed_categories : iterable of str
            What associates removed for this client (from the database).
            Ids no longer in the catalogue are ignored.
        allow : iterable of product ids
            Explicitly wanted by the caller (added or pinned by hand): they
            pass the rules marked ``overridable``.
        recently_shown : iterable of product ids
            Shown to the client recently (``recently_shown`` penalty).
        consent_override : bool, optional
            Consent recorded since the data was loaded (replaces the
            dataset's ``consent_personalization``).
        extra_events : DataFrame, optional
            Events not in the dataset yet; their purchases and returns of
            this client count for ``already_bought``.

        Returns
        -------
        RuleResult

        Raises
        ------
        UnknownIdError
            For an unknown client.
        """
        ctx = RuleContext.of(dataset)
        ci = ctx.client_index(client_id)
        client = dataset.clients.iloc[ci]
        n = ctx.n_products
        pids = dataset.product_ids
        cfg = self.config.rules
        personal = self.personalization_allowed(client, consent_override)
        allow_mask = np.zeros(n, dtype=bool)
        allow_idx = _known(pids, allow)
        allow_mask[allow_idx] = True
        fired: list[_Fired] = []

        def add(rule: str, mask: np.ndarray, detail: Detail, overridable: bool) -> None:
            if overridable and allow_idx.size:
                mask = mask & ~allow_mask
            if mask.any():
                fired.append(_Fired(rule, mask, detail))

        if cfg.do_not_suggest.enabled:
            idx = _known(pids, split_list(client.get("do_not_suggest", "")))
            if idx.size:
                m = np.zeros(n, dtype=bool)
                m[idx] = True
                add("do_not_suggest", m, "on the client's do-not-suggest list", False)

        if cfg.removed_by_associate.enabled:
            r = cfg.removed_by_associate
            idx = _known(pids, removed_products)
            if idx.size:
                m = np.zeros(n, dtype=bool)
                m[idx] = True
                add(
                    "removed_by_associate",
                    m,
                    "removed for this client by an associate",
                    r.overridable,
                )
            cats = [c for c in removed_categories if str(c).strip()]
            if cats:
                m = ctx.category_mask(cats)
                cat_labels = ctx.category_labels
                add(
                    "removed_by_associate",
                    m,
                    lambda i: [f"category '{c}' removed for this client by an associate"
                               for c in cat_labels[i]],
                    r.overridable,
                )  # fmt: skip

        if cfg.sensitive.enabled:
            add(
                "sensitive",
                ctx.sensitive,
                "flagged sensitive: never volunteered",
                cfg.sensitive.overridable,
            )

        for rule, client_conds, product_conds in self._brand:
            if all(c.holds(client.get(c.column)) for c in client_conds):
                m = np.ones(n, dtype=bool)
                for pc in product_conds:
                    m &= ctx.condition_mask(pc)
                why = rule.detail or (
                    " and ".join(c.text for c in client_conds) or "every client"
                ) + " -> " + " and ".join(c.text for c in product_conds)
                add("brand_alignment", m, f"{rule.name}: {why}", rule.overridable)

        if cfg.already_bought.enabled and personal:
            ab = cfg.already_bought
            idx = ctx.bought(ci, count_gifts=ab.count_gifts)
            idx = _with_extra_purchases(idx, ctx, ci, client_id, extra_events, ab.count_gifts)
            if idx.size:
                m = np.zeros(n, dtype=bool)
                m[idx] = True
                if ab.repeatable_categories:
                    m &= ~ctx.category_mask(ab.repeatable_categories)
                add("already_bought", m, self._bought_detail(ctx, ci), ab.overridable)

        if cfg.out_of_stock.enabled:
            oos = cfg.out_of_stock
            home = str(client.get("home_store_id") or "")
            if oos.stores == "any":
                qty = ctx.quantity_anywhere
                detail: Detail = "0 in every store"
            else:
                online = ctx.online_stores
                qty = ctx.quantity(((home,) if home else ()) + online)
                detail = self._stock_detail(ctx, home, online)
            add("out_of_stock", qty <= 0, detail, oos.overridable)

        allowed = np.ones(n, dtype=bool)
        for f in fired:
            allowed &= ~f.mask

        penalised, parts = self._penalties(ctx, ci, client, personal, recently_shown, pids)
        penalty = np.zeros(n, dtype=np.float64)
        for a in parts:
            penalty += a
        note = None
        if not personal:
            note = "no_consent: personalisation is off for this client; their history is not used"
        return RuleResult(
            client_id=str(client_id),
            product_ids=pids,
            allowed=allowed,
            penalty=penalty,
            personalized=personal,
            fired=tuple(fired),
            penalised=tuple(penalised),
            penalty_parts=tuple(parts),
            note=note,
        )

    def product_rules(
        self, dataset: Dataset, store_id: str | None = None, *, allow: Iterable[str] = ()
    ) -> np.ndarray:
        """Client-independent exclusions (``sensitive``, ``out_of_stock``): allowed mask.

        Used for generic suggestions and gift mode, which read nobody's
        history. ``store_id`` is the store whose stock counts (plus online).
        """
        ctx = RuleContext.of(dataset)
        cfg = self.config.rules
        allowed = np.ones(ctx.n_products, dtype=bool)
        allow_mask = np.zeros(ctx.n_products, dtype=bool)
        allow_mask[_known(dataset.product_ids, allow)] = True
        if cfg.sensitive.enabled:
            m = ctx.sensitive & ~(allow_mask if cfg.sensitive.overridable else False)
            allowed &= ~m
        if cfg.out_of_stock.enabled:
            if cfg.out_of_stock.stores == "any" or store_id is None:
                qty = ctx.quantity_anywhere
            else:
                qty = ctx.quantity((str(store_id),) + ctx.online_stores)
            m = (qty <= 0) & ~(allow_mask if cfg.out_of_stock.overridable else False)
            allowed &= ~m
        return allowed

    # ---------------------------------------------------------- internals
    @staticmethod
    def _bought_detail(ctx: RuleContext, ci: int) -> Callable[[np.ndarray], list[str]]:
        def detail(idx: np.ndarray) -> list[str]:
            when = ctx.last_purchase(ci, idx)
            return [
                "bought and kept"
                if np.isnat(t)
                else f"bought on {pd.Timestamp(t):%Y-%m-%d} and kept"
                for t in when
            ]

        return detail

    @staticmethod
    def _stock_detail(ctx: RuleContext, home: str, online: tuple[str, ...]) -> str:
        # Excluded means the counted stores sum to zero, so each of them holds 0.
        parts = []
        if home and home not in online:
            parts.append(f"0 in {ctx.store_names.get(home, home)}")
        if online:
            parts.append("0 online")
        return " and ".join(parts) or "no stock record"

    def _price_band(
        self, ctx: RuleContext, ci: int, client: pd.Series, personal: bool
    ) -> tuple[float, float, str] | None:
        lo, hi = client.get("price_min"), client.get("price_max")
        lo = None if lo is None or pd.isna(lo) else float(lo)
        hi = None if hi is None or pd.isna(hi) else float(hi)
        if lo is not None or hi is not None:
            return (lo or 0.0, hi if hi is not None else np.inf, "declared")
        pb = self.config.penalties.price_band
        if personal and pb.infer_from_purchases:
            idx = ctx.bought(ci, count_gifts=False)
            if idx.size >= pb.min_purchases:
                prices = ctx.price[idx]
                return (float(prices.min()), float(prices.max()), "from their purchases")
        return None

    def _penalties(
        self,
        ctx: RuleContext,
        ci: int,
        client: pd.Series,
        personal: bool,
        recently_shown: Iterable[str],
        pids: IdMap,
    ) -> tuple[list[_Fired], list[np.ndarray]]:
        cfg = self.config.penalties
        n = ctx.n_products
        fired: list[_Fired] = []
        parts: list[np.ndarray] = []
        currency = ctx.currency

        if cfg.price_band.enabled and personal:
            band = self._price_band(ctx, ci, client, personal)
            if band is not None:
                pb = cfg.price_band
                lo, hi, origin = band
                price = ctx.price
                scale = np.log(pb.full_at)
                amt = np.zeros(n)
                # Only prices beyond the tolerated edges need the logs.
                for idx, ratio, weight in (
                    (np.flatnonzero(price > hi * (1 + pb.tolerance)), None, pb.weight_above),
                    (np.flatnonzero(price * (1 + pb.tolerance) < lo), lo, pb.weight_below),
                ):
                    if idx.size == 0 or weight == 0:
                        continue
                    p = np.maximum(price[idx], 1e-9)
                    r = p / max(hi, 1e-9) if ratio is None else lo / p
                    amt[idx] += weight * np.clip(np.log(r / (1 + pb.tolerance)) / scale, 0, 1)
                mask = amt > 0
                if mask.any():
                    hi_txt = "no upper limit" if not np.isfinite(hi) else f"{hi:,.0f}"

                    def detail(idx: np.ndarray) -> list[str]:
                        return [
                            f"{ctx.price[i]:,.0f} {currency[i]} is "
                            f"{'above' if ctx.price[i] > hi else 'below'} the client's band of "
                            f"{lo:,.0f}–{hi_txt} {currency[i]} ({origin})"
                            for i in idx
                        ]

                    fired.append(_Fired("price_band", mask, detail))
                    parts.append(np.where(mask, amt, 0.0))

        climate = self._climate(ctx, str(client.get("home_store_id") or ""))
        if climate is not None:
            fired.append(climate[0])
            parts.append(climate[1])

        if cfg.recently_shown.enabled:
            idx = _known(pids, recently_shown)
            if idx.size:
                mask = np.zeros(n, dtype=bool)
                mask[idx] = True
                fired.append(_Fired("recently_shown", mask, "shown to the client recently"))
                parts.append(np.where(mask, cfg.recently_shown.weight, 0.0))
        return fired, parts

    def _climate(self, ctx: RuleContext, store_id: str) -> tuple[_Fired, np.ndarray] | None:
        cfg = self.config.penalties.climate
        climate = ctx.store_climates.get(store_id, "temperate")
        wrong = {"warm": "heavy", "cold": "light"}.get(climate)
        if not cfg.enabled or wrong is None:
            return None
        mask = ctx.warmth_mask(wrong)
        if not mask.any():
            return None
        store = ctx.store_names.get(store_id, store_id)
        why = f"a {wrong} piece for a {climate}-climate store ({store})"
        return _Fired("climate", mask, why), mask * cfg.weight

    def store_penalty(self, dataset: Dataset, store_id: str) -> np.ndarray:
        """Client-independent penalties for a store (``climate``), one per product."""
        hit = self._climate(RuleContext.of(dataset), str(store_id))
        return np.zeros(len(dataset.product_ids)) if hit is None else hit[1]


def _known(pids: IdMap, ids: Iterable[str]) -> np.ndarray:
    """Internal indices of the known ids among ``ids`` (unknown ones are ignored)."""
    ids = [str(i) for i in ids]
    if not ids:
        return np.empty(0, dtype=np.int64)
    if len(ids) <= 8:  # a hash lookup per id beats building an Index for a few ids
        found = []
        for i in ids:
            try:
                loc = pids.index.get_loc(i)
            except KeyError:
                continue
            if isinstance(loc, int | np.integer):
                found.append(int(loc))
        return np.unique(np.array(found, dtype=np.int64))
    idx = pids.to_internal(ids, strict=False)
    return np.unique(idx[idx >= 0])


def _with_extra_purchases(
    idx: np.ndarray,
    ctx: RuleContext,
    ci: int,
    client_id: str,
    extra: pd.DataFrame | None,
    count_gifts: bool,
) -> np.ndarray:
    """Add products bought (and drop products returned) in events not yet in the dataset."""
    if (
        extra is None
        or len(extra) == 0
        or not {"client_id", "product_id", "event_type"} <= set(extra.columns)
    ):
        return idx
    ev = extra[extra["client_id"].astype(str) == str(client_id)]
    ev = ev[ev["event_type"].isin(["purchase", "return"])]
    if not count_gifts and "is_gift" in ev.columns:
        gift = ev["is_gift"].astype(object).fillna(False).astype(bool)
        ev = ev[~((ev["event_type"] == "purchase") & gift)]
    if len(ev) == 0:
        return idx
    qty = ev["quantity"] if "quantity" in ev.columns else pd.Series(1, index=ev.index)
    sign = np.where(ev["event_type"] == "purchase", 1, -1)
    delta = pd.Series(
        sign * qty.fillna(1).to_numpy(dtype=np.int64), index=ev["product_id"].astype(str)
    )
    delta = delta.groupby(level=0).sum()
    j = ctx.dataset.product_ids.to_internal(list(delta.index), strict=False)
    ok = j >= 0
    j, d = j[ok], delta.to_numpy()[ok]
    base = ctx._purchases[0 if count_gifts else 1][ci].toarray().ravel()[j]
    have = set(idx.tolist())
    for jj, net in zip(j.tolist(), (base + d).tolist(), strict=True):
        if net > 0:
            have.add(jj)
        else:
            have.discard(jj)
    return np.array(sorted(have), dtype=np.int64)
