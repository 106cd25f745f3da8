"""Figures of the Trends page: the catalogue map, momentum, weekly demand, assortment gaps.

Every product, designer and cluster name is HTML-escaped
(:func:`dashboard.charts.layout.esc`: ``<b>`` in an imported product name
shows as ``<b>``, it does not turn bold). Rising clusters are drawn in warm
colours, the rest muted.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.app.lookbook import format_price
from dashboard.charts.layout import (
    COGNAC,
    DENSE_FONT_SIZE,
    INK,
    MUTED,
    SAND,
    empty_figure,
    esc,
    layout,
)

#: One colour per cluster (cycled), distinguishable on an ivory background.
PALETTE: tuple[str, ...] = (
    "#6B4F3A",
    "#5E6F8C",
    "#8C9A7A",
    "#C7A36B",
    "#9E6B6B",
    "#4F7A7A",
    "#B08D6E",
    "#7A6B9E",
    "#A6805A",
    "#5A8C6B",
    "#8C5E7A",
    "#6B7F9E",
    "#9E9A5A",
    "#3F5F4F",
)
RISING = "#B5562F"
#: Above this many points the map uses WebGL (Scattergl).
WEBGL_POINTS = 5000
MAP_HEIGHT = 460


def cluster_color(cluster: int) -> str:
    """The colour of ``cluster`` on every chart."""
    return PALETTE[int(cluster) % len(PALETTE)]


def product_map_figure(
    product_map: pd.DataFrame,
    *,
    selected: int | None = None,
    height: int = MAP_HEIGHT,
) -> go.Figure:
    """The 2-D map of the catalogue, one trace per cluster, selectable by point.

    Parameters
    ----------
    product_map : DataFrame
        :meth:`core.engine.trends.TrendAnalyzer.product_map`: ``product_id``, ``x``,
        ``y``, ``cluster``, ``cluster_name``, ``name``, ``designer``,
        ``category``, ``price`` and ``currency`` (the price is shown in it).
    selected : int, optional
        A cluster to bring forward (the others fade).

    Returns
    -------
    Figure
        Traces in cluster order; each point's ``customdata`` is
        ``[product_id, cluster, name, designer, category, price, cluster
        label]`` (text escaped); ``cluster`` is the 0-based cluster id.
    """
    if product_map is None or product_map.empty:
        return empty_figure("No products to map")
    n = len(product_map)
    trace = go.Scattergl if n > WEBGL_POINTS else go.Scatter
    size = 9 if n <= 2000 else 6 if n <= WEBGL_POINTS else 4
    fig = go.Figure()
    for cluster, part in product_map.groupby("cluster", sort=True):
        c = int(cluster)
        label = esc(f"{c + 1}. {part['cluster_name'].iloc[0]}", 60)
        faded = selected is not None and c != selected
        fig.add_trace(
            trace(
                x=part["x"].to_numpy(),
                y=part["y"].to_numpy(),
                mode="markers",
                name=label,
                customdata=_map_customdata(part, c, label),
                marker={
                    "color": cluster_color(c),
                    "size": size + (2 if selected == c else 0),
                    "opacity": 0.3 if faded else 0.9,
                    "line": {"width": 0},
                },
                hovertemplate=(
                    "<b>%{customdata[2]}</b><br>%{customdata[3]} · %{customdata[4]}"
                    "<br>%{customdata[5]}<br>%{customdata[6]}<extra></extra>"
                ),
            )
        )
    return _map_layout(fig, height)


def _map_layout(fig: go.Figure, height: int) -> go.Figure:
    """The map's frame: no axes, no legend, fixed ranges, a tap selects a point."""
    fig.update_xaxes(visible=False, fixedrange=True)
    fig.update_yaxes(visible=False, fixedrange=True)
    # No legend: the cluster picker next to the map names them, and hover says it too.
    fig = layout(fig, height, selectable=True, font_size=DENSE_FONT_SIZE)
    # Streamlit sets the click mode: with point selection and no drag mode here, a tap on
    # a dot selects it ("select" as drag mode would turn tap-selection off). Fixed axes
    # keep a finger's drag for scrolling the page.
    fig.update_layout(hovermode="closest")
    return fig


def _map_customdata(part: pd.DataFrame, cluster: int, label: str) -> np.ndarray:
    """One cluster's points as ``[product_id, cluster, name, designer, category, price, label]``, text escaped."""
    # A frame without currencies is in the default one (format_price's).
    currencies = part["currency"] if "currency" in part else [None] * len(part)
    return np.column_stack(
        [
            part["product_id"].astype(str).to_numpy(),
            np.full(len(part), cluster),
            [esc(v) for v in part["name"]],
            [esc(v, 40) for v in part["designer"]],
            [esc(v, 40) for v in part["category"]],
            [format_price(v, cur) for v, cur in zip(part["price"], currencies, strict=True)],
            np.full(len(part), label),
        ]
    )


