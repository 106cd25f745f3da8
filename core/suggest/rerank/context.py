"""Context lifts: an occasion, a season, and a client's upcoming birthday or anniversary.

:func:`context_boosts` returns, per product, how much each lift adds to the
[0, 1]-scaled relevance (see :mod:`core.suggest.rules`), with the words to show
the associate and the client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.data.dataset import Dataset
from core.suggest.catalogue import Catalogue
from core.suggest.policy import ContextConfig
from core.suggest.rules import RuleSet

_WARM_HALVES = ("SS", "SP", "RE", "CR")
_COLD_HALVES = ("FW", "AW", "FA", "HO", "PF")
_SEASON_WORDS = {
    "spring": "warm",
    "summer": "warm",
    "autumn": "cold",
    "fall": "cold",
    "winter": "cold",
}


@dataclass(frozen=True)
class Boost:
    """One context lift: ``amount`` per product and its wording."""

    name: str
    amount: np.ndarray
    associate: str
    client: str


@dataclass(frozen=True)
class ContextBoosts:
    """Every context lift for one request.

    Attributes
    ----------
    total : ndarray, shape (n_products,)
        Sum of the lifts, added to [0, 1]-scaled relevance by the pipeline.
    parts : tuple of Boost
    """

    total: np.ndarray
    parts: tuple[Boost, ...] = ()

    def reasons(self, j: int) -> tuple[list[str], list[str]]:
        """(associate wording, client wording) of the lifts product ``j`` received."""
        hits = [b for b in self.parts if b.amount[j] > 0]
        return [b.associate for b in hits], [b.client for b in hits]


def season_codes(season: str, as_of: pd.Timestamp) -> tuple[list[str], str]:
    """Collections to lift and the warmth half (``"warm"``/``"cold"``) for a season.

    ``season`` is a collection code (``"FW26"``), a word (``"winter"``) or
    ``"auto"`` (the collection current at ``as_of`` and the next one).

    Raises
    ------
    ValueError
        For anything else.
    """
    s = str(season).strip()
    low = s.lower()
    if low == "auto":
        yy = as_of.year % 100
        if as_of.month < 7:
            return [f"SS{yy:02d}", f"FW{yy:02d}"], "warm"
        return [f"FW{yy:02d}", f"SS{(yy + 1) % 100:02d}"], "cold"
    if low in _SEASON_WORDS:
        return [], _SEASON_WORDS[low]
    up = s.upper()
    if len(up) == 4 and up[2:].isdigit():
        if up[:2] in _WARM_HALVES:
            return [up], "warm"
        if up[:2] in _COLD_HALVES:
            return [up], "cold"
    raise ValueError(
        f"unknown season {season!r}; use a collection code like 'FW26' or 'SS27', a word "
        "(spring, summer, autumn, fall, winter) or 'auto'"
    )


def days_until(date: Any, as_of: pd.Timestamp) -> int | None:
    """Days from ``as_of`` to the next yearly recurrence of ``date`` (0 = today)."""
    if date is None or (not isinstance(date, pd.Timestamp) and pd.isna(date)):
        return None
    d = pd.Timestamp(date)
    if pd.isna(d):
        return None
    today = pd.Timestamp(as_of).normalize()
    for year in (today.year, today.year + 1):
        day = d.day
        if (
            d.month == 2
            and d.day == 29
            and not pd.Timestamp(year=year, month=1, day=1).is_leap_year
        ):
            day = 28
        nxt = pd.Timestamp(year=year, month=d.month, day=day)
        if nxt >= today:
            return int((nxt - today).days)
    return None  # pragma: no cover


def context_boosts(
    dataset: Dataset,
    *,
    occasion: str | None = None,
    season: str | None = None,
    client_row: pd.Series | None = None,
    as_of: pd.Timestamp | None = None,
    config: ContextConfig | None = None,
) -> ContextBoosts:
    """Lifts for an occasion, a season and the client's upcoming dates.

    Parameters
    ----------
    dataset : Dataset
    occasion : str, optional
        A key of ``config.occasions`` (evening, work, wedding, travel, gift).
    season : str, optional
        See :func:`season_codes`.
    client_row : Series, optional
        The client; their birthday and anniversary lift giftable products
        when within ``config.dates.within_days``. Pass it only for
        personalised suggestions.
    as_of : Timestamp, optional
        "Today"; default ``dataset.as_of``.
    config : ContextConfig, optional
        Default: the shipped policy's ``[context]``.

    Raises
    ------
    ValueError
        For an unknown occasion or season.
    """
    config = config if config is not None else RuleSet.default_for(dataset).context
    catalogue = Catalogue.of(dataset)
    as_of = pd.Timestamp(as_of) if as_of is not None else dataset.as_of
    parts: list[Boost] = []
    if occasion is not None:
        parts.append(_occasion_boost(catalogue, occasion, config))
    if season is not None:
        parts += _season_boosts(catalogue, season, as_of, config)
    if client_row is not None:
        date = _date_boost(catalogue, client_row, as_of, config)
        if date is not None:
            parts.append(date)
    total = np.zeros(catalogue.n_products, dtype=np.float64)
    for b in parts:
        total += b.amount
    return ContextBoosts(total=total, parts=tuple(parts))


def _occasion_boost(catalogue: Catalogue, occasion: str, config: ContextConfig) -> Boost:
    spec = config.occasions.get(str(occasion).strip().lower())
    if spec is None:
        raise ValueError(
            f"unknown occasion {occasion!r}; known: {', '.join(sorted(config.occasions))}"
        )
    m = catalogue.keyword_mask(spec.keywords)
    return Boost(f"occasion:{occasion}", np.where(m, spec.boost, 0.0), spec.label, spec.label)


def _season_boosts(
    catalogue: Catalogue, season: str, as_of: pd.Timestamp, config: ContextConfig
) -> list[Boost]:
    """The chosen (or current and next) collection, then pieces of the season's warmth."""
    codes, half = season_codes(season, as_of)
    coll = catalogue.column("products", "collection")
    sc = config.season
    parts = []
    for i, code in enumerate(codes):
        amount = sc.collection_boost if i == 0 else sc.next_collection_boost
        m = coll == code.lower()
        label = f"From the {code} collection"
        parts.append(Boost(f"season:{code}", np.where(m, amount, 0.0), label, label))
    warm = catalogue.warmth
    m = np.isin(warm, ["heavy", "medium"]) if half == "cold" else warm == "light"
    parts.append(
        Boost(
            "season:warmth",
            np.where(m, sc.warmth_boost, 0.0),
            "Right for the season",
            "Right for the season",
        )
    )
    return parts


def _date_boost(
    catalogue: Catalogue, client_row: pd.Series, as_of: pd.Timestamp, config: ContextConfig
) -> Boost | None:
    """Giftable products before the client's soonest birthday or anniversary, if near."""
    dc = config.dates
    soonest: tuple[int, str] | None = None
    for col, what in (("birthday", "birthday"), ("anniversary", "anniversary")):
        days = days_until(client_row.get(col), as_of)
        if days is not None and days <= dc.within_days and (soonest is None or days < soonest[0]):
            soonest = (days, what)
    if soonest is None:
        return None
    days, what = soonest
    m = catalogue.category_mask(dc.categories) | catalogue.keyword_mask(dc.keywords)
    when = "today" if days == 0 else "tomorrow" if days == 1 else f"in {days} days"
    return Boost(
        f"date:{what}",
        np.where(m, dc.boost, 0.0),
        f"{what.capitalize()} {when}",
        f"For your {what}",
    )
