"""The suggestion pipeline the dashboard and the CLI call.

:meth:`Suggester.suggest` for one client:

1. **Consent.** Without ``consent_personalization`` (or with
   ``consent_override=False``) the client gets generic suggestions -- new
   arrivals and their home store's bestsellers -- with a banner, and the
   model is not called: their history is not used at all.
2. **Rules** (:mod:`core.suggest.rules`): hard exclusions give the allowed products;
   explicit filters (categories, price range) narrow them further.
3. **Candidates**: the model's top ``candidate_pool`` allowed products.
4. **Scores**: the candidates' model scores are min-max scaled to [0, 1]
   (best candidate 1, weakest 0); then ``final = relevance - penalty +
   boost - removed_neighbour``, where ``penalty`` is the rules' soft
   penalties, ``boost`` the context lifts (:func:`core.suggest.rerank.context_boosts`:
   occasion, season, upcoming birthday/anniversary) and
   ``removed_neighbour`` pushes down close neighbours of what associates
   removed for this client: ``removed_neighbour_penalty * clip((s - t) / (1
   - t), 0, 1)`` for a cosine ``s`` to the nearest removed product above
   the threshold ``t``. Removed products and categories themselves are
   excluded by the ``removed_by_associate`` rule and never come back.
5. **Re-ranking** with MMR (:func:`core.suggest.rerank.mmr`) at strength
   ``diversity``, within the per-designer/per-category caps. Pinned products
   come first, in the order given, and count towards caps and similarity.
6. **Reasons**: the model's exact explanation turned into associate and
   client wording (:mod:`core.suggest.reasons`), plus the context lifts.

:meth:`Suggester.why_not` says why a product is not in the list; the batch
path :meth:`Suggester.suggest_batch` skips explanations.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.data.dataset import Dataset
from core.engine.diversity import intra_list_diversity, normalized_rows
from core.engine.models.base import Explanation, Recommender
from core.engine.ranking import top_indices
from core.exceptions import ModelMismatchError, UnknownIdError
from core.suggest.holdout import in_holdout
from core.suggest.reasons import CLIENT_FALLBACK, associate_reasons, client_reasons_many
from core.suggest.rerank import (
    ContextBoosts,
    GiftRecipient,
    complete_the_look,
    context_boosts,
    gift_candidates,
    item_vectors_for,
    mmr,
)
from core.suggest.rules import RuleContext, RuleResult, RuleSet

#: Columns of :attr:`SuggestionResult.items`, in order.
ITEM_COLUMNS: tuple[str, ...] = (
    "rank",
    "product_id",
    "name",
    "designer",
    "category",
    "price",
    "score",
    "cf_score",
    "content_score",
    "prior_score",
    "final_score",
    "associate_reason",
    "client_reason",
    "reasons_associate",
    "reasons_client",
    "stock_here",
    "stock_online",
    "source",
    "pinned",
)
REASON_SEPARATOR = " · "


@dataclass(frozen=True, eq=False)
class SuggestionResult:
    """Suggestions for one client (or one store, for generic suggestions).

    Attributes
    ----------
    client_id : str or None
    items : DataFrame
        One row per suggestion, columns :data:`ITEM_COLUMNS`, best first.
        ``score`` is the model score before re-ranking (its explanation's
        ``cf_score + content_score + prior_score``), ``final_score`` the
        [0, 1]-scaled relevance after penalties and boosts that MMR ranked.
        ``source`` is ``"model"`` or ``"generic"``; ``pinned`` marks pinned rows.
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
            return pd.DataFrame(columns=["product_id", "rule", "detail"])
        return self.rule_result.exclusions


@dataclass
class _Run:
    """Everything one ranking computed (internal; for items and why_not)."""

    rr: RuleResult
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


