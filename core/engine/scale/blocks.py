"""The interaction matrix as row blocks, one per client bucket, built where the bucket is read.

A bucket of the partitioned layout (:mod:`core.data.partitioned`) holds
whole clients, so its rows are built by the one-process arithmetic
(:func:`core.engine.cells.event_block`) and only what is global is
summed over blocks: the normalisation statistics (:class:`NormSums`), the
demand per product and store (:class:`Demand`) and the oldest event. Then
each block is normalised with the fit's idf and BM25 length
(:func:`core.engine.cells.finalize_values`). Stacked in client order, the
blocks are :func:`~core.engine.interactions.build_interactions`' matrix.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.data.ids import IdMap
from core.data.partitioned import PartitionedEvents
from core.data.values import TimeLike
from core.engine.cells import (
    CellValues,
    Demand,
    NormSums,
    event_block,
    finalize_values,
    fit_date,
)
from core.engine.config import EngineConfig
from core.engine.house import HouseAggregates, bucket_house
from core.engine.models.fit_report import span_days
from core.engine.scale.reduce import (
    BlockReducer,
    DaskReducer,
    LocalReducer,
    Progress,
    Scheduler,
)
from core.engine.transitions import TransitionCounts


@dataclass(frozen=True)
class ProductSide:
    """What every block needs of the products side: small, sent to each task."""

    product_ids: IdMap
    store_ids: IdMap
    as_of: pd.Timestamp
    config: EngineConfig


@dataclass(frozen=True)
class BucketCells:
    """A bucket's cells before normalisation, and its share of the global sums.

    Attributes
    ----------
    client_ids : ndarray of str
        The bucket's clients, in row order (by id).
    values : CellValues
    norm : NormSums
    demand : Demand
    span_days : float
        Age of the bucket's oldest event on or before ``as_of`` (0 without events).
    house : HouseAggregates
        The bucket's share of the house's popularity, store sales and co-purchases.
    transitions : TransitionCounts
        What the bucket's clients bought next.
    """

    client_ids: np.ndarray
    values: CellValues
    norm: NormSums
    demand: Demand
    span_days: float
    house: HouseAggregates
    transitions: TransitionCounts


@dataclass(frozen=True)
class RowBlock:
    """Normalised matrix rows of a bucket's clients.

    Attributes
    ----------
    client_ids : ndarray of str
    matrix : csr_matrix, shape (n_rows, n_products), float32
    strongest : csr_matrix, shape (n_rows, n_products), int8
    strength : ndarray, shape (n_rows,)
    """

    client_ids: np.ndarray
    matrix: sp.csr_matrix
    strongest: sp.csr_matrix
    strength: np.ndarray


def frame_cells(events: pd.DataFrame, clients: pd.DataFrame, side: ProductSide) -> BucketCells:
    """The :class:`BucketCells` of some whole clients (``clients``) and all their ``events``."""
    ids = IdMap(clients["client_id"], "client")
    block = event_block(
        events, clients, ids, side.product_ids, side.store_ids, side.as_of, side.config
    )
    span = span_days(events["timestamp"], side.as_of) if len(events) else 0.0
    house = bucket_house(events, side.product_ids, side.store_ids, side.as_of)
    return BucketCells(
        ids.external_ids, block.values, block.norm, block.demand, span, house, block.transitions
    )


def bucket_cells(source: tuple[PartitionedEvents, int, bool], side: ProductSide) -> BucketCells:
    """Read one bucket (``(reader, bucket, validate)``) and build its cells."""
    reader, bucket, validate = source
    events, clients = reader.read_bucket(bucket, validate=validate)
    return frame_cells(events, clients, side)


def cells_norm(block: BucketCells) -> NormSums:
    return block.norm


def cells_demand(block: BucketCells) -> Demand:
    return block.demand


def cells_span(block: BucketCells) -> float:
    return block.span_days


def cells_house(block: BucketCells) -> HouseAggregates:
    return block.house


def cells_transitions(block: BucketCells) -> TransitionCounts:
    return block.transitions


def finalize_block(
    block: BucketCells, side: ProductSide, idf: np.ndarray | None, avg_len: float
) -> RowBlock:
    """A bucket's rows normalised with the fit's statistics."""
    rows = finalize_values(block.values, len(side.product_ids), side.config, idf, avg_len)
    return RowBlock(block.client_ids, rows.matrix, rows.strongest, rows.strength)


def block_matrix(block: RowBlock) -> sp.csr_matrix:
    return block.matrix


@dataclass(frozen=True)
class BlockInteractions:
    """The interaction matrix held as row blocks, and its global statistics.

    Attributes
    ----------
    side : ProductSide
    rows : BlockReducer
        Over :class:`RowBlock` (one per bucket).
    norm : NormSums
        Summed over blocks.
    idf, avg_len : ndarray or None, float
        The fit's normalisation statistics.
    demand : Demand
        Summed over blocks.
    span_days : float
        First event to ``as_of``.
    """

    side: ProductSide
    rows: BlockReducer
    norm: NormSums
    idf: np.ndarray | None
    avg_len: float
    demand: Demand
    span_days: float


def block_interactions(cells: BlockReducer, side: ProductSide) -> BlockInteractions:
    """Reduce the global statistics over ``cells`` (of :class:`BucketCells`) and normalise each block."""
    norm = cells.map_sum(cells_norm)
    demand = cells.map_sum(cells_demand)
    span = max(cells.map_collect(cells_span))
    idf, avg_len = norm.statistics(side.config)
    rows = cells.map_blocks(finalize_block, side, idf, avg_len)
    return BlockInteractions(side, rows, norm, idf, avg_len, demand, float(span))


def product_side(
    products: pd.DataFrame,
    stores: pd.DataFrame,
    config: EngineConfig,
    as_of: TimeLike,
) -> ProductSide:
    """The :class:`ProductSide` of a products and a stores table as of ``as_of``."""
    return ProductSide(
        IdMap(products["product_id"], "product"),
        IdMap(stores["store_id"], "store"),
        fit_date(as_of),
        config,
    )


def bucket_blocks(
    reader: PartitionedEvents,
    side: ProductSide,
    scheduler: Scheduler = "local",
    *,
    validate: bool = False,
    progress: Progress | None = None,
) -> BlockReducer:
    """One :class:`BucketCells` block per bucket of ``reader``, read where it is built.

    Parameters
    ----------
    reader : PartitionedEvents
    side : ProductSide
    scheduler : "local", "sync", a ``distributed.Client`` or None
        ``"local"`` builds the blocks in this process (:class:`LocalReducer`);
        anything else is a :class:`DaskReducer` scheduler.
    validate : bool
        Run the contract checks on each bucket as it is read (the files were
        checked when written).
    progress : callable, optional
        For a ``distributed.Client``: shows the progress of each step.
    """
    build = partial(bucket_cells, side=side)
    sources = [(reader, b, validate) for b in range(reader.n_buckets)]
    if isinstance(scheduler, str) and scheduler == "local":
        return LocalReducer([build(s) for s in sources])
    return DaskReducer(build, sources, scheduler, progress)
