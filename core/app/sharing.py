"""Sharing a curated list with its client: consent, client wording, the lookbook, the record.

What the client receives is a :class:`~core.app.lookbook.Lookbook` in client
wording only (:func:`client_wording`); a share needs the client's contact
consent in force (:func:`consent_in_force`: a change recorded in the database
overrides the data), and is stored with its snapshot (:func:`record_share`).
:class:`~core.app.curation.CurationService` calls these for the pages.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from core.app.lookbook import Lookbook, lookbook_message
from core.data.dataset import Dataset
from core.data.values import is_true
from core.engine.models.base import Recommender
from core.exceptions import ConsentError, UnknownIdError
from core.store import Store
from core.store.records import ConsentChangeRecord, CuratedListRecord, ShareRecord
from core.suggest.catalogue import Catalogue
from core.suggest.reasons import CLIENT_FALLBACK, client_reasons

#: Share channels the dashboard offers (a subset of the store's).
SHARE_CHANNELS: tuple[str, ...] = ("pdf", "message")
DEFAULT_HOUSE = "Atelier"


@dataclass(frozen=True)
class ShareOutcome:
    """A recorded share: the store record, the lookbook and its message text."""

    share: ShareRecord
    lookbook: Lookbook
    message: str


def consent_in_force(store: Store, client_id: str, field: str, row: pd.Series) -> bool:
    """The client's consent ``field`` in force: a recorded change overrides the data's flag."""
    return bool(store.consent.effective_consent(client_id, field, is_true(row.get(field))))


def record_consent_given(
    store: Store, client_id: str, field: str, row: pd.Series, actor_id: str, note: str = ""
) -> ConsentChangeRecord:
    """Record that the client gave consent ``field`` (audited by the consent service)."""
    old = consent_in_force(store, client_id, field, row)
    return store.consent.record_consent_change(
        client_id, field, True, actor_id, note, old_value=old
    )


def client_wording(
    model: Recommender,
    dataset: Dataset,
    record: CuratedListRecord,
    row: pd.Series,
    *,
    personalised: bool,
    extra_events: pd.DataFrame | None = None,
) -> dict[str, str]:
    """Client-facing reason per product of the list (never a score or a hidden signal).

    Without personalisation (or for a product the model cannot explain) the
    neutral :data:`~core.suggest.reasons.CLIENT_FALLBACK`. ``extra_events``
    are the client's events not in the dataset (read per request when serving
    without the event log).
    """
    out: dict[str, str] = {}
    history = (
        Catalogue.of(dataset).history(record.client_id, extra_events) if personalised else None
    )
    for item in record.items:
        text = CLIENT_FALLBACK
        if personalised and item.product_id in dataset.product_ids:
            try:
                expl = model.explain(record.client_id, item.product_id, extra_events)
                reasons = client_reasons(expl, dataset, row, n=1, history=history)
                text = reasons[0] if reasons else CLIENT_FALLBACK
            except (UnknownIdError, ValueError):
                text = CLIENT_FALLBACK
        out[item.product_id] = text
    return out


def house_signature(dataset: Dataset, home_store: str) -> str:
    """How the lookbook signs: the house, and the client's home store when known."""
    name = Catalogue.of(dataset).store_names.get(home_store, home_store) if home_store else ""
    return f"{DEFAULT_HOUSE} · {name}" if name else DEFAULT_HOUSE


def record_share(
    store: Store,
    record: CuratedListRecord,
    lookbook: Lookbook,
    channel: str,
    author_id: str,
    *,
    consent: bool,
) -> ShareOutcome:
    """Record a share with its snapshot (what the client saw) and mark the list shared.

    Raises
    ------
    ValueError
        For a channel the dashboard does not offer.
    ConsentError
        Without the client's contact consent.
    ListConflictError
        The list changed since ``record`` was read.
    """
    if channel not in SHARE_CHANNELS:
        raise ValueError(f"channel must be one of {', '.join(SHARE_CHANNELS)}; got {channel!r}")
    if not consent:
        raise ConsentError(
            "This client has not agreed to be contacted: record their consent before sharing."
        )
    message = lookbook_message(lookbook)
    snapshot = {**lookbook.to_snapshot(), "message_text": message, "channel": channel}
    share = store.shares.record_share(
        record.list_id,
        channel,
        snapshot,
        author_id,
        consent_contact=consent,
        expected_version=record.version,
    )
    return ShareOutcome(share, lookbook, message)
