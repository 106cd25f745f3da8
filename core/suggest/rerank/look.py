"""Complete the look: complementary products from other categories for an anchor product.

Co-purchase lift (clients who bought the anchor also bought ...), attribute
compatibility (designer, colour family, material, style tags, price, and the
images' cosine when the house supplies image embeddings) and, optionally, the
client's own model scores; see :func:`complete_the_look`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.data.dataset import Dataset
from core.data.schema import COLS
from core.engine.house import house_of
from core.suggest.catalogue import Catalogue, color_family
from core.suggest.reasons import REASON_SEPARATOR
from core.suggest.rerank.select import mmr
from core.suggest.rerank.similar import VISUALLY_CLOSE

if TYPE_CHECKING:
    from core.engine.interactions import Interactions
    from core.engine.models.base import Recommender

    #: A clients x products matrix: sparse, or an :class:`Interactions` holding one.
    PurchaseSource: TypeAlias = "Interactions | sp.spmatrix | sp.sparray"

_ATTR_WEIGHTS = {"designer": 0.3, "color": 0.25, "material": 0.15, "tags": 0.15, "price": 0.15}
#: Weight of the images' cosine beside the attributes (which sum to 1), when the
#: house supplies image embeddings; without them the attributes alone count.
VISUAL_LOOK_WEIGHT = 0.3


@dataclass(frozen=True)
class LookWeights:
    """Weights of complete-the-look: co-purchase, attributes, the client's model scores."""

    copurchase: float = 0.5
    attributes: float = 0.35
    personal: float = 0.15


def _purchase_matrix(dataset: Dataset, interactions: PurchaseSource | None = None) -> sp.csc_matrix:
    """Binary clients x products matrix: ``interactions`` or kept, non-gift purchases (CSC)."""
    if interactions is None:
        return Catalogue.of(dataset).own_purchase_matrix
    m = getattr(interactions, "matrix", interactions)
    if not sp.issparse(m):
        raise TypeError("interactions must be a sparse matrix or have a .matrix attribute")
    b = sp.csc_matrix(m, dtype=np.float64)
    b.data = (b.data > 0).astype(np.float64)
    b.eliminate_zeros()
    return b


