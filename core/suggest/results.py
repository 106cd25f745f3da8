"""What the suggestion pipeline returns: frames with the columns the pages show.

Column names come from :data:`core.data.schema.COLS`; the layouts are declared
here once:

- :data:`PRODUCT_COLUMNS`: a product as the pages show it (catalogue data and
  stock where the client shops, and in her size), built by :func:`product_frame`;
- :data:`SUGGESTION_COLUMNS`: :attr:`SuggestionResult.items`;
- :data:`IDEA_COLUMNS`: complete-the-look and gift ideas (:func:`idea_frame`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.data.dataset import Dataset
from core.data.schema import COLS
from core.engine.models.base import Explanation
from core.suggest.catalogue import Catalogue
from core.suggest.generic import OTHER, generic_words
from core.suggest.reasons import (
    CLIENT_FALLBACK,
    REASON_SEPARATOR,
    Pronouns,
    associate_reasons,
    client_reasons_many,
)
from core.suggest.rule_result import RuleResult
from core.suggest.run import Run
from core.suggest.sizes import FitReturns, SizeStock, client_sizes

#: A product as the pages show it: catalogue data, and stock where the client shops.
PRODUCT_COLUMNS: tuple[str, ...] = (
    COLS.product_id,
    COLS.name,
    COLS.designer,
    COLS.category,
    COLS.subcategory,
    COLS.color,
    COLS.material,
    COLS.price,
    COLS.currency,
    COLS.sensitive,
    COLS.launch_date,
    COLS.stock_here,
    COLS.stock_online,
    COLS.size_stock,
)
#: Columns of :attr:`SuggestionResult.items`, in order.
SUGGESTION_COLUMNS: tuple[str, ...] = (
    COLS.rank,
    *PRODUCT_COLUMNS,
    COLS.score,
    COLS.cf_score,
    COLS.content_score,
    COLS.prior_score,
    COLS.final_score,
    COLS.reason,
    COLS.reasons,
    COLS.client_reason,
    COLS.client_reasons,
    COLS.source,
    COLS.pinned,
)
#: Columns of complete-the-look and gift ideas, in order.
IDEA_COLUMNS: tuple[str, ...] = (*PRODUCT_COLUMNS, COLS.score, COLS.reason, COLS.reasons)
#: Columns of :attr:`SuggestionResult.exclusions`.
EXCLUSION_COLUMNS: tuple[str, ...] = (COLS.product_id, "rule", "detail")


@dataclass(frozen=True, eq=False)
class SuggestionResult:
    """Suggestions for one client (or one store, for generic suggestions).

    Attributes
    ----------
    client_id : str or None
    items : DataFrame
        One row per suggestion, columns :data:`SUGGESTION_COLUMNS`, best first.
        ``score`` is the model score before re-ranking (its explanation's
        ``cf_score + content_score + prior_score``), ``final_score`` the
        [0, 1]-scaled relevance after penalties and boosts that MMR ranked.
        ``reasons`` and ``client_reasons`` are the associate and the client
        wording; ``reason`` and ``client_reason`` the same joined into one
        line by :data:`~core.suggest.reasons.REASON_SEPARATOR`. ``source`` is
        ``"model"`` or ``"generic"``; ``pinned`` marks pinned rows.
    generic : bool
        Generic suggestions (no personalisation).
    banner : str or None
        A sentence to show above the list (e.g. why it is generic).
    diversity : float
        Intra-list diversity of the items (mean pairwise ``1 - cosine``).
    rule_result : RuleResult or None
        The rules' verdict for this client (``None`` for store-level lists).
    """

    client_id: str | None
    items: pd.DataFrame
    generic: bool
    banner: str | None
    diversity: float
    rule_result: RuleResult | None = None

    @property
    def exclusions(self) -> pd.DataFrame:
        """Every excluded product with its rule(s): ``product_id``, ``rule``, ``detail``."""
        if self.rule_result is None:
            return pd.DataFrame(columns=list(EXCLUSION_COLUMNS))
        return self.rule_result.exclusions


def product_frame(
    dataset: Dataset,
    idx: np.ndarray,
    store_id: str | None,
    sizes: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Catalogue rows ``idx`` (in that order) with stock, columns :data:`PRODUCT_COLUMNS`.

    Parameters
    ----------
    dataset : Dataset
    idx : ndarray of int
        Product indices.
    store_id : str or None
        The client's home store: ``stock_here`` counts it ('' for none) and
        ``stock_online`` the online stores. ``None`` (no client): both 0.
    sizes : mapping of client column to size, optional
        The client's (or a gift recipient's) sizes (:func:`core.suggest.sizes.client_sizes`):
        ``size_stock`` says what is in that size at ``store_id`` and online
        ("no 38 in Paris; 2 online", "size not on file"), '' for products not
        stocked per size or without ``sizes``.
    """
    catalogue = Catalogue.of(dataset)
    idx = np.asarray(idx, dtype=np.int64)
    p = dataset.products.iloc[idx]
    out = pd.DataFrame(
        {c: p[c].to_numpy() if c in p.columns else None for c in PRODUCT_COLUMNS[:-3]}
    )
    out[COLS.sensitive] = catalogue.sensitive[idx]
    if store_id is None:
        out[COLS.stock_here] = np.zeros(idx.size, dtype=np.int64)
        out[COLS.stock_online] = np.zeros(idx.size, dtype=np.int64)
    else:
        out[COLS.stock_here] = catalogue.quantity((store_id,) if store_id else ())[idx]
        out[COLS.stock_online] = catalogue.quantity(catalogue.online_stores)[idx]
    out[COLS.size_stock] = (
        SizeStock.of(dataset).lines(sizes, store_id or "", idx) if sizes is not None else ""
    )
    return out


