"""Similar pieces ("looks like"): the anchor's category, the model's similarity, the client's rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data.dataset import Dataset
from core.data.generate import generate_maison
from core.engine.config import EngineConfig
from core.engine.models.hybrid import HybridRecommender
from core.exceptions import UnknownIdError
from core.suggest.catalogue import Catalogue
from core.suggest.pipeline import Suggester
from core.suggest.rerank.similar import similar_pieces
from core.suggest.results import IDEA_COLUMNS
from core.suggest.rules import RuleSet

PIDS = ["tote", "cabas", "clutch", "hobo", "pumps"]


class FixedSimilarity:
    """A model whose similarity to any anchor is the given row (its own entry set to -inf)."""

    def __init__(self, dataset: Dataset, row: list[float]) -> None:
        self.dataset, self.row = dataset, np.asarray(row, dtype=float)

    def product_similarities(self, product_id: str) -> np.ndarray:
        out = self.row.copy()
        out[self.dataset.product_ids.to_internal_one(product_id)] = -np.inf
        return out


def tiny(embeddings: bool = False) -> Dataset:
    products = pd.DataFrame(
        {
            "product_id": PIDS,
            "name": ["Calfskin tote", "Canvas cabas", "Satin clutch", "Suede hobo", "Satin pumps"],
            "category": ["bags", "bags", "bags", "bags", "shoes"],
            "designer": ["Halden", "Nordvik", "Halden", "Nordvik", "Halden"],
            "material": ["calfskin", "canvas", "satin", "calfskin", "satin"],
            "color": ["black", "fuchsia", "black", "emerald", "black"],
            "price": [2500.0, 900, 1200, 2000, 800],
        }
    )
    t = pd.Timestamp("2026-01-10")
    events = pd.DataFrame(
        {
            "client_id": ["c1", "c2"],
            "product_id": ["tote", "hobo"],
            "event_type": ["purchase", "purchase"],
            "timestamp": [t, t],
        }
    )
    vectors = None
    if embeddings:  # the clutch is drawn like the tote, the others far from it
        rows = {"tote": [1, 0, 0], "cabas": [0, 1, 0], "clutch": [0.95, 0.1, 0], "hobo": [0, 0, 1]}
        rows["pumps"] = [1, 0, 0]
        vectors = pd.DataFrame(
            {
                "product_id": list(rows),
                "embedding": [np.asarray(v, dtype=float) for v in rows.values()],
            }
        )
    return Dataset.from_frames(products, events, product_embeddings=vectors)


def test_the_anchors_category_by_similarity_ties_in_catalogue_order() -> None:
    ds = tiny()
    model = FixedSimilarity(ds, [0.9, 0.2, 0.5, 0.5, 0.99])
    out = similar_pieces(ds, model, "tote", k=10)
    assert out["product_id"].tolist() == ["clutch", "hobo", "cabas"]  # never the pumps (shoes)
    assert out["score"].tolist() == pytest.approx([0.5, 0.5, 0.2])
    assert similar_pieces(ds, model, "tote", k=1)["product_id"].tolist() == ["clutch"]
    allowed = np.array([True, True, False, True, True])
    assert similar_pieces(ds, model, "tote", allowed=allowed)["product_id"].tolist() == [
        "hobo",
        "cabas",
    ]
    with pytest.raises(UnknownIdError):
        similar_pieces(ds, model, "ghost")


def test_each_piece_says_what_it_shares_with_the_anchor() -> None:
    ds = tiny()
    reasons = similar_pieces(ds, FixedSimilarity(ds, [0.9, 0.2, 0.5, 0.4, 0]), "tote").set_index(
        "product_id"
    )["reason"]
    assert reasons["clutch"] == "Same colour family (neutral tones) · Same designer (Halden)"
    assert reasons["hobo"] == "Also in calfskin"
    assert reasons["cabas"] == "Close to the Calfskin tote"
    with_images = tiny(embeddings=True)
    seen = similar_pieces(
        with_images, FixedSimilarity(with_images, [0.9, 0.2, 0.5, 0.4, 0]), "tote"
    )
    reasons = seen.set_index("product_id")["reason"]
    assert reasons["clutch"].startswith("Looks like the Calfskin tote (from the product images)")
    assert not reasons["hobo"].startswith("Looks like")


@pytest.fixture(scope="module")
def maison() -> Dataset:
    m = generate_maison(n_clients=800, n_products=300, seed=3, embeddings=True)
    return Dataset.from_frames(**m.tables)


def test_planted_looks_are_found_far_above_chance(maison: Dataset) -> None:
    """With the planted image vectors, similar pieces share colour or material far above chance."""
    model = HybridRecommender(EngineConfig(n_factors=8, seed=1)).fit(maison)
    cat = Catalogue.of(maison)
    col, mat = cat.column("products", "color"), cat.column("products", "material")
    codes = cat.category_codes[0]
    hits, chance = [], []
    for a in range(0, 300, 10):
        out = similar_pieces(maison, model, str(maison.product_ids.to_external([a])[0]), k=5)
        idx = maison.product_ids.to_internal(out["product_id"].tolist())
        assert (codes[idx] == codes[a]).all() and a not in idx
        share = (col[idx] == col[a]) | (mat[idx] == mat[a])
        hits.append(share.mean())
        same = np.flatnonzero(codes == codes[a])
        same = same[same != a]
        chance.append(((col[same] == col[a]) | (mat[same] == mat[a])).mean())
    assert np.mean(hits) > 2 * np.mean(chance)


def test_the_suggester_keeps_to_the_clients_rules(maison: Dataset) -> None:
    model = HybridRecommender(EngineConfig(n_factors=8, seed=1)).fit(maison)
    s = Suggester(model, maison, RuleSet.default())
    buys = maison.events[maison.events["event_type"] == "purchase"]
    client, anchor = str(buys["client_id"].iloc[0]), str(buys["product_id"].iloc[0])
    first = s.similar(client, anchor, 6)
    assert list(first.columns) == list(IDEA_COLUMNS) and len(first) == 6
    assert anchor not in set(first["product_id"])
    gone = str(first["product_id"].iloc[0])
    again = s.similar(client, anchor, 6, removed_products=[gone])
    assert gone not in set(again["product_id"])
    bought = set(buys.loc[buys["client_id"] == client, "product_id"].astype(str))
    assert not bought & set(again["product_id"])


def test_complete_the_look_reads_the_images_when_the_house_has_them() -> None:
    from core.suggest.rerank.look import complete_the_look

    products = pd.DataFrame(
        {
            "product_id": ["tote", "pumps", "mules"],
            "name": ["Calfskin tote", "Satin pumps", "Satin mules"],
            "category": ["bags", "shoes", "shoes"],
            "material": ["calfskin", "satin", "satin"],
            "color": ["black", "fuchsia", "fuchsia"],
            "price": [2500.0, 800, 800],
        }
    )
    t = pd.Timestamp("2026-01-10")
    events = pd.DataFrame(
        {"client_id": ["c1"], "product_id": ["tote"], "event_type": ["purchase"], "timestamp": [t]}
    )
    plain = complete_the_look(Dataset.from_frames(products, events), "tote", 2)
    assert plain["score"].tolist()[0] == pytest.approx(plain["score"].tolist()[1])  # a tie
    vectors = pd.DataFrame(
        {
            "product_id": ["tote", "pumps", "mules"],
            "embedding": [np.array([1.0, 0, 0]), np.array([0, 1.0, 0]), np.array([0.9, 0.1, 0])],
        }
    )
    seen = complete_the_look(
        Dataset.from_frames(products, events, product_embeddings=vectors), "tote", 2
    )
    assert seen["product_id"].tolist() == ["mules", "pumps"]
    assert "Matches its look (from the product images)" in seen["reason"].iloc[0]
    assert "Matches its look" not in seen["reason"].iloc[1]
