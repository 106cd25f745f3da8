"""The suggestion pipeline: rules, consent, re-ranking, reasons, why-not, batch."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest

from core.data.dataset import Dataset
from core.engine.models.base import Contribution, Explanation, Recommender
from core.exceptions import ModelMismatchError, UnknownIdError
from core.suggest.pipeline import Suggester
from core.suggest.request import SuggestRequest
from core.suggest.rerank.gift import GiftRecipient
from core.suggest.results import IDEA_COLUMNS, SUGGESTION_COLUMNS
from core.suggest.rules import RuleSet

AS_OF = pd.Timestamp("2026-03-01 12:00")
FORBIDDEN = re.compile(r"view|zoom|email|click|open|brows|looked|score", re.IGNORECASE)
WEIGHTS = {"purchase": 5.0, "try_on": 3.0, "wishlist": 3.0, "zoom": 1.5, "view": 1.0,
           "email_click": 1.0, "email_open": 0.3}  # fmt: skip
STRENGTH = ["email_open", "view", "email_click", "zoom", "wishlist", "try_on", "purchase"]


# ================================================================ stand-in
class DotRecommender(Recommender):
    """score(c, i) = sum over c's past items j of w_j (v_j . v_i), with fixed item vectors.

    A PureSVD-shaped stand-in: ``explain`` splits the score exactly over the
    client's past items, each with its strongest event type.
    """

    explains = True

    def __init__(self, vectors: np.ndarray | None = None, seed: int = 0) -> None:
        self.vectors = vectors
        self.seed = seed

    def _fit(self, dataset: Dataset, **kwargs: object) -> None:
        n = len(dataset.product_ids)
        rng = np.random.default_rng(self.seed)
        v = self.vectors if self.vectors is not None else rng.normal(size=(n, 6))
        self.item_vectors_ = np.asarray(v, dtype=np.float64)
        self.calls_: list[list[str]] = []

    def item_embedding(self) -> np.ndarray:
        return self.item_vectors_

    def _history(self, client_id: str, extra: pd.DataFrame | None) -> dict[int, tuple[float, str]]:
        ev = self.dataset_.events
        ev = ev[ev["client_id"] == client_id]
        if extra is not None:
            ev = pd.concat([ev, extra[extra["client_id"] == client_id]])
        out: dict[int, tuple[float, str]] = {}
        for pid, et in zip(ev["product_id"], ev["event_type"], strict=True):
            if et == "return":
                continue
            j = self.dataset_.product_ids.to_internal_one(pid)
            w, best = out.get(j, (0.0, et))
            best = et if STRENGTH.index(et) > STRENGTH.index(best) else best
            out[j] = (w + WEIGHTS[et], best)
        return out

    def score_clients(
        self, client_ids: Sequence[str], extra_events: pd.DataFrame | None = None
    ) -> np.ndarray:
        self.calls_.append(list(client_ids))
        v = self.item_vectors_
        rows = []
        for c in client_ids:
            u = np.zeros(v.shape[1])
            for j, (w, _) in self._history(c, extra_events).items():
                u += w * v[j]
            rows.append(v @ u)
        return np.array(rows).reshape(len(client_ids), len(v))

    def explain(
        self, client_id: str, product_id: str, extra_events: pd.DataFrame | None = None
    ) -> Explanation:
        v = self.item_vectors_
        i = self.dataset_.product_ids.to_internal_one(product_id)
        parts = tuple(
            Contribution("item", str(self.dataset_.product_ids.to_external([j])[0]),
                         float(w * v[j] @ v[i]), "cf", et)
            for j, (w, et) in self._history(client_id, extra_events).items()
        )  # fmt: skip
        s = float(sum(p.value for p in parts))
        return Explanation(str(client_id), str(product_id), s, s, 0.0, 0.0, parts)


# ================================================================== dataset
CATS = ["bags", "shoes", "ready-to-wear", "jewellery", "outerwear", "accessories"]


def make_dataset() -> Dataset:
    n = 30
    pids = [f"p{i:02d}" for i in range(n)]
    products = pd.DataFrame(
        {
            "product_id": pids,
            "name": [f"Piece {chr(65 + i % 26)}{i}" for i in range(n)],
            "category": [CATS[i % len(CATS)] for i in range(n)],
            "designer": [f"D{i % 5}" for i in range(n)],
            "price": [500.0 + 100 * i for i in range(n)],
            "sensitive": [i == 4 for i in range(n)],
            "markdown": [i == 7 for i in range(n)],
            "style_tags": ["evening" if i == 9 else "" for i in range(n)],
            "launch_date": [AS_OF - pd.Timedelta(days=10 if i == 20 else 400) for i in range(n)],
        }
    )
    stores = pd.DataFrame(
        {
            "store_id": ["par", "dxb", "online"],
            "name": ["Paris Saint-Honoré", "Dubai Design District", "Online boutique"],
            "city": ["Paris", "Dubai", "Online"],
            "country": ["France", "UAE", ""],
            "climate": ["temperate", "warm", "temperate"],
            "online": [False, False, True],
        }
    )
    stock = pd.DataFrame(
        {"product_id": pids * 3, "store_id": ["par"] * n + ["dxb"] * n + ["online"] * n}
    )
    stock["quantity"] = 2
    stock.loc[stock["product_id"] == "p05", "quantity"] = 0  # out of stock everywhere
    clients = pd.DataFrame(
        {
            "client_id": ["c1", "c2", "n1", "n2", "v1"],
            "first_name": "F",
            "last_name": "L",
            "home_store_id": ["par", "par", "par", "par", "dxb"],
            "tier": ["client", "client", "client", "loyal", "vic"],
            "consent_personalization": [True, True, False, False, True],
            "consent_contact": True,
            "do_not_suggest": ["p03", "", "", "", ""],
        }
    )
    ev = [
        ("c1", "p00", "purchase", "par"),
        ("c1", "p01", "wishlist", None),
        ("c1", "p02", "view", None),
        ("c1", "p06", "view", None),
        ("c2", "p10", "purchase", "par"),
        ("c2", "p11", "view", None),
        ("n1", "p00", "purchase", "par"),
        ("n1", "p01", "purchase", "par"),
        ("n2", "p12", "purchase", "par"),
        ("n2", "p13", "view", None),
        ("v1", "p08", "purchase", "dxb"),
        ("v1", "p07", "view", None),
        # a bestseller in Paris
        ("c2", "p15", "purchase", "par"),
        ("n2", "p15", "purchase", "par"),
        ("v1", "p15", "purchase", "par"),
    ]
    events = pd.DataFrame(
        {
            "client_id": [e[0] for e in ev],
            "product_id": [e[1] for e in ev],
            "event_type": [e[2] for e in ev],
            "store_id": [e[3] for e in ev],
            "channel": ["store" if e[3] else "online" for e in ev],
            "timestamp": AS_OF,
        }
    )
    return Dataset.from_frames(products, events, clients=clients, stores=stores, stock=stock)


@pytest.fixture()
def ds() -> Dataset:
    return make_dataset()


@pytest.fixture()
def model(ds: Dataset) -> DotRecommender:
    return DotRecommender().fit(ds)


@pytest.fixture()
def sugg(model: DotRecommender, ds: Dataset) -> Suggester:
    return Suggester(model, ds, RuleSet.default(), max_per_designer=None)


# ============================================================== the basics
def test_items_have_the_documented_columns_and_exact_scores(sugg, model, ds):
    res = sugg.suggest("c1", SuggestRequest(k=8))
    items = res.items
    assert tuple(items.columns) == SUGGESTION_COLUMNS
    assert items["rank"].tolist() == list(range(1, 9))
    assert not res.generic and res.banner is None
    assert (items["source"] == "model").all()
    scores = model.score_clients(["c1"])[0]
    for row in items.itertuples():
        j = ds.product_ids.to_internal_one(row.product_id)
        assert row.score == pytest.approx(scores[j])
        assert row.cf_score + row.content_score + row.prior_score == pytest.approx(row.score)
        assert row.stock_here == 2 and row.stock_online == 2
        assert row.reason == " · ".join(row.reasons)
        assert 1 <= len(row.reasons) <= 3
        assert 1 <= len(row.client_reasons) <= 2
    assert 0.0 <= res.diversity <= 2.0


def test_excluded_products_never_appear_and_why_not_names_the_rule(sugg):
    res = sugg.suggest(
        "c1",
        SuggestRequest(
            k=30, removed_products=["p14"], removed_categories=["outerwear"], diversity=0.0
        ),
    )
    shown = set(res.items["product_id"])
    expected = {
        "p00": "already_bought",
        "p03": "do_not_suggest",
        "p04": "sensitive",
        "p05": "out_of_stock",
        "p14": "removed_by_associate",
        "p10": "removed_by_associate",  # outerwear
    }
    for pid, rule in expected.items():
        assert pid not in shown
        assert rule in set(res.exclusions.loc[res.exclusions["product_id"] == pid, "rule"])
        why = sugg.why_not(
            "c1", pid, SuggestRequest(removed_products=["p14"], removed_categories=["outerwear"])
        )
        assert re.search(rf"(Excluded|also) by {rule}: ", why), why
    assert sugg.why_not("c1", "p05") == (
        "Excluded by out_of_stock: 0 in Paris Saint-Honoré and 0 online"
    )


def test_brand_alignment_for_a_vic(sugg):
    res = sugg.suggest("v1", SuggestRequest(k=30))
    assert "p07" not in set(res.items["product_id"])
    assert sugg.why_not("v1", "p07").startswith("Excluded by brand_alignment: no_markdown_for_vic")


def test_why_not_for_an_allowed_product_gives_its_rank_and_breakdown(sugg):
    res = sugg.suggest("c1", SuggestRequest(k=3, diversity=0.0))
    shown = res.items["product_id"].tolist()
    assert (
        sugg.why_not("c1", shown[0], SuggestRequest(k=3, diversity=0.0)) == "It is suggested, at #1"
    )
    full = sugg.suggest("c1", SuggestRequest(k=30, diversity=0.0)).items
    fifth = full["product_id"].iloc[4]
    why = sugg.why_not("c1", fifth, SuggestRequest(k=3, diversity=0.0))
    assert why.startswith("Not excluded by any rule; it ranks #5 of ")
    assert "below the cut of 3 (model score " in why
    assert "= cf " in why and "+ content " in why and "+ prior " in why


def test_why_not_for_a_filtered_product(sugg):
    why = sugg.why_not("c1", "p07", SuggestRequest(categories=["bags"]))
    assert why == "Filtered out by this request's filters (category not in bags)"


def test_diversity_zero_is_final_score_order_and_more_diversity_is_more_diverse(sugg):
    flat = sugg.suggest("c1", SuggestRequest(k=8, diversity=0.0)).items
    assert flat["final_score"].is_monotonic_decreasing
    ilds = [sugg.suggest("c1", SuggestRequest(k=8, diversity=d)).diversity for d in (0.0, 0.5, 1.0)]
    assert ilds[0] <= ilds[1] + 1e-9 <= ilds[2] + 2e-9


def test_caps_per_designer(sugg):
    items = sugg.suggest("c1", SuggestRequest(k=10, max_per_designer=1)).items
    assert items["designer"].is_unique
    assert len(items) == 5  # five designers


def test_filters_and_argument_errors(sugg, ds):
    items = sugg.suggest(
        "c1", SuggestRequest(k=30, categories=["Bags", "shoes"], price_min=700, price_max=2500)
    ).items
    assert set(items["category"]) <= {"bags", "shoes"}
    assert items["price"].between(700, 2500).all()
    with pytest.raises(ValueError, match="unknown category 'hats'; known: accessories, bags"):
        sugg.suggest("c1", SuggestRequest(categories=["hats"]))
    with pytest.raises(ValueError, match=r"price_min \(900\) is above price_max \(100\)"):
        sugg.suggest("c1", SuggestRequest(price_min=900, price_max=100))
    with pytest.raises(ValueError, match="k must be a whole number of at least 1"):
        sugg.suggest("c1", SuggestRequest(k=0))
    with pytest.raises(ValueError, match="diversity must be between 0 and 1"):
        sugg.suggest("c1", SuggestRequest(diversity=1.5))
    with pytest.raises(UnknownIdError, match="unknown client id: 'zz'"):
        sugg.suggest("zz")
    with pytest.raises(ValueError, match="unknown occasion 'brunch'"):
        sugg.suggest("c1", SuggestRequest(occasion="brunch"))


def test_a_request_declares_its_ranges_once_and_checks_them_when_built():
    from core.suggest.request import RANGES

    assert set(RANGES) == {"k", "diversity", "price_min", "price_max"}
    with pytest.raises(ValueError, match="k must be a whole number of at least 1, got True"):
        SuggestRequest(k=True)
    with pytest.raises(ValueError, match="price_max must be a non-negative number, got -1"):
        SuggestRequest(price_max=-1)
    with pytest.raises(ValueError, match=r"price_min \(5\) is above price_max \(1\); swap them"):
        SuggestRequest(price_min=5, price_max=1)
    request = SuggestRequest(k=3, categories="bags", pinned=["p01"])
    assert request.categories == ("bags",) and request.pinned == ("p01",)
    assert request.replace(k=4).k == 4 and request.k == 3
    with pytest.raises(ValueError, match="diversity must be between 0 and 1"):
        request.replace(diversity=2.0)
    assert request.as_dict()["categories"] == ["bags"]
    assert request.client_options() == ["pinned"]
    assert request.caps(4, None) == (4, None)
    assert SuggestRequest(max_per_designer=None).caps(4, 2) == (None, 2)


def test_a_stores_list_refuses_a_clients_options(sugg):
    with pytest.raises(ValueError, match="a store's list reads no client: leave pinned"):
        sugg.generic_suggestions("par", SuggestRequest(pinned=["p01"]))


def test_items_carry_what_the_pages_show(sugg, ds):
    items = sugg.suggest("c1", SuggestRequest(k=5)).items
    assert not items["sensitive"].any()
    assert (items["currency"] == ds.products.set_index("product_id").loc[
        items["product_id"], "currency"].to_numpy()).all()  # fmt: skip
    for row in items.itertuples():
        assert row.client_reason == " · ".join(row.client_reasons)


def test_model_fitted_on_another_catalogue_is_refused(ds):
    other = make_dataset()
    other_products = other.products.iloc[::-1].reset_index(drop=True)
    flipped = Dataset.from_frames(other_products, other.events, clients=other.clients,
                                  stores=other.stores, stock=other.stock)  # fmt: skip
    m = DotRecommender().fit(flipped)
    with pytest.raises(ModelMismatchError, match="refit the model on this dataset"):
        Suggester(m, ds).suggest("c1")


# ================================================================= consent
def test_no_consent_gives_generic_suggestions_with_a_banner_and_no_model_call(sugg, model):
    model.calls_.clear()
    res = sugg.suggest("n1", SuggestRequest(k=6))
    assert res.generic is True
    assert res.banner is not None and "No personalisation consent" in res.banner
    assert "Paris Saint-Honoré" in res.banner
    assert (res.items["source"] == "generic").all()
    assert model.calls_ == []  # the client's history never reaches the model
    assert "p00" in set(res.items["product_id"])  # n1 bought it; generic lists ignore that


def test_generic_list_does_not_depend_on_the_clients_history(sugg):
    a = sugg.suggest("n1", SuggestRequest(k=8))
    b = sugg.suggest("n2", SuggestRequest(k=8))
    cols = ["product_id", "final_score", "reasons", "client_reasons"]
    pd.testing.assert_frame_equal(a.items[cols], b.items[cols])
    # without diversity: the new arrival first, then the Paris bestsellers
    flat = sugg.suggest("n1", SuggestRequest(k=8, diversity=0.0)).items
    assert flat["product_id"].tolist()[:3] == ["p20", "p15", "p00"]
    assert flat["reasons"].iloc[0] == ["New arrival"]
    assert flat["reasons"].iloc[1] == ["Bestseller in Paris Saint-Honoré"]
    assert flat["client_reasons"].iloc[1] == ["A favourite at Paris Saint-Honoré"]


def test_consent_override_switches_both_ways(sugg):
    assert sugg.suggest("n1", SuggestRequest(consent_override=True)).generic is False
    assert sugg.suggest("c1", SuggestRequest(consent_override=False)).generic is True
    assert sugg.why_not("n1", "p04").startswith("Personalisation is off for this client")


def test_generic_suggestions_for_a_store(sugg):
    res = sugg.generic_suggestions("par", SuggestRequest(k=4, diversity=0.0))
    assert res.generic and res.client_id is None
    assert res.items["product_id"].tolist()[:2] == ["p20", "p15"]
    assert res.banner == "Generic suggestions: new arrivals and Paris Saint-Honoré bestsellers."
    assert not {"p04", "p05"} & set(res.items["product_id"])  # sensitive, out of stock
    with pytest.raises(UnknownIdError, match="unknown store id: 'nyc'"):
        sugg.generic_suggestions("nyc")


# ========================================================= curation inputs
def test_pinned_products_come_first_and_pass_overridable_rules(sugg):
    res = sugg.suggest("c1", SuggestRequest(k=5, pinned=["p04", "p22"]))
    assert res.items["product_id"].tolist()[:2] == ["p04", "p22"]
    assert res.items["pinned"].tolist() == [True, True, False, False, False]
    assert len(res.items) == 5
    with pytest.raises(ValueError, match="products both pinned and removed: p22"):
        sugg.suggest("c1", SuggestRequest(pinned=["p22"], removed_products=["p22"]))
    with pytest.raises(UnknownIdError, match="unknown product id: 'nope'"):
        sugg.suggest("c1", SuggestRequest(pinned=["nope"]))
    # the client's do-not-suggest list wins over a pin
    assert "p03" not in set(sugg.suggest("c1", SuggestRequest(pinned=["p03"])).items["product_id"])


def test_removed_product_pushes_down_its_close_neighbours(ds):
    vecs = np.random.default_rng(3).normal(size=(30, 6))
    vecs[17] = vecs[16]  # p17 is p16's twin
    vecs[16] += vecs[0]  # both close to what c1 bought, so both rank well
    vecs[17] = vecs[16]
    m = DotRecommender(vectors=vecs).fit(ds)
    s = Suggester(m, ds, RuleSet.default(), max_per_designer=None)
    before = s.suggest("c1", SuggestRequest(k=30, diversity=0.0)).items.set_index("product_id")[
        "final_score"
    ]
    after = s.suggest("c1", SuggestRequest(k=30, diversity=0.0, removed_products=["p16"])).items
    after = after.set_index("product_id")["final_score"]
    assert "p16" not in after.index
    top, bottom = before.index[0], before.index[-1]
    assert "p16" not in (top, bottom)  # so the scaling is unchanged
    assert after["p17"] == pytest.approx(before["p17"] - s.removed_neighbour_penalty)
    others = [p for p in after.index if p != "p17"]
    assert np.allclose(after[others], before[others])


def test_occasion_lift_is_a_recorded_reason(sugg):
    items = sugg.suggest("c1", SuggestRequest(k=30, occasion="evening")).items.set_index(
        "product_id"
    )
    assert "For the evening" in items.loc["p09", "reasons"]
    assert "For the evening" in items.loc["p09", "client_reasons"]


def test_client_wording_never_mentions_what_was_not_volunteered(sugg):
    items = sugg.suggest("c1", SuggestRequest(k=20)).items
    for reasons in items["client_reasons"]:
        for r in reasons:
            assert not FORBIDDEN.search(r), r
            assert "Piece C2" not in r and "Piece G6" not in r  # viewed only
    assert any("viewed" in r for rs in items["reasons"] for r in rs)


def test_extra_events_fold_in_and_exclude_new_purchases(sugg):
    extra = pd.DataFrame(
        {"client_id": ["c1"], "product_id": ["p21"], "event_type": ["purchase"],
         "timestamp": [AS_OF]}
    )  # fmt: skip
    res = sugg.suggest("c1", SuggestRequest(k=10, extra_events=extra))
    assert "p21" not in set(res.items["product_id"])
    assert "already_bought" in set(
        res.exclusions.loc[res.exclusions["product_id"] == "p21", "rule"]
    )
    assert any("Piece V21" in r for rs in res.items["reasons"] for r in rs)


# ================================================================== batch
def test_batch_matches_one_by_one(sugg):
    batch = sugg.suggest_batch(["c1", "c2", "n1", "v1"], SuggestRequest(k=5), chunk_size=2)
    assert list(batch.columns) == ["client_id", "rank", "product_id", "final_score", "source"]
    for cid in ("c1", "c2", "n1", "v1"):
        one = sugg.suggest(cid, SuggestRequest(k=5)).items
        got = batch[batch["client_id"] == cid]
        assert got["product_id"].tolist() == one["product_id"].tolist()
        assert got["final_score"].to_numpy() == pytest.approx(one["final_score"].to_numpy())
    assert set(batch.loc[batch["client_id"] == "n1", "source"]) == {"generic"}


# =========================================================== look and gift
def test_complete_the_look_respects_the_clients_rules(sugg, ds):
    out = sugg.complete_the_look("c1", "p06", k=10)
    cats = set(out["category"])
    assert "bags" not in cats
    assert not {"p00", "p03", "p04", "p05"} & set(out["product_id"])
    assert tuple(out.columns) == IDEA_COLUMNS


def test_gift_skips_sensitive_and_out_of_stock_and_keeps_the_budget(sugg):
    out = sugg.gift(GiftRecipient(budget_max=1200), k=20, store_id="par")
    assert out["price"].le(1200).all()
    assert not {"p04", "p05"} & set(out["product_id"])


# ============================================================ integration
@pytest.fixture(scope="module")
def maison() -> Dataset:
    gen = pytest.importorskip("core.data.generate")
    m = gen.generate_maison(n_clients=600, n_products=300)
    return Dataset.from_frames(**m.tables)


def _check_real_model(model: Recommender, ds: Dataset) -> None:
    s = Suggester(model, ds, RuleSet.default())
    rules = RuleSet.default()
    clients = ds.clients
    consenting = clients.loc[clients["consent_personalization"], "client_id"].head(15)
    for cid in consenting:
        res = s.suggest(cid, SuggestRequest(k=12))
        assert not res.generic
        assert 1 <= len(res.items) <= 12
        rr = rules.apply(ds, cid)
        idx = ds.product_ids.to_internal(res.items["product_id"])
        assert rr.allowed[idx].all()
        for row in res.items.itertuples():
            assert row.cf_score + row.content_score + row.prior_score == pytest.approx(
                row.score, abs=1e-6
            )
            for r in row.client_reasons:
                assert not FORBIDDEN.search(r), r
        assert (res.items["designer"].value_counts() <= 4).all()
    shy = clients.loc[~clients["consent_personalization"], "client_id"].head(2).tolist()
    lists = [s.suggest(c, SuggestRequest(k=8)) for c in shy]
    assert all(r.generic and r.banner for r in lists)
    if len(shy) == 2:
        same_store = clients.set_index("client_id").loc[shy, "home_store_id"].nunique() == 1
        if same_store and all(r.rule_result.exclusions.empty for r in lists):
            assert lists[0].items["product_id"].tolist() == lists[1].items["product_id"].tolist()


@pytest.mark.slow
def test_with_the_svd_and_content_models(maison):
    svd = pytest.importorskip("core.engine.models.svd")
    content = pytest.importorskip("core.engine.models.content")
    _check_real_model(svd.SVDRecommender().fit(maison), maison)
    _check_real_model(content.ContentRecommender().fit(maison), maison)


@pytest.mark.slow
def test_with_the_hybrid_model(maison):
    hybrid = pytest.importorskip("core.engine.models.hybrid")
    _check_real_model(hybrid.HybridRecommender().fit(maison), maison)


def test_hostile_product_names_pass_through_as_plain_text(ds):
    hostile = {
        "p00": "<script>alert('x')</script>",
        "p01": "**Bold** [link](http://evil.example)",
        "p02": "👜✨ Sac Zoë",
        "p22": "حقيبة يد سوداء",
        "p23": "Long " + "x" * 4995,
    }
    products = ds.products.copy()
    for pid, name in hostile.items():
        products.loc[products["product_id"] == pid, "name"] = name
    evil = Dataset.from_frames(products, ds.events, clients=ds.clients, stores=ds.stores,
                               stock=ds.stock)  # fmt: skip
    s = Suggester(DotRecommender().fit(evil), evil, RuleSet.default(), max_per_designer=None)
    items = s.suggest("c1", SuggestRequest(k=30, diversity=0.0)).items.set_index("product_id")
    for pid in ("p22", "p23"):
        assert items.loc[pid, "name"] == hostile[pid]  # the name column is never cut
    reasons = [r for rs in items["reasons"] for r in rs]
    assert any(hostile["p00"] in r for r in reasons)  # bought: named verbatim
    assert any(hostile["p01"] in r for r in reasons)  # wishlisted
    client = [r for rs in items["client_reasons"] for r in rs]
    assert any(r == f"To pair with your {hostile['p00']}" or hostile["p00"] in r for r in client)


def test_an_empty_selection_gives_an_empty_frame_with_the_columns(sugg):
    res = sugg.suggest("c1", SuggestRequest(categories=["bags"], price_min=10_000))
    assert res.items.empty
    assert tuple(res.items.columns) == SUGGESTION_COLUMNS
    assert res.diversity == 0.0


def test_holdout_clients_never_receive_model_suggestions(model, ds):
    from core.suggest.holdout import in_holdout

    share = 0.5
    sugg = Suggester(model, ds, RuleSet.default(), max_per_designer=None, holdout_share=share)
    clients = [c for c in ds.clients["client_id"] if bool(ds.client(c)["consent_personalization"])]
    held = [c for c in clients if in_holdout(c, share)]
    kept = [c for c in clients if not in_holdout(c, share)]
    assert held and kept, "the tiny dataset should have clients in both groups"
    for cid in held:
        model.calls_.clear()
        res = sugg.suggest(cid, SuggestRequest(k=5))
        assert res.generic and "Holdout" in (res.banner or "")
        assert set(res.items["source"]) <= {"generic"}
        assert not any(cid in call for call in model.calls_), "the model scored a holdout client"
    batch = sugg.suggest_batch(held + kept, SuggestRequest(k=5))
    assert set(batch.loc[batch["client_id"].isin(held), "source"]) <= {"generic"}
    res = sugg.suggest(kept[0], SuggestRequest(k=5))
    assert not res.generic and set(res.items["source"]) == {"model"}
