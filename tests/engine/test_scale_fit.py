"""The hybrid fitted bucket by bucket (Dask's synchronous scheduler): a product-side model.

Two references. The one-process run of the same algorithm (the block SVD on
the whole matrix, the same neighbours and moments) must give the same
recommendations and explanations to float rounding. The usual in-memory fit
factorises with scikit-learn's randomized SVD instead: a different random
method, whose leading factors agree with ours but whose trailing ones -- where
the spectrum is flat -- are not pinned by either method, so against it the
spectra and the leading subspace are compared, not individual scores.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data.dataset import Dataset, load_dataset
from core.data.partitioned import PartitionedEvents
from core.data.partitioned.reader import products_dataset
from core.engine.config import EngineConfig
from core.engine.models.hybrid import HybridRecommender
from core.engine.models.persistence import load_model
from core.engine.scale.fit import fit_partitioned, read_client
from core.exceptions import DataValidationError, UnknownIdError
from tests.engine.scale_data import (
    clients_with_events,
    one_process_block_fit,
    partitioned_maison,
    served,
)

N_CLIENTS, N_PRODUCTS, SEED, BUCKETS = 800, 200, 11, 4
CONFIG = EngineConfig()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("maison")
    return partitioned_maison(out, N_CLIENTS, N_PRODUCTS, SEED, BUCKETS)


@pytest.fixture(scope="module")
def dataset(folder: Path) -> Dataset:
    return load_dataset(folder)


@pytest.fixture(scope="module")
def model(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> HybridRecommender:
    out = tmp_path_factory.mktemp("model") / "scale"
    return fit_partitioned(folder, "sync", CONFIG, out=out)


@pytest.fixture(scope="module")
def same_algorithm(dataset: Dataset) -> HybridRecommender:
    return one_process_block_fit(dataset, CONFIG)


def test_the_model_holds_no_client_array(model: HybridRecommender) -> None:
    inter = model.interactions_
    assert inter.matrix.shape[0] == 0 and inter.strength.size == 0
    assert len(model.dataset_.clients) == 0 and len(model.dataset_.events) == 0
    n_products = len(model.dataset_.product_ids)
    assert model.item_factors_.shape[0] == n_products
    assert model.item_similarity_.shape == (n_products, n_products)


def test_recommendations_and_explanations_equal_the_one_process_run(
    model: HybridRecommender, same_algorithm: HybridRecommender, dataset: Dataset
) -> None:
    np.testing.assert_allclose(model.item_factors_, same_algorithm.item_factors_, atol=1e-8)
    assert (model.item_similarity_ != same_algorithm.item_similarity_).nnz == 0
    for client in clients_with_events(dataset):
        view, events = served(model, dataset, client)
        got = view.recommend(client, 10, extra_events=events)
        want = same_algorithm.recommend(client, 10)
        assert got["product_id"].tolist() == want["product_id"].tolist(), client
        np.testing.assert_allclose(got["score"], want["score"], rtol=1e-6, atol=1e-9)
        items = got["product_id"].tolist()[:3]
        mine = view.explain_many(client, items, extra_events=events)
        theirs = same_algorithm.explain_many(client, items)
        for a, b in zip(mine, theirs, strict=True):
            assert a.total == pytest.approx(a.score, rel=1e-9, abs=1e-9)
            assert a.score == pytest.approx(b.score, rel=1e-6, abs=1e-9)
            assert [c.source for c in a.contributions[:5]] == [
                c.source for c in b.contributions[:5]
            ]


def test_a_client_read_from_the_layout_scores_as_in_the_one_process_run(
    model: HybridRecommender, same_algorithm: HybridRecommender, dataset: Dataset, folder: Path
) -> None:
    reader = PartitionedEvents(folder)
    for client in clients_with_events(dataset, 3):
        view, events = read_client(model, reader, client)
        got = view.recommend(client, 10, extra_events=events)
        want = same_algorithm.recommend(client, 10)
        assert got["product_id"].tolist() == want["product_id"].tolist(), client
        np.testing.assert_allclose(got["score"], want["score"], rtol=1e-6, atol=1e-9)
    with pytest.raises(UnknownIdError, match="nobody"):
        read_client(model, reader, "nobody")


def test_against_the_in_memory_fit_spectra_and_leading_factors_agree(
    model: HybridRecommender, dataset: Dataset
) -> None:
    ref = HybridRecommender(CONFIG).fit(dataset)
    np.testing.assert_allclose(model.singular_values_[:10], ref.singular_values_[:10], rtol=0.01)
    # The leading factors, up to the widest gap among the first ten singular values,
    # span the same subspace: every principal angle ~ 0 (within the subspace the
    # factors may rotate where singular values are close).
    sv = ref.singular_values_[:10]
    lead = 3 + int(np.argmax(sv[2:-1] / sv[3:]))
    known = ref.known_products_
    a, b = ref.item_factors_[known, :lead], model.item_factors_[known, :lead]
    cosines = np.linalg.svd(np.linalg.qr(a)[0].T @ np.linalg.qr(b)[0], compute_uv=False)
    assert cosines.min() > 0.999
    # What does not depend on the SVD is the same.
    assert (model.item_similarity_ != ref.item_similarity_).nnz == 0
    np.testing.assert_array_equal(model.known_products_, ref.known_products_)
    np.testing.assert_allclose(model.trend_, ref.trend_, rtol=1e-12)
    np.testing.assert_allclose(model.ridge_intercept_.shape, ref.ridge_intercept_.shape)
    for key in ("clients_with_history", "products_with_interactions", "popularity_gini"):
        assert model.fit_report_[key] == ref.fit_report_[key]
    assert model.fit_report_["span_days"] == pytest.approx(ref.fit_report_["span_days"])


def test_saved_atomically_keyed_by_the_products_and_a_fit_id(
    model: HybridRecommender, folder: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    out = tmp_path_factory.mktemp("again") / "scale"
    fitted = fit_partitioned(folder, "sync", CONFIG, out=out)
    meta = json.loads((out / "model.json").read_text())
    products = products_dataset(folder)
    assert meta["fingerprint"] == products.fingerprint
    assert meta["state"]["report"]["fit_id"] == fitted.fit_report_["fit_id"]
    assert fitted.fit_report_["fit_id"] != model.fit_report_["fit_id"]
    assert [p.name for p in out.parent.iterdir()] == ["scale"]  # no temporary folder left
    loaded = load_model(out, products)
    assert isinstance(loaded, HybridRecommender)
    events = pd.DataFrame(
        {"client_id": ["new"], "product_id": [str(products.products["product_id"].iloc[3])],
         "event_type": ["purchase"]}
    )  # fmt: skip
    np.testing.assert_allclose(
        loaded.score_clients(["new"], events), fitted.score_clients(["new"], events), rtol=1e-12
    )


def test_a_folder_without_the_layout_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="partitioned events/ and clients/"):
        fit_partitioned(tmp_path, "sync")
