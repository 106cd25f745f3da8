"""Plotly builders of the Trends and Model health pages: structure, escaping, highlighting."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from core.app.trend_view import TOO_FEW, change_label
from dashboard.charts import health as hc
from dashboard.charts import trends as tc
from dashboard.charts.layout import SAND, hover_texts
from dashboard.widgets.clusters import cluster_card_html, selected_cluster

HOSTILE = "<b>Bold</b> <a href='javascript:alert(1)'>x</a>"


@pytest.fixture
def product_map() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 30
    cluster = np.repeat([0, 1, 2], 10)
    return pd.DataFrame(
        {
            "product_id": [f"P{i}" for i in range(n)],
            "x": rng.normal(size=n),
            "y": rng.normal(size=n),
            "cluster": cluster,
            "cluster_name": np.array(["cashmere · camel", "runway · neon", "gold · rings"])[
                cluster
            ],
            "name": [HOSTILE if i == 0 else f"Product {i}" for i in range(n)],
            "designer": ["Maison A"] * n,
            "category": ["bags"] * n,
            "price": np.linspace(100, 5000, n),
        }
    )


@pytest.fixture
def momentum() -> pd.DataFrame:
    m = pd.DataFrame(
        {
            "cluster": [1, 0, 2],
            "name": ["runway · neon", "cashmere · camel", "gold · rings"],
            "recent": [80.0, 20.0, 2.0],
            "earlier": [40.0, 60.0, 1.0],
            "momentum": [0.9, -0.4, 0.1],
            "change_pct": [200.0, -66.0, np.nan],
            "enough_data": [True, True, False],
            "rising": [True, False, False],
        }
    )
    m["change_label"] = [
        change_label(r.change_pct, r.enough_data, r.recent, r.earlier) for r in m.itertuples()
    ]
    return m


def test_map_has_one_trace_per_cluster_and_selectable_customdata(product_map):
    fig = tc.product_map_figure(product_map, selected=1)
    assert len(fig.data) == 3 and all(isinstance(t, go.Scatter) for t in fig.data)
    assert sum(len(t.x) for t in fig.data) == len(product_map)
    for c, trace in enumerate(fig.data):
        assert {int(v) for v in trace.customdata[:, 1]} == {c}
        assert trace.marker.opacity == (0.9 if c == 1 else 0.3)
    assert fig.layout.dragmode is None  # Streamlit then enables tap-to-select
    assert "%{customdata[2]}" in fig.data[0].hovertemplate


def test_map_escapes_product_names(product_map):
    texts = hover_texts(tc.product_map_figure(product_map))
    assert HOSTILE not in texts
    assert any(t.startswith("&lt;b&gt;Bold&lt;/b&gt;") for t in texts)
    assert not any("<a href" in t for t in texts)


def test_big_maps_use_webgl(product_map):
    big = pd.concat([product_map] * (tc.WEBGL_POINTS // len(product_map) + 1), ignore_index=True)
    fig = tc.product_map_figure(big)
    assert all(isinstance(t, go.Scattergl) for t in fig.data)


def test_momentum_bars_show_the_small_count_guard(momentum):
    fig = tc.momentum_figure(momentum)
    bar = fig.data[0]
    labels = dict(zip(bar.y, bar.text, strict=True))
    assert labels["3. gold · rings"] == TOO_FEW
    assert labels["2. runway · neon"] == "+200%"
    colors = dict(zip(bar.y, bar.marker.color, strict=True))
    assert colors["2. runway · neon"] == tc.RISING
    assert colors["3. gold · rings"] != tc.RISING


def test_weekly_series_highlights_rising_clusters():
    weeks = pd.date_range("2026-01-05", periods=4, freq="7D")
    weekly = pd.DataFrame(
        [(w, c, n, float(i + c)) for i, w in enumerate(weeks) for c, n in ((0, "a"), (1, "b"))],
        columns=["week_start", "cluster", "name", "demand"],
    )
    fig = tc.weekly_figure(weekly, highlight={1})
    by_name = {t.name: t for t in fig.data}
    assert by_name["2. b (rising)"].line.width > by_name["1. a"].line.width
    assert by_name["2. b (rising)"].line.color == tc.RISING
    assert by_name["1. a"].line.color == SAND and not by_name["1. a"].showlegend
    assert fig.data[-1].name == "2. b (rising)"  # drawn last, on top
    picked = tc.weekly_figure(weekly, selected=0)
    assert picked.data[-1].name == "1. a" and picked.data[-1].line.color == tc.cluster_color(0)
    plain = tc.weekly_figure(weekly)
    assert all(t.showlegend for t in plain.data)


def test_gaps_bars_are_percent_shares():
    gaps = pd.DataFrame(
        {
            "cluster": [0, 1],
            "name": ["a", "b"],
            "demand_share": [0.7, 0.3],
            "stock_share": [0.4, 0.6],
            "catalogue_share": [0.5, 0.5],
            "gap": [0.3, -0.3],
        }
    )
    fig = tc.gaps_figure(gaps)
    assert [t.name for t in fig.data] == ["demand", "stock", "catalogue"]
    for t in fig.data:
        assert sum(t.x) == pytest.approx(100.0)


def test_metrics_and_lift_figures():
    table = pd.DataFrame(
        {"model": ["hybrid", "popularity"], "Recall@20": [0.3, 0.1], "NDCG@10": [0.1, 0.05]}
    )
    fig = hc.metrics_figure(table)
    assert [t.name for t in fig.data] == ["Recall@20", "NDCG@10"]
    lift = pd.DataFrame(
        {
            "group": ["model suggestions", "holdout (generic)"],
            "clients": [100, 20],
            "buyers": [30, 4],
            "conversion": [0.3, 0.2],
            "ci_low": [0.22, 0.08],
            "ci_high": [0.4, 0.42],
        }
    )
    bar = hc.lift_figure(lift).data[0]
    assert list(bar.y) == pytest.approx([30.0, 20.0])
    assert list(bar.error_y.array) == pytest.approx([10.0, 22.0])


@pytest.mark.parametrize(
    "build",
    [tc.product_map_figure, tc.momentum_figure, tc.weekly_figure, tc.gaps_figure, hc.lift_figure],
)
def test_empty_inputs_give_a_message_not_an_error(build):
    fig = build(pd.DataFrame())
    assert fig.layout.annotations and fig.layout.annotations[0].text


def test_selected_cluster_reads_the_chart_state():
    state = {"selection": {"points": [{"customdata": ["P3", "2", "name"]}], "point_indices": [3]}}
    assert selected_cluster(state) == 2
    assert selected_cluster({"selection": {"points": []}}) is None
    assert selected_cluster(None) is None
    assert selected_cluster({"selection": {"points": [{"x": 1}]}}) is None


def test_change_label_guard():
    assert change_label(300.0, False, 4, 1) == TOO_FEW
    assert change_label(25.4, True) == "+25%"
    assert change_label(-12.0, True) == "−12%"
    assert change_label(np.nan, True, 12, 0) == "new demand"
    assert change_label(399.0, True) == "+399%"
    assert change_label(400.0, True) == "×5"
    assert change_label(11000.0, True) == "×111"


def test_cluster_card_is_escaped():
    row = {
        "cluster": 0,
        "name": "<script>x</script>",
        "n_products": 3,
        "catalogue_share": 0.1,
        "demand_share": 0.2,
        "price_low": 100,
        "price_median": 200,
        "price_high": 300,
        "top_designers": "A & B",
        "top_products": HOSTILE,
    }
    card = cluster_card_html(row, {"rising": True, "change_label": "+40%"})
    assert "<script>" not in card and "&lt;script&gt;" in card
    assert "A &amp; B" in card and "javascript" in card and "<a " not in card
    assert "+40% (rising)" in card and "€100–€300" in card
