"""The hybrid's single-client path: the same scores as the many-client path, exactly explained.

One request for one fitted client is scored from the client's cells as plain
arrays (:class:`core.engine.models.hybrid_priors.OneClient`), a batch from
sparse matrices; both must give the same scores, and the explanation of a
recommended product must add up to the score it was recommended with.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from core.data.dataset import Dataset
from core.data.generate import generate_maison
from core.engine.config import EngineConfig
from core.engine.models import hybrid
from core.engine.models.blend import BlockMoments, row_spread
from core.engine.models.hybrid import HybridRecommender
from core.engine.ranking import top_indices


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return Dataset.from_frames(**generate_maison(n_clients=200, n_products=120, seed=4).tables)


@pytest.fixture(scope="module")
def model(dataset: Dataset) -> HybridRecommender:
    return HybridRecommender(EngineConfig(n_factors=8, seed=3)).fit(dataset)


def _clients(model: HybridRecommender, dataset: Dataset) -> list[str]:
    """A handful: the most and least active, some with declared preferences, one without history."""
    inter = model.interactions_
    lengths = np.diff(inter.matrix.indptr)
    active = np.flatnonzero(lengths > 0)
    by_length = active[np.argsort(lengths[active], kind="stable")]
    rows = [by_length[0], by_length[1], by_length[active.size // 2], by_length[-1]]
    declared = np.flatnonzero(np.diff(model._declared.rows.indptr) > 0)
    ids = [str(c) for c in inter.client_ids.to_external(np.array(rows))]
    ids += [str(c) for c in dataset.client_ids.to_external(declared[:3])]
    cold = np.flatnonzero(lengths == 0)
    ids += [str(c) for c in inter.client_ids.to_external(cold[:1])]
    return list(dict.fromkeys(ids))


def test_the_fixture_covers_the_cases(model: HybridRecommender, dataset: Dataset) -> None:
    clients = _clients(model, dataset)
    rows = model.interactions_.client_ids.to_internal(clients)
    assert (model.interactions_.strength[rows] > 0).sum() >= 4
    has_rows = np.diff(model._declared.rows.indptr) > 0
    assert has_rows[dataset.client_ids.to_internal(clients)].any()
    assert len(clients) >= 6
    # a small catalogue computes every content score (the bound would cost more)
    assert model._content_bound is None


def test_one_client_scores_equal_the_batch(model: HybridRecommender, dataset: Dataset) -> None:
    clients = _clients(model, dataset)
    batch = model.score_clients(clients)
    fresh = HybridRecommender(model.config).fit(dataset)  # nothing cached yet
    for n, client in enumerate(clients):
        first = fresh.score_clients([client])[0]
        again = fresh.score_clients([client])[0]  # the cached state
        np.testing.assert_allclose(first, batch[n], rtol=1e-9, atol=1e-12)
        np.testing.assert_array_equal(again, first)
        cf, content, prior = fresh.score_parts([client])
        np.testing.assert_allclose((cf + content + prior)[0], first, rtol=1e-9, atol=1e-12)


def test_recommended_scores_are_explained_exactly(
    model: HybridRecommender, dataset: Dataset
) -> None:
    for client in _clients(model, dataset):
        ids, scores = model.recommend_arrays(client, 20, exclude_seen=True)
        assert ids.size and np.all(np.diff(scores) <= 0)
        seen = model.seen_mask([client])[0]
        assert not seen[dataset.product_ids.to_internal(list(ids))].any()
        full = model.score_clients([client])[0]
        np.testing.assert_array_equal(full[dataset.product_ids.to_internal(list(ids))], scores)
        explanations = model.explain_many(client, list(ids))
        for e, score in zip(explanations, scores, strict=True):
            assert e.score == score  # the score it was ranked with, to the bit
            assert e.total == pytest.approx(score, rel=1e-9, abs=1e-12)
            assert e.cf_score + e.content_score + e.prior_score == pytest.approx(
                score, rel=1e-9, abs=1e-12
            )


def test_explaining_first_builds_the_same_state(model: HybridRecommender, dataset: Dataset) -> None:
    """Explaining before recommending (a fresh state built by explain) changes no score."""
    fresh = HybridRecommender(model.config).fit(dataset)
    for client in _clients(model, dataset):
        pids = [str(p) for p in dataset.product_ids.to_external(np.arange(5))]
        explained = [e.score for e in fresh.explain_many(client, pids)]
        ids, scores = fresh.recommend_arrays(client, 5)
        np.testing.assert_allclose(
            explained,
            fresh.score_clients([client])[0][:5],
            rtol=1e-9,
            atol=1e-12,
        )
        np.testing.assert_allclose(
            scores, model.recommend_arrays(client, 5)[1], rtol=1e-9, atol=1e-12
        )


def test_a_state_folded_from_extra_events_is_reused_only_for_that_frame(
    model: HybridRecommender, dataset: Dataset
) -> None:
    """The same frame twice gives the same scores; another frame for the client is folded anew."""
    client = _clients(model, dataset)[2]
    mine = dataset.events[dataset.events["client_id"] == client]
    row = model.interactions_.client_ids.to_internal([client])[0]
    seen = model.interactions_.matrix[row].indices
    unseen = np.setdiff1d(np.arange(len(dataset.product_ids)), seen)
    bought = mine.iloc[[-1]].assign(
        product_id=str(dataset.product_ids.to_external(unseen[-1:])[0]),
        event_type="purchase",
        timestamp=dataset.as_of,
    )
    one, two = (
        bought.copy(),
        pd.concat([bought, bought.assign(product_id=mine["product_id"].iloc[0])]),
    )
    fresh = HybridRecommender(model.config).fit(dataset)
    first = model.score_clients([client], extra_events=one)[0]
    np.testing.assert_array_equal(model.score_clients([client], extra_events=one)[0], first)
    other = model.score_clients([client], extra_events=two)[0]
    np.testing.assert_allclose(
        other, fresh.score_clients([client], extra_events=two)[0], rtol=1e-12
    )
    assert not np.allclose(other, first)
    # and without extra events the client is their fitted row again
    np.testing.assert_allclose(
        model.score_clients([client])[0], fresh.score_clients([client])[0], rtol=1e-12
    )
    # explaining with the frame just scored adds up to those scores
    pids = [str(p) for p in dataset.product_ids.to_external(np.arange(6))]
    np.testing.assert_allclose(
        [e.score for e in model.explain_many(client, pids, extra_events=one)],
        first[:6],
        rtol=1e-9,
        atol=1e-12,
    )


# ------------------------------------------------- one client on a large catalogue
@pytest.fixture(scope="module")
def pruned(dataset: Dataset) -> HybridRecommender:
    """The model as a large catalogue gets it: ranked without the full content block."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(hybrid, "PRUNED_CONTENT_CELLS", 1)
        mp.setattr(hybrid, "PRUNED_CELLS_PER_GRAM_CELL", 0.0)
        model = HybridRecommender(EngineConfig(n_factors=8, seed=3)).fit(dataset)
    assert model._content_bound is not None
    return model


