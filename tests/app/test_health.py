"""Model health aggregates: shared items from snapshots, attribution, acceptance, rule drops."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from core.app.health import (
    acceptance_frame,
    acceptance_tables,
    config_frame,
    data_freshness,
    measure_outcomes,
    metrics_table,
    reason_type,
    rule_drops,
    shared_items,
    slices_pivot,
    table_files,
)
from core.app.trend_view import FORBIDDEN_COLUMNS as FORBIDDEN_OUTPUT
from core.data.dataset import validate_tables
from core.data.generate import generate_maison
from core.engine.evaluation import evaluate
from core.engine.models.baselines import PopularityRecommender
from core.engine.models.hybrid import HybridRecommender
from core.store import SYSTEM_ACTOR, NewItem, Store
from core.store.records import CuratedListRecord, ListItemRecord, RemovalRecord, ShareRecord


@pytest.fixture(scope="module")
def dataset():
    return validate_tables(generate_maison(n_clients=300, n_products=80, seed=4).tables)


def _share(i: int, client: str, products: list[str], at: datetime, channel: str = "message"):
    snapshot = {"title": "For you", "items": [{"product_id": p, "name": "x"} for p in products]}
    return ShareRecord(i, i, client, channel, snapshot, "a1", at)


def _buyer(dataset):
    buys = dataset.events[dataset.events["event_type"] == "purchase"].sort_values("timestamp")
    return buys.iloc[len(buys) // 2]


def test_shared_items_come_from_the_snapshots():
    at = datetime(2026, 3, 1, 12, tzinfo=UTC)
    items = shared_items([_share(1, "c1", ["p1", "p2", "p1"], at), _share(2, "c2", [], at)])
    assert list(items["product_id"]) == ["p1", "p2"]
    assert items["shared_at"].dt.tz is None and (items["share_id"] == 1).all()
    assert shared_items([]).empty


def test_attribution_counts_a_purchase_inside_the_window_only(dataset):
    buy = _buyer(dataset)
    when = pd.Timestamp(buy["timestamp"]).to_pydatetime().replace(tzinfo=UTC)
    inside = _share(1, buy["client_id"], [buy["product_id"]], when - timedelta(days=3))
    outside = _share(2, buy["client_id"], [buy["product_id"]], when - timedelta(days=40))
    report = measure_outcomes([inside, outside], dataset, window_days=14)
    assert report.n_shares == 2 and report.n_items == 2
    assert report.conversion["items_converted"] >= 1
    conv = report.conversion
    assert 0 <= conv["item_ci"][0] <= conv["item_rate"] <= conv["item_ci"][1] <= 1
    assert report.lift is None  # no holdout configured
    only_outside = measure_outcomes([outside], dataset, window_days=14)
    assert only_outside.conversion["items_converted"] <= 1  # a variant may still match
    exact = measure_outcomes([inside], dataset, window_days=14)
    assert exact.by_match.set_index("match").loc["exact", "items"] == 1


def test_holdout_lift_has_intervals(dataset):
    clients = dataset.clients["client_id"].tolist()[:200]
    pid = dataset.products["product_id"].iloc[0]
    start = (dataset.as_of - pd.Timedelta(days=60)).to_pydatetime().replace(tzinfo=UTC)
    shares = [_share(i, c, [pid], start) for i, c in enumerate(clients)]
    report = measure_outcomes(shares, dataset, window_days=30, holdout_share=0.3)
    lift = report.lift
    assert lift is not None
    assert lift.model_clients + lift.holdout_clients == 200 and lift.holdout_clients > 20
    lo, hi = lift.difference_ci
    assert lo <= lift.difference <= hi
    assert set(lift.to_frame().columns) >= {"group", "conversion", "ci_low", "ci_high"}


def test_reason_types():
    assert reason_type("Because the client bought the Black Tote") == "past purchase"
    assert reason_type("She tried on the Silk Dress") == "try-on"
    assert reason_type("Matches their stated preference for cashmere") == "stated preference"
    assert reason_type("Matches their preference for camel") == "taste attributes"
    assert reason_type("The client viewed the Scarf") == "browsing"
    assert reason_type("Trending in Paris") == "trend"
    assert reason_type("") == "not recorded"
    assert reason_type("Something else") == "other"


def test_acceptance_from_list_items_and_removals():
    now = datetime(2026, 3, 1, tzinfo=UTC)

    def item(pid: str, source: str, reason: str) -> ListItemRecord:
        return ListItemRecord(pid, 0, False, source, "", reason, 0.5, "a1", now)

    lst = CuratedListRecord(
        1, "c1", "a1", "Ann", "t", "", "draft", 1, now, now, "a1", "Ann",
        (item("p1", "model", "Because the client bought the Tote"),
         item("p2", "model", "Trending in Paris"), item("p3", "manual", "")),
    )  # fmt: skip
    removals = [
        RemovalRecord(1, 1, "c1", "p4", None, "Price not right", "a2", now,
                      reason_shown="Trending in Paris"),
    ]  # fmt: skip
    frame = acceptance_frame([lst], removals)
    assert frame["kept"].tolist() == [True, True, False]  # manual items are not suggestions
    # The removed item is counted under the reason type it was shown with.
    assert frame["reason_type"].tolist()[2] == frame["reason_type"].tolist()[1] != "not recorded"
    tables = acceptance_tables(frame)
    overall = tables["overall"].iloc[0]
    assert (overall["suggested"], overall["kept"]) == (3, 2)
    by = tables["associate"].set_index("associate_id")
    assert by.loc["a1", "acceptance"] == 1.0 and by.loc["a2", "acceptance"] == 0.0
    assert tables["removal_reasons"].iloc[0].tolist() == ["Price not right", 1]
    assert acceptance_tables(acceptance_frame([], [])) == {}


def test_rule_drops_over_a_sample(dataset):
    drops = rule_drops(dataset, n_clients=30)
    assert len(drops) >= 1
    assert list(drops["products_dropped"]) == sorted(drops["products_dropped"], reverse=True)
    assert (drops["first_rule_drops"] <= drops["products_dropped"]).all()
    assert (drops["clients_affected"] <= 30).all()
    assert ((drops["catalogue_share"] >= 0) & (drops["catalogue_share"] <= 1)).all()
    assert not FORBIDDEN_OUTPUT & set(drops.columns)


def test_freshness_metrics_and_config_tables(dataset):
    fresh = data_freshness(dataset).set_index("table")
    assert fresh.loc["events", "latest"] == dataset.events["timestamp"].max()
    assert fresh.loc["products", "rows"] == len(dataset.products)
    report = evaluate(
        {"hybrid": lambda: HybridRecommender(), "popularity": lambda: PopularityRecommender()},
        dataset,
    )
    table = metrics_table(report)
    assert table["model"].iloc[0] == "hybrid" and "vs best baseline" in table.columns
    cfg = config_frame({"n_factors": 48, "event_weights": {"view": 1.0}})
    assert cfg["parameter"].tolist() == ["n_factors", "event_weights.view"]


def test_table_files_list_every_table_file_with_the_embeddings(tmp_path):
    from core.data.generate import write_maison

    write_maison(tmp_path, 60, 50, seed=1)
    files = table_files(tmp_path).set_index("table")
    on_disk = {p.name for p in tmp_path.iterdir() if p.is_file()}
    assert "product_embeddings" in files.index  # the generator writes planted image vectors
    assert set(files["file"]) <= on_disk
    assert files.loc["product_embeddings", "file"] == "product_embeddings.parquet"
    assert files.loc["product_embeddings", "size_mb"] > 0
    (tmp_path / "product_embeddings.parquet").unlink()
    assert "product_embeddings" not in set(table_files(tmp_path)["table"])


def test_slices_pivot_shows_each_slice_size_beside_the_models():
    slices = pd.DataFrame(
        {
            "model": ["hybrid", "svd", "hybrid", "svd"],
            "slice": ["all", "all", "cold_clients", "cold_clients"],
            "n_clients": [370, 370, 8, 8],
            "n_pairs": [443, 443, 17, 17],
            "Recall@20": [0.29, 0.24, 0.0, 0.0417],
        }
    )
    got = slices_pivot(slices, "Recall@20").set_index("slice")
    assert list(got.columns) == ["n_clients", "n_pairs", "hybrid", "svd"]
    assert got.loc["cold_clients"].tolist() == [8, 17, 0.0, 0.0417]
    assert got.loc["all", "hybrid"] == 0.29


def test_store_readers(tmp_path, dataset):
    store = Store.open(url=f"sqlite:///{tmp_path / 'h.db'}")
    store.users.create_user("a1", "Ann", "associate", actor_id=SYSTEM_ACTOR)
    client = dataset.clients["client_id"].iloc[0]
    pid = dataset.products["product_id"].iloc[0]
    lst = store.lists.create_list(client, "a1", "Edit", items=[NewItem(pid, reason="New arrival")])
    store.shares.record_share(lst.list_id, "message", {"items": [{"product_id": pid}]}, "a1",
                              consent_contact=True)  # fmt: skip
    store.lists.record_removal(client, dataset.products["product_id"].iloc[1], "Other", "a1")
    assert [s.client_id for s in store.shares.all_shares()] == [client]
    assert [r.reason for r in store.lists.all_removals()] == ["Other"]
    assert [lst.product_ids for lst in store.lists.all_lists()] == [[pid]]
    store.close()
