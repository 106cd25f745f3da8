"""Re-ranking: MMR and caps, context boosts, complete-the-look, gift mode."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from core.data.dataset import Dataset
from core.engine.diversity import attribute_vectors, intra_list_diversity
from core.engine.models.base import Recommender
from core.suggest.catalogue import color_family
from core.suggest.rerank.context import context_boosts, days_until, season_codes
from core.suggest.rerank.gift import GiftRecipient, gift_candidates
from core.suggest.rerank.look import complete_the_look, copurchase_lift
from core.suggest.rerank.select import mmr
from core.suggest.rules import RuleSet

AS_OF = pd.Timestamp("2026-03-01")


# ======================================================================= MMR
def clustered(n_per: int = 10, n_clusters: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Vectors in tight clusters; the most relevant items all sit in cluster 0."""
    rng = np.random.default_rng(seed)
    centres = np.eye(n_clusters)
    vecs = np.repeat(centres, n_per, axis=0) + 0.05 * rng.normal(
        size=(n_per * n_clusters, n_clusters)
    )
    scores = np.concatenate([1.0 - 0.01 * np.arange(n_per) - 0.3 * c for c in range(n_clusters)])
    return vecs, scores


def test_strength_zero_is_relevance_order():
    rng = np.random.default_rng(1)
    scores = rng.random(50)
    vecs = rng.normal(size=(50, 8))
    cand = np.arange(50)
    got = mmr(scores, cand, vecs, 20, 0.0)
    assert got.tolist() == np.argsort(-scores)[:20].tolist()


def test_strength_zero_ties_go_to_the_candidate_listed_first():
    scores = np.ones(5)
    assert mmr(scores, [3, 1, 4, 0, 2], None, 5, 0.0).tolist() == [3, 1, 4, 0, 2]


def test_higher_strength_gives_higher_intra_list_diversity():
    vecs, scores = clustered()
    cand = np.arange(len(scores))
    ild = [intra_list_diversity(vecs, mmr(scores, cand, vecs, 6, s)) for s in (0.0, 0.3, 0.7, 1.0)]
    assert ild[0] < 0.05  # all from cluster 0
    assert ild[1] > ild[0] and ild[2] >= ild[1] and ild[3] >= ild[2]
    assert mmr(scores, cand, vecs, 6, 0.7).tolist()[0] == 0  # the best item still leads


def test_dense_and_sparse_vectors_give_the_same_order():
    vecs, scores = clustered()
    cand = np.arange(len(scores))
    dense = mmr(scores, cand, vecs, 8, 0.5)
    sparse = mmr(scores, cand, sp.csr_matrix(vecs), 8, 0.5)
    assert dense.tolist() == sparse.tolist()


def test_caps_per_designer_and_category_are_respected():
    vecs, scores = clustered()
    designers = np.array(["A", "B"] * 15, dtype=object)
    categories = np.repeat(["bags", "shoes", "rtw"], 10)
    got = mmr(scores, np.arange(30), vecs, 8, 0.0, designers=designers, categories=categories,
              max_per_designer=3, max_per_category=2)  # fmt: skip
    assert len(got) == 6  # 2 per category x 3 categories, within 3 per designer
    assert max(pd.Series(designers[got]).value_counts()) <= 3
    assert max(pd.Series(categories[got]).value_counts()) <= 2
    # without caps the top items all come from the first category
    assert set(categories[mmr(scores, np.arange(30), vecs, 8, 0.0)]) == {"bags"}


def test_selected_items_count_towards_caps_and_are_not_returned():
    scores = np.array([1.0, 0.9, 0.8, 0.7])
    cats = np.array(["a", "a", "b", "b"])
    got = mmr(scores, [0, 1, 2, 3], None, 3, 0.0, categories=cats, max_per_category=1,
              selected=[0])  # fmt: skip
    assert got.tolist() == [2]