def copurchase_lift(
    dataset: Dataset,
    anchor_idx: int,
    *,
    interactions: PurchaseSource | None = None,
    shrink: float = 2.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Co-purchase counts with the anchor and a shrunk lift score per product.

    ``lift_j = c_j * N / (n_anchor * n_j)`` over the ``N`` clients with any
    purchase; the score is ``log(1 + lift_j) * c_j / (c_j + shrink)``, so
    one chance co-purchase counts little.

    Returns
    -------
    counts, score : ndarray, shape (n_products,)
    """
    house = house_of(dataset) if interactions is None else None
    if house is not None:  # served without events: the house's co-purchase counts
        return _lift(
            house.copurchase[anchor_idx].toarray().ravel(),
            house.copurchase.diagonal().astype(np.float64),
            int(house.copurchase[anchor_idx, anchor_idx]),
            max(house.n_buyers, 1),
            anchor_idx,
            shrink,
        )
    b = _purchase_matrix(dataset, interactions)
    col = b[:, anchor_idx]
    buyers = col.indices
    n_j = np.asarray(b.sum(axis=0)).ravel()
    if buyers.size == 0:
        z = np.zeros(b.shape[1])
        return z, z.copy()
    counts = (
        np.asarray(b.tocsr()[buyers].sum(axis=0)).ravel() if b.shape[0] else np.zeros(b.shape[1])
    )
    n_clients = max(int((np.diff(b.tocsr().indptr) > 0).sum()), 1)
    return _lift(counts, n_j, buyers.size, n_clients, anchor_idx, shrink)


def _lift(
    counts: np.ndarray,
    n_j: np.ndarray,
    n_anchor: int,
    n_clients: int,
    anchor_idx: int,
    shrink: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Counts and shrunk lift scores (see :func:`copurchase_lift`), the anchor's own zeroed."""
    counts = np.asarray(counts, dtype=np.float64).copy()
    if n_anchor == 0:
        z = np.zeros(counts.size)
        return z, z.copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = np.where(n_j > 0, counts * n_clients / (n_anchor * n_j), 0.0)
    score = np.log1p(lift) * counts / (counts + shrink)
    score[anchor_idx] = 0.0
    counts[anchor_idx] = 0.0
    return counts, score


def _minmax(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``x`` min-max scaled to [0, 1] over ``mask`` (0 elsewhere; 1 where all equal and > 0)."""
    out = np.zeros_like(x, dtype=np.float64)
    if not mask.any():
        return out
    vals = x[mask]
    lo, hi = float(np.min(vals)), float(np.max(vals))
    out[mask] = (vals - lo) / (hi - lo) if hi > lo else (1.0 if hi > 0 else 0.0)
    return out


def complete_the_look(
    dataset: Dataset,
    anchor_product_id: str,
    k: int = 6,
    *,
    interactions: PurchaseSource | None = None,
    client_id: str | None = None,
    model: Recommender | None = None,
    allowed: np.ndarray | None = None,
    max_per_category: int | None = 2,
    weights: LookWeights = LookWeights(),
    extra_events: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Complementary products from other categories for an anchor product.

    ``score = w_co * copurchase + w_attr * attributes + w_personal * personal``:

    - copurchase: :func:`copurchase_lift` scaled to [0, 1] (clients who
      bought the anchor also bought ...);
    - attributes in [0, 1]: same designer 0.3, same colour family 0.25, same
      material 0.15, shared style tags (Jaccard) 0.15, price proximity 0.15
      (1 at the same price, 0 at four times or a quarter of it);
    - personal: the client's model scores scaled to [0, 1] (only with both
      ``client_id`` and ``model``; the caller checks consent).

    Parameters
    ----------
    dataset : Dataset
    anchor_product_id : str
    k : int
    interactions : sparse matrix or object with ``.matrix``, optional
        Client x product matrix to count co-occurrence in; default the
        dataset's kept, non-gift purchases.
    client_id : str, optional
    model : Recommender, optional
    allowed : ndarray of bool, shape (n_products,), optional
        Only these may be returned (e.g. :attr:`RuleResult.allowed`).
    max_per_category : int, optional
        At most this many per category (a look spans categories).
    extra_events : DataFrame, optional
        The client's events not in the dataset, for the personal part.

    Returns
    -------
    DataFrame
        Columns ``product_id``, ``score``, ``reason``, best first; never the
        anchor's category.

    Raises
    ------
    UnknownIdError
        For an unknown anchor.

    Longer than 60 lines for this documentation only; the body is 22 lines.
    """
    catalogue = Catalogue.of(dataset)
    a = dataset.product_ids.to_internal_one(anchor_product_id)
    cat = catalogue.category_codes[0]
    eligible = cat != cat[a]
    if allowed is not None:
        eligible &= np.asarray(allowed, dtype=bool)
    personal = np.zeros(catalogue.n_products)
    if model is not None and client_id is not None:
        s = np.asarray(model.score_clients([client_id], extra_events)[0], dtype=np.float64)
        personal = _minmax(s, eligible & np.isfinite(s))
    score, found = _look_scores(dataset, a, eligible, interactions, personal, weights)
    order = np.flatnonzero(eligible)
    order = order[np.lexsort((order, -score[order]))]
    chosen = mmr(score, order, None, k, 0.0, categories=cat, max_per_category=max_per_category)
    anchor_name = str(dataset.products["name"].iloc[a])
    return pd.DataFrame(
        {
            COLS.product_id: dataset.product_ids.to_external(chosen),
            COLS.score: score[chosen].astype(float),
            COLS.reason: [_look_reason(dataset, j, anchor_name, found) for j in chosen],
        }
    )


def _look_scores(
    dataset: Dataset,
    a: int,
    eligible: np.ndarray,
    interactions: PurchaseSource | None,
    personal: np.ndarray,
    weights: LookWeights,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Score per product (-inf where not eligible) and what each part found, for reasons."""
    counts, co_raw = copurchase_lift(dataset, a, interactions=interactions)
    co = _minmax(co_raw, eligible)
    co[co_raw <= 0] = 0.0
    parts = _attribute_parts(Catalogue.of(dataset), a)
    attr = sum(w * parts[name] for name, w in _ATTR_WEIGHTS.items())
    images = dataset.embeddings
    if images.shape[1]:  # the house's image vectors: how close in look, in [0, 1]
        parts["visual"] = np.clip(images @ images[a], 0.0, 1.0)
        attr = (attr + VISUAL_LOOK_WEIGHT * parts["visual"]) / (1.0 + VISUAL_LOOK_WEIGHT)
    score = weights.copurchase * co + weights.attributes * attr + weights.personal * personal
    found = {"copurchase": (counts > 0) & (co > 0), "personal": personal >= 0.5, **parts}
    return np.where(eligible, score, -np.inf), found


def _look_reason(dataset: Dataset, j: int, anchor_name: str, found: dict[str, np.ndarray]) -> str:
    """The two strongest reasons product ``j`` completes the anchor's look, in one line."""
    p = dataset.products
    r = []
    if found["copurchase"][j]:
        r.append(f"Often bought with the {anchor_name}")
    if found["designer"][j]:
        r.append(f"Same designer ({p['designer'].iloc[j]})")
    if found["color"][j]:
        r.append(f"Same colour family ({color_family(str(p['color'].iloc[j]))})")
    if found["material"][j]:
        r.append(f"Also in {p['material'].iloc[j]}")
    if "visual" in found and found["visual"][j] >= VISUALLY_CLOSE:
        r.append("Matches its look (from the product images)")
    if found["tags"][j] > 0:
        r.append("Shares its style")
    if found["personal"][j]:
        r.append("Suits the client's taste")
    if not r:
        r.append("Completes the look")
    return REASON_SEPARATOR.join(r[:2])


def _attribute_parts(catalogue: Catalogue, a: int) -> dict[str, np.ndarray]:
    """Attribute agreement of every product with product ``a`` (each in [0, 1])."""
    des_codes, des_labels = catalogue.designer_codes
    designer = (des_codes == des_codes[a]) & (des_labels[des_codes[a]] != "")
    color = catalogue.column("products", "color")
    fam = catalogue.color_families
    same_color = (fam == fam[a]) & (color[a] != "")
    mat = catalogue.column("products", "material")
    same_mat = (mat == mat[a]) & (mat[a] != "")
    t = catalogue.style_tags
    overlap = np.asarray((t @ t[a].T).toarray()).ravel()
    sizes = np.asarray(t.sum(axis=1)).ravel()
    union = sizes + sizes[a] - overlap
    tags = np.divide(overlap, union, out=np.zeros_like(overlap), where=union > 0)
    price = np.maximum(catalogue.price, 1.0)
    prox = 1.0 - np.minimum(1.0, np.abs(np.log2(price / price[a])) / 2.0)
    return {
        "designer": designer.astype(float),
        "color": same_color.astype(float),
        "material": same_mat.astype(float),
        "tags": tags,
        "price": prox,
    }
