"""The hybrid recommender: PureSVD + content similarity + a small trend prior.

For a client with interaction row ``x``, history strength ``h`` and declared
preferences ``q``, the score of product ``i`` is::

    score_i = w_cf * a_cf * (u . v_i)              CF, u = x V (fold-in)
            + w_ct * (p . F_i) / ||p||             content, p = xF/||xF|| + beta q
            + prior_weight * t_i                   trend prior
            + new_arrival_weight * n_i * c_i       new-arrival prior

- ``w_cf = h / (h + blend_k)`` and ``w_ct = 1 - w_cf``: history earns CF its
  weight, content carries the thin end (two purchases a year, a new client);
- ``a_cf = 1 / (||u|| * factor_scale_)`` puts CF on the scale of a cosine,
  like the content part (``factor_scale_`` is a high quantile of item-factor
  norms, so well-known products may score a little above 1);
- ``t`` is the recent demand (``trend_half_life_days``) scaled to a maximum
  of 1: the catalogue's for clients with history, their home store's for
  clients without;
- ``n_i`` is 1 for a new arrival -- a product launched within
  ``new_arrival_days`` of the fit date, or due to launch within as many days
  after it -- and 0 otherwise; ``c_i = max(0, p . F_i / ||p||)`` is the
  client's content affinity with it (the content part's cosine before its
  weight), so a launch is pushed to the clients whose taste it fits, not to
  everyone. A model fitted on all the data has no launches after its fit
  date (``Dataset.as_of`` is the latest event or launch); one fitted at an
  earlier cutoff (the temporal evaluation) sees the launches that follow it
  in the catalogue as upcoming new arrivals.

Products without interactions in the fit window get item factors from a
ridge map from content features to factors learnt on known products, so a
product launched yesterday reaches the clients whose taste it fits.

Every part is a sum of exact terms -- CF over past items
(``x_j (v_j . v_i)``), content over matched features, the trend and
new-arrival priors -- so
:meth:`HybridRecommender.explain` returns contributions that add up to the
score.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.linear_model import Ridge
from threadpoolctl import ThreadpoolController, threadpool_limits

from core.data.dataset import Dataset
from core.engine.config import EngineConfig
from core.engine.events import positions
from core.engine.features import ProductFeatures
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
    ConfiguredRecommender,
    ContributionBlock,
    Explanation,
    assemble_explanations,
)
from core.engine.models.content import (
    ContentProfiles,
    attribute_blocks,
    client_preferences,
    content_profiles,
    content_scores,
)
from core.engine.models.svd import fit_item_factors, item_contributions, unit_rows

#: Feature prefixes that never name a taste (season codes, description words).
_UNLABELLED = ("collection=", "word=")
_N_LABEL = 5
_FACTOR_SCALE_QUANTILE = 0.95
_SMALL_REQUEST = 8  # clients per request served with a single BLAS thread ...
_SMALL_FACTORS = 2**19  # ... when the item factors have fewer entries than this
_RECENT_STATES = 64  # single-client states kept, so explain reuses what recommend built


@dataclass(frozen=True)
class _State:
    """Everything a client's scores need (one row per client)."""

    rows: ClientRows
    u: np.ndarray  # (n, k) folded-in client factors
    profiles: ContentProfiles
    cf_weight: np.ndarray  # w_cf * a_cf
    content_weight: np.ndarray  # w_ct
    prior_row: np.ndarray  # -1: global trend, else store index
    new_arrival: np.ndarray  # (n, n_new) new-arrival prior of each new arrival


