"""Figures of the Model health page: offline metrics per model, lift, the tuner's search."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

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


def metrics_figure(
    table: pd.DataFrame, metrics: Sequence[str] = ("Recall@20", "NDCG@10")
) -> go.Figure:
    """Grouped bars of the guarded metrics per model (the hybrid in cognac)."""
    cols = [m for m in metrics if table is not None and m in table.columns]
    if table is None or table.empty or not cols:
        return empty_figure("No evaluation yet")
    fig = go.Figure()
    shades = (COGNAC, MUTED)
    for i, m in enumerate(cols):
        fig.add_trace(
            go.Bar(
                x=[esc(v) for v in table["model"]],
                y=table[m].to_numpy(),
                name=m,
                marker={"color": shades[i % 2], "opacity": 1.0 if i == 0 else 0.8},
                text=[f"{v:.3f}" for v in table[m]],
                textposition="outside",
                cliponaxis=False,
                hovertemplate=f"%{{x}}: {m} %{{y:.4f}}<extra></extra>",
            )
        )
    fig.update_layout(barmode="group")
    fig.update_yaxes(gridcolor=SAND, fixedrange=True, rangemode="tozero")
    fig.update_xaxes(fixedrange=True)
    fig = layout(fig, 300, legend=True, font_size=DENSE_FONT_SIZE)
    fig.update_layout(legend={"orientation": "h", "y": 1.02, "yanchor": "bottom"})
    return fig


def lift_figure(groups: pd.DataFrame) -> go.Figure:
    """Conversion of model vs holdout clients, with their confidence intervals as error bars.

    Parameters
    ----------
    groups : DataFrame
        :meth:`core.app.outcomes.LiftReport.to_frame`: ``group``, ``conversion``,
        ``ci_low``, ``ci_high``, ``clients``.
    """
    if groups is None or groups.empty:
        return empty_figure("No contacted clients yet")
    conv = 100 * groups["conversion"].to_numpy(dtype=float)
    lo = 100 * groups["ci_low"].to_numpy(dtype=float)
    hi = 100 * groups["ci_high"].to_numpy(dtype=float)
    fig = go.Figure(
        go.Bar(
            x=[esc(g) for g in groups["group"]],
            y=conv,
            marker={"color": [COGNAC, MUTED][: len(groups)]},
            error_y={
                "type": "data",
                "symmetric": False,
                "array": hi - conv,
                "arrayminus": conv - lo,
                "color": INK,
                "thickness": 1.5,
            },
            text=[f"{v:.1f}%" for v in conv],
            textposition="inside",
            hovertemplate="%{x}: %{y:.1f}%<extra></extra>",
        )
    )
    fig.update_yaxes(ticksuffix="%", gridcolor=SAND, fixedrange=True, rangemode="tozero")
    fig.update_xaxes(fixedrange=True)
    return layout(fig, 260, font_size=DENSE_FONT_SIZE)


def tuning_figure(trials: pd.DataFrame, objective: str) -> go.Figure:
    """The search, trial by trial: each trial's objective, and the running best (a step line).

    Parameters
    ----------
    trials : DataFrame
        :attr:`core.engine.tune.TuneResult.trials`: ``trial``, ``state``, ``objective``.
    objective : str
        The column of the metric the search maximised.
    """
    if trials is None or trials.empty or objective not in trials.columns:
        return empty_figure("No search yet")
    parts = objective.split("+")
    valid = all(re.fullmatch(r"[A-Za-z]+@\d+", p) for p in parts)
    metric = objective if len(parts) == 1 and valid else "objective"
    if len(parts) > 1 and valid:  # the mean of each metric over the start's value
        metric = " + ".join(parts) + ", relative to the start"
    frame = trials.sort_values("trial")
    fig = go.Figure()
    styles = {"complete": (COGNAC, "circle", "complete"), "pruned": (MUTED, "x", "pruned")}
    for state, (colour, symbol, name) in styles.items():
        part = frame.loc[frame["state"] == state]
        if part.empty:
            continue
        fig.add_trace(
            go.Scatter(
                x=part["trial"].to_numpy(),
                y=part[objective].to_numpy(dtype=float),
                mode="markers",
                name=f"{name} trial",
                marker={"color": colour, "symbol": symbol, "size": 9},
                hovertemplate=f"trial %{{x}} ({name}): {metric} %{{y:.4f}}<extra></extra>",
            )
        )
    done = frame[objective].where(frame["state"] == "complete")
    fig.add_trace(
        go.Scatter(
            x=frame["trial"].to_numpy(),
            y=done.cummax().ffill().to_numpy(dtype=float),
            mode="lines",
            line={"color": INK, "shape": "hv", "width": 2},
            name="best so far",
            hovertemplate=f"after trial %{{x}}: best {metric} %{{y:.4f}}<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="trial", fixedrange=True, gridcolor=SAND)
    fig.update_yaxes(title_text=f"{metric} (validation)", fixedrange=True, gridcolor=SAND)
    fig = layout(fig, 300, legend=True, font_size=DENSE_FONT_SIZE)
    fig.update_layout(legend={"orientation": "h", "y": 1.02, "yanchor": "bottom"})
    return fig


def importance_figure(importance: dict[str, float]) -> go.Figure:
    """Horizontal bars: how much each searched parameter moved the objective (Optuna's fANOVA)."""
    if not importance:
        return empty_figure("Too few complete trials to weigh the parameters")
    names = sorted(importance, key=importance.__getitem__)
    fig = go.Figure(
        go.Bar(
            x=[importance[n] for n in names],
            y=[esc(n.replace("_", " ")) for n in names],
            orientation="h",
            marker={"color": COGNAC},
            hovertemplate="%{y}: %{x:.2f}<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="importance", fixedrange=True, gridcolor=SAND, rangemode="tozero")
    fig.update_yaxes(fixedrange=True)
    return layout(fig, 40 + 22 * len(names), font_size=DENSE_FONT_SIZE)
