"""Contributions -> short reasons, for the associate and for the client.

A model's :class:`~core.engine.models.base.Explanation` lists the additive parts of
a suggestion's score. This module turns the largest positive parts into
one-line reasons:

- :func:`associate_reasons`, for the associate on the tablet: every kind of
  signal may be named ("The client viewed the Ivory Silk Blouse").
- :func:`client_reasons`, for what the client sees (lookbook, message): only
  what the client volunteered is mentioned -- purchases they kept for
  themselves, try-ons in a store, their own wishlist, their declared
  preferences -- never browsing, zooms, email opens or clicks, never a
  score, never a sensitive product; addressed to "you". When nothing can be
  said, a neutral line (:data:`CLIENT_FALLBACK`).

Pronouns: the associate wording says "the client" / "their" unless a
pronoun is configured (argument, or a ``pronouns`` column of the client);
gender is never inferred from a name.

Product names go into a sentence through :func:`~core.suggest.safe_text.plain_text`,
and the client's reasons through :func:`~core.suggest.safe_text.client_text`
(both in :mod:`core.suggest.safe_text`, re-exported here).

The next-step part (``kind == "sequence"``) reads "Clients who bought the
<her purchase> often went on to this" for the associate and "A natural next
step after your <purchase>" for the client (only after a piece she kept for
herself).

The visual part (image embeddings, ``kind == "visual"``) reads "Visually
close to the <past piece that looks most like it>" (or "Looks like pieces she
chose") for the associate; the client is never told it, since it
comes from the whole history, browsing included.

An attribute is named once: a category and a subcategory, tag or word that
say the same thing in the singular ("bags" and "bag") make one phrase.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.data.dataset import Dataset
from core.data.schema import split_list
from core.engine.models.base import Contribution, Explanation
from core.engine.purchases import (
    VOLUNTEERED_PURCHASE,
    VOLUNTEERED_TRY_ON,
    VOLUNTEERED_WISHLIST,
    ClientHistory,
)
from core.suggest.catalogue import Catalogue, color_family
from core.suggest.safe_text import BIDI_CONTROLS, MAX_NAME_CHARS, client_text, plain_text

__all__ = [
    "BIDI_CONTROLS",
    "CLIENT_FALLBACK",
    "MAX_NAME_CHARS",
    "REASON_SEPARATOR",
    "Pronouns",
    "associate_reasons",
    "client_reasons",
    "client_reasons_many",
    "client_text",
    "explanation_reasons",
    "plain_text",
]

#: What the client sees when nothing they volunteered explains a suggestion.
CLIENT_FALLBACK = "Selected for you by your advisor"
#: Joins reasons into one line (and splits a line back into reasons).
REASON_SEPARATOR = " · "

_ATTRIBUTE_FACETS = ("designer", "category", "material", "color", "tag", "collection", "word")
_PREFERENCE_COLUMNS = {
    "designer": "pref_designers",
    "category": "pref_categories",
    "color": "pref_colors",
    "material": "pref_materials",
}


@dataclass(frozen=True)
class Pronouns:
    """How associate wording refers to a client: subject and possessive forms."""

    subject: str = "the client"
    possessive: str = "their"

    @classmethod
    def of(cls, pronoun: str | Pronouns | None) -> Pronouns:
        """``None`` -> "the client"/"their"; ``"she"``, ``"he"``, ``"they"`` (or ``"she/her"``...)."""
        if pronoun is None or isinstance(pronoun, Pronouns):
            return pronoun or cls()
        key = str(pronoun).strip().lower().split("/")[0]
        presets = {"she": cls("she", "her"), "he": cls("he", "his"), "they": cls("they", "their")}
        if not key:
            return cls()
        if key not in presets:
            raise ValueError(
                f"unknown pronoun {pronoun!r}; use she, he or they, or pass "
                "Pronouns(subject=..., possessive=...)"
            )
        return presets[key]

    @property
    def Subject(self) -> str:  # noqa: N802 - sentence-initial form
        return self.subject[:1].upper() + self.subject[1:]


def _pronouns(pronoun: str | Pronouns | None, client_row: pd.Series | None) -> Pronouns:
    if pronoun is None and client_row is not None:
        declared = client_row.get("pronouns")
        if isinstance(declared, str) and declared.strip():
            try:
                return Pronouns.of(declared)
            except ValueError:
                return Pronouns()
    return Pronouns.of(pronoun)


# ------------------------------------------------------------------ helpers
#: Only this many of the strongest positive contributions are read for wording.
_SCANNED = 24


def _position(catalogue: Catalogue, product_id: str) -> int:
    """Index of a product in the dataset, or -1."""
    return catalogue.product_position.get(str(product_id), -1)


def _split_source(source: str) -> tuple[str, str]:
    facet, _, value = str(source).partition("=")
    return (facet.strip().lower(), value.strip()) if value else ("", facet.strip())


def _attribute_phrase(facet: str, value: str) -> str | None:
    """How an associate says a matched attribute ("cashmere", "neutral tones", ...)."""
    v = plain_text(value, 60)
    if not v:
        return None
    if facet == "color":
        return color_family(v)
    if facet == "tag":
        return f"a {v} style"
    if facet == "collection":
        return f"the {v} collection"
    if facet == "price_band":
        return "this price range"
    if facet == "warmth":
        return {
            "light": "light, warm-weather pieces",
            "medium": "mid-weight pieces",
            "heavy": "warm, cold-weather pieces",
        }.get(v.lower(), f"{v}-weight pieces")
    if facet == "flag":
        return {"sustainable": "sustainable pieces", "limited_edition": "limited editions"}.get(
            v.lower(), v
        )
    return v


def _singular(word: str) -> str:
    """A word's singular, by the plain English endings ("bags" -> "bag", "dresses" -> "dress")."""
    w = word.lower()
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 4 and w.endswith(("sses", "xes", "ches", "shes")):
        return w[:-2]
    if len(w) > 2 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


