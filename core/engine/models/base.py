"""The one recommender contract every model follows.

Shaped after implicit's ``RecommenderBase`` and scikit-learn estimators:
parameters in ``__init__`` (stored, nothing else), ``fit`` validates and
returns ``self``, learned state lives in attributes ending in ``_``.

Every model (hybrid, SVD-only, content-only, the baselines) implements
:meth:`Recommender._fit` and :meth:`Recommender.score_clients`; ranking,
candidate sets, exclusion of seen items, batch form and argument checks are
written once, here. Models that can decompose their score also implement
:meth:`Recommender.explain`.

Public results are DataFrames whose column names come from
:data:`core.data.schema.COLS`; arrays stay inside.
"""

from __future__ import annotations

import functools
import inspect
import itertools
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, Self

import numpy as np
import pandas as pd

from core.data.dataset import Dataset
from core.data.schema import COLS, EVENT_TYPES
from core.engine.cells import AsOf, cells_mask
from core.engine.config import EngineConfig
from core.engine.events import ExtraEvents
from core.engine.interactions import Interactions
from core.engine.ranking import top_indices
from core.exceptions import NotFittedError

ContributionKind = Literal["item", "sequence", "attribute", "prior", "preference", "visual"]


class Contribution(NamedTuple):
    """One additive part of a suggestion's score.

    A named tuple: immutable, and cheap to build in the hundreds an
    explained list needs.

    Attributes
    ----------
    kind : {"item", "sequence", "attribute", "prior", "preference", "visual"}
        A past item of the client's (``source`` is its product id), a past
        purchase whose buyers went on to this product (``"sequence"``, the
        next-step block; ``source`` is the purchase's product id), a matched
        product attribute (``source`` like ``"material=cashmere"``), a prior
        (popularity, trend, new arrival), a declared preference, or the
        likeness of the product's image to the client's (``"visual"``: the
        image-embedding features summed, ``source == "visual"``).
    source : str
        What contributed.
    value : float
        Its part of the score (the parts of one suggestion add up to its score).
    component : {"cf", "content", "prior"}
        Which part of the hybrid it belongs to.
    event_type : str | None
        For ``kind == "item"``: the strongest event behind it (purchase,
        wishlist, view, ...), so wording can hide what was not volunteered.
    """

    kind: ContributionKind
    source: str
    value: float
    component: str
    event_type: str | None = None


@dataclass(frozen=True)
class Explanation:
    """Why ``product_id`` scored ``score`` for ``client_id`` (exact decomposition).

    ``sum(c.value for c in contributions) == score`` up to float rounding:
    ``contributions`` holds every part, sorted by absolute value, and
    :meth:`top` the largest few for display.
    """

    client_id: str
    product_id: str
    score: float
    cf_score: float
    content_score: float
    prior_score: float
    contributions: tuple[Contribution, ...] = field(default_factory=tuple)

    def top(self, n: int = 3, kind: ContributionKind | None = None) -> list[Contribution]:
        parts = [c for c in self.contributions if kind is None or c.kind == kind]
        return sorted(parts, key=lambda c: -c.value)[:n]

    @property
    def total(self) -> float:
        return float(sum(c.value for c in self.contributions))

    @classmethod
    def of_parts(
        cls,
        client_id: str,
        product_id: str,
        contributions: Sequence[Contribution],
        *,
        cf: float = 0.0,
        content: float = 0.0,
        prior: float = 0.0,
    ) -> Explanation:
        """The score ``cf + content + prior``, its ``contributions`` sorted by absolute value."""
        return cls(
            client_id=str(client_id),
            product_id=str(product_id),
            score=cf + content + prior,
            cf_score=cf,
            content_score=content,
            prior_score=prior,
            contributions=tuple(sorted(contributions, key=lambda c: -abs(c.value))),
        )


