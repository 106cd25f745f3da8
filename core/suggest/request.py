"""One suggestion request: how many, for which situation, with what the associate did.

:class:`SuggestRequest` is the one object :meth:`core.suggest.pipeline.Suggester.suggest`,
``why_not``, ``suggest_batch`` and ``generic_suggestions`` take, and what the
curation service passes on. It is frozen and checked when it is built: each
numeric option's allowed range is declared once, in :data:`RANGES`::

    request = SuggestRequest(k=8, occasion="evening", categories=("bags",))
    suggester.suggest("C000123", request)
    suggester.suggest("C000123", request.replace(pinned=("P0042",)))
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd

#: ``max_per_designer``/``max_per_category`` value meaning "the Suggester's cap".
DEFAULT_CAP: Literal["default"] = "default"
Cap = int | None | Literal["default"]


@dataclass(frozen=True)
class Range:
    """The allowed values of one numeric option: ``low <= value <= high`` (``high=None``: no top).

    ``whole`` asks for an integer (``bool`` is refused).
    """

    low: float
    high: float | None = None
    whole: bool = False

    def check(self, name: str, value: Any) -> None:
        """Raise ``ValueError`` naming ``name`` and the range when ``value`` is outside it."""
        if self.whole:
            if (
                isinstance(value, bool)
                or not isinstance(value, int | np.integer)
                or not self._holds(float(value))
            ):
                raise ValueError(
                    f"{name} must be a whole number of at least {self.low:g}, got {value!r}"
                )
        elif self.high is not None:
            if not self._holds(float(value)):
                raise ValueError(
                    f"{name} must be between {self.low:g} and {self.high:g}, got {value}"
                )
        elif not np.isfinite(value) or not self._holds(value):
            raise ValueError(f"{name} must be a non-negative number, got {value!r}")

    def _holds(self, value: float) -> bool:
        return self.low <= value and (self.high is None or value <= self.high)


#: The allowed range of each numeric option, declared once.
RANGES: Mapping[str, Range] = MappingProxyType(
    {
        "k": Range(1, whole=True),
        "diversity": Range(0.0, 1.0),
        "price_min": Range(0.0),
        "price_max": Range(0.0),
    }
)

#: Options that describe one client's situation (not a store's).
CLIENT_OPTIONS: tuple[str, ...] = (
    "removed_products",
    "removed_categories",
    "pinned",
    "recently_shown",
    "consent_override",
    "extra_events",
)
_TEXT_TUPLES = ("categories", "removed_products", "removed_categories", "pinned", "recently_shown")


@dataclass(frozen=True, eq=False)
class SuggestRequest:
    """What to suggest, for which situation, and what the associate already did.

    Parameters
    ----------
    k : int
        How many suggestions (at least 1).
    occasion : str, optional
        evening, work, wedding, travel, gift (the policy's occasions).
    season : str, optional
        A collection code ("FW26"), a word ("winter") or "auto".
    categories : tuple of str
        Only these categories (empty: every category).
    price_min, price_max : float, optional
        Only prices within (non-negative; ``price_min <= price_max``).
    diversity : float in [0, 1]
        MMR strength (0: pure relevance order).
    removed_products, removed_categories : tuple of str
        Removed by associates for this client (from the database): never
        suggested; close neighbours are pushed down.
    pinned : tuple of product ids
        Shown first, in this order (they pass overridable rules); never also removed.
    recently_shown : tuple of product ids
        Shown to the client recently (soft penalty).
    consent_override : bool, optional
        Consent recorded since the data was loaded.
    extra_events : DataFrame, optional
        Events since the data was loaded (fold-in, no refit).
    max_per_designer, max_per_category : int, None or "default"
        Caps for this request (``None``: no cap); "default": the Suggester's.

    Raises
    ------
    ValueError
        For a value outside its range (:data:`RANGES`), ``price_min >
        price_max``, or a product both pinned and removed.

    Notes
    -----
    Iterables are stored as tuples of text (a single string is one item).
    """

    k: int = 12
    occasion: str | None = None
    season: str | None = None
    categories: tuple[str, ...] = ()
    price_min: float | None = None
    price_max: float | None = None
    diversity: float = 0.3
    removed_products: tuple[str, ...] = ()
    removed_categories: tuple[str, ...] = ()
    pinned: tuple[str, ...] = ()
    recently_shown: tuple[str, ...] = ()
    consent_override: bool | None = None
    extra_events: pd.DataFrame | None = None
    max_per_designer: Cap = DEFAULT_CAP
    max_per_category: Cap = DEFAULT_CAP

    def __post_init__(self) -> None:
        for name in _TEXT_TUPLES:
            object.__setattr__(self, name, _texts(getattr(self, name)))
        for name, limits in RANGES.items():
            value = getattr(self, name)
            if value is not None:
                limits.check(name, value)
        lo, hi = self.price_min, self.price_max
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"price_min ({lo:g}) is above price_max ({hi:g}); swap them")
        clash = sorted(set(self.pinned) & set(self.removed_products))
        if clash:
            raise ValueError(
                f"products both pinned and removed: {', '.join(clash[:3])}; unpin or restore them"
            )

    def replace(self, **changes: Any) -> SuggestRequest:
        """A copy with ``changes`` (checked like a new request)."""
        return dataclasses.replace(self, **changes)

    def caps(self, designer: int | None, category: int | None) -> tuple[int | None, int | None]:
        """``(max_per_designer, max_per_category)`` with "default" resolved to the given ones."""
        return _cap(self.max_per_designer, designer), _cap(self.max_per_category, category)

    def client_options(self) -> list[str]:
        """The options set that describe one client's situation (see :data:`CLIENT_OPTIONS`)."""
        return [
            name
            for name in CLIENT_OPTIONS
            if getattr(self, name) is not None and not _empty(getattr(self, name))
        ]

    def as_dict(self) -> dict[str, Any]:
        """The options as plain data (``extra_events`` left out), e.g. to notice a change."""
        out = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name != "extra_events"
        }
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}


def _cap(value: Cap, default: int | None) -> int | None:
    return default if isinstance(value, str) else value


def _texts(values: Iterable[object] | str | None) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        return (values,)
    return tuple(str(v) for v in values)


def _empty(value: object) -> bool:
    return isinstance(value, tuple) and not value
