"""The client-facing lookbook: plain data, a PDF and a message text.

A lookbook is what a client receives when an associate shares a curated list.
It carries client wording only: no scores, no internal notes, no sensitive
product unless the associate added it by hand, and no reason that reveals
what the client did not volunteer (browsing, zooms, email opens).

Every text field is treated as literal text: HTML, Markdown, emoji and
right-to-left script come out as typed (the PDF has no markup mode on, the
message is plain text). The PDF embeds a Unicode TrueType font (DejaVu from
the system when present); glyphs the font lacks are replaced rather than
crashing, and long words are broken across lines.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from core.data.schema import COLS
from core.data.values import is_true

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

#: Swatch colours for the usual colour names (anything else gets a neutral sand).
COLOR_RGB: Mapping[str, tuple[int, int, int]] = {
    "black": (28, 26, 24),
    "white": (246, 244, 240),
    "ivory": (240, 234, 218),
    "cream": (238, 228, 206),
    "beige": (217, 200, 173),
    "camel": (193, 154, 107),
    "tan": (196, 160, 120),
    "cognac": (140, 82, 45),
    "brown": (110, 76, 52),
    "chocolate": (82, 52, 36),
    "taupe": (150, 134, 118),
    "grey": (140, 140, 140),
    "gray": (140, 140, 140),
    "charcoal": (64, 64, 66),
    "navy": (31, 42, 68),
    "blue": (52, 86, 150),
    "sky": (150, 190, 225),
    "green": (58, 110, 76),
    "olive": (110, 112, 60),
    "khaki": (160, 150, 100),
    "red": (170, 32, 40),
    "burgundy": (110, 24, 40),
    "pink": (230, 170, 180),
    "blush": (236, 196, 190),
    "purple": (100, 60, 120),
    "lilac": (190, 170, 210),
    "yellow": (226, 190, 70),
    "orange": (220, 120, 50),
    "gold": (201, 164, 80),
    "silver": (192, 192, 196),
    "multicolor": (170, 140, 160),
}
_DEFAULT_RGB = (221, 213, 200)

_FONT_DIRS: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/TTF"),
    Path("/usr/local/share/fonts"),
    Path("/Library/Fonts"),
    Path("C:/Windows/Fonts"),
)


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
    """A cell as text ('' for missing), without control characters but newlines."""
    if value is None:
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    text = str(value)
    return "".join(
        ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs")
    )


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


def color_rgb(color: str) -> tuple[int, int, int]:
    """The swatch colour of a colour name (first known word wins; sand otherwise)."""
    for word in re.split(r"[\s/_-]+", (color or "").lower()):
        if word in COLOR_RGB:
            return COLOR_RGB[word]
    return _DEFAULT_RGB


def _fallback_text(row: Mapping[str, Any]) -> str:
    designer = _text(row.get("designer"))
    category = _text(row.get("category")).replace("_", " ")
    if designer and category:
        return f"A {category} by {designer}, chosen with you in mind."
    return "Chosen with you in mind."


# ------------------------------------------------------------------- build
def build_lookbook(
    client_row: Mapping[str, Any] | pd.Series,
    items: pd.DataFrame | Iterable[Mapping[str, Any]],
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


def _lookbook_item(row: Mapping[str, Any], pid: str) -> LookbookItem:
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
    client_row: Mapping[str, Any] | pd.Series,
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

    Text is literal: nothing is escaped or interpreted.
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
    return "\n".join(lines).strip() + "\n"


# --------------------------------------------------------------------- PDF
def find_unicode_font() -> tuple[Path | None, Path | None]:
    """Paths of a regular and a bold Unicode TTF (DejaVu Sans), or ``None``."""
    regular = bold = None
    for folder in _FONT_DIRS:
        if regular is None and (folder / "DejaVuSans.ttf").is_file():
            regular = folder / "DejaVuSans.ttf"
        if bold is None and (folder / "DejaVuSans-Bold.ttf").is_file():
            bold = folder / "DejaVuSans-Bold.ttf"
    return regular, bold


#: Without a Unicode font: common typography the core fonts lack, spelled in Latin-1.
_LATIN1_STAND_INS: Mapping[str, str] = {
    "€": "EUR ",
    "—": "-",
    "–": "-",
    "‘": "'",
    "’": "'",
    "“": '"',
    "”": '"',
    "…": "...",
    "•": "-",
}


class _Writer:
    """Wraps fpdf2 so that every string goes through one glyph filter."""

    def __init__(self, house_name: str) -> None:
        from fpdf import FPDF

        self.pdf = FPDF(orientation="P", unit="mm", format="A4")
        self.pdf.set_auto_page_break(auto=True, margin=18)
        self.pdf.set_margins(20, 18, 20)
        self.pdf.set_title(self.clean(house_name, latin1=True) or "Lookbook")
        regular, bold = find_unicode_font()
        self.unicode = regular is not None
        if self.unicode:
            self.pdf.add_font("Body", "", str(regular))
            self.pdf.add_font("Body", "B", str(bold or regular))
            self.family = "Body"
            self._cmap: set[int] = set(self._font_cmap())
        else:
            self.family = "Helvetica"
            self._cmap = set()

    def _font_cmap(self) -> Iterable[int]:
        self.pdf.set_font("Body", size=10)
        font = self.pdf.current_font
        return getattr(font, "cmap", {}).keys()

    def clean(self, text: str, *, latin1: bool | None = None) -> str:
        """Replace what the font cannot draw: emoji and symbols vanish, others become '?'."""
        text = _text(text).replace("\t", "    ")
        if latin1 is None:
            latin1 = not self.unicode
        out = []
        for ch in text:
            if ch == "\n":
                out.append(ch)
                continue
            ok = ord(ch) < 256 if latin1 else ord(ch) in self._cmap
            if ok:
                out.append(ch)
                continue
            cat = unicodedata.category(ch)
            if cat in ("So", "Sk", "Cf", "Mn", "Co", "Cn"):
                continue  # emoji, modifiers, joiners, bidi marks: drop quietly
            if latin1:
                if ch in _LATIN1_STAND_INS:
                    out.append(_LATIN1_STAND_INS[ch])
                    continue
                folded = unicodedata.normalize("NFKD", ch).encode("latin-1", "ignore")
                out.append(folded.decode("latin-1") or "?")
            else:
                out.append("?")
        return "".join(out)

    def font(self, size: float, bold: bool = False) -> None:
        self.pdf.set_font(self.family, "B" if bold else "", size)

    def para(
        self,
        text: str,
        size: float = 10.5,
        bold: bool = False,
        h: float = 5.5,
        x: float | None = None,
        w: float = 0,
    ) -> None:
        self.font(size, bold)
        if x is not None:
            self.pdf.set_x(x)
        # markdown=False: '**' and '<b>' are printed, never interpreted.
        self.pdf.multi_cell(w, h, self.clean(text), new_x="LMARGIN", new_y="NEXT", markdown=False)


def lookbook_pdf(lookbook: Lookbook) -> bytes:
    """Render the lookbook as an A4 PDF (Unicode font embedded when available).

    Returns
    -------
    bytes
        The PDF file.
    """
    w = _Writer(lookbook.house_name)
    pdf = w.pdf
    pdf.add_page()
    pdf.set_text_color(107, 79, 58)
    w.para(lookbook.house_name.upper(), size=9, bold=True)
    pdf.set_text_color(31, 27, 22)
    pdf.ln(2)
    w.para(lookbook.title, size=20, bold=True, h=9)
    pdf.set_text_color(120, 110, 100)
    w.para(lookbook.date_text, size=9)
    pdf.set_text_color(31, 27, 22)
    pdf.ln(6)
    w.para(lookbook.greeting, size=11)
    pdf.ln(1)
    w.para(lookbook.message, size=11)
    pdf.ln(6)

    swatch = 22.0
    text_x = pdf.l_margin + swatch + 6
    text_w = pdf.w - pdf.r_margin - text_x
    for item in lookbook.items:
        if pdf.get_y() > pdf.h - pdf.b_margin - swatch - 8:
            pdf.add_page()
        top, page = pdf.get_y(), pdf.page_no()
        pdf.set_draw_color(221, 213, 200)
        pdf.set_fill_color(*color_rgb(item.color))
        pdf.rect(pdf.l_margin, top, swatch, swatch, style="DF")
        pdf.set_xy(text_x, top)
        w.para(item.name, size=12, bold=True, h=6, x=text_x, w=text_w)
        meta = " · ".join(p for p in (item.designer, item.price_text) if p)
        if meta:
            pdf.set_text_color(107, 79, 58)
            w.para(meta, size=10, x=text_x, w=text_w)
            pdf.set_text_color(31, 27, 22)
        if item.text:
            w.para(item.text, size=10, x=text_x, w=text_w, h=5)
        # Keep at least the swatch's height, then a gap before the next item.
        if pdf.page_no() == page and pdf.get_y() < top + swatch:
            pdf.set_y(top + swatch)
        pdf.ln(6)

    pdf.ln(4)
    w.para(lookbook.closing, size=11)
    w.para(lookbook.signature, size=11, bold=True)
    return bytes(pdf.output())