@dataclass(frozen=True)
class ContributionBlock:
    """Contributions of one kind to several explained products, as arrays.

    Attributes
    ----------
    product : ndarray of int, shape (n,)
        Which explained product (position in the request) each value is for.
    values : ndarray of float, shape (n,)
    kind : {"item", "sequence", "attribute", "prior", "preference", "visual"}
    component : {"cf", "content", "prior"}
    sources : ndarray of object (str), shape (n,)
    events : ndarray of object, shape (n,), optional
        Strongest event per value (``kind == "item"``).
    """

    product: np.ndarray
    values: np.ndarray
    kind: ContributionKind
    component: str
    sources: np.ndarray
    events: np.ndarray | None = None

    @classmethod
    def past_items(
        cls,
        values: np.ndarray,
        past_ids: Sequence[str] | np.ndarray,
        codes: np.ndarray,
        component: str,
        *,
        kind: ContributionKind = "item",
    ) -> ContributionBlock:
        """The client's past items' parts: ``values[a, b]`` is item ``b``'s part of product ``a``.

        ``codes`` are the items' strongest event codes (into ``EVENT_TYPES``);
        ``kind`` is ``"item"``, or ``"sequence"`` for the next-step block.
        """
        m, n_past = values.shape
        events = np.array([EVENT_TYPES[c] for c in np.asarray(codes).tolist()], dtype=object)
        return cls(
            np.repeat(np.arange(m), n_past),
            values.ravel(),
            kind,
            component,
            np.tile(np.asarray(past_ids, dtype=object), m),
            np.tile(events, m),
        )


def assemble_explanations(
    client_id: str,
    product_ids: Sequence[str],
    parts: dict[str, np.ndarray],
    blocks: Sequence[ContributionBlock],
    scores: np.ndarray | None = None,
) -> list[Explanation]:
    """Explanations of ``product_ids`` from their parts and contribution blocks.

    Parameters
    ----------
    client_id : str
    product_ids : sequence of str
    parts : dict
        ``cf``, ``content`` and ``prior`` scores, each shape (len(product_ids),);
        a product's score is their sum.
    blocks : sequence of ContributionBlock
        Every contribution, so that a product's values add up to its score.
        Zero values are left out; each product's contributions come sorted by
        absolute value (ties keep the order of ``blocks``).
    scores : ndarray, shape (len(product_ids),), optional
        The scores as the model ranks them, when it sums the parts in another
        order (they differ from the parts' sum by float rounding).
    """
    cf, content, prior = (
        np.asarray(parts[k], dtype=np.float64) for k in ("cf", "content", "prior")
    )
    total = cf + content + prior if scores is None else np.asarray(scores, dtype=np.float64)
    contribs, starts, ends = _sorted_contributions(blocks, len(product_ids))
    cid = str(client_id)
    return [
        Explanation(
            client_id=cid,
            product_id=str(pid),
            score=float(total[a]),
            cf_score=float(cf[a]),
            content_score=float(content[a]),
            prior_score=float(prior[a]),
            contributions=tuple(contribs[starts[a] : ends[a]]),
        )
        for a, pid in enumerate(product_ids)
    ]


def _sorted_contributions(
    blocks: Sequence[ContributionBlock], m: int
) -> tuple[list[Contribution], list[int], list[int]]:
    """Every non-zero contribution of ``blocks``, grouped by explained product.

    Returns the contributions (product by product, each product's sorted by
    absolute value, ties in the order of ``blocks``) and, per product ``a``,
    ``starts[a]:ends[a]``, its slice of them.
    """
    product = np.concatenate([b.product for b in blocks]).astype(np.int64)
    values = np.concatenate([b.values for b in blocks]).astype(np.float64)
    block = np.repeat(np.arange(len(blocks)), [b.values.size for b in blocks])
    kinds = np.array([b.kind for b in blocks], dtype=object)
    comps = np.array([b.component for b in blocks], dtype=object)
    sources = np.concatenate([np.asarray(b.sources, dtype=object) for b in blocks])
    events = np.concatenate(
        [
            np.asarray(b.events, dtype=object)
            if b.events is not None
            else np.empty(b.values.size, dtype=object)  # all None
            for b in blocks
        ]
    )
    keep = np.flatnonzero(values != 0.0)
    order = keep[np.lexsort((-np.abs(values[keep]), product[keep]))]
    contribs = list(
        map(
            tuple.__new__,  # what Contribution._make does, minus a per-item length check
            itertools.repeat(Contribution),
            zip(
                kinds[block[order]].tolist(),
                sources[order].tolist(),
                values[order].tolist(),
                comps[block[order]].tolist(),
                events[order].tolist(),
                strict=True,
            ),
        )
    )
    ends = np.cumsum(np.bincount(product[order], minlength=m)).tolist()
    return contribs, [0, *ends[:-1]], ends


