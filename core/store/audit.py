"""The append-only audit log: append and query, nothing else.

Three guards keep it append-only, from the friendliest to the strictest:

1. The service exposes only :meth:`AuditLog.append` and the queries.
2. ORM events refuse, in any session of this process, to flush a changed or
   deleted :class:`~core.store.models.AuditEntry` and to run an ``UPDATE`` or
   ``DELETE`` statement on ``audit_log`` (:class:`~core.store.common.AppendOnlyError`).
3. Database triggers (SQLite and PostgreSQL, created by :func:`core.store.db.init_db`)
   abort ``UPDATE`` and ``DELETE`` on ``audit_log``, even from raw SQL.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import TypedDict, Unpack

import pandas as pd
from sqlalchemy import event, select
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from core.data.export import to_safe_csv
from core.store.common import (
    AppendOnlyError,
    Clock,
    SessionFactory,
    as_utc,
    check_choice,
    check_id,
    check_text,
    dump_json,
    load_json,
    unit_of_work,
    utcnow,
)
from core.store.models import AUDIT_ACTIONS, AuditEntry
from core.store.records import AuditRecord

AUDIT_COLUMNS: tuple[str, ...] = (
    "id",
    "at",
    "actor_id",
    "action",
    "target_type",
    "target_id",
    "details",
)
_TABLE = AuditEntry.__tablename__


class AuditFilters(TypedDict, total=False):
    """The filters of :meth:`AuditLog.query`, passed on by :meth:`AuditLog.frame`."""

    actor: str | None
    action: str | None
    target_type: str | None
    target_id: str | None
    since: datetime | None
    until: datetime | None
    limit: int | None


def _refuse_changed_entries(session: Session, _ctx: UOWTransaction, _instances: object) -> None:
    for obj in session.deleted:
        if isinstance(obj, AuditEntry):
            raise AppendOnlyError(f"audit entry {obj.id} cannot be deleted: the log is append-only")
    for obj in session.dirty:
        if isinstance(obj, AuditEntry) and session.is_modified(obj):
            raise AppendOnlyError(f"audit entry {obj.id} cannot be changed: the log is append-only")


def _refuse_bulk_statements(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) == _TABLE:
        raise AppendOnlyError("audit_log cannot be updated or deleted from: the log is append-only")


event.listen(Session, "before_flush", _refuse_changed_entries)
event.listen(Session, "do_orm_execute", _refuse_bulk_statements)


def append_entry(
    session: Session,
    actor_id: str,
    action: str,
    target_type: str = "",
    target_id: str = "",
    details: Mapping[str, object] | None = None,
    *,
    at: datetime,
) -> AuditEntry:
    """Add an audit entry to ``session`` (it commits with the caller's transaction).

    Services call this inside their own unit of work, so an action and its
    audit entry are written together or not at all.
    """
    entry = AuditEntry(
        at=as_utc(at),
        actor_id=check_id(actor_id, "actor id"),
        action=check_choice(action, "audit action", AUDIT_ACTIONS),
        target_type=check_text(target_type, "target type", max_len=32),
        target_id=check_text(str(target_id), "target id", max_len=128),
        details=dump_json(details, "audit details"),
    )
    session.add(entry)
    return entry


def to_record(entry: AuditEntry) -> AuditRecord:
    """Turn an ORM row into an :class:`AuditRecord`."""
    return AuditRecord(
        id=entry.id,
        at=entry.at,
        actor_id=entry.actor_id,
        action=entry.action,
        target_type=entry.target_type,
        target_id=entry.target_id,
        details=load_json(entry.details),
    )


class AuditLog:
    """Append to and read the audit log.

    Parameters
    ----------
    sessions : sessionmaker
        From :func:`core.store.db.session_factory`.
    clock : callable, optional
        Returns the current time (aware UTC); injectable for tests.
    """

    def __init__(self, sessions: SessionFactory, clock: Clock = utcnow) -> None:
        self._sessions = sessions
        self._clock = clock

    def append(
        self,
        actor_id: str,
        action: str,
        target_type: str = "",
        target_id: str = "",
        details: Mapping[str, object] | None = None,
    ) -> AuditRecord:
        """Write one audit entry and return it.

        Parameters
        ----------
        actor_id : str
            Who did it (a user id, or ``"system"`` for the CLI).
        action : str
            One of :data:`core.store.models.AUDIT_ACTIONS`.
        target_type, target_id : str
            What it was done to, e.g. ``("client", "C001")``. Keep personal data
            out of ``details``: an erased client's audit entries stay.
        details : dict, optional
            JSON-serialisable; text is kept exactly (HTML, emoji, RTL, quotes).

        Returns
        -------
        AuditRecord

        Raises
        ------
        ValueError
            Unknown action, bad id, or details larger than 1,000,000 characters.
        """
        with unit_of_work(self._sessions, write=True) as session:
            entry = append_entry(
                session, actor_id, action, target_type, target_id, details, at=self._clock()
            )
            session.flush()
            return to_record(entry)

    def query(
        self,
        actor: str | None = None,
        action: str | None = None,
        target_type: str | None = None,
        target_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = 1000,
    ) -> list[AuditRecord]:
        """Return matching entries, newest first.

        Parameters
        ----------
        actor, action, target_type, target_id : str, optional
            Exact matches; ``None`` matches anything.
        since, until : datetime, optional
            Inclusive lower and exclusive upper bound on the entry time.
        limit : int or None
            At most this many entries (``None``: all).

        Returns
        -------
        list of AuditRecord
        """
        stmt = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        if actor is not None:
            stmt = stmt.where(AuditEntry.actor_id == actor)
        if action is not None:
            stmt = stmt.where(AuditEntry.action == action)
        if target_type is not None:
            stmt = stmt.where(AuditEntry.target_type == target_type)
        if target_id is not None:
            stmt = stmt.where(AuditEntry.target_id == target_id)
        if since is not None:
            stmt = stmt.where(AuditEntry.at >= as_utc(since))
        if until is not None:
            stmt = stmt.where(AuditEntry.at < as_utc(until))
        if limit is not None:
            stmt = stmt.limit(limit)
        with unit_of_work(self._sessions) as session:
            return [to_record(e) for e in session.scalars(stmt)]

    def frame(self, **filters: Unpack[AuditFilters]) -> pd.DataFrame:
        """Like :meth:`query`, as a DataFrame with columns :data:`AUDIT_COLUMNS`."""
        rows = [r.__dict__ for r in self.query(**filters)]
        return pd.DataFrame(rows, columns=list(AUDIT_COLUMNS))


def audit_csv(entries: pd.DataFrame) -> bytes:
    """Audit entries (:meth:`AuditLog.frame`) as CSV bytes safe to open in a spreadsheet.

    ``details`` is written as JSON text (non-ASCII kept; text already JSON is
    kept as it is); every text cell a spreadsheet would run as a formula (an
    actor or target id starting with ``=``, ``+``, ``-``, ``@``, a tab or a
    carriage return) is neutralised by :func:`core.data.export.to_safe_csv`.
    Recording the export in the log is the caller's (it knows who exported).
    """
    details = [
        d if isinstance(d, str) else json.dumps(d, ensure_ascii=False) for d in entries["details"]
    ]
    return to_safe_csv(entries.assign(details=details))
