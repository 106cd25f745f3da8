"""The hybrid's fit over a partitioned event log, on Dask: a product-side model, no client array.

:func:`fit_partitioned` reads each client bucket on a worker (one task per
bucket), builds and keeps its rows of the interaction matrix there
(:mod:`core.engine.scale.blocks`), and sends to the driver only
products-sized sums: normalisation statistics and demand, the passes of the
block SVD (:mod:`core.engine.scale.svd`), the products' client counts, the
binary Gram matrix ``B^T B`` the item neighbours come from, the client
factors' moments, and the rows of a few hundred sampled clients for the fit
report. The driver then learns what the one-process fit learns on the
products side (:meth:`HybridRecommender.learn_products`: content features,
ridge map, factor labels, trend priors).

The result is a :class:`HybridRecommender` whose interactions hold no client
rows (:func:`~core.engine.interactions.products_only_interactions`): a client
is scored from their events, folded in at request time with the fit's
statistics (``extra_events``; :func:`with_clients` gives it the clients'
declared preferences). It is saved in the usual model format, keyed by the
fingerprint of the products side (:func:`core.data.partitioned.products_dataset`)
and a fit id.
"""

from __future__ import annotations

import copy
import dataclasses
import uuid
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.data.partitioned import PartitionedEvents
from core.data.partitioned.reader import products_dataset
from core.engine.cells import AsOf
from core.engine.config import EngineConfig
from core.engine.house import HouseAggregates
from core.engine.interactions import ClientRows, products_only_interactions
from core.engine.models.baselines import (
    gram_block_rows,
    gram_neighbour_rows,
    stack_neighbour_rows,
)
from core.engine.models.blend import binary_rows
from core.engine.models.content import declared_preferences
from core.engine.models.factors import ItemSide, factor_moments, factor_sums
from core.engine.models.fit_report import SAMPLE_CLIENTS, Laps, fit_report
from core.engine.models.hybrid import HybridRecommender
from core.engine.models.persistence import save_model
from core.engine.recent import RecentPerFrame
from core.engine.scale.blocks import (
    BlockInteractions,
    RowBlock,
    block_interactions,
    block_matrix,
    bucket_blocks,
    cells_house,
    cells_transitions,
    product_side,
)
from core.engine.scale.reduce import BlockReducer, Progress, Scheduler
from core.engine.scale.svd import block_svd
from core.engine.transitions import TransitionCounts, next_steps


def column_counts(block: sp.csr_matrix) -> np.ndarray:
    """Rows with a cell per column, shape (n_products,)."""
    return np.bincount(block.indices, minlength=block.shape[1])


@dataclass(frozen=True)
class BinaryBlock:
    """A row block's binary rows ``B`` and their transpose, both csr, float32.

    Built once per block for the item neighbours, so that each block of Gram
    rows is a row slice of ``B^T`` times ``B`` (a column slice of a csr
    matrix would read all of it again for every block of rows). float32
    holds the counts exactly (below 2**24 shared clients per pair and block).
    """

    rows: sp.csr_matrix
    columns: sp.csr_matrix


def binary_block(block: sp.csr_matrix) -> BinaryBlock:
    b = sp.csr_matrix(binary_rows(block), dtype=np.float32)
    return BinaryBlock(b, sp.csr_matrix(b.T))


def binary_gram_rows(block: BinaryBlock, start: int, stop: int) -> sp.csr_matrix:
    """Rows ``start:stop`` of ``B^T B`` of the block's binary rows ``B``, sparse."""
    return sp.csr_matrix(block.columns[start:stop] @ block.rows)