def test_mmr_argument_errors():
    with pytest.raises(ValueError, match="strength must be between 0 and 1"):
        mmr(np.ones(3), [0, 1], np.eye(3), 2, 1.5)
    with pytest.raises(ValueError, match="max_per_designer must be at least 1"):
        mmr(
            np.ones(3), [0, 1], np.eye(3), 2, 0.0, designers=np.array(["a"] * 3), max_per_designer=0
        )
    with pytest.raises(ValueError, match="max_per_category needs the matching labels"):
        mmr(np.ones(3), [0, 1], np.eye(3), 2, 0.0, max_per_category=1)
    with pytest.raises(ValueError, match="needs item_vectors"):
        mmr(np.ones(3), [0, 1], None, 2, 0.5)
    assert mmr(np.ones(3), [], np.eye(3), 2, 0.5).size == 0


def test_intra_list_diversity_exact_values():
    assert intra_list_diversity(np.eye(3), [0, 1, 2]) == pytest.approx(1.0)
    assert intra_list_diversity(np.ones((3, 2)), [0, 1, 2]) == pytest.approx(0.0)
    v = np.array([[1.0, 0.0], [1.0, 1.0]])
    assert intra_list_diversity(v, [0, 1]) == pytest.approx(1 - 1 / np.sqrt(2))
    assert intra_list_diversity(np.eye(3), [1]) == 0.0


# ================================================================== datasets
def make_dataset(purchases: list[tuple[str, str]] | None = None) -> Dataset:
    """A small catalogue over four categories; ``purchases`` are (client, product) pairs."""
    products = pd.DataFrame(
        {
            "product_id": ["anchor", "belt_co", "belt_attr", "shoe_co", "shoe_x", "bag_same",
                           "scarf", "ring", "watch", "scent", "gown", "parka"],
            "name": ["Black Calfskin Tote", "Belt", "Black Belt", "Loafer", "Sneaker", "Other Tote",
                     "Silk Carré", "Gold Ring", "Steel Watch", "Iris Parfum", "Sequin Gown",
                     "Down Parka"],
            "category": ["bags", "small leather goods", "small leather goods", "shoes", "shoes",
                         "bags", "accessories", "jewellery", "watches", "fragrance",
                         "ready-to-wear", "outerwear"],
            "designer": ["A", "Z", "A", "Y", "X", "A", "B", "C", "C", "D", "E", "F"],
            "material": ["calfskin", "canvas", "calfskin", "suede", "nylon", "calfskin", "silk",
                         "gold", "steel", "iris", "sequin", "down"],
            "color": ["black", "red", "black", "green", "white", "black", "navy", "gold", "silver",
                      "clear", "black", "black"],
            "price": [3000.0, 400, 2500, 900, 700, 2900, 450, 5000, 8000, 200, 4000, 2000],
            "style_tags": ["classic|tailored", "", "classic", "", "sporty", "classic", "",
                           "heirloom", "", "", "evening|glamorous", ""],
            "collection": ["FW25", "SS26", "FW26", "SS26", "SS26", "FW25", "SS26", "SS26", "FW26",
                           "SS26", "FW26", "FW26"],
            "warmth": ["", "", "", "", "", "", "", "", "", "", "light", "heavy"],
        }
    )  # fmt: skip
    purchases = purchases or []
    events = pd.DataFrame(
        {
            "client_id": [c for c, _ in purchases] or ["c0"],
            "product_id": [p for _, p in purchases] or ["scent"],
            "event_type": "purchase",
            "timestamp": AS_OF,
        }
    )
    clients = pd.DataFrame(
        {
            "client_id": sorted({c for c, _ in purchases} | {"c0", "buyer"}),
        }
    )
    clients["first_name"] = "F"
    clients["last_name"] = "L"
    clients["home_store_id"] = "online"
    clients["tier"] = "client"
    clients["consent_personalization"] = True
    clients["consent_contact"] = True
    clients["birthday"] = pd.NaT
    clients.loc[clients["client_id"] == "c0", "birthday"] = pd.Timestamp("1980-03-06")
    return Dataset.from_frames(products, events, clients=clients)


# =================================================================== context
def test_occasion_boost_matches_keywords_and_is_labelled():
    ds = make_dataset()
    cb = context_boosts(ds, occasion="evening", config=RuleSet.default().context)
    gown = ds.product_ids.to_internal_one("gown")
    assert cb.total[gown] == pytest.approx(0.15)
    assert cb.reasons(gown) == (["For the evening"], ["For the evening"])
    assert cb.total[ds.product_ids.to_internal_one("parka")] == 0.0