class Suggester:
    """Suggestions for clients from a fitted model, a dataset and house rules.

    Parameters
    ----------
    model : Recommender
        Fitted on ``dataset`` (or on a dataset with the same products in the
        same order).
    dataset : Dataset
    rules : RuleSet, optional
        Default: :meth:`RuleSet.default` (the shipped policy).
    candidate_pool : int
        How many of the model's best allowed products are re-ranked.
    max_per_designer, max_per_category : int, optional
        Default caps of the list (``None``: no cap); per call overridable.
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
        self._state: dict[str, Any] = {}

    def in_holdout(self, client_id: str) -> bool:
        """Whether the client is in the holdout group that never gets model suggestions.

        A fixed, hash-assigned share of clients (``holdout_share``) gets the generic
        list instead, so that lift is measured against them (:mod:`core.app.outcomes`).
        """
        return in_holdout(str(client_id), self.holdout_share)

    # ------------------------------------------------------------ plumbing
    def _select(
        self,
        final: np.ndarray,
        pool: np.ndarray,
        pinned: np.ndarray,
        k: int,
        diversity: float,
        max_per_designer: int | None,
        max_per_category: int | None,
    ) -> np.ndarray:
        """Fill the list after the pinned items by MMR under the designer/category caps."""
        ctx = self._ctx
        return mmr(
            final,
            pool,
            self._vectors() if diversity > 0 else None,
            k - min(pinned.size, k),
            diversity,
            designers=ctx.designer_codes[0],
            categories=ctx.category_codes[0],
            max_per_designer=max_per_designer,
            max_per_category=max_per_category,
            selected=pinned,
        )

    @property
    def rules_(self) -> RuleSet:
        if "rules" not in self._state:
            self._state["rules"] = self.rules if self.rules is not None else RuleSet.default()
        return self._state["rules"]  # type: ignore[no-any-return]

    @property
    def as_of_(self) -> pd.Timestamp:
        return pd.Timestamp(self.as_of) if self.as_of is not None else self.dataset.as_of

    def _check(self) -> None:
        if self._state.get("checked"):
            return
        if self.candidate_pool < 1:
            raise ValueError(f"candidate_pool must be at least 1, got {self.candidate_pool}")
        if not 0.0 <= self.removed_neighbour_threshold < 1.0:
            raise ValueError("removed_neighbour_threshold must be in [0, 1)")
        self.model.check_is_fitted()
        fitted = self.model.dataset_  # type: ignore[attr-defined]
        if fitted is not self.dataset and not fitted.product_ids.index.equals(
            self.dataset.product_ids.index
        ):
            raise ModelMismatchError(
                "the model was fitted on a catalogue with other products (or another order) "
                "than this dataset; refit the model on this dataset"
            )
        self._state["checked"] = True

    @property
    def _ctx(self) -> RuleContext:
        return RuleContext.of(self.dataset)

    def _vectors(self) -> Any:
        if "vectors" not in self._state:
            self._state["vectors"] = item_vectors_for(self.model, self.dataset)
        return self._state["vectors"]

    # ---------------------------------------------------------- validation
    def _filters(
        self,
        categories: Iterable[str] | None,
        price_min: float | None,
        price_max: float | None,
    ) -> tuple[np.ndarray, list[str]]:
        ctx = self._ctx
        mask = np.ones(ctx.n_products, dtype=bool)
        notes = []
        if categories is not None:
            cats = [str(c) for c in ([categories] if isinstance(categories, str) else categories)]
            labels = set(ctx.category_codes[1])
            unknown = [c for c in cats if c.strip().lower() not in labels]
            if unknown:
                raise ValueError(
                    f"unknown categor{'ies' if len(unknown) > 1 else 'y'} "
                    f"{', '.join(map(repr, unknown))}; known: {', '.join(sorted(labels))}"
                )
            mask &= ctx.category_mask(cats)
            notes.append(f"category not in {', '.join(cats)}")
        for name, value in (("price_min", price_min), ("price_max", price_max)):
            if value is not None and (not np.isfinite(value) or value < 0):
                raise ValueError(f"{name} must be a non-negative number, got {value!r}")
        if price_min is not None and price_max is not None and price_min > price_max:
            raise ValueError(f"price_min ({price_min:g}) is above price_max ({price_max:g})")
        if price_min is not None:
            mask &= ctx.price >= price_min
            notes.append(f"price below {price_min:,.0f}")
        if price_max is not None:
            mask &= ctx.price <= price_max
            notes.append(f"price above {price_max:,.0f}")
        return mask, notes

    @staticmethod
    def _check_k(k: int, diversity: float) -> None:
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise ValueError(f"k must be a whole number of at least 1, got {k!r}")
        if not 0.0 <= float(diversity) <= 1.0:
            raise ValueError(f"diversity must be between 0 and 1, got {diversity}")

    # -------------------------------------------------------------- ranking
    def _run(
        self,
        client_id: str,
        k: int,
        *,
        occasion: str | None,
        season: str | None,
        categories: Iterable[str] | None,
        price_min: float | None,
        price_max: float | None,
        diversity: float,
        removed_products: Iterable[str],
        removed_categories: Iterable[str],
        pinned: Sequence[str],
        extra_events: pd.DataFrame | None,
        consent_override: bool | None,
        recently_shown: Iterable[str],
        max_per_designer: int | None,
        max_per_category: int | None,
        scores_row: np.ndarray | None = None,
    ) -> _Run:
        self._check()
        self._check_k(k, diversity)
        ctx = self._ctx
        pids = self.dataset.product_ids
        removed_products = [str(p) for p in removed_products]
        pinned = [str(p) for p in pinned]
        clash = sorted(set(pinned) & set(removed_products))
        if clash:
            raise ValueError(
                f"products both pinned and removed: {', '.join(clash[:3])}; unpin or restore them"
            )
        pin_idx = pids.to_internal(pinned) if pinned else np.empty(0, dtype=np.int64)
        rr = self.rules_.apply(
            self.dataset,
            client_id,
            removed_products=removed_products,
            removed_categories=removed_categories,
            allow=pinned,
            recently_shown=recently_shown,
            consent_override=consent_override,
            extra_events=extra_events,
        )
        filt, notes = self._filters(categories, price_min, price_max)
        pin_ok = pin_idx[rr.allowed[pin_idx]] if pin_idx.size else pin_idx
        _, first = np.unique(pin_ok, return_index=True)
        pin_ok = pin_ok[np.sort(first)]
        candidates = rr.allowed & filt
        client = ctx.client_row(client_id)
        if not rr.personalized or self.in_holdout(client_id):
            return self._generic_run(
                str(client.get("home_store_id") or ""),
                k,
                rr=rr,
                candidates=candidates,
                occasion=occasion,
                season=season,
                diversity=diversity,
                pinned=pin_ok,
                max_per_designer=max_per_designer,
                max_per_category=max_per_category,
                notes=notes,
            )
        if scores_row is None:
            scores_row = self.model.score_clients([client_id], extra_events)[0]
        scores = np.asarray(scores_row, dtype=np.float64).copy()
        scores[~candidates] = -np.inf
        pool = top_indices(scores, self.candidate_pool, candidates)
        boosts = context_boosts(
            self.dataset,
            occasion=occasion,
            season=season,
            client_row=client,
            as_of=self.as_of_,
            config=self.rules_.context,
        )
        neighbour = self._neighbour_penalty(removed_products, pool)
        final = self._final(scores, pool, rr.penalty, boosts.total, neighbour)
        chosen = self._select(final, pool, pin_ok, k, diversity, max_per_designer, max_per_category)
        return _Run(
            rr=rr,
            candidates=candidates,
            scores=scores,
            final=final,
            pool=pool,
            chosen=np.concatenate([pin_ok[:k], chosen]).astype(np.int64),
            pinned=pin_ok,
            boosts=boosts,
            neighbour=neighbour,
            filter_notes=notes,
        )

    @staticmethod
    def _final(
        scores: np.ndarray,
        pool: np.ndarray,
        penalty: np.ndarray,
        boost: np.ndarray,
        neighbour: np.ndarray,
    ) -> np.ndarray:
        """Relevance scaled on the pool ([0, 1] there) minus penalties plus boosts."""
        final = np.full(scores.shape, -np.inf)
        if pool.size == 0:
            return final
        lo, hi = float(scores[pool].min()), float(scores[pool].max())
        finite = np.isfinite(scores)
        rel = np.zeros(scores.shape)
        rel[finite] = (scores[finite] - lo) / (hi - lo) if hi > lo else 1.0
        final[finite] = rel[finite] - penalty[finite] + boost[finite] - neighbour[finite]
        return final

    def _neighbour_penalty(self, removed: Sequence[str], pool: np.ndarray) -> np.ndarray:
        out = np.zeros(self._ctx.n_products)
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
        """Generic score (1 = first) and kind (0 new, 1 store bestseller, 2 maison) per product.

        New arrivals (newest first) alternate with the store's bestsellers
        (units kept over ``bestseller_days``); then maison bestsellers, then
        the rest of the catalogue. Depends on the store, never on a client.
        """
        key = ("generic", store_id, self.as_of_, self.new_arrival_days, self.bestseller_days)
        cache = self._state.setdefault("generic", {})
        if key in cache:
            return cache[key]  # type: ignore[no-any-return]
        ctx = self._ctx
        n = ctx.n_products
        as_of = self.as_of_.to_datetime64().astype("datetime64[ns]")
        launch = ctx.launch_date
        recent = ~np.isnat(launch) & (launch >= as_of - np.timedelta64(self.new_arrival_days, "D"))
        new = np.flatnonzero(recent)
        new = new[np.lexsort((new, -launch[new].astype(np.int64)))]
        sales = self._store_sales(store_id)
        best = np.flatnonzero(sales > 0)
        best = best[np.lexsort((best, -sales[best]))]
        order: list[int] = []
        kind = np.full(n, 3, dtype=np.int8)
        seen = np.zeros(n, dtype=bool)
        for a, b in zip(_pad(new, len(best)), _pad(best, len(new)), strict=True):
            for j, kd in ((a, 0), (b, 1)):
                if j >= 0 and not seen[j]:
                    seen[j] = True
                    order.append(int(j))
                    kind[j] = kd
        pop = ctx.purchase_counts
        rest = np.flatnonzero(~seen)
        rest = rest[np.lexsort((rest, -pop[rest]))]
        kind[rest[pop[rest] > 0]] = 2
        order += rest.tolist()
        score = np.empty(n)
        score[np.array(order, dtype=np.int64)] = 1.0 - np.arange(n) / max(n, 1)
        cache[key] = (score, kind)
        return score, kind

    def _store_sales(self, store_id: str) -> np.ndarray:
        ev = self.dataset.events
        since = self.as_of_ - pd.Timedelta(days=self.bestseller_days)
        sel = (
            ev["event_type"].isin(["purchase", "return"])
            & (ev["store_id"].astype(object) == store_id)
            & (ev["timestamp"] >= since)
            & (ev["timestamp"] <= self.as_of_)
        )
        sub = ev.loc[sel]
        sign = np.where(sub["event_type"] == "purchase", 1, -1) * sub["quantity"].to_numpy()
        idx = self.dataset.product_ids.to_internal(sub["product_id"].astype(str), strict=False)
        out = np.zeros(self._ctx.n_products)
        np.add.at(out, idx[idx >= 0], sign[idx >= 0])
        return np.maximum(out, 0)

    def _generic_run(
        self,
        store_id: str,
        k: int,
        *,
        rr: RuleResult | None,
        candidates: np.ndarray,
        occasion: str | None,
        season: str | None,
        diversity: float,
        pinned: np.ndarray,
        max_per_designer: int | None,
        max_per_category: int | None,
        notes: list[str],
    ) -> _Run:
        ctx = self._ctx
        base, kind = self._generic_ranking(store_id)
        scores = np.where(candidates, base, -np.inf)
        pool = top_indices(scores, self.candidate_pool, candidates)
        boosts = context_boosts(
            self.dataset, occasion=occasion, season=season, as_of=self.as_of_,
            config=self.rules_.context,
        )  # fmt: skip
        penalty = (
            rr.penalty if rr is not None else self.rules_.store_penalty(self.dataset, store_id)
        )
        neighbour = np.zeros(ctx.n_products)
        final = self._final(scores, pool, penalty, boosts.total, neighbour)
        chosen = self._select(final, pool, pinned, k, diversity, max_per_designer, max_per_category)
        if rr is None:
            rr = _store_rule_result(self.dataset, candidates)
        return _Run(
            rr=rr,
            candidates=candidates,
            scores=scores,
            final=final,
            pool=pool,
            chosen=np.concatenate([pinned[:k], chosen]).astype(np.int64),
            pinned=pinned,
            boosts=boosts,
            neighbour=neighbour,
            generic_kind=kind,
            filter_notes=notes,
        )

    # --------------------------------------------------------------- public
    def suggest(
        self,
        client_id: str,
        k: int = 12,
        *,
        occasion: str | None = None,
        season: str | None = None,
        categories: Iterable[str] | None = None,
        price_min: float | None = None,
        price_max: float | None = None,
        diversity: float = 0.3,
        removed_products: Iterable[str] = (),
        removed_categories: Iterable[str] = (),
        pinned: Sequence[str] = (),
        extra_events: pd.DataFrame | None = None,
        consent_override: bool | None = None,
        recently_shown: Iterable[str] = (),
        max_per_designer: int | None | str = "default",
        max_per_category: int | None | str = "default",
    ) -> SuggestionResult:
        """Up to ``k`` suggestions for one client, with reasons.

        Parameters
        ----------
        client_id : str
        k : int
        occasion : str, optional
            evening, work, wedding, travel, gift (the policy's occasions).
        season : str, optional
            A collection code ("FW26"), a word ("winter") or "auto".
        categories : iterable of str, optional
            Only these categories.
        price_min, price_max : float, optional
            Only prices within.
        diversity : float in [0, 1]
            MMR strength (0: pure relevance order).
        removed_products, removed_categories : iterable of str
            Removed by associates for this client (from the database):
            never suggested; close neighbours are pushed down.
        pinned : sequence of product ids
            Shown first, in this order (they pass overridable rules).
        extra_events : DataFrame, optional
            Events since the data was loaded (fold-in, no refit).
        consent_override : bool, optional
            Consent recorded since the data was loaded.
        recently_shown : iterable of product ids
            Shown to the client recently (soft penalty).
        max_per_designer, max_per_category : int or None, optional
            Caps for this call; default the Suggester's.

        Returns
        -------
        SuggestionResult

        Raises
        ------
        UnknownIdError
            For an unknown client or pinned product.
        ValueError
            For ``k < 1``, ``diversity`` outside [0, 1], an unknown category,
            occasion or season, ``price_min > price_max``, or a product both
            pinned and removed.
        ModelMismatchError
            When the model was fitted on another catalogue.
        """
        run = self._run(
            client_id,
            k,
            occasion=occasion,
            season=season,
            categories=categories,
            price_min=price_min,
            price_max=price_max,
            diversity=diversity,
            removed_products=removed_products,
            removed_categories=removed_categories,
            pinned=pinned,
            extra_events=extra_events,
            consent_override=consent_override,
            recently_shown=recently_shown,
            max_per_designer=self._cap(max_per_designer, self.max_per_designer),
            max_per_category=self._cap(max_per_category, self.max_per_category),
        )
        client = self._ctx.client_row(client_id)
        holdout = run.rr.personalized and self.in_holdout(client_id)
        generic = not run.rr.personalized or holdout
        if generic:
            items = self._generic_items(run, str(client.get("home_store_id") or ""))
            banner = (
                "Holdout group: this client gets generic suggestions -- new arrivals and "
                f"{self._store_name(client)} bestsellers -- so that the model's lift can be "
                "measured against them."
                if holdout
                else "No personalisation consent: these are generic suggestions -- new arrivals "
                f"and {self._store_name(client)} bestsellers. The client's history is not used."
            )
        else:
            items = self._model_items(run, client_id, client, extra_events)
            banner = None
        return SuggestionResult(
            client_id=str(client_id),
            items=items,
            generic=generic,
            banner=banner,
            diversity=intra_list_diversity(self._vectors(), run.chosen),
            rule_result=run.rr,
        )

    @staticmethod
    def _cap(value: int | None | str, default: int | None) -> int | None:
        return default if isinstance(value, str) else value

    def _store_name(self, client: pd.Series) -> str:
        home = str(client.get("home_store_id") or "")
        return self._ctx.store_names.get(home, "the home store's")

    def generic_suggestions(
        self,
        store_id: str,
        k: int = 12,
        *,
        occasion: str | None = None,
        season: str | None = None,
        categories: Iterable[str] | None = None,
        price_min: float | None = None,
        price_max: float | None = None,
        diversity: float = 0.3,
    ) -> SuggestionResult:
        """Suggestions for a store that use nobody's history.

        New arrivals alternate with the store's bestsellers; only
        client-independent rules apply (``sensitive``, ``out_of_stock`` in
        the store and online) and the store's climate penalty.

        Raises
        ------
        UnknownIdError
            For an unknown store.
        """
        self._check()
        self._check_k(k, diversity)
        ctx = self._ctx
        if store_id not in set(ctx.store_ids):
            raise UnknownIdError(f"unknown store id: {store_id!r}")
        filt, notes = self._filters(categories, price_min, price_max)
        candidates = self.rules_.product_rules(self.dataset, store_id) & filt
        run = self._generic_run(
            store_id,
            k,
            rr=None,
            candidates=candidates,
            occasion=occasion,
            season=season,
            diversity=diversity,
            pinned=np.empty(0, dtype=np.int64),
            max_per_designer=self.max_per_designer,
            max_per_category=self.max_per_category,
            notes=notes,
        )
        name = ctx.store_names.get(store_id, store_id)
        return SuggestionResult(
            client_id=None,
            items=self._generic_items(run, store_id),
            generic=True,
            banner=f"Generic suggestions: new arrivals and {name} bestsellers.",
            diversity=intra_list_diversity(self._vectors(), run.chosen),
            rule_result=None,
        )

    # --------------------------------------------------------------- items
    def _frame(self, run: _Run, store_id: str) -> pd.DataFrame:
        ctx = self._ctx
        idx = run.chosen
        p = self.dataset.products.iloc[idx]
        online = ctx.online_stores
        return pd.DataFrame(
            {
                "rank": np.arange(1, idx.size + 1, dtype=np.int64),
                "product_id": self.dataset.product_ids.to_external(idx),
                "name": p["name"].astype(str).to_numpy(dtype=object),
                "designer": p["designer"].astype(str).to_numpy(dtype=object),
                "category": p["category"].astype(str).to_numpy(dtype=object),
                "price": p["price"].to_numpy(dtype=np.float64),
                "final_score": run.final[idx].astype(np.float64),
                "stock_here": ctx.quantity((store_id,))[idx] if store_id else np.zeros(idx.size),
                "stock_online": ctx.quantity(online)[idx],
                "pinned": np.isin(idx, run.pinned),
            }
        )

    def _model_items(
        self,
        run: _Run,
        client_id: str,
        client: pd.Series,
        extra_events: pd.DataFrame | None,
    ) -> pd.DataFrame:
        df = self._frame(run, str(client.get("home_store_id") or ""))
        expls = self._explain(client_id, list(df["product_id"]), extra_events)
        ra, rc = [], []
        clients_words = client_reasons_many(expls, self.dataset, client, 2)
        for e, c, j in zip(expls, clients_words, run.chosen, strict=True):
            a = associate_reasons(e, self.dataset, client, 3, pronoun=self.pronoun)
            ctx_a, ctx_c = run.boosts.reasons(int(j))
            ra.append(_merge(a, ctx_a, 3))
            rc.append(_merge_client(c, ctx_c, 2))
        df["score"] = [e.score for e in expls]
        df["cf_score"] = [e.cf_score for e in expls]
        df["content_score"] = [e.content_score for e in expls]
        df["prior_score"] = [e.prior_score for e in expls]
        df["reasons_associate"] = ra
        df["reasons_client"] = rc
        df["associate_reason"] = [REASON_SEPARATOR.join(r) for r in ra]
        df["client_reason"] = [REASON_SEPARATOR.join(r) for r in rc]
        df["source"] = "model"
        return df[list(ITEM_COLUMNS)]

    def _explain(
        self, client_id: str, product_ids: list[str], extra_events: pd.DataFrame | None
    ) -> list[Explanation]:
        if not product_ids:
            return []
        many = getattr(self.model, "explain_many", None)
        if callable(many):
            return list(many(client_id, product_ids, extra_events))
        return [self.model.explain(client_id, pid, extra_events) for pid in product_ids]

    def _generic_items(self, run: _Run, store_id: str) -> pd.DataFrame:
        ctx = self._ctx
        df = self._frame(run, store_id)
        kind = run.generic_kind
        store = ctx.store_names.get(store_id, "the store")
        words = {
            0: ("New arrival", "New this season"),
            1: (f"Bestseller in {store}", f"A favourite at {store}"),
            2: ("Popular across the maison", "A maison favourite"),
            3: ("From the current collection", "Selected for you by your advisor"),
        }
        ra, rc = [], []
        for j in run.chosen:
            a, c = words[int(kind[j])] if kind is not None else words[3]
            ctx_a, ctx_c = run.boosts.reasons(int(j))
            ra.append(_merge([a], ctx_a, 3))
            rc.append(_merge([c], ctx_c, 2))
        s = run.scores[run.chosen]
        df["score"] = s
        df["cf_score"] = 0.0
        df["content_score"] = 0.0
        df["prior_score"] = s
        df["reasons_associate"] = ra
        df["reasons_client"] = rc
        df["associate_reason"] = [REASON_SEPARATOR.join(r) for r in ra]
        df["client_reason"] = [REASON_SEPARATOR.join(r) for r in rc]
        df["source"] = "generic"
        return df[list(ITEM_COLUMNS)]

    # ------------------------------------------------------------- why not
    def why_not(self, client_id: str, product_id: str, k: int = 12, **options: Any) -> str:
        """Why ``product_id`` is not among ``client_id``'s suggestions.

        Takes the same keyword options as :meth:`suggest`. Says which rule
        excluded it, which filter left it out, or where it ranks and its
        score breakdown (e.g. ``"Not excluded by any rule; it ranks #37 of
        812 allowed products, below the cut of 12 (model score 0.412 = cf
        0.300 + content 0.090 + prior 0.022)"``).

        Raises
        ------
        UnknownIdError
            For an unknown client or product.
        """
        j = self.dataset.product_ids.to_internal_one(product_id)
        opts: dict[str, Any] = {
            "occasion": None, "season": None, "categories": None, "price_min": None,
            "price_max": None, "diversity": 0.3, "removed_products": (),
            "removed_categories": (), "pinned": (), "extra_events": None,
            "consent_override": None, "recently_shown": (),
            "max_per_designer": self.max_per_designer, "max_per_category": self.max_per_category,
        }  # fmt: skip
        unknown = set(options) - set(opts)
        if unknown:
            raise TypeError(f"unexpected option(s): {', '.join(sorted(unknown))}")
        opts.update(options)
        run = self._run(client_id, k, **opts)
        rr = run.rr
        prefix = ""
        if not rr.personalized:
            prefix = (
                "Personalisation is off for this client (no consent): generic suggestions only. "
            )
        hits = rr.excluded_by(product_id)
        if hits:
            return prefix + "Excluded by " + "; also by ".join(f"{r}: {d}" for r, d in hits)
        if not run.candidates[j]:
            return prefix + "Filtered out by this request's filters (" + "; ".join(
                run.filter_notes
            ) + ")"  # fmt: skip
        pos = np.flatnonzero(run.chosen == j)
        if pos.size:
            return prefix + f"It is suggested, at #{int(pos[0]) + 1}"
        cand = np.flatnonzero(run.candidates)
        final_j = run.final[j] if np.isfinite(run.final[j]) else self._extrapolate(run, j)
        finals = np.where(np.isfinite(run.final[cand]), run.final[cand], -np.inf)
        rank = int((finals > final_j).sum()) + 1
        where = (
            f"it ranks #{rank} of {cand.size:,} allowed products, below the cut of {k}"
            if rank > k
            else f"it ranks #{rank} of {cand.size:,} but diversity re-ranking (similar items "
            "or the designer/category caps) left it out"
        )
        text = prefix + "Not excluded by any rule; " + where
        if rr.personalized:
            e = self.model.explain(client_id, product_id, opts["extra_events"])
            text += (
                f" (model score {e.score:.3f} = cf {e.cf_score:.3f} + content "
                f"{e.content_score:.3f} + prior {e.prior_score:.3f}"
            )
            extras = [f"{r} -{p:.2f}" for r, p, _ in rr.penalised_by(product_id)]
            if run.neighbour[j] > 0:
                extras.append(f"close to a removed product -{run.neighbour[j]:.2f}")
            extras += [
                f"{b.associate} +{b.amount[j]:.2f}" for b in run.boosts.parts if b.amount[j] > 0
            ]
            text += ("; " + ", ".join(extras) if extras else "") + ")"
        return text

    def _extrapolate(self, run: _Run, j: int) -> float:
        pool = run.pool
        if pool.size == 0 or not np.isfinite(run.scores[j]):
            return -np.inf
        lo, hi = float(run.scores[pool].min()), float(run.scores[pool].max())
        rel = (run.scores[j] - lo) / (hi - lo) if hi > lo else 1.0
        return float(rel - run.rr.penalty[j] + run.boosts.total[j])

    # ----------------------------------------------------------- batch path
    def suggest_batch(
        self,
        client_ids: Sequence[str],
        k: int = 12,
        *,
        diversity: float = 0.3,
        occasion: str | None = None,
        season: str | None = None,
        removed: dict[str, tuple[Iterable[str], Iterable[str]]] | None = None,
        chunk_size: int = 256,
    ) -> pd.DataFrame:
        """Suggestions for many clients without explanations (exports, evaluation).

        Scores are computed ``chunk_size`` clients at a time; each client
        then goes through the same rules, boosts and MMR as :meth:`suggest`.

        Parameters
        ----------
        removed : dict, optional
            ``client_id -> (removed_products, removed_categories)``.

        Returns
        -------
        DataFrame
            Columns ``client_id``, ``rank``, ``product_id``, ``final_score``, ``source``.
        """
        self._check()
        self._check_k(k, diversity)
        removed = removed or {}
        rows = []
        ids = [str(c) for c in client_ids]
        for start in range(0, len(ids), max(1, chunk_size)):
            chunk = ids[start : start + chunk_size]
            consenting = [
                c for c in chunk
                if self.rules_.personalization_allowed(self._ctx.client_row(c))
            ]  # fmt: skip
            scores = self.model.score_clients(consenting) if consenting else np.empty((0, 0))
            row_of = {c: i for i, c in enumerate(consenting)}
            for cid in chunk:
                rp, rc = removed.get(cid, ((), ()))
                run = self._run(
                    cid, k, occasion=occasion, season=season, categories=None,
                    price_min=None, price_max=None, diversity=diversity,
                    removed_products=rp, removed_categories=rc, pinned=(),
                    extra_events=None, consent_override=None, recently_shown=(),
                    max_per_designer=self.max_per_designer,
                    max_per_category=self.max_per_category,
                    scores_row=scores[row_of[cid]] if cid in row_of else None,
                )  # fmt: skip
                rows.append(
                    pd.DataFrame(
                        {
                            "client_id": cid,
                            "rank": np.arange(1, run.chosen.size + 1),
                            "product_id": self.dataset.product_ids.to_external(run.chosen),
                            "final_score": run.final[run.chosen],
                            "source": (
                                "model"
                                if run.rr.personalized and not self.in_holdout(cid)
                                else "generic"
                            ),
                        }
                    )
                )
        if not rows:
            return pd.DataFrame(
                columns=["client_id", "rank", "product_id", "final_score", "source"]
            )
        return pd.concat(rows, ignore_index=True)

    # ------------------------------------------------------- look and gift
    def complete_the_look(
        self,
        client_id: str,
        anchor_product_id: str,
        k: int = 6,
        *,
        removed_products: Iterable[str] = (),
        removed_categories: Iterable[str] = (),
        consent_override: bool | None = None,
    ) -> pd.DataFrame:
        """Complementary products for an anchor, within this client's rules.

        Personalised by the model only with consent.

        Returns
        -------
        DataFrame
            ``product_id``, ``score``, ``reason``, ``name``, ``designer``,
            ``category``, ``price``.
        """
        self._check()
        rr = self.rules_.apply(
            self.dataset,
            client_id,
            removed_products=removed_products,
            removed_categories=removed_categories,
            consent_override=consent_override,
        )
        out = complete_the_look(
            self.dataset,
            anchor_product_id,
            k,
            client_id=client_id if rr.personalized else None,
            model=self.model if rr.personalized else None,
            allowed=rr.allowed,
        )
        return self._with_product_columns(out)

    def gift(
        self, recipient: GiftRecipient, k: int = 12, *, store_id: str | None = None
    ) -> pd.DataFrame:
        """Gift ideas for a described recipient (the buyer's history is not read).

        Only client-independent rules apply (``sensitive``; ``out_of_stock``
        in ``store_id`` and online, or anywhere when no store is given).
        """
        self._check()
        allowed = self.rules_.product_rules(self.dataset, store_id)
        out = gift_candidates(
            self.dataset, recipient, k, self.model, allowed=allowed, config=self.rules_.context
        )
        return self._with_product_columns(out)

    def _with_product_columns(self, out: pd.DataFrame) -> pd.DataFrame:
        idx = self.dataset.product_ids.to_internal(list(out["product_id"]))
        p = self.dataset.products.iloc[idx]
        for col in ("name", "designer", "category", "price"):
            out[col] = p[col].to_numpy()
        return out


def _pad(a: np.ndarray, n: int) -> np.ndarray:
    """``a`` padded with -1 to at least ``n`` entries (for interleaving)."""
    return np.concatenate([a, np.full(max(n - a.size, 0), -1, dtype=np.int64)])


def _merge(model_reasons: list[str], context: list[str], n: int) -> list[str]:
    """The strongest model reason first, then context lifts, then the other reasons."""
    merged = model_reasons[:1] + context + model_reasons[1:]
    return list(dict.fromkeys(merged))[:n]


def _merge_client(model_reasons: list[str], context: list[str], n: int) -> list[str]:
    """Client wording: the neutral fallback gives way to context lifts."""
    if model_reasons == [CLIENT_FALLBACK] and context:
        return list(dict.fromkeys(context))[:n]
    return _merge(model_reasons, context, n)


def _store_rule_result(dataset: Dataset, allowed: np.ndarray) -> RuleResult:
    """A rule result for a store-level list (no client)."""
    n = len(dataset.product_ids)
    return RuleResult(
        client_id="",
        product_ids=dataset.product_ids,
        allowed=allowed,
        penalty=np.zeros(n),
        personalized=False,
    )
