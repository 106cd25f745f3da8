"""The suggestion pipeline the dashboard and the CLI call.

:meth:`Suggester.suggest` for one client and one :class:`~core.suggest.request.SuggestRequest`:

1. **Consent.** Without ``consent_personalization`` (or with
   ``consent_override=False``) the client gets generic suggestions -- new
   arrivals and their home store's bestsellers (:mod:`core.suggest.generic`)
   -- with a banner, and the model is not called: their history is not used
   at all. So does a client of the holdout group (:mod:`core.suggest.holdout`).
2. **Rules** (:mod:`core.suggest.rules`): hard exclusions give the allowed products;
   explicit filters (categories, price range) narrow them further.
3. **Candidates**: the model's top ``candidate_pool`` allowed products.
4. **Scores**: the candidates' model scores are min-max scaled to [0, 1]
   (best candidate 1, weakest 0); then ``final = relevance - penalty +
   boost - removed_neighbour``, where ``penalty`` is the rules' soft
   penalties, ``boost`` the context lifts (:func:`core.suggest.rerank.context.context_boosts`:
   occasion, season, upcoming birthday/anniversary) and
   ``removed_neighbour`` pushes down close neighbours of what associates
   removed for this client: ``removed_neighbour_penalty * clip((s - t) / (1
   - t), 0, 1)`` for a cosine ``s`` to the nearest removed product above
   the threshold ``t``. Removed products and categories themselves are
   excluded by the ``removed_by_associate`` rule and never come back.
5. **Re-ranking** with MMR (:func:`core.suggest.rerank.select.mmr`) at strength
   ``diversity``, within the per-designer/per-category caps. Pinned products
   come first, in the order given, and count towards caps and similarity.
6. **Reasons**: the model's exact explanation turned into associate and
   client wording (:mod:`core.suggest.reasons`), plus the context lifts.

The client's row, home store, consent and holdout membership are looked up
once per request. The result carries what the pages show, stock included
(:mod:`core.suggest.results`). :meth:`Suggester.why_not` says why a product
is not in the list; the batch path :meth:`Suggester.suggest_batch` skips
explanations.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

import numpy as np
import pandas as pd

from core.data.dataset import Dataset
from core.data.schema import COLS
from core.engine.diversity import ItemVectors, intra_list_diversity, normalized_rows
from core.engine.models.base import Explanation, Recommender
from core.engine.ranking import top_indices
from core.exceptions import ModelMismatchError, UnknownIdError
from core.suggest.catalogue import Catalogue, Client
from core.suggest.generic import generic_ranking
from core.suggest.holdout import in_holdout
from core.suggest.request import SuggestRequest
from core.suggest.rerank.context import ContextBoosts, context_boosts
from core.suggest.rerank.gift import GiftRecipient, gift_candidates
from core.suggest.rerank.look import complete_the_look
from core.suggest.rerank.select import item_vectors_for, mmr
from core.suggest.rerank.similar import similar_pieces
from core.suggest.results import (
    SuggestionResult,
    banner,
    generic_items,
    idea_frame,
    model_items,
)
from core.suggest.rule_result import RuleResult
from core.suggest.rules import RuleSet
from core.suggest.run import (
    Prepared,
    Run,
    final_scores,
    request_filters,
    store_rule_result,
    why_not_sentence,
)
from core.suggest.sizes import client_sizes

#: Columns of :meth:`Suggester.suggest_batch`.
BATCH_COLUMNS: tuple[str, ...] = (
    COLS.client_id,
    COLS.rank,
    COLS.product_id,
    COLS.final_score,
    COLS.source,
)


#: What :meth:`Suggester._generic_ranking` keeps a store's generic ranking under.
_GenericKey = tuple[str, str, pd.Timestamp, int, int]


class _State(TypedDict, total=False):
    """What a suggester computes once and keeps (``_check``, ``_vectors``, ``_generic_ranking``)."""

    checked: bool
    vectors: ItemVectors
    generic: dict[_GenericKey, tuple[np.ndarray, np.ndarray]]


class Suggester:
    """Suggestions for clients from a fitted model, a dataset and house rules.

    Parameters
    ----------
    model : Recommender
        Fitted on ``dataset`` (or on a dataset with the same products in the
        same order).
    dataset : Dataset
    rules : RuleSet, optional
        Default: the shipped policy (:meth:`RuleSet.default_for`).
    candidate_pool : int
        How many of the model's best allowed products are re-ranked.
    max_per_designer, max_per_category : int, optional
        Default caps of the list (``None``: no cap); per request overridable.
    removed_neighbour_penalty : float
        Largest push-down of a close neighbour of a removed product.
    removed_neighbour_threshold : float
        Cosine above which a product counts as a close neighbour.
    new_arrival_days : int
        Generic suggestions: launched within this many days of ``as_of``.
    bestseller_days : int
        Generic suggestions: store sales counted over this many days.
    pronoun : str, optional
        How associate wording refers to clients ("she", "he", "they");
        default "the client"/"their".
    as_of : Timestamp, optional
        "Today" (dates, seasons, new arrivals); default ``dataset.as_of``.
    holdout_share : float
        Share of clients in the holdout group (never model suggestions).
    """

    def __init__(
        self,
        model: Recommender,
        dataset: Dataset,
        rules: RuleSet | None = None,
        *,
        candidate_pool: int = 200,
        max_per_designer: int | None = 4,
        max_per_category: int | None = None,
        removed_neighbour_penalty: float = 0.1,
        removed_neighbour_threshold: float = 0.8,
        new_arrival_days: int = 90,
        bestseller_days: int = 180,
        pronoun: str | None = None,
        as_of: pd.Timestamp | None = None,
        holdout_share: float = 0.0,
    ) -> None:
        self.model = model
        self.dataset = dataset
        self.rules = rules
        self.candidate_pool = candidate_pool
        self.max_per_designer = max_per_designer
        self.max_per_category = max_per_category
        self.removed_neighbour_penalty = removed_neighbour_penalty
        self.removed_neighbour_threshold = removed_neighbour_threshold
        self.new_arrival_days = new_arrival_days
        self.bestseller_days = bestseller_days
        self.pronoun = pronoun
        self.as_of = as_of
        self.holdout_share = holdout_share
        self._state: _State = {}

    def in_holdout(self, client_id: str) -> bool:
        """Whether the client is in the holdout group that never gets model suggestions.

        A fixed, hash-assigned share of clients (``holdout_share``) gets the generic
        list instead, so that lift is measured against them (:mod:`core.app.outcomes`).
        """
        return in_holdout(str(client_id), self.holdout_share)

    # ------------------------------------------------------------ plumbing
    @property
    def rules_(self) -> RuleSet:
        return self.rules if self.rules is not None else RuleSet.default_for(self.dataset)

    @property
    def as_of_(self) -> pd.Timestamp:
        return pd.Timestamp(self.as_of) if self.as_of is not None else self.dataset.as_of

    @property
    def _catalogue(self) -> Catalogue:
        return Catalogue.of(self.dataset)

    def _check(self) -> None:
        if self._state.get("checked"):
            return
        if self.candidate_pool < 1:
            raise ValueError(f"candidate_pool must be at least 1, got {self.candidate_pool}")
        if not 0.0 <= self.removed_neighbour_threshold < 1.0:
            raise ValueError("removed_neighbour_threshold must be in [0, 1)")
        self.model.check_is_fitted()
        fitted = self.model.dataset_
        if fitted is not self.dataset and not fitted.product_ids.index.equals(
            self.dataset.product_ids.index
        ):
            raise ModelMismatchError(
                "the model was fitted on a catalogue with other products (or another order) "
                "than this dataset; refit the model on this dataset"
            )
        self._state["checked"] = True

    def _vectors(self) -> ItemVectors:
        if "vectors" not in self._state:
            self._state["vectors"] = item_vectors_for(self.model, self.dataset)
        return self._state["vectors"]

    # -------------------------------------------------------------- ranking
    def _prepare(self, client_id: str, request: SuggestRequest) -> Prepared:
        """The rules, filters and pins of one client's request (the client looked up once)."""
        self._check()
        pids = self.dataset.product_ids
        pinned = list(request.pinned)
        pin_idx = pids.to_internal(pinned) if pinned else np.empty(0, dtype=np.int64)
        rr = self.rules_.apply(
            self.dataset,
            client_id,
            removed_products=request.removed_products,
            removed_categories=request.removed_categories,
            allow=pinned,
            recently_shown=request.recently_shown,
            consent_override=request.consent_override,
            extra_events=request.extra_events,
        )
        filt, notes = request_filters(self._catalogue, request)
        pin_ok = pin_idx[rr.allowed[pin_idx]] if pin_idx.size else pin_idx
        _, first = np.unique(pin_ok, return_index=True)
        return Prepared(
            request=request,
            rr=rr,
            holdout=rr.personalized and self.in_holdout(client_id),
            candidates=rr.allowed & filt,
            pinned=pin_ok[np.sort(first)],
            notes=notes,
            caps=request.caps(self.max_per_designer, self.max_per_category),
        )

    def _rank(self, prep: Prepared, scores_row: np.ndarray | None = None) -> Run:
        """Score, lift and re-rank the prepared candidates: the model's list or the generic one."""
        rr, request = prep.rr, prep.request
        client = rr.client
        assert client is not None  # a client's rule result always carries the client
        if not prep.personal:
            return self._generic_run(client.home_store, prep)
        if scores_row is None:
            scores_row = self.model.score_clients([client.client_id], request.extra_events)[0]
        scores = np.asarray(scores_row, dtype=np.float64).copy()
        scores[~prep.candidates] = -np.inf
        pool = top_indices(scores, self.candidate_pool, prep.candidates)
        boosts = self._boosts(request, client.row)
        neighbour = self._neighbour_penalty(request.removed_products, pool)
        return self._finish(prep, scores, pool, rr.penalty, boosts, neighbour, client, False)

    def _boosts(
        self, request: SuggestRequest, client_row: pd.Series | None = None
    ) -> ContextBoosts:
        """The request's occasion and season lifts (and ``client_row``'s upcoming dates)."""
        return context_boosts(
            self.dataset,
            occasion=request.occasion,
            season=request.season,
            client_row=client_row,
            as_of=self.as_of_,
            config=self.rules_.context,
        )

    def _finish(
        self,
        prep: Prepared,
        scores: np.ndarray,
        pool: np.ndarray,
        penalty: np.ndarray,
        boosts: ContextBoosts,
        neighbour: np.ndarray,
        client: Client | None,
        holdout: bool,
        generic_kind: np.ndarray | None = None,
    ) -> Run:
        """The run from a pool's scores: final scores, the pinned items, then MMR's choice."""
        final = final_scores(scores, pool, penalty, boosts.total, neighbour)
        chosen = self._select(final, pool, prep)
        return Run(
            rr=prep.rr,
            client=client,
            holdout=holdout,
            candidates=prep.candidates,
            scores=scores,
            final=final,
            pool=pool,
            chosen=np.concatenate([prep.pinned[: prep.request.k], chosen]).astype(np.int64),
            pinned=prep.pinned,
            boosts=boosts,
            neighbour=neighbour,
            generic_kind=generic_kind,
            filter_notes=prep.notes,
        )

    def _select(self, final: np.ndarray, pool: np.ndarray, prep: Prepared) -> np.ndarray:
        """Fill the list after the pinned items by MMR under the designer/category caps."""
        catalogue = self._catalogue
        k, diversity = prep.request.k, prep.request.diversity
        return mmr(
            final,
            pool,
            self._vectors() if diversity > 0 else None,
            k - min(prep.pinned.size, k),
            diversity,
            designers=catalogue.designer_codes[0],
            categories=catalogue.category_codes[0],
            max_per_designer=prep.caps[0],
            max_per_category=prep.caps[1],
            selected=prep.pinned,
        )

    def _neighbour_penalty(self, removed: Sequence[str], pool: np.ndarray) -> np.ndarray:
        out = np.zeros(self._catalogue.n_products)
        idx = self.dataset.product_ids.to_internal(list(removed), strict=False)
        idx = idx[idx >= 0]
        if idx.size == 0 or pool.size == 0 or self.removed_neighbour_penalty <= 0:
            return out
        vec = self._vectors()
        sims = (normalized_rows(vec, pool) @ normalized_rows(vec, idx).T).max(axis=1)
        t = self.removed_neighbour_threshold
        out[pool] = self.removed_neighbour_penalty * np.clip((sims - t) / (1 - t), 0, 1)
        return out

    # -------------------------------------------------------------- generic
    def _generic_ranking(self, store_id: str) -> tuple[np.ndarray, np.ndarray]:
        """:func:`core.suggest.generic.generic_ranking` for a store (kept per store)."""
        key = ("generic", store_id, self.as_of_, self.new_arrival_days, self.bestseller_days)
        cache = self._state.setdefault("generic", {})
        if key not in cache:
            cache[key] = generic_ranking(
                self.dataset,
                store_id,
                self.as_of_,
                new_arrival_days=self.new_arrival_days,
                bestseller_days=self.bestseller_days,
            )
        return cache[key]

    def _generic_run(self, store_id: str, prep: Prepared) -> Run:
        """The generic list of a client who gets no model list, or of a store (no client)."""
        request, rr = prep.request, prep.rr
        base, kind = self._generic_ranking(store_id)
        scores = np.where(prep.candidates, base, -np.inf)
        pool = top_indices(scores, self.candidate_pool, prep.candidates)
        boosts = self._boosts(request)
        store_level = rr.client is None
        penalty = self.rules_.store_penalty(self.dataset, store_id) if store_level else rr.penalty
        neighbour = np.zeros(self._catalogue.n_products)
        return self._finish(
            prep, scores, pool, penalty, boosts, neighbour, rr.client, prep.holdout, kind
        )

    # --------------------------------------------------------------- public
    def suggest(self, client_id: str, request: SuggestRequest | None = None) -> SuggestionResult:
        """Up to ``request.k`` suggestions for one client, with reasons.

        Parameters
        ----------
        client_id : str
        request : SuggestRequest, optional
            How many, filters, context and what the associate did; default
            ``SuggestRequest()``.

        Returns
        -------
        SuggestionResult

        Raises
        ------
        UnknownIdError
            For an unknown client or pinned product.
        ValueError
            For an unknown category, occasion or season.
        ModelMismatchError
            When the model was fitted on another catalogue.
        """
        request = request or SuggestRequest()
        run = self._rank(self._prepare(client_id, request))
        items = generic_items(self.dataset, run) if run.generic else self._model_items(run, request)
        return SuggestionResult(
            client_id=str(client_id),
            items=items,
            generic=run.generic,
            banner=banner(self.dataset, run),
            diversity=intra_list_diversity(self._vectors(), run.chosen),
            rule_result=run.rr,
        )

    def generic_suggestions(
        self, store_id: str, request: SuggestRequest | None = None
    ) -> SuggestionResult:
        """Suggestions for a store that use nobody's history.

        New arrivals alternate with the store's bestsellers; only
        client-independent rules apply (``sensitive``, ``out_of_stock`` in
        the store and online) and the store's climate penalty.

        Raises
        ------
        UnknownIdError
            For an unknown store.
        ValueError
            When the request carries a client's options (removals, pins, ...).
        """
        request = request or SuggestRequest()
        given = request.client_options()
        if given:
            raise ValueError(
                f"a store's list reads no client: leave {', '.join(given)} out of the request"
            )
        self._check()
        catalogue = self._catalogue
        if store_id not in set(catalogue.store_ids):
            raise UnknownIdError(f"unknown store id: {store_id!r}")
        filt, notes = request_filters(self._catalogue, request)
        candidates = self.rules_.product_rules(self.dataset, store_id) & filt
        prep = Prepared(
            request=request,
            rr=store_rule_result(self.dataset, candidates),
            holdout=False,
            candidates=candidates,
            pinned=np.empty(0, dtype=np.int64),
            notes=notes,
            caps=request.caps(self.max_per_designer, self.max_per_category),
        )
        run = self._generic_run(store_id, prep)
        name = catalogue.store_names.get(store_id, store_id)
        return SuggestionResult(
            client_id=None,
            items=generic_items(self.dataset, run, store_id),
            generic=True,
            banner=f"Generic suggestions: new arrivals and {name} bestsellers.",
            diversity=intra_list_diversity(self._vectors(), run.chosen),
            rule_result=None,
        )

    # --------------------------------------------------------------- items
    def _model_items(self, run: Run, request: SuggestRequest) -> pd.DataFrame:
        """The model's list with its exact score parts and both wordings."""
        assert run.client is not None
        ids = list(self.dataset.product_ids.to_external(run.chosen))
        expls = self._explain(run.client.client_id, ids, request.extra_events)
        return model_items(self.dataset, run, expls, pronoun=self.pronoun)

    def _explain(
        self, client_id: str, product_ids: list[str], extra_events: pd.DataFrame | None
    ) -> list[Explanation]:
        if not product_ids:
            return []
        many = getattr(self.model, "explain_many", None)
        if callable(many):
            return list(many(client_id, product_ids, extra_events))
        return [self.model.explain(client_id, pid, extra_events) for pid in product_ids]

    # ------------------------------------------------------------- why not
    def why_not(
        self, client_id: str, product_id: str, request: SuggestRequest | None = None
    ) -> str:
        """Why ``product_id`` is not among ``client_id``'s suggestions for ``request``.

        Says which rule excluded it, which filter left it out, or where it
        ranks and its score breakdown (e.g. ``"Not excluded by any rule; it
        ranks #37 of 812 allowed products, below the cut of 12 (model score
        0.412 = cf 0.300 + content 0.090 + prior 0.022)"``).

        Raises
        ------
        UnknownIdError
            For an unknown client or product.
        """
        j = self.dataset.product_ids.to_internal_one(product_id)
        request = request or SuggestRequest()
        run = self._rank(self._prepare(client_id, request))
        return why_not_sentence(
            run,
            product_id,
            j,
            request.k,
            lambda: self.model.explain(client_id, product_id, request.extra_events),
        )

    # ----------------------------------------------------------- batch path
    def suggest_batch(
        self,
        client_ids: Sequence[str],
        request: SuggestRequest | None = None,
        *,
        removed: dict[str, tuple[Sequence[str], Sequence[str]]] | None = None,
        chunk_size: int = 256,
    ) -> pd.DataFrame:
        """Suggestions for many clients without explanations (exports, evaluation).

        Scores are computed ``chunk_size`` clients at a time, for the clients
        the model ranks (consent given, not in the holdout group); each client
        then goes through the same rules, boosts and MMR as :meth:`suggest`.

        Parameters
        ----------
        removed : dict, optional
            ``client_id -> (removed_products, removed_categories)``, replacing
            the request's for that client.

        Returns
        -------
        DataFrame
            Columns :data:`BATCH_COLUMNS`.
        """
        self._check()
        request = request or SuggestRequest()
        removed = removed or {}
        rows = []
        ids = [str(c) for c in client_ids]
        for start in range(0, len(ids), max(1, chunk_size)):
            preps = [
                self._prepare(cid, self._with_removed(request, removed.get(cid)))
                for cid in ids[start : start + chunk_size]
            ]
            ranked = [p.rr.client_id for p in preps if p.personal]
            scores = (
                self.model.score_clients(ranked, request.extra_events)
                if ranked
                else np.empty((0, 0))
            )
            row_of = {c: i for i, c in enumerate(ranked)}
            for prep in preps:
                cid = prep.rr.client_id
                run = self._rank(prep, scores[row_of[cid]] if cid in row_of else None)
                rows.append(
                    pd.DataFrame(
                        {
                            COLS.client_id: cid,
                            COLS.rank: np.arange(1, run.chosen.size + 1),
                            COLS.product_id: self.dataset.product_ids.to_external(run.chosen),
                            COLS.final_score: run.final[run.chosen],
                            COLS.source: "generic" if run.generic else "model",
                        }
                    )
                )
        if not rows:
            return pd.DataFrame(columns=list(BATCH_COLUMNS))
        return pd.concat(rows, ignore_index=True)

    @staticmethod
    def _with_removed(
        request: SuggestRequest, removed: tuple[Sequence[str], Sequence[str]] | None
    ) -> SuggestRequest:
        if removed is None:
            return request
        return request.replace(removed_products=removed[0], removed_categories=removed[1])

    # ------------------------------------------------------- look and gift
    def complete_the_look(
        self,
        client_id: str,
        anchor_product_id: str,
        k: int = 6,
        *,
        removed_products: Sequence[str] = (),
        removed_categories: Sequence[str] = (),
        consent_override: bool | None = None,
        extra_events: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        """Complementary products for an anchor, within this client's rules.

        Personalised by the model only with consent; ``extra_events`` are the
        client's events not in the dataset (as in :class:`SuggestRequest`).

        Returns
        -------
        DataFrame
            Columns :data:`~core.suggest.results.IDEA_COLUMNS` (product data
            and stock at the client's home store and online, ``score``,
            ``reason``, ``reasons``).
        """
        rr = self._client_rules(
            client_id, removed_products, removed_categories, consent_override, extra_events
        )
        out = complete_the_look(
            self.dataset,
            anchor_product_id,
            k,
            client_id=client_id if rr.personalized else None,
            model=self.model if rr.personalized else None,
            allowed=rr.allowed,
            extra_events=extra_events if rr.personalized else None,
        )
        return self._client_ideas(rr, out)

    def similar(
        self,
        client_id: str,
        anchor_product_id: str,
        k: int = 6,
        *,
        removed_products: Sequence[str] = (),
        removed_categories: Sequence[str] = (),
        consent_override: bool | None = None,
        extra_events: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        """Pieces like the anchor, in its category, within this client's rules ("looks like").

        The similarity is between products (the model's, images included when
        the house has them: :func:`core.suggest.rerank.similar.similar_pieces`),
        never the client's history; the client's rules decide what may be
        shown (in stock in her size, not removed, not already bought).

        Returns
        -------
        DataFrame
            Columns :data:`~core.suggest.results.IDEA_COLUMNS`, stock at the
            client's home store and online, ``size_stock`` in her size.
        """
        rr = self._client_rules(
            client_id, removed_products, removed_categories, consent_override, extra_events
        )
        out = similar_pieces(self.dataset, self.model, anchor_product_id, k, allowed=rr.allowed)
        return self._client_ideas(rr, out)

    def _client_rules(
        self,
        client_id: str,
        removed_products: Sequence[str],
        removed_categories: Sequence[str],
        consent_override: bool | None,
        extra_events: pd.DataFrame | None,
    ) -> RuleResult:
        """The client's rule verdicts for an anchor's ideas (complete the look, similar pieces)."""
        self._check()
        return self.rules_.apply(
            self.dataset,
            client_id,
            removed_products=removed_products,
            removed_categories=removed_categories,
            consent_override=consent_override,
            extra_events=extra_events,
        )

    def _client_ideas(self, rr: RuleResult, found: pd.DataFrame) -> pd.DataFrame:
        """Ideas as the pages show them: stock at the client's home store, her sizes."""
        assert rr.client is not None
        return idea_frame(self.dataset, found, rr.client.home_store, client_sizes(rr.client.row))

    def gift(
        self, recipient: GiftRecipient, k: int = 12, *, store_id: str | None = None
    ) -> pd.DataFrame:
        """Gift ideas for a described recipient (the buyer's history is not read).

        Only client-independent rules apply (``sensitive``; ``out_of_stock``
        in ``store_id`` and online, or anywhere when no store is given), and
        ``size_out_of_stock`` for the recipient's sizes when given.

        Returns
        -------
        DataFrame
            Columns :data:`~core.suggest.results.IDEA_COLUMNS`, stock at
            ``store_id`` and online; ``size_stock`` in the recipient's size.
        """
        self._check()
        sizes = recipient.sizes()
        allowed = self.rules_.product_rules(self.dataset, store_id)
        allowed &= self.rules_.size_mask(self.dataset, sizes, store_id)
        out = gift_candidates(
            self.dataset, recipient, k, self.model, allowed=allowed, config=self.rules_.context
        )
        return idea_frame(self.dataset, out, store_id or "", sizes if any(sizes.values()) else None)
