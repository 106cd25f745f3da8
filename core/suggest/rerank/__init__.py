"""Re-ranking: diversity, context, complete-the-look and gift mode.

- :func:`mmr` orders candidates by Maximal Marginal Relevance with caps per
  designer and per category; :func:`intra_list_diversity` measures a list.
- :func:`context_boosts` lifts products for an occasion, a season and a
  client's upcoming birthday or anniversary; each lift is recorded with the
  words to show the associate and the client.
- :func:`complete_the_look` finds complementary products in other
  categories for an anchor product (co-purchase lift plus attribute
  compatibility, optionally personalised).
- :func:`gift_candidates` scores products for a described recipient within
  a budget, ignoring the buyer's own taste.

Relevance, boosts and penalties share one scale: candidate scores min-max
scaled to [0, 1] (see :mod:`core.suggest.rules`). Item similarity is the cosine of
L2-normalised item vectors, dense or sparse (a model's ``item_embedding()``
when it has one, else :func:`attribute_vectors`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from core.data.dataset import Dataset
from core.data.schema import COLS, join_list
from core.engine.diversity import (
    ItemVectors,
    attribute_vectors,
    diversity_vectors,
    normalized_rows,
    style_tag_matrix,
)
from core.suggest.rules import ContextConfig, RuleContext, RuleSet

# Colours that read as one family in a look ("neutral tones").
COLOR_FAMILIES: dict[str, str] = {
    **{
        c: "neutral tones"
        for c in [
            "black",
            "white",
            "ivory",
            "cream",
            "ecru",
            "beige",
            "camel",
            "taupe",
            "grey",
            "gray",
            "navy",
            "charcoal",
            "stone",
            "sand",
            "tan",
            "nude",
            "off-white",
            "chocolate",
            "brown",
            "graphite",
            "cognac",
        ]
    },
    **{c: "metallics" for c in ("gold", "silver", "rose gold", "white gold", "platinum")},
    **{c: "greens" for c in ("green", "forest green", "sage", "olive", "emerald", "acid green")},
    **{c: "blues" for c in ("blue", "sky blue", "electric blue", "sapphire")},
    **{c: "reds" for c in ("red", "burgundy", "oxblood", "fuchsia", "rose")},
}

_WARM_HALVES = ("SS", "SP", "RE", "CR")
_COLD_HALVES = ("FW", "AW", "FA", "HO", "PF")
_SEASON_WORDS = {
    "spring": "warm",
    "summer": "warm",
    "autumn": "cold",
    "fall": "cold",
    "winter": "cold",
}


def color_family(color: str) -> str:
    """The colour family of ``color`` (e.g. ``"camel"`` -> ``"neutral tones"``), or the colour."""
    c = str(color).strip().lower()
    return COLOR_FAMILIES.get(c, c)


# =================================================================== vectors
def tag_matrix(dataset: Dataset) -> sp.csr_matrix:
    """Binary products x lower-cased style tags (kept with the dataset)."""
    return dataset.derived(
        (style_tag_matrix, "products"), lambda: style_tag_matrix(dataset.products["style_tags"])
    )


# ======================================================================= MMR
def mmr(
    scores: np.ndarray,
    candidates_idx: Sequence[int] | np.ndarray,
    item_vectors: Any,
    k: int,
    strength: float = 0.3,
    *,
    designers: np.ndarray | None = None,
    categories: np.ndarray | None = None,
    max_per_designer: int | None = None,
    max_per_category: int | None = None,
    selected: Sequence[int] | np.ndarray = (),
) -> np.ndarray:
    """Order candidates by Maximal Marginal Relevance, within caps.

    Each step picks the candidate maximising
    ``(1 - strength) * relevance - strength * max_similarity_to_chosen``,
    where relevance is the candidates' scores min-max scaled to [0, 1] and
    similarity the cosine of normalised item vectors. Ties go to the
    candidate listed first.

    Parameters
    ----------
    scores : ndarray, shape (n_products,)
        Relevance of every product; only ``candidates_idx`` are read.
    candidates_idx : sequence of int
        Product indices to choose from (duplicates are ignored).
    item_vectors : ndarray or sparse matrix, shape (n_products, n_dims), or None
        Only read when ``strength > 0``.
    k : int
        How many to return (fewer if the candidates or caps run out).
    strength : float in [0, 1]
        0: pure relevance order; 1: as diverse as possible.
    designers, categories : ndarray, shape (n_products,), optional
        Labels (or integer codes) for the caps.
    max_per_designer, max_per_category : int, optional
        At most this many per designer / category (``None``: no cap).
    selected : sequence of int
        Products already in the list (e.g. pinned): they count towards the
        caps and the similarity term, and are not returned.

    Returns
    -------
    ndarray of int
        The chosen product indices, best first.

    Raises
    ------
    ValueError
        For ``strength`` outside [0, 1], ``k < 0``, a cap below 1, or a cap
        without its labels.
    """
    if not 0.0 <= float(strength) <= 1.0:
        raise ValueError(f"strength must be between 0 and 1, got {strength}")
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    for name, cap, labels in (
        ("max_per_designer", max_per_designer, designers),
        ("max_per_category", max_per_category, categories),
    ):
        if cap is not None and cap < 1:
            raise ValueError(f"{name} must be at least 1 (or None for no cap), got {cap}")
        if cap is not None and labels is None:
            raise ValueError(f"{name} needs the matching labels array")
    pre = np.asarray(selected, dtype=np.int64)
    cand = np.asarray(candidates_idx, dtype=np.int64)
    cand = cand[~np.isin(cand, pre)]
    if cand.size:
        _, first = np.unique(cand, return_index=True)
        cand = cand[np.sort(first)]
    m = cand.size
    if m == 0 or k == 0:
        return np.empty(0, dtype=np.int64)
    rel = np.asarray(scores, dtype=np.float64)[cand]
    finite = np.isfinite(rel)
    lo = float(rel[finite].min()) if finite.any() else 0.0
    hi = float(rel[finite].max()) if finite.any() else 0.0
    rel = (rel - lo) / (hi - lo) if hi > lo else np.ones(m)
    rel = np.where(finite, rel, 0.0)  # -inf/NaN candidates come last
    lam = float(strength)
    v = None
    max_sim = np.zeros(m)
    if lam > 0:
        if item_vectors is None:
            raise ValueError("strength > 0 needs item_vectors to measure similarity")
        v = normalized_rows(item_vectors, cand)
        # One matrix-vector product per pick, not the full m x m similarity matrix:
        # cheaper for k << m, and small enough that BLAS does not spin up threads.
        for p in normalized_rows(item_vectors, pre) if pre.size else ():
            max_sim = np.maximum(max_sim, v @ p)
    # Caps count per label; labels are factorised over the few products involved.
    involved = np.concatenate([pre, cand])
    caps = []
    for labels, cap in ((designers, max_per_designer), (categories, max_per_category)):
        if labels is not None and cap is not None:
            codes, uniques = pd.factorize(np.asarray(labels)[involved])
            counts = np.bincount(codes[: pre.size], minlength=len(uniques))
            caps.append((codes[pre.size :], counts, cap))
    available = np.ones(m, dtype=bool)
    chosen: list[int] = []
    started = pre.size > 0
    while len(chosen) < k and available.any():
        obj = (1 - lam) * rel - lam * max_sim if started else rel.copy()
        obj = np.where(available, obj, -np.inf)
        i = int(np.argmax(obj))
        if not np.isfinite(obj[i]):
            break
        available[i] = False
        if any(counts[codes[i]] >= cap for codes, counts, cap in caps):
            continue
        chosen.append(i)
        for codes, counts, _ in caps:
            counts[codes[i]] += 1
        if v is not None:
            sim = v @ v[i]
            max_sim = np.maximum(max_sim, sim) if started else sim
        started = True
    return cand[np.array(chosen, dtype=np.int64)]


# =================================================================== context
@dataclass(frozen=True)
class Boost:
    """One context lift: ``amount`` per product and its wording."""

    name: str
    amount: np.ndarray
    associate: str
    client: str


@dataclass(frozen=True)
class ContextBoosts:
    """Every context lift for one request.

    Attributes
    ----------
    total : ndarray, shape (n_products,)
        Sum of the lifts, added to [0, 1]-scaled relevance by the pipeline.
    parts : tuple of Boost
    """

    total: np.ndarray
    parts: tuple[Boost, ...] = ()

    def reasons(self, j: int) -> tuple[list[str], list[str]]:
        """(associate wording, client wording) of the lifts product ``j`` received."""
        hits = [b for b in self.parts if b.amount[j] > 0]
        return [b.associate for b in hits], [b.client for b in hits]


def season_codes(season: str, as_of: pd.Timestamp) -> tuple[list[str], str]:
    """Collections to lift and the warmth half (``"warm"``/``"cold"``) for a season.

    ``season`` is a collection code (``"FW26"``), a word (``"winter"``) or
    ``"auto"`` (the collection current at ``as_of`` and the next one).

    Raises
    ------
    ValueError
        For anything else.
    """
    s = str(season).strip()
    low = s.lower()
    if low == "auto":
        yy = as_of.year % 100
        if as_of.month < 7:
            return [f"SS{yy:02d}", f"FW{yy:02d}"], "warm"
        return [f"FW{yy:02d}", f"SS{(yy + 1) % 100:02d}"], "cold"
    if low in _SEASON_WORDS:
        return [], _SEASON_WORDS[low]
    up = s.upper()
    if len(up) == 4 and up[2:].isdigit():
        if up[:2] in _WARM_HALVES:
            return [up], "warm"
        if up[:2] in _COLD_HALVES:
            return [up], "cold"
    raise ValueError(
        f"unknown season {season!r}; use a collection code like 'FW26' or 'SS27', a word "
        "(spring, summer, autumn, fall, winter) or 'auto'"
    )


def days_until(date: Any, as_of: pd.Timestamp) -> int | None:
    """Days from ``as_of`` to the next yearly recurrence of ``date`` (0 = today)."""
    if date is None or (not isinstance(date, pd.Timestamp) and pd.isna(date)):
        return None
    d = pd.Timestamp(date)
    if pd.isna(d):
        return None
    today = pd.Timestamp(as_of).normalize()
    for year in (today.year, today.year + 1):
        day = d.day
        if (
            d.month == 2
            and d.day == 29
            and not pd.Timestamp(year=year, month=1, day=1).is_leap_year
        ):
            day = 28
        nxt = pd.Timestamp(year=year, month=d.month, day=day)
        if nxt >= today:
            return int((nxt - today).days)
    return None  # pragma: no cover


def context_boosts(
    dataset: Dataset,
    *,
    occasion: str | None = None,
    season: str | None = None,
    client_row: pd.Series | None = None,
    as_of: pd.Timestamp | None = None,
    config: ContextConfig | None = None,
) -> ContextBoosts:
    """Lifts for an occasion, a season and the client's upcoming dates.

    Parameters
    ----------
    dataset : Dataset
    occasion : str, optional
        A key of ``config.occasions`` (evening, work, wedding, travel, gift).
    season : str, optional
        See :func:`season_codes`.
    client_row : Series, optional
        The client; their birthday and anniversary lift giftable products
        when within ``config.dates.within_days``. Pass it only for
        personalised suggestions.
    as_of : Timestamp, optional
        "Today"; default ``dataset.as_of``.
    config : ContextConfig, optional
        Default: the shipped policy's ``[context]``.

    Raises
    ------
    ValueError
        For an unknown occasion or season.
    """
    config = config if config is not None else RuleSet.default().context
    ctx = RuleContext.of(dataset)
    n = ctx.n_products
    as_of = pd.Timestamp(as_of) if as_of is not None else dataset.as_of
    parts: list[Boost] = []
    if occasion is not None:
        spec = config.occasions.get(str(occasion).strip().lower())
        if spec is None:
            raise ValueError(
                f"unknown occasion {occasion!r}; known: {', '.join(sorted(config.occasions))}"
            )
        m = ctx.keyword_mask(spec.keywords)
        parts.append(
            Boost(f"occasion:{occasion}", np.where(m, spec.boost, 0.0), spec.label, spec.label)
        )
    if season is not None:
        codes, half = season_codes(season, as_of)
        coll = ctx.column("products", "collection")
        sc = config.season
        for i, code in enumerate(codes):
            amount = sc.collection_boost if i == 0 else sc.next_collection_boost
            m = coll == code.lower()
            label = f"From the {code} collection"
            parts.append(Boost(f"season:{code}", np.where(m, amount, 0.0), label, label))
        warm = ctx.warmth
        m = np.isin(warm, ["heavy", "medium"]) if half == "cold" else warm == "light"
        parts.append(
            Boost("season:warmth", np.where(m, sc.warmth_boost, 0.0), "Right for the season",
                  "Right for the season")
        )  # fmt: skip
    if client_row is not None:
        dc = config.dates
        soonest: tuple[int, str] | None = None
        for col, what in (("birthday", "birthday"), ("anniversary", "anniversary")):
            days = days_until(client_row.get(col), as_of)
            if (
                days is not None
                and days <= dc.within_days
                and (soonest is None or days < soonest[0])
            ):
                soonest = (days, what)
        if soonest is not None:
            days, what = soonest
            m = ctx.category_mask(dc.categories) | ctx.keyword_mask(dc.keywords)
            when = "today" if days == 0 else "tomorrow" if days == 1 else f"in {days} days"
            parts.append(
                Boost(f"date:{what}", np.where(m, dc.boost, 0.0), f"{what.capitalize()} {when}",
                      f"For your {what}")
            )  # fmt: skip
    total = np.zeros(n, dtype=np.float64)
    for b in parts:
        total += b.amount
    return ContextBoosts(total=total, parts=tuple(parts))


# ========================================================= complete the look
def _purchase_matrix(dataset: Dataset, interactions: Any = None) -> sp.csc_matrix:
    """Binary clients x products matrix of kept, non-gift purchases (CSC, cached)."""
    if interactions is not None:
        m = getattr(interactions, "matrix", interactions)
        if not sp.issparse(m):
            raise TypeError("interactions must be a sparse matrix or have a .matrix attribute")
        b = sp.csc_matrix(m, dtype=np.float64)
        b.data = (b.data > 0).astype(np.float64)
        b.eliminate_zeros()
        return b
    ctx = RuleContext.of(dataset)
    key = ("purchase_csc",)
    if key not in ctx._masks:
        own = ctx._purchases[1]
        b = sp.csr_matrix(
            ((own.data > 0).astype(np.float64), own.indices, own.indptr), shape=own.shape
        )
        b.eliminate_zeros()
        ctx._masks[key] = b.tocsc()  # type: ignore[assignment]
    return ctx._masks[key]  # type: ignore[return-value]


def copurchase_lift(
    dataset: Dataset, anchor_idx: int, *, interactions: Any = None, shrink: float = 2.0
) -> tuple[np.ndarray, np.ndarray]:
    """Co-purchase counts with the anchor and a shrunk lift score per product.

    ``lift_j = c_j * N / (n_anchor * n_j)`` over the ``N`` clients with any
    purchase; the score is ``log(1 + lift_j) * c_j / (c_j + shrink)``, so
    one chance co-purchase counts little.

    Returns
    -------
    counts, score : ndarray, shape (n_products,)
    """
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
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = np.where(n_j > 0, counts * n_clients / (buyers.size * n_j), 0.0)
    score = np.log1p(lift) * counts / (counts + shrink)
    score[anchor_idx] = 0.0
    counts[anchor_idx] = 0.0
    return counts, score


@dataclass(frozen=True)
class LookWeights:
    """Weights of complete-the-look: co-purchase, attributes, the client's model scores."""

    copurchase: float = 0.5
    attributes: float = 0.35
    personal: float = 0.15