def _name_key(value: str) -> str:
    """What an attribute value names, so that "bags" (a category) and "bag" (a
    subcategory, tag or word) are said once."""
    return " ".join(_singular(w) for w in re.split(r"[\s_-]+", value.strip()) if w)


def _join(phrases: list[str]) -> str:
    return phrases[0] if len(phrases) == 1 else f"{', '.join(phrases[:-1])} and {phrases[-1]}"


def _store_city(dataset: Dataset, client_row: pd.Series | None) -> str | None:
    if client_row is None:
        return None
    catalogue = Catalogue.of(dataset)
    home = str(client_row.get("home_store_id") or "")
    city = catalogue.store_cities.get(home)
    return plain_text(city, 60) if city else None


def _prior_reason(
    source: str, dataset: Dataset, client_row: pd.Series | None, *, client: bool
) -> str | None:
    """Wording of a prior: new arrival, trend (maison or a store's), popularity."""
    s = str(source).strip().lower()
    tokens = set(re.split(r"[^a-z0-9]+", s))
    store_id = None
    m = re.search(r"store(?:_trend)?=([^;|,\s]+)", str(source))
    if m:
        store_id = m.group(1)
    catalogue = Catalogue.of(dataset)
    if store_id is not None:
        city = catalogue.store_cities.get(store_id)
        city = plain_text(city, 60) if city else None
    else:
        city = _store_city(dataset, client_row)
    if tokens & {"new", "arrival", "launch", "cold"}:
        return "New this season" if client else "New arrival"
    if tokens & {"trend", "trending", "momentum"} or "store_trend" in s:
        if client:
            return f"A favourite in {city} right now" if city else "Much loved right now"
        return f"Trending in {city}" if city else "Trending now"
    if tokens & {"popularity", "popular", "bestseller", "bestsellers"}:
        if store_id is not None:
            if client:
                return f"A favourite in {city}" if city else "A maison favourite"
            return f"Popular in {city}" if city else "Popular in the store"
        return "A maison favourite" if client else "Popular across the maison"
    return None


