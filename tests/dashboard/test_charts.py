"""dashboard.charts: the figures the pages draw (AppTest has no plotly accessor)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import pytest

from dashboard.charts.client import activity_figure, taste_profile_figure
from dashboard.charts.layout import empty_figure


def profile() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "factor": [3, 7, 1, 9],
            "share": [0.1, 0.5, 0.25, 0.15],
            "label": ["runway", "cashmere · camel · understated", "heritage", "sporty"],
            "top_attributes": [[], [], [], []],
        }
    )


def test_taste_profile_bars_strongest_on_top():
    fig = taste_profile_figure(profile())
    assert isinstance(fig, go.Figure)
    (bar,) = fig.data
    assert bar.type == "bar" and bar.orientation == "h"
    # Plotly draws the first category at the bottom: strongest is last.
    assert list(bar.y) == ["runway", "sporty", "heritage", "cashmere · camel · understated"]
    assert list(bar.x) == pytest.approx([10.0, 15.0, 25.0, 50.0])
    assert list(bar.text) == ["10%", "15%", "25%", "50%"]
    assert fig.layout.dragmode is False
    assert fig.layout.xaxis.fixedrange and fig.layout.yaxis.fixedrange


def test_taste_profile_top_n_and_duplicate_labels():
    frame = pd.DataFrame({"label": ["a", "a", "b"], "share": [0.5, 0.3, 0.2]})
    fig = taste_profile_figure(frame, top=2)
    assert list(fig.data[0].y) == ["a ·", "a"]


def test_taste_profile_empty_shows_message():
    for frame in (pd.DataFrame(columns=["factor", "share", "label"]), None):
        fig = taste_profile_figure(frame)
        assert fig.data == ()
        assert "Not enough history" in fig.layout.annotations[0].text


def test_taste_profile_needs_columns():
    with pytest.raises(ValueError, match="needs a share column"):
        taste_profile_figure(pd.DataFrame({"label": ["a"], "amount": [1.0]}))


def test_taste_profile_non_fraction_values():
    fig = taste_profile_figure(pd.DataFrame({"label": ["a", "b"], "weight": [2.0, 3.5]}))
    assert list(fig.data[0].x) == [2.0, 3.5]
    assert list(fig.data[0].text) == ["2.00", "3.50"]


def test_activity_figure_stacks_by_type():
    events = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(["2026-01-03", "2026-01-20", "2026-02-02"]),
            "event_type": ["purchase", "view", "view"],
        }
    )
    fig = activity_figure(events)
    assert fig.layout.barmode == "stack"
    by_name = {t.name: list(t.y) for t in fig.data}
    assert by_name == {"purchase": [1, 0], "view": [1, 1]}


def test_activity_counts_tick_whole_numbers():
    """One event a month must not read 0.5 on the count axis; a busy client gets about five ticks."""
    few = pd.DataFrame(
        {"timestamp": pd.to_datetime(["2026-01-03", "2026-03-02"]), "event_type": ["view"] * 2}
    )
    axis = activity_figure(few).layout.yaxis
    assert axis.dtick == 1 and axis.tick0 == 0 and axis.tickformat == ",d"
    # Two months apart, each bar still a month wide (not the two-month gap).
    assert activity_figure(few).data[0].width == 26 * 86_400_000
    busy = pd.DataFrame(
        {"timestamp": pd.to_datetime(["2026-01-03"] * 37), "event_type": ["view"] * 37}
    )
    assert activity_figure(busy).layout.yaxis.dtick == 10  # 37 in steps of 10: 0, 10, ..., 40


def test_activity_and_empty():
    assert activity_figure(pd.DataFrame(columns=["timestamp", "event_type"])).data == ()
    assert empty_figure("hi").layout.annotations[0].text == "hi"


def test_tuning_figure_draws_each_trial_and_the_running_best_of_complete_trials():
    from dashboard.charts.health import importance_figure, tuning_figure

    trials = pd.DataFrame(
        {
            "trial": [2, 0, 3, 1],  # best first, as the tuner keeps them
            "state": ["complete", "complete", "pruned", "complete"],
            "Recall@20": [0.5, 0.3, 0.6, 0.2],  # a pruned trial's running value never counts
        }
    )
    fig = tuning_figure(trials, "Recall@20")
    by_name = {t.name: t for t in fig.data}
    assert list(by_name["complete trial"].x) == [0, 1, 2]
    assert list(by_name["pruned trial"].x) == [3]
    assert list(by_name["best so far"].y) == [0.3, 0.3, 0.5, 0.5]
    assert fig.layout.yaxis.title.text == "Recall@20 (validation)"
    # a hostile objective name never reaches a hover template
    hostile = tuning_figure(trials.rename(columns={"Recall@20": "%{x}<b>"}), "%{x}<b>")
    assert all("<b>" not in (t.hovertemplate or "") for t in hostile.data)
    assert tuning_figure(pd.DataFrame(), "Recall@20").layout.annotations
    bars = importance_figure({"n_factors": 0.7, "blend_k": 0.3})
    assert list(bars.data[0].y) == ["blend k", "n factors"]
    assert importance_figure({}).layout.annotations