class Recommender(ABC):
    """Base class of every model: fit, recommend, similar_products, explain."""

    #: Whether :meth:`explain` decomposes scores exactly.
    explains: bool = False

    # ------------------------------------------------------------ lifecycle
    def fit(self, dataset: Dataset, **kwargs: Any) -> Self:
        """Learn from ``dataset`` and return ``self``.

        Keyword arguments go to the model's ``_fit`` (e.g. ``as_of`` for a
        temporal split). Refitting replaces all learned state.
        """
        if not isinstance(dataset, Dataset):
            raise TypeError(
                f"fit expects a core.data.dataset.Dataset, got {type(dataset).__name__}"
            )
        params = inspect.signature(self._fit).parameters
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            unknown = [k for k in kwargs if k not in params]
            if unknown:
                raise TypeError(
                    f"unexpected fit argument(s): {', '.join(unknown)} "
                    f"({type(self).__name__} takes {', '.join(list(params)[1:]) or 'none'})"
                )
        self._fit(dataset, **kwargs)
        self.dataset_ = dataset
        return self

    @abstractmethod
    def _fit(
        self, dataset: Dataset, as_of: AsOf = None, interactions: Interactions | None = None
    ) -> None:
        """Learn from ``dataset`` as of ``as_of``, reusing ``interactions`` if given.

        :meth:`fit` has checked its keyword arguments against this signature.
        """

    def check_is_fitted(self) -> None:
        if not hasattr(self, "dataset_"):
            raise NotFittedError(
                f"{type(self).__name__} is not fitted yet: call fit(dataset) or load a saved model"
            )

    # --------------------------------------------------------------- scoring
    @abstractmethod
    def score_clients(
        self, client_ids: Sequence[str], extra_events: ExtraEvents | None = None
    ) -> np.ndarray:
        """Scores of every product for each client, shape (n_clients, n_products).

        Column order is ``dataset_.product_ids``. ``extra_events`` (same
        columns as the events table; a DataFrame or Arrow rows) are added to
        the clients' history before scoring, without refitting (fold-in). Unknown client ids that have
        extra events or declared data are scored; others raise
        :class:`~core.exceptions.UnknownIdError`.
        """

    def seen_mask(
        self, client_ids: Sequence[str], extra_events: ExtraEvents | None = None
    ) -> np.ndarray:
        """Boolean (n_clients, n_products): products each client already interacted with.

        The cells of the fitted interactions (``interactions_``) for models that
        keep them (:meth:`core.engine.interactions.Interactions.seen`), with
        ``extra_events`` folded in (a client served per request has only
        those); nothing for models without interactions.
        """
        self.check_is_fitted()
        inter = getattr(self, "interactions_", None)
        if inter is None:
            return np.zeros((len(client_ids), len(self.dataset_.product_ids)), dtype=bool)
        if extra_events is None:
            return np.asarray(inter.seen(client_ids), dtype=bool)
        return cells_mask(inter.fold_in(client_ids, extra_events).matrix)

    # --------------------------------------------------------------- ranking
    def recommend(
        self,
        client_id: str,
        k: int = 10,
        *,
        candidates: Iterable[str] | None = None,
        exclude: Iterable[str] | None = None,
        exclude_seen: bool = False,
        extra_events: ExtraEvents | None = None,
    ) -> pd.DataFrame:
        """Top-``k`` products for one client.

        Parameters
        ----------
        client_id : str
        k : int
            How many (>= 1).
        candidates : iterable of product ids, optional
            Rank only these.
        exclude : iterable of product ids, optional
            Never return these.
        exclude_seen : bool
            Drop products the client already interacted with.
        extra_events : DataFrame or pyarrow.Table, optional
            Events not in the fitted data (fold-in): a DataFrame with the
            events' columns, or a client's Arrow rows as a per-client reader
            returns them.

        Returns
        -------
        DataFrame
            Columns ``product_id``, ``score``, ``rank`` (1-based), best first.

        Raises
        ------
        ValueError
            For ``k < 1`` or a product both in ``candidates`` and ``exclude``.
        UnknownIdError
            For an unknown client or product id.
        """
        products, scores = self.recommend_arrays(
            client_id,
            k,
            candidates=candidates,
            exclude=exclude,
            exclude_seen=exclude_seen,
            extra_events=extra_events,
        )
        return pd.DataFrame(
            {
                COLS.product_id: products,
                COLS.score: scores,
                COLS.rank: np.arange(1, products.size + 1),
            }
        )

    def recommend_arrays(
        self,
        client_id: str,
        k: int = 10,
        *,
        candidates: Iterable[str] | None = None,
        exclude: Iterable[str] | None = None,
        exclude_seen: bool = False,
        extra_events: ExtraEvents | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`recommend` as two arrays, without building a DataFrame.

        Returns
        -------
        product_ids : ndarray of object, shape (m,)
        scores : ndarray of float64, shape (m,)
            Best first (``m <= k``); the same as :meth:`recommend`'s columns.
        """
        ((_, top, scores),) = self._rank(
            [str(client_id)], k, candidates, exclude, exclude_seen, extra_events
        )
        return self.dataset_.product_ids.to_external(top), scores

    def recommend_batch(
        self,
        client_ids: Sequence[str],
        k: int = 10,
        *,
        candidates: Iterable[str] | None = None,
        exclude: Iterable[str] | None = None,
        exclude_seen: bool = False,
        extra_events: ExtraEvents | None = None,
    ) -> pd.DataFrame:
        """Top-``k`` for many clients at once (same arguments as :meth:`recommend`).

        Returns
        -------
        DataFrame
            Columns ``client_id``, ``product_id``, ``score``, ``rank``.
        """
        ranked = self._rank(
            [str(c) for c in client_ids], k, candidates, exclude, exclude_seen, extra_events
        )
        sizes = [top.size for _, top, _ in ranked]
        if not sum(sizes):
            return pd.DataFrame(columns=[COLS.client_id, COLS.product_id, COLS.score, COLS.rank])
        return pd.DataFrame(
            {
                COLS.client_id: np.repeat([cid for cid, _, _ in ranked], sizes),
                COLS.product_id: self.dataset_.product_ids.to_external(
                    np.concatenate([top for _, top, _ in ranked])
                ),
                COLS.score: np.concatenate([sc for _, _, sc in ranked]),
                COLS.rank: np.concatenate([np.arange(1, n + 1) for n in sizes]),
            }
        )

    def _rank(
        self,
        client_ids: list[str],
        k: int,
        candidates: Iterable[str] | None,
        exclude: Iterable[str] | None,
        exclude_seen: bool,
        extra_events: ExtraEvents | None,
    ) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """(client id, top product indices, their scores) per client, best first."""
        allowed = self._allowed(k, candidates, exclude)
        # A copy: the masks below write into it.
        scores = np.array(self.score_clients(client_ids, extra_events), dtype=np.float64)
        if allowed is not None:
            scores[:, ~allowed] = -np.inf
        if exclude_seen:
            scores[self.seen_mask(client_ids, extra_events)] = -np.inf
        out = []
        for i, cid in enumerate(client_ids):
            s = scores[i]
            top = top_indices(s, k)
            out.append((cid, top, s[top]))
        return out

    def _allowed(
        self, k: int, candidates: Iterable[str] | None, exclude: Iterable[str] | None
    ) -> np.ndarray | None:
        """:meth:`_rank`'s arguments checked; which products may be ranked (``None``: all)."""
        self.check_is_fitted()
        if isinstance(k, bool) or not isinstance(k, int | np.integer):
            raise ValueError(f"k must be a whole number, got {k!r}")
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        pids = self.dataset_.product_ids
        allowed = None
        cand_idx = None
        if candidates is not None:
            cand_idx = pids.to_internal(list(candidates))
            allowed = np.zeros(len(pids), dtype=bool)
            allowed[cand_idx] = True
        if exclude is not None:
            ex_idx = pids.to_internal(list(exclude))
            if cand_idx is not None and np.intersect1d(cand_idx, ex_idx).size:
                clash = pids.to_external(np.intersect1d(cand_idx, ex_idx)[:3])
                raise ValueError(
                    "these products are both candidates and excluded: "
                    f"{', '.join(clash)}; remove them from one of the two sets"
                )
            if allowed is None:
                allowed = np.ones(len(pids), dtype=bool)
            allowed[ex_idx] = False
        return allowed

    # ---------------------------------------------------------- similarities
    def similar_products(self, product_id: str, k: int = 10) -> pd.DataFrame:
        """Products most similar to ``product_id`` (itself excluded).

        Returns
        -------
        DataFrame
            Columns ``product_id``, ``score``, ``rank``.
        """
        sims = self.product_similarities(product_id)
        kk = min(k, sims.size - 1)
        if kk <= 0:
            return pd.DataFrame(columns=[COLS.product_id, COLS.score, COLS.rank])
        top = top_indices(sims, kk)
        return pd.DataFrame(
            {
                COLS.product_id: self.dataset_.product_ids.to_external(top),
                COLS.score: sims[top],
                COLS.rank: np.arange(1, top.size + 1),
            }
        )

    def forget(self, client_id: str) -> None:
        """Drop whatever the model keeps in memory about ``client_id`` between calls (none here).

        A try-on session calls it when it has its list, so nothing of the
        session stays in the process (:mod:`core.suggest.session`).
        """
        del client_id  # a model that keeps nothing between calls has nothing to drop

    def product_similarities(self, product_id: str) -> np.ndarray:
        """How similar every product is to ``product_id`` (its own entry ``-inf``), in catalogue order.

        Raises
        ------
        TypeError
            For a model without a product similarity.
        """
        self.check_is_fitted()
        idx = self.dataset_.product_ids.to_internal_one(product_id)
        sims = np.asarray(self._similarity_row(idx), dtype=np.float64).copy()
        sims[idx] = -np.inf
        return sims

    def _similarity_row(self, product_idx: int) -> np.ndarray:
        raise TypeError(f"{type(self).__name__} does not define product similarity")

    # ---------------------------------------------------------- explanations
    def explain(
        self, client_id: str, product_id: str, extra_events: ExtraEvents | None = None
    ) -> Explanation:
        """Exact decomposition of ``product_id``'s score for ``client_id``.

        Models without a decomposition return a single prior contribution
        equal to the score (still exact, just not informative).
        """
        self.check_is_fitted()
        j = self.dataset_.product_ids.to_internal_one(product_id)
        s = float(self.score_clients([client_id], extra_events)[0, j])
        parts = [Contribution("prior", type(self).__name__, s, "prior")]
        return Explanation.of_parts(client_id, product_id, parts, prior=s)


@functools.cache
def _default_config() -> EngineConfig:
    """The default settings, built once (a frozen model: one per call cost 10 µs a request)."""
    return EngineConfig()


class ConfiguredRecommender(Recommender):
    """A recommender whose parameters are one :class:`~core.engine.config.EngineConfig`."""

    def __init__(self, config: EngineConfig | None = None) -> None:
        self.config = config

    @property
    def config_(self) -> EngineConfig:
        """The configuration in force (the defaults when none was given)."""
        return self.config if self.config is not None else _default_config()

    def explain(
        self, client_id: str, product_id: str, extra_events: ExtraEvents | None = None
    ) -> Explanation:
        """Every contribution to one score (see :meth:`explain_many`).

        Raises
        ------
        UnknownIdError
            For an unknown client (without extra events) or product.
        """
        return self.explain_many(client_id, [product_id], extra_events)[0]

    @abstractmethod
    def explain_many(
        self,
        client_id: str,
        product_ids: Sequence[str],
        extra_events: ExtraEvents | None = None,
    ) -> list[Explanation]:
        """Exact decompositions of several products' scores for one client."""


class StatefulRecommender(ConfiguredRecommender):
    """A configured model whose fitted state is arrays and metadata (saved and loaded by
    :mod:`core.engine.models.persistence`), fitted on an interaction matrix."""

    interactions_: Interactions

    @abstractmethod
    def _get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """The fitted state: named arrays and JSON-able metadata."""

    @abstractmethod
    def _set_state(
        self, arrays: dict[str, np.ndarray], meta: dict[str, Any], dataset: Dataset
    ) -> None:
        """Restore what :meth:`_get_state` returned, for ``dataset``."""
