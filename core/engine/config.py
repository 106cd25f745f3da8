"""Every engine parameter, its default and its allowed range, declared once.

How the defaults were chosen: on all six cells of the quality benchmark
together (``benchmarks/bench_quality.py``: the generated maison, the Online
Retail sample and the Complete Journey sample, each under a global time split
and a last-N-per-client split), never on the maison alone. Block weights and
fit knobs were swept one at a time on the validation windows carved from each
cell's training part, and kept where the mean ratio of Recall@20 to the best
tuned peer rose without any cell falling:

- the blend (cf_weight 1, item_weight 2, content_weight 2, prior_weight 1)
  came from a grid over per-client standardised blocks (0, 0.5, 1, 2 each);
  item_weight 3, content_weight 1, prior_weight 0.5 or cf_weight 0.5 / 2 each
  lowered the mean;
- n_factors 16 (not 48): on every data set a small SVD beside the neighbour
  block beat a large one (32 lowered the mean ratio by 1-2 %);
- half_life_days 730: recency matters on the maison (60 days is better
  there alone) but costs 10-30 % on the real retail sets; 730 lost least
  overall (365 lowered the mean);
- recency "client" (a client's taste ages from their own latest event, not
  from the fit date; popularity and trends still age from the fit date):
  against "calendar" on the six validation windows, Recall@20 1.12x on the
  maison's last-N cell (0.3432 against 0.3072; NDCG@10 1.04x), where clients'
  last visits are spread over the years, and 0.99-1.00x on the five others
  (Complete Journey's short span makes the two the same); on the test windows
  1.02x / 1.01x there and 1.00x elsewhere. Under "calendar" a client away for
  two years had every cell faded, so their history weighed less in the
  co-occurrences and their own row leaned on content; a client's last visit
  is the best account of their taste however long ago it was. Then 730 days
  still has the best validation mean against 60 and 180 (60 gains the
  maison's time split 1.05x, loses its last-N split 8 %);
- item_normalization bm25 (a final validation sweep against idf, relative to
  idf: Recall@20 1.09x / 1.09x on Online Retail's two cells, 1.02x / 1.00x on
  Complete Journey's, 1.03x / 0.97x on the maison; NDCG@10 1.04x / 1.05x,
  0.95x / 1.03x, 0.97x / 1.00x: mean 1.03x and 1.01x over the six cells;
  bm25 with item_weight 1.5 had the higher mean on the real sets, 1.07x, but
  cost the maison's last-N cell 10 %), item_neighbours 200 (50 and 400
  lowered the mean),
  item_shrinkage 50 (10 and 100 lowered it), text_weight 2 (the description
  words carry much of the real sets' content signal), blend_k 5 (0 lowered
  the mean; 2 was level with it).

On the test windows these defaults (with factor_shrinkage, below) scored
0.96-1.20x of the best tuned peer on Recall@20 (mean 1.06) and 0.98-1.32x on
NDCG@10 (mean 1.08) (``benchmarks/README.md``, fifth session); the tuner
(:mod:`core.engine.tune`) searches the rest per data set. new_arrival_days (30)
and new_arrival_weight (2, in the content block's per-client units) are set so
a product launched two days ago reaches most clients of its segment on the
maison (the real sets carry no launch dates). visual_weight (1, as the
attribute block) only acts with the optional product_embeddings table; on the
generated maison (1,500 clients, 300 products, planted vectors that restate
colour, material and subcategory) it left Recall@10 and NDCG@10 unchanged and
moved Recall@20 from 0.466 (weight 0) to 0.460: a house's real image vectors
carry what the attributes miss, and the tuner weighs them per data set.
sequence_weight (1) multiplies the next-step block's data-derived
directionality (:func:`core.engine.transitions.directionality`: 0.87 on the
benchmark's maison, 0.13 on the Online Retail sample, 0.03 on the Complete
Journey sample, so the block stays nearly silent where order is noise); on
the six validation windows it was chosen against 0, 2 and 4: relative to 0 (the order-blind hybrid), weight 1 gave Recall@20
1.04x / 1.01x on the maison's two cells, 0.99x / 1.00x on Online Retail's,
1.00x / 1.00x on Complete Journey's (mean 1.007x) and NDCG@10 1.13x / 1.01x,
1.00x / 1.00x, 1.00x / 1.00x (mean 1.02x); 2 was level on Recall@20 and
lowered NDCG@10 on the real sets, 4 lowered both.
sequence_window (3) is how far on a purchase leads.
factor_shrinkage (50) pulls a product's SVD factors towards the factors its
content predicts (the ridge map), by ``n / (n + 50)`` for a product ``n``
clients touched: a product a few clients bought is placed mostly by what it
is, a best-seller by who bought it (a product nobody touched, by its content
alone, as before). On the six validation windows, relative to 0 (own factors
only), the geometric mean over the cells was Recall@20 1.007 / 1.002 / 1.017 /
1.020 / 1.020 / 1.022 / 1.016 and NDCG@10 1.004 / 1.008 / 1.014 / 1.019 /
1.026 / 1.020 / 1.020 for 5 / 10 / 20 / 40 / 50 / 80 / 160; 50 had the highest
sum. Its largest loss was the maison's last-N validation Recall@20 (0.97x), its
largest gains Online Retail's (1.06x time split, 1.04x last-N Recall@20).

:class:`EngineConfig` is an immutable pydantic model. It is saved with a
fitted model, read from and written to TOML, and copied with changes by the
tuner::

    config = EngineConfig.from_toml("engine.toml")
    config.with_updates(n_factors=64, blend_k=8.0)

A TOML file holds the fields at top level, or under an ``[engine]`` table;
event weights are a table of their own::

    half_life_days = 180
    [event_weights]
    purchase = 5.0
    view = 1.0

Event types left out of ``[event_weights]`` keep their default weight.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from core.config_files import read_toml
from core.data.schema import EVENT_TYPES
from core.exceptions import ConfigError

#: Event types that carry taste (a return only cancels a purchase).
TASTE_EVENT_TYPES: tuple[str, ...] = tuple(t for t in EVENT_TYPES if t != "return")

EventType = Literal["view", "zoom", "wishlist", "email_open", "email_click", "try_on", "purchase"]
EventWeight = Annotated[float, Field(ge=0.0, le=100.0, allow_inf_nan=False)]

#: Fields that shape :class:`core.engine.interactions.Interactions` (a matrix built
#: with other values of these cannot be reused by a model).
INTERACTION_FIELDS: tuple[str, ...] = (
    "event_weights",
    "half_life_days",
    "recency",
    "returns_cancel",
    "exclude_gifts",
    "confidence",
    "item_normalization",
    "bm25_k1",
    "bm25_b",
    "sequence_window",
    "popularity_exponent",
    "trend_half_life_days",
)

DEFAULT_EVENT_WEIGHTS: dict[EventType, float] = {
    "purchase": 5.0,
    "try_on": 3.0,
    "wishlist": 3.0,
    "zoom": 1.5,
    "email_click": 1.0,
    "view": 1.0,
    "email_open": 0.3,
}


class EngineConfig(BaseModel):
    """The engine's parameters (interaction matrix, factors, content, blend).

    Every field declares its range here; anything outside raises
    :class:`~core.exceptions.ConfigError` naming the key and the range.
    Use :meth:`with_updates` (validated) rather than ``model_copy(update=...)``
    (pydantic does not validate the update).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)
    _hash: int | None = PrivateAttr(default=None)

    # ---------------------------------------------------- interaction matrix
    event_weights: dict[EventType, EventWeight] = Field(
        default_factory=lambda: dict(DEFAULT_EVENT_WEIGHTS),
        description="weight of one event of each type (returns cancel purchases instead)",
    )
    half_life_days: float = Field(
        default=730.0, gt=0, le=36500, description="an event's weight halves every this many days"
    )
    recency: Literal["client", "calendar"] = Field(
        default="client",
        description="an event's age in a client's taste: from the client's latest event, or "
        "from the fit date",
    )
    returns_cancel: bool = Field(
        default=True, description="a return cancels the purchase it returns"
    )
    exclude_gifts: bool = Field(
        default=True, description="gift purchases count for popularity, not for the buyer's taste"
    )
    confidence: Literal["linear", "log1p"] = Field(
        default="log1p", description="transform of a cell's summed weight: w or log(1 + w)"
    )
    item_normalization: Literal["none", "idf", "bm25"] = Field(
        default="bm25", description="down-weight popular products in the matrix"
    )
    bm25_k1: float = Field(default=1.2, ge=0, le=10, description="BM25 saturation")
    bm25_b: float = Field(default=0.75, ge=0, le=1, description="BM25 length normalisation")
    popularity_exponent: float = Field(
        default=0.0,
        ge=0,
        le=2,
        description="damp popular products: a product's cells are multiplied by ((1 + its "
        "clients) / (1 + a typical product's)) ** -this (0: off)",
    )

    # ------------------------------------------------------------- factors
    n_factors: int = Field(default=16, ge=2, le=512, description="latent factors of the SVD")
    factor_shrinkage: float = Field(
        default=50.0,
        ge=0,
        le=100_000,
        description="clients at which a product's own SVD factors and the factors its content "
        "predicts (ridge map) weigh the same (0: own factors only)",
    )
    svd_n_iter: int = Field(
        default=5, ge=1, le=50, description="power iterations of randomized SVD"
    )
    seed: int = Field(default=0, ge=0, le=2**32 - 1, description="random seed of every fit")

    # ------------------------------------------------------------- content
    tfidf_min_df: int = Field(
        default=2, ge=1, le=10_000, description="a word must occur in this many products"
    )
    tfidf_max_features: int = Field(
        default=5000, ge=10, le=1_000_000, description="largest description vocabulary"
    )
    attribute_weight: float = Field(
        default=1.0, ge=0, le=10, description="one-hot attributes block"
    )
    tag_weight: float = Field(default=1.0, ge=0, le=10, description="style tags block (TF-IDF)")
    text_weight: float = Field(
        default=2.0, ge=0, le=10, description="name + description block (TF-IDF)"
    )
    price_weight: float = Field(default=0.5, ge=0, le=10, description="price band block")
    flag_weight: float = Field(
        default=0.3, ge=0, le=10, description="sustainable / limited edition"
    )
    visual_weight: float = Field(
        default=1.0,
        ge=0,
        le=10,
        description="image embeddings block (product_embeddings; nothing without the table)",
    )
    n_price_bands: int = Field(default=5, ge=1, le=20, description="quantile price bands")
    price_bands_per_category: bool = Field(
        default=True, description="price bands are quantiles within each category (else global)"
    )
    preference_weight: float = Field(
        default=0.5, ge=0, le=10, description="weight of declared preferences in a content profile"
    )

    # ---------------------------------------------------------------- blend
    ridge_alpha: float = Field(
        default=0.1, gt=0, le=1e6, description="ridge map from content features to factors"
    )
    blend_k: float = Field(
        default=5.0,
        ge=0,
        le=1e4,
        description="history strength at which CF and content weigh the same",
    )
    cf_weight: float = Field(
        default=1.0, ge=0, le=10, description="weight of the SVD block (per-client standardised)"
    )
    item_weight: float = Field(
        default=2.0,
        ge=0,
        le=10,
        description="weight of the item-neighbour block (per-client standardised)",
    )
    content_weight: float = Field(
        default=2.0,
        ge=0,
        le=10,
        description="weight of the content block (per-client standardised)",
    )
    item_neighbours: int = Field(
        default=200, ge=5, le=2000, description="neighbours kept per product in the item block"
    )
    item_shrinkage: float = Field(
        default=50.0,
        ge=0,
        le=10_000,
        description="co-occurrence count at which an item-neighbour cosine counts half",
    )
    sequence_weight: float = Field(
        default=1.0,
        ge=0,
        le=10,
        description="weight of the next-step block (what buyers of her pieces bought next)",
    )
    sequence_window: int = Field(
        default=3,
        ge=0,
        le=50,
        description="later purchases each purchase leads to in the next-step counts",
    )
    prior_weight: float = Field(
        default=1.0, ge=0, le=10, description="weight of the trend block (standardised)"
    )
    trend_half_life_days: float = Field(
        default=30.0, gt=0, le=3650, description="half-life of the demand behind the trend prior"
    )
    new_arrival_days: float = Field(
        default=30.0,
        ge=0,
        le=3650,
        description="a product launched (or launching) within this many days of the fit date is new",
    )
    new_arrival_weight: float = Field(
        default=2.0,
        ge=0,
        le=10,
        description="new-arrival prior, scaled by the client's content affinity with the product",
    )

    # -------------------------------------------------------------- compute
    n_threads: int = Field(default=2, ge=1, le=256, description="BLAS threads during a fit")

    @field_validator("event_weights", mode="before")
    @classmethod
    def _fill_event_weights(cls, value: object) -> object:
        if isinstance(value, dict):
            return {**DEFAULT_EVENT_WEIGHTS, **value}  # unnamed types keep their default
        return value

    # ------------------------------------------------------------------ api
    def with_updates(self, **changes: object) -> Self:
        """A validated copy with ``changes`` applied.

        Raises
        ------
        ConfigError
            When a change is unknown or out of range.
        """
        return type(self).from_dict({**self.to_dict(), **changes})

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON- and TOML-ready values."""
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "engine config") -> Self:
        """Validate ``data``.

        Raises
        ------
        ConfigError
            Naming every bad key, the value given and the allowed range.
        """
        try:
            return cls.model_validate(data)
        except ValidationError as err:
            raise ConfigError(_describe(err, source)) from None

    @classmethod
    def from_toml(cls, path: str | Path) -> Self:
        """Read a TOML file (fields at top level or under ``[engine]``).

        Raises
        ------
        ConfigError
            When the file is missing, is not TOML, or holds a bad value.
        """
        data = read_toml(path, "engine config file")
        if set(data) == {"engine"} and isinstance(data["engine"], dict):
            data = data["engine"]
        return cls.from_dict(data, source=str(path))

    def to_toml(self, path: str | Path) -> Path:
        """Write every field to ``path`` (readable back with :meth:`from_toml`)."""
        path = Path(path)
        scalars = []
        tables = []
        for key, value in self.to_dict().items():
            if isinstance(value, dict):
                tables.append(f"\n[{key}]")
                tables += [f"{k} = {_toml_value(v)}" for k, v in value.items()]
            else:
                scalars.append(f"{key} = {_toml_value(value)}")
        path.write_text("\n".join(scalars + tables) + "\n", encoding="utf-8")
        return path

    def __hash__(self) -> int:  # the weights dict is not hashable by itself
        # Computed once: per-configuration caches look it up on every request.
        if self._hash is None:
            self._hash = hash(json.dumps(self.to_dict(), sort_keys=True))
        return self._hash

    def __eq__(self, other: object) -> bool:  # the fields only, not the cached hash
        if not isinstance(other, EngineConfig):
            return NotImplemented
        return type(self) is type(other) and self.__dict__ == other.__dict__

    def event_weight(self, event_type: str) -> float:
        """Weight of one event of ``event_type`` (0 for a return)."""
        return float(self.event_weights.get(event_type, 0.0))  # type: ignore[call-overload]


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _expected(key: tuple[str | int, ...]) -> str:
    """The declared range of a field, in words."""
    name = str(key[0])
    field = EngineConfig.model_fields.get(name)
    if field is None:
        allowed = ", ".join(EngineConfig.model_fields)
        return f"one of the known keys ({allowed})"
    if name == "event_weights":
        if len(key) > 1 and str(key[1]) not in TASTE_EVENT_TYPES:
            return f"an event type among {', '.join(TASTE_EVENT_TYPES)}"
        return "a number between 0 and 100"
    ann = field.annotation
    if ann is bool:
        return "true or false"
    args = getattr(ann, "__args__", None)
    if getattr(ann, "__origin__", None) is Literal and args:
        return "one of " + ", ".join(repr(a) for a in args)
    bounds = []
    for m in field.metadata:
        if isinstance(m, Ge):
            bounds.append(f">= {m.ge}")
        elif isinstance(m, Gt):
            bounds.append(f"> {m.gt}")
        elif isinstance(m, Le):
            bounds.append(f"<= {m.le}")
        elif isinstance(m, Lt):
            bounds.append(f"< {m.lt}")
    kind = "a whole number" if ann is int else "a number"
    return f"{kind} {' and '.join(bounds)}".strip()


def _describe(err: ValidationError, source: str) -> str:
    lines = [f"{source}: {err.error_count()} bad value(s):"]
    for e in err.errors():
        loc = tuple(e["loc"])
        loc = tuple(p for p in loc if p != "[key]")
        key = ".".join(str(p) for p in loc)
        got = e.get("input")
        shown = "" if isinstance(got, dict) or got is None else f" (got {got!r})"
        if e["type"] == "extra_forbidden":
            lines.append(f"  - unknown key '{key}'; expected {_expected(loc)}")
        else:
            lines.append(f"  - {key}{shown}: {e['msg']}; expected {_expected(loc)}")
    return "\n".join(lines)
