"""A try-on session without a profile: suggestions from one visit's events alone.

For a walk-in, or a client who gave no personalisation consent, the associate
records what the client tries on or asks about during the visit
(:class:`TryOnSession`, an immutable value held by the caller: nothing here
stores it). :class:`SessionSuggester` folds those events into an anonymous
row with the fitted model's statistics (:meth:`Interactions.fold_in
<core.engine.interactions.Interactions.fold_in>` of an id that is no client of
the data), so nobody's history is read, and ranks the catalogue like the
client pipeline does:

- client-independent rules only (``sensitive``, ``out_of_stock`` at the
  session's store and online) plus the store's climate penalty, as for a
  store's generic list; the session's own pieces are not suggested back;
- the model's scores of the anonymous row, scaled on the candidate pool, with
  the occasion/season lifts, then MMR under the caps;
- exact explanations from the model's own arithmetic, worded for the
  associate ("The client tried on the Kensington blouse").

With no event yet the list is the store's generic one (new arrivals and
bestsellers), labelled so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

import numpy as np
import pandas as pd

from core.data.schema import COLS
from core.engine.diversity import intra_list_diversity
from core.engine.purchases import ClientHistory
from core.engine.ranking import top_indices
from core.exceptions import UnknownIdError
from core.suggest.catalogue import Catalogue, Client
from core.suggest.pipeline import Suggester
from core.suggest.request import SuggestRequest
from core.suggest.rerank.context import context_boosts
from core.suggest.results import SuggestionResult, model_items
from core.suggest.run import Prepared, Run, final_scores, request_filters, store_rule_result

#: What an associate records -> the event type it is folded in as.
SESSION_KINDS: Mapping[str, str] = MappingProxyType({"tried_on": "try_on", "asked_about": "view"})
#: How each kind reads on the page.
KIND_LABELS: Mapping[str, str] = MappingProxyType(
    {"tried_on": "Tried on", "asked_about": "Asked about"}
)
#: The row id a session is folded in as; never a client of the data.
ANONYMOUS_ROW = "__try_on_session__"
#: Most pieces one session holds (a visit, not a history).
MAX_SESSION_PIECES = 40
#: The banner of a session's list.
SESSION_BANNER = (
    "Suggestions from this visit only: no client history is read, and nothing of the "
    "session is kept after it ends."
)
EMPTY_BANNER = (
    "Nothing recorded yet: these are generic suggestions (new arrivals and {store} "
    "bestsellers). Record what the client tries on or asks about to tailor them."
)


@dataclass(frozen=True)
class SessionEvent:
    """One piece of a visit: ``kind`` is a key of :data:`SESSION_KINDS`."""

    product_id: str
    kind: str


@dataclass(frozen=True)
class TryOnSession:
    """What one visit recorded, in order; an immutable value (each change returns a new one).

    Parameters
    ----------
    store_id : str
        The store of the visit (its stock and climate count).
    events : tuple of SessionEvent
        One per product (recording a product again replaces its kind).

    Raises
    ------
    ValueError
        For an unknown kind, a product recorded twice, or more than
        :data:`MAX_SESSION_PIECES` pieces.
    """

    store_id: str
    events: tuple[SessionEvent, ...] = ()

    def __post_init__(self) -> None:
        bad = sorted({e.kind for e in self.events} - set(SESSION_KINDS))
        if bad:
            raise ValueError(
                f"unknown session kind(s) {', '.join(map(repr, bad))}; "
                f"expected one of {', '.join(SESSION_KINDS)}"
            )
        ids = [e.product_id for e in self.events]
        if len(set(ids)) != len(ids):
            raise ValueError("a session holds each product once; record it again to change it")
        if len(ids) > MAX_SESSION_PIECES:
            raise ValueError(
                f"a session holds at most {MAX_SESSION_PIECES} pieces; end it and start a new one"
            )

    @classmethod
    def from_pairs(cls, store_id: str, pairs: list[tuple[str, str]] | None) -> TryOnSession:
        """A session from ``(product_id, kind)`` pairs (what a page keeps in its state)."""
        return cls(str(store_id), tuple(SessionEvent(str(p), str(k)) for p, k in pairs or ()))

    def pairs(self) -> list[tuple[str, str]]:
        """``(product_id, kind)`` per piece, in order: plain data for a page's state."""
        return [(e.product_id, e.kind) for e in self.events]

    @property
    def product_ids(self) -> list[str]:
        return [e.product_id for e in self.events]

    def record(self, product_id: str, kind: str) -> TryOnSession:
        """This session with ``product_id`` recorded as ``kind`` (moved to the end if present)."""
        kept = tuple(e for e in self.events if e.product_id != str(product_id))
        return replace(self, events=(*kept, SessionEvent(str(product_id), str(kind))))

    def remove(self, product_id: str) -> TryOnSession:
        """This session without ``product_id`` (unchanged if it is not there)."""
        return replace(self, events=tuple(e for e in self.events if e.product_id != product_id))

    def events_frame(self) -> pd.DataFrame:
        """The pieces as events of :data:`ANONYMOUS_ROW` (no timestamp: they count as "now")."""
        return pd.DataFrame(
            {
                COLS.client_id: [ANONYMOUS_ROW] * len(self.events),
                COLS.product_id: [e.product_id for e in self.events],
                "event_type": [SESSION_KINDS[e.kind] for e in self.events],
            }
        )


