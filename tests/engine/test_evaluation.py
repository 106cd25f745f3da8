"""Evaluation: metrics against hand computations and scikit-learn, the split, the report."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.metrics import ndcg_score

from core.data.dataset import Dataset
from core.data.schema import COLS
from core.engine.diversity import (
    attribute_vectors,
    intra_list_diversity,
    intra_list_diversity_rows,
)
from core.engine.evaluation import (
    EvaluationReport,
    average_precision_at_k,
    catalogue_coverage,
    evaluate,
    hit_rate_at_k,
    metrics_from_hits,
    ndcg_at_k,
    novelty,
    precision_at_k,
    recall_at_k,
    temporal_split,
)
from core.engine.evaluation.metrics import ratio_interval
from core.engine.ranking import top_indices, top_k_coo
from tests.engine.oracle import Oracle


# ------------------------------------------------------------------ metrics
def test_metrics_on_a_hand_computed_list() -> None:
    rec = ["a", "b", "c", "d", "e"]
    rel = {"b", "e", "z"}
    assert recall_at_k(rec, rel, 5) == pytest.approx(2 / 3)
    assert recall_at_k(rec, rel, 2) == pytest.approx(1 / 3)
    assert precision_at_k(rec, rel, 5) == pytest.approx(2 / 5)
    assert precision_at_k(rec, rel, 1) == 0.0
    assert hit_rate_at_k(rec, rel, 1) == 0.0
    assert hit_rate_at_k(rec, rel, 2) == 1.0
    dcg = 1 / math.log2(3) + 1 / math.log2(6)
    idcg = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert ndcg_at_k(rec, rel, 5) == pytest.approx(dcg / idcg)
    # AP@5: hits at ranks 2 and 5 -> (1/2 + 2/5) / min(5, 3)
    assert average_precision_at_k(rec, rel, 5) == pytest.approx((1 / 2 + 2 / 5) / 3)


def test_metrics_edge_cases() -> None:
    assert recall_at_k(["a"], {"a"}, 10) == 1.0
    assert ndcg_at_k(["a"], {"a"}, 10) == 1.0
    assert precision_at_k(["a"], {"a"}, 10) == pytest.approx(0.1)  # gaps count as misses
    assert average_precision_at_k(["x", "a"], {"a"}, 2) == pytest.approx(0.5)
    assert ndcg_at_k([], {"a"}, 3) == 0.0
    with pytest.raises(ValueError, match="relevant is empty"):
        recall_at_k(["a"], set(), 1)
    with pytest.raises(ValueError, match="k must be a whole number"):
        recall_at_k(["a"], {"a"}, 0)
    with pytest.raises(ValueError, match="k must be a whole number"):
        ndcg_at_k(["a"], {"a"}, 2.5)  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("k", [1, 3, 10])
def test_ndcg_matches_sklearn(seed: int, k: int) -> None:
    rng = np.random.default_rng(seed)
    n_items = 30
    relevance = (rng.random(n_items) < 0.2).astype(float)
    relevance[rng.integers(n_items)] = 1.0
    scores = rng.random(n_items)
    ranked = list(np.argsort(-scores, kind="stable"))
    relevant = set(np.flatnonzero(relevance).tolist())
    expected = ndcg_score(relevance[None, :], scores[None, :], k=k)
    assert ndcg_at_k(ranked, relevant, k) == pytest.approx(expected, rel=1e-12)


def test_vectorised_metrics_equal_the_per_list_functions() -> None:
    rng = np.random.default_rng(0)
    lists, rels = [], []
    for _ in range(50):
        lists.append(list(rng.permutation(40)[:20]))
        rels.append(set(rng.choice(40, size=rng.integers(1, 6), replace=False).tolist()))
    hits = np.array([[r in rel for r in lst] for lst, rel in zip(lists, rels, strict=True)])
    n_rel = np.array([len(r) for r in rels])
    for k in (5, 20):
        m = metrics_from_hits(hits, n_rel, k)
        for i, (lst, rel) in enumerate(zip(lists, rels, strict=True)):
            assert m["Recall"][i] == pytest.approx(recall_at_k(lst, rel, k))
            assert m["NDCG"][i] == pytest.approx(ndcg_at_k(lst, rel, k))
            assert m["MAP"][i] == pytest.approx(average_precision_at_k(lst, rel, k))
            assert m["Precision"][i] == pytest.approx(precision_at_k(lst, rel, k))


def test_coverage_diversity_and_novelty() -> None:
    assert catalogue_coverage([["a", "b"], ["b", "c"]], 10) == pytest.approx(0.3)
    vectors = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 3.0], [1.0, 1.0]])
    assert intra_list_diversity(vectors, [0, 1]) == pytest.approx(0.0)
    assert intra_list_diversity(vectors, [0, 2]) == pytest.approx(1.0)
    # pairs (0,1): 0, (0,2): 1, (1,2): 1 -> mean 2/3
    assert intra_list_diversity(vectors, [0, 1, 2]) == pytest.approx(2 / 3)
    assert intra_list_diversity(vectors, [0, 3]) == pytest.approx(1 - 1 / math.sqrt(2))
    assert novelty([0, 1], np.array([0.5, 0.25])) == pytest.approx(1.5)
    with pytest.raises(ValueError, match="popularity must be in"):
        novelty([0], np.array([0.0]))
    # the vectorised form pads short lists with -1
    normed = sp.csr_matrix(vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
    ild = intra_list_diversity_rows(normed, np.array([[0, 1, 2], [0, 2, -1], [0, -1, -1]]))
    assert ild[0] == pytest.approx(2 / 3)
    assert ild[1] == pytest.approx(1.0)
    assert ild[2] == 0.0  # one item: no pair, no variety (as the app reports it)


def test_top_k_breaks_ties_by_index_and_pads() -> None:
    scores = np.array([[0.5, 0.9, 0.5, -np.inf], [-np.inf, -np.inf, 1.0, -np.inf]])
    top = top_indices(scores, 3)
    assert top.tolist() == [[1, 0, 2], [2, -1, -1]]
    assert top_indices(scores, 6).shape == (2, 6)


@pytest.mark.parametrize("k", [1, 3, 7, 50])
@pytest.mark.parametrize("shuffled", [False, True], ids=["by-row", "any-order"])
def test_top_k_coo_keeps_each_rows_k_largest_with_ties_to_the_lower_column(
    k: int, shuffled: bool
) -> None:
    rng = np.random.default_rng(k)
    dense = rng.integers(0, 4, size=(30, 40)).astype(float)  # few values: many ties
    dense[rng.random(dense.shape) < 0.5] = 0.0
    dense[5] = 0.0  # a row without cells
    rows, cols = np.nonzero(dense)
    vals = dense[rows, cols]
    if shuffled:
        perm = rng.permutation(rows.size)
        rows, cols, vals = rows[perm], cols[perm], vals[perm]
    got = top_k_coo(rows, cols, vals, k)
    want: list[tuple[int, int, float]] = []
    for r in range(dense.shape[0]):  # by value, then lower column, the first k
        cells = sorted((-dense[r, c], c) for c in np.flatnonzero(dense[r]))[:k]
        want += [(r, c, -v) for v, c in cells]
    assert list(zip(*(a.tolist() for a in got), strict=True)) == want
    assert all(a.size == 0 for a in top_k_coo(rows, cols, vals, 0))


def test_attribute_vectors_are_one_hot_and_normalised() -> None:
    products = pd.DataFrame(
        {"designer": ["A", "A", "B"], "category": ["bag", "shoe", "bag"], "color": ["", "", ""]}
    )
    v = attribute_vectors(products).toarray()
    assert v.shape == (3, 4)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0)
    assert v[0] @ v[1] == pytest.approx(0.5)


# -------------------------------------------------------------------- split
def _tiny_log() -> Dataset:
    t0 = pd.Timestamp("2026-01-01")
    rows = [
        # client, product, type, day, gift
        ("c1", "p1", "purchase", 0, False),
        ("c1", "p2", "view", 10, False),
        ("c1", "p2", "purchase", 40, False),  # test: relevant
        ("c1", "p1", "purchase", 41, False),  # test: bought before -> dropped
        ("c2", "p3", "purchase", 45, False),  # test: returned -> dropped
        ("c2", "p3", "return", 46, False),
        ("c2", "p4", "purchase", 44, True),  # gift -> dropped
        ("c2", "p4", "wishlist", 43, False),  # wishlist: relevant only on request
        ("c3", "p5", "purchase", 30, False),  # validation window
        ("c3", "p1", "view", 5, False),
        ("c4", "p5", "purchase", 47, False),  # cold client (no event before the cutoff)
    ]
    events = pd.DataFrame(
        {
            COLS.client_id: [r[0] for r in rows],
            COLS.product_id: [r[1] for r in rows],
            "event_type": [r[2] for r in rows],
            "timestamp": [t0 + pd.Timedelta(days=r[3], hours=12) for r in rows],
            "is_gift": [r[4] for r in rows],
        }
    )
    products = pd.DataFrame({"product_id": [f"p{i}" for i in range(1, 7)]})
    return Dataset.from_frames(products, events)


def test_split_has_no_leakage_and_follows_the_protocol() -> None:
    ds = _tiny_log()
    split = temporal_split(ds, test_days=10, val_days=15)
    # the last event is on day 47 -> end is day 48, cutoff day 38
    assert split.end == pd.Timestamp("2026-02-18")
    assert split.cutoff == pd.Timestamp("2026-02-08")
    assert (split.train.events["timestamp"] < split.cutoff).all()
    assert len(split.train.events) == 4
    assert split.train.as_of == split.cutoff
    # catalogue and clients are whole (cold products / clients can be scored)
    assert len(split.train.products) == 6 and len(split.train.clients) == 4
    pairs = set(map(tuple, split.test[[COLS.client_id, COLS.product_id]].to_numpy()))
    assert pairs == {("c1", "p2"), ("c4", "p5")}
    assert list(split.test_clients) == ["c1", "c4"]
    assert set(map(tuple, split.known.to_numpy())) == {("c1", "p1"), ("c3", "p5")}
    # validation lives inside the training period
    val = split.validation
    assert val is not None
    assert val.end == split.cutoff and val.cutoff == pd.Timestamp("2026-01-24")
    assert (val.train.events["timestamp"] < val.cutoff).all()
    assert val.train.events["timestamp"].max() < val.cutoff
    assert set(map(tuple, val.test.to_numpy())) == {("c3", "p5")}
    # the source dataset is untouched
    assert len(ds.events) == 11


def test_split_options_and_errors() -> None:
    ds = _tiny_log()
    soft = temporal_split(ds, 10, 0, relevant_events=("purchase", "wishlist"))
    assert ("c2", "p4") in set(map(tuple, soft.test.to_numpy()))
    assert soft.validation is None
    gifts = temporal_split(ds, 10, 0, include_gifts=True)
    assert ("c2", "p4") in set(map(tuple, gifts.test.to_numpy()))
    with pytest.raises(ValueError, match="test_days must be a whole number"):
        temporal_split(ds, 0)
    with pytest.raises(ValueError, match="relevant_events must be event types"):
        temporal_split(ds, 10, relevant_events=("return",))
    with pytest.raises(ValueError, match="leave no training events"):
        temporal_split(ds, 30, 30)


def test_evaluate_scores_an_oracle_perfectly_on_tiny_data() -> None:
    ds = _tiny_log()
    split = temporal_split(ds, 10, 15)
    report = evaluate({"oracle": lambda: Oracle(split.test)}, split=split, k_list=(1, 3))
    row = report.metrics.loc["oracle"]
    assert row["Recall@1"] == 1.0 and row["NDCG@3"] == 1.0 and row["MAP@3"] == 1.0
    assert row["Precision@3"] == pytest.approx(1 / 3)
    slices = report.slices.set_index("slice")
    assert slices.loc["cold_clients", "n_clients"] == 1
    assert slices.loc["cold_clients", "Recall@3"] == 1.0
    # p2 was viewed before the cutoff, p5 bought: no cold product among test pairs
    assert slices.loc["cold_products", "n_pairs"] == 0
    # the validation window is scored when asked
    val = evaluate(
        {"oracle": lambda: Oracle(split.validation.test)},
        split=split,
        k_list=(1,),
        on_validation=True,
    )
    assert val.protocol["window"] == "validation"
    assert val.metrics.loc["oracle", "Recall@1"] == 1.0


def test_evaluate_excludes_known_purchases_for_every_model() -> None:
    ds = _tiny_log()
    split = temporal_split(ds, 10, 0)
    # a model that would put c1's earlier purchase p1 first: it must not be ranked
    known = pd.DataFrame({COLS.client_id: ["c1"], COLS.product_id: ["p1"]})
    report = evaluate({"m": lambda: Oracle(known)}, split=split, k_list=(1,))
    # p1 removed -> remaining scores tie at 0 -> lowest index p2 is c1's relevant item
    assert report.metrics.loc["m", "Recall@1"] == pytest.approx(0.5)


def test_report_round_trips_through_json() -> None:
    ds = _tiny_log()
    split = temporal_split(ds, 10, 0)
    report = evaluate({"oracle": lambda: Oracle(split.test)}, split=split, k_list=(1, 3))
    back = EvaluationReport.from_json(report.to_json())
    pd.testing.assert_frame_equal(back.metrics, report.metrics, check_dtype=False)
    pd.testing.assert_frame_equal(back.slices, report.slices, check_dtype=False)
    assert back.protocol == EvaluationReport.from_json(back.to_json()).protocol
    md = report.to_markdown()
    assert "| oracle |" in md and "### Slices" in md


def test_report_keeps_each_clients_metrics_for_paired_comparisons() -> None:
    ds = _tiny_log()
    split = temporal_split(ds, 10, 0)
    known = pd.DataFrame({COLS.client_id: ["c1"], COLS.product_id: ["p1"]})
    report = evaluate(
        {"oracle": lambda: Oracle(split.test), "m": lambda: Oracle(known)},
        split=split,
        k_list=(1, 3),
    )
    for name in ("oracle", "m"):
        rows = report.per_client[name]
        assert list(rows["client_id"]) == list(report.per_client["oracle"]["client_id"])
        for metric in ("Recall@1", "NDCG@3", "Precision@3"):
            assert rows[metric].mean() == pytest.approx(report.metrics.loc[name, metric])
    ratio, low, high = report.ratio("m", "oracle", "Recall@1")
    assert ratio == pytest.approx(report.metrics.loc["m", "Recall@1"])  # the oracle scores 1
    assert low <= ratio <= high
    assert report.ratio("oracle", "oracle", "NDCG@3") == (1.0, 1.0, 1.0)
    with pytest.raises(KeyError, match="no per-client metrics for model 'x'"):
        report.ratio("x", "oracle")
    # read back from JSON, a report holds no per-client rows
    assert EvaluationReport.from_json(report.to_json()).per_client == {}


def test_ratio_interval_is_exact_for_proportional_metrics_and_widens_with_noise() -> None:
    rng = np.random.default_rng(4)
    theirs = rng.random(400)
    assert ratio_interval(2.0 * theirs, theirs) == pytest.approx((2.0, 2.0, 2.0))
    # clients where the two models disagree at random: the interval holds the
    # ratio, and is narrower with more clients
    noisy = theirs * rng.uniform(0.5, 1.7, size=400)
    ratio, low, high = ratio_interval(noisy, theirs)
    assert low < ratio < high and low < 1.1 < high
    _, low_small, high_small = ratio_interval(noisy[:40], theirs[:40])
    assert high_small - low_small > high - low
    # the same seed, the same interval
    assert ratio_interval(noisy, theirs, seed=1) == ratio_interval(noisy, theirs, seed=1)
    assert all(math.isnan(v) for v in ratio_interval(theirs, np.zeros(400)))
    with pytest.raises(ValueError, match="as many values each, got 3 and 2"):
        ratio_interval(np.ones(3), np.ones(2))
    with pytest.raises(ValueError, match="level must be between 0 and 1"):
        ratio_interval(np.ones(3), np.ones(3), level=1.5)


# ------------------------------------------------ on a generated maison
@pytest.fixture(scope="module")
def maison():  # type: ignore[no-untyped-def]
    from core.data.generate import generate_maison

    return generate_maison(n_clients=1500, n_products=500, seed=3)


@pytest.fixture(scope="module")
def maison_report(maison) -> EvaluationReport:  # type: ignore[no-untyped-def]
    from core.engine.evaluation import default_models

    ds = Dataset.from_frames(**maison.tables)
    return evaluate(default_models(), ds, test_days=56, truth=maison.truth)


def test_report_has_every_model_column_and_slice(maison_report: EvaluationReport) -> None:
    metrics = maison_report.metrics
    for name in ("popularity", "popularity_store", "item_knn", "svd", "content", "hybrid"):
        assert name in metrics.index, f"{name} missing from the default models"
    for col in (
        "Recall@10",
        "Recall@20",
        "NDCG@10",
        "Precision@10",
        "MAP@10",
        "HitRate@10",
        "Coverage@20",
        "Diversity@10",
        "Novelty@10",
        "cold_share@20",
        "fit_s",
    ):
        assert col in metrics.columns
        assert metrics[col].notna().all(), col
    slices = set(maison_report.slices["slice"])
    assert slices == {"all", "warm_clients", "cold_clients", "cold_products"}
    counts = maison_report.slices.groupby("slice")["n_clients"].first()
    assert counts["all"] == counts["warm_clients"] + counts["cold_clients"]
    assert counts["cold_clients"] > 0 and counts["cold_products"] > 0
    assert maison_report.taste is not None
    assert set(maison_report.taste["model"]) == set(metrics.index)
    back = EvaluationReport.from_json(maison_report.to_json())
    pd.testing.assert_frame_equal(back.metrics, maison_report.metrics, check_dtype=False)
    assert back.to_markdown() == maison_report.to_markdown()


def test_hybrid_beats_popularity(maison_report: EvaluationReport) -> None:
    m = maison_report.metrics
    # measured on this maison: see the margin in the assertion message
    assert m.loc["hybrid", "Recall@20"] >= m.loc["popularity", "Recall@20"] + 0.08, m["Recall@20"]
    assert m.loc["hybrid", "NDCG@10"] > m.loc["popularity", "NDCG@10"], m["NDCG@10"]


def test_personalised_models_recover_the_planted_taste(maison_report: EvaluationReport) -> None:
    taste = maison_report.taste.set_index("model")  # type: ignore[union-attr]
    # popularity is at chance level; models of the client's taste are far above it
    assert taste.loc["popularity", "lift"] < 1.3
    for name in ("item_knn", "svd", "hybrid"):
        assert taste.loc[name, "lift"] > 2.5, taste["lift"]
    # only models that see product attributes can place new products
    metrics = maison_report.metrics
    assert metrics.loc["popularity", "cold_share@20"] == 0.0
    assert metrics.loc["content", "cold_share@20"] > 0.0
