"""Consent changes: the dataset holds each client's original flags, the database overrides them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.store.audit import append_entry
from core.store.common import (
    NOTE_MAX,
    Clock,
    SessionFactory,
    check_choice,
    check_id,
    check_text,
    unit_of_work,
    utcnow,
)
from core.store.list_ops import CURATOR_ROLES
from core.store.models import CONSENT_FIELDS, ConsentChange
from core.store.records import ConsentChangeRecord
from core.store.users import require_role


def _record(c: ConsentChange) -> ConsentChangeRecord:
    return ConsentChangeRecord(
        c.id, c.client_id, c.field, c.old_value, c.new_value, c.changed_by, c.changed_at, c.note
    )


def overrides_in(session: Session, client_id: str) -> dict[str, bool]:
    """The latest recorded value of each consent field for a client, inside ``session``."""
    stmt = (
        select(ConsentChange.field, ConsentChange.new_value)
        .where(ConsentChange.client_id == client_id)
        .order_by(ConsentChange.changed_at, ConsentChange.id)
    )
    return {field: bool(value) for field, value in session.execute(stmt)}


class ConsentService:
    """Record and read consent changes.

    Parameters
    ----------
    sessions : sessionmaker
    clock : callable, optional
    """

    def __init__(self, sessions: SessionFactory, clock: Clock = utcnow) -> None:
        self._sessions = sessions
        self._clock = clock

    def record_consent_change(
        self,
        client_id: str,
        field: str,
        new_value: bool,
        changed_by: str,
        note: str = "",
        *,
        old_value: bool | None = None,
    ) -> ConsentChangeRecord:
        """Record that a client gave or withdrew a consent (and audit it).

        Parameters
        ----------
        field : {'consent_personalization', 'consent_contact'}
        new_value : bool
        changed_by : str
            The associate who recorded it, or ``"system"`` for an import.
        note : str
            How it was given, e.g. "signed form in store" (at most 2,000 characters).
        old_value : bool, optional
            The value before; default: the latest recorded override, if any
            (pass the dataset's flag when there is none).

        Raises
        ------
        ValueError
            Unknown field, a non-bool value, or a note that is too long.
        PermissionDenied
            ``changed_by`` is not an active associate or stylist.
        """
        check_id(client_id, "client id")
        check_choice(field, "consent field", CONSENT_FIELDS)
        if not isinstance(new_value, bool) or not isinstance(old_value, bool | None):
            raise ValueError("consent values must be True or False")
        check_text(note, "consent note", max_len=NOTE_MAX)
        now = self._clock()
        with unit_of_work(self._sessions, write=True) as session:
            require_role(session, changed_by, CURATOR_ROLES, "record a client's consent")
            if old_value is None:
                old_value = overrides_in(session, client_id).get(field)
            change = ConsentChange(
                client_id=client_id,
                field=field,
                old_value=old_value,
                new_value=new_value,
                changed_by=changed_by,
                changed_at=now,
                note=note,
            )
            session.add(change)
            details = {"field": field, "old_value": old_value, "new_value": new_value}
            append_entry(
                session, changed_by, "consent_change", "client", client_id, details, at=now
            )
            session.flush()
            return _record(change)

    def consent_overrides(self, client_id: str) -> dict[str, bool]:
        """The current override of each consent field that was ever changed for a client."""
        with unit_of_work(self._sessions) as session:
            return overrides_in(session, client_id)

    def all_consent_overrides(self) -> dict[str, dict[str, bool]]:
        """Current overrides for every client that has any: ``{client_id: {field: value}}``."""
        stmt = select(ConsentChange).order_by(ConsentChange.changed_at, ConsentChange.id)
        result: dict[str, dict[str, bool]] = {}
        with unit_of_work(self._sessions) as session:
            for change in session.scalars(stmt):
                result.setdefault(change.client_id, {})[change.field] = change.new_value
        return result

    def effective_consent(self, client_id: str, field: str, dataset_value: bool) -> bool:
        """The consent in force: the latest override, else the dataset's flag."""
        check_choice(field, "consent field", CONSENT_FIELDS)
        return self.consent_overrides(client_id).get(field, bool(dataset_value))

    def consent_history(self, client_id: str) -> list[ConsentChangeRecord]:
        """Every consent change for a client, oldest first."""
        stmt = (
            select(ConsentChange)
            .where(ConsentChange.client_id == client_id)
            .order_by(ConsentChange.changed_at, ConsentChange.id)
        )
        with unit_of_work(self._sessions) as session:
            return [_record(c) for c in session.scalars(stmt)]
