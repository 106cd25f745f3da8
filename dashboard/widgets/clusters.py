"""Taste clusters on the Trends page: the map's selection, labels and cluster cards."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dashboard.widgets.cards import html_card
from dashboard.widgets.numbers import euros, percent
from dashboard.widgets.text import plain


def selected_cluster(selection: Any) -> int | None:
    """The cluster of the first point selected on the map, or ``None``.

    ``selection`` is the plotly chart's state in ``st.session_state`` (an
    object or dict with ``selection.points``); each point's ``customdata``
    holds ``[product_id, cluster, ...]`` (see
    :func:`dashboard.charts.trends.product_map_figure`).
    """
    if selection is None:
        return None
    sel = (
        selection.get("selection")
        if isinstance(selection, Mapping)
        else getattr(selection, "selection", None)
    )
    if sel is None:
        return None
    points = sel.get("points") if isinstance(sel, Mapping) else getattr(sel, "points", None)
    for point in points or []:
        custom = point.get("customdata") if isinstance(point, Mapping) else None
        if custom is not None and len(custom) > 1:
            try:
                return int(float(custom[1]))
            except (TypeError, ValueError):
                continue
    return None


def cluster_label(cluster: int, name: str) -> str:
    """``"3. cashmere · camel · tailoring"`` (1-based, plain text)."""
    return f"{int(cluster) + 1}. {plain(name, 80)}"


def cluster_card_html(row: Mapping[str, Any], momentum: Mapping[str, Any] | None = None) -> str:
    """A cluster's card: name, size, demand share, price band, designers, top products.

    Every field is escaped by :func:`dashboard.widgets.cards.html_card`.
    """
    lines = [
        f"{int(row['n_products'])} products · {percent(row['catalogue_share'])} of the catalogue"
        f" · {percent(row['demand_share'])} of demand",
        f"Price band {row['price_band']}"
        if row.get("price_band")
        else f"Price band {euros(row['price_low'])}–{euros(row['price_high'])}"
        f" (median {euros(row['price_median'])})",
        f"Top designers: {plain(row['top_designers'], 160) or '–'}",
        f"Top products: {plain(row['top_products'], 300) or '–'}",
    ]
    if momentum is not None:
        label = str(momentum.get("change_label", "–"))
        if bool(momentum.get("rising")):
            label += " (rising)"
        elif bool(momentum.get("enough_data")) and label.endswith("%"):
            label += " (not significant)"
        lines.append(f"Momentum: {label}")
    return html_card(cluster_label(int(row["cluster"]), str(row["name"])), lines)
