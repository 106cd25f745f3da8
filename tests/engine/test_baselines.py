"""Baselines on hand-made data where the answer is exact."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from core.data.dataset import Dataset
from core.data.schema import COLS
from core.engine.config import EngineConfig
from core.engine.models.baselines import (
    ItemKNNRecommender,
    PopularityRecommender,
    RandomRecommender,
    gram_neighbour_rows,
    item_neighbours,
    stack_neighbour_rows,
)

AS_OF = pd.Timestamp("2026-01-01")
LINEAR = EngineConfig(confidence="linear", half_life_days=36500)


def _two_stores() -> Dataset:
    """Store N sells p1, store S sells p2; p3 sells a little everywhere."""
    products = pd.DataFrame({"product_id": ["p1", "p2", "p3", "p4"]})
    stores = pd.DataFrame(
        {
            "store_id": ["N", "S"],
            "name": ["North", "South"],
            "city": ["Oslo", "Rome"],
            "country": ["NO", "IT"],
            "climate": ["cold", "warm"],
        }
    )
    clients = pd.DataFrame(
        {
            "client_id": ["n1", "n2", "s1", "s2"],
            "first_name": "",
            "last_name": ["a", "b", "c", "d"],
            "home_store_id": ["N", "N", "S", "S"],
            "tier": "client",
            "consent_personalization": True,
            "consent_contact": True,
        }
    )
    rows = [
        ("n1", "p1", "purchase", "N"),
        ("n2", "p1", "purchase", "N"),
        ("n1", "p3", "view", "N"),
        ("s1", "p2", "purchase", "S"),
        ("s2", "p2", "wishlist", "S"),
        ("s1", "p3", "view", "S"),
        ("s2", "p3", "purchase", "S"),
    ]
    events = pd.DataFrame(rows, columns=["client_id", "product_id", "event_type", "store_id"])
    events["timestamp"] = AS_OF
    stock = pd.DataFrame({"product_id": ["p1", "p2", "p3", "p4"], "store_id": "N", "quantity": 1})
    return Dataset.from_frames(products, events, clients=clients, stores=stores, stock=stock)


def test_global_popularity_ranks_by_summed_weight() -> None:
    ds = _two_stores()
    model = PopularityRecommender(config=LINEAR).fit(ds)
    # p1: 5+5, p2: 5+3, p3: 1+1+5, p4: 0
    np.testing.assert_allclose(model.popularity_, np.array([10, 8, 7, 0]) / 25, rtol=1e-9)
    rec = model.recommend("n1", 4)
    assert list(rec[COLS.product_id]) == ["p1", "p2", "p3", "p4"]
    assert list(model.recommend("s1", 2)[COLS.product_id]) == ["p1", "p2"]
    explanation = model.explain("s1", "p2")
    assert explanation.total == pytest.approx(explanation.score)
    assert explanation.contributions[0].source == "popularity:global"


def test_per_store_popularity_follows_the_home_store() -> None:
    ds = _two_stores()
    model = PopularityRecommender(per_store=True, global_weight=0.1, config=LINEAR).fit(ds)
    assert list(model.recommend("n2", 2)[COLS.product_id]) == ["p1", "p3"]
    assert list(model.recommend("s1", 2)[COLS.product_id]) == ["p2", "p3"]
    # store S: p2 8, p3 6 of 14; global share of p2 8/25 weighted 0.1
    score = model.score_clients(["s1"])[0, 1]
    assert score == pytest.approx(8 / 14 + 0.1 * 8 / 25)
    parts = model.explain("s1", "p2").contributions
    assert {c.source for c in parts} == {"popularity:store=S", "popularity:global"}
    assert sum(c.value for c in parts) == pytest.approx(score)
    # a client unknown to the fit, with an event, gets the global ranking
    extra = pd.DataFrame({"client_id": ["new"], "product_id": ["p4"], "event_type": ["view"]})
    glob = PopularityRecommender(config=LINEAR).fit(ds)
    np.testing.assert_allclose(model.score_clients(["new"], extra), glob.score_clients(["n1"]))


def test_popularity_half_life_weights_recent_demand() -> None:
    products = pd.DataFrame({"product_id": ["old", "new"]})
    events = pd.DataFrame(
        {
            "client_id": ["a", "b", "c"],
            "product_id": ["old", "old", "new"],
            "event_type": "purchase",
            "timestamp": [AS_OF - pd.Timedelta(days=300)] * 2 + [AS_OF],
        }
    )
    ds = Dataset.from_frames(products, events)
    assert (
        PopularityRecommender(config=LINEAR).fit(ds).recommend("a", 1)[COLS.product_id][0] == "old"
    )
    recent = PopularityRecommender(half_life_days=30, config=LINEAR).fit(ds)
    assert recent.recommend("a", 1)[COLS.product_id][0] == "new"


def _brute_force_neighbours(x: np.ndarray, k: int, shrinkage: float) -> np.ndarray:
    gram = x.T @ x
    norms = np.sqrt(np.diag(gram))
    with np.errstate(invalid="ignore", divide="ignore"):
        sims = np.nan_to_num(gram / (np.outer(norms, norms) + shrinkage))
    np.fill_diagonal(sims, 0.0)
    out = np.zeros_like(sims)
    for i in range(sims.shape[0]):
        order = np.lexsort((np.arange(sims.shape[1]), -sims[i]))[:k]
        keep = order[sims[i, order] > 0]
        out[i, keep] = sims[i, keep]
    return out


@pytest.mark.parametrize("k", [1, 2, 5])
@pytest.mark.parametrize("shrinkage", [0.0, 3.0])
def test_item_neighbours_match_brute_force(k: int, shrinkage: float) -> None:
    rng = np.random.default_rng(k)
    x = rng.random((40, 12)) * (rng.random((40, 12)) < 0.3)
    expected = _brute_force_neighbours(x, k, shrinkage)
    for block in (None, 1, 5):
        got = item_neighbours(sp.csr_matrix(x), k, shrinkage, block_rows=block).toarray()
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_item_knn_scores_and_explanations_are_exact() -> None:
    ds = _two_stores()
    # the plain form: weighted rows, no prior (the defaults are tested below)
    model = ItemKNNRecommender(
        k_neighbors=2, shrinkage=0.0, binary_rows=False, popularity_weight=0.0, config=LINEAR
    ).fit(ds)
    x = model.matrix_.toarray()
    w = _brute_force_neighbours(x, 2, 0.0)
    np.testing.assert_allclose(model.similarity_.toarray(), w, rtol=1e-10)
    scores = model.score_clients(["n1", "s1"])
    np.testing.assert_allclose(scores, x[[0, 2]] @ w, rtol=1e-10)
    e = model.explain("n1", "p2")
    assert e.total == pytest.approx(e.score, rel=1e-9)
    assert e.score == pytest.approx(scores[0, 1])
    # n1's row is p1 (purchase, 5) and p3 (view, 1): one contribution per past item
    by_source = {c.source: c for c in e.contributions}
    assert set(by_source) <= {"p1", "p3"}
    assert by_source["p3"].value == pytest.approx(x[0, 2] * w[2, 1])
    assert by_source["p3"].event_type == "view"
    sim = model.similar_products("p2", 2)
    assert "p2" not in set(sim[COLS.product_id])
    assert sim[COLS.product_id][0] == "p3"


def test_item_knn_folds_in_new_events() -> None:
    ds = _two_stores()
    model = ItemKNNRecommender(
        k_neighbors=3, shrinkage=0.0, binary_rows=False, popularity_weight=0.0, config=LINEAR
    ).fit(ds)
    before = model.score_clients(["n2"])
    extra = pd.DataFrame(
        {
            "client_id": ["n2"],
            "product_id": ["p2"],
            "event_type": ["purchase"],
            "timestamp": [AS_OF],
        }
    )
    after = model.score_clients(["n2"], extra)
    assert not np.allclose(before, after)
    e = model.explain("n2", "p3", extra)
    assert e.total == pytest.approx(e.score) and e.score == pytest.approx(after[0, 2])
    assert {c.source for c in e.contributions} == {"p1", "p2"}


@pytest.mark.parametrize("cells", ["weighted", "signed", "binary"])
@pytest.mark.parametrize("support", [0.0, 1.0, 4.0])
def test_support_shrinkage_divides_by_shared_clients(support: float, cells: str) -> None:
    rng = np.random.default_rng(3)
    x = rng.random((40, 12)) * (rng.random((40, 12)) < 0.3)
    if cells == "signed":  # +-1 cells: some Gram cells cancel to zero and are not stored
        x = np.sign(x) * rng.choice([-1.0, 1.0], size=x.shape)
        assert ((x.T @ x == 0) & ((x != 0).T.astype(float) @ (x != 0) > 0)).any()
    if cells == "binary":  # the Gram rows are the shared counts: one product per block, float32
        x = (x != 0).astype(float)
    cosine = _brute_force_neighbours(x, 12, 0.0)
    shared = (x != 0).T.astype(float) @ (x != 0).astype(float)
    shrunk = cosine * shared / (shared + support) if support else cosine
    expected = np.zeros_like(shrunk)
    for i in range(shrunk.shape[0]):  # keep the top 3 of the shrunk similarities
        order = np.lexsort((np.arange(shrunk.shape[1]), -shrunk[i]))[:3]
        keep = order[shrunk[i, order] > 0]
        expected[i, keep] = shrunk[i, keep]
    for block in (None, 5):
        got = item_neighbours(sp.csr_matrix(x), 3, block_rows=block, support_shrinkage=support)
        np.testing.assert_allclose(got.toarray(), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("support", [0.0, 2.0])
def test_neighbours_from_blocks_of_gram_rows_equal_those_of_the_binary_matrix(
    support: float,
) -> None:
    rng = np.random.default_rng(5)
    b = sp.csr_matrix((rng.random((60, 14)) < 0.3).astype(float))
    gram = sp.csr_matrix(b.T @ b)
    parts = [
        gram_neighbour_rows(gram[s : s + 4], s, gram.diagonal(), 3, support)
        for s in range(0, 14, 4)
    ]
    got = stack_neighbour_rows(parts, 14)
    want = item_neighbours(b, 3, support_shrinkage=support)
    assert (got != want).nnz == 0 and got.nnz > 0


def _one_rare_one_common() -> Dataset:
    """``a`` (4 clients) shares 1 with ``rare`` (cosine 0.5), 3 with ``common`` (20; cosine 0.34)."""
    rows = [("u0", "a"), ("u0", "rare")]
    rows += [(f"u{i}", "a") for i in range(1, 4)] + [(f"u{i}", "common") for i in range(1, 21)]
    rows += [("lurker", "b")]
    events = pd.DataFrame(rows, columns=["client_id", "product_id"])
    events["event_type"] = "purchase"
    events["timestamp"] = AS_OF
    products = pd.DataFrame({"product_id": ["a", "rare", "common", "b"]})
    return Dataset.from_frames(products, events)


def test_item_knn_shrinkage_prefers_neighbours_with_support() -> None:
    ds = _one_rare_one_common()
    extra = pd.DataFrame(
        {
            "client_id": ["new"],
            "product_id": ["a"],
            "event_type": ["purchase"],
            "timestamp": [AS_OF],
        }
    )
    plain = ItemKNNRecommender(shrinkage=0.0, popularity_weight=0.0, config=LINEAR).fit(ds)
    assert (
        plain.recommend("new", 1, extra_events=extra, exclude=["a"])[COLS.product_id][0] == "rare"
    )
    shrunk = ItemKNNRecommender(shrinkage=5.0, popularity_weight=0.0, config=LINEAR).fit(ds)
    top = shrunk.recommend("new", 1, extra_events=extra, exclude=["a"])[COLS.product_id][0]
    assert top == "common"


def test_item_knn_defaults_sum_binary_rows_and_a_popularity_prior() -> None:
    ds = _two_stores()
    model = ItemKNNRecommender(k_neighbors=3, config=LINEAR).fit(ds)
    assert model.binary_rows and model.popularity_weight == 0.05
    # the prior is the popularity scaled to 0.05 at its maximum (p1: 10 of 25)
    np.testing.assert_allclose(model.prior_, 0.05 * np.array([10, 8, 7, 0]) / 10, rtol=1e-9)
    binary = (model.matrix_.toarray() > 0).astype(float)
    expected = binary[[0, 2]] @ model.similarity_.toarray() + model.prior_
    np.testing.assert_allclose(model.score_clients(["n1", "s1"]), expected, rtol=1e-10)
    e = model.explain("n1", "p2")
    assert e.total == pytest.approx(e.score) and e.score == pytest.approx(expected[0, 1])
    assert e.prior_score == pytest.approx(model.prior_[1])
    assert "popularity:global" in {c.source for c in e.contributions}


def test_item_knn_falls_back_to_popularity_without_neighbours() -> None:
    ds = _one_rare_one_common()
    model = ItemKNNRecommender(config=LINEAR).fit(ds)
    # "lurker" bought only b, which shares no client with anything
    ranked = list(model.recommend("lurker", 3, exclude_seen=True)[COLS.product_id])
    assert ranked == ["common", "a", "rare"]
    e = model.explain("lurker", "a")
    assert [c.source for c in e.contributions] == ["popularity:global"]


def test_random_is_seeded_per_client() -> None:
    ds = _two_stores()
    a = RandomRecommender(seed=3).fit(ds)
    b = RandomRecommender(seed=3).fit(ds)
    np.testing.assert_array_equal(a.score_clients(["n1", "s1"]), b.score_clients(["n1", "s1"]))
    # a client's scores do not depend on who else is in the batch
    np.testing.assert_array_equal(a.score_clients(["s1"])[0], a.score_clients(["n1", "s1"])[1])
    assert not np.array_equal(
        RandomRecommender(seed=4).fit(ds).score_clients(["n1"]), a.score_clients(["n1"])
    )


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (ItemKNNRecommender(k_neighbors=0), "k_neighbors must be a whole number"),
        (ItemKNNRecommender(k_neighbors=2.5), "k_neighbors must be a whole number"),  # type: ignore[arg-type]
        (ItemKNNRecommender(shrinkage=-1.0), "shrinkage must be a number"),
        (ItemKNNRecommender(popularity_weight=2.0), "popularity_weight must be a number"),
        (ItemKNNRecommender(binary_rows="yes"), "binary_rows must be True or False"),  # type: ignore[arg-type]
        (PopularityRecommender(global_weight=2.0), "global_weight must be a number"),
        (RandomRecommender(seed=-1), "seed must be a whole number"),
    ],
)
def test_bad_parameters_fail_at_fit(model, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        model.fit(_two_stores())