def _gram_top(
    gram: sp.csr_matrix,
    start: int,
    stop: int,
    counts: np.ndarray,
    k_neighbors: int,
    support_shrinkage: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gram rows ``start:stop`` (summed over the blocks) cut to their top neighbours."""
    return gram_neighbour_rows(gram, start, counts, k_neighbors, support_shrinkage)


def _neighbours(mats: BlockReducer, counts: np.ndarray, config: EngineConfig) -> sp.csr_matrix:
    """The item-neighbour matrix, a few blocks of Gram rows (summed over the row blocks) at a time.

    Each block of Gram rows is summed and cut to its top neighbours on the
    cluster; the driver only stacks the cut rows.
    """
    n_products = counts.size
    step = gram_block_rows(n_products)
    binary = mats.map_blocks(binary_block)
    spans = [(start, min(start + step, n_products)) for start in range(0, n_products, step)]
    finish_args = (counts, config.item_neighbours, config.item_shrinkage)
    parts = list(binary.map_sums(binary_gram_rows, spans, _gram_top, finish_args))
    return stack_neighbour_rows(parts, n_products)


def _sample_key(client_ids: np.ndarray, seed: int) -> np.ndarray:
    """A uniform number in [0, 1) per client id, the same wherever it is computed."""
    salt = f"{seed}:".encode()
    return np.array([zlib.crc32(salt + str(c).encode()) / 2**32 for c in client_ids])


def sampled_rows(
    block: RowBlock, rate: float, seed: int
) -> tuple[np.ndarray, np.ndarray, ClientRows]:
    """The block's clients with history drawn at ``rate``: ids, sample keys and their rows."""
    active = np.flatnonzero(np.diff(block.matrix.indptr) > 0)
    keys = _sample_key(block.client_ids[active], seed)
    take = active[keys < rate]
    rows = ClientRows(block.matrix[take], block.strongest[take], block.strength[take])
    return block.client_ids[take], keys[keys < rate], rows


def _report_sample(
    rows: BlockReducer, n_active: int, seed: int
) -> tuple[list[str], ClientRows | None]:
    """About :data:`SAMPLE_CLIENTS` clients with history (their rows), for the fit report."""
    if n_active <= 0:
        return [], None
    rate = min(1.0, 2.0 * SAMPLE_CLIENTS / n_active)  # twice as many, then the lowest keys
    parts = rows.map_collect(sampled_rows, rate, seed)
    ids = np.concatenate([p[0] for p in parts])
    keys = np.concatenate([p[1] for p in parts])
    keep = np.sort(np.argsort(keys, kind="stable")[:SAMPLE_CLIENTS])
    stack = [p[2] for p in parts]
    matrix = sp.csr_matrix(sp.vstack([r.matrix for r in stack], format="csr"))[keep]
    strongest = sp.csr_matrix(sp.vstack([r.strongest for r in stack], format="csr"))[keep]
    strength = np.concatenate([r.strength for r in stack])[keep]
    return [str(c) for c in ids[keep]], ClientRows(matrix, strongest, strength)


def _item_side(
    blocks: BlockInteractions, transitions: TransitionCounts, config: EngineConfig, laps: Laps
) -> ItemSide:
    """Factors, counts, neighbours, factor moments and next steps from products-sized passes."""
    mats = blocks.rows.map_blocks(block_matrix)
    n_clients, n_products = blocks.norm.n_rows, len(blocks.side.product_ids)
    k = max(1, min(config.n_factors, n_clients - 1, n_products - 1))
    counts = mats.map_sum(column_counts)
    if counts.sum() == 0 or n_products < 2 or n_clients < 2:
        factors, singular = np.zeros((n_products, k)), np.zeros(k)
    else:
        svd = block_svd(mats, n_products, k, n_iter=config.svd_n_iter, seed=config.seed)
        factors, singular = svd.item_factors, svd.singular_values
    laps.lap("svd")
    similarity = _neighbours(mats, counts, config)
    laps.lap("neighbours")

    def moments(final: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return factor_moments(mats.map_sum(factor_sums, final))

    sequence = next_steps(transitions, n_products, config.item_neighbours, config.item_shrinkage)
    laps.lap("sequence")
    return ItemSide(factors, singular, counts, similarity, moments, sequence)


def fit_partitioned(
    path: str | Path,
    scheduler: Scheduler = "local",
    config: EngineConfig | None = None,
    *,
    as_of: AsOf = None,
    out: str | Path | None = None,
    validate: bool = False,
    progress: Progress | None = None,
) -> HybridRecommender:
    """Fit the hybrid on a partitioned dataset, bucket by bucket; return (and save) a product-side model.

    Parameters
    ----------
    path : path
        A data folder with partitioned ``events/`` and ``clients/``
        (:mod:`core.data.partitioned`) and products, stores, stock, associates.
    scheduler : "local", "sync", a ``distributed.Client`` or None
        Where the buckets are read and reduced: ``"local"`` in this process,
        ``"sync"`` Dask's synchronous scheduler, a client its cluster
        (:func:`core.engine.scale.cluster.fit_on_dask` opens one from an address).
    config : EngineConfig, optional
    as_of : timestamp-like, optional
        Default: the latest event (from the events manifest) or launch.
    out : path, optional
        Save the model there (atomically; replaced whole).
    validate : bool
        Check each bucket against the contract as it is read.
    progress : callable, optional
        Shows the progress of each Dask step (``distributed.progress``).

    Returns
    -------
    HybridRecommender
        Fitted, without client rows; ``fit_report_["fit_id"]`` names this
        fit (saved with it) and ``dataset_`` is the products side
        (:func:`~core.data.partitioned.reader.products_dataset`).

    Raises
    ------
    DataValidationError
        ``path`` is not a partitioned dataset, or a table breaks the contract.

    Longer than 60 lines for this documentation only; the body is 20 lines.
    """
    config = config or EngineConfig()
    laps = Laps()
    reader = PartitionedEvents(path)
    dataset = products_dataset(reader.path, as_of)
    side = product_side(dataset.products, dataset.stores, config, dataset.as_of)
    cells = bucket_blocks(reader, side, scheduler, validate=validate, progress=progress)
    blocks = block_interactions(cells, side)
    house = HouseAggregates.total(cells.map_collect(cells_house))  # summed once, here
    transitions = cells.map_sum(cells_transitions)
    del cells  # the rows are kept; the cells they came from may go
    laps.lap("interactions")
    item_side = _item_side(blocks, transitions, config, laps)
    inter = products_only_interactions(
        side.product_ids,
        side.store_ids,
        blocks.demand,
        side.as_of,
        config,
        blocks.idf,
        blocks.avg_len,
    )
    model = HybridRecommender(config)
    model.learn_products(dataset, inter, item_side, laps)
    model.house_ = house
    _attach_report(model, blocks, item_side, config, laps)
    if out is not None:
        save_model(model, out)
    return model


def _attach_report(
    model: HybridRecommender,
    blocks: BlockInteractions,
    item_side: ItemSide,
    config: EngineConfig,
    laps: Laps,
) -> None:
    """Give ``model`` its fit report (on a sample of clients), timings and a new fit id."""
    ids, rows = _report_sample(blocks.rows, blocks.norm.active, config.seed)
    model.fit_report_ = fit_report(
        model,
        span_days=blocks.span_days,
        half_life_days=config.half_life_days,
        counts=item_side.counts,
        clients_with_history=blocks.norm.active,
        block_spreads=model.block_spreads(ids, rows),
    )
    laps.lap("report")
    model.fit_timings_ = laps.timings
    model.fit_report_["fit_id"] = uuid.uuid4().hex[:12]


def with_clients(model: HybridRecommender, clients: pd.DataFrame) -> HybridRecommender:
    """A product-side model that also knows some clients' rows (their declared preferences).

    The fitted arrays are shared, not copied. Score these clients with their
    events as ``extra_events``; one without events scores as a client without
    history (declared preferences and priors).
    """
    out = copy.copy(model)
    out.dataset_ = dataclasses.replace(model.dataset_, clients=clients, _derived={})
    out.interactions_ = dataclasses.replace(
        model.interactions_, clients_without_rows=out.dataset_.client_ids
    )
    out._declared = declared_preferences(out.dataset_, model.product_features_)
    out._recent = RecentPerFrame(model._recent.size)
    return out


def read_client(
    model: HybridRecommender, reader: PartitionedEvents, client_id: str
) -> tuple[HybridRecommender, pd.DataFrame]:
    """One client read from the partitioned layout, ready to score with a product-side model.

    Reads the client's row (one or two row groups of their bucket) and
    events (a slice of the bucket's serving copy, or row groups in a layout
    without one; :class:`~core.data.partitioned.PartitionedEvents`).

    Returns
    -------
    model, events
        :func:`with_clients` of the client's row, and the client's events to
        pass as ``extra_events``.

    Raises
    ------
    UnknownIdError
        No client has this id.
    """
    row = pd.DataFrame([reader.client(client_id)])
    return with_clients(model, row), reader.client_events(client_id)