class SessionSuggester(Suggester):
    """The suggestion pipeline for a :class:`TryOnSession` (same parameters as :class:`Suggester`).

    It never takes a client id, so no client's row, history, removals or
    declared preferences can reach a session's list.
    """

    def suggest_session(
        self, session: TryOnSession, request: SuggestRequest | None = None
    ) -> SuggestionResult:
        """Up to ``request.k`` suggestions from the session's pieces alone, with reasons.

        Returns
        -------
        SuggestionResult
            ``client_id`` is ``None``; ``generic`` when the session is empty.

        Raises
        ------
        UnknownIdError
            For an unknown store or product of the session.
        ValueError
            For a request carrying a client's options (removals, pins, ...),
            an unknown category, occasion or season.
        """
        request = request or SuggestRequest()
        catalogue = self._catalogue
        self._check_session(session, request, catalogue)
        if not session.events:
            return self._empty_session(session, request, catalogue)
        try:
            return self._session_list(session, request, catalogue)
        finally:  # scored and explained from one folded state; none of it kept after
            self.model.forget(ANONYMOUS_ROW)

    def _session_list(
        self, session: TryOnSession, request: SuggestRequest, catalogue: Catalogue
    ) -> SuggestionResult:
        """The session's list: its events folded once into the anonymous row, then explained."""
        prep = self._session_prepared(session, request, catalogue)
        events = session.events_frame()
        scores = np.asarray(
            self.model.score_clients([ANONYMOUS_ROW], events)[0], dtype=np.float64
        ).copy()
        scores[~prep.candidates] = -np.inf
        pool = top_indices(scores, self.candidate_pool, prep.candidates)
        boosts = context_boosts(
            self.dataset,
            occasion=request.occasion,
            season=request.season,
            as_of=self.as_of_,
            config=self.rules_.context,
        )
        neighbour = np.zeros(catalogue.n_products)
        final = final_scores(scores, pool, prep.rr.penalty, boosts.total, neighbour)
        chosen = self._select(final, pool, prep).astype(np.int64)
        client = Client(
            ANONYMOUS_ROW,
            -1,
            pd.Series(dtype=object),
            session.store_id,
            ClientHistory.empty(catalogue.n_products),
        )
        run = Run(
            rr=prep.rr,
            client=client,
            holdout=False,
            candidates=prep.candidates,
            scores=scores,
            final=final,
            pool=pool,
            chosen=chosen,
            pinned=prep.pinned,
            boosts=boosts,
            neighbour=neighbour,
            filter_notes=prep.notes,
        )
        ids = list(self.dataset.product_ids.to_external(chosen))
        expls = self._explain(ANONYMOUS_ROW, ids, events)
        return SuggestionResult(
            client_id=None,
            items=model_items(self.dataset, run, expls, pronoun=self.pronoun),
            generic=False,
            banner=SESSION_BANNER,
            diversity=intra_list_diversity(self._vectors(), chosen),
            rule_result=None,
        )

    def _check_session(
        self, session: TryOnSession, request: SuggestRequest, catalogue: Catalogue
    ) -> None:
        self._check()
        given = request.client_options()
        if given:
            raise ValueError(
                f"a try-on session reads no client: leave {', '.join(given)} out of the request"
            )
        if session.store_id not in set(catalogue.store_ids):
            raise UnknownIdError(f"unknown store id for the session: {session.store_id!r}")
        if ANONYMOUS_ROW in self.dataset.client_ids.index:
            raise ValueError(
                f"the data has a client with the reserved id {ANONYMOUS_ROW!r}; rename it"
            )
        unknown = [p for p in session.product_ids if p not in catalogue.product_position]
        if unknown:
            raise UnknownIdError(
                f"unknown product id(s) in the session: {', '.join(map(repr, unknown[:5]))}"
            )

    def _session_prepared(
        self, session: TryOnSession, request: SuggestRequest, catalogue: Catalogue
    ) -> Prepared:
        """Client-independent rules at the session's store, filters, minus the session's pieces."""
        filt, notes = request_filters(catalogue, request)
        allowed = self.rules_.product_rules(self.dataset, session.store_id)
        allowed[self.dataset.product_ids.to_internal(session.product_ids)] = False
        rr = replace(
            store_rule_result(self.dataset, allowed),
            penalty=self.rules_.store_penalty(self.dataset, session.store_id),
        )
        return Prepared(
            request=request,
            rr=rr,
            holdout=False,
            candidates=allowed & filt,
            pinned=np.empty(0, dtype=np.int64),
            notes=notes,
            caps=request.caps(self.max_per_designer, self.max_per_category),
        )

    def _empty_session(
        self, session: TryOnSession, request: SuggestRequest, catalogue: Catalogue
    ) -> SuggestionResult:
        found = self.generic_suggestions(session.store_id, request)
        store = catalogue.store_names.get(session.store_id, session.store_id)
        return replace(found, banner=EMPTY_BANNER.format(store=store))