# --------------------------------------------------------------- associate
def associate_reasons(
    expl: Explanation,
    dataset: Dataset,
    client_row: pd.Series | None = None,
    n: int = 3,
    *,
    pronoun: str | Pronouns | None = None,
    named_before: Counter[str] | None = None,
) -> list[str]:
    """Up to ``n`` reasons for the associate, strongest contribution first.

    One recent, heavily weighted piece (a zoom on a watch yesterday) can be
    the largest part of nearly every suggestion of a list, and a list whose
    every card says "The client looked closely at the Opera chronograph"
    tells the associate nothing card by card. With ``named_before`` (the
    past pieces earlier cards of the list named, counted; updated here with
    the ones this card names), a piece already named on
    :data:`REPEATS_BEFORE_YIELDING` cards yields to any other part of this
    card at least :data:`YIELD_SHARE` as large: it is ordered as if it were
    that much smaller. Every reason said is still one of the card's own
    largest parts; only which of them comes first changes.

    Parameters
    ----------
    expl : Explanation
        From the model's ``explain``.
    dataset : Dataset
        For product names and the client's home store.
    client_row : Series, optional
        The client (home store city for "Trending in Paris", pronouns).
    n : int
    pronoun : str or Pronouns, optional
        ``"she"``, ``"he"``, ``"they"``; default "the client"/"their".

    Returns
    -------
    list of str
        E.g. ``["Because the client bought the Black Calfskin Tote",
        "Matches their preference for cashmere and neutral tones",
        "New arrival"]``; never empty.
    """
    pr = _pronouns(pronoun, client_row)
    catalogue = Catalogue.of(dataset)
    out: list[str] = []
    groups = {"attribute": _Group(), "preference": _Group()}
    stepped = False
    named: set[str] = set()  # past pieces a reason names: each once, by its strongest part
    piece_of: dict[str, str] = {}  # reason -> the past piece it names
    for c in _said_order(_positive(expl.contributions)[:_SCANNED], named_before):
        if len(out) >= n and c.kind not in groups:
            continue  # cannot make the cut; attributes may still join a grouped reason
        if c.kind == "item":
            j = _position(catalogue, c.source)
            if j < 0 or str(c.source) in named:
                continue
            named.add(str(c.source))
            if str(c.source) == str(expl.product_id):
                out.append(_associate_self(c.event_type, pr))
            else:
                out.append(_associate_item(c.event_type, plain_text(catalogue.names[j]), pr))
                piece_of[out[-1]] = str(c.source)
        elif c.kind in groups:
            facet, value = _split_source(c.source)
            phrase = _attribute_phrase(facet, value)
            if phrase is not None:
                groups[c.kind].add(phrase, out, key=_name_key(value))
        elif c.kind == "visual":
            out.append(_visual_reason(c.source, catalogue, pr))
        elif c.kind == "sequence":
            j = _position(catalogue, c.source)
            if j >= 0 and not stepped and str(c.source) not in named:
                stepped = True  # the strongest purchase that leads here, once
                named.add(str(c.source))
                out.append(_associate_next_step(plain_text(catalogue.names[j])))
                piece_of[out[-1]] = str(c.source)
        else:
            text = _prior_reason(c.source, dataset, client_row, client=False)
            out.append(text or f"Fits {pr.possessive} overall taste")
    for kind, what in (("attribute", "preference"), ("preference", "stated preference")):
        group = groups[kind]
        if group.slot is not None:
            out[group.slot] = f"Matches {pr.possessive} {what} for {_join(group.phrases)}"
    reasons = _dedupe(r for r in out if r)[:n]
    if named_before is not None:
        named_before.update({piece_of[r] for r in reasons if r in piece_of})
    return reasons or [f"A good fit for {pr.possessive} overall taste"]


#: Cards of a list that may name the same past piece before it yields (:func:`associate_reasons`).
REPEATS_BEFORE_YIELDING = 2
#: How large another part must be, relative to a much-named piece's, to be said before it.
YIELD_SHARE = 0.5


