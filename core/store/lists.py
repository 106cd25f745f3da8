"""Curated lists: create and edit them with optimistic locking; record removals.

Every edit takes the ``expected_version`` the caller read. The edit claims the
next version with a compare-and-set (:func:`core.store.list_ops.compare_and_set`);
if someone else got there first it raises
:class:`~core.store.list_ops.ListConflictError` ("This list was changed by Léa
Martin at 14:02; reload to see their changes") and writes nothing. Each edit
and its audit entry are one transaction. Reading lists and removals is
:mod:`core.store.list_queries`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from core.store.audit import append_entry
from core.store.common import (
    NAME_MAX,
    NOTE_MAX,
    REASON_MAX,
    TITLE_MAX,
    check_choice,
    check_id,
    check_score,
    check_text,
    unit_of_work,
)
from core.store.list_ops import (
    compare_and_set,
    place,
    removed_product_ids,
    renumber,
    require_curator,
    require_list,
    snapshot,
)
from core.store.list_queries import ListQueries, removal_record
from core.store.models import ITEM_SOURCES, CuratedList, ListItem, Removal
from core.store.records import CuratedListRecord, NewItem, RemovalRecord

MAX_ITEMS = 200
Keep = Callable[[str], bool] | Collection[str] | None


def _check_item(item: NewItem) -> NewItem:
    check_id(item.product_id, "product id")
    check_text(item.reason, "reason", max_len=REASON_MAX)
    check_text(item.note, "item note", max_len=NOTE_MAX)
    check_choice(item.source, "source", ITEM_SOURCES)
    check_score(item.score)
    return item


class ListService(ListQueries):
    """Curated lists and the removals they produce.

    Every editing method takes keyword-only ``expected_version`` (the
    ``version`` of the record the caller shows) and ``actor_id`` (or
    ``removed_by``), and returns the list as it is after the edit.

    They raise :class:`~core.store.list_ops.ListConflictError` (a
    ``ConflictError``) when the list is no longer at ``expected_version``,
    ``UnknownIdError`` for an unknown list, ``PermissionDenied`` when the actor
    is not an active associate or stylist, and ``ValueError`` for bad
    input, a product not in the list or an archived list; in each case nothing
    is written.

    The reading methods (lists of a client or an author, every list, removals)
    come from :class:`~core.store.list_queries.ListQueries`, which also takes
    the parameters.
    """

    # -- creating -----------------------------------------------------------------------

    def create_list(
        self,
        client_id: str,
        author_id: str,
        title: str,
        *,
        note: str = "",
        items: Sequence[NewItem] = (),
    ) -> CuratedListRecord:
        """Create a draft list for a client, optionally with initial items (version 1).

        Raises
        ------
        ValueError
            Invalid id, empty or too long title/note, bad item.
        PermissionDenied
            ``author_id`` is not an active associate or stylist.
        """
        check_id(client_id, "client id")
        check_text(title, "title", max_len=TITLE_MAX, required=True)
        check_text(note, "list note", max_len=NOTE_MAX)
        items = [_check_item(i) for i in items]
        now = self._clock()
        with unit_of_work(self._sessions, write=True) as session:
            require_curator(session, author_id)
            row = CuratedList(
                client_id=client_id,
                author_id=author_id,
                title=title,
                note=note,
                status="draft",
                version=1,
                created_at=now,
                updated_at=now,
                updated_by=author_id,
            )
            session.add(row)
            self._append(row, items, author_id, now, skip=set())
            session.flush()
            append_entry(
                session,
                author_id,
                "list_create",
                "list",
                str(row.id),
                {"client_id": client_id},
                at=now,
            )
            return snapshot(session, row)

    def duplicate_for_client(
        self,
        list_id: int,
        new_client_id: str,
        author_id: str,
        *,
        keep: Keep = None,
        title: str | None = None,
        copy_notes: bool = False,
    ) -> CuratedListRecord:
        """Copy a list's products into a new draft for another client.

        Reasons and scores are not copied (they describe the first client), nor,
        unless ``copy_notes``, the internal notes. Products removed for the new
        client are left out, as are those ``keep`` rejects.

        Parameters
        ----------
        keep : callable or collection of str, optional
            ``keep(product_id) -> bool``, or the allowed product ids (e.g. in
            stock at the new client's store); ``None`` keeps all.
        title : str, optional
            Defaults to the source list's title.
        """
        check_id(new_client_id, "client id")
        with unit_of_work(self._sessions) as session:
            source = snapshot(session, require_list(session, list_id))
            removed = removed_product_ids(session, new_client_id)
        if isinstance(keep, str):
            raise ValueError("keep must be a callable or a collection of product ids, not one id")
        allowed: Callable[[str], bool]
        if keep is None:
            allowed = lambda _pid: True  # noqa: E731
        elif callable(keep):
            allowed = keep
        else:
            allowed = set(keep).__contains__
        copied = [
            NewItem(
                i.product_id, note=i.note if copy_notes else "", source="manual", pinned=i.pinned
            )
            for i in source.items
            if allowed(i.product_id) and i.product_id not in removed
        ]
        return self.create_list(new_client_id, author_id, title or source.title, items=copied)

    def record_removal(
        self,
        client_id: str,
        product_id: str,
        reason: str,
        removed_by: str,
        *,
        category: str | None = None,
    ) -> RemovalRecord:
        """Record that a suggestion was dismissed for a client outside any saved list."""
        check_id(client_id, "client id")
        with unit_of_work(self._sessions, write=True) as session:
            require_curator(session, removed_by)
            now = self._clock()
            removal = self._removal(
                session, None, client_id, product_id, reason, removed_by, category, now
            )
            append_entry(session, removed_by, "removal", "client", client_id, at=now)
            return removal_record(removal)

    # -- editing ------------------------------------------------------------------------

    def _removal(
        self,
        session: Session,
        list_id: int | None,
        client_id: str,
        product_id: str,
        reason: str,
        removed_by: str,
        category: str | None,
        now: datetime,
        *,
        reason_shown: str = "",
    ) -> Removal:
        check_id(product_id, "product id")
        check_text(reason, "removal reason", max_len=REASON_MAX)
        if category is not None:
            check_text(category, "category", max_len=NAME_MAX)
        removal = Removal(
            list_id=list_id,
            client_id=client_id,
            product_id=product_id,
            category=category,
            reason=reason,
            removed_by=removed_by,
            removed_at=now,
            reason_shown=reason_shown,
        )
        session.add(removal)
        session.flush()
        return removal

    def _append(
        self,
        row: CuratedList,
        items: Iterable[NewItem],
        actor_id: str,
        now: datetime,
        skip: set[str],
    ) -> list[ListItem]:
        present = {i.product_id for i in row.items} | skip
        added = []
        for new in items:
            if new.product_id in present:
                continue
            present.add(new.product_id)
            item = ListItem(
                product_id=new.product_id,
                position=len(row.items),
                pinned=new.pinned,
                source=new.source,
                note=new.note,
                reason=new.reason,
                score=check_score(new.score),
                added_by=actor_id,
                added_at=now,
            )
            row.items.append(item)
            added.append(item)
        if len(row.items) > MAX_ITEMS:
            raise ValueError(
                f"a list holds at most {MAX_ITEMS} items; this would make {len(row.items)}"
            )
        return added

    def _edit(
        self,
        list_id: int,
        expected_version: int,
        actor_id: str,
        op: str,
        change: Callable[[Session, CuratedList, datetime], None],
        *,
        status: str | None = None,
    ) -> CuratedListRecord:
        now = self._clock()
        with unit_of_work(self._sessions, write=True) as session:
            require_curator(session, actor_id)
            row = compare_and_set(session, list_id, expected_version, actor_id, now, self._tz)
            if row.status == "archived":
                raise ValueError(f"list {list_id} is archived; duplicate it to work on it again")
            change(session, row, now)
            # Content edits after a share make the list a draft again: what the
            # client saw is kept in the share's snapshot.
            row.status = status or "draft"
            session.flush()
            # Ids and counts only: an erased client's list content must not live on here.
            details = {
                "op": op,
                "client_id": row.client_id,
                "version": row.version,
                "items": len(row.items),
            }
            append_entry(session, actor_id, "list_update", "list", str(list_id), details, at=now)
            return snapshot(session, row)

    def _item(self, row: CuratedList, product_id: str) -> ListItem:
        for item in row.items:
            if item.product_id == product_id:
                return item
        raise ValueError(f"product {product_id!r} is not in list {row.id}")

    def add_item(
        self,
        list_id: int,
        product_id: str,
        *,
        expected_version: int,
        actor_id: str,
        source: str = "manual",
        reason: str = "",
        score: float | None = None,
        note: str = "",
        position: int | None = None,
    ) -> CuratedListRecord:
        """Add one product at ``position`` (0-based; ``None``: at the end).

        Raises
        ------
        ValueError
            The product is already in the list, the list is full, or bad input.
        ListConflictError
            The list is no longer at ``expected_version``.
        """
        new = _check_item(NewItem(product_id, reason, score, note, source))
        if position is not None and (not isinstance(position, int) or position < 0):
            raise ValueError(f"position must be an int >= 0 or None, got {position!r}")

        def change(session: Session, row: CuratedList, now: datetime) -> None:
            if any(i.product_id == product_id for i in row.items):
                raise ValueError(f"product {product_id!r} is already in list {list_id}")
            ordered = sorted(row.items, key=lambda i: i.position)
            (item,) = self._append(row, [new], actor_id, now, skip=set())
            at = len(ordered) if position is None else min(position, len(ordered))
            renumber([*ordered[:at], item, *ordered[at:]])

        return self._edit(list_id, expected_version, actor_id, "add_item", change)

    def add_items(
        self,
        list_id: int,
        items: Sequence[NewItem],
        *,
        expected_version: int,
        actor_id: str,
        skip_removed: bool = True,
    ) -> CuratedListRecord:
        """Append several products (e.g. model suggestions) in order.

        Products already in the list are skipped, and so, with ``skip_removed``,
        are products removed for this client before.
        """
        items = [_check_item(i) for i in items]

        def change(session: Session, row: CuratedList, now: datetime) -> None:
            skip = removed_product_ids(session, row.client_id) if skip_removed else set()
            self._append(row, items, actor_id, now, skip)

        return self._edit(list_id, expected_version, actor_id, "add_items", change)

    def _set_pinned(
        self, list_id: int, product_id: str, pinned: bool, expected_version: int, actor_id: str
    ) -> CuratedListRecord:
        def change(session: Session, row: CuratedList, now: datetime) -> None:
            self._item(row, product_id).pinned = pinned

        op = "pin" if pinned else "unpin"
        return self._edit(list_id, expected_version, actor_id, op, change)

    def pin(
        self, list_id: int, product_id: str, *, expected_version: int, actor_id: str
    ) -> CuratedListRecord:
        """Pin an item: it survives :meth:`replace_unpinned` in its place."""
        return self._set_pinned(list_id, product_id, True, expected_version, actor_id)

    def unpin(
        self, list_id: int, product_id: str, *, expected_version: int, actor_id: str
    ) -> CuratedListRecord:
        """Unpin an item."""
        return self._set_pinned(list_id, product_id, False, expected_version, actor_id)

    def remove_item(
        self,
        list_id: int,
        product_id: str,
        reason: str,
        removed_by: str,
        *,
        expected_version: int,
        category: str | None = None,
    ) -> CuratedListRecord:
        """Take a product out of the list and record the removal (a negative signal).

        Parameters
        ----------
        reason : str
            Why, as given by the associate (may be empty; at most 1,000 characters).
        category : str, optional
            The product's category, so the engine can learn category dislikes.
        """

        def change(session: Session, row: CuratedList, now: datetime) -> None:
            item = self._item(row, product_id)
            row.items.remove(item)
            renumber(sorted(row.items, key=lambda i: i.position))
            self._removal(
                session,
                row.id,
                row.client_id,
                product_id,
                reason,
                removed_by,
                category,
                now,
                reason_shown=item.reason or "",
            )

        return self._edit(list_id, expected_version, removed_by, "remove_item", change)

    def reorder(
        self, list_id: int, product_ids: Sequence[str], *, expected_version: int, actor_id: str
    ) -> CuratedListRecord:
        """Put the items in the given order (every product of the list, exactly once)."""

        def change(session: Session, row: CuratedList, now: datetime) -> None:
            by_id = {i.product_id: i for i in row.items}
            if sorted(product_ids) != sorted(by_id) or len(set(product_ids)) != len(product_ids):
                missing = sorted(set(by_id) - set(product_ids))
                unknown = sorted(set(product_ids) - set(by_id))
                raise ValueError(
                    "reorder needs every product of the list exactly once"
                    f" (missing: {missing or 'none'}; not in the list: {unknown or 'none'})"
                )
            renumber(by_id[pid] for pid in product_ids)

        return self._edit(list_id, expected_version, actor_id, "reorder", change)

    def set_item_note(
        self,
        list_id: int,
        product_id: str,
        note: str,
        *,
        expected_version: int,
        actor_id: str,
    ) -> CuratedListRecord:
        """Set an item's internal note (at most 2,000 characters; never client-facing)."""
        check_text(note, "item note", max_len=NOTE_MAX)

        def change(session: Session, row: CuratedList, now: datetime) -> None:
            self._item(row, product_id).note = note

        return self._edit(list_id, expected_version, actor_id, "set_item_note", change)

    def set_list_note(
        self, list_id: int, note: str, *, expected_version: int, actor_id: str
    ) -> CuratedListRecord:
        """Set the list's internal note (at most 2,000 characters)."""
        check_text(note, "list note", max_len=NOTE_MAX)

        def change(session: Session, row: CuratedList, now: datetime) -> None:
            row.note = note

        return self._edit(list_id, expected_version, actor_id, "set_list_note", change)

    def set_title(
        self, list_id: int, title: str, *, expected_version: int, actor_id: str
    ) -> CuratedListRecord:
        """Rename the list (1 to 200 characters)."""
        check_text(title, "title", max_len=TITLE_MAX, required=True)

        def change(session: Session, row: CuratedList, now: datetime) -> None:
            row.title = title

        return self._edit(list_id, expected_version, actor_id, "set_title", change)

    def replace_unpinned(
        self,
        list_id: int,
        suggestions: Sequence[NewItem],
        *,
        expected_version: int,
        actor_id: str,
        size: int | None = None,
        keep_manual: bool = True,
    ) -> CuratedListRecord:
        """Refresh the model's part of a list with new suggestions.

        Pinned items (and, with ``keep_manual``, items the associate added by
        hand) stay in their places; the other slots are filled with
        ``suggestions`` in order, skipping products already kept and products
        ever removed for this client.

        Parameters
        ----------
        size : int, optional
            Length of the refreshed list; default: kept items plus every usable
            suggestion. Never fewer than the kept items.
        """
        suggestions = [_check_item(i) for i in suggestions]
        if size is not None and (not isinstance(size, int) or size < 0):
            raise ValueError(f"size must be an int >= 0 or None, got {size!r}")

        def change(session: Session, row: CuratedList, now: datetime) -> None:
            kept = [i for i in row.items if i.pinned or (keep_manual and i.source == "manual")]
            for item in [i for i in row.items if i not in kept]:
                row.items.remove(item)
            session.flush()  # free the (list, product) keys before re-adding any
            skip = removed_product_ids(session, row.client_id) | {i.product_id for i in kept}
            usable = []
            for new in suggestions:
                if new.product_id not in skip:
                    skip.add(new.product_id)
                    usable.append(new)
            room = len(usable) if size is None else max(size - len(kept), 0)
            fresh = self._append(row, usable[:room], actor_id, now, skip=set())
            renumber(place(kept, fresh, len(kept) + len(fresh)))

        return self._edit(list_id, expected_version, actor_id, "replace_unpinned", change)

    def archive(self, list_id: int, *, expected_version: int, actor_id: str) -> CuratedListRecord:
        """Archive a list (read-only afterwards; duplicate it to reuse it)."""
        return self._edit(
            list_id, expected_version, actor_id, "archive", lambda *_: None, status="archived"
        )

    def mark_shared(
        self, list_id: int, *, expected_version: int, actor_id: str
    ) -> CuratedListRecord:
        """Mark a list as shared (use :meth:`ShareService.record_share` to also keep what was sent)."""
        return self._edit(
            list_id, expected_version, actor_id, "mark_shared", lambda *_: None, status="shared"
        )