def momentum_figure(momentum: pd.DataFrame) -> go.Figure:
    """Horizontal bars of each cluster's momentum, labelled with the change or "too few events".

    ``momentum`` is the log ratio of recent to earlier daily demand (with
    pseudo-counts); rising clusters (significant and enough events) are drawn
    in a warm colour, clusters under the small-count guard in grey.
    """
    if momentum is None or momentum.empty:
        return empty_figure("No demand in these windows")
    data = momentum.sort_values("momentum")
    colors = [
        RISING if bool(r.rising) else (SAND if not bool(r.enough_data) else MUTED)
        for r in data.itertuples()
    ]
    labels = [
        esc(f"{int(c) + 1}. {n}", 46) for c, n in zip(data["cluster"], data["name"], strict=True)
    ]
    fig = go.Figure(
        go.Bar(
            x=data["momentum"].to_numpy(),
            y=labels,
            orientation="h",
            marker={"color": colors},
            text=[esc(t) for t in data["change_label"]],
            textposition="outside",
            cliponaxis=False,
            customdata=np.column_stack([data["recent"], data["earlier"]]),
            hovertemplate=(
                "%{y}<br>%{text}<br>recent demand %{customdata[0]:.0f}, "
                "earlier %{customdata[1]:.0f}<extra></extra>"
            ),
        )
    )
    values = data["momentum"].to_numpy(dtype=float)
    low = min(float(np.nanmin(values)), 0.0) if len(values) else 0.0
    high = max(float(np.nanmax(values)), 0.0) if len(values) else 1.0
    width = (high - low) or 1.0
    # Room on both sides for the labels drawn outside the bars ("too few events").
    fig.update_xaxes(
        range=[low - 0.6 * width if low < 0 else -0.05 * width, high + 0.75 * width],
        zeroline=True,
        zerolinecolor=INK,
        gridcolor=SAND,
        showticklabels=False,
        title_text="momentum: recent vs earlier daily demand",
        fixedrange=True,
    )
    fig.update_yaxes(automargin=True, fixedrange=True)
    return layout(fig, max(220, 34 * len(data) + 70), font_size=DENSE_FONT_SIZE)


def weekly_figure(
    weekly: pd.DataFrame, *, highlight: Collection[int] = (), selected: int | None = None
) -> go.Figure:
    """Weekly demand per cluster: rising clusters bold and warm, the selected one bold, the rest faint.

    Parameters
    ----------
    weekly : DataFrame
        :meth:`core.engine.trends.TrendAnalyzer.weekly_series`: ``week_start``,
        ``cluster``, ``name``, ``demand``.
    highlight : collection of int
        The rising clusters (drawn in the warm "rising" colour, named in the legend).
    selected : int, optional
        The cluster being looked at (drawn bold in its own colour).
        With neither, every cluster is drawn in its colour.
    """
    if weekly is None or weekly.empty:
        return empty_figure("No demand in this period")
    fig = go.Figure()
    rising = {int(c) for c in highlight}
    marked = rising | ({int(selected)} if selected is not None else set())
    order = sorted(weekly["cluster"].unique(), key=lambda c: (int(c) in marked, int(c)))
    for c in order:
        c = int(c)
        part = weekly[weekly["cluster"] == c].sort_values("week_start")
        name = esc(f"{c + 1}. {part['name'].iloc[0]}", 46)
        if c in rising:
            color, width, label = RISING, 3.5, name + " (rising)"
        elif c in marked or not marked:
            color, width, label = cluster_color(c), 3.0 if marked else 1.5, name
        else:
            color, width, label = SAND, 1.2, name
        fig.add_trace(
            go.Scatter(
                x=part["week_start"],
                y=part["demand"].clip(lower=0),
                mode="lines",
                name=label,
                showlegend=c in marked or not marked,
                line={"color": color, "width": width},
                meta=name,  # the name stays data: "%{...}" in it is never filled in
                hovertemplate="%{meta}<br>week of %{x|%d %b %Y}: %{y:.0f}<extra></extra>",
            )
        )
    fig.update_xaxes(fixedrange=True, gridcolor=SAND)
    fig.update_yaxes(fixedrange=True, gridcolor=SAND, title_text="demand / week")
    fig = layout(fig, 320, legend=True, font_size=DENSE_FONT_SIZE)
    fig.update_layout(legend={"orientation": "h", "y": -0.15, "font": {"size": 12}})
    return fig


def gaps_figure(gaps: pd.DataFrame) -> go.Figure:
    """Each cluster's share of demand, catalogue and stock, side by side (largest gap on top)."""
    if gaps is None or gaps.empty:
        return empty_figure("No clusters")
    data = gaps.sort_values("gap")
    labels = [
        esc(f"{int(c) + 1}. {n}", 46) for c, n in zip(data["cluster"], data["name"], strict=True)
    ]
    fig = go.Figure()
    for col, label, color in (
        ("demand_share", "demand", COGNAC),
        ("stock_share", "stock", MUTED),
        ("catalogue_share", "catalogue", SAND),
    ):
        fig.add_trace(
            go.Bar(
                x=100 * data[col].to_numpy(),
                y=labels,
                orientation="h",
                name=label,
                marker={"color": color},
                hovertemplate=f"%{{y}}<br>{label}: %{{x:.1f}}%<extra></extra>",
            )
        )
    fig.update_layout(barmode="group")
    fig.update_xaxes(ticksuffix="%", gridcolor=SAND, fixedrange=True)
    fig.update_yaxes(automargin=True, fixedrange=True)
    fig = layout(fig, max(260, 52 * len(data) + 60), legend=True, font_size=DENSE_FONT_SIZE)
    fig.update_layout(legend={"orientation": "h", "y": 1.02, "yanchor": "bottom"})
    return fig
