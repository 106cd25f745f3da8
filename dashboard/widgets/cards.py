"""Cards: a client result as one big tappable button, and escaped HTML cards."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from dashboard.widgets.text import plain, safe, safe_html

TIER_LABELS: dict[str, str] = {
    "vic": "VIC",
    "loyal": "Loyal",
    "client": "Client",
    "prospect": "Prospect",
}


def tier_label(tier: object) -> str:
    """Display name of a tier ("vic" -> "VIC"); unknown tiers shown as given."""
    return TIER_LABELS.get(str(tier), plain(tier, 30))


def full_name(row: Mapping[str, Any] | pd.Series, max_len: int = 120) -> str:
    """First and last name as plain text (not escaped), cut to ``max_len``."""
    first = plain(row.get("first_name"), None)
    last = plain(row.get("last_name"), None)
    return plain(f"{first} {last}", max_len) or plain(row.get("client_id"), max_len)


def _naive(ts: pd.Timestamp) -> pd.Timestamp:
    """Data timestamps are naive UTC; database ones are aware: compare them as naive UTC."""
    return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo is not None else ts


def when(value: Any, *, as_of: pd.Timestamp | None = None) -> str:
    """A date as "12 Mar 2026" (plus "today"/"3 days ago" relative to ``as_of``)."""
    if value is None or pd.isna(value):
        return "no activity yet"
    ts = _naive(pd.Timestamp(value))
    text = f"{ts.day} {ts:%b %Y}"
    if as_of is not None and pd.notna(as_of):
        days = (_naive(pd.Timestamp(as_of)).normalize() - ts.normalize()).days
        if days == 0:
            text += " (today)"
        elif 0 < days < 60:
            text += f" ({days} day{'s' if days != 1 else ''} ago)"
    return text


def client_card_label(
    row: Mapping[str, Any] | pd.Series,
    *,
    store_names: Mapping[str, str],
    as_of: pd.Timestamp | None = None,
    own: bool = False,
) -> str:
    """The Markdown label of a client result button (every field escaped).

    Line 1: bold name and tier; line 2: home store, last activity, "your client".
    """
    store_id = row.get("home_store_id")
    store = store_names.get(str(store_id), str(store_id or ""))
    last = row.get("last_activity")
    active = last is not None and pd.notna(last)
    meta = [
        plain(store, 60),
        f"last activity {when(last, as_of=as_of)}" if active else "no activity yet",
    ]
    if own:
        meta.insert(0, "your client")
    name = safe(full_name(row), 90)
    tier = safe(tier_label(row.get("tier")))
    return f"**{name}** · {tier}  \n{safe(' · '.join(meta), 200)}"


def html_card(title: object, lines: Iterable[object] = (), *, extra_html: str = "") -> str:
    """An HTML card; ``title`` and every line are escaped here.

    ``extra_html`` must already be safe markup (e.g. from :func:`chips_html`).
    """
    body = "".join(f'<div class="meta">{safe_html(line)}</div>' for line in lines)
    return (
        f'<div class="atelier-card"><div class="title">{safe_html(title, 200)}</div>'
        f"{body}{extra_html}</div>"
    )
