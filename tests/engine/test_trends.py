"""Trends: planted segments come back as clusters, the planted rising segment tops momentum."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from core.data.dataset import validate_tables
from core.data.generate import generate_maison
from core.engine.config import EngineConfig
from core.engine.models.hybrid import HybridRecommender
from core.engine.trends import TrendAnalyzer, TrendParams
from core.exceptions import NotFittedError, UnknownIdError


@pytest.fixture(scope="module")
def rising():
    maison = generate_maison(n_clients=2500, n_products=500, seed=11, rising_segment="runway")
    ds = validate_tables(maison.tables)
    model = HybridRecommender(config=EngineConfig(n_factors=32)).fit(ds)
    return maison, ds, model, TrendAnalyzer.from_model(model, ds)


def _truth(maison, ds) -> pd.Series:
    t = maison.truth["product_segments"].set_index("product_id")["segment"]
    return t.loc[ds.products["product_id"]]


def test_planted_segments_come_back_as_clusters(rising):
    maison, ds, _, ta = rising
    # Measured ARI about 0.6-0.7 for this size; random labels give ~0.
    ari = adjusted_rand_score(_truth(maison, ds), ta.labels_)
    assert ari > 0.4, ari
    assert TrendParams().k_min <= ta.k_ <= TrendParams().k_max
    # The criterion picked the best silhouette among those tried.
    assert ta.k_ == int(ta.selection_.loc[ta.selection_["silhouette"].idxmax(), "k"])


def test_names_are_distinct_and_attribute_based(rising):
    _, ds, _, ta = rising
    assert len(set(ta.names_)) == ta.k_
    vocab = set()
    for col in ("material", "color", "designer", "category"):
        vocab |= set(ds.products[col].str.lower())
    tags = ds.products["style_tags"].str.lower().str.split("|").explode()
    vocab |= set(tags)
    for name in ta.names_:
        assert any(term in vocab for term in name.split(" · ")), name


def test_planted_rising_segment_tops_momentum(rising):
    maison, ds, _, ta = rising
    mom = ta.momentum(recent_days=42, earlier_days=120)
    top = int(mom.iloc[0]["cluster"])
    members = ds.products["product_id"].to_numpy()[ta.labels_ == top]
    seg = maison.truth["product_segments"].set_index("product_id").loc[members, "segment"]
    assert seg.value_counts(normalize=True).idxmax() == "runway"
    assert bool(mom.iloc[0]["rising"])


def test_small_counts_do_not_read_as_huge_growth():
    # One product going from 1 to 4 events is not "+300%".
    from core.data.dataset import Dataset

    products = pd.DataFrame(
        {
            "product_id": ["a", "b", "c", "d"],
            "name": ["A", "B", "C", "D"],
            "category": ["bags"] * 4,
            "price": [1, 2, 3, 4],
        }
    )
    ts = ["2026-01-10"] + ["2026-03-25", "2026-03-26", "2026-03-27", "2026-03-28"]
    events = pd.DataFrame(
        {
            "client_id": ["c1"] * 5,
            "product_id": ["a"] * 5,
            "event_type": ["purchase"] * 5,
            "timestamp": ts,
        }
    )
    ds = Dataset.from_frames(products, events)
    vectors = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    ta = TrendAnalyzer(TrendParams(k_min=2, k_max=2)).fit(ds, vectors)
    mom = ta.momentum(recent_days=28, earlier_days=84)
    row = mom[mom["recent"] > 0].iloc[0]
    assert not row["enough_data"] and not row["rising"]
    assert np.isnan(row["change_pct"])


def test_gap_shares_sum_to_one_and_gap_is_their_difference(rising):
    _, ds, _, ta = rising
    for store in (None, ds.stores["store_id"].iloc[0]):
        g = ta.gaps(store_id=store)
        for col in ("demand_share", "catalogue_share", "stock_share"):
            assert g[col].sum() == pytest.approx(1.0)
        assert np.allclose(g["gap"], g["demand_share"] - g["stock_share"])
        assert list(g["gap"]) == sorted(g["gap"], reverse=True)
    with pytest.raises(UnknownIdError, match="nowhere"):
        ta.gaps(store_id="nowhere")


def test_map_and_series_cover_every_product_and_week(rising):
    _, ds, _, ta = rising
    m = ta.product_map()
    assert len(m) == len(ds.products) and m[["x", "y"]].notna().all().all()
    s = ta.weekly_series(weeks=12)
    assert len(s) == 12 * ta.k_
    # The twelve whole weeks up to the data's date hold exactly the demand after their start.
    after = ta.demand_[ta.demand_["timestamp"] > s["week_start"].min()]
    assert s["demand"].sum() == pytest.approx(after["demand"].sum())
    cp = ta.cluster_products(0, n=5)
    assert len(cp) <= 5 and list(cp["demand"]) == sorted(cp["demand"], reverse=True)
    with pytest.raises(UnknownIdError, match="cluster 99"):
        ta.cluster_products(99)


def test_every_week_of_the_series_is_whole_up_to_the_data_date():
    """One purchase a day: every week holds 7, the latest too (not a last partial week near 0)."""
    from core.data.dataset import Dataset

    ids = list("abcdef")
    products = pd.DataFrame(
        {"product_id": ids, "name": ids, "category": ["x"] * 6, "price": [1.0] * 6}
    )
    days = pd.date_range("2026-01-01 10:30", periods=70, freq="D")
    events = pd.DataFrame(
        {
            "client_id": [f"c{i % 5}" for i in range(70)],
            "product_id": [ids[i % 6] for i in range(70)],
            "event_type": ["purchase"] * 70,
            "timestamp": days,
        }
    )
    ds = Dataset.from_frames(products, events)
    vectors = np.repeat(np.eye(2), 3, axis=0) + np.arange(6)[:, None] * 1e-3
    ta = TrendAnalyzer(TrendParams(k_min=2, k_max=2)).fit(ds, vectors)
    s = ta.weekly_series(weeks=8)
    per_week = s.groupby("week")["demand"].sum()
    assert per_week.tolist() == [7.0] * 8
    assert s["week_start"].max() + pd.Timedelta(days=7) == ds.as_of


def test_fit_validates_and_unfitted_raises():
    from core.data.dataset import Dataset

    products = pd.DataFrame(
        {
            "product_id": ["a", "b", "c"],
            "name": list("ABC"),
            "category": ["x"] * 3,
            "price": [1, 2, 3],
        }
    )
    events = pd.DataFrame(
        {
            "client_id": ["c"],
            "product_id": ["a"],
            "event_type": ["view"],
            "timestamp": ["2026-01-01"],
        }
    )
    ds = Dataset.from_frames(products, events)
    with pytest.raises(NotFittedError):
        TrendAnalyzer().momentum()
    with pytest.raises(ValueError, match="one row per product"):
        TrendAnalyzer().fit(ds, np.ones((2, 2)))
    with pytest.raises(ValueError, match="NaN"):
        TrendAnalyzer().fit(ds, np.array([[np.nan, 1], [1, 0], [0, 1]]))
    with pytest.raises(ValueError, match="k_min"):
        TrendParams(k_min=5, k_max=3)