def _said_order(parts: list[Contribution], named_before: Counter[str] | None) -> list[Contribution]:
    """``parts`` (largest first) with much-named pieces ordered as if :data:`YIELD_SHARE` as large."""
    if not named_before:
        return parts

    def weight(c: Contribution) -> float:
        worn = c.kind in ("item", "sequence") and (
            named_before[str(c.source)] >= REPEATS_BEFORE_YIELDING
        )
        return c.value * YIELD_SHARE if worn else c.value

    return sorted(parts, key=lambda c: -weight(c))


def _visual_reason(source: str, catalogue: Catalogue, pr: Pronouns) -> str:
    """The visual part, by the past piece it looks most like when the model named one."""
    j = _position(catalogue, source)
    if j < 0:
        return f"Looks like pieces {pr.subject} chose"
    return f"Visually close to the {plain_text(catalogue.names[j])}"


@dataclass
class _Group:
    """Attribute phrases said as one reason, at the place of the first of them."""

    slot: int | None = None
    phrases: list[str] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)

    def add(self, phrase: str, out: list[str], *, key: str = "") -> None:
        """Add ``phrase`` unless it (or another name of the same thing, ``key``) is there."""
        fresh = phrase not in self.phrases and (not key or key not in self.keys)
        if fresh and len(self.phrases) < 2:
            self.phrases.append(phrase)
            self.keys.add(key)
        if self.slot is None:
            self.slot = len(out)
            out.append("")


def _associate_item(event_type: str | None, name: str, pr: Pronouns) -> str:
    s, S = pr.subject, pr.Subject
    return {
        "purchase": f"Because {s} bought the {name}",
        "try_on": f"{S} tried on the {name}",
        "wishlist": f"{S} wishlisted the {name}",
        "zoom": f"{S} looked closely at the {name}",
        "view": f"{S} viewed the {name}",
        "email_click": f"{S} clicked the {name} in an email",
        "email_open": f"{S} opened an email featuring the {name}",
    }.get(event_type or "", f"Close to the {name} in {pr.possessive} history")


def _associate_next_step(name: str) -> str:
    """The next-step part, by the client's purchase whose buyers went on to this piece."""
    return f"Clients who bought the {name} often went on to this"


def _associate_self(event_type: str | None, pr: Pronouns) -> str:
    """The suggested product's own part of its score (the client already met it)."""
    S = pr.Subject
    return {
        "purchase": f"{S} bought it before",
        "try_on": f"{S} tried it on",
        "wishlist": f"On {pr.possessive} wishlist",
        "zoom": f"{S} looked closely at it",
        "view": f"{S} viewed it",
        "email_click": f"{S} clicked it in an email",
        "email_open": f"{S} opened an email featuring it",
    }.get(event_type or "", f"Already in {pr.possessive} history")


# ------------------------------------------------------------------ client
def client_reasons(
    expl: Explanation,
    dataset: Dataset,
    client_row: pd.Series | None = None,
    n: int = 2,
    history: ClientHistory | None = None,
) -> list[str]:
    """Up to ``n`` reasons the client may read, strongest first.

    Only what the client volunteered is named: a product they bought and
    kept for themselves, tried on in a store, or saved to their wishlist
    (checked against the dataset, not just the contribution's event type),
    attributes they declared or that their own such products carry, and
    neutral priors ("New this season"). Views, zooms, email opens and
    clicks, gift purchases, returned items, sensitive products and scores
    are never mentioned.

    Returns
    -------
    list of str
        E.g. ``["To pair with your Black Calfskin Tote", "In the cashmere
        you love"]``; ``[CLIENT_FALLBACK]`` when nothing can be said.
        ``history`` is what the client volunteered when the caller knows more
        than the dataset (:meth:`Catalogue.history`).
    """
    facts = _client_facts(Catalogue.of(dataset), expl.client_id, client_row, history)
    return _client_reasons(expl, dataset, client_row, n, facts)


