"""The hybrid's per-client state and its priors: the trend block and the new-arrival prior.

A client's state (:class:`ClientState`) holds everything their scores need;
:class:`Priors` is the part of the score that does not come from the client's
taste: the recent demand ``a_tr * t_i`` (the catalogue's for clients with
history, their home store's for clients without) and the new-arrival prior
``a_new * n_i * max(0, content_i)`` (:mod:`core.engine.models.hybrid` has the
formula). Both are built from the fitted arrays, so a loaded model rebuilds
them the same way.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.engine.cells import one_row
from core.engine.config import EngineConfig
from core.engine.interactions import ClientRows, Interactions
from core.engine.models.blend import new_arrivals, per_spread, row_spread, scaled, sparse_row_spread
from core.engine.models.content import ContentProfiles
from core.engine.transitions import PURCHASE


@dataclass(frozen=True)
class OneClient:
    """One client's cells and content profile as plain arrays (a single request).

    A single request's blocks are computed from these without building a
    sparse matrix; the client's 1-row matrices (:attr:`rows`) and profile
    (:attr:`profiles`) are built only when an explanation asks for them.
    """

    source: ClientRows  # the fitted rows, or the client's row folded in from their events
    row: int  # the client's row in ``source``
    items: np.ndarray  # products of the client's cells
    x: np.ndarray  # their values, float64
    codes: np.ndarray  # their strongest event codes
    history: np.ndarray  # (n_features,) xF / ||xF||
    preference: np.ndarray  # (n_features,) beta q
    norm: float  # ||history + preference||

    def block_inputs(self) -> tuple[np.ndarray, np.ndarray]:
        """The past products (1 each in ``b``) and the unit profile ``p / ||p||`` (read-only)."""
        return self._block_inputs

    @functools.cached_property
    def _block_inputs(self) -> tuple[np.ndarray, np.ndarray]:
        # Built once per state: a request reads it for the blocks and for the ranking.
        combined = self.history + self.preference
        if self.norm > 0:
            combined /= self.norm
        return self.items[self.x > 0], combined

    def sequence_inputs(self) -> tuple[np.ndarray, np.ndarray]:
        """The bought products and their next-step inputs ``s`` (:mod:`core.engine.transitions`)."""
        bought = (self.codes == PURCHASE) & (self.x > 0)
        return self.items[bought], self.x[bought]

    def profile_row(self) -> tuple[np.ndarray, np.ndarray, float]:
        return self.history, self.preference, self.norm

    def seen_products(self) -> np.ndarray:
        """The products of the client's cells (what ``seen_mask`` marks)."""
        return self.items

    def cells(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The client's cells: products, values and strongest event codes (:meth:`ClientRows.cells`)."""
        return self.items, self.x, self.codes

    @functools.cached_property
    def rows(self) -> ClientRows:
        source, r = self.source, self.row
        if source.matrix.shape[0] == 1:
            return source
        return ClientRows(
            one_row(source.matrix, r),
            one_row(source.strongest, r),
            source.strength[r : r + 1].astype(np.float64),
        )


@dataclass(frozen=True)
class ManyClients:
    """Some clients' rows, past products and profiles as sparse matrices (one row each)."""

    rows: ClientRows
    past: sp.csr_matrix  # (n, n_products) 1 per past product
    purchases: sp.csr_matrix  # (n, n_products) next-step inputs s
    profiles: ContentProfiles

    def block_inputs(self) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`OneClient.block_inputs` of a single row."""
        return self.past.indices, self.profiles.dense_combined(0)

    def sequence_inputs(self) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`OneClient.sequence_inputs` of a single row."""
        row = self.purchases[0]
        keep = row.data > 0
        return row.indices[keep], row.data[keep].astype(np.float64)

    def profile_row(self) -> tuple[np.ndarray, np.ndarray, float]:
        return self.profiles.dense_row(0)

    def seen_products(self) -> np.ndarray:
        """:meth:`OneClient.seen_products` of a single row."""
        m = self.rows.matrix
        return np.asarray(m.indices[m.indptr[0] : m.indptr[1]])

    def cells(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`OneClient.cells` of a single row."""
        return self.rows.cells(0)


@dataclass(frozen=True)
class ClientState:
    """Everything a client's scores need (one row per client)."""

    inputs: OneClient | ManyClients
    u: np.ndarray  # (n, k) folded-in client factors
    weights: np.ndarray  # (n, 4) a_sv, a_nb, a_ct, a_sq
    spreads: np.ndarray  # (n, 4) the raw blocks' spreads the weights were divided by
    prior_row: np.ndarray  # -1: global trend, else store index
    # (n, n_new) new-arrival prior of each new arrival; None: not computed (a
    # pruned ranking computes it from the content scores it computes)
    new_arrival: np.ndarray | None
    pruned: bool = False  # one client whose content block is scored where it can matter

    @property
    def rows(self) -> ClientRows:
        return self.inputs.rows


class Priors:
    """The trend and new-arrival priors of a fitted hybrid.

    Parameters
    ----------
    inter : Interactions
        The fitted matrix's trends, stores and clients' home stores.
    config : EngineConfig
        ``prior_weight``, ``new_arrival_days`` and ``new_arrival_weight``.
    launch_dates : Series
        The products' ``launch_date``, in product order.

    Attributes
    ----------
    trend : ndarray, shape (n_products,)
        Catalogue trend scaled to a maximum of 1.
    trend_spread : float
        Its standard deviation over the catalogue.
    new_arrivals : ndarray of int, shape (n_new,)
        The new arrivals (none when ``new_arrival_weight`` is 0).
    """

    def __init__(self, inter: Interactions, config: EngineConfig, launch_dates: pd.Series) -> None:
        self._inter = inter
        self._new_arrival_weight = config.new_arrival_weight
        self.trend = scaled(inter.trend)
        self.trend_spread = float(row_spread(self.trend[None, :])[0])
        st = sp.csr_matrix(inter.store_trend_matrix, dtype=np.float64)
        top = st.max(axis=1).toarray().ravel()
        self._store_has_trend = top > 0
        scale = np.divide(1.0, top, out=np.zeros_like(top), where=top > 0)
        self._store_trend = sp.csr_matrix(sp.diags(scale) @ st)
        self._store_scale = per_spread(config.prior_weight, sparse_row_spread(self._store_trend))
        weight = per_spread(config.prior_weight, np.array([self.trend_spread]))[0]
        self._global = self.trend * weight
        self.new_arrivals = new_arrivals(launch_dates, inter.as_of, config.new_arrival_days)
        if config.new_arrival_weight <= 0:
            self.new_arrivals = self.new_arrivals[:0]

    def prior_rows(self, idx: np.ndarray, strength: np.ndarray) -> np.ndarray:
        """Each client's trend: -1 for the catalogue's, else their home store's index.

        Clients without history (``strength`` 0) and a fitted row (``idx`` >= 0)
        get their home store's trend when it has one.
        """
        prior_row = np.full(idx.size, -1, dtype=np.int64)
        cold = (strength <= 0) & (idx >= 0)
        if cold.any():
            stores = self._inter.home_store[idx[cold]]
            ok = stores >= 0
            ok[ok] = self._store_has_trend[stores[ok]]
            prior_row[np.flatnonzero(cold)[ok]] = stores[ok]
        return prior_row

    def new_arrival_scale(self, content_spread: np.ndarray) -> np.ndarray:
        """``a_new`` per client: the new-arrival weight over the content block's spread."""
        return per_spread(self._new_arrival_weight, content_spread)

    def new_arrival(self, content_spread: np.ndarray, content: np.ndarray) -> np.ndarray:
        """The new-arrival prior, shape (n, n_new), from the raw content scores of the new arrivals."""
        if not self.new_arrivals.size:
            return np.zeros((content.shape[0], 0))
        a_new = self.new_arrival_scale(content_spread)
        return np.asarray(a_new[:, None] * np.maximum(content, 0.0))

    def trend_row(self, state: ClientState, r: int) -> tuple[np.ndarray, str]:
        """Row ``r``'s trend block (read-only: the global one is shared) and its source."""
        s = int(state.prior_row[r])
        if s < 0:
            return self._global, "trend"
        store = str(self._inter.store_ids.external_ids[s])
        st = self._store_trend
        lo, hi = st.indptr[s], st.indptr[s + 1]
        row = np.zeros(st.shape[1])
        row[st.indices[lo:hi]] = st.data[lo:hi] * self._store_scale[s]
        return row, f"store_trend={store}"

    def add(self, state: ClientState, out: np.ndarray) -> np.ndarray:
        """Add every row's whole prior (trend + new arrival) to ``out`` in place."""
        glob = state.prior_row < 0
        if glob.all():
            out += self._global
        else:
            for r in np.flatnonzero(~glob).tolist():
                out[r] += self.trend_row(state, r)[0]
            out[glob] += self._global
        if self.new_arrivals.size:
            assert state.new_arrival is not None
            out[:, self.new_arrivals] += state.new_arrival
        return out

    def parts(
        self,
        state: ClientState,
        r: int,
        items: np.ndarray,
        new_arrival: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> list[tuple[np.ndarray, str]]:
        """Row ``r``'s prior at ``items``, split by source (they add up to :meth:`add`'s).

        ``new_arrival``: the new-arrival prior of some products, for a state
        without it (a pruned ranking's), asked for the new arrivals among
        ``items`` only.
        """
        trend, source = self.trend_row(state, r)
        parts = [(trend[items].astype(np.float64), source)]
        if self.new_arrivals.size:
            at = np.searchsorted(self.new_arrivals, items)
            at = np.minimum(at, self.new_arrivals.size - 1)
            hit = self.new_arrivals[at] == items
            if state.new_arrival is not None:
                values = state.new_arrival[r][at]
            else:
                assert new_arrival is not None
                values = np.zeros(items.size)
                values[hit] = new_arrival(items[hit])
            parts.append((np.where(hit, values, 0.0), "new_arrival"))
        return parts