def test_unknown_occasion_and_season_raise():
    ds = make_dataset()
    with pytest.raises(ValueError, match="unknown occasion 'brunch'; known: evening, gift, travel"):
        context_boosts(ds, occasion="brunch")
    with pytest.raises(ValueError, match="unknown season 'XX26'"):
        context_boosts(ds, season="XX26")


def test_season_boosts_collection_and_warmth():
    ds = make_dataset()
    cfg = RuleSet.default().context
    cb = context_boosts(ds, season="FW26", config=cfg)
    parka, gown = ds.product_ids.to_internal_one("parka"), ds.product_ids.to_internal_one("gown")
    assert cb.total[parka] == pytest.approx(cfg.season.collection_boost + cfg.season.warmth_boost)
    assert cb.total[gown] == pytest.approx(cfg.season.collection_boost)  # light piece in winter
    assert season_codes("auto", AS_OF) == (["SS26", "FW26"], "warm")
    assert season_codes("auto", pd.Timestamp("2026-10-01")) == (["FW26", "SS27"], "cold")
    assert season_codes("winter", AS_OF) == ([], "cold")


def test_upcoming_birthday_lifts_giftable_products():
    ds = make_dataset()
    cfg = RuleSet.default().context
    client = ds.client("c0")  # birthday on 6 March; "today" is 1 March
    cb = context_boosts(ds, client_row=client, as_of=AS_OF, config=cfg)
    ring, scent = ds.product_ids.to_internal_one("ring"), ds.product_ids.to_internal_one("scent")
    assert cb.total[ring] == pytest.approx(cfg.dates.boost)
    assert cb.total[scent] == pytest.approx(cfg.dates.boost)
    assert cb.total[ds.product_ids.to_internal_one("parka")] == 0.0
    assert cb.reasons(ring) == (["Birthday in 5 days"], ["For your birthday"])
    later = context_boosts(ds, client_row=client, as_of=pd.Timestamp("2026-03-07"), config=cfg)
    assert not later.total.any()  # next birthday is a year away


def test_days_until_handles_leap_days_and_missing_dates():
    assert days_until(pd.Timestamp("1992-02-29"), pd.Timestamp("2027-02-27")) == 1
    assert days_until(None, AS_OF) is None
    assert days_until(pd.NaT, AS_OF) is None
    assert days_until(pd.Timestamp("1980-03-01"), AS_OF) == 0


def test_color_families():
    assert color_family("Camel") == "neutral tones"
    assert color_family("rose gold") == "metallics"
    assert color_family("acid yellow") == "acid yellow"


# ========================================================= complete the look
def look_dataset() -> Dataset:
    # 4 clients bought the anchor with belt_co and shoe_co; others bought other things.
    buys = []
    for c in ("a", "b", "c", "d"):
        buys += [(c, "anchor"), (c, "belt_co"), (c, "shoe_co")]
    buys += [("e", "belt_attr"), ("f", "shoe_x"), ("g", "scarf"), ("e", "bag_same")]
    return make_dataset(buys)


def test_complete_the_look_returns_only_other_categories():
    ds = look_dataset()
    out = complete_the_look(ds, "anchor", 8)
    assert list(out.columns) == ["product_id", "score", "reason"]
    cats = ds.products.set_index("product_id").loc[out["product_id"], "category"]
    assert "bags" not in set(cats)
    assert "anchor" not in set(out["product_id"])
    assert out["score"].is_monotonic_decreasing


def test_complete_the_look_prefers_co_purchased_products():
    ds = look_dataset()
    out = complete_the_look(ds, "anchor", 4)
    # belt_attr shares designer, colour, material and tags with the anchor, yet the
    # co-purchased belt and loafer come first
    assert set(out["product_id"].tolist()[:2]) == {"belt_co", "shoe_co"}
    assert out["product_id"].iloc[2] == "belt_attr"
    assert all(r.startswith("Often bought with the Black Calfskin Tote") for r in out["reason"][:2])
    counts, score = copurchase_lift(ds, ds.product_ids.to_internal_one("anchor"))
    assert counts[ds.product_ids.to_internal_one("belt_co")] == 4
    assert score[ds.product_ids.to_internal_one("anchor")] == 0.0