def client_reasons_many(
    expls: Sequence[Explanation],
    dataset: Dataset,
    client_row: pd.Series | None = None,
    n: int = 2,
    history: ClientHistory | None = None,
) -> list[list[str]]:
    """:func:`client_reasons` for several explanations of one client (reads their data once).

    ``history`` is what the client volunteered when the request knew more than
    the dataset (:meth:`Catalogue.history`); by default their row of the dataset.
    """
    if not expls:
        return []
    ids = {e.client_id for e in expls}
    if len(ids) > 1:
        raise ValueError(f"explanations of one client expected, got {len(ids)} clients")
    facts = _client_facts(Catalogue.of(dataset), expls[0].client_id, client_row, history)
    return [_client_reasons(e, dataset, client_row, n, facts) for e in expls]


@dataclass(frozen=True)
class _ClientFacts:
    """What a client volunteered: product index -> code, and attribute values they own or declared."""

    volunteered: dict[int, int] | None
    safe: dict[str, set[str]]


def _client_facts(
    catalogue: Catalogue,
    client_id: str,
    client_row: pd.Series | None,
    history: ClientHistory | None = None,
) -> _ClientFacts:
    if history is None:
        volunteered = _volunteered(catalogue, client_id)
    else:
        volunteered = history.volunteered_codes()
    return _ClientFacts(volunteered, _safe_attributes(catalogue, client_row, volunteered))


def _client_reasons(
    expl: Explanation,
    dataset: Dataset,
    client_row: pd.Series | None,
    n: int,
    facts: _ClientFacts,
) -> list[str]:
    catalogue = Catalogue.of(dataset)
    t = _position(catalogue, expl.product_id)
    target_cat = -1 if t < 0 else int(catalogue.category_codes[0][t])
    out: list[str] = []
    attrs: list[tuple[str, str]] = []
    attr_slot: int | None = None
    stepped = False
    named: set[str] = set()  # past pieces a reason names: each once, by its strongest part
    for c in _positive(expl.contributions)[:_SCANNED]:
        if len(out) >= n and c.kind not in ("attribute", "preference"):
            continue
        if c.kind == "item":
            text = (
                None
                if str(c.source) in named
                else _client_item(c, expl, catalogue, facts.volunteered, target_cat)
            )
            if text:
                named.add(str(c.source))
                out.append(text)
        elif c.kind == "sequence":
            text = None
            if not stepped and str(c.source) not in named:
                text = _client_next_step(c, catalogue, facts.volunteered)
            if text:
                stepped = True
                named.add(str(c.source))
                out.append(text)
        elif c.kind in ("attribute", "preference"):
            facet, value = _split_source(c.source)
            declared = c.kind == "preference"
            if declared and facet == "price_band":
                value = "declared"
            elif not _client_may_see(facet, value, declared, facts.safe):
                continue
            if _name_key(value) not in {_name_key(v) for _, v in attrs}:
                attrs.append((facet, value))
            if attr_slot is None:
                attr_slot = len(out)
                out.append("")
        elif c.kind == "prior":
            text = _prior_reason(c.source, dataset, client_row, client=True)
            if text:
                out.append(text)
    if attr_slot is not None:
        out[attr_slot] = _client_attribute(*attrs[0])
        extra = [_client_attribute(f, v) for f, v in attrs[1:2]]
        out[attr_slot + 1 : attr_slot + 1] = extra
    reasons = _dedupe(client_text(r) for r in out if r)[:n]
    return reasons or [CLIENT_FALLBACK]


def _client_may_see(facet: str, value: str, declared: bool, safe: dict[str, set[str]]) -> bool:
    """Whether client wording may name this attribute (declared, or on their own items)."""
    if facet not in _PREFERENCE_COLUMNS and facet != "tag":
        return False
    return declared or value.strip().lower() in safe.get(facet, set())


def _volunteered(catalogue: Catalogue, client_id: str) -> dict[int, int] | None:
    """Product index -> volunteered code for a known client; ``None`` for unknown clients."""
    idx = catalogue.dataset.client_ids.to_internal([client_id], strict=False)[0]
    if idx < 0:
        return None
    row = catalogue.volunteered[int(idx)]
    return dict(zip(row.indices.tolist(), row.data.astype(int).tolist(), strict=True))


