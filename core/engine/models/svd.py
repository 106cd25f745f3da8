"""PureSVD: collaborative filtering by truncated SVD of the interaction matrix.

The item factors ``V`` (n_products, k) are the top right singular vectors of
the interaction matrix ``X``. A client is folded in from their row ``x``
(``u = x V``) and scored ``s = u V^T`` -- no client factors are stored, so a
new event or a client unseen at fit time is scored at once, without a refit.

Because ``s_i = sum_j x_j (v_j . v_i)``, a score splits exactly over the
client's past items: that sum is :meth:`SVDRecommender.explain`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD
from threadpoolctl import threadpool_limits

from core.data.dataset import Dataset
from core.engine.cells import AsOf
from core.engine.config import EngineConfig
from core.engine.events import ExtraEvents, positions
from core.engine.interactions import (
    Interactions,
    interactions_from_state,
    interactions_to_state,
    resolve_interactions,
)
from core.engine.models.base import (
    ContributionBlock,
    Explanation,
    StatefulRecommender,
    assemble_explanations,
)


def fit_item_factors(matrix: sp.csr_matrix, config: EngineConfig) -> tuple[np.ndarray, np.ndarray]:
    """Randomized truncated SVD of ``matrix``.

    Parameters
    ----------
    matrix : csr_matrix, shape (n_clients, n_products)
    config : EngineConfig
        ``n_factors`` (clipped to what the matrix allows), ``svd_n_iter``, ``seed``.

    Returns
    -------
    item_factors : ndarray, shape (n_products, k), float64
        Orthonormal columns (zero when the matrix is empty).
    singular_values : ndarray, shape (k,)
    """
    n_clients, n_products = matrix.shape
    k = max(1, min(config.n_factors, n_clients - 1, n_products - 1))
    if matrix.nnz == 0 or n_products < 2 or n_clients < 2:
        return np.zeros((n_products, k)), np.zeros(k)
    svd = TruncatedSVD(
        n_components=k,
        algorithm="randomized",
        n_iter=config.svd_n_iter,
        random_state=config.seed,
    )
    svd.fit(matrix)
    return np.ascontiguousarray(svd.components_.T, dtype=np.float64), svd.singular_values_


def unit_rows(a: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero)."""
    norms = np.linalg.norm(a, axis=1, keepdims=True)
    return np.asarray(np.divide(a, norms, out=np.zeros_like(a), where=norms > 0))


def item_contributions(
    past: np.ndarray, x: np.ndarray, factors: np.ndarray, items: np.ndarray
) -> np.ndarray:
    """The exact split of ``u V^T`` over one client's past items.

    Parameters
    ----------
    past : ndarray of int, shape (n_past,)
        The client's past items (their row's cells: :meth:`ClientRows.cells`).
    x : ndarray of float64, shape (n_past,)
        Their values.
    factors : ndarray, shape (n_products, k)
    items : ndarray of int, shape (m,)
        Products being explained.

    Returns
    -------
    parts : ndarray, shape (m, n_past), float64
        ``parts[a, b] = x_b (v_b . v_items[a])``; rows sum to the CF scores.
    """
    return np.asarray((factors[items] @ factors[past].T) * x[None, :])


class SVDRecommender(StatefulRecommender):
    """PureSVD with fold-in and exact per-item explanations.

    Parameters
    ----------
    config : EngineConfig, optional
        Engine parameters (``EngineConfig()`` when omitted).

    Attributes
    ----------
    interactions_ : Interactions
        The fitted matrix (fold-in happens against it).
    item_factors_ : ndarray, shape (n_products, k)
    singular_values_ : ndarray, shape (k,)
    """

    explains = True

    def _fit(
        self,
        dataset: Dataset,
        as_of: AsOf = None,
        interactions: Interactions | None = None,
    ) -> None:
        """Build the matrix as of ``as_of`` (or reuse ``interactions``) and factorise it."""
        config = self.config_
        with threadpool_limits(limits=config.n_threads):
            inter = resolve_interactions(dataset, config, as_of, interactions)
            self.interactions_ = inter
            self.item_factors_, self.singular_values_ = fit_item_factors(inter.matrix, config)
        self._unit_factors = unit_rows(self.item_factors_)

    # ------------------------------------------------------------ scoring
    def score_clients(
        self, client_ids: Sequence[str], extra_events: ExtraEvents | None = None
    ) -> np.ndarray:
        self.check_is_fitted()
        rows = self.interactions_.client_rows(client_ids, extra_events)
        u = np.asarray(rows @ self.item_factors_)
        return np.asarray(u @ self.item_factors_.T)

    def client_factors(
        self, client_ids: Sequence[str], extra_events: ExtraEvents | None = None
    ) -> np.ndarray:
        """Folded-in client vectors ``u = x V``, shape (n_clients, k)."""
        self.check_is_fitted()
        rows = self.interactions_.client_rows(client_ids, extra_events)
        return np.asarray(rows @ self.item_factors_)

    def _similarity_row(self, product_idx: int) -> np.ndarray:
        return np.asarray(self._unit_factors @ self._unit_factors[product_idx])

    # -------------------------------------------------------- explanations
    def explain_many(
        self,
        client_id: str,
        product_ids: Sequence[str],
        extra_events: ExtraEvents | None = None,
    ) -> list[Explanation]:
        """:meth:`explain` for several products of one client at once."""
        self.check_is_fitted()
        items = positions(self.dataset_.product_ids, list(product_ids))
        rows = self.interactions_.fold_in([client_id], extra_events)
        past, x, codes = rows.cells(0)
        parts = item_contributions(past, x, self.item_factors_, items)
        # The score itself comes from the folded-in vector, not from the parts.
        u = rows.matrix[0].toarray().astype(np.float64) @ self.item_factors_
        scores = (u @ self.item_factors_[items].T).ravel()
        m = len(items)
        past_ids = self.dataset_.product_ids.to_external(past)
        block = ContributionBlock.past_items(parts, past_ids, codes, "cf")
        zeros = np.zeros(m)
        return assemble_explanations(
            client_id, product_ids, {"cf": scores, "content": zeros, "prior": zeros}, [block]
        )

    # ---------------------------------------------------------- persistence
    def _get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays, meta = interactions_to_state(self.interactions_, prefix="inter.")
        arrays["item_factors"] = self.item_factors_
        arrays["singular_values"] = self.singular_values_
        return arrays, {"interactions": meta}

    def _set_state(
        self, arrays: dict[str, np.ndarray], meta: dict[str, Any], dataset: Dataset
    ) -> None:
        self.interactions_ = interactions_from_state(
            arrays, meta["interactions"], dataset, prefix="inter."
        )
        self.item_factors_ = arrays["item_factors"]
        self.singular_values_ = arrays["singular_values"]
        self._unit_factors = unit_rows(self.item_factors_)
        self.dataset_ = dataset
