"""The look every figure shares: theme colours, one layout helper, the empty figure, escaping.

Colours follow the theme in ``.streamlit/config.toml`` (cognac, sand, ink).
Plotly renders text in hover labels, legends and bar labels as a small subset
of HTML, and as LaTeX a text holding two ``$`` when MathJax is on the page, so
every name a figure shows goes through :func:`esc`. Names are never put into a
``hovertemplate`` (whose ``%{...}`` would be filled in): a trace carries them in
its data or ``meta``.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import plotly.graph_objects as go

INK = "#1F1B16"
COGNAC = "#6B4F3A"
SAND = "#DDD5C8"
MUTED = "#A89A88"
FONT = "sans-serif"
#: Text size of the Client page's figures (read on a tablet at arm's length).
FONT_SIZE = 15
#: Text size of the figures with many cluster or model labels (Trends, Model health).
DENSE_FONT_SIZE = 14


def layout(
    fig: go.Figure,
    height: int,
    *,
    legend: bool = False,
    selectable: bool = False,
    font_size: int = FONT_SIZE,
) -> go.Figure:
    """Give ``fig`` the app's look: height, margins, transparent background, fonts, legend.

    Parameters
    ----------
    fig : Figure
        Changed in place and returned.
    height : int
        In pixels.
    legend : bool
        Show the legend.
    selectable : bool
        ``False`` turns dragging off, so a finger on a tablet scrolls the page,
        not the chart. ``True`` leaves the drag mode unset: Streamlit then lets a
        tap select a point (``on_select``); a drag mode would turn that off.
    font_size : int
        :data:`FONT_SIZE`, or :data:`DENSE_FONT_SIZE` for charts with many labels.

    Returns
    -------
    Figure
        ``fig``.
    """
    fig.update_layout(
        height=height,
        margin={"l": 8, "r": 16, "t": 8, "b": 8},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        font={"family": FONT, "size": font_size, "color": INK},
        showlegend=legend,
        hoverlabel={"font": {"family": FONT, "size": font_size}},
    )
    if not selectable:
        fig.update_layout(dragmode=False)
    return fig


def empty_figure(message: str, height: int = 180) -> go.Figure:
    """A blank figure carrying ``message`` in the middle."""
    fig = go.Figure()
    fig.add_annotation(
        text=message,
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        showarrow=False,
        font={"size": 15, "color": MUTED},
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return layout(fig, height)


def esc(value: Any, max_len: int = 80) -> str:
    """``value`` as one line of escaped text for a figure, cut at ``max_len`` characters.

    HTML is escaped (``<b>`` shows as typed), and ``$`` is written as the
    entity ``&#36;``: plotly looks for LaTeX in the raw text and decodes the
    entity only when drawing, so ``$x$`` shows as typed too.
    """
    text = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
    text = " ".join(text.split())
    if len(text) > max_len:
        text = text[: max_len - 1] + "…"
    return html.escape(text, quote=True).replace("$", "&#36;")


def hover_texts(fig: go.Figure) -> list[str]:
    """Every text a figure can show (names, labels, hover data), for privacy scans in tests."""
    out: list[str] = []
    for tr in fig.data:
        for attr in ("name", "text", "hovertext", "customdata", "x", "y"):
            value = getattr(tr, attr, None)
            if value is None:
                continue
            arr = np.asarray(value, dtype=object).ravel()
            out += [str(v) for v in arr if isinstance(v, str)]
    for ann in fig.layout.annotations or ():
        out.append(str(ann.text))
    return out