def _client_item(
    c: Contribution,
    expl: Explanation,
    catalogue: Catalogue,
    volunteered: dict[int, int] | None,
    target_cat: int,
) -> str | None:
    j = _position(catalogue, c.source)
    if j < 0 or catalogue.sensitive[j]:
        return None
    if volunteered is None:
        # A client not in the data (fold-in only): trust only purchases and wishlists.
        code = {"purchase": VOLUNTEERED_PURCHASE, "wishlist": VOLUNTEERED_WISHLIST}.get(
            c.event_type or ""
        )
    else:
        code = volunteered.get(j)
    if code is None:
        return None
    if str(c.source) == str(expl.product_id):
        return {
            VOLUNTEERED_PURCHASE: "A favourite of yours, again",
            VOLUNTEERED_TRY_ON: "You tried it on in store",
            VOLUNTEERED_WISHLIST: "From your wishlist",
        }[code]
    name = plain_text(catalogue.names[j])
    if code == VOLUNTEERED_PURCHASE:
        same = int(catalogue.category_codes[0][j]) == target_cat
        return f"In the spirit of your {name}" if same else f"To pair with your {name}"
    if code == VOLUNTEERED_TRY_ON:
        return f"Following the {name} you tried on"
    return f"To go with the {name} on your wishlist"


def _client_next_step(
    c: Contribution, catalogue: Catalogue, volunteered: dict[int, int] | None
) -> str | None:
    """The next-step part for the client: only after a piece they bought and kept for themselves."""
    j = _position(catalogue, c.source)
    if j < 0 or catalogue.sensitive[j]:
        return None
    if volunteered is None:
        bought = c.event_type == "purchase"
    else:
        bought = volunteered.get(j) == VOLUNTEERED_PURCHASE
    return f"A natural next step after your {plain_text(catalogue.names[j])}" if bought else None


def _safe_attributes(
    catalogue: Catalogue, client_row: pd.Series | None, volunteered: dict[int, int] | None
) -> dict[str, set[str]]:
    """Attribute values the client declared or that their own volunteered products carry."""
    safe: dict[str, set[str]] = {f: set() for f in (*_PREFERENCE_COLUMNS, "tag")}
    if client_row is not None:
        for facet, col in _PREFERENCE_COLUMNS.items():
            safe[facet] |= {v.lower() for v in split_list(client_row.get(col, ""))}
    if volunteered:
        idx = np.fromiter(volunteered, dtype=np.int64)
        idx = idx[~catalogue.sensitive[idx]]
        for facet in _PREFERENCE_COLUMNS:
            safe[facet] |= {
                str(v) for v in catalogue.column("products", facet)[idx] if str(v).strip()
            }
        for tags in catalogue.column("products", "style_tags")[idx]:
            safe["tag"] |= set(split_list(tags))
    return safe


def _client_attribute(facet: str, value: str) -> str:
    if facet == "price_band":
        return "In the price range you prefer"
    v = plain_text(value, 60)
    if facet == "material":
        return f"In the {v} you love"
    if facet == "color":
        return f"In {v}, a colour you love"
    if facet == "designer":
        return f"By {v}, a designer you love"
    if facet == "category":
        return f"From the {v} you love"
    return f"In the {v} style you love"


# ------------------------------------------------------------------ common
def _positive(contributions: Iterable[Contribution]) -> list[Contribution]:
    parts = [c for c in contributions if np.isfinite(c.value) and c.value > 0]
    return sorted(parts, key=lambda c: -c.value)


def _dedupe(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def explanation_reasons(
    expl: Explanation,
    dataset: Dataset,
    client_row: pd.Series | None = None,
    *,
    n_associate: int = 3,
    n_client: int = 2,
    pronoun: str | Pronouns | None = None,
) -> tuple[list[str], list[str]]:
    """Both wordings at once: ``(associate_reasons(...), client_reasons(...))``."""
    return (
        associate_reasons(expl, dataset, client_row, n_associate, pronoun=pronoun),
        client_reasons(expl, dataset, client_row, n_client),
    )
