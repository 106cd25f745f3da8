"""Gift mode: products for a recipient the buyer describes, within a budget.

The buyer's own taste is never read: :func:`gift_candidates` scores the
described facets (designer, category, colour, material, occasion), or the
cosine with the recipient's preference vector when the model has product
features, plus popularity over all clients.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from core.data.dataset import Dataset
from core.data.schema import COLS, join_list
from core.engine.models.base import Recommender
from core.suggest.catalogue import Catalogue, color_family
from core.suggest.policy import ContextConfig
from core.suggest.reasons import REASON_SEPARATOR
from core.suggest.rerank.context import context_boosts
from core.suggest.sizes import client_sizes


@dataclass(frozen=True)
class GiftRecipient:
    """Who a gift is for, as the buyer describes them (all optional).

    ``budget_min``/``budget_max`` bound the price; ``occasion`` is a key of
    the context occasions (e.g. ``"wedding"``). ``size_rtw``, ``size_shoes``
    and ``size_ring`` are the recipient's sizes when the buyer knows them:
    products stocked per size then need that size where the gift is bought.
    """

    designers: tuple[str, ...] = field(default_factory=tuple)
    categories: tuple[str, ...] = field(default_factory=tuple)
    colors: tuple[str, ...] = field(default_factory=tuple)
    materials: tuple[str, ...] = field(default_factory=tuple)
    budget_min: float | None = None
    budget_max: float | None = None
    occasion: str | None = None
    size_rtw: str = ""
    size_shoes: str = ""
    size_ring: str = ""

    def sizes(self) -> dict[str, str]:
        """The recipient's sizes by client column (:func:`core.suggest.sizes.client_sizes`)."""
        return client_sizes(
            {"size_rtw": self.size_rtw, "size_shoes": self.size_shoes, "size_ring": self.size_ring}
        )

    def __post_init__(self) -> None:
        for name in ("designers", "categories", "colors", "materials"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, (value,))
            else:
                object.__setattr__(self, name, tuple(str(v) for v in value))
        lo, hi = self.budget_min, self.budget_max
        if lo is not None and lo < 0 or hi is not None and hi < 0:
            raise ValueError("a budget cannot be negative")
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"budget_min ({lo:g}) is above budget_max ({hi:g}); swap them")

    def as_client_row(self) -> pd.Series:
        """The recipient as a client row with declared preferences (for feature models)."""
        return pd.Series(
            {
                "client_id": "",
                "pref_designers": join_list(self.designers),
                "pref_categories": join_list(self.categories),
                "pref_colors": join_list(self.colors),
                "pref_materials": join_list(self.materials),
                "price_min": self.budget_min,
                "price_max": self.budget_max,
            }
        )


def _feature_preferences(model: Recommender | None, row: pd.Series, n: int) -> np.ndarray | None:
    """Cosine of each product's features with a preference vector, if the model has both."""
    if model is None:
        return None
    matrix = getattr(model, "features_", None)
    featurizer = None
    for name in ("product_features_", "featurizer_", "feature_model_", "content_features_"):
        cand = getattr(model, name, None)
        if cand is not None and callable(getattr(cand, "preference_vector", None)):
            featurizer = cand
            break
    if featurizer is None or matrix is None or not sp.issparse(matrix) or matrix.shape[0] != n:
        return None
    pv = featurizer.preference_vector(row)
    if pv is None or pv.shape[1] != matrix.shape[1] or pv.nnz == 0:
        return None
    pv = normalize(sp.csr_matrix(pv, dtype=np.float64))
    return np.asarray((sp.csr_matrix(matrix) @ pv.T).toarray()).ravel()


