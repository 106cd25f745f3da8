"""The product card of the Client page: swatch, name, designer and price, stock, reasons, note.

Stock shows twice for a product stocked per size: the whole product, and the
client's size (``size_stock``: "Size 38: 1 in Paris; 2 online", "Size not on file").

Pure HTML built from escaped text (:func:`dashboard.widgets.text.safe_html`);
the card's own CSS is a constant.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core.app.lookbook import format_price
from core.suggest.reasons import REASON_SEPARATOR
from core.suggest.sizes import SIZE_NOT_ON_FILE
from dashboard.widgets.chips import Tone, chip_html
from dashboard.widgets.swatch import colour_css
from dashboard.widgets.text import plain, safe_html

CSS = """
<style>
.d2-card { display: flex; gap: 0.75rem; align-items: flex-start; min-height: 5.2rem; }
.d2-swatch {
  flex: 0 0 64px; height: 64px; border-radius: 8px; border: 1px solid #DDD5C8;
  display: flex; align-items: center; justify-content: center;
  font-weight: 600; font-size: 1.05rem; letter-spacing: 0.04em;
}
.d2-body { min-width: 0; flex: 1 1 auto; }
.d2-body .d2-name { font-weight: 600; font-size: 1.02rem; line-height: 1.3;
  overflow-wrap: anywhere; }
.d2-body .d2-meta { color: #5F574D; font-size: 0.92rem; overflow-wrap: anywhere; }
.d2-rank { color: #8A7F72; font-size: 0.85rem; margin-right: 0.25rem; }
.d2-chips { margin-top: 0.3rem; }
.d2-reason { margin-top: 0.25rem; font-size: 0.92rem; line-height: 1.35; color: #1F1B16;
  padding-left: 0.9rem; text-indent: -0.9rem; overflow-wrap: anywhere; }
.d2-reason::before { content: "›"; color: #6B4F3A; font-weight: 700; margin-right: 0.45rem; }
.d2-note { margin-top: 0.3rem; color: #4B3F6B; font-size: 0.88rem; overflow-wrap: anywhere; }
[class*="st-key-cur-card-"] [data-testid="stVerticalBlock"] { gap: 0.45rem; }
[class*="st-key-cur-card-"] .stButton button p,
[class*="st-key-cur-card-"] [data-testid="stPopover"] button p { font-size: 0.95rem; }
</style>
"""


def inject_css() -> None:
    """The card's own CSS (a constant, no user data)."""
    st.markdown(CSS, unsafe_allow_html=True)


def _initials(category: Any) -> str:
    words = [w for w in plain(category, 40).replace("-", " ").split() if w[:1].isalpha()]
    return "".join(w[0] for w in words[:2]).upper() or "•"


def _text_colour(css: str) -> str:
    if not css.startswith("#") or len(css) != 7:
        return "#FFFFFF"
    r, g, b = (int(css[i : i + 2], 16) for i in (1, 3, 5))
    return "#1F1B16" if (0.299 * r + 0.587 * g + 0.114 * b) > 150 else "#FFFFFF"


def stock_text(here: Any, online: Any) -> tuple[str, str]:
    """(text, chip tone) of the stock line: in the client's store and online."""
    h = int(here or 0) if pd.notna(here) else 0
    o = int(online or 0) if pd.notna(online) else 0
    if h > 0:
        return f"{h} in store · {o} online", "good"
    if o > 0:
        return f"Online only · {o} online", "warn"
    return "Out of stock", "muted"


def size_chip(text: Any) -> tuple[str, Tone] | None:
    """(text, chip tone) of the line on stock in the client's size; ``None`` for unsized products."""
    line = plain(text, 120) if isinstance(text, str) else ""
    if not line:
        return None
    tone: Tone = (
        "muted" if line == SIZE_NOT_ON_FILE else "warn" if line.startswith("no ") else "good"
    )
    return line[:1].upper() + line[1:], tone


def card_html(row: pd.Series | dict[str, Any], rank: int | None = None) -> str:
    """The HTML of a product card: swatch, name, designer and price, stock, reasons, note.

    Every field is escaped (:func:`safe_html`); only associate wording is shown here.
    """
    get = row.get
    colour = colour_css(get("color"))
    prop = "background" if colour.startswith("linear-gradient") else "background-color"
    swatch = (
        f'<div class="d2-swatch" style="{prop}:{colour};color:{_text_colour(colour)}" '
        f'title="{safe_html(get("color"), 40)}">{safe_html(_initials(get("category")), 4)}</div>'
    )
    price = format_price(get("price"), str(get("currency") or "EUR"))
    meta = " · ".join(p for p in (plain(get("designer"), 60), price) if p)
    sub = " · ".join(p for p in (plain(get("category"), 40), plain(get("color"), 40)) if p)
    stock, tone = stock_text(get("stock_here"), get("stock_online"))
    chips = [chip_html(stock, tone)]  # type: ignore[arg-type]
    size = size_chip(get("size_stock"))
    if size is not None:
        chips.append(chip_html(*size))
    if bool(get("pinned")):
        chips.insert(0, chip_html("Pinned", "good"))
    if str(get("source") or "") == "manual":
        chips.append(chip_html("Added by hand", "muted"))
    if bool(get("sensitive")):
        chips.append(chip_html("Sensitive: not volunteered", "warn"))
    reasons = get("reasons") or []
    if isinstance(reasons, str):
        reasons = [r for r in reasons.split(REASON_SEPARATOR) if r]
    reason_lines = "".join(
        f'<div class="d2-reason">{safe_html(r, 160)}</div>' for r in list(reasons)[:2]
    )
    note = plain(get("note"), 200)
    note_html = f'<div class="d2-note">Note: {safe_html(note, 200)}</div>' if note else ""
    rank_html = f'<span class="d2-rank">#{int(rank)}</span>' if rank is not None else ""
    return (
        f'<div class="d2-card">{swatch}<div class="d2-body">'
        f'<div class="d2-name">{rank_html}{safe_html(get("name"), 160)}</div>'
        f'<div class="d2-meta">{safe_html(meta, 140)}</div>'
        f'<div class="d2-meta">{safe_html(sub, 100)}</div>'
        f'<div class="d2-chips">{"".join(chips)}</div></div></div>'
        f"{reason_lines}{note_html}"
    )
