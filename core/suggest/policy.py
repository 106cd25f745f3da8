"""The house policy file's schema: ``[rules]``, ``[penalties]`` and ``[context]``.

Every key of a policy file (the shipped one is ``core/suggest/default_rules.toml``),
its default and its allowed range are declared here, once, as frozen pydantic
models; :func:`config_error` turns a validation failure into one
:class:`~core.exceptions.ConfigError` naming every bad key. :class:`RuleSet`
(:mod:`core.suggest.rules`) applies a validated :class:`RuleConfig`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.data.schema import CLIENTS, PRODUCTS
from core.exceptions import ConfigError
from core.suggest.conditions import Condition

Fraction = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _as_list(value: object) -> object:
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


class SizeOutOfStockRule(_Model):
    """Exclude what is out of stock in the client's size where she shops."""

    enabled: bool = True
    stores: Literal["home", "home_and_online"] = "home"
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
    size_out_of_stock: SizeOutOfStockRule = SizeOutOfStockRule()
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


class FitReturnsPenalty(_Model):
    """For a client who returned pieces of a category for fit: pieces of it often returned for fit."""

    enabled: bool = True
    weight: Fraction = 0.2
    full_at: Annotated[float, Field(gt=0.0, le=1.0)] = 0.2


class Penalties(_Model):
    """The soft penalties."""

    price_band: PriceBandPenalty = PriceBandPenalty()
    climate: ClimatePenalty = ClimatePenalty()
    recently_shown: RecentlyShownPenalty = RecentlyShownPenalty()
    fit_returns: FitReturnsPenalty = FitReturnsPenalty()


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


def config_error(err: ValidationError, source: str) -> ConfigError:
    """One :class:`ConfigError` naming every bad key of a policy (from ``source``)."""
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
