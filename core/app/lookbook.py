"""The client-facing lookbook: plain data and a message text (the PDF: :mod:`.lookbook_pdf`).

A lookbook is what a client receives when an associate shares a curated list.
It carries client wording only: no scores, no internal notes, no sensitive
product unless the associate added it by hand, and no reason that reveals
what the client did not volunteer (browsing, zooms, email opens).

Every text field is treated as literal text: HTML, Markdown, emoji and
right-to-left script come out as typed (the message is plain text), after the
one cleaning of client-facing text, :func:`core.suggest.reasons.client_text`
(no bidirectional or other control characters), which the lookbook's fields
and its message go through here, and its PDF in :mod:`core.app.lookbook_pdf`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import date
from typing import Any

import pandas as pd

from core.data.schema import COLS
from core.data.values import is_true
from core.suggest.safe_text import client_text

#: Columns of ``items`` that :func:`build_lookbook` reads (all optional but ``product_id``).
LOOKBOOK_COLUMNS: tuple[str, ...] = (
    COLS.product_id,
    COLS.name,
    COLS.designer,
    COLS.category,
    COLS.color,
    COLS.price,
    COLS.currency,
    COLS.client_reason,
    COLS.source,
    COLS.sensitive,
)

#: Words a client-facing reason must never contain: they reveal signals the
#: client did not volunteer (or internal arithmetic).
FORBIDDEN_CLIENT_WORDS: tuple[str, ...] = (
    "view",
    "zoom",
    "email",
    "e-mail",
    "newsletter",
    "browse",
    "browsing",
    "clicked",
    "opened",
    "looked at",
    "score",
    "model",
    "algorithm",
    "return",
)
_FORBIDDEN_RE = re.compile(
    r"\b(" + "|".join(re.escape(w) for w in FORBIDDEN_CLIENT_WORDS) + r")", re.IGNORECASE
)
_DECIMAL_RE = re.compile(r"\d+\.\d+")

CURRENCY_SYMBOLS: Mapping[str, str] = {
    "EUR": "€",
    "GBP": "£",
    "USD": "$",
    "JPY": "¥",
    "CNY": "¥",
    "CHF": "CHF ",
}


@dataclass(frozen=True)
class LookbookItem:
    """One product as the client sees it (client-facing text only)."""

    product_id: str
    name: str
    designer: str
    category: str
    color: str
    price_text: str
    text: str


@dataclass(frozen=True)
class Lookbook:
    """Everything a client receives, as plain data.

    ``items`` are in the associate's order. :meth:`to_snapshot` is what the
    shares table stores: exactly what the client saw.
    """

    title: str
    greeting: str
    message: str
    items: tuple[LookbookItem, ...]
    closing: str
    signature: str
    house_name: str
    date_text: str
    dropped: tuple[str, ...] = field(default=())

    def to_snapshot(self) -> dict[str, Any]:
        """A JSON-ready dict of the lookbook (``dropped`` is internal and left out)."""
        data = asdict(self)
        data.pop("dropped", None)
        data["items"] = [asdict(i) for i in self.items]
        return data

    @classmethod
    def from_snapshot(cls, data: Mapping[str, Any]) -> Lookbook:
        """Rebuild the lookbook a share stored (:meth:`to_snapshot`); extra keys are ignored."""
        names = {f.name for f in fields(LookbookItem)}
        items = tuple(
            LookbookItem(**{k: str(v) for k, v in dict(i).items() if k in names})
            for i in data.get("items", ())
        )
        return cls(
            title=str(data.get("title", "")),
            greeting=str(data.get("greeting", "")),
            message=str(data.get("message", "")),
            items=items,
            closing=str(data.get("closing", "")),
            signature=str(data.get("signature", "")),
            house_name=str(data.get("house_name", "")),
            date_text=str(data.get("date_text", "")),
        )

    @property
    def product_ids(self) -> list[str]:
        return [i.product_id for i in self.items]


# ----------------------------------------------------------------- helpers
def _text(value: Any) -> str:
    """A cell as client text ('' for missing): :func:`~core.suggest.reasons.client_text`."""
    if value is None:
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return client_text(value)


def _truthy(value: Any) -> bool:
    return is_true(value)


def format_price(price: Any, currency: Any = "EUR") -> str:
    """A price as it is shown: symbol and whole units (``€1,250``), '' if unknown.

    The one price formatter of the lookbook, the cards and the charts. A
    currency without a symbol is written after the amount (``10 SEK``); a
    missing currency is EUR.
    """
    try:
        amount = float(price)
    except (TypeError, ValueError):
        return ""
    if amount != amount or amount < 0:  # NaN or nonsense
        return ""
    code = _text(currency).strip().upper() or "EUR"
    symbol = CURRENCY_SYMBOLS.get(code)
    whole = f"{round(amount):,}"
    return f"{symbol}{whole}" if symbol else f"{whole} {code}"


def is_client_safe(text: str) -> bool:
    """Whether a reason can be shown to the client (no hidden signals, no scores)."""
    return not _FORBIDDEN_RE.search(text) and not _DECIMAL_RE.search(text)


def _fallback_text(row: Mapping[str, object]) -> str:
    designer = _text(row.get("designer"))
    category = _text(row.get("category")).replace("_", " ")
    if designer and category:
        return f"A {category} by {designer}, chosen with you in mind."
    return "Chosen with you in mind."


# ------------------------------------------------------------------- build
def build_lookbook(
    client_row: Mapping[str, object] | pd.Series,
    items: pd.DataFrame | Iterable[Mapping[str, object]],
    associate_name: str,
    house_name: str,
    *,
    message: str = "",
    on: date | None = None,
) -> Lookbook:
    """Turn a curated list into the lookbook a client receives.

    Parameters
    ----------
    client_row : mapping or Series
        The client (``first_name``, ``last_name`` are read; nothing else).
    items : DataFrame or iterable of mappings
        The list's items in order, with the columns of :data:`LOOKBOOK_COLUMNS`.
        ``client_reason`` must be client wording (:mod:`core.suggest.reasons`); a
        reason that mentions browsing, zooms, emails or a number with decimals
        is replaced by a neutral line. Internal columns (``score``, ``note``,
        associate reasons) are ignored.
    associate_name, house_name : str
        Who signs the lookbook, and for which house.
    message : str
        An optional personal message the associate wrote for the client.
    on : date, optional
        The date printed on the lookbook (default: today).

    Returns
    -------
    Lookbook
        Sensitive products appear only when ``source == "manual"`` (added by
        the associate); the ids of those left out are in ``dropped``.
    """
    frame = items if isinstance(items, pd.DataFrame) else pd.DataFrame(list(items))
    rows: list[dict[Any, Any]] = frame.to_dict("records")
    out: list[LookbookItem] = []
    dropped: list[str] = []
    seen: set[str] = set()
    for row in rows:
        pid = _text(row.get("product_id"))
        if not pid or pid in seen:
            continue
        seen.add(pid)
        if _truthy(row.get("sensitive")) and _text(row.get("source")) != "manual":
            dropped.append(pid)
            continue
        out.append(_lookbook_item(row, pid))
    return _dressed(client_row, associate_name, house_name, message, on, out, dropped)


def _lookbook_item(row: Mapping[str, object], pid: str) -> LookbookItem:
    """One product in client wording (a reason that is not client-safe becomes a neutral line)."""
    reason = _text(row.get("client_reason")).strip()
    if not reason or not is_client_safe(reason):
        reason = _fallback_text(row)
    return LookbookItem(
        product_id=pid,
        name=_text(row.get("name")) or pid,
        designer=_text(row.get("designer")),
        category=_text(row.get("category")).replace("_", " "),
        color=_text(row.get("color")),
        price_text=format_price(row.get("price"), row.get("currency")),
        text=reason,
    )


def _dressed(
    client_row: Mapping[str, object] | pd.Series,
    associate_name: str,
    house_name: str,
    message: str,
    on: date | None,
    out: list[LookbookItem],
    dropped: list[str],
) -> Lookbook:
    """The lookbook around its items: title, greeting, message, signature, date."""
    first = _text(client_row.get("first_name")).strip()
    last = _text(client_row.get("last_name")).strip()
    name = first or last
    associate = _text(associate_name).strip() or "Your advisor"
    house = _text(house_name).strip() or "Atelier"
    day = on or date.today()
    return Lookbook(
        title=f"A selection for {name}" if name else "A selection for you",
        greeting=f"Dear {name}," if name else "Hello,",
        message=_text(message).strip()
        or "I have put together a few pieces I believe you will love. "
        "Each one is waiting for you in store; I would be delighted to show you.",
        items=tuple(out),
        closing="With warm regards,",
        signature=f"{associate}\n{house}",
        house_name=house,
        date_text=day.strftime("%d %B %Y").lstrip("0"),
        dropped=tuple(dropped),
    )


# ----------------------------------------------------------------- message
def lookbook_message(lookbook: Lookbook) -> str:
    """The lookbook as a plain-text message to paste into a chat or an email.

    Text is literal: nothing is escaped or interpreted. It is cleaned once more
    (:func:`~core.suggest.reasons.client_text`), for lookbooks rebuilt from a
    share stored before that cleaning existed.
    """
    lines = [lookbook.greeting, "", lookbook.message, ""]
    for n, item in enumerate(lookbook.items, start=1):
        head = item.name
        if item.designer:
            head += f" — {item.designer}"
        if item.price_text:
            head += f" — {item.price_text}"
        lines.append(f"{n}. {head}")
        if item.text:
            lines.append(f"   {item.text}")
    lines += ["", lookbook.closing, lookbook.signature]
    return client_text("\n".join(lines)).strip() + "\n"