def suggestion_frame(
    products: pd.DataFrame,
    *,
    scores: dict[str, np.ndarray],
    reasons: Sequence[list[str]],
    client_reasons: Sequence[list[str]],
    source: str,
    pinned: np.ndarray,
) -> pd.DataFrame:
    """A list's rows (columns :data:`SUGGESTION_COLUMNS`) from its products and wording.

    ``scores`` holds ``score``, ``cf_score``, ``content_score``, ``prior_score``
    and ``final_score``, one per row.
    """
    df = products.copy()
    df.insert(0, COLS.rank, np.arange(1, len(df) + 1, dtype=np.int64))
    for name, values in scores.items():
        df[name] = np.asarray(values, dtype=np.float64)
    df[COLS.reasons] = list(reasons)
    df[COLS.reason] = [REASON_SEPARATOR.join(r) for r in reasons]
    df[COLS.client_reasons] = list(client_reasons)
    df[COLS.client_reason] = [REASON_SEPARATOR.join(r) for r in client_reasons]
    df[COLS.source] = source
    df[COLS.pinned] = np.asarray(pinned, dtype=bool)
    return df[list(SUGGESTION_COLUMNS)]


def model_items(
    dataset: Dataset,
    run: Run,
    expls: Sequence[Explanation],
    *,
    pronoun: str | Pronouns | None = None,
) -> pd.DataFrame:
    """A model list's rows: exact score parts, both wordings merged with the context lifts.

    ``expls`` are the model's explanations of ``run.chosen``, in order.
    """
    client = run.client
    assert client is not None  # a model list is always a client's
    idx = run.chosen
    clients_words = client_reasons_many(expls, dataset, client.row, 2, client.history)
    ra, rc = [], []
    fit_words = FitReturns.of(dataset).reasons(client.history, idx)
    named: Counter[str] = Counter()  # past pieces the cards above named: each card its own
    for e, c, j, fit in zip(expls, clients_words, idx, fit_words, strict=True):
        a = associate_reasons(e, dataset, client.row, 3, pronoun=pronoun, named_before=named)
        ctx_a, ctx_c = run.boosts.reasons(int(j))
        ra.append(merge_reasons(a, ctx_a + fit, 3))
        rc.append(merge_client_reasons(c, ctx_c, 2))
    scores = {
        COLS.score: np.array([e.score for e in expls]),
        COLS.cf_score: np.array([e.cf_score for e in expls]),
        COLS.content_score: np.array([e.content_score for e in expls]),
        COLS.prior_score: np.array([e.prior_score for e in expls]),
        COLS.final_score: run.final[idx],
    }
    return suggestion_frame(
        product_frame(dataset, idx, client.home_store, client_sizes(client.row)),
        scores=scores,
        reasons=ra,
        client_reasons=rc,
        source="model",
        pinned=np.isin(idx, run.pinned),
    )