def _full_ranking(
    model: HybridRecommender,
    client: str,
    k: int,
    allowed: np.ndarray | None = None,
    exclude_seen: bool = False,
    extra: pd.DataFrame | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The top ``k`` of every product's score, as the many-client path ranks them.

    Asked after the ranking under test, so that both read the state it built.
    """
    scores = np.array(model.score_clients([client], extra)[0])
    if allowed is not None:
        scores[~allowed] = -np.inf
    if exclude_seen:
        scores[model.seen_mask([client], extra)[0]] = -np.inf
    top = top_indices(scores, k)
    return top, scores[top]


def test_one_client_ranked_without_the_full_content_block_gets_the_full_ranking(
    model: HybridRecommender, pruned: HybridRecommender, dataset: Dataset
) -> None:
    n_products = len(dataset.product_ids)
    rng = np.random.default_rng(0)
    allowed = rng.random(n_products) < 0.5
    pids = dataset.product_ids
    ways = set()
    for client in _clients(model, dataset):
        for k in (1, 7, 20, n_products + 5):
            for exclude_seen in (False, True):
                pruned.forget(client)  # the ranking builds the client's state
                ids, got = pruned.recommend_arrays(client, k, exclude_seen=exclude_seen)
                ways.add(pruned._state([client], None)[0].pruned)
                top, scores = _full_ranking(pruned, client, k, None, exclude_seen)
                np.testing.assert_array_equal(pids.to_internal(list(ids)), top)
                np.testing.assert_array_equal(got, scores)  # the same sums, to the bit
                # and the model ranking the whole content block agrees (weights to rounding)
                ids_full, got_full = model.recommend_arrays(client, k, exclude_seen=exclude_seen)
                np.testing.assert_array_equal(ids, ids_full)
                np.testing.assert_allclose(got, got_full, rtol=1e-9, atol=1e-12)
        pruned.forget(client)
        ids, got = pruned.recommend_arrays(
            client,
            10,
            candidates=pids.to_external(np.flatnonzero(allowed)),
            exclude_seen=True,
        )
        top, scores = _full_ranking(pruned, client, 10, allowed, True)
        np.testing.assert_array_equal(pids.to_internal(list(ids)), top)
        np.testing.assert_array_equal(got, scores)
        excluded = pids.to_external(np.flatnonzero(~allowed))
        pruned.forget(client)
        ids, got = pruned.recommend_arrays(client, 10, exclude=excluded, exclude_seen=True)
        np.testing.assert_array_equal(pids.to_internal(list(ids)), top)
        explanations = pruned.explain_many(client, list(ids))
        for e, score in zip(explanations, got, strict=True):
            assert e.score == score
            assert e.total == pytest.approx(score, rel=1e-9, abs=1e-12)
        assert pruned.explain(client, str(ids[0])).score == got[0]  # one product alone too
    # clients with history are ranked without the full block, the others with it
    assert ways == {True, False}


def test_a_folded_in_client_on_a_large_catalogue_gets_the_full_ranking(
    pruned: HybridRecommender, dataset: Dataset
) -> None:
    """A client served per request (their events folded in), new ones included."""
    client = _clients(pruned, dataset)[2]
    mine = dataset.events[dataset.events["client_id"] == client]
    new_client = mine.assign(client_id="someone-new")
    for who, events in ((client, mine), ("someone-new", new_client)):
        frame = events.copy()
        ids, got = pruned.recommend_arrays(who, 15, exclude_seen=True, extra_events=frame)
        assert pruned._state([who], frame)[0].pruned
        top, scores = _full_ranking(pruned, who, 15, None, True, frame)
        np.testing.assert_array_equal(dataset.product_ids.to_internal(list(ids)), top)
        np.testing.assert_array_equal(got, scores)
        explained = [e.score for e in pruned.explain_many(who, list(ids), frame)]
        np.testing.assert_array_equal(explained, got)


def test_the_content_spread_from_moments_is_the_spread_of_the_scores(
    pruned: HybridRecommender,
) -> None:
    features = pruned.features_
    bound = BlockMoments.of(features, 4)
    assert bound is not None
    rng = np.random.default_rng(1)
    profiles = rng.random((5, features.shape[1])) * (rng.random((5, features.shape[1])) < 0.2)
    spreads = bound.spread(profiles)
    for profile, spread in zip(profiles, spreads, strict=True):
        scores = np.asarray(features @ profile)
        assert spread == pytest.approx(float(scores.std()), rel=1e-9)
        assert bound.spread(profile)[0] == pytest.approx(spread, rel=1e-12)  # one as many
        bounds = bound.bound_by_column.T @ bound.bound_vector(profile)
        assert np.all(scores <= bounds + 1e-12)  # the bound holds for every product
    # a block that does not vary has no spread (and so no weight), as row_spread says
    same = sp.csr_matrix(np.tile([[0.6, 0.0, 0.8]], (50, 1)))
    flat = BlockMoments.of(same)
    assert flat is not None and flat.spread(np.array([0.3, 2.0, 0.1]))[0] == 0.0
    assert row_spread(np.asarray(same @ np.array([0.3, 2.0, 0.1]))[None, :])[0] < 1e-12


def test_the_svd_spread_from_the_factors_moments_is_the_spread_of_the_scores(
    model: HybridRecommender,
) -> None:
    """The SVD block's weight needs its spread only: the factors' moments give it exactly."""
    factors = model.item_factors_
    moments = BlockMoments.of(factors)
    assert moments is not None
    rng = np.random.default_rng(2)
    u = rng.normal(size=(6, factors.shape[1]))
    u[0] = 0.0  # a client without history: a constant (zero) block
    np.testing.assert_allclose(moments.spread(u), (u @ factors.T).std(axis=1), rtol=1e-9)
    assert moments.spread(u)[0] == 0.0
    # the moments of a dense matrix equal those of the same matrix stored sparse
    sparse = BlockMoments.of(sp.csr_matrix(factors))
    assert sparse is not None
    np.testing.assert_allclose(sparse.gram, moments.gram, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(sparse.mean, moments.mean, rtol=1e-12, atol=1e-15)


def test_the_declared_preferences_table_holds_each_clients_own_row(
    model: HybridRecommender, dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Built in chunks, in the dataset's order: each row is that client's ``preference_vector``."""
    from core.engine.models import content

    monkeypatch.setattr(content, "_PREFERENCE_CHUNK", 7)  # many chunks, a short last one
    table = content.declared_preferences(dataset, model.product_features_).rows
    assert table.shape == (len(dataset.clients), model.product_features_.n_features_)
    declared = 0
    for i, row in enumerate(dataset.clients.to_dict("records")):
        one = model.product_features_.preference_vector(row)
        np.testing.assert_array_equal(table[i].indices, one.indices)
        np.testing.assert_allclose(table[i].data, one.data, rtol=1e-15)
        declared += one.nnz > 0
    assert 0 < declared < len(dataset.clients)  # the maison has both kinds
    # a client the dataset does not have declares nothing
    rows = content.client_preferences(
        dataset, model._declared, ["nobody", dataset.clients.client_id[0]]
    )
    assert rows[0].nnz == 0
    np.testing.assert_array_equal(rows[1].toarray(), table[0].toarray())


def test_factors_past_float32s_range_are_ranked_from_the_full_blocks(
    dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bounds sum in float32: a client whose factors would overflow them gets the full ranking."""
    monkeypatch.setattr(hybrid, "PRUNED_CONTENT_CELLS", 1)
    monkeypatch.setattr(hybrid, "PRUNED_CELLS_PER_GRAM_CELL", 0.0)
    huge = HybridRecommender(EngineConfig(n_factors=8, seed=3)).fit(dataset)
    huge.item_factors_ = huge.item_factors_ * 1e36  # (float64 sums of these stay finite)
    huge._derive(dataset)
    for client in _clients(huge, dataset):
        ids, got = huge.recommend_arrays(client, 12, exclude_seen=True)
        assert not huge._state([client], None)[0].pruned
        top, scores = _full_ranking(huge, client, 12, None, True)
        np.testing.assert_array_equal(dataset.product_ids.to_internal(list(ids)), top)
        np.testing.assert_array_equal(got, scores)


def test_explaining_a_pruned_ranking_gives_what_the_whole_blocks_give(
    pruned: HybridRecommender, dataset: Dataset
) -> None:
    """A pruned state is explained without the whole content block: the same explanations.

    Its new-arrival prior is computed for the explained new arrivals only;
    after ``score_clients`` (which completes the state from every block) the
    explanations are the very same objects' equals, new arrivals included.
    """
    new = [str(p) for p in dataset.product_ids.to_external(pruned.new_arrivals_[:6])]
    assert new
    explained_new = 0
    for client in _clients(pruned, dataset):
        pruned.forget(client)
        ids, _ = pruned.recommend_arrays(client, 10, exclude_seen=True)
        state = pruned._state([client], None, prune=True)[0]
        if not state.pruned:
            continue
        products = list(dict.fromkeys([*ids, *new]))
        first = pruned.explain_many(client, products)
        assert pruned._state([client], None, prune=True)[0].new_arrival is None
        pruned.score_clients([client])  # the state now has every new arrival's prior
        assert pruned._state([client], None, prune=True)[0].new_arrival is not None
        assert pruned.explain_many(client, products) == first
        explained_new += sum(
            any(c.kind == "prior" and c.source == "new_arrival" for c in e.contributions)
            for e in first
        )
    assert explained_new > 0
