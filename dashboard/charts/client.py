"""Figures of the Client page: the taste profile and the activity timeline."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts.layout import COGNAC, INK, MUTED, SAND, empty_figure, esc, layout

_LABEL_COLUMNS: Sequence[str] = ("label", "factor_label", "name", "factor")
_SHARE_COLUMNS: Sequence[str] = ("share", "weight", "value", "strength")


def _pick(df: pd.DataFrame, candidates: Sequence[str], what: str) -> str:
    for name in candidates:
        if name in df.columns:
            return name
    raise ValueError(
        f"the taste profile needs a {what} column (one of {', '.join(candidates)}); "
        f"got columns {', '.join(map(str, df.columns)) or 'none'}"
    )


def taste_profile_figure(profile: pd.DataFrame, *, top: int = 6) -> go.Figure:
    """Horizontal bars: the client's strongest taste factors by their share.

    Parameters
    ----------
    profile : DataFrame
        From ``HybridRecommender.taste_profile(client_id)``: a label column
        (``label`` / ``factor_label`` / ``name``) and a share column
        (``share`` / ``weight`` / ``value``); shares are shown in percent when
        they are fractions.
    top : int
        Show at most this many factors, strongest first (on top).

    Returns
    -------
    plotly.graph_objects.Figure
        One ``Bar`` trace (orientation ``h``), or an empty figure with a message
        when there is no profile.
    """
    if profile is None or len(profile) == 0:
        return empty_figure("Not enough history for a taste profile yet")
    label_col = _pick(profile, _LABEL_COLUMNS, "label")
    share_col = _pick(profile, _SHARE_COLUMNS, "share")
    data = profile[[label_col, share_col]].dropna()
    data = data.assign(_v=data[share_col].astype(float).abs()).nlargest(top, "_v")
    if data.empty:
        return empty_figure("Not enough history for a taste profile yet")
    fraction = bool(data["_v"].max() <= 1.0)
    values = data["_v"] * (100.0 if fraction else 1.0)
    labels: list[str] = []
    for value in data[label_col]:
        # Factor labels are attribute values from the catalogue (an import): escaped.
        text = esc(value, 48) or "unnamed factor"
        # Two factors can share a name; plotly would merge their bars.
        while text in labels:
            text += " ·"
        labels.append(text)
    fig = go.Figure(
        go.Bar(
            x=values[::-1].to_numpy(),
            y=labels[::-1],
            orientation="h",
            marker={"color": COGNAC},
            text=[f"{v:.0f}%" if fraction else f"{v:.2f}" for v in values[::-1]],
            textposition="auto",
            hovertemplate="%{y}: %{text}<extra></extra>",
            cliponaxis=False,
        )
    )
    fig.update_xaxes(
        visible=True,
        showgrid=True,
        gridcolor=SAND,
        zeroline=False,
        ticksuffix="%" if fraction else "",
        fixedrange=True,
    )
    fig.update_yaxes(automargin=True, fixedrange=True, tickfont={"size": 15, "color": INK})
    return layout(fig, height=max(180, 46 * len(labels) + 40))


def activity_figure(events: pd.DataFrame, *, freq: str = "MS") -> go.Figure:
    """Stacked monthly counts of a client's events by type (a compact timeline).

    Parameters
    ----------
    events : DataFrame
        ``timestamp`` and ``event_type`` columns.
    freq : str
        Bucket size (pandas offset alias), monthly by default.
    """
    if events is None or len(events) == 0:
        return empty_figure("No activity yet")
    counts = (
        events.assign(period=pd.to_datetime(events["timestamp"]).dt.to_period("M").dt.start_time)
        .groupby(["period", "event_type"])
        .size()
        .unstack(fill_value=0)
        .sort_index()
    )
    fig = go.Figure()
    palette = [COGNAC, "#B08D6E", "#8C9A7A", "#5E6F8C", "#C7A36B", "#9E6B6B", MUTED, SAND]
    for i, kind in enumerate(counts.columns):
        fig.add_trace(
            go.Bar(
                x=counts.index,
                y=counts[kind],
                name=esc(kind),
                marker={"color": palette[i % len(palette)]},
            )
        )
    fig.update_layout(barmode="stack", showlegend=True)
    fig.update_xaxes(fixedrange=True)
    fig.update_yaxes(fixedrange=True, gridcolor=SAND)
    fig = layout(fig, 220, legend=True)
    fig.update_layout(legend={"orientation": "h", "y": -0.25})
    return fig
