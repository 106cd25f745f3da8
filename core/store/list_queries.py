"""Reading curated lists and removals: every query the pages and the health page need.

:class:`ListQueries` is the read side of :class:`core.store.lists.ListService`
(which adds the edits); it returns frozen records, never ORM objects.
"""

from __future__ import annotations

from datetime import UTC, tzinfo

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, selectinload

from core.store.common import Clock, SessionFactory, unit_of_work, utcnow
from core.store.list_ops import removed_product_ids, require_list, snapshot
from core.store.models import CuratedList, Removal
from core.store.records import CuratedListRecord, RemovalRecord


def removal_record(r: Removal) -> RemovalRecord:
    """The frozen record of a removal row."""
    return RemovalRecord(
        r.id,
        r.list_id,
        r.client_id,
        r.product_id,
        r.category,
        r.reason,
        r.removed_by,
        r.removed_at,
        r.reason_shown or "",
    )


class ListQueries:
    """Read curated lists and removals.

    Parameters
    ----------
    sessions : sessionmaker
        From :func:`core.store.db.session_factory`.
    clock : callable, optional
        Returns the current time (aware UTC).
    tz : tzinfo, optional
        Time zone of the times in conflict messages (the store's), default UTC.
    """

    def __init__(self, sessions: SessionFactory, clock: Clock = utcnow, tz: tzinfo = UTC) -> None:
        self._sessions = sessions
        self._clock = clock
        self._tz = tz

    def get_list(self, list_id: int) -> CuratedListRecord:
        """Return a list with its items in display order and its current version.

        Raises
        ------
        UnknownIdError
            No such list.
        """
        with unit_of_work(self._sessions) as session:
            return snapshot(session, require_list(session, list_id))

    def _find(self, session: Session, *conditions: ColumnElement[bool]) -> list[CuratedListRecord]:
        stmt = (
            select(CuratedList)
            .where(*conditions)
            .options(selectinload(CuratedList.items))
            .order_by(CuratedList.updated_at.desc(), CuratedList.id.desc())
        )
        return [snapshot(session, row) for row in session.scalars(stmt)]

    def get_draft_for_client(
        self, client_id: str, author_id: str | None = None
    ) -> CuratedListRecord | None:
        """Return the most recently edited draft for a client (by ``author_id``, if given)."""
        conditions = [CuratedList.client_id == client_id, CuratedList.status == "draft"]
        if author_id is not None:
            conditions.append(CuratedList.author_id == author_id)
        with unit_of_work(self._sessions) as session:
            found = self._find(session, *conditions)
        return found[0] if found else None

    def lists_for_client(
        self, client_id: str, *, include_archived: bool = False
    ) -> list[CuratedListRecord]:
        """Return a client's lists, most recently edited first."""
        conditions = [CuratedList.client_id == client_id]
        if not include_archived:
            conditions.append(CuratedList.status != "archived")
        with unit_of_work(self._sessions) as session:
            return self._find(session, *conditions)

    def lists_by_author(
        self, author_id: str, *, include_archived: bool = False
    ) -> list[CuratedListRecord]:
        """Return the lists a stylist or associate created, most recently edited first."""
        conditions = [CuratedList.author_id == author_id]
        if not include_archived:
            conditions.append(CuratedList.status != "archived")
        with unit_of_work(self._sessions) as session:
            return self._find(session, *conditions)

    def removed_products(self, client_id: str) -> set[str]:
        """Product ids removed for this client (negative signal for the engine)."""
        with unit_of_work(self._sessions) as session:
            return removed_product_ids(session, client_id)

    def removed_categories(self, client_id: str) -> set[str]:
        """Categories of the products removed for this client (where recorded)."""
        stmt = select(Removal.category).where(
            Removal.client_id == client_id, Removal.category.is_not(None)
        )
        with unit_of_work(self._sessions) as session:
            return {c for c in session.scalars(stmt) if c is not None}

    def removals_for_client(self, client_id: str) -> list[RemovalRecord]:
        """Every removal for this client with its reason, newest first."""
        stmt = (
            select(Removal)
            .where(Removal.client_id == client_id)
            .order_by(Removal.removed_at.desc(), Removal.id.desc())
        )
        with unit_of_work(self._sessions) as session:
            return [removal_record(r) for r in session.scalars(stmt)]

    def all_lists(self, *, include_archived: bool = True) -> list[CuratedListRecord]:
        """Every list with its items, most recently edited first (lists page, health)."""
        conditions = [] if include_archived else [CuratedList.status != "archived"]
        with unit_of_work(self._sessions) as session:
            return self._find(session, *conditions)

    def all_removals(self) -> list[RemovalRecord]:
        """Every removal with its reason, oldest first (acceptance measurement)."""
        stmt = select(Removal).order_by(Removal.removed_at, Removal.id)
        with unit_of_work(self._sessions) as session:
            return [removal_record(r) for r in session.scalars(stmt)]
