"""Building blocks of list editing: the compare-and-set, the conflict error, snapshots.

Used by :mod:`core.store.lists` and :mod:`core.store.shares` inside their own
transaction.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from datetime import datetime, tzinfo
from typing import cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from core.exceptions import ConflictError, PermissionDenied, UnknownIdError
from core.store.common import SYSTEM_ACTOR
from core.store.models import CuratedList, ListItem, Removal, User
from core.store.records import CuratedListRecord, ListItemRecord
from core.store.users import require_role

#: Roles that may write client lists and consent at all: the store's coarse gate. Which
#: lists and clients each may touch is ``core.app.access.POLICY`` (checked by the
#: curation service, which knows the clients' stores); a test keeps the two in step.
#: Managers see aggregates only; admins view lists read-only.
CURATOR_ROLES: tuple[str, ...] = ("associate", "stylist")


class ListConflictError(ConflictError):
    """A list changed since the caller read it; nothing was written.

    Attributes
    ----------
    list_id, expected_version, current_version : int
    changed_by, changed_by_name : str
    changed_at : datetime
    """

    def __init__(
        self,
        list_id: int,
        expected_version: int,
        current_version: int,
        changed_by: str,
        changed_by_name: str,
        changed_at: datetime,
        when: str,
    ) -> None:
        self.list_id = list_id
        self.expected_version = expected_version
        self.current_version = current_version
        self.changed_by = changed_by
        self.changed_by_name = changed_by_name
        self.changed_at = changed_at
        super().__init__(
            f"This list was changed by {changed_by_name} {when}; reload to see their changes."
        )


def _when(changed_at: datetime, now: datetime, tz: tzinfo) -> str:
    local, today = changed_at.astimezone(tz), now.astimezone(tz)
    if local.date() == today.date():
        return f"at {local:%H:%M}"
    year = "" if local.year == today.year else f" {local.year}"
    return f"on {local.day} {local:%B}{year} at {local:%H:%M}"


def require_curator(session: Session, actor_id: str) -> None:
    """Raise :class:`PermissionDenied` unless ``actor_id`` is an active curator."""
    if actor_id == SYSTEM_ACTOR:
        raise PermissionDenied("client lists are edited by signed-in users, not the system")
    require_role(session, actor_id, CURATOR_ROLES, "edit client lists")


def require_list(session: Session, list_id: int) -> CuratedList:
    """Return the list row or raise :class:`UnknownIdError` naming the id."""
    try:
        row = session.get(CuratedList, operator.index(list_id))
    except TypeError:  # not an integer id (numpy integers are fine)
        row = None
    if row is None:
        raise UnknownIdError(f"Unknown list id {list_id!r}; it may have been erased")
    return row


def compare_and_set(
    session: Session,
    list_id: int,
    expected_version: int,
    actor_id: str,
    now: datetime,
    tz: tzinfo,
) -> CuratedList:
    """Claim the next version of a list in one ``UPDATE ... WHERE version = :expected``.

    Two writers holding the same version cannot both succeed: the database
    applies the ``UPDATE`` to one and the other matches no row.

    Returns
    -------
    CuratedList
        The row, already at ``expected_version + 1`` with ``updated_by``/``updated_at`` set.

    Raises
    ------
    UnknownIdError
        No such list.
    ListConflictError
        The list is at another version (the message names who changed it, and when).
    """
    if not isinstance(expected_version, int) or isinstance(expected_version, bool):
        raise ValueError(
            f"expected_version must be the list's version (an int), got {expected_version!r}"
        )
    row = require_list(session, list_id)
    stmt = (
        update(CuratedList)
        .where(CuratedList.id == list_id, CuratedList.version == expected_version)
        .values(version=CuratedList.version + 1, updated_by=actor_id, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    result = cast(CursorResult[object], session.execute(stmt))
    session.refresh(row)
    if result.rowcount != 1:
        name = session.scalar(select(User.name).where(User.user_id == row.updated_by))
        raise ListConflictError(
            list_id,
            expected_version,
            row.version,
            row.updated_by,
            name or row.updated_by,
            row.updated_at,
            _when(row.updated_at, now, tz),
        )
    return row


def removed_product_ids(session: Session, client_id: str) -> set[str]:
    """Product ids ever removed from this client's suggestions or lists."""
    stmt = select(Removal.product_id).where(Removal.client_id == client_id)
    return set(session.scalars(stmt))


def renumber(items: Iterable[ListItem]) -> None:
    """Give ``items`` (in display order) positions 0, 1, 2, ..."""
    for position, item in enumerate(items):
        item.position = position


def place(kept: list[ListItem], fresh: list[ListItem], size: int) -> list[ListItem]:
    """Merge kept items (at their old positions, as far as possible) with fresh ones.

    Parameters
    ----------
    kept : list of ListItem
        Items that stay, with their current ``position``.
    fresh : list of ListItem
        New items, in the order they should fill the free slots.
    size : int
        Length of the result (at least ``len(kept)``; extra fresh items are dropped).

    Returns
    -------
    list of ListItem
        In display order.
    """
    slots: list[ListItem | None] = [None] * size
    for item in sorted(kept, key=lambda i: i.position):
        target = min(item.position, size - 1)
        free = [i for i in range(size) if slots[i] is None]
        slot = min(free, key=lambda i: (abs(i - target), i < target))
        slots[slot] = item
    queue = iter(fresh)
    for i in range(size):
        if slots[i] is None:
            slots[i] = next(queue, None)
    return [item for item in slots if item is not None]


def snapshot(session: Session, row: CuratedList) -> CuratedListRecord:
    """Freeze a list row and its items into a :class:`CuratedListRecord`."""
    ids = {row.author_id, row.updated_by}
    rows = session.execute(select(User.user_id, User.name).where(User.user_id.in_(ids)))
    names = {user_id: name for user_id, name in rows}
    items = tuple(
        ListItemRecord(
            product_id=i.product_id,
            position=i.position,
            pinned=i.pinned,
            source=i.source,
            note=i.note,
            reason=i.reason,
            score=i.score,
            added_by=i.added_by,
            added_at=i.added_at,
        )
        for i in sorted(row.items, key=lambda i: i.position)
    )
    return CuratedListRecord(
        list_id=row.id,
        client_id=row.client_id,
        author_id=row.author_id,
        author_name=names.get(row.author_id, row.author_id),
        title=row.title,
        note=row.note,
        status=row.status,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
        updated_by_name=names.get(row.updated_by, row.updated_by),
        items=items,
    )
