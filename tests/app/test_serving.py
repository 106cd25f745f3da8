"""Serving from a product-side model with each client's events read per request.

The dashboard of a large house holds products, clients and the product-side
model, never the event log: a client's events are read from the partitioned
layout per request and folded in (``extra_events``). Everything the client
page shows -- suggestions, exact scores, both wordings of the reasons, the
rules' exclusions -- must be what the in-memory model fitted on the same data
with the same algorithm shows.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.app.serving import Served, open_served
from core.data.dataset import Dataset, load_dataset
from core.engine.config import EngineConfig
from core.engine.models.hybrid import HybridRecommender
from core.exceptions import UnknownIdError
from core.suggest.pipeline import Suggester
from core.suggest.request import SuggestRequest
from core.suggest.rules import RuleSet
from tests.engine.scale_data import clients_with_events, one_process_block_fit, partitioned_maison

N_CLIENTS, N_PRODUCTS, SEED, BUCKETS = 600, 160, 5, 3
CONFIG = EngineConfig()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return partitioned_maison(
        tmp_path_factory.mktemp("maison"), N_CLIENTS, N_PRODUCTS, SEED, BUCKETS
    )


@pytest.fixture(scope="module")
def dataset(folder: Path) -> Dataset:
    return load_dataset(folder)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("model")


@pytest.fixture(scope="module")
def served(folder: Path, model_dir: Path) -> Served:
    return open_served(folder, model_dir, config=CONFIG, scheduler="sync")


@pytest.fixture(scope="module")
def in_memory(dataset: Dataset) -> HybridRecommender:
    return one_process_block_fit(dataset, CONFIG)


def test_the_dashboard_holds_no_event(served: Served, dataset: Dataset) -> None:
    assert len(served.dataset.events) == 0
    assert served.model.interactions_.matrix.shape[0] == 0
    assert sorted(served.dataset.clients["client_id"]) == sorted(dataset.clients["client_id"])


def test_a_client_read_per_request_gets_what_the_in_memory_model_gives(
    served: Served, in_memory: HybridRecommender, dataset: Dataset
) -> None:
    rules = RuleSet.default()
    here = Suggester(in_memory, dataset, rules)
    there = Suggester(served.model, served.dataset, rules)
    for client in clients_with_events(dataset, 5):
        events = served.events(client)
        assert len(events) == int((dataset.events["client_id"] == client).sum())
        want = here.suggest(client, SuggestRequest(k=8))
        got = there.suggest(client, SuggestRequest(k=8, extra_events=events))
        assert got.items["product_id"].tolist() == want.items["product_id"].tolist(), client
        np.testing.assert_allclose(got.items["score"], want.items["score"], rtol=1e-6, atol=1e-9)
        assert got.items["reasons"].tolist() == want.items["reasons"].tolist()
        assert got.items["client_reasons"].tolist() == want.items["client_reasons"].tolist()
        assert got.rule_result is not None and want.rule_result is not None
        assert (got.rule_result.allowed == want.rule_result.allowed).all()


def test_a_bare_request_on_the_arrow_rows_read_gets_what_the_in_memory_model_gives(
    served: Served, in_memory: HybridRecommender, dataset: Dataset
) -> None:
    """recommend + explain on a client's rows as read (no frame made) match the in-memory model."""
    for client in clients_with_events(dataset, 5):
        rows = served.event_rows(client)
        assert rows.num_rows == int((dataset.events["client_id"] == client).sum())
        want = in_memory.recommend(client, 10, exclude_seen=True)
        got = served.model.recommend(client, 10, exclude_seen=True, extra_events=rows)
        assert got["product_id"].tolist() == want["product_id"].tolist(), client
        np.testing.assert_allclose(got["score"], want["score"], rtol=1e-6, atol=1e-9)
        products = got["product_id"].tolist()
        mine = served.model.explain_many(client, products, rows)
        theirs = in_memory.explain_many(client, products)
        for e, w, score in zip(mine, theirs, got["score"], strict=True):
            assert abs(sum(c.value for c in e.contributions) - score) < 1e-9
            assert [c.source for c in e.contributions] == [c.source for c in w.contributions]
    assert served.event_rows(client) is rows  # kept: read once
    assert served.events(client) is served.events(client)  # its frame, made once


