"""Chips and badges: short labels (consent, tier, reasons) as escaped HTML."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import streamlit as st

from dashboard.widgets.text import safe_html

Tone = Literal["", "good", "warn", "muted", "internal"]
_TONES: tuple[str, ...] = ("", "good", "warn", "muted", "internal")


def chip_html(label: object, tone: Tone = "", *, max_len: int = 80) -> str:
    """One chip; ``label`` is escaped, ``tone`` picks its colour."""
    if tone not in _TONES:
        raise ValueError(f"tone must be one of {_TONES}, got {tone!r}")
    cls = f"atelier-chip {tone}".strip()
    return f'<span class="{cls}">{safe_html(label, max_len)}</span>'


def chips_html(labels: Iterable[object | tuple[object, Tone]]) -> str:
    """Several chips; each item is a label or a ``(label, tone)`` pair."""
    parts = []
    for item in labels:
        if isinstance(item, tuple):
            parts.append(chip_html(item[0], item[1]))
        else:
            parts.append(chip_html(item))
    return "".join(parts)


def render_chips(labels: Iterable[object | tuple[object, Tone]]) -> None:
    """Draw chips in one row (wrapping); every label escaped by :func:`chip_html`."""
    markup = chips_html(labels)
    if markup:
        st.markdown(f"<div>{markup}</div>", unsafe_allow_html=True)