def _minmax(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
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
    interactions: Any = None,
    client_id: str | None = None,
    model: Any = None,
    allowed: np.ndarray | None = None,
    max_per_category: int | None = 2,
    weights: LookWeights = LookWeights(),
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

    Returns
    -------
    DataFrame
        Columns ``product_id``, ``score``, ``reason``, best first; never the
        anchor's category.

    Raises
    ------
    UnknownIdError
        For an unknown anchor.
    """
    ctx = RuleContext.of(dataset)
    a = dataset.product_ids.to_internal_one(anchor_product_id)
    cat = ctx.category_codes[0]
    eligible = cat != cat[a]
    if allowed is not None:
        eligible &= np.asarray(allowed, dtype=bool)
    p = dataset.products
    counts, co_raw = copurchase_lift(dataset, a, interactions=interactions)
    co = _minmax(co_raw, eligible)
    co[co_raw <= 0] = 0.0
    parts = _attribute_parts(dataset, a)
    attr = sum(w * parts[name] for name, w in _ATTR_WEIGHTS.items())
    personal = np.zeros(ctx.n_products)
    if model is not None and client_id is not None:
        s = np.asarray(model.score_clients([client_id])[0], dtype=np.float64)
        personal = _minmax(s, eligible & np.isfinite(s))
    score = weights.copurchase * co + weights.attributes * attr + weights.personal * personal
    score = np.where(eligible, score, -np.inf)
    order = np.flatnonzero(eligible)
    order = order[np.lexsort((order, -score[order]))]
    chosen = mmr(score, order, None, k, 0.0, categories=cat, max_per_category=max_per_category)
    anchor_name = str(p["name"].iloc[a])
    reasons = []
    for j in chosen:
        r = []
        if counts[j] > 0 and co[j] > 0:
            r.append(f"Often bought with the {anchor_name}")
        if parts["designer"][j]:
            r.append(f"Same designer ({p['designer'].iloc[j]})")
        if parts["color"][j]:
            r.append(f"Same colour family ({color_family(str(p['color'].iloc[j]))})")
        if parts["material"][j]:
            r.append(f"Also in {p['material'].iloc[j]}")
        if parts["tags"][j] > 0:
            r.append("Shares its style")
        if personal[j] >= 0.5:
            r.append("Suits the client's taste")
        if not r:
            r.append("Completes the look")
        reasons.append("; ".join(r[:2]))
    return pd.DataFrame(
        {
            COLS.product_id: dataset.product_ids.to_external(chosen),
            COLS.score: score[chosen].astype(float),
            COLS.reason: reasons,
        }
    )


_ATTR_WEIGHTS = {"designer": 0.3, "color": 0.25, "material": 0.15, "tags": 0.15, "price": 0.15}


def _attribute_parts(dataset: Dataset, a: int) -> dict[str, np.ndarray]:
    """Attribute agreement of every product with product ``a`` (each in [0, 1])."""
    ctx = RuleContext.of(dataset)
    des_codes, des_labels = ctx.designer_codes
    designer = (des_codes == des_codes[a]) & (des_labels[des_codes[a]] != "")
    color = ctx.column("products", "color")
    fam = _color_families(dataset)
    same_color = (fam == fam[a]) & (color[a] != "")
    mat = ctx.column("products", "material")
    same_mat = (mat == mat[a]) & (mat[a] != "")
    t = tag_matrix(dataset)
    overlap = np.asarray((t @ t[a].T).toarray()).ravel()
    sizes = np.asarray(t.sum(axis=1)).ravel()
    union = sizes + sizes[a] - overlap
    tags = np.divide(overlap, union, out=np.zeros_like(overlap), where=union > 0)
    price = np.maximum(ctx.price, 1.0)
    prox = 1.0 - np.minimum(1.0, np.abs(np.log2(price / price[a])) / 2.0)
    return {
        "designer": designer.astype(float),
        "color": same_color.astype(float),
        "material": same_mat.astype(float),
        "tags": tags,
        "price": prox,
    }


def _color_families(dataset: Dataset) -> np.ndarray:
    ctx = RuleContext.of(dataset)
    key = ("color_families",)
    if key not in ctx._masks:
        colors = ctx.column("products", "color")
        ctx._masks[key] = np.array([color_family(c) for c in colors], dtype=object)
    return ctx._masks[key]


# ================================================================= gift mode
@dataclass(frozen=True)
class GiftRecipient:
    """Who a gift is for, as the buyer describes them (all optional).

    ``budget_min``/``budget_max`` bound the price; ``occasion`` is a key of
    the context occasions (e.g. ``"wedding"``).
    """

    designers: tuple[str, ...] = field(default_factory=tuple)
    categories: tuple[str, ...] = field(default_factory=tuple)
    colors: tuple[str, ...] = field(default_factory=tuple)
    materials: tuple[str, ...] = field(default_factory=tuple)
    budget_min: float | None = None
    budget_max: float | None = None
    occasion: str | None = None

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


def _feature_preferences(model: Any, row: pd.Series, n: int) -> np.ndarray | None:
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
    model: Any = None,
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
    """
    ctx = RuleContext.of(dataset)
    n = ctx.n_products
    p = dataset.products
    price = ctx.price
    ok = np.ones(n, dtype=bool) if allowed is None else np.asarray(allowed, dtype=bool).copy()
    if recipient.budget_min is not None:
        ok &= price >= recipient.budget_min
    if recipient.budget_max is not None:
        ok &= price <= recipient.budget_max
    facets = {
        "designer": (ctx.column("products", "designer"), recipient.designers),
        "category": (ctx.column("products", "category"), recipient.categories),
        "color": (ctx.column("products", "color"), recipient.colors),
        "material": (ctx.column("products", "material"), recipient.materials),
    }
    matches: dict[str, np.ndarray] = {}
    for name, (values, wanted) in facets.items():
        if wanted:
            w = [x.strip().lower() for x in wanted]
            m = np.isin(values, w).astype(float)
            if name == "color":
                fams = {color_family(x) for x in w}
                m = np.maximum(m, 0.5 * np.isin(_color_families(dataset), list(fams)))
            matches[name] = m
    occ = np.zeros(n, dtype=bool)
    occ_label = None
    if recipient.occasion:
        cb = context_boosts(dataset, occasion=recipient.occasion, config=config)
        occ = cb.total > 0
        occ_label = cb.parts[0].associate
    parts = list(matches.values())
    features = _feature_preferences(model, recipient.as_client_row(), n)
    if features is not None and parts:
        parts = [features]  # the features' cosine replaces the attribute parts
    if recipient.occasion:
        parts.append(occ.astype(np.float64))
    pref = np.vstack(parts).mean(axis=0) if parts else np.zeros(n)
    pop = np.log1p(ctx.purchase_counts)
    pop = pop / pop.max() if pop.max() > 0 else pop
    score = np.asarray(pref, dtype=np.float64) + popularity_weight * pop
    idx = np.flatnonzero(ok)
    idx = idx[np.lexsort((idx, -score[idx]))][:k]
    budget = _budget_text(recipient, str(p["currency"].iloc[0]) if len(p) else "")
    reasons = []
    for j in idx:
        r = []
        if matches.get("designer") is not None and matches["designer"][j] > 0:
            r.append(f"By {p['designer'].iloc[j]}, a designer the recipient likes")
        if matches.get("category") is not None and matches["category"][j] > 0:
            r.append(f"{p['category'].iloc[j]}, as the recipient likes")
        if matches.get("color") is not None and matches["color"][j] >= 1:
            r.append(f"In {p['color'].iloc[j]}, a colour the recipient likes")
        elif matches.get("color") is not None and matches["color"][j] > 0:
            r.append(f"In {p['color'].iloc[j]}, close to the colours the recipient likes")
        if matches.get("material") is not None and matches["material"][j] > 0:
            r.append(f"In {p['material'].iloc[j]}, as the recipient likes")
        if occ_label and occ[j]:
            r.append(occ_label)
        if popularity_weight > 0 and pop[j] >= 0.5:
            r.append("A popular gift")
        if budget:
            r.append(budget)
        reasons.append("; ".join(r[:3]) or "A well-loved piece")
    return pd.DataFrame(
        {
            COLS.product_id: dataset.product_ids.to_external(idx),
            COLS.score: score[idx].astype(float),
            COLS.reason: reasons,
        }
    )


def _budget_text(r: GiftRecipient, currency: str) -> str:
    if r.budget_min is not None and r.budget_max is not None:
        return f"Within budget ({r.budget_min:,.0f}–{r.budget_max:,.0f} {currency})"
    if r.budget_max is not None:
        return f"Within budget (up to {r.budget_max:,.0f} {currency})"
    if r.budget_min is not None:
        return f"Within budget (from {r.budget_min:,.0f} {currency})"
    return ""


def item_vectors_for(model: Any, dataset: Dataset) -> ItemVectors:
    """The item vectors lists are diversified and measured in (kept with the dataset).

    See :func:`core.engine.diversity.diversity_vectors`.
    """
    if callable(getattr(model, "item_embedding", None)):
        return diversity_vectors(model, dataset.products)
    return dataset.derived(
        (attribute_vectors, "products"), lambda: attribute_vectors(dataset.products)
    )


def labels_of(dataset: Dataset, column: str) -> np.ndarray:
    """Integer codes of a product column (lower-cased), for :func:`mmr` caps."""
    ctx = RuleContext.of(dataset)
    if column == "category":
        return ctx.category_codes[0]
    if column == "designer":
        return ctx.designer_codes[0]
    return pd.factorize(ctx.column("products", column))[0]
