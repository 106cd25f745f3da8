"""Single cell values: how they are shown in a problem report."""

from __future__ import annotations

from typing import Any

MAX_VALUE_CHARS = 60


def shorten(value: Any) -> str:
    """``value`` as text of at most :data:`MAX_VALUE_CHARS` characters (an ellipsis marks a cut)."""
    text = str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"
