"""One request as the pipeline works it through, and how it answers "why not?".

Internal to :mod:`core.suggest.pipeline`: :class:`Prepared` is a request after
the rules and filters (:func:`request_filters`), :class:`Run` keeps every
intermediate array of the ranking (:func:`final_scores`), and
:func:`why_not_sentence` reads a run to say which rule excluded a product,
which filter left it out, or where it ranks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from core.data.dataset import Dataset
from core.engine.models.base import Explanation
from core.suggest.catalogue import Catalogue, Client
from core.suggest.request import SuggestRequest
from core.suggest.rerank.context import ContextBoosts
from core.suggest.rule_result import RuleResult

NO_CONSENT_PREFIX = (
    "Personalisation is off for this client (no consent): generic suggestions only. "
)


@dataclass(frozen=True, eq=False)
class Prepared:
    """One request after the rules and filters, before any scoring.

    ``rr.client`` is ``None`` for a store's list; ``holdout`` marks a
    consenting client of the holdout group.
    """

    request: SuggestRequest
    rr: RuleResult
    holdout: bool
    candidates: np.ndarray
    pinned: np.ndarray
    notes: list[str]
    caps: tuple[int | None, int | None]

    @property
    def personal(self) -> bool:
        """Whether the model ranks this list (consent given, not in the holdout group)."""
        return self.rr.personalized and not self.holdout


def request_filters(catalogue: Catalogue, request: SuggestRequest) -> tuple[np.ndarray, list[str]]:
    """Products within the request's categories and price range, and how to say it.

    Raises
    ------
    ValueError
        For an unknown category.
    """
    mask = np.ones(catalogue.n_products, dtype=bool)
    notes = []
    cats = list(request.categories)
    if cats:
        labels = set(catalogue.category_codes[1])
        unknown = [c for c in cats if c.strip().lower() not in labels]
        if unknown:
            raise ValueError(
                f"unknown categor{'ies' if len(unknown) > 1 else 'y'} "
                f"{', '.join(map(repr, unknown))}; known: {', '.join(sorted(labels))}"
            )
        mask &= catalogue.category_mask(cats)
        notes.append(f"category not in {', '.join(cats)}")
    if request.price_min is not None:
        mask &= catalogue.price >= request.price_min
        notes.append(f"price below {request.price_min:,.0f}")
    if request.price_max is not None:
        mask &= catalogue.price <= request.price_max
        notes.append(f"price above {request.price_max:,.0f}")
    return mask, notes


def final_scores(
    scores: np.ndarray,
    pool: np.ndarray,
    penalty: np.ndarray,
    boost: np.ndarray,
    neighbour: np.ndarray,
) -> np.ndarray:
    """Relevance scaled on the pool ([0, 1] there) minus penalties plus boosts; -inf elsewhere."""
    final = np.full(scores.shape, -np.inf)
    if pool.size == 0:
        return final
    lo, hi = float(scores[pool].min()), float(scores[pool].max())
    finite = np.isfinite(scores)
    rel = np.zeros(scores.shape)
    rel[finite] = (scores[finite] - lo) / (hi - lo) if hi > lo else 1.0
    final[finite] = rel[finite] - penalty[finite] + boost[finite] - neighbour[finite]
    return final


def store_rule_result(dataset: Dataset, allowed: np.ndarray) -> RuleResult:
    """A rule result for a store-level list (no client)."""
    n = len(dataset.product_ids)
    return RuleResult(
        client_id="",
        product_ids=dataset.product_ids,
        allowed=allowed,
        penalty=np.zeros(n),
        personalized=False,
    )


@dataclass
class Run:
    """Everything one ranking computed (for the items and for why-not).

    ``client`` is ``None`` for a store-level list; ``holdout`` marks a
    consenting client of the holdout group (who gets the generic list).
    """

    rr: RuleResult
    client: Client | None
    holdout: bool
    candidates: np.ndarray  # bool, allowed and within filters
    scores: np.ndarray  # model (or generic) score per product; -inf where not candidate
    final: np.ndarray  # scaled relevance - penalty + boost - neighbour; -inf outside
    pool: np.ndarray  # candidate pool, best first
    chosen: np.ndarray  # final list (pinned first)
    pinned: np.ndarray
    boosts: ContextBoosts
    neighbour: np.ndarray
    generic_kind: np.ndarray | None = None
    filter_notes: list[str] = field(default_factory=list)

    @property
    def generic(self) -> bool:
        """Whether the list is generic (no consent, holdout, or a store's list)."""
        return self.generic_kind is not None

    def extrapolated_final(self, j: int) -> float:
        """Product ``j``'s final score on the pool's scale, also when it is outside the pool."""
        if np.isfinite(self.final[j]):
            return float(self.final[j])
        pool = self.pool
        if pool.size == 0 or not np.isfinite(self.scores[j]):
            return -np.inf
        lo, hi = float(self.scores[pool].min()), float(self.scores[pool].max())
        rel = (self.scores[j] - lo) / (hi - lo) if hi > lo else 1.0
        return float(rel - self.rr.penalty[j] + self.boosts.total[j])


def why_not_sentence(
    run: Run, product_id: str, j: int, k: int, explain: Callable[[], Explanation]
) -> str:
    """Why product ``j`` (``product_id``) is not in ``run``'s list of ``k``.

    ``explain`` gives the model's explanation of the product, read for the
    score breakdown when the client's history may be used.
    """
    rr = run.rr
    prefix = "" if rr.personalized else NO_CONSENT_PREFIX
    hits = rr.excluded_by(product_id)
    if hits:
        return prefix + "Excluded by " + "; also by ".join(f"{r}: {d}" for r, d in hits)
    if not run.candidates[j]:
        return (
            prefix + "Filtered out by this request's filters (" + "; ".join(run.filter_notes) + ")"
        )
    pos = np.flatnonzero(run.chosen == j)
    if pos.size:
        return prefix + f"It is suggested, at #{int(pos[0]) + 1}"
    cand = np.flatnonzero(run.candidates)
    finals = np.where(np.isfinite(run.final[cand]), run.final[cand], -np.inf)
    rank = int((finals > run.extrapolated_final(j)).sum()) + 1
    where = (
        f"it ranks #{rank} of {cand.size:,} allowed products, below the cut of {k}"
        if rank > k
        else f"it ranks #{rank} of {cand.size:,} but diversity re-ranking (similar items "
        "or the designer/category caps) left it out"
    )
    text = prefix + "Not excluded by any rule; " + where
    if rr.personalized:
        text += _breakdown(run, product_id, j, explain())
    return text


def _breakdown(run: Run, product_id: str, j: int, e: Explanation) -> str:
    """`` (model score ... = cf ... + content ... + prior ...; penalties, boosts)``."""
    text = (
        f" (model score {e.score:.3f} = cf {e.cf_score:.3f} + content "
        f"{e.content_score:.3f} + prior {e.prior_score:.3f}"
    )
    extras = [f"{r} -{p:.2f}" for r, p, _ in run.rr.penalised_by(product_id)]
    if run.neighbour[j] > 0:
        extras.append(f"close to a removed product -{run.neighbour[j]:.2f}")
    extras += [f"{b.associate} +{b.amount[j]:.2f}" for b in run.boosts.parts if b.amount[j] > 0]
    return text + ("; " + ", ".join(extras) if extras else "") + ")"
