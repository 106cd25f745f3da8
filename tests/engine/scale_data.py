"""A small generated maison in the partitioned layout, for the scale-out tests."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.dataset import Dataset
from core.data.generate import generate_maison
from core.data.partitioned import write_partitioned
from core.engine.config import EngineConfig
from core.engine.interactions import build_interactions
from core.engine.models.baselines import item_neighbours
from core.engine.models.blend import binary_rows
from core.engine.models.factors import ItemSide, client_factor_moments
from core.engine.models.hybrid import HybridRecommender
from core.engine.scale.fit import with_clients
from core.engine.scale.svd import in_memory_svd
from core.engine.transitions import next_steps


def partitioned_maison(
    out: Path, n_clients: int, n_products: int, seed: int, n_buckets: int
) -> Path:
    """Products, stores, stock and associates as Parquet; clients and events in ``n_buckets``."""
    tables = generate_maison(n_clients, n_products, seed=seed).tables
    for name in ("products", "stores", "stock", "associates"):
        tables[name].to_parquet(out / f"{name}.parquet", index=False)
    write_partitioned([(tables["clients"], tables["events"])], out, n_buckets)
    return out


def one_process_block_fit(dataset: Dataset, config: EngineConfig) -> HybridRecommender:
    """The hybrid fitted in one process with the block SVD (the distributed algorithm)."""
    inter = build_interactions(dataset, config)
    k = min(config.n_factors, inter.matrix.shape[0] - 1, inter.matrix.shape[1] - 1)
    svd = in_memory_svd(inter.matrix, k, n_iter=config.svd_n_iter, seed=config.seed)
    side = ItemSide(
        svd.item_factors,
        svd.singular_values,
        np.bincount(inter.matrix.indices, minlength=inter.matrix.shape[1]),
        item_neighbours(
            binary_rows(inter.matrix),
            config.item_neighbours,
            support_shrinkage=config.item_shrinkage,
        ),
        functools.partial(client_factor_moments, inter.matrix),
        next_steps(
            inter.transitions,
            len(dataset.product_ids),
            config.item_neighbours,
            config.item_shrinkage,
        ),
    )
    ref = HybridRecommender(config)
    ref.learn_products(dataset, inter, side)
    return ref


def clients_with_events(dataset: Dataset, n: int = 6) -> list[str]:
    """``n`` clients with events, from the most active to the least."""
    counts = dataset.events["client_id"].value_counts()
    return [str(c) for c in counts.index[:: max(1, len(counts) // n)][:n]]


def served(
    model: HybridRecommender, dataset: Dataset, client: str
) -> tuple[HybridRecommender, pd.DataFrame]:
    """A product-side model knowing the client's row, and the client's events (read per request)."""
    row = dataset.clients[dataset.clients["client_id"] == client]
    events = dataset.events[dataset.events["client_id"] == client]
    return with_clients(model, row), events
