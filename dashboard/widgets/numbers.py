"""Numbers as the pages show them: percentages and euro amounts, "–" when missing."""

from __future__ import annotations

from typing import Any

from core.app.lookbook import format_price


def percent(value: Any, digits: int = 0) -> str:
    """``0.123`` -> ``"12%"``; missing -> ``"–"``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "–"
    if v != v:
        return "–"
    return f"{100 * v:.{digits}f}%"


def euros(value: Any) -> str:
    """``1234.5`` -> ``"€1,235"``; missing -> ``"–"``."""
    return format_price(value, "EUR") or "–"
