"""A client's stored data, for access requests (export) and erasure."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, or_, select
from sqlalchemy.orm import Session

from core.store.audit import append_entry, to_record
from core.store.common import Clock, SessionFactory, check_id, load_json, unit_of_work, utcnow
from core.store.list_ops import snapshot
from core.store.models import (
    AuditEntry,
    ConsentChange,
    CuratedList,
    ListItem,
    Removal,
    Share,
)
from core.store.users import require_role

PRIVACY_ROLES: tuple[str, ...] = ("admin",)


def _plain(value: Any) -> Any:
    """Datetimes to ISO text, recursively, so the export is JSON-ready."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


Row = Removal | Share | ConsentChange


def _rows(session: Session, model: type[Row], client_id: str) -> list[Row]:
    stmt = select(model).where(model.client_id == client_id).order_by(model.id)
    return list(session.scalars(stmt))


def _columns(row: Row) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in row.__mapper__.column_attrs}


def _list_ids(session: Session, client_id: str) -> list[int]:
    return list(session.scalars(select(CuratedList.id).where(CuratedList.client_id == client_id)))


class ClientDataService:
    """Export or erase everything the database holds about one client.

    Parameters
    ----------
    sessions : sessionmaker
    clock : callable, optional
    """

    def __init__(self, sessions: SessionFactory, clock: Clock = utcnow) -> None:
        self._sessions = sessions
        self._clock = clock

    def export_client(self, client_id: str, *, actor_id: str) -> dict[str, Any]:
        """Everything stored about a client, JSON-ready (datetimes as ISO text); audited.

        Returns
        -------
        dict
            Keys ``client_id``, ``exported_at``, ``lists`` (with items), ``removals``,
            ``shares`` (with snapshots), ``consent_changes`` and ``audit`` (entries
            about the client or their lists). The data tables (profile, events) are
            exported by the dataset layer, not here.

        Raises
        ------
        PermissionDenied
            ``actor_id`` is not an admin (or ``"system"``).
        """
        check_id(client_id, "client id")
        now = self._clock()
        with unit_of_work(self._sessions, write=True) as session:
            require_role(session, actor_id, PRIVACY_ROLES, "export a client's data")
            ids = _list_ids(session, client_id)
            lists = [snapshot(session, session.get_one(CuratedList, i)) for i in ids]
            data: dict[str, Any] = {"client_id": client_id, "exported_at": now}
            data["lists"] = [asdict(lst) for lst in lists]
            data["removals"] = [_columns(r) for r in _rows(session, Removal, client_id)]
            data["shares"] = [_columns(r) for r in _rows(session, Share, client_id)]
            data["consent_changes"] = [
                _columns(r) for r in _rows(session, ConsentChange, client_id)
            ]
            for share in data["shares"]:
                share["snapshot"] = load_json(share["snapshot"])
            about = or_(
                (AuditEntry.target_type == "client") & (AuditEntry.target_id == client_id),
                (AuditEntry.target_type == "list")
                & AuditEntry.target_id.in_([str(i) for i in ids]),
            )
            entries = session.scalars(select(AuditEntry).where(about).order_by(AuditEntry.id))
            data["audit"] = [asdict(to_record(e)) for e in entries]
            append_entry(session, actor_id, "export", "client", client_id, at=now)
            plain: dict[str, Any] = _plain(data)
            return plain

    def require_privacy_role(self, actor_id: str, doing: str) -> None:
        """Raise :class:`PermissionDenied` unless ``actor_id`` may export or erase client data.

        For a caller that must check before changing anything outside the database.
        """
        with unit_of_work(self._sessions) as session:
            require_role(session, actor_id, PRIVACY_ROLES, doing)

    def erase_client(
        self, client_id: str, *, actor_id: str, details: dict[str, Any] | None = None
    ) -> dict[str, int]:
        """Delete a client's lists, items, removals, shares and consent changes.

        Audit entries stay (they hold ids, times and counts, not content), and
        one more records the erasure with the client id, the rows deleted here
        and ``details`` (counts from elsewhere; never names or contact data).

        Returns
        -------
        dict of str to int
            Rows deleted per table.

        Raises
        ------
        PermissionDenied
            ``actor_id`` is not an admin (or ``"system"``).
        """
        check_id(client_id, "client id")
        now = self._clock()
        with unit_of_work(self._sessions, write=True) as session:
            require_role(session, actor_id, PRIVACY_ROLES, "erase a client's data")
            ids = _list_ids(session, client_id)
            statements = {
                "shares": delete(Share).where(
                    or_(Share.client_id == client_id, Share.list_id.in_(ids))
                ),
                "removals": delete(Removal).where(
                    or_(Removal.client_id == client_id, Removal.list_id.in_(ids))
                ),
                "list_items": delete(ListItem).where(ListItem.list_id.in_(ids)),
                "curated_lists": delete(CuratedList).where(CuratedList.id.in_(ids)),
                "consent_changes": delete(ConsentChange).where(
                    ConsentChange.client_id == client_id
                ),
            }
            counts = {}
            for table, stmt in statements.items():
                result = session.execute(stmt.execution_options(synchronize_session=False))
                counts[table] = int(cast(CursorResult[Any], result).rowcount)
            entry = {**(details or {}), **({"database": counts} if details else {})}
            append_entry(
                session, actor_id, "erase_client", "client", client_id, entry or None, at=now
            )
            return counts