def test_what_a_client_bought_is_never_suggested_again_when_read_per_request(
    served: Served, dataset: Dataset
) -> None:
    there = Suggester(served.model, served.dataset, RuleSet.default())
    buys = dataset.events[dataset.events["event_type"] == "purchase"]
    client = str(buys["client_id"].value_counts().index[0])
    events = served.events(client)
    bought = set(events.loc[events["event_type"] == "purchase", "product_id"].astype(str))
    returned = set(events.loc[events["event_type"] == "return", "product_id"].astype(str))
    got = there.suggest(client, SuggestRequest(k=40, extra_events=events))
    assert not set(got.items["product_id"]) & (bought - returned)
    # Without the events the served dataset knows nothing of them: they come back.
    blind = there.suggest(client, SuggestRequest(k=len(dataset.product_ids)))
    assert set(blind.items["product_id"]) & (bought - returned)


def test_the_command_line_recommends_per_client_without_the_event_log(
    served: Served,
    dataset: Dataset,
    folder: Path,
    model_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``recommend --serve per-client`` prints what the served model suggests, and never
    loads the event log (nor fits: it loads the product-side model)."""
    import core.app.bootstrap
    import core.app.serving
    from core.cli import main

    shutil.copytree(model_dir, tmp_path / "model-products")
    monkeypatch.setenv("ATELIER_MODEL_DIR", str(tmp_path / "model"))

    def refused(*args: object, **kw: object) -> None:
        raise AssertionError("the per-client command must not load the event log or fit")

    monkeypatch.setattr(core.app.bootstrap, "load_data", refused)
    monkeypatch.setattr(core.app.serving, "fit_partitioned", refused)
    client = clients_with_events(dataset, 1)[0]
    assert main(["--data", str(folder), "recommend", "--client", client, "-k", "6",
                 "--serve", "per-client"]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    there = Suggester(served.model, served.dataset, RuleSet.default())
    want = there.suggest(client, SuggestRequest(k=6, extra_events=served.events(client)))
    names = [line.split(". ", 1)[1].split(" — ")[0] for line in printed.splitlines()[1::2]]
    assert names == want.items["name"].tolist()
    assert main(["--data", str(folder), "recommend", "--client", "nobody", "--serve",
                 "per-client"]) != 0  # fmt: skip
    assert "unknown client id: 'nobody'" in capsys.readouterr().err


def test_an_unknown_client_is_refused_by_name(served: Served) -> None:
    assert served.events("nobody").empty
    there = Suggester(served.model, served.dataset, RuleSet.default())
    with pytest.raises(UnknownIdError, match="nobody"):
        there.suggest("nobody")


def test_a_saved_model_is_loaded_not_refitted(served: Served, folder: Path, tmp_path: Path) -> None:
    model_dir = tmp_path / "m"
    first = open_served(folder, model_dir, config=CONFIG, scheduler="sync")
    again = open_served(folder, model_dir, config=CONFIG, scheduler="sync")
    assert again.model.fit_report_["fit_id"] == first.model.fit_report_["fit_id"]
    np.testing.assert_array_equal(again.model.item_factors_, first.model.item_factors_)


def test_the_house_sums_equal_what_the_event_log_gives(served: Served, dataset: Dataset) -> None:
    from core.suggest.catalogue import Catalogue
    from core.suggest.generic import store_sales
    from core.suggest.rerank.look import copurchase_lift

    np.testing.assert_allclose(
        Catalogue.of(served.dataset).purchase_counts, Catalogue.of(dataset).purchase_counts
    )
    assert Catalogue.of(served.dataset).purchase_counts.sum() > 0
    as_of, sold = dataset.as_of, 0.0
    for store in dataset.stores["store_id"].astype(str):
        for days in (7, 30, 365):
            want = store_sales(dataset, store, as_of, days)
            np.testing.assert_array_equal(store_sales(served.dataset, store, as_of, days), want)
            sold += want.sum()
    assert sold > 0
    anchors = np.argsort(-Catalogue.of(dataset).purchase_counts)[:5]
    for anchor in anchors:
        for got, want in zip(
            copurchase_lift(served.dataset, int(anchor)),
            copurchase_lift(dataset, int(anchor)),
            strict=True,
        ):
            np.testing.assert_allclose(got, want, rtol=1e-12)


def test_generic_lists_and_looks_match_without_the_event_log(
    served: Served, in_memory: HybridRecommender, dataset: Dataset
) -> None:
    rules = RuleSet.default()
    here = Suggester(in_memory, dataset, rules)
    there = Suggester(served.model, served.dataset, rules)
    for client in clients_with_events(dataset, 4):
        events = served.events(client)
        want = here.suggest(client, SuggestRequest(k=10, consent_override=False))
        got = there.suggest(client, SuggestRequest(k=10, consent_override=False))
        assert got.generic and want.generic
        assert got.items["product_id"].tolist() == want.items["product_id"].tolist()
        anchor = str(want.items["product_id"].iloc[0])
        look_want = here.complete_the_look(client, anchor, 6)
        look_got = there.complete_the_look(client, anchor, 6, extra_events=events)
        assert look_got["product_id"].tolist() == look_want["product_id"].tolist()
        np.testing.assert_allclose(look_got["score"], look_want["score"], rtol=1e-6)


def test_trends_read_the_same_demand_without_the_event_log(
    served: Served, in_memory: HybridRecommender, dataset: Dataset
) -> None:
    from core.engine.trends import TrendAnalyzer

    vectors = in_memory.item_embedding()
    here = TrendAnalyzer().fit(dataset, vectors)
    there = TrendAnalyzer().fit(served.dataset, vectors)
    as_of = dataset.as_of
    store = str(dataset.stores["store_id"].iloc[0])
    for since, where in ((None, None), (as_of - pd.Timedelta(days=30), None), (None, store)):
        want = here.product_demand(since, where)
        assert want.sum() > 0
        pd.testing.assert_series_equal(there.product_demand(since, where), want)
    pd.testing.assert_frame_equal(there.clusters(), here.clusters())
    pd.testing.assert_frame_equal(there.momentum(), here.momentum())
    pd.testing.assert_frame_equal(there.weekly_series(12), here.weekly_series(12))
    pd.testing.assert_frame_equal(there.gaps(store), here.gaps(store))


def test_share_outcomes_read_the_contacted_clients_events(served: Served, dataset: Dataset) -> None:
    from datetime import UTC

    from core.app.health import measure_outcomes
    from core.store.records import ShareRecord

    ev = dataset.events
    since = dataset.as_of - pd.Timedelta(days=60)
    # half bought after the share (exact conversions), half before
    buys = ev[ev["event_type"] == "purchase"]
    buys = pd.concat([buys[buys["timestamp"] > since][:30], buys[buys["timestamp"] <= since][:30]])
    start = since.to_pydatetime().replace(tzinfo=UTC)
    shares = []
    for i, (client, product) in enumerate(
        zip(buys["client_id"][:60], buys["product_id"][:60], strict=True)
    ):
        items = [{"product_id": str(product), "name": "x"}]
        shares.append(ShareRecord(i, i, str(client), "message", {"items": items}, "a1", start))
    want = measure_outcomes(shares, dataset, window_days=90, holdout_share=0.3)
    got = measure_outcomes(
        shares,
        served.dataset,
        window_days=90,
        holdout_share=0.3,
        clients_events=served.events_of_clients,
    )
    assert want.conversion == got.conversion
    assert want.lift is not None and got.lift is not None
    assert (want.lift.model_buyers, want.lift.holdout_buyers) == (
        got.lift.model_buyers,
        got.lift.holdout_buyers,
    )
    assert want.lift.model_buyers + want.lift.holdout_buyers > 0
    # return rates: the contacted clients' purchases, and the house's sums for the others
    pd.testing.assert_frame_equal(want.returns, got.returns)
    rates = got.returns.set_index("purchases")
    assert rates.loc["suggested, then bought", "bought"] > 0
    assert rates["bought"].sum() == (ev["event_type"] == "purchase").sum()
    assert rates.loc["other purchases", "returned_for_fit"] > 0


def test_fit_returns_read_the_house_and_the_clients_events(
    served: Served, dataset: Dataset
) -> None:
    from core.suggest.catalogue import Catalogue
    from core.suggest.sizes import FitReturns

    want, got = FitReturns.of(dataset), FitReturns.of(served.dataset)
    assert want.returned.sum() > 0
    np.testing.assert_array_equal(want.returned, got.returned)
    np.testing.assert_array_equal(want.bought, got.bought)
    ev = dataset.events
    returners = ev.loc[ev["reason"] == "fit", "client_id"].astype(str).unique()[:5]
    mine, theirs = Catalogue.of(dataset), Catalogue.of(served.dataset)
    for c in returners:
        cats = want.categories(mine.history(c))
        assert cats and cats == got.categories(theirs.history(c, served.events(c)))


def test_rule_drops_see_what_the_sampled_clients_bought(served: Served, dataset: Dataset) -> None:
    from core.app.health import rule_drops

    want = rule_drops(dataset, n_clients=60)
    got = rule_drops(served.dataset, n_clients=60, clients_events=served.events_of_clients)
    pd.testing.assert_frame_equal(want, got)
    assert "already_bought" in set(want["rule"])
    blind = rule_drops(served.dataset, n_clients=60)
    assert "already_bought" not in set(blind["rule"])


def test_a_served_client_is_read_once_until_the_data_is_rewritten(
    served: Served, dataset: Dataset, folder: Path
) -> None:
    client = str(dataset.events["client_id"].iloc[0])
    first = served.events(client)
    assert served.events(client) is first
    # rewritten (same rows, a new write): read again, the same events
    from core.data.partitioned import write_partitioned

    write_partitioned([(dataset.clients, dataset.events)], folder, BUCKETS)
    again = served.events(client)
    assert again is not first
    pd.testing.assert_frame_equal(again, first)


def test_the_columns_a_served_read_hands_the_fold_in_are_the_frame_s(
    served: Served, dataset: Dataset
) -> None:
    """The reader's Arrow columns stand in for reading the frame: they must be the same values."""
    from core.engine.events import extra_table, known_columns

    counts = dataset.events["client_id"].value_counts()
    # A client with few events and the one with most (over the few-events path's 32).
    for client in (str(counts.index[-1]), str(counts.index[0])):
        events = served.events(client)
        handed = known_columns(events)
        assert handed is not None
        read = extra_table(events)
        assert set(handed) == set(read)
        for name in ("client_id", "product_id", "event_type"):
            assert list(handed[name]) == list(read[name]), name
        np.testing.assert_array_equal(handed["timestamp"], read["timestamp"])
        np.testing.assert_array_equal(handed["is_gift"], read["is_gift"])
    assert known_columns(events.copy()) is None  # another frame: read from it


def test_the_lookup_knows_each_client_s_last_activity_without_the_event_log(
    served: Served, dataset: Dataset
) -> None:
    from core.app.search import ClientIndex

    want = ClientIndex(dataset.clients, dataset.events)
    got = ClientIndex(served.dataset.clients, served.dataset.events, latest=served.latest_events())
    assert list(got.client_ids) == list(want.client_ids)
    pd.testing.assert_series_equal(got.last_activity, want.last_activity, check_names=False)
    assert got.last_activity.notna().sum() == dataset.events["client_id"].nunique()
    # The "active lately" filter picks the same clients (none would pass on an empty log).
    since = dataset.events["timestamp"].quantile(0.7)
    picked = got.search("", recently_active_since=since, limit=None)["client_id"].tolist()
    assert picked == want.search("", recently_active_since=since, limit=None)["client_id"].tolist()
    assert picked
