"""Content-based recommender: a client's taste profile over product features.

With ``F`` the L2-normalised product features (:class:`core.engine.features.ProductFeatures`),
``x`` a client's interaction row and ``q`` their declared preferences (unit
norm), the profile is ``p = xF / ||xF|| + beta q`` and the score of product
``i`` is the cosine ``p . F_i / ||p||``. It splits exactly by feature ``f``
into ``(xF)_f / ||xF|| * F_if / ||p||`` (a matched attribute of the client's
history) plus ``beta q_f F_if / ||p||`` (a matched declared preference); the
history part also splits by past item ``j`` as
``x_j (F_j . F_i) / (||xF|| ||p||)``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from core.data.dataset import Dataset
from core.engine.cells import AsOf, row_selector
from core.engine.events import ExtraEvents, positions
from core.engine.features import PREFERENCE_COLUMNS, VISUAL, ProductFeatures
from core.engine.interactions import (
    ClientRows,
    Interactions,
    csr_from_state,
    csr_to_state,
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
from core.engine.models.blend import row_norms
from core.engine.models.hybrid_kernels import row_sums

#: Clients per vectorised pass of :func:`declared_preferences` (bounds its temporaries).
_PREFERENCE_CHUNK = 200_000

VISUAL_PREFIX = f"{VISUAL}:"


@dataclass(frozen=True)
class ContentProfiles:
    """Content profiles of some clients (one row each).

    Attributes
    ----------
    history : csr_matrix, shape (n, n_features)
        ``xF / ||xF||`` (zero rows for clients without history).
    preference : csr_matrix, shape (n, n_features)
        ``beta q`` (zero rows for clients who declared nothing known).
    norm : ndarray, shape (n,)
        ``||history + preference||`` (the cosine's denominator; 0 for empty profiles).
    """

    history: sp.csr_matrix
    preference: sp.csr_matrix
    norm: np.ndarray

    def dense_row(self, r: int) -> tuple[np.ndarray, np.ndarray, float]:
        """Row ``r`` as dense (history, preference, norm)."""
        return _dense_row(self.history, r), _dense_row(self.preference, r), float(self.norm[r])

    def combined(self) -> sp.csr_matrix:
        """``(history + preference) / norm`` (zero rows stay zero)."""
        inv = np.divide(1.0, self.norm, out=np.zeros_like(self.norm), where=self.norm > 0)
        return scale_rows(sp.csr_matrix(self.history + self.preference), inv)

    def dense_combined(self, r: int) -> np.ndarray:
        """Row ``r`` of :meth:`combined` as a dense vector."""
        h, q, norm = self.dense_row(r)
        h += q
        if norm > 0:
            h /= norm
        return h


def content_profiles(
    rows: sp.csr_matrix, features: sp.csr_matrix, preferences: sp.csr_matrix, beta: float
) -> ContentProfiles:
    """Profiles from interaction rows and declared preferences.

    Parameters
    ----------
    rows : csr_matrix, shape (n, n_products)
    features : csr_matrix, shape (n_products, n_features)
    preferences : csr_matrix, shape (n, n_features)
        Unit-norm (or zero) rows.
    beta : float
        Weight of the declared preferences.
    """
    history = sp.csr_matrix(rows @ features, dtype=np.float64)
    history = scale_rows(history, _inverse(row_norms(history)))
    preference = sp.csr_matrix(preferences, dtype=np.float64, copy=True)
    preference.sum_duplicates()
    preference.data *= beta
    norm = row_norms(sp.csr_matrix(history + preference))
    return ContentProfiles(history, preference, norm)


def content_scores(profiles: ContentProfiles, features: sp.csr_matrix) -> np.ndarray:
    """Cosine of each profile with every product, shape (n, n_products)."""
    if profiles.norm.size == 1:  # one sparse matrix-vector product
        return np.asarray(features @ profiles.dense_combined(0))[None, :]
    return np.asarray(features @ profiles.combined().toarray().T).T


def scale_rows(m: sp.csr_matrix, factors: np.ndarray) -> sp.csr_matrix:
    """``diag(factors) @ m`` for a csr ``m``, without a matrix product."""
    out = sp.csr_matrix(
        (m.data * np.repeat(factors, np.diff(m.indptr)), m.indices, m.indptr), shape=m.shape
    )
    out.eliminate_zeros()
    return out


def _inverse(x: np.ndarray) -> np.ndarray:
    return np.asarray(np.divide(1.0, x, out=np.zeros_like(x), where=x > 0))


def _dense_row(m: sp.csr_matrix, r: int) -> np.ndarray:
    out = np.zeros(m.shape[1])
    start, end = m.indptr[r], m.indptr[r + 1]
    out[m.indices[start:end]] = m.data[start:end]
    return out


#: One client's declared-preference row as (values, distinct columns).
PreferenceCells = tuple[np.ndarray, np.ndarray]

_NO_CELLS: PreferenceCells = (np.zeros(0), np.zeros(0, dtype=np.int32))


@dataclass(frozen=True)
class DeclaredPreferences:
    """The clients' declared-taste rows, built once per model.

    Attributes
    ----------
    rows : csr_matrix, shape (n_clients, n_features)
        :meth:`ProductFeatures.preference_vector` of each client of the
        dataset, in its order (empty rows for those who declared nothing).
        About 90 MB for a million clients: reading a row per request from the
        clients table's texts cost a request a seventh of its time at M.
    """

    rows: sp.csr_matrix

    def cells(self, position: int) -> PreferenceCells:
        """The row of the client at ``position`` in the dataset (-1: none) as views: read-only."""
        if position < 0:
            return _NO_CELLS
        m = self.rows
        lo, hi = m.indptr[position], m.indptr[position + 1]
        return m.data[lo:hi], m.indices[lo:hi]


def declared_preferences(
    dataset: Dataset, product_features: ProductFeatures
) -> DeclaredPreferences:
    """:class:`DeclaredPreferences` of ``dataset``'s clients (vectorised, in chunks)."""
    clients = dataset.clients
    present = [c for c in PREFERENCE_COLUMNS if c in clients.columns]
    chunks = [
        product_features.preference_rows(
            {c: clients[c].array[lo : lo + _PREFERENCE_CHUNK] for c in present},
            min(_PREFERENCE_CHUNK, len(clients) - lo),
        )
        for lo in range(0, len(clients), _PREFERENCE_CHUNK)
    ]
    if not chunks:
        return DeclaredPreferences(sp.csr_matrix((0, product_features.n_features_)))
    return DeclaredPreferences(sp.csr_matrix(sp.vstack(chunks, format="csr")))


def client_preferences(
    dataset: Dataset, declared: DeclaredPreferences, client_ids: Sequence[str]
) -> sp.csr_matrix:
    """Declared-preference rows of ``client_ids`` (zero for clients not in ``dataset``).

    Shape (n_clients, n_features).
    """
    m = declared.rows
    idx = positions(dataset.client_ids, list(client_ids), strict=False)
    known = idx >= 0
    if not known.any():
        return sp.csr_matrix((idx.size, m.shape[1]))
    rows = sp.csr_matrix(m[np.where(known, idx, 0)], dtype=np.float64)
    if not known.all():
        rows = sp.csr_matrix(sp.diags(known.astype(np.float64)) @ rows)
    return rows


def one_profile(
    items: np.ndarray,
    x: np.ndarray,
    features: sp.csr_matrix,
    preference: PreferenceCells,
    beta: float,
) -> tuple[np.ndarray, np.ndarray, float]:
    """:func:`content_profiles` of one client from their cells (``items``, values ``x``).

    The history part ``xF`` is gathered from the rows of ``features`` the
    client touched instead of a sparse matrix product, and the profile stays
    dense: a single request builds no sparse matrix.

    Returns
    -------
    history, preference : ndarray, shape (n_features,)
        ``xF / ||xF||`` and ``beta q`` (the rows of :class:`ContentProfiles`).
    norm : float
        ``||history + preference||``.
    """
    n_features = features.shape[1]
    history = np.empty(n_features)  # the rows of the client's products, each times its value
    row_sums(features.indptr, features.indices, features.data, items, x, history)
    norm = float(np.sqrt(history @ history))
    if norm > 0:
        history /= norm
    values, columns = preference
    if columns.size == 0:  # most clients declared nothing
        return history, np.zeros(n_features), float(np.sqrt(history @ history))
    pref = np.asarray(
        np.bincount(columns, weights=values.astype(np.float64), minlength=n_features),
        dtype=np.float64,
    )
    pref *= beta
    both = history + pref
    return history, pref, float(np.sqrt(both @ both))


def _first_visual(names: np.ndarray) -> int:
    """Index of the first ``visual:k`` feature (they come last), or ``len(names)``."""
    first = len(names)
    while first and str(names[first - 1]).startswith(VISUAL_PREFIX):
        first -= 1
    return first


def attribute_blocks(
    history: np.ndarray,
    preference: np.ndarray,
    norm: float,
    features: sp.csr_matrix,
    items: np.ndarray,
    names: np.ndarray,
    scale: float,
    component: str = "content",
) -> tuple[np.ndarray, ContributionBlock, ContributionBlock, ContributionBlock]:
    """Exact split of ``scale * (history + preference) . F_i / norm`` by matched feature.

    The image-embedding features (``visual:k``) are summed into one part per
    product, of ``kind="visual"`` (source ``"visual"``): a dimension of a
    vision model means nothing on its own.

    Parameters
    ----------
    history, preference : ndarray, shape (n_features,)
        One client's dense profile parts (:meth:`ContentProfiles.dense_row`).
    norm : float
        Their combined norm (0: no profile, every part is 0).
    features : csr_matrix, shape (n_products, n_features)
    items : ndarray of int, shape (m,)
        The products explained.
    names : ndarray of object, shape (n_features,)
        Feature names (the contributions' sources).

    Returns
    -------
    totals : ndarray, shape (m,)
        Each product's content score (the sum of its parts).
    attributes, preferences, visual : ContributionBlock
        History parts as ``kind="attribute"``, declared-preference parts as
        ``kind="preference"``, the visual part as ``kind="visual"`` (empty
        without image embeddings).
    """
    items = np.asarray(items, dtype=np.int64)
    sel = row_selector(features.indptr, items)
    product = np.repeat(np.arange(items.size), features.indptr[items + 1] - features.indptr[items])
    cols = features.indices[sel]
    f = features.data[sel].astype(np.float64) * (scale / norm if norm > 0 else 0.0)
    h, q = history[cols] * f, preference[cols] * f
    totals = np.bincount(product, weights=h + q, minlength=items.size)
    sources = names[cols]
    seen = cols >= _first_visual(names)
    visual = np.bincount(product[seen], weights=(h + q)[seen], minlength=items.size)
    shown = np.flatnonzero(visual) if seen.any() else np.zeros(0, dtype=np.int64)
    keep = ~seen
    return (
        totals,
        ContributionBlock(product[keep], h[keep], "attribute", component, sources[keep]),
        ContributionBlock(product[keep], q[keep], "preference", component, sources[keep]),
        ContributionBlock(
            shown, visual[shown], "visual", component, np.full(shown.size, VISUAL, dtype=object)
        ),
    )


def name_visual(
    visual: ContributionBlock,
    past: np.ndarray,
    x: np.ndarray,
    embeddings: np.ndarray,
    items: np.ndarray,
    product_ids: np.ndarray,
) -> ContributionBlock:
    """The visual parts, each named by the past product that looks most like it.

    A past product ``j``'s share of the visual part of product ``i`` is
    proportional to ``x_j (e_j . e_i)``; the largest names the part (its
    ``source`` becomes that product's id; the target itself is never named).
    Values are unchanged, so the parts still add up.

    Parameters
    ----------
    visual : ContributionBlock
        From :func:`attribute_blocks`.
    past, x : ndarray, shape (n_past,)
        The client's cells: products and values (:meth:`ClientRows.cells`).
    embeddings : ndarray, shape (n_products, d)
        Unit image vectors (:attr:`core.data.dataset.Dataset.embeddings`).
    items : ndarray of int
        The explained products (``visual.product`` indexes them).
    product_ids : ndarray of object
        External id of every product.
    """
    if not visual.values.size or not past.size:
        return visual
    targets = items[visual.product]
    share = x[:, None] * (embeddings[past] @ embeddings[targets].T)  # (n_past, parts)
    share[past[:, None] == targets[None, :]] = -np.inf
    best = np.argmax(share, axis=0)
    named = np.isfinite(share[best, np.arange(targets.size)])
    sources = np.where(named, product_ids[past[best]], VISUAL).astype(object)
    return dataclasses.replace(visual, sources=sources)


class ContentRecommender(StatefulRecommender):
    """Cosine between a client's content profile and each product's features.

    Parameters
    ----------
    config : EngineConfig, optional
        Feature weights and ``preference_weight`` (defaults when omitted).

    Attributes
    ----------
    interactions_ : Interactions
    product_features_ : ProductFeatures
    features_ : csr_matrix, shape (n_products, n_features)
    """

    explains = True

    def _fit(
        self,
        dataset: Dataset,
        as_of: AsOf = None,
        interactions: Interactions | None = None,
    ) -> None:
        config = self.config_
        self.interactions_ = resolve_interactions(dataset, config, as_of, interactions)
        embeddings = dataset.embeddings
        self.product_features_ = ProductFeatures(config).fit(dataset.products, embeddings)
        self.features_ = self.product_features_.transform(dataset.products, embeddings)

    def _declared_table(self) -> DeclaredPreferences:
        """The fitted clients' declared preferences, read once per dataset."""
        cached: tuple[Dataset, DeclaredPreferences] | None = self.__dict__.get("_declared")
        if cached is None or cached[0] is not self.dataset_:
            cached = (self.dataset_, declared_preferences(self.dataset_, self.product_features_))
            self.__dict__["_declared"] = cached
        return cached[1]

    def _profiles(
        self, client_ids: Sequence[str], extra_events: ExtraEvents | None
    ) -> tuple[ClientRows, ContentProfiles]:
        rows = self.interactions_.fold_in(client_ids, extra_events)
        prefs = client_preferences(self.dataset_, self._declared_table(), client_ids)
        profiles = content_profiles(
            rows.matrix, self.features_, prefs, self.config_.preference_weight
        )
        return rows, profiles

    def score_clients(
        self, client_ids: Sequence[str], extra_events: ExtraEvents | None = None
    ) -> np.ndarray:
        self.check_is_fitted()
        _, profiles = self._profiles(client_ids, extra_events)
        return content_scores(profiles, self.features_)

    def _similarity_row(self, product_idx: int) -> np.ndarray:
        return np.asarray((self.features_ @ self.features_[product_idx].T).toarray()).ravel()

    def explain(
        self,
        client_id: str,
        product_id: str,
        extra_events: ExtraEvents | None = None,
        *,
        by: Literal["attribute", "item"] = "attribute",
    ) -> Explanation:
        """Split the score by matched feature (``by="attribute"``) or by past item.

        Either way the declared-preference part is split by feature
        (``kind="preference"``) and the parts add up to the score.

        Raises
        ------
        UnknownIdError
            For an unknown client (without extra events) or product.
        """
        return self.explain_many(client_id, [product_id], extra_events, by=by)[0]

    def explain_many(
        self,
        client_id: str,
        product_ids: Sequence[str],
        extra_events: ExtraEvents | None = None,
        *,
        by: Literal["attribute", "item"] = "attribute",
    ) -> list[Explanation]:
        """:meth:`explain` for several products of one client at once."""
        self.check_is_fitted()
        if by not in ("attribute", "item"):
            raise ValueError(f"by must be 'attribute' or 'item', got {by!r}")
        items = positions(self.dataset_.product_ids, list(product_ids))
        rows, profiles = self._profiles([client_id], extra_events)
        h, q, norm = profiles.dense_row(0)
        names = np.asarray(self.product_features_.feature_names_, dtype=object)
        scores, attributes, preferences, visual = attribute_blocks(
            h, q, norm, self.features_, items, names, 1.0
        )
        ids = np.asarray(self.dataset_.product_ids.external_ids, dtype=object)
        past, x, _ = rows.cells(0)
        visual = name_visual(visual, past, x, self.dataset_.embeddings, items, ids)
        blocks = [attributes, preferences, visual]
        if by == "item":
            blocks = [preferences, self._item_block(rows, profiles, items)]
        zeros = np.zeros(len(items))
        parts = {"cf": zeros, "content": scores, "prior": zeros}
        return assemble_explanations(client_id, product_ids, parts, blocks)

    def _item_block(
        self, rows: ClientRows, profiles: ContentProfiles, items: np.ndarray
    ) -> ContributionBlock:
        """The history part split over past items: ``x_j (F_j . F_i) / (||xF|| ||p||)``."""
        row = rows.matrix[0]
        past = row.indices
        xf = sp.csr_matrix(row @ self.features_, dtype=np.float64)
        xf_norm = float(np.sqrt(xf.multiply(xf).sum()))
        if profiles.norm[0] == 0 or xf_norm == 0:
            past = past[:0]
        x = row.data[: past.size].astype(np.float64)
        sims = (self.features_[past] @ self.features_[items].T).toarray()  # (n_past, m)
        scale = xf_norm * profiles.norm[0] if past.size else 1.0
        values = (x[:, None] * sims / scale).T
        ids = self.dataset_.product_ids.to_external(past)
        codes = rows.strongest[0].data[: past.size]
        return ContributionBlock.past_items(values, ids, codes, "content")

    # ---------------------------------------------------------- persistence
    def _get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays, inter_meta = interactions_to_state(self.interactions_, prefix="inter.")
        f_arrays, f_meta = self.product_features_.get_state()
        arrays.update({f"features.{k}": v for k, v in f_arrays.items()})
        arrays.update(csr_to_state(self.features_, "features.matrix"))
        return arrays, {"interactions": inter_meta, "features": f_meta}

    def _set_state(
        self, arrays: dict[str, np.ndarray], meta: dict[str, Any], dataset: Dataset
    ) -> None:
        self.interactions_ = interactions_from_state(
            arrays, meta["interactions"], dataset, prefix="inter."
        )
        f_arrays = {
            k[len("features.") :]: v for k, v in arrays.items() if k.startswith("features.")
        }
        self.product_features_ = ProductFeatures.from_state(f_arrays, meta["features"], self.config)
        self.features_ = csr_from_state(
            arrays,
            "features.matrix",
            (len(dataset.product_ids), self.product_features_.n_features_),
        )
        self.dataset_ = dataset