class HybridRecommender(ConfiguredRecommender):
    """CF + content + trend prior, blended by history strength, exactly explained.

    Parameters
    ----------
    config : EngineConfig, optional
        Engine parameters (``EngineConfig()`` when omitted).

    Attributes
    ----------
    interactions_ : Interactions
    item_factors_ : ndarray, shape (n_products, k)
        SVD factors of known products, ridge-mapped factors of cold ones.
    known_products_ : ndarray of bool, shape (n_products,)
        Products with interactions in the fit window.
    product_features_ : ProductFeatures
    features_ : csr_matrix, shape (n_products, n_features)
    ridge_coef_ : ndarray, shape (n_features, k)
    ridge_intercept_ : ndarray, shape (k,)
    factor_scale_ : float
    factor_mean_, factor_std_ : ndarray, shape (k,)
        Mean and spread of client factors (taste profiles are deviations from the mean).
    factor_labels_ : ndarray of int, shape (k, 2, 5)
        Feature indices that load most on each factor, positive then negative direction.
    trend_ : ndarray, shape (n_products,)
        Catalogue trend scaled to a maximum of 1.
    new_arrivals_ : ndarray of int, shape (n_new,)
        Products launched within ``new_arrival_days`` of the fit date (before
        or after it), whose new-arrival prior is added to the score (none
        when ``new_arrival_weight`` is 0).
    """

    explains = True

    # ---------------------------------------------------------------- fit
    def _fit(
        self,
        dataset: Dataset,
        as_of: Any = None,
        interactions: Interactions | None = None,
    ) -> None:
        """Build the matrix, factorise it, learn features and the ridge map."""
        config = self.config_
        timings: dict[str, float] = {}
        clock = time.perf_counter()

        def lap(stage: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            timings[stage] = now - clock
            clock = now

        with threadpool_limits(limits=config.n_threads):
            inter = resolve_interactions(dataset, config, as_of, interactions)
            lap("interactions")
            factors, self.singular_values_ = fit_item_factors(inter.matrix, config)
            lap("svd")
            self.product_features_ = ProductFeatures(config).fit(dataset.products)
            self.features_ = self.product_features_.transform(dataset.products)
            lap("features")
            counts = np.bincount(inter.matrix.indices, minlength=len(dataset.product_ids))
            self.known_products_ = counts > 0
            self.ridge_coef_, self.ridge_intercept_ = _fit_ridge(
                self.features_, factors, counts, config
            )
            cold = ~self.known_products_
            if cold.any():
                factors[cold] = self.features_[cold] @ self.ridge_coef_ + self.ridge_intercept_
            self.item_factors_ = factors
            lap("ridge")
            norms = np.linalg.norm(factors[self.known_products_], axis=1)
            self.factor_scale_ = (
                float(np.quantile(norms, _FACTOR_SCALE_QUANTILE)) if norms.size else 1.0
            ) or 1.0
            self.factor_mean_, self.factor_std_ = _client_factor_moments(inter.matrix, factors)
            self.factor_labels_, self.factor_loadings_ = _factor_labels(
                self.features_[self.known_products_],
                factors[self.known_products_],
                self.product_features_.feature_names_,
            )
            lap("labels")
        self.interactions_ = inter
        self._derive(dataset)
        lap("derive")
        self.fit_timings_ = timings

    def _derive(self, dataset: Dataset) -> None:
        """State computed from the fitted arrays (also after a load)."""
        inter = self.interactions_
        self.trend_ = _scaled(inter.trend)
        st = sp.csr_matrix(inter.store_trend_matrix, dtype=np.float64)
        top = st.max(axis=1).toarray().ravel()
        self._store_has_trend = top > 0
        scale = np.divide(1.0, top, out=np.zeros_like(top), where=top > 0)
        self._store_trend = sp.csr_matrix(sp.diags(scale) @ st)
        self._unit_factors = unit_rows(self.item_factors_)
        self._product_array = np.asarray(dataset.product_ids.external_ids, dtype=object)
        self._feature_names = np.asarray(self.product_features_.feature_names_, dtype=object)
        self._global_prior = self.config_.prior_weight * self.trend_
        self._blas = ThreadpoolController()
        self._recent: OrderedDict[str, _State] = OrderedDict()
        self._recent_lock = threading.Lock()
        self.new_arrivals_ = _new_arrivals(
            dataset.products["launch_date"], inter.as_of, self.config_.new_arrival_days
        )
        if self.config_.new_arrival_weight <= 0:
            self.new_arrivals_ = self.new_arrivals_[:0]
        self._new_features = sp.csr_matrix(self.features_[self.new_arrivals_])

    # ------------------------------------------------------------ scoring
    def _state(self, client_ids: Sequence[str], extra_events: pd.DataFrame | None) -> _State:
        """The clients' state; one client's (without extra events) is kept a while.

        A model's fitted arrays never change, so a client's state stays valid
        until the next fit or load: explaining the list just recommended
        reuses it instead of folding the client in a second time.
        """
        if extra_events is not None or len(client_ids) != 1:
            return self._build_state(client_ids, extra_events)
        key = str(client_ids[0])
        with self._recent_lock:
            state = self._recent.get(key)
            if state is not None:
                self._recent.move_to_end(key)
                return state
        state = self._build_state([key], None)
        with self._recent_lock:
            self._recent[key] = state
            if len(self._recent) > _RECENT_STATES:
                self._recent.popitem(last=False)
        return state

    def _build_state(self, client_ids: Sequence[str], extra_events: pd.DataFrame | None) -> _State:
        config = self.config_
        ids = [str(c) for c in client_ids]
        rows = self.interactions_.fold_in(ids, extra_events)
        u = np.asarray(rows.matrix @ self.item_factors_)
        u_norm = np.linalg.norm(u, axis=1)
        prefs = client_preferences(self.dataset_, self.product_features_, ids)
        profiles = content_profiles(rows.matrix, self.features_, prefs, config.preference_weight)
        h = rows.strength
        denom = h + config.blend_k
        w_cf = np.divide(h, denom, out=np.zeros_like(h), where=denom > 0)
        a_cf = np.divide(
            1.0, u_norm * self.factor_scale_, out=np.zeros_like(u_norm), where=u_norm > 0
        )
        # Clients without history get their home store's trend (when it has one).
        prior_row = np.full(len(ids), -1, dtype=np.int64)
        idx = positions(self.interactions_.client_ids, ids, strict=False)
        cold = (h <= 0) & (idx >= 0)
        if cold.any():
            stores = self.interactions_.home_store[idx[cold]]
            ok = stores >= 0
            ok[ok] = self._store_has_trend[stores[ok]]
            prior_row[np.flatnonzero(cold)[ok]] = stores[ok]
        new_arrival = np.zeros((len(ids), self.new_arrivals_.size))
        if self.new_arrivals_.size:
            affinity = content_scores(profiles, self._new_features)
            new_arrival = self.config_.new_arrival_weight * np.maximum(affinity, 0.0)
        return _State(rows, u, profiles, w_cf * a_cf, 1.0 - w_cf, prior_row, new_arrival)

    def _trend_prior(self, state: _State, r: int) -> tuple[np.ndarray, str]:
        """Row ``r``'s trend prior (read-only: the global one is shared) and its source."""
        s = int(state.prior_row[r])
        if s < 0:
            return self._global_prior, "trend"
        store = str(self.interactions_.store_ids.external_ids[s])
        trend = self._store_trend[s].toarray().ravel()
        return self.config_.prior_weight * trend, f"store_trend={store}"

    def _add_prior(self, state: _State, out: np.ndarray) -> np.ndarray:
        """Add every row's whole prior (trend + new arrival) to ``out`` in place."""
        glob = state.prior_row < 0
        if glob.all():
            out += self._global_prior
        else:
            for r in np.flatnonzero(~glob).tolist():
                out[r] += self._trend_prior(state, r)[0]
            out[glob] += self._global_prior
        if self.new_arrivals_.size:
            out[:, self.new_arrivals_] += state.new_arrival
        return out

    def _prior_parts(
        self, state: _State, r: int, items: np.ndarray
    ) -> list[tuple[np.ndarray, str]]:
        """Row ``r``'s prior at ``items``, split by source (they add up to :meth:`_add_prior`'s)."""
        trend, source = self._trend_prior(state, r)
        parts = [(trend[items].astype(np.float64), source)]
        if self.new_arrivals_.size:
            at = np.searchsorted(self.new_arrivals_, items)
            at = np.minimum(at, self.new_arrivals_.size - 1)
            hit = self.new_arrivals_[at] == items
            parts.append((np.where(hit, state.new_arrival[r][at], 0.0), "new_arrival"))
        return parts

    def score_parts(
        self, client_ids: Sequence[str], extra_events: pd.DataFrame | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The three additive parts of :meth:`score_clients`.

        Returns
        -------
        cf, content, prior : ndarray, shape (n_clients, n_products)
            Weighted and scaled; ``cf + content + prior`` is the score.
        """
        self.check_is_fitted()
        with self._blas_limit(len(client_ids)):
            state = self._state(client_ids, extra_events)
            cf, content = self._cf_content(state)
            prior = self._add_prior(state, np.zeros_like(cf))
        return cf, content, prior

    def _cf_content(self, state: _State) -> tuple[np.ndarray, np.ndarray]:
        """Weighted CF and content parts, shape (n_clients, n_products) each."""
        weighted = state.u * state.cf_weight[:, None]
        if weighted.shape[0] == 1:  # a matrix-vector product (BLAS gemv, threaded)
            cf = (self.item_factors_ @ weighted[0])[None, :]
        else:
            cf = weighted @ self.item_factors_.T
        content = content_scores(state.profiles, self.features_)
        content *= state.content_weight[:, None]
        return cf, content

    def _blas_limit(self, n_clients: int) -> Any:
        """One BLAS thread for small requests: threads cost more than they give there.

        A client's scores over a large catalogue (tens of thousands of
        products) are a matrix-vector product that two threads do in half the time.
        """
        if n_clients <= _SMALL_REQUEST and self.item_factors_.size < _SMALL_FACTORS:
            return self._blas.limit(limits=1)
        return contextlib.nullcontext()

    def score_clients(
        self, client_ids: Sequence[str], extra_events: pd.DataFrame | None = None
    ) -> np.ndarray:
        self.check_is_fitted()
        with self._blas_limit(len(client_ids)):
            state = self._state(client_ids, extra_events)
            cf, content = self._cf_content(state)
        content += cf
        return self._add_prior(state, content)

    def _similarity_row(self, product_idx: int) -> np.ndarray:
        factor = self._unit_factors @ self._unit_factors[product_idx]
        content = (self.features_ @ self.features_[product_idx].T).toarray().ravel()
        return np.asarray(0.5 * factor + 0.5 * content)

    def item_embedding(self) -> np.ndarray:
        """Unit-norm item factors, cold products included, shape (n_products, k), float32."""
        self.check_is_fitted()
        return self._unit_factors.astype(np.float32)

    # -------------------------------------------------------- explanations
    def explain_many(
        self,
        client_id: str,
        product_ids: Sequence[str],
        extra_events: pd.DataFrame | None = None,
    ) -> list[Explanation]:
        """:meth:`explain` for several products of one client, sharing the client's state.

        Returns
        -------
        list of Explanation
            In the order of ``product_ids``; each one's contributions add up
            to its score (to float rounding).
        """
        self.check_is_fitted()
        items = positions(self.dataset_.product_ids, list(product_ids))
        with self._blas_limit(1):
            return self._explain_items(client_id, product_ids, items, extra_events)

    def _explain_items(
        self,
        client_id: str,
        product_ids: Sequence[str],
        items: np.ndarray,
        extra_events: pd.DataFrame | None,
    ) -> list[Explanation]:
        state = self._state([client_id], extra_events)
        cf_w, ct_w = float(state.cf_weight[0]), float(state.content_weight[0])
        m = len(items)
        past, codes, parts = item_contributions(state.rows, 0, self.item_factors_, items)
        parts *= cf_w
        cf = (state.u[0] @ self.item_factors_[items].T) * cf_w
        h, q, norm = state.profiles.dense_row(0)
        content, attributes, preferences = attribute_blocks(
            h, q, norm, self.features_, items, self._feature_names, ct_w
        )
        blocks = [
            ContributionBlock.past_items(parts, self._product_array[past], codes, "cf"),
            attributes,
            preferences,
        ]
        prior = np.zeros(m)
        for values, source in self._prior_parts(state, 0, items):
            prior += values
            blocks.append(
                ContributionBlock(
                    np.arange(m), values, "prior", "prior", np.full(m, source, dtype=object)
                )
            )
        scores = {"cf": cf, "content": content, "prior": prior}
        return assemble_explanations(client_id, product_ids, scores, blocks)

    def taste_profile(
        self, client_id: str, n: int = 5, extra_events: pd.DataFrame | None = None
    ) -> pd.DataFrame:
        """The client's most distinctive latent factors, named by their attributes.

        A factor's weight is the square of how far the client's folded-in
        vector sits from the average client on it (in standard deviations);
        it is named by the product attributes that correlate most with it in
        the client's direction.

        Returns
        -------
        DataFrame
            Columns ``factor`` (int), ``share`` (sums to 1 over the rows),
            ``label`` (short text) and ``top_attributes`` (list of feature
            names, strongest first); empty for a client without history.
        """
        self.check_is_fitted()
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise ValueError(f"n must be a whole number >= 1, got {n!r}")
        cols = ["factor", "share", "label", "top_attributes"]
        rows = self.interactions_.fold_in([client_id], extra_events)
        if rows.matrix.nnz == 0:
            return pd.DataFrame(columns=cols)
        u = np.asarray(rows.matrix @ self.item_factors_).ravel()
        z = (u - self.factor_mean_) / np.where(self.factor_std_ > 0, self.factor_std_, 1.0)
        energy = z**2
        top = np.argsort(-energy, kind="stable")[: min(n, energy.size)]
        top = top[energy[top] > 0]
        if not top.size:
            return pd.DataFrame(columns=cols)
        names = self.product_features_.feature_names_
        out = []
        for f in top:
            direction = 0 if z[f] > 0 else 1
            feats = [str(names[j]) for j in self.factor_labels_[f, direction] if j >= 0]
            label = " · ".join(_short_label(a) for a in feats[:3])
            out.append((int(f), float(energy[f]), label, feats))
        frame = pd.DataFrame(out, columns=cols)
        frame["share"] = frame["share"] / frame["share"].sum()
        return frame

    # ---------------------------------------------------------- persistence
    def _get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays, inter_meta = interactions_to_state(self.interactions_, prefix="inter.")
        f_arrays, f_meta = self.product_features_.get_state()
        arrays.update({f"features.{k}": v for k, v in f_arrays.items()})
        arrays.update(csr_to_state(self.features_, "features.matrix"))
        for name in (
            "item_factors_",
            "singular_values_",
            "known_products_",
            "ridge_coef_",
            "ridge_intercept_",
            "factor_mean_",
            "factor_std_",
            "factor_labels_",
            "factor_loadings_",
        ):
            arrays[name.rstrip("_")] = getattr(self, name)
        meta = {
            "interactions": inter_meta,
            "features": f_meta,
            "factor_scale": self.factor_scale_,
            "new_arrival_prior": True,
        }
        return arrays, meta

    def _set_state(
        self, arrays: dict[str, np.ndarray], meta: dict[str, Any], dataset: Dataset
    ) -> None:
        self.interactions_ = interactions_from_state(
            arrays, meta["interactions"], dataset, prefix="inter."
        )
        f_arrays = {k[9:]: v for k, v in arrays.items() if k.startswith("features.")}
        self.product_features_ = ProductFeatures.from_state(f_arrays, meta["features"], self.config)
        shape = (len(dataset.product_ids), self.product_features_.n_features_)
        self.features_ = csr_from_state(arrays, "features.matrix", shape)
        for name in (
            "item_factors",
            "singular_values",
            "known_products",
            "ridge_coef",
            "ridge_intercept",
            "factor_mean",
            "factor_std",
            "factor_labels",
            "factor_loadings",
        ):
            setattr(self, name + "_", arrays[name])
        self.factor_scale_ = float(meta["factor_scale"])
        if not meta.get("new_arrival_prior") and self.config_.new_arrival_weight > 0:
            # Saved before the new-arrival prior existed: score as it did then.
            self.config = self.config_.with_updates(new_arrival_weight=0.0)
        self.dataset_ = dataset
        self._derive(dataset)


# ------------------------------------------------------------------ helpers
def _short_label(feature: str) -> str:
    """``material=cashmere`` -> ``cashmere``; ``price_band=5`` -> ``price band 5``."""
    key, _, value = feature.partition("=")
    return f"price band {value}" if key == "price_band" else value or key


def _scaled(v: np.ndarray) -> np.ndarray:
    top = float(v.max()) if v.size else 0.0
    return v / top if top > 0 else np.zeros_like(v, dtype=np.float64)


def _new_arrivals(launch: pd.Series, as_of: pd.Timestamp, days: float) -> np.ndarray:
    """Positions of the products launched within ``days`` of ``as_of``, before or after it."""
    dates = pd.to_datetime(launch, errors="coerce")
    age = (pd.Timestamp(as_of) - dates) / pd.Timedelta(days=1)
    return np.flatnonzero((age.abs() <= days).to_numpy(dtype=bool, na_value=False))


def _fit_ridge(
    features: sp.csr_matrix, factors: np.ndarray, counts: np.ndarray, config: EngineConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Ridge map features -> factors, learnt on products with interactions."""
    n_features, k = features.shape[1], factors.shape[1]
    train = np.flatnonzero(counts > 0)
    if train.size < 2 or n_features == 0:
        mean = factors[train].mean(axis=0) if train.size else np.zeros(k)
        return np.zeros((n_features, k)), mean
    # A constant column stands for the intercept, so the exact Cholesky solver
    # (fast: n_features is small) can be used on sparse features.
    x = sp.hstack([features[train], np.ones((train.size, 1))], format="csr")
    ridge = Ridge(alpha=config.ridge_alpha, fit_intercept=False, solver="cholesky")
    ridge.fit(x, factors[train])
    coef = np.asarray(ridge.coef_, dtype=np.float64).T  # (n_features + 1, k)
    return np.ascontiguousarray(coef[:-1]), np.ascontiguousarray(coef[-1])


def _client_factor_moments(
    matrix: sp.csr_matrix, factors: np.ndarray, chunk: int = 200_000
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of ``x V`` over clients with history."""
    k = factors.shape[1]
    active = np.flatnonzero(np.diff(matrix.indptr) > 0)
    if not active.size:
        return np.zeros(k), np.ones(k)
    total, total_sq = np.zeros(k), np.zeros(k)
    for start in range(0, active.size, chunk):
        u = np.asarray(matrix[active[start : start + chunk]] @ factors)
        total += u.sum(axis=0)
        total_sq += (u**2).sum(axis=0)
    mean = total / active.size
    var = np.maximum(total_sq / active.size - mean**2, 0.0)
    return mean, np.sqrt(var)


def _factor_labels(
    features: sp.csr_matrix, factors: np.ndarray, names: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per factor, the features most correlated with it (each direction).

    Returns
    -------
    labels : ndarray of int, shape (k, 2, 5)
        Feature indices (-1 pads), positive direction then negative.
    loadings : ndarray, shape (n_features, k)
        Correlation of each feature with each factor over known products.
    """
    m, k = factors.shape
    n_features = features.shape[1]
    labels = np.full((k, 2, _N_LABEL), -1, dtype=np.int64)
    if m < 3 or n_features == 0:
        return labels, np.zeros((n_features, k))
    f_mean = np.asarray(features.mean(axis=0)).ravel()
    f_sq = np.asarray(features.multiply(features).mean(axis=0)).ravel()
    f_std = np.sqrt(np.maximum(f_sq - f_mean**2, 0.0))
    v_mean, v_std = factors.mean(axis=0), factors.std(axis=0)
    cov = np.asarray(features.T @ factors) / m - np.outer(f_mean, v_mean)
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = cov / np.outer(f_std, v_std)
    corr = np.nan_to_num(corr)
    # Rare features correlate by accident: ask for a little support.
    support = np.asarray((features != 0).sum(axis=0)).ravel()
    named = np.array([not str(n).startswith(_UNLABELLED) for n in names], dtype=bool)
    usable = (support >= max(3, int(0.002 * m))) & named
    masked = np.where(usable[:, None], corr, 0.0)
    for f in range(k):
        for d, col in enumerate((masked[:, f], -masked[:, f])):
            order = np.argsort(-col, kind="stable")[:_N_LABEL]
            order = order[col[order] > 0]
            labels[f, d, : order.size] = order
    return labels, corr
