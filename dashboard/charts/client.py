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


#: A monthly bar's width on a date axis (milliseconds): plotly otherwise widens every bar to the
#: smallest gap between active months, so a month read as a quarter.
_MONTH_BAR_MS = 26 * 86_400_000


def activity_figure(events: pd.DataFrame) -> go.Figure:
    """Stacked monthly counts of a client's events by type (a compact timeline).

    The count axis ticks whole numbers: a client with one event a month
    otherwise reads "0.5" on it.

    Parameters
    ----------
    events : DataFrame
        ``timestamp`` and ``event_type`` columns.
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
                width=_MONTH_BAR_MS,  # a month wide, however far apart the active months are
                xperiod="M1",
                xperiodalignment="middle",  # over its month, not centred on the 1st
                name=esc(kind),
                marker={"color": palette[i % len(palette)]},
            )
        )
    fig.update_layout(barmode="stack", showlegend=True)
    fig.update_xaxes(fixedrange=True)
    tallest = int(counts.sum(axis=1).max())
    fig.update_yaxes(
        fixedrange=True,
        gridcolor=SAND,
        rangemode="tozero",
        tickformat=",d",
        **_whole_ticks(tallest),
    )
    fig = layout(fig, 220, legend=True)
    fig.update_layout(legend={"orientation": "h", "y": -0.25})
    return fig


def _whole_ticks(tallest: int) -> dict[str, object]:
    """Tick spacing of a count axis up to ``tallest``: 1, 2, 5, 10, 20, 50, ..., at most five steps."""
    steps = (m * 10**e for e in range(19) for m in (1, 2, 5))
    step = next(s for s in steps if tallest <= 5 * s)
    return {"dtick": step, "tick0": 0}
