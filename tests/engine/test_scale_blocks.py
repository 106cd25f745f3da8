"""The interaction matrix built bucket by bucket equals the one-process build, cell for cell."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from core.data.dataset import Dataset, load_dataset
from core.data.partitioned import PartitionedEvents
from core.engine.config import EngineConfig
from core.engine.interactions import Interactions, build_interactions
from core.engine.scale.blocks import (
    BlockInteractions,
    RowBlock,
    block_interactions,
    bucket_blocks,
    product_side,
)
from tests.engine.scale_data import partitioned_maison

N_CLIENTS, N_PRODUCTS, SEED, BUCKETS = 600, 150, 11, 5


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("maison")
    return partitioned_maison(out, N_CLIENTS, N_PRODUCTS, SEED, BUCKETS)


@pytest.fixture(scope="module")
def dataset(folder: Path) -> Dataset:
    return load_dataset(folder)


def _blocked(
    folder: Path, dataset: Dataset, config: EngineConfig, scheduler: str, as_of: object = None
) -> BlockInteractions:
    reader = PartitionedEvents(folder)
    side = product_side(dataset.products, dataset.stores, config, as_of or dataset.as_of)
    return block_interactions(bucket_blocks(reader, side, scheduler), side)


def _stacked(blocks: BlockInteractions, order: pd.Index) -> tuple[sp.csr_matrix, np.ndarray]:
    """Every block's rows stacked, then put in ``order`` (the dataset's client order)."""
    parts: list[RowBlock] = blocks.rows.map_collect(lambda b: b)
    ids = np.concatenate([p.client_ids for p in parts])
    matrix = sp.csr_matrix(sp.vstack([p.matrix for p in parts], format="csr"))
    strength = np.concatenate([p.strength for p in parts])
    where = pd.Index(ids).get_indexer(order)
    assert (where >= 0).all() and len(ids) == len(order)
    return matrix[where], strength[where]


def _assert_same(blocks: BlockInteractions, ref: Interactions) -> None:
    matrix, strength = _stacked(blocks, ref.client_ids.index)
    matrix.sort_indices()
    # the same cells ...
    np.testing.assert_array_equal(matrix.indptr, ref.matrix.indptr)
    np.testing.assert_array_equal(matrix.indices, ref.matrix.indices)
    # ... with the same values, to float32 rounding (sums over blocks add in another order)
    np.testing.assert_allclose(matrix.data, ref.matrix.data, rtol=2e-7, atol=0)
    np.testing.assert_allclose(strength, ref.strength, rtol=1e-12)
    if ref.idf is None:
        assert blocks.idf is None
    else:
        np.testing.assert_allclose(blocks.idf, ref.idf, rtol=1e-14)
    assert blocks.avg_len == pytest.approx(ref.avg_len, rel=1e-12)
    np.testing.assert_allclose(blocks.demand.popularity, ref.popularity, rtol=1e-12)
    np.testing.assert_allclose(blocks.demand.trend, ref.trend, rtol=1e-12)
    for got, want in (
        (blocks.demand.store_popularity, ref.store_popularity_matrix),
        (blocks.demand.store_trend, ref.store_trend_matrix),
    ):
        np.testing.assert_allclose(got.toarray(), want.toarray(), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("normalization", ["bm25", "idf", "none"])
def test_buckets_build_the_matrix_of_build_interactions(
    folder: Path, dataset: Dataset, normalization: str
) -> None:
    config = EngineConfig(item_normalization=normalization)
    blocks = _blocked(folder, dataset, config, "local")
    assert blocks.rows.n_blocks == BUCKETS
    _assert_same(blocks, build_interactions(dataset, config))


def test_on_dask_synchronous_scheduler_and_at_an_earlier_date(
    folder: Path, dataset: Dataset
) -> None:
    config = EngineConfig(confidence="linear", returns_cancel=False)
    cutoff = dataset.as_of - pd.Timedelta(days=60)  # later events are left out
    blocks = _blocked(folder, dataset, config, "sync", as_of=cutoff)
    ref = build_interactions(dataset, config, as_of=cutoff)
    assert ref.matrix.nnz < build_interactions(dataset, config).matrix.nnz
    _assert_same(blocks, ref)


def test_the_span_is_first_event_to_the_fit_date(folder: Path, dataset: Dataset) -> None:
    blocks = _blocked(folder, dataset, EngineConfig(), "local")
    first = dataset.events["timestamp"].min()
    assert blocks.span_days == pytest.approx((dataset.as_of - first) / pd.Timedelta(days=1))
