"""The try-on session service: what the Try-on page calls.

A session (:class:`~core.suggest.session.TryOnSession`) is a value the caller
keeps (the dashboard keeps its ``(product_id, kind)`` pairs in the browser
session's state); this service only reads the dataset and the model, and
writes one thing: an audit entry "session suggestions shown"
(``session_suggestions``) that names the store, the number of pieces and no
product, no client. Ending a session is the caller forgetting it.

No Streamlit import: the page stays thin and this is testable on its own.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from core.app.curation import MAX_K
from core.data.dataset import Dataset
from core.engine.models.base import Recommender
from core.store.audit import AuditLog
from core.store.records import AuditRecord
from core.suggest.catalogue import Catalogue
from core.suggest.request import SuggestRequest
from core.suggest.results import SuggestionResult, product_frame
from core.suggest.rules import RuleSet
from core.suggest.session import (
    KIND_LABELS,
    MAX_SESSION_PIECES,
    SessionSuggester,
    TryOnSession,
)

#: The audit action of a session's list being shown.
SHOWN_ACTION = "session_suggestions"


#: The session pipeline kept with a dataset, and the model and rules it was built for.
_Kept = tuple[Recommender, RuleSet, SessionSuggester]


class TryOnService:
    """Suggestions for try-on sessions, and the one audit entry they leave.

    Parameters
    ----------
    dataset : Dataset
    model : Recommender
        The fitted model (shared; never mutated: a session is folded in per request).
    audit : AuditLog
    rules : RuleSet, optional
        The house policy (default: the shipped one).
    """

    def __init__(
        self,
        dataset: Dataset,
        model: Recommender,
        audit: AuditLog,
        rules: RuleSet | None = None,
    ) -> None:
        self.dataset = dataset
        self.model = model
        self.audit = audit
        self.rules = rules if rules is not None else RuleSet.default_for(dataset)

    @property
    def suggester(self) -> SessionSuggester:
        """The session pipeline for this dataset, model and rules (kept with the dataset)."""
        slot: dict[str, _Kept] = self.dataset.derived((TryOnService, "suggester"), dict)
        found = slot.get("last")
        if found is not None and found[0] is self.model and found[1] is self.rules:
            return found[2]
        suggester = SessionSuggester(self.model, self.dataset, self.rules)
        slot["last"] = (self.model, self.rules, suggester)
        return suggester

    def stores(self) -> dict[str, str]:
        """``store_id -> name`` of the stores a visit happens in (online stores left out)."""
        catalogue = Catalogue.of(self.dataset)
        online = set(catalogue.online_stores)
        return {s: n for s, n in catalogue.store_names.items() if s not in online}

    def start(self, store_id: str | None) -> TryOnSession:
        """A new, empty session at ``store_id`` (the first store when it is none or unknown)."""
        stores = self.stores()
        if store_id in stores:
            return TryOnSession(str(store_id))
        if not stores:
            raise ValueError("the data has no store a visit can happen in (only online ones)")
        return TryOnSession(sorted(stores, key=stores.__getitem__)[0])

    def restore(self, store_id: str | None, pairs: Any) -> TryOnSession:
        """A session from what a page kept, dropping what no longer holds.

        Pieces whose product left the catalogue (a new import) or whose kind
        is unknown are left out, as are repeats; an unknown store gives
        :meth:`start`'s store. Never raises for bad kept state: the page
        must not break on it.
        """
        session = self.start(store_id)
        known = Catalogue.of(self.dataset).product_position
        try:
            items = [(str(p), str(k)) for p, k in pairs or ()]
        except (TypeError, ValueError):
            return session
        for pid, kind in items:
            fits = len(session.events) < MAX_SESSION_PIECES
            if fits and pid in known and kind in KIND_LABELS and pid not in session.product_ids:
                session = session.record(pid, kind)
        return session

    def suggestions(self, session: TryOnSession, request: SuggestRequest) -> SuggestionResult:
        """Suggestions from ``session`` alone (see :meth:`SessionSuggester.suggest_session`).

        Raises
        ------
        ValueError
            For ``request.k`` above :data:`~core.app.curation.MAX_K`, or a bad request.
        UnknownIdError
            For an unknown store or product in the session.
        """
        if request.k > MAX_K:
            raise ValueError(f"k must be a whole number from 1 to {MAX_K}, got {request.k!r}")
        return self.suggester.suggest_session(session, request)

    def pieces(self, session: TryOnSession) -> pd.DataFrame:
        """The session's pieces as cards show them: product data, stock at the store, ``kind``.

        Columns :data:`core.suggest.results.PRODUCT_COLUMNS` plus ``kind``
        (its label, e.g. "Tried on"); unknown ids are left out.
        """
        ids = session.product_ids
        idx = self.dataset.product_ids.to_internal(ids, strict=False)
        keep = idx >= 0
        out = product_frame(self.dataset, idx[keep], session.store_id)
        out["kind"] = [KIND_LABELS[e.kind] for e, k in zip(session.events, keep, strict=True) if k]
        return out

    def record_shown(self, actor_id: str, session: TryOnSession) -> AuditRecord:
        """Audit that a session's suggestions were shown: store and piece count, no product."""
        return self.audit.append(
            actor_id,
            SHOWN_ACTION,
            "session",
            "",
            {"store_id": session.store_id, "pieces": len(session.events)},
        )
