"""Model-specific behaviour of SVD, content and hybrid on a generated maison.

The shared recommender contract lives in ``test_contract.py``; here the
generator's planted truth (each client's taste segments, each product's
segment) checks the statistical claims, and exact decompositions are
checked on random (client, product) pairs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data.dataset import Dataset
from core.data.generate import generate_maison
from core.data.schema import split_list
from core.engine.config import EngineConfig
from core.engine.models.base import Recommender
from core.engine.models.content import ContentRecommender
from core.engine.models.hybrid import HybridRecommender
from core.engine.models.svd import SVDRecommender
from core.exceptions import UnknownIdError

SEED = 11
CONFIG = EngineConfig(seed=3)


@pytest.fixture(scope="module")
def maison():
    return generate_maison(n_clients=600, n_products=300, seed=SEED)


@pytest.fixture(scope="module")
def dataset(maison) -> Dataset:
    return Dataset.from_frames(**maison.tables)


@pytest.fixture(scope="module")
def models(dataset: Dataset) -> dict[str, Recommender]:
    return {
        "hybrid": HybridRecommender(CONFIG).fit(dataset),
        "svd": SVDRecommender(CONFIG).fit(dataset),
        "content": ContentRecommender(CONFIG).fit(dataset),
    }


@pytest.fixture(scope="module")
def hybrid(models) -> HybridRecommender:
    return models["hybrid"]  # type: ignore[return-value]


@pytest.fixture(scope="module")
def truth(maison, dataset: Dataset) -> dict:
    cs = maison.truth["client_segments"]
    seg_of_product = (
        maison.truth["product_segments"]
        .set_index("product_id")["segment"]
        .reindex(dataset.products["product_id"])
        .to_numpy()
    )
    main = cs.sort_values("weight").groupby("client_id").tail(1).set_index("client_id")["segment"]
    return {
        "product_segment": seg_of_product,
        "client_segments": cs.groupby("client_id")["segment"].apply(set).to_dict(),
        "main_segment": main.to_dict(),
        "segments": maison.truth["segments"].set_index("segment"),
    }


def _active(model, dataset: Dataset) -> list[str]:
    m = model.interactions_.matrix
    return list(dataset.client_ids.to_external(np.flatnonzero(np.diff(m.indptr) > 0)))


# ------------------------------------------------------------ explanations
@pytest.mark.parametrize("name", ["hybrid", "svd", "content"])
def test_explanations_add_up_for_random_pairs(models, dataset: Dataset, name: str) -> None:
    model = models[name]
    rng = np.random.default_rng(0)
    clients = dataset.clients["client_id"].to_numpy()
    products = dataset.products["product_id"].to_numpy()
    for c, p in zip(rng.choice(clients, 200), rng.choice(products, 200), strict=True):
        e = model.explain(str(c), str(p))
        scale = max(abs(e.score), sum(abs(x.value) for x in e.contributions), 1e-12)
        assert abs(e.total - e.score) <= 1e-6 * scale
        assert e.cf_score + e.content_score + e.prior_score == pytest.approx(e.score, rel=1e-9)
        j = dataset.product_ids.to_internal_one(str(p))
        assert e.score == pytest.approx(model.score_clients([str(c)])[0, j], rel=1e-9, abs=1e-12)


def test_hybrid_explanation_covers_every_part(hybrid: HybridRecommender, dataset) -> None:
    client = _active(hybrid, dataset)[0]
    rec = hybrid.recommend(client, 5, exclude_seen=True)
    for e in hybrid.explain_many(client, rec["product_id"].tolist()):
        kinds = {c.kind for c in e.contributions}
        assert {"item", "attribute", "prior"} <= kinds
        for c in e.contributions:
            assert c.component == {"item": "cf", "prior": "prior"}.get(c.kind, "content")
            assert (c.event_type is not None) == (c.kind == "item")
        cf = sum(c.value for c in e.contributions if c.component == "cf")
        assert cf == pytest.approx(e.cf_score, rel=1e-9)
    assert [e.score for e in hybrid.explain_many(client, rec["product_id"].tolist())] == (
        pytest.approx(rec["score"].tolist(), rel=1e-9)
    )


def test_explain_many_equals_explain(models, dataset: Dataset) -> None:
    client = str(dataset.clients["client_id"].iloc[7])
    products = dataset.products["product_id"].iloc[:20].tolist()
    for model in models.values():
        many = model.explain_many(client, products)
        for e, one in zip(many, [model.explain(client, p) for p in products], strict=True):
            assert e.product_id == one.product_id
            assert e.score == pytest.approx(one.score, rel=1e-12, abs=1e-15)
            assert {c.source: c.value for c in e.contributions if c.kind == "item"} == (
                pytest.approx({c.source: c.value for c in one.contributions if c.kind == "item"})
            )
            assert len(e.contributions) == len(one.contributions)


def test_content_explains_by_item_or_attribute(models, dataset: Dataset) -> None:
    model = models["content"]
    client = _active(model, dataset)[3]
    product = str(dataset.products["product_id"].iloc[5])
    by_attr = model.explain(client, product)
    by_item = model.explain(client, product, by="item")
    assert by_item.score == pytest.approx(by_attr.score, rel=1e-12)
    assert by_item.total == pytest.approx(by_item.score, rel=1e-6)
    assert {c.kind for c in by_item.contributions} <= {"item", "preference"}
    with pytest.raises(ValueError, match="by must be"):
        model.explain(client, product, by="colour")  # type: ignore[arg-type]


def test_svd_explanation_is_the_pure_svd_split(models, dataset: Dataset) -> None:
    model = models["svd"]
    client = _active(model, dataset)[0]
    j = 11
    e = model.explain(client, str(dataset.products["product_id"].iloc[j]))
    x = model.interactions_.client_rows([client])
    v = model.item_factors_
    expected = {
        str(dataset.products["product_id"].iloc[i]): float(val) * float(v[i] @ v[j])
        for i, val in zip(x.indices, x.data, strict=True)
    }
    assert {c.source: c.value for c in e.contributions} == pytest.approx(expected, rel=1e-6)


# ----------------------------------------------------------- planted truth
def test_hybrid_recovers_planted_taste(hybrid: HybridRecommender, dataset, truth) -> None:
    clients = [c for c in _active(hybrid, dataset) if c in truth["client_segments"]]
    recs = hybrid.recommend_batch(clients, 20, exclude_seen=True)
    seg = dict(zip(dataset.products["product_id"], truth["product_segment"], strict=True))
    recs["hit"] = [
        seg[p] in truth["client_segments"][c]
        for c, p in zip(recs["client_id"], recs["product_id"], strict=True)
    ]
    share = pd.Series(truth["product_segment"]).value_counts(normalize=True)
    chance = np.mean([sum(share.get(s, 0) for s in truth["client_segments"][c]) for c in clients])
    hit = recs.groupby("client_id")["hit"].mean().mean()
    # Measured 0.78 against 0.21 by chance; ask for half the margin.
    assert hit - chance > 0.28, (hit, chance)


def test_fold_in_moves_suggestions_toward_the_new_segment(
    hybrid: HybridRecommender, dataset, truth, maison
) -> None:
    rng = np.random.default_rng(1)
    names = list(truth["segments"].index)
    pids = dataset.products["product_id"].to_numpy()
    seg = dict(zip(pids, truth["product_segment"], strict=True))
    before, after = [], []
    for c in _active(hybrid, dataset)[:120]:
        others = [s for s in names if s not in truth["client_segments"].get(c, set())]
        target = others[rng.integers(len(others))]
        pick = rng.choice(
            np.flatnonzero((truth["product_segment"] == target) & hybrid.known_products_)
        )
        ev = pd.DataFrame(
            {"client_id": [c], "product_id": [pids[pick]], "event_type": ["purchase"],
             "timestamp": [maison.as_of]}
        )  # fmt: skip
        b = hybrid.recommend(c, 20, exclude_seen=True)["product_id"]
        a = hybrid.recommend(c, 20, exclude_seen=True, extra_events=ev)["product_id"]
        before.append(np.mean([seg[p] == target for p in b]))
        after.append(np.mean([seg[p] == target for p in a]))
    # Measured 0.03 -> 0.08 on average with bm25, the bought piece itself left
    # out as seen (0.03 -> 0.10 when it could be suggested back; 0.05 -> 0.26
    # with idf): the share more than doubles, ask for +0.03.
    assert np.mean(after) - np.mean(before) > 0.03, (np.mean(before), np.mean(after))
    # Measured: it rose for 60 % of the clients (68 % with the bought piece
    # counted) and fell for 2 %.
    assert np.mean(np.array(after) > np.array(before)) > 0.45
    assert np.mean(np.array(after) < np.array(before)) < 0.05


def test_cold_products_reach_clients_of_their_segment(dataset, truth) -> None:
    # Fit as of the day before the new arrivals: they are cold by construction.
    launches = dataset.products["launch_date"]
    as_of = launches[launches > dataset.as_of - pd.Timedelta(days=30)].min() - pd.Timedelta(days=1)
    hybrid = HybridRecommender(CONFIG).fit(dataset, as_of=as_of)
    cold = np.flatnonzero(~hybrid.known_products_)
    assert cold.size >= 5
    assert np.linalg.norm(hybrid.item_factors_[cold], axis=1).min() > 0  # placed by the ridge map
    clients = dataset.clients["client_id"].tolist()
    scores = hybrid.score_clients(clients)
    pct = (-scores).argsort(axis=1).argsort(axis=1) / scores.shape[1]  # 0 = top
    main = np.array([truth["main_segment"].get(c) for c in clients], dtype=object)
    own, other = [], []
    for j in cold:
        in_seg = main == truth["product_segment"][j]
        if in_seg.any():
            own.append(pct[in_seg, j].mean())
            other.append(pct[~in_seg, j].mean())
    # Measured 0.14 against 0.46 (mean rank percentile; 0.21 against 0.56
    # without the new-arrival prior).
    assert np.mean(other) - np.mean(own) > 0.2, (np.mean(own), np.mean(other))

    # The new-arrival prior lifts them into the top 20 of their segment's
    # clients far more than of the others' (taste-fitted, not a blanket boost).
    assert np.isin(cold, hybrid.new_arrivals_).all()  # upcoming launches count as new
    plain = HybridRecommender(CONFIG.with_updates(new_arrival_weight=0.0)).fit(dataset, as_of=as_of)
    assert plain.new_arrivals_.size == 0

    def top20_rate(model: HybridRecommender) -> tuple[float, float]:
        s = model.score_clients(clients)
        s[model.seen_mask(clients)] = -np.inf
        in_top = s[:, cold] >= np.partition(s, -20, axis=1)[:, [-20]]
        same = main[:, None] == truth["product_segment"][cold][None, :]
        return float(in_top[same].mean()), float(in_top[~same].mean())

    (own_on, other_on), (own_off, other_off) = top20_rate(hybrid), top20_rate(plain)
    # Measured 0.40 -> 0.56 for their segment, 0.05 -> 0.10 for the others.
    assert own_on - own_off > 0.08, (own_off, own_on)
    assert own_on - own_off > 2 * (other_on - other_off), (own_on, own_off, other_on, other_off)

    # Explanations name the prior (weight x the content cosine), and still add up.
    j = cold[0]
    pid = str(dataset.product_ids.to_external([j])[0])
    fans = [c for c, seg in zip(clients, main, strict=True) if seg == truth["product_segment"][j]]
    content = ContentRecommender(CONFIG).fit(dataset, as_of=as_of)
    # The prior is the weight x the content cosine over the content block's spread.
    cosines = content.score_clients(fans[:10])
    affinity = cosines[:, j] / cosines.std(axis=1)
    scores = hybrid.score_clients(fans[:10])[:, j]
    for client, a, s in zip(fans[:10], affinity, scores, strict=True):
        e = hybrid.explain(client, pid)
        new = [c for c in e.contributions if c.source == "new_arrival"]
        assert len(new) == 1 and new[0].kind == "prior" and new[0].component == "prior"
        assert new[0].value == pytest.approx(CONFIG.new_arrival_weight * a, rel=1e-9)
        assert e.total == pytest.approx(e.score, rel=1e-6)
        assert e.score == pytest.approx(e.cf_score + e.content_score + e.prior_score, rel=1e-9)
        assert e.score == pytest.approx(s, rel=1e-9)


@pytest.mark.parametrize("segment", ["runway", "quiet_luxury"])
def test_a_product_just_launched_reaches_its_segment(maison, dataset, truth, segment) -> None:
    # A copy of one of the segment's products, without a single event yet: only
    # its launch date differs between the two catalogues.
    products = dataset.products
    source = products.loc[truth["product_segment"] == segment].iloc[0]
    clients = dataset.clients["client_id"].tolist()
    main = np.array([truth["main_segment"].get(c) for c in clients], dtype=object) == segment
    rates, models = {}, {}
    for days in (2, 400):
        new = source.copy()
        new["product_id"], new["launch_date"] = "p-new", dataset.as_of - pd.Timedelta(days=days)
        frame = pd.concat([products, new.to_frame().T], ignore_index=True).astype(products.dtypes)
        data = Dataset.from_frames(**{**maison.tables, "products": frame})
        model = HybridRecommender(CONFIG).fit(data)
        j = data.product_ids.to_internal_one("p-new")
        assert not model.known_products_[j]
        assert (j in model.new_arrivals_) == (days == 2)
        s = model.score_clients(clients)
        s[model.seen_mask(clients)] = -np.inf
        top = (s > s[:, [j]]).sum(axis=1) < 20
        rates[days] = (top[main].mean(), top[~main].mean())
        models[days] = model
    (own, other), (own_old, _) = rates[2], rates[400]
    # Measured (runway, quiet_luxury): 0.83 / 0.65 of the segment's clients
    # against 0.18 / 0.13 of the others; 0.62 / 0.40 with an old launch date.
    assert own > 0.5 and own > 3 * other and own - own_old > 0.1, rates
    fan = str(np.asarray(clients, dtype=object)[main][0])
    e = models[2].explain(fan, "p-new")
    assert any(c.source == "new_arrival" and c.value > 0 for c in e.contributions)
    assert e.total == pytest.approx(e.score, rel=1e-6)
    assert not any(
        c.source == "new_arrival" for c in models[400].explain(fan, "p-new").contributions
    )


def _segment_attributes(segments: pd.DataFrame, segment: str) -> set[str]:
    row = segments.loc[segment]
    return {
        f"{key}={v}"
        for col, key in (("designers", "designer"), ("materials", "material"),
                         ("colors", "color"), ("tags", "tag"))
        for v in split_list(row[col])
    }  # fmt: skip


def test_taste_profile_names_the_planted_segment(hybrid: HybridRecommender, dataset, truth):
    segments = truth["segments"]
    hits, chance = [], []
    for c in _active(hybrid, dataset)[:250]:
        profile = hybrid.taste_profile(c)
        assert list(profile.columns) == ["factor", "share", "label", "top_attributes"]
        assert profile["share"].sum() == pytest.approx(1.0)
        assert (profile["share"] > 0).all() and profile["share"].is_monotonic_decreasing
        top = set(profile["top_attributes"].iloc[0])
        own = truth["client_segments"][c]
        hits.append(bool(top & _segment_attributes(segments, truth["main_segment"][c])))
        chance.append(
            np.mean([bool(top & _segment_attributes(segments, s)) for s in segments.index
                     if s not in own])
        )  # fmt: skip
    # Measured 0.63 against 0.34 for the other segments; ask for half the margin.
    assert np.mean(hits) - np.mean(chance) > 0.15, (np.mean(hits), np.mean(chance))


def test_taste_profile_edges(hybrid: HybridRecommender, dataset) -> None:
    cold = [c for c in dataset.clients["client_id"] if c not in set(_active(hybrid, dataset))]
    assert hybrid.taste_profile(cold[0]).empty
    assert len(hybrid.taste_profile(_active(hybrid, dataset)[0], n=2)) == 2
    with pytest.raises(ValueError, match="n must be"):
        hybrid.taste_profile(cold[0], n=0)


# -------------------------------------------------------------- hybrid parts
def test_cold_client_gets_preferences_and_store_trend(hybrid: HybridRecommender, dataset):
    active = set(_active(hybrid, dataset))
    clients = dataset.clients.set_index("client_id")
    cold = [
        c for c in clients.index
        if c not in active and clients.loc[c, "pref_designers"] and clients.loc[c, "price_max"] > 0
    ]  # fmt: skip
    assert cold, "the generator plants cold clients with declared preferences"
    client = cold[0]
    top = hybrid.recommend(client, 10)["product_id"].tolist()
    explanations = hybrid.explain_many(client, top)
    assert all(e.cf_score == 0.0 for e in explanations)
    kinds = {c.kind for e in explanations for c in e.contributions}
    assert kinds == {"preference", "prior"}
    store = clients.loc[client, "home_store_id"]
    sources = {c.source for e in explanations for c in e.contributions if c.kind == "prior"}
    assert f"store_trend={store}" in sources <= {f"store_trend={store}", "new_arrival"}
    new = set(dataset.product_ids.to_external(hybrid.new_arrivals_))
    for e in explanations:  # the new-arrival prior goes to new arrivals only
        if any(c.source == "new_arrival" for c in e.contributions):
            assert e.product_id in new


def test_each_block_is_standardised_per_client_and_cf_grows_with_history(dataset) -> None:
    # SVD block alone beside content: the cf part's spread over the catalogue
    # is cf_weight * h / (h + blend_k), the content part's is content_weight.
    config = CONFIG.with_updates(item_weight=0.0, cf_weight=1.5, content_weight=0.7, blend_k=4.0)
    model = HybridRecommender(config).fit(dataset)
    client = _active(model, dataset)[0]
    h = model.interactions_.history_strength([client])[0]
    cf, content, _ = model.score_parts([client])
    assert cf[0].std() == pytest.approx(1.5 * h / (h + 4.0), rel=1e-9)
    assert content[0].std() == pytest.approx(0.7, rel=1e-9)
    product = str(dataset.products["product_id"].iloc[0])
    more = pd.DataFrame({"client_id": [client] * 3, "product_id": [product] * 3,
                         "event_type": ["purchase"] * 3})  # fmt: skip
    cf_more, content_more, _ = model.score_parts([client], more)
    assert cf[0].std() < cf_more[0].std() < 1.5
    assert content_more[0].std() == pytest.approx(0.7, rel=1e-9)
    # The neighbour block alone: same rule.
    nb = HybridRecommender(config.with_updates(item_weight=2.0, cf_weight=0.0)).fit(dataset)
    assert nb.score_parts([client])[0][0].std() == pytest.approx(2.0 * h / (h + 4.0), rel=1e-9)


def test_score_parts_add_up(hybrid: HybridRecommender, dataset) -> None:
    everyone = dataset.clients["client_id"].tolist()
    strength = hybrid.interactions_.history_strength(everyone)
    cold = [c for c, h in zip(everyone, strength, strict=True) if h == 0][:5]
    clients = everyone[:30] + cold
    # Both kinds of trend prior are in the batch: the catalogue's and a home store's.
    rows = hybrid._state(clients, None)[0].prior_row
    assert {-1} < set(rows.tolist())
    cf, content, prior = hybrid.score_parts(clients)
    np.testing.assert_allclose(cf + content + prior, hybrid.score_clients(clients), rtol=1e-12)
    assert (prior >= 0).all()
    # Without new arrivals, every row's trend block (catalogue or home store)
    # has a spread of exactly prior_weight over the catalogue.
    plain = HybridRecommender(CONFIG.with_updates(new_arrival_weight=0.0)).fit(dataset)
    prior = plain.score_parts(clients)[2]
    np.testing.assert_allclose(prior.std(axis=1), CONFIG.prior_weight, rtol=1e-9)
    np.testing.assert_array_equal(hybrid.score_clients(clients), hybrid.score_clients(clients))
    one = [clients[0]]
    np.testing.assert_array_equal(hybrid.score_clients(one), hybrid.score_clients(one))


def test_item_embedding(hybrid: HybridRecommender, dataset) -> None:
    emb = hybrid.item_embedding()
    assert emb.shape == (len(dataset.product_ids), hybrid.item_factors_.shape[1])
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, rtol=1e-5)


def test_unknown_client_with_events_is_scored(models, dataset) -> None:
    product = str(dataset.products["product_id"].iloc[3])
    ev = pd.DataFrame({"client_id": ["walk-in"], "product_id": [product],
                       "event_type": ["try_on"]})  # fmt: skip
    for model in models.values():
        scores = model.score_clients(["walk-in"], ev)
        assert np.isfinite(scores).all() and np.abs(scores).max() > 0
        e = model.explain("walk-in", product, ev)
        assert e.total == pytest.approx(e.score, rel=1e-6)


# ---------------------------------------------------------------- contract
@pytest.mark.parametrize("name", ["hybrid", "svd", "content"])
def test_unknown_ids_raise_with_the_id(models, dataset: Dataset, name: str) -> None:
    model = models[name]
    client = str(dataset.clients["client_id"].iloc[0])
    product = str(dataset.products["product_id"].iloc[0])
    with pytest.raises(UnknownIdError, match="'nobody'"):
        model.score_clients(["nobody"])
    with pytest.raises(UnknownIdError, match="'nobody'"):
        model.recommend("nobody", 5)
    with pytest.raises(UnknownIdError, match="'nobody'"):
        model.explain("nobody", product)
    with pytest.raises(UnknownIdError, match="'nothing'"):
        model.explain(client, "nothing")
    with pytest.raises(UnknownIdError, match="'nothing'"):
        model.similar_products("nothing")
    if name == "hybrid":
        with pytest.raises(UnknownIdError, match="'nobody'"):
            model.taste_profile("nobody")  # type: ignore[attr-defined]


def test_consent_is_not_the_model_s_business(maison, dataset: Dataset, hybrid) -> None:
    tables = dict(maison.tables)
    tables["clients"] = tables["clients"].assign(consent_personalization=False)
    refused = Dataset.from_frames(**tables)
    assert refused.fingerprint != dataset.fingerprint
    model = HybridRecommender(CONFIG).fit(refused)
    clients = dataset.clients["client_id"].iloc[:40].tolist()
    np.testing.assert_array_equal(model.score_clients(clients), hybrid.score_clients(clients))


def test_determinism_for_a_seed(dataset: Dataset, hybrid: HybridRecommender) -> None:
    again = HybridRecommender(CONFIG).fit(dataset)
    np.testing.assert_array_equal(again.item_factors_, hybrid.item_factors_)
    clients = dataset.clients["client_id"].iloc[:20].tolist()
    np.testing.assert_array_equal(again.score_clients(clients), hybrid.score_clients(clients))
    other = SVDRecommender(CONFIG.with_updates(seed=4, svd_n_iter=1)).fit(dataset)
    assert not np.array_equal(other.item_factors_, hybrid.item_factors_)


def test_fit_as_of_ignores_later_events(dataset: Dataset, maison) -> None:
    cut = maison.as_of - pd.Timedelta(days=60)
    model = SVDRecommender(CONFIG).fit(dataset, as_of=cut)
    assert model.interactions_.as_of == cut
    with pytest.raises(TypeError, match="unexpected fit argument"):
        SVDRecommender(CONFIG).fit(dataset, as_off=cut)


def test_fit_reuses_compatible_interactions(dataset: Dataset, hybrid) -> None:
    inter = hybrid.interactions_
    model = HybridRecommender(CONFIG.with_updates(blend_k=3.0)).fit(dataset, interactions=inter)
    assert model.interactions_ is inter
    with pytest.raises(ValueError, match="half_life_days"):
        SVDRecommender(CONFIG.with_updates(half_life_days=30)).fit(dataset, interactions=inter)
    with pytest.raises(ValueError, match="pass only one"):
        SVDRecommender(CONFIG).fit(dataset, interactions=inter, as_of="2020-01-01")


def test_the_fit_reports_what_it_derived_from_the_data(hybrid: HybridRecommender, dataset) -> None:
    report = hybrid.fit_report_
    matrix = hybrid.interactions_.matrix
    assert report["clients_with_history"] == int((np.diff(matrix.indptr) > 0).sum())
    assert report["products_with_interactions"] + report["products_placed_by_ridge"] == len(
        dataset.product_ids
    )
    stamps = pd.to_datetime(dataset.events["timestamp"])
    span = (hybrid.interactions_.as_of - stamps.min()) / pd.Timedelta(days=1)
    assert report["span_days"] == pytest.approx(span)
    assert report["weight_left_after_span"] == pytest.approx(0.5 ** (span / CONFIG.half_life_days))
    assert 0.0 < report["popularity_gini"] < 1.0
    assert report["trend_spread"] == pytest.approx(hybrid.trend_.std())
    # The median spreads are the divisors the block weights meet: a client's
    # standardised SVD part has spread cf_weight x its history share.
    spreads = report["block_spread_median"]
    assert all(spreads[b] > 0 for b in ("svd", "neighbours", "content"))
    # Half the clients may have bought nothing whose buyers bought on: a median of 0 is possible.
    assert spreads["next_step"] >= 0
    assert report["next_step_links"] == hybrid.sequence_.nnz > 0


def test_gini_of_known_counts() -> None:
    from core.engine.models.fit_report import gini

    assert gini(np.array([5, 5, 5, 5])) == pytest.approx(0.0)
    assert gini(np.array([0, 0, 0, 10])) == pytest.approx(0.75)
    assert gini(np.array([])) == 0.0