def test_complete_the_look_without_history_uses_attributes():
    ds = make_dataset()
    out = complete_the_look(ds, "anchor", 3)
    assert out["product_id"].iloc[0] == "belt_attr"  # same designer, colour, material, tag
    assert "Same designer (A)" in out["reason"].iloc[0]


def test_complete_the_look_respects_allowed_and_category_cap():
    ds = look_dataset()
    allowed = np.ones(len(ds.product_ids), dtype=bool)
    allowed[ds.product_ids.to_internal_one("belt_co")] = False
    out = complete_the_look(ds, "anchor", 10, allowed=allowed, max_per_category=1)
    assert "belt_co" not in set(out["product_id"])
    cats = ds.products.set_index("product_id").loc[out["product_id"], "category"]
    assert cats.value_counts().max() == 1


def test_complete_the_look_unknown_anchor():
    from core.exceptions import UnknownIdError

    with pytest.raises(UnknownIdError, match="unknown product id: 'nope'"):
        complete_the_look(make_dataset(), "nope", 3)


# ================================================================= gift mode
class NoClientScores(Recommender):
    """A model that must not be asked for anyone's scores."""

    def _fit(self, dataset: Dataset, **kwargs: object) -> None:
        pass

    def score_clients(self, client_ids, extra_events=None):  # type: ignore[no-untyped-def]
        raise AssertionError("gift mode must not read a client's scores")


def test_gift_respects_budget():
    ds = make_dataset()
    out = gift_candidates(ds, GiftRecipient(budget_min=300, budget_max=1000), 20)
    prices = ds.products.set_index("product_id").loc[out["product_id"], "price"]
    assert prices.between(300, 1000).all()
    assert set(out["product_id"]) == {"belt_co", "shoe_co", "shoe_x", "scarf"}
    assert all("Within budget (300–1,000 EUR)" in r for r in out["reason"])


def test_gift_matches_described_preferences():
    ds = make_dataset()
    out = gift_candidates(ds, GiftRecipient(colors=("navy",), materials=("silk",)), 3)
    assert out["product_id"].iloc[0] == "scarf"
    assert "a colour the recipient likes" in out["reason"].iloc[0]
    occ = gift_candidates(
        ds, GiftRecipient(occasion="evening"), 1, config=RuleSet.default().context
    )
    assert occ["product_id"].tolist() == ["gown"]


def test_gift_ignores_the_buyers_history():
    recipient = GiftRecipient(designers=("C",), budget_max=10_000)
    plain = gift_candidates(make_dataset(), recipient, 5, popularity_weight=0.0)
    # the buyer has bought many A products: gift mode does not care
    heavy = make_dataset([("buyer", p) for p in ("anchor", "belt_attr", "bag_same")])
    model = NoClientScores().fit(heavy)
    again = gift_candidates(heavy, recipient, 5, model, popularity_weight=0.0)
    pd.testing.assert_frame_equal(plain, again)
    assert again["product_id"].tolist()[:2] == ["ring", "watch"]


def test_gift_recipient_validation():
    with pytest.raises(ValueError, match=r"budget_min \(500\) is above budget_max \(100\)"):
        GiftRecipient(budget_min=500, budget_max=100)
    with pytest.raises(ValueError, match="cannot be negative"):
        GiftRecipient(budget_max=-1)
    assert GiftRecipient(designers="A").designers == ("A",)


def test_gift_uses_product_features_when_the_model_has_them():
    content = pytest.importorskip("core.engine.models.content")
    ds = make_dataset([("c0", "scent")])
    model = content.ContentRecommender().fit(ds)
    out = gift_candidates(ds, GiftRecipient(materials=("gold",), categories=("jewellery",)), 2,
                          model)  # fmt: skip
    assert out["product_id"].iloc[0] == "ring"


def test_attribute_vectors_shape_and_norm():
    ds = make_dataset()
    v = attribute_vectors(ds.products)
    assert v.shape[0] == len(ds.product_ids)
    norms = np.sqrt(np.asarray(v.multiply(v).sum(axis=1)).ravel())
    assert np.allclose(norms, 1.0)
