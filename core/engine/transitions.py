"""What clients bought next, in time order: the counts behind the hybrid's next-step block.

A client's purchases in time order -- the first purchase of each product,
gifts left out (they follow someone else's taste), nothing after the fit
date -- give a transition ``a -> b`` for each product ``b`` among the
``sequence_window`` products they bought after ``a``. Over the house:

- ``n_a``: clients who bought ``a``;
- ``n_ab``: clients who bought ``b`` within the ``sequence_window`` products
  they bought after ``a``.

:func:`transition_matrix` turns them into the next-step matrix::

    T[a, b] = n_ab / (n_a + item_shrinkage)      (top ``item_neighbours`` per row)

where ``n_ab >=`` :data:`MIN_STEP_CLIENTS`: the share of ``a``'s buyers who
went on to ``b``, shrunk towards zero when few clients bought ``a``. ``T`` is directional: an order-blind co-purchase
count (the item-neighbour block's) is symmetric, ``T[a, b]`` is not, so a
client who bought the entry piece is pointed to the signature piece and not
the other way round.

How much the block may weigh is read from the data (:func:`directionality`):
on pairs of products bought one after the other by at least
:data:`MIN_PAIR_CLIENTS` clients, the share of the flow that goes one way
beyond what a coin would give. Where buyers go from the entry piece to the
signature piece and not back, it is near 1; where order is noise (repeat
baskets, a grocer's week) near 0, and the block then barely counts: the
hybrid multiplies ``sequence_weight`` by it (:class:`NextSteps`).

The counts of disjoint sets of whole clients add up (:class:`TransitionCounts`
has ``+``): the one-process fit counts the whole log
(:func:`core.engine.cells.event_block`), the scale-out fit one client bucket
per task and sums them (:mod:`core.engine.scale`), the same arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.stats import binom

from core.data.schema import EVENT_TYPES
from core.engine.events import EventArrays
from core.engine.ranking import top_k_coo

PURCHASE = EVENT_TYPES.index("purchase")
#: Clients who must have taken a step ``a -> b`` for it to enter ``T``: a
#: reason that says "clients who bought the X often went on to this" then
#: rests on at least three of them -- never on one other client's purchases
#: (on the validation windows 1, 2 and 3 scored within 1 % of each other on
#: average, 2 lost 5 % NDCG@10 on one real cell).
MIN_STEP_CLIENTS = 3
#: Clients a pair of products needs (either order) to count towards :func:`directionality`.
MIN_PAIR_CLIENTS = 5


@dataclass(frozen=True)
class TransitionCounts:
    """``n_ab`` (``pairs``, products x products) and ``n_a`` (``buyers``) of some whole clients."""

    pairs: sp.csr_matrix
    buyers: np.ndarray

    @classmethod
    def empty(cls, n_products: int) -> TransitionCounts:
        return cls(
            sp.csr_matrix((n_products, n_products), dtype=np.int64),
            np.zeros(n_products, dtype=np.int64),
        )

    def __add__(self, other: TransitionCounts) -> TransitionCounts:
        return TransitionCounts(sp.csr_matrix(self.pairs + other.pairs), self.buyers + other.buyers)


def transition_counts(ev: EventArrays, n_products: int, window: int) -> TransitionCounts:
    """The transition counts of the clients (``ev.rows``) of some events.

    Parameters
    ----------
    ev : EventArrays
        Events of whole clients; ``age_days`` orders them (an older purchase
        comes first) and only those with ``age_days >= 0`` (on or before the
        fit date) count.
    n_products : int
    window : int
        How many of the following products each purchase leads to (0: none).
    """
    buy = (ev.types == PURCHASE) & ~ev.gift & (ev.age_days >= 0) & (ev.rows >= 0)
    rows = ev.rows[buy].astype(np.int64)
    cols = ev.cols[buy].astype(np.int64)
    # Client by client, oldest first (ties: the product order, so counts never
    # depend on the order of the input rows).
    order = np.lexsort((cols, -ev.age_days[buy], rows))
    rows, cols = rows[order], cols[order]
    first = _first_of_each(rows, cols, n_products)
    rows, cols = rows[first], cols[first]
    buyers = np.bincount(cols, minlength=n_products).astype(np.int64)
    src, dst = [], []
    for d in range(1, max(0, int(window)) + 1):
        same = rows[d:] == rows[:-d]
        src.append(cols[:-d][same])
        dst.append(cols[d:][same])
    a = np.concatenate(src) if src else np.zeros(0, dtype=np.int64)
    b = np.concatenate(dst) if dst else np.zeros(0, dtype=np.int64)
    pairs = sp.csr_matrix((np.ones(a.size, dtype=np.int64), (a, b)), shape=(n_products, n_products))
    pairs.sum_duplicates()
    return TransitionCounts(pairs, buyers)


def _first_of_each(rows: np.ndarray, cols: np.ndarray, n_cols: int) -> np.ndarray:
    """Positions of the first occurrence of each (row, col) pair, in their order."""
    if rows.size == 0:
        return np.zeros(0, dtype=np.int64)
    _, first = np.unique(rows * n_cols + cols, return_index=True)
    return np.sort(first)


def transition_matrix(counts: TransitionCounts, k: int, shrinkage: float) -> sp.csr_matrix:
    """The next-step matrix ``T`` (module docstring): shrunk shares, top ``k`` per row, float64."""
    pairs = sp.coo_matrix(counts.pairs)
    seen = pairs.data >= MIN_STEP_CLIENTS
    a, b = pairs.row[seen].astype(np.int64), pairs.col[seen].astype(np.int64)
    v = pairs.data[seen].astype(np.float64) / (counts.buyers[a] + float(shrinkage))
    a, b, v = top_k_coo(a, b, v, k)
    n = counts.buyers.size
    return sp.csr_matrix((v, (a, b)), shape=(n, n))


def directionality(counts: TransitionCounts) -> float:
    """How one-way the house's sequences are, beyond chance, in [0, 1].

    Over the unordered pairs ``{a, b}`` with ``n = n_ab + n_ba >=``
    :data:`MIN_PAIR_CLIENTS`, with ``D = sum |n_ab - n_ba|`` and ``E`` its
    expectation were each transition's direction a fair coin (``n_ab ~
    Binomial(n, 1/2)``)::

        directionality = (D - E) / (sum n - E)      (0 without such pairs)

    1 when every repeated pair goes one way only, 0 when the directions are
    no more lopsided than coin tosses.
    """
    pairs = sp.csr_matrix(counts.pairs, dtype=np.float64)
    both = sp.triu(pairs + pairs.T, k=1).tocoo()
    keep = both.data >= MIN_PAIR_CLIENTS
    if not keep.any():
        return 0.0
    a, b, n = both.row[keep], both.col[keep], both.data[keep].astype(np.int64)
    forward = np.asarray(pairs[a, b]).ravel()
    lopsided = float(np.abs(2.0 * forward - n).sum())
    expected = float(
        sum(
            _coin_lopsidedness(int(m)) * c
            for m, c in zip(*np.unique(n, return_counts=True), strict=True)
        )
    )
    total = float(n.sum())
    if total <= expected:
        return 0.0
    return float(np.clip((lopsided - expected) / (total - expected), 0.0, 1.0))


def _coin_lopsidedness(n: int) -> float:
    """``E|2X - n|`` for ``X ~ Binomial(n, 1/2)``."""
    x = np.arange(n + 1)
    return float((np.abs(2 * x - n) * binom.pmf(x, n, 0.5)).sum())


@dataclass(frozen=True)
class NextSteps:
    """The next-step block of a fit: its matrix ``T`` and its data-derived weight factor."""

    matrix: sp.csr_matrix
    directionality: float


def next_steps(
    counts: TransitionCounts | None, n_products: int, k: int, shrinkage: float
) -> NextSteps:
    """:func:`transition_matrix` and :func:`directionality` of some counts (none: an empty block)."""
    if counts is None:
        counts = TransitionCounts.empty(n_products)
    return NextSteps(transition_matrix(counts, k, shrinkage), directionality(counts))


def purchase_rows(matrix: sp.csr_matrix, strongest: sp.csr_matrix) -> sp.csr_matrix:
    """Clients' next-step inputs ``s``: their cell values where the strongest event is a purchase.

    The next-step block counts what clients *bought* next, so only a
    client's own purchases lead anywhere; the cells' decay makes the latest
    ones count most.
    """
    bought = sp.csr_matrix(strongest, copy=True)
    bought.data = (bought.data == PURCHASE).astype(np.float64)
    bought.eliminate_zeros()
    return sp.csr_matrix(sp.csr_matrix(matrix, dtype=np.float64).multiply(bought))
