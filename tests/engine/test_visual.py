"""The visual block: image embeddings as content features, exact in scores and explanations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data.dataset import Dataset
from core.data.embeddings import EMBEDDINGS_TABLE
from core.data.generate import generate_maison
from core.engine.config import EngineConfig
from core.engine.features import ProductFeatures
from core.engine.models.content import ContentRecommender
from core.engine.models.hybrid import HybridRecommender
from core.engine.models.persistence import load_model, save_model
from core.suggest.reasons import associate_reasons

ONLY_VISUAL = EngineConfig(
    attribute_weight=0.0, tag_weight=0.0, text_weight=0.0, price_weight=0.0, flag_weight=0.0
)
CONFIG = EngineConfig(n_factors=8, seed=5)


def test_visual_block_is_the_cosine_of_the_vectors() -> None:
    products = pd.DataFrame({"product_id": ["a", "b", "c"], "color": ["red", "red", "blue"]})
    vectors = np.array([[3.0, 4.0], [4.0, 3.0], [0.0, 0.0]])
    pf = ProductFeatures(ONLY_VISUAL).fit(products, vectors)
    f = pf.transform(products, vectors)
    assert list(pf.feature_names_[-2:]) == ["visual:0", "visual:1"]
    np.testing.assert_allclose((f @ f.T).toarray()[:2, :2], [[1.0, 0.96], [0.96, 1.0]])
    assert f[2].nnz == 0  # no vector, no visual feature (and no other here)
    # With attributes too, the visual block weighs visual_weight against them.
    both = EngineConfig(attribute_weight=1.0, visual_weight=1.0)
    g = ProductFeatures(both).fit(products, vectors).transform(products, vectors)
    cos = (g @ g.T).toarray()
    np.testing.assert_allclose(cos[0, 1], (1.0 + 0.96) / 2)  # same colour, images 0.96 alike
    np.testing.assert_allclose(cos[0, 2], 0.0)


def test_without_embeddings_the_features_are_unchanged() -> None:
    products = pd.DataFrame({"product_id": ["a", "b"], "color": ["red", "blue"]})
    plain = ProductFeatures().fit(products)
    empty = ProductFeatures().fit(products, np.zeros((2, 0)))
    assert plain.visual_dim_ == empty.visual_dim_ == 0
    a, b = plain.transform(products), empty.transform(products, np.zeros((2, 0)))
    assert (a != b).nnz == 0 and list(plain.feature_names_) == list(empty.feature_names_)
    with pytest.raises(ValueError, match="shape"):
        ProductFeatures().fit(products, np.ones((2, 3))).transform(products, np.ones((2, 4)))


@pytest.fixture(scope="module")
def maison_tables() -> dict[str, pd.DataFrame]:
    return dict(generate_maison(n_clients=200, n_products=120, seed=2, embeddings=True).tables)


@pytest.fixture(scope="module")
def with_images(maison_tables: dict[str, pd.DataFrame]) -> Dataset:
    return Dataset.from_frames(**maison_tables)


@pytest.fixture(scope="module")
def without_images(maison_tables: dict[str, pd.DataFrame]) -> Dataset:
    tables = {k: v for k, v in maison_tables.items() if k != EMBEDDINGS_TABLE}
    return Dataset.from_frames(**tables)


def test_a_dataset_without_the_table_scores_as_with_visual_weight_zero(
    with_images: Dataset, without_images: Dataset
) -> None:
    clients = without_images.clients["client_id"].tolist()[:40]
    plain = HybridRecommender(CONFIG).fit(without_images).score_clients(clients)
    muted = (
        HybridRecommender(CONFIG.model_copy(update={"visual_weight": 0.0}))
        .fit(with_images)
        .score_clients(clients)
    )
    np.testing.assert_allclose(muted, plain, rtol=1e-9, atol=1e-12)
    visual = HybridRecommender(CONFIG).fit(with_images).score_clients(clients)
    assert not np.allclose(visual, plain)


@pytest.mark.parametrize("cls", [HybridRecommender, ContentRecommender], ids=lambda c: c.__name__)
def test_explanations_carry_one_visual_part_and_add_up(cls: type, with_images: Dataset) -> None:
    model = cls(CONFIG).fit(with_images)
    client = str(with_images.events["client_id"].iloc[0])
    products = with_images.products["product_id"].astype(str).tolist()[:30]
    scores = model.score_clients([client])[0][:30]
    history = set(with_images.events.loc[with_images.events["client_id"] == client, "product_id"])
    seen = 0
    for pid, score in zip(products, scores, strict=True):
        e = model.explain(client, pid)
        assert e.total == pytest.approx(score, rel=1e-9, abs=1e-9)
        visual = [c for c in e.contributions if c.kind == "visual"]
        assert len(visual) <= 1
        assert not any(c.source.startswith("visual:") for c in e.contributions)
        # Named by the past piece that looks most like it (never the product itself).
        assert all(c.source in history and c.source != pid for c in visual)
        seen += len(visual)
    assert seen > 0


def test_the_reason_names_the_piece_it_looks_like(with_images: Dataset) -> None:
    model = HybridRecommender(CONFIG.model_copy(update={"visual_weight": 6.0})).fit(with_images)
    client = str(with_images.events["client_id"].iloc[0])
    top = model.recommend(client, 10)["product_id"].astype(str)
    reasons = [
        r
        for pid in top
        for r in associate_reasons(model.explain(client, pid), with_images, n=6, pronoun="she")
    ]
    names = set(with_images.products["name"])
    said = [r for r in reasons if r.startswith("Visually close to the ")]
    assert said and all(r.removeprefix("Visually close to the ") in names for r in said)


def test_similar_products_mix_in_the_images(with_images: Dataset) -> None:
    model = HybridRecommender(CONFIG).fit(with_images)
    anchor = 0
    sims = model._similarity_row(anchor)
    factor = model._unit_factors @ model._unit_factors[anchor]
    content = (model.features_ @ model.features_[anchor].T).toarray().ravel()
    e = with_images.embeddings
    np.testing.assert_allclose(sims, (factor + content + e @ e[anchor]) / 3.0)


def test_round_trip_keeps_the_visual_block(with_images: Dataset, tmp_path: Path) -> None:
    model = HybridRecommender(CONFIG).fit(with_images)
    save_model(model, tmp_path / "model")
    loaded = load_model(tmp_path / "model", with_images)
    assert loaded.product_features_.visual_dim_ == model.product_features_.visual_dim_ == 32
    clients = with_images.clients["client_id"].tolist()[:20]
    np.testing.assert_array_equal(loaded.score_clients(clients), model.score_clients(clients))
    client, product = clients[3], str(with_images.products["product_id"].iloc[7])
    assert loaded.explain(client, product) == model.explain(client, product)