def gift_candidates(
    dataset: Dataset,
    recipient: GiftRecipient,
    k: int = 12,
    model: Recommender | None = None,
    *,
    allowed: np.ndarray | None = None,
    config: ContextConfig | None = None,
    popularity_weight: float = 0.2,
) -> pd.DataFrame:
    """Products for a described recipient within budget; the buyer's taste is ignored.

    ``score = preference + popularity_weight * popularity``: preference is
    the share of described facets (designer, category, colour, material,
    occasion) the product matches -- a colour of the same family counts
    half; when ``model`` carries a fitted
    :class:`core.engine.features.ProductFeatures` (``product_features_``, with
    ``preference_vector``) and its ``features_`` matrix, the cosine of the
    product's features with the recipient's preference vector replaces the
    attribute facets. Popularity is ``log(1 + units kept)`` over all
    clients, scaled to [0, 1]; no single client's history is read.

    Parameters
    ----------
    dataset : Dataset
    recipient : GiftRecipient
    k : int
    model : Recommender, optional
        Only its product features are used, never a client's scores.
    allowed : ndarray of bool, optional
        Only these may be returned (e.g. in stock, not sensitive).
    config : ContextConfig, optional
        Occasion keywords; default the shipped policy's.

    Returns
    -------
    DataFrame
        Columns ``product_id``, ``score``, ``reason``, best first.

    Raises
    ------
    ValueError
        For an unknown occasion.

    Longer than 60 lines for this documentation only; the body is 26 lines.
    """
    catalogue = Catalogue.of(dataset)
    n = catalogue.n_products
    price = catalogue.price
    ok = np.ones(n, dtype=bool) if allowed is None else np.asarray(allowed, dtype=bool).copy()
    if recipient.budget_min is not None:
        ok &= price >= recipient.budget_min
    if recipient.budget_max is not None:
        ok &= price <= recipient.budget_max
    matches = _facet_matches(catalogue, recipient)
    occ, occ_label = _occasion(dataset, recipient, config)
    pref = _preference(model, recipient, matches, occ, n)
    pop = np.log1p(catalogue.purchase_counts)
    pop = pop / pop.max() if pop.max() > 0 else pop
    score = np.asarray(pref, dtype=np.float64) + popularity_weight * pop
    idx = np.flatnonzero(ok)
    idx = idx[np.lexsort((idx, -score[idx]))][:k]
    p = dataset.products
    budget = _budget_text(recipient, str(p["currency"].iloc[0]) if len(p) else "")
    found = {**matches, "occasion": occ, "popular": (popularity_weight > 0) & (pop >= 0.5)}
    return pd.DataFrame(
        {
            COLS.product_id: dataset.product_ids.to_external(idx),
            COLS.score: score[idx].astype(float),
            COLS.reason: [_gift_reason(p, int(j), found, occ_label, budget) for j in idx],
        }
    )


def _occasion(
    dataset: Dataset, recipient: GiftRecipient, config: ContextConfig | None
) -> tuple[np.ndarray, str | None]:
    """Products for the recipient's occasion, and its label (none without an occasion)."""
    if not recipient.occasion:
        return np.zeros(len(dataset.product_ids), dtype=bool), None
    cb = context_boosts(dataset, occasion=recipient.occasion, config=config)
    return cb.total > 0, cb.parts[0].associate


def _preference(
    model: Recommender | None,
    recipient: GiftRecipient,
    matches: dict[str, np.ndarray],
    occasion: np.ndarray,
    n: int,
) -> np.ndarray:
    """Mean of the described facets the product matches (or the features' cosine) and the occasion."""
    parts = list(matches.values())
    features = _feature_preferences(model, recipient.as_client_row(), n)
    if features is not None and parts:
        parts = [features]  # the features' cosine replaces the attribute parts
    if recipient.occasion:
        parts.append(occasion.astype(np.float64))
    return np.vstack(parts).mean(axis=0) if parts else np.zeros(n)


def _facet_matches(catalogue: Catalogue, recipient: GiftRecipient) -> dict[str, np.ndarray]:
    """Per described facet, how well each product matches (1; a colour of the family 0.5)."""
    facets = {
        "designer": recipient.designers,
        "category": recipient.categories,
        "color": recipient.colors,
        "material": recipient.materials,
    }
    matches: dict[str, np.ndarray] = {}
    for name, wanted in facets.items():
        if wanted:
            w = [x.strip().lower() for x in wanted]
            m = np.isin(catalogue.column("products", name), w).astype(float)
            if name == "color":
                fams = {color_family(x) for x in w}
                m = np.maximum(m, 0.5 * np.isin(catalogue.color_families, list(fams)))
            matches[name] = m
    return matches


def _gift_reason(
    p: pd.DataFrame, j: int, found: dict[str, np.ndarray], occasion: str | None, budget: str
) -> str:
    """Up to three reasons product ``j`` suits the recipient, in one line."""
    r = []
    if "designer" in found and found["designer"][j] > 0:
        r.append(f"By {p['designer'].iloc[j]}, a designer the recipient likes")
    if "category" in found and found["category"][j] > 0:
        r.append(f"{p['category'].iloc[j]}, as the recipient likes")
    if "color" in found and found["color"][j] >= 1:
        r.append(f"In {p['color'].iloc[j]}, a colour the recipient likes")
    elif "color" in found and found["color"][j] > 0:
        r.append(f"In {p['color'].iloc[j]}, close to the colours the recipient likes")
    if "material" in found and found["material"][j] > 0:
        r.append(f"In {p['material'].iloc[j]}, as the recipient likes")
    if occasion and found["occasion"][j]:
        r.append(occasion)
    if found["popular"][j]:
        r.append("A popular gift")
    if budget:
        r.append(budget)
    return REASON_SEPARATOR.join(r[:3]) or "A well-loved piece"


def _budget_text(r: GiftRecipient, currency: str) -> str:
    if r.budget_min is not None and r.budget_max is not None:
        return f"Within budget ({r.budget_min:,.0f}–{r.budget_max:,.0f} {currency})"
    if r.budget_max is not None:
        return f"Within budget (up to {r.budget_max:,.0f} {currency})"
    if r.budget_min is not None:
        return f"Within budget (from {r.budget_min:,.0f} {currency})"
    return ""
