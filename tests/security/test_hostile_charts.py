"""Hostile text in the figures: product, designer, cluster, factor and model names.

Plotly draws names as a subset of HTML, and as LaTeX a text holding two
``$`` (with MathJax on the page); a ``hovertemplate`` fills in ``%{...}``.
Properties: every text a figure can show is escaped (no ``<``, ``>`` or
``$`` left raw; :func:`dashboard.charts.layout.esc`), decodes back to the
name (whitespace collapsed, long names cut with an ellipsis), and no
hovertemplate holds anything but the chart's own placeholders.
"""

from __future__ import annotations

import html
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboard.charts.client import activity_figure, taste_profile_figure
from dashboard.charts.health import lift_figure, metrics_figure
from dashboard.charts.layout import esc, hover_texts
from dashboard.charts.trends import gaps_figure, momentum_figure, product_map_figure, weekly_figure
from tests.security.hostile import HOSTILE, examples

pytestmark = pytest.mark.security

PLACEHOLDER = re.compile(r"%\{[^}]*\}")
OWN_PLACEHOLDERS = {
    "%{x}", "%{y}", "%{text}", "%{meta}", "%{x|%d %b %Y}", "%{y:.0f}", "%{y:.1f}", "%{y:.4f}",
    "%{x:.1f}", "%{customdata[0]:.0f}", "%{customdata[1]:.0f}",
    *(f"%{{customdata[{i}]}}" for i in range(2, 7)),
}  # fmt: skip
NAMES = st.lists(HOSTILE, min_size=3, max_size=3)


def flat(text: str) -> str:
    return " ".join(text.split())


def assert_escaped(fig) -> None:
    for text in hover_texts(fig):
        assert not set(text) & set("<>$"), text
    for trace in fig.data:
        template = getattr(trace, "hovertemplate", None) or ""
        assert set(PLACEHOLDER.findall(template)) <= OWN_PLACEHOLDERS, template
        assert "&lt;" not in template and "&amp;" not in template, template  # no name inside
        meta = getattr(trace, "meta", None)
        assert meta is None or not set(str(meta)) & set("<>$"), meta


@examples(200)
@given(text=HOSTILE, max_len=st.sampled_from([1, 46, 80]))
def test_esc_leaves_nothing_for_plotly_to_interpret(tried, text, max_len):
    tried("chart label (esc)")
    out = esc(text, max_len)
    assert not set(out) & set("<>$\"'")
    expected = flat(text)
    if len(expected) > max_len:
        expected = expected[: max_len - 1] + "…"
    assert html.unescape(out) == expected


@examples(40)
@given(names=NAMES, designers=NAMES, clusters=NAMES, change=HOSTILE)
def test_trend_figures_never_render_as_markup(tried, names, designers, clusters, change):
    tried("trend charts (product, designer, category, cluster names)", 12)
    product_map = pd.DataFrame(
        {
            "product_id": ["p0", "p1", "p2"], "x": [0.0, 1.0, 2.0], "y": [0.0, 1.0, 0.5],
            "cluster": [0, 1, 2], "cluster_name": clusters, "name": names,
            "designer": designers, "category": names, "price": [1.0, 2.0, 3.0],
            "currency": ["GBP", "EUR", "SEK"],
        }
    )  # fmt: skip
    assert_escaped(product_map_figure(product_map, selected=1))
    momentum = pd.DataFrame(
        {
            "cluster": [0, 1, 2], "name": clusters, "momentum": [0.2, -0.1, 0.0],
            "rising": [True, False, False], "enough_data": [True, True, False],
            "change_label": [change, "+5%", "too few events"],
            "recent": [10.0, 5.0, 1.0], "earlier": [5.0, 6.0, 1.0],
        }
    )  # fmt: skip
    assert_escaped(momentum_figure(momentum))
    weeks = pd.date_range("2026-01-05", periods=2, freq="W-MON")
    weekly = pd.DataFrame(
        {
            "week_start": np.repeat(weeks, 3), "cluster": [0, 1, 2] * 2,
            "name": clusters * 2, "demand": [1.0, 2.0, 3.0] * 2,
        }
    )  # fmt: skip
    assert_escaped(weekly_figure(weekly, highlight={0}, selected=1))
    gaps = pd.DataFrame(
        {
            "cluster": [0, 1, 2], "name": clusters, "demand_share": [0.5, 0.3, 0.2],
            "stock_share": [0.2, 0.3, 0.5], "catalogue_share": [0.3, 0.3, 0.4],
            "gap": [0.3, 0.0, -0.3],
        }
    )  # fmt: skip
    assert_escaped(gaps_figure(gaps))


@examples(30)
@given(labels=NAMES, kinds=NAMES, models=NAMES)
def test_client_and_health_figures_never_render_as_markup(tried, labels, kinds, models):
    tried("client and health charts (factor, event, model names)", 9)
    assert_escaped(taste_profile_figure(pd.DataFrame({"label": labels, "share": [0.5, 0.3, 0.2]})))
    events = pd.DataFrame({"timestamp": pd.to_datetime(["2026-01-03"] * 3), "event_type": kinds})
    assert_escaped(activity_figure(events))
    table = pd.DataFrame({"model": models, "Recall@20": [0.1, 0.2, 0.3], "NDCG@10": [0.1] * 3})
    assert_escaped(metrics_figure(table))
    groups = pd.DataFrame(
        {"group": models[:2], "conversion": [0.1, 0.2], "ci_low": [0.05, 0.1],
         "ci_high": [0.15, 0.3], "clients": [10, 20]}
    )  # fmt: skip
    assert_escaped(lift_figure(groups))
