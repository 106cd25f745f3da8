"""The quality benchmark's peer models on tiny data where their arithmetic is exact.

``benchmarks/`` is not a package: the module is loaded from its file.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

from core.data.dataset import Dataset
from core.data.schema import COLS
from core.engine.evaluation import evaluate, last_n_split, seen_matrix

PEERS_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "quality" / "peers.py"


@pytest.fixture(scope="module")
def peers() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_quality_peers", PEERS_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _shop() -> Dataset:
    """Two tastes: bags (b1-b3) and shoes (s1-s3); c5 also viewed a shoe."""
    products = pd.DataFrame(
        {
            "product_id": ["b1", "b2", "b3", "s1", "s2", "s3"],
            "name": ["black tote", "camel tote", "tote bag", "loafer", "ballet flat", "loafer"],
            "category": ["bags", "bags", "bags", "shoes", "shoes", "shoes"],
            "designer": ["A", "A", "B", "C", "C", "D"],
        }
    )
    rows = [
        ("c1", "b1", "purchase", 0),
        ("c1", "b2", "purchase", 1),
        ("c2", "b1", "purchase", 0),
        ("c2", "b2", "purchase", 2),
        ("c2", "b3", "purchase", 3),
        ("c3", "s1", "purchase", 0),
        ("c3", "s2", "purchase", 1),
        ("c4", "s1", "purchase", 1),
        ("c4", "s3", "purchase", 2),
        ("c5", "b1", "purchase", 1),
        ("c5", "s2", "view", 2),
    ]
    events = pd.DataFrame(rows, columns=[COLS.client_id, COLS.product_id, "event_type", "day"])
    events["timestamp"] = pd.Timestamp("2026-01-01") + pd.to_timedelta(events.pop("day"), "D")
    return Dataset.from_frames(products, events)


def test_peers_fit_on_the_binary_seen_matrix(peers: ModuleType) -> None:
    ds = _shop()
    model = peers.PureSVDPeer(n_factors=2).fit(ds)
    np.testing.assert_array_equal(model.matrix_.toarray(), seen_matrix(ds).toarray())
    assert model.matrix_[4].toarray().tolist() == [[1.0, 0.0, 0.0, 0.0, 1.0, 0.0]]  # a view counts
    extra = pd.DataFrame({"client_id": ["c1"], "product_id": ["s1"], "event_type": ["view"]})
    with pytest.raises(ValueError, match="does not fold in"):
        model.score_clients(["c1"], extra)


def test_ease_is_the_closed_form(peers: ModuleType) -> None:
    ds = _shop()
    model = peers.EASEPeer(lambda_=2.0).fit(ds)
    x = seen_matrix(ds).toarray()
    p = np.linalg.inv(x.T @ x + 2.0 * np.eye(6))
    b = -p / np.diag(p)[None, :]
    np.fill_diagonal(b, 0.0)
    np.testing.assert_allclose(model.weights_, b, atol=1e-12)
    np.testing.assert_allclose(model.score_clients(["c1", "c3"]), x[[0, 2]] @ b, atol=1e-12)
    # beyond max_items, the least popular products are not modelled and rank last
    small = peers.EASEPeer(lambda_=2.0, max_items=2).fit(ds)
    assert sorted(ds.product_ids.to_external(small.items_)) == ["b1", "b2"]
    assert (small.score_clients(["c3"])[0, 2:] < -1e5).all()


def test_puresvd_scores_are_x_v_vt(peers: ModuleType) -> None:
    ds = _shop()
    model = peers.PureSVDPeer(n_factors=3, seed=1).fit(ds)
    v = model.item_factors_
    np.testing.assert_allclose(v.T @ v, np.eye(3), atol=1e-8)  # orthonormal columns
    x = seen_matrix(ds).toarray()
    np.testing.assert_allclose(model.score_clients(["c2"]), x[[1]] @ v @ v.T, atol=1e-12)
    again = peers.PureSVDPeer(n_factors=3, seed=1).fit(ds)
    np.testing.assert_array_equal(again.item_factors_, v)


def test_content_profile_is_the_mean_tfidf_row(peers: ModuleType) -> None:
    ds = _shop()
    model = peers.TfidfContentPeer().fit(ds)
    f = model.features_.toarray()
    np.testing.assert_allclose(np.linalg.norm(f, axis=1), 1.0)
    docs = peers.product_documents(ds.products)
    assert docs[0] == ["black", "tote", "category=bags", "designer=a"]
    expected = (f[0] + f[1]) / 2 @ f.T
    np.testing.assert_allclose(model.score_clients(["c1"])[0], expected, atol=1e-12)
    # a bag buyer's best unseen product is the third bag
    report = evaluate(
        {"content": peers.TfidfContentPeer}, split=last_n_split(ds, 1, 0, min_train_items=1)
    )
    assert report.metrics.loc["content", "Recall@10"] > 0


def test_blend_is_a_mix_of_per_client_zscores(peers: ModuleType) -> None:
    z = peers.row_zscores(np.array([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]]))
    np.testing.assert_allclose(z[0], [-np.sqrt(1.5), 0.0, np.sqrt(1.5)])
    np.testing.assert_array_equal(z[1], [0.0, 0.0, 0.0])
    ds = _shop()
    svd = peers.PureSVDPeer(n_factors=2, seed=0).fit(ds)
    content = peers.TfidfContentPeer().fit(ds)
    blend = peers.SVDContentBlendPeer(n_factors=2, content_weight=0.25, seed=0).fit(ds)
    ids = ["c1", "c4", "c5"]
    expected = 0.75 * peers.row_zscores(svd.score_clients(ids)) + 0.25 * peers.row_zscores(
        content.score_clients(ids)
    )
    np.testing.assert_allclose(blend.score_clients(ids), expected, atol=1e-12)


def test_ials_is_seeded(peers: ModuleType) -> None:
    pytest.importorskip("implicit")
    ds = _shop()
    a = peers.IALSPeer(factors=2, iterations=3, seed=4).fit(ds)
    b = peers.IALSPeer(factors=2, iterations=3, seed=4).fit(ds)
    np.testing.assert_array_equal(a.score_clients(["c1", "c3"]), b.score_clients(["c1", "c3"]))
    assert a.score_clients(["c1"]).shape == (1, 6)
