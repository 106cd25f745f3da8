"""A curated list in one line or one card: status, items, author, last change (escaped)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd

from core.store.records import CuratedListRecord
from dashboard.widgets.chips import chip_html
from dashboard.widgets.text import plain, safe, safe_html

STATUS_LABELS = {"draft": "Draft", "shared": "Shared", "archived": "Archived"}
STATUS_TONES = {"draft": "", "shared": "good", "archived": "muted"}


def local_time(value: Any) -> str:
    """A stored (UTC) time as "23 Nov 2026, 14:02" in the server's time zone ('' if missing)."""
    if value is None or (not isinstance(value, datetime) and pd.isna(value)):
        return ""
    moment = pd.Timestamp(value).to_pydatetime()
    return moment.astimezone().strftime("%d %b %Y, %H:%M")


def status_line(rec: CuratedListRecord | None) -> str:
    """One line about the list: status, items, last change (escaped Markdown)."""
    if rec is None:
        return "Not saved yet: the first pin, removal or note saves it as a draft."
    when = local_time(rec.updated_at)
    status = STATUS_LABELS.get(rec.status, rec.status)
    n = len(rec.items)
    pinned = len(rec.pinned_ids)
    return (
        f"**{status}** · {n} item{'s' if n != 1 else ''} ({pinned} pinned) · "
        f"last change by {safe(rec.updated_by_name, 60)}, {when}"
    )


def list_card_html(row: dict[str, Any]) -> str:
    """One list on the Lists page: client, title, status, author, items, last change."""
    status = str(row.get("status") or "")
    when = row.get("updated_at")
    when_text = local_time(when)
    n = int(row.get("items") or 0)
    meta = f"by {plain(row.get('author'), 60)} · {n} item{'s' if n != 1 else ''}"
    meta += f" · last change {when_text} by {plain(row.get('updated_by'), 60)}"
    return (
        f'<div class="d2-name">{safe_html(row.get("client_name"), 120)} '
        f"{chip_html(STATUS_LABELS.get(status, status), STATUS_TONES.get(status, ''))}</div>"  # type: ignore[arg-type]
        f'<div class="d2-meta">{safe_html(row.get("title"), 200)}</div>'
        f'<div class="d2-meta">{safe_html(meta, 300)}</div>'
    )
