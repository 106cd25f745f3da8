"""Item factors shrunk towards their content's prediction, by support (``factor_shrinkage``)."""

from __future__ import annotations

import numpy as np
import pytest

from core.data.dataset import Dataset
from core.data.generate import generate_maison
from core.engine.config import EngineConfig
from core.engine.models.factors import shrink_to_content
from core.engine.models.hybrid import HybridRecommender


def test_shrink_to_content_weighs_own_factors_by_support() -> None:
    own = np.array([[9.0, 9.0], [2.0, 0.0], [4.0, 4.0], [10.0, -10.0]])
    predicted = np.array([[1.0, 1.0], [0.0, 2.0], [0.0, 0.0], [0.0, 0.0]])
    counts = np.array([0, 1, 3, 50])
    out = shrink_to_content(own, predicted, counts, shrinkage=1.0)
    # keep = n / (n + 1): 0 (untouched: the prediction alone), 1/2, 3/4, 50/51
    expected = np.array([[1.0, 1.0], [1.0, 1.0], [3.0, 3.0], [10.0 * 50 / 51, -10.0 * 50 / 51]])
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-12)


def test_no_shrinkage_keeps_own_factors_of_touched_products_only() -> None:
    own = np.array([[5.0], [7.0]])
    predicted = np.array([[1.0], [2.0]])
    out = shrink_to_content(own, predicted, np.array([4, 0]), shrinkage=0.0)
    np.testing.assert_array_equal(out, [[5.0], [2.0]])


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return Dataset.from_frames(**generate_maison(n_clients=500, n_products=200, seed=5).tables)


@pytest.fixture(scope="module")
def pair(dataset: Dataset) -> tuple[HybridRecommender, HybridRecommender]:
    base = EngineConfig(seed=2)
    own = HybridRecommender(base.with_updates(factor_shrinkage=0.0)).fit(dataset)
    shrunk = HybridRecommender(base.with_updates(factor_shrinkage=20.0)).fit(dataset)
    return own, shrunk


def test_the_hybrid_mixes_own_and_predicted_factors_by_support(
    pair: tuple[HybridRecommender, HybridRecommender],
) -> None:
    own, shrunk = pair
    # The ridge map is learnt on the SVD's own factors either way.
    np.testing.assert_allclose(shrunk.ridge_coef_, own.ridge_coef_, atol=1e-12)
    counts = np.bincount(
        own.interactions_.matrix.indices, minlength=own.item_factors_.shape[0]
    ).astype(float)
    predicted = np.asarray(shrunk.features_ @ shrunk.ridge_coef_) + shrunk.ridge_intercept_
    keep = (counts / (counts + 20.0))[:, None]
    np.testing.assert_allclose(
        shrunk.item_factors_, keep * own.item_factors_ + (1 - keep) * predicted, atol=1e-10
    )
    # A product few clients touched moved most, a best-seller least.
    moved = np.linalg.norm(shrunk.item_factors_ - own.item_factors_, axis=1)
    touched = counts > 0
    rare, common = np.argmin(np.where(touched, counts, np.inf)), np.argmax(counts)
    assert moved[rare] / np.linalg.norm(own.item_factors_[rare] - predicted[rare]) > 0.5
    assert moved[common] / np.linalg.norm(own.item_factors_[common] - predicted[common]) < 0.3
    # The fit report says how much of a typical product's factors are its own.
    assert shrunk.fit_report_["own_factor_share_median"] == pytest.approx(
        float(np.median(counts[touched] / (counts[touched] + 20.0)))
    )
    assert own.fit_report_["own_factor_share_median"] == 1.0


def test_explanations_still_add_up_with_shrunk_factors(
    pair: tuple[HybridRecommender, HybridRecommender], dataset: Dataset
) -> None:
    _, shrunk = pair
    client = str(dataset.events["client_id"].iloc[0])
    top = shrunk.recommend(client, 5, exclude_seen=True)
    explained = shrunk.explain_many(client, top["product_id"].tolist())
    for explanation, score in zip(explained, top["score"], strict=True):
        assert explanation.score == pytest.approx(score, abs=1e-9)
        assert sum(c.value for c in explanation.contributions) == pytest.approx(score, abs=1e-9)
