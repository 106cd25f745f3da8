"""Trends in the products' currency: pounds for a GBP import, and said so when prices mix currencies."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core.app.trend_view import build_trend_view, cluster_price_bands
from core.data.dataset import Dataset
from core.engine.trends import MIXED_CURRENCY, TrendAnalyzer, TrendParams
from dashboard.charts.layout import hover_texts
from dashboard.charts.trends import product_map_figure

pytestmark = pytest.mark.security


def analyzer(currencies: list[str]) -> TrendAnalyzer:
    """Six products in two clusters (a-c, d-f), priced 2, 3, 5 and 20, 30, 50."""
    ids = list("abcdef")
    products = pd.DataFrame(
        {
            "product_id": ids,
            "name": [f"Product {i.upper()}" for i in ids],
            "designer": "House",
            "category": ["bags"] * 3 + ["mugs"] * 3,
            "price": [2.0, 3.0, 5.0, 20.0, 30.0, 50.0],
            "currency": currencies,
        }
    )
    events = pd.DataFrame(
        {
            "client_id": ["c1"] * 6,
            "product_id": ids,
            "event_type": ["purchase"] * 6,
            "timestamp": ["2026-03-01"] * 6,
        }
    )
    vectors = np.array([[1, 0], [0.95, 0.05], [0.9, 0.1], [0, 1], [0.05, 0.95], [0.1, 0.9]])
    ds = Dataset.from_frames(products, events)
    return TrendAnalyzer(TrendParams(k_min=2, k_max=2)).fit(ds, vectors.astype(float))


def test_a_catalogue_in_pounds_shows_pounds_everywhere():
    ta = analyzer(["GBP"] * 6)
    assert ta.currencies() == ["GBP"]
    view = build_trend_view(ta)
    assert not view.mixed_currencies
    assert set(view.clusters["currency"]) == {"GBP"}
    bands = " ".join(view.clusters["price_band"])
    assert "£" in bands and "€" not in bands
    assert set(view.product_map["currency"]) == {"GBP"}
    assert set(ta.cluster_products(0)["currency"]) == {"GBP"}
    hover = " ".join(hover_texts(product_map_figure(view.product_map)))
    assert "£20" in hover and "€" not in hover


def test_missing_or_lowercase_currencies_are_the_contract_default():
    ta = analyzer(["gbp", "GBP ", "GBP", "", None, "eur"])  # type: ignore[list-item]
    assert ta.currencies() == ["EUR", "GBP"]
    clusters = ta.clusters()
    assert list(clusters.sort_values("cluster")["currency"]) in (
        ["GBP", "EUR"],
        ["EUR", "GBP"],
    )


def test_mixed_currencies_are_said_and_never_blended():
    ta = analyzer(["GBP", "GBP", "EUR", "EUR", "EUR", "EUR"])
    view = build_trend_view(ta)
    assert view.mixed_currencies and view.currencies == ("EUR", "GBP")
    clusters = view.clusters.set_index("cluster")
    mixed = clusters[clusters["currency"] == MIXED_CURRENCY]
    assert len(mixed) == 1
    band = str(mixed["price_band"].iloc[0])
    assert band.startswith("mixed currencies (GBP, EUR): ")
    assert "£" in band and "€" in band
    single = clusters[clusters["currency"] == "EUR"]["price_band"].iloc[0]
    assert single == "€25–€40 (median €30)"


def test_price_bands_per_cluster_and_currency():
    frame = pd.DataFrame(
        {
            "cluster": [0, 0, 0, 1],
            "price": [1.0, 3.0, 5.0, 1250.0],
            "currency": ["GBP", "GBP", "SEK", "EUR"],
        }
    )
    bands = cluster_price_bands(frame)
    assert bands[1] == "€1,250–€1,250 (median €1,250)"
    assert bands[0] == "mixed currencies (GBP, SEK): £2–£2 (median £2); 5 SEK–5 SEK (median 5 SEK)"


def _drill_down_app(currencies: list[str]) -> AppTest:
    def script(currencies: list[str]) -> None:
        from core.app.trend_view import build_trend_view
        from dashboard.sections import trends
        from tests.dashboard.test_trend_currency import analyzer

        ta = analyzer(currencies)
        view = build_trend_view(ta)
        trends.render_summary(view)
        trends._render_drill_down(view, ta, int(ta.labels_[0]))  # the cluster of a, b, c

    return AppTest.from_function(script, args=(currencies,)).run()


@pytest.mark.parametrize(
    ("currencies", "symbol", "caption"),
    [(["GBP"] * 6, "£", False), (["GBP"] * 3 + ["EUR"] * 3, "£", True)],
)
def test_the_trends_page_shows_prices_in_their_currency(currencies, symbol, caption):
    at = _drill_down_app(currencies)
    assert not at.exception
    table = next(df.value for df in at.get("dataframe") if "price" in df.value.columns)
    assert all(str(p).startswith(symbol) for p in table["price"])
    captions = " ".join(str(c.value) for c in at.caption)
    assert ("several currencies (EUR, GBP)" in captions) is caption


def test_the_cluster_card_shows_the_band_in_the_clusters_currency():
    from dashboard.widgets.clusters import cluster_card_html

    view = build_trend_view(analyzer(["GBP"] * 6))
    card = cluster_card_html(view.clusters.iloc[0].to_dict())
    assert "£" in card and "€" not in card