def generic_items(dataset: Dataset, run: Run, store_id: str | None = None) -> pd.DataFrame:
    """A generic list's rows, each worded by its kind (new arrival, bestseller, ...).

    ``store_id`` defaults to the client's home store.
    """
    if store_id is None:
        store_id = run.client.home_store if run.client is not None else ""
    sizes = client_sizes(run.client.row) if run.client is not None else None
    store = Catalogue.of(dataset).store_names.get(store_id, "the store")
    kind = run.generic_kind
    ra, rc = [], []
    for j in run.chosen:
        a, c = generic_words(int(kind[j]) if kind is not None else OTHER, store)
        ctx_a, ctx_c = run.boosts.reasons(int(j))
        ra.append(merge_reasons([a], ctx_a, 3))
        rc.append(merge_reasons([c], ctx_c, 2))
    s = run.scores[run.chosen]
    zero = np.zeros(run.chosen.size)
    scores = {
        COLS.score: s,
        COLS.cf_score: zero,
        COLS.content_score: zero,
        COLS.prior_score: s,
        COLS.final_score: run.final[run.chosen],
    }
    return suggestion_frame(
        product_frame(dataset, run.chosen, store_id, sizes),
        scores=scores,
        reasons=ra,
        client_reasons=rc,
        source="generic",
        pinned=np.isin(run.chosen, run.pinned),
    )


def idea_frame(
    dataset: Dataset,
    found: pd.DataFrame,
    store_id: str | None,
    sizes: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Complete-the-look or gift ideas (``product_id``, ``score``, ``reason``) as the pages show them.

    Columns :data:`IDEA_COLUMNS`; ``reasons`` holds the one-line ``reason``;
    ``size_stock`` speaks of ``sizes`` (the client's, or a gift recipient's).
    """
    idx = dataset.product_ids.to_internal(list(found[COLS.product_id]))
    out = product_frame(dataset, idx, store_id, sizes)
    out[COLS.score] = found[COLS.score].to_numpy(dtype=np.float64)
    out[COLS.reason] = found[COLS.reason].to_numpy(dtype=object)
    out[COLS.reasons] = [[r] if isinstance(r, str) and r else [] for r in out[COLS.reason]]
    return out[list(IDEA_COLUMNS)]


def banner(dataset: Dataset, run: Run) -> str | None:
    """Why a client's list is generic (holdout or no consent); ``None`` for a model list."""
    if not run.generic or run.client is None:
        return None
    store = Catalogue.of(dataset).store_names.get(run.client.home_store, "the home store's")
    if run.holdout:
        return (
            "Holdout group: this client gets generic suggestions -- new arrivals and "
            f"{store} bestsellers -- so that the model's lift can be measured against them."
        )
    return (
        "No personalisation consent: these are generic suggestions -- new arrivals "
        f"and {store} bestsellers. The client's history is not used."
    )


def merge_reasons(model_reasons: list[str], context: list[str], n: int) -> list[str]:
    """The strongest model reason first, then context lifts, then the other reasons."""
    merged = model_reasons[:1] + context + model_reasons[1:]
    return list(dict.fromkeys(merged))[:n]


def merge_client_reasons(model_reasons: list[str], context: list[str], n: int) -> list[str]:
    """Client wording: the neutral fallback gives way to context lifts."""
    if model_reasons == [CLIENT_FALLBACK] and context:
        return list(dict.fromkeys(context))[:n]
    return merge_reasons(model_reasons, context, n)
