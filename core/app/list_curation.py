"""Curated lists, checked: every read of a list by id and every write asks the access policy.

:class:`ListCuration` is the list half of
:class:`~core.app.curation.CurationService` (which adds suggestions,
duplication and sharing). Every method that reads a list by id, or writes,
takes the acting user's id; :class:`~core.app.guard.AccessGuard` reads that
user, the list's author and client as stored, and refuses with
:class:`~core.exceptions.AccessDeniedError` before anything is written. Every
edit passes the version the caller read, so two tablets cannot overwrite each
other (:class:`~core.store.ListConflictError`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

import numpy as np
import pandas as pd

from core.app.guard import AccessGuard
from core.app.list_views import items_frame, lists_frame
from core.data.dataset import Dataset
from core.exceptions import AccessDeniedError
from core.store import Store
from core.store.lists import ListService
from core.store.records import CuratedListRecord, NewItem, ShareRecord


class ListCuration:
    """Checked reads and edits of curated lists (the base of ``CurationService``).

    Subclasses set :attr:`dataset`, :attr:`store` and :attr:`guard` in ``__init__``.
    """

    dataset: Dataset
    store: Store
    guard: AccessGuard

    @property
    def lists(self) -> ListService:
        """The store's list service, unchecked: pages use the checked methods of this class."""
        return self.store.lists

    def client(self, client_id: str) -> pd.Series:
        """The client's row (``UnknownIdError`` for an unknown id)."""
        return self.dataset.client(client_id)

    # --------------------------------------------------------------- access
    def open_client(self, client_id: str, user_id: str) -> pd.Series:
        """The client's row for the Client page, if ``user_id`` may open the client.

        Raises
        ------
        UnknownIdError
            The client is not in the data.
        AccessDeniedError
            The policy refuses it.
        """
        self.guard.check_client(user_id, "open_client", client_id)
        return self.client(client_id)

    def may(
        self,
        user_id: str,
        action: str,
        *,
        client_id: str | None = None,
        record: CuratedListRecord | None = None,
    ) -> bool:
        """Whether ``user_id`` may do ``action`` to a client or a list (to decide what to offer).

        A list action needs ``record`` (judged as stored); a client action ``client_id``.
        """
        try:
            if record is not None:
                self.guard.check_list(user_id, action, record.list_id)
            else:
                self.guard.check_client(user_id, action, str(client_id))
        except AccessDeniedError:
            return False
        return True

    # ---------------------------------------------------------------- lists
    def get_list(self, list_id: int, user_id: str) -> CuratedListRecord:
        """A list as stored now, if ``user_id`` may view it.

        Raises
        ------
        UnknownIdError
            No such list.
        AccessDeniedError
            The policy refuses it (the message names nothing of the list).
        """
        return self.guard.check_list(user_id, "view_list", list_id)

    def draft_for(self, client_id: str, user_id: str) -> CuratedListRecord | None:
        """The client's most recently edited draft that ``user_id`` may view, if any."""
        drafts = (r for r in self.lists.lists_for_client(client_id) if r.status == "draft")
        return next(iter(self.guard.visible(user_id, drafts)), None)

    def open_list_for(self, client_id: str, user_id: str) -> CuratedListRecord | None:
        """The list the client page edits: the latest draft, else the latest shared list.

        Only lists ``user_id`` may view count (a colleague's in another store never does).
        """
        visible = self.guard.visible(user_id, self.lists.lists_for_client(client_id))
        drafts = [r for r in visible if r.status == "draft"]
        found = drafts or visible
        return found[0] if found else None

    def create_list(
        self, client_id: str, author_id: str, items: Sequence[NewItem], *, title: str | None = None
    ) -> CuratedListRecord:
        """Save ``items`` as a new draft list for the client, written by ``author_id``.

        Raises
        ------
        AccessDeniedError
            ``author_id`` may not start a list for this client.
        """
        self.guard.check_client(author_id, "create_list", client_id)
        name = title or self._default_title(client_id)
        return self.lists.create_list(client_id, author_id, name, items=items)

    def create_draft(
        self,
        client_id: str,
        author_id: str,
        suggestions: pd.DataFrame,
        *,
        title: str | None = None,
    ) -> CuratedListRecord:
        """Save suggestions (in their order) as a new draft list for the client."""
        items = new_items(suggestions, source="model")
        return self.create_list(client_id, author_id, items, title=title)

    def _editable(self, record: CuratedListRecord, user_id: str) -> CuratedListRecord:
        """The list as stored, if ``user_id`` may edit it (``AccessDeniedError`` otherwise)."""
        return self.guard.check_list(user_id, "edit_list", record.list_id)

    def _default_title(self, client_id: str) -> str:
        row = self.client(client_id)
        first = str(row.get("first_name") or "").strip()
        last = str(row.get("last_name") or "").strip()
        who = (f"{first} {last}".strip() or client_id)[:120]
        return f"Selection for {who} · {date.today():%d %b %Y}"

    def add_product(
        self,
        record: CuratedListRecord,
        product_id: str,
        author_id: str,
        *,
        reason: str = "",
        note: str = "",
    ) -> CuratedListRecord:
        """Add a catalogue product by hand (it passes overridable rules such as sensitive)."""
        self._editable(record, author_id)
        self.dataset.product_ids.to_internal_one(product_id)  # UnknownIdError early
        return self.lists.add_item(
            record.list_id,
            product_id,
            expected_version=record.version,
            actor_id=author_id,
            source="manual",
            reason=reason or "Added by hand",
            note=note,
        )

    def remove(
        self,
        record: CuratedListRecord,
        product_id: str,
        reason: str,
        author_id: str,
        *,
        whole_category: bool = False,
    ) -> CuratedListRecord:
        """Remove an item with the associate's reason (recorded; never suggested again).

        With ``whole_category`` the product's category is recorded too, so the
        engine stops suggesting that category for the client.
        """
        self._editable(record, author_id)
        category = None
        if whole_category:
            category = str(self.dataset.product(product_id)["category"])
        return self.lists.remove_item(
            record.list_id,
            product_id,
            reason,
            author_id,
            expected_version=record.version,
            category=category,
        )

    def set_pinned(
        self, record: CuratedListRecord, product_id: str, pinned: bool, author_id: str
    ) -> CuratedListRecord:
        """Pin (kept in place by :meth:`regenerate`) or unpin an item."""
        self._editable(record, author_id)
        method = self.lists.pin if pinned else self.lists.unpin
        return method(
            record.list_id, product_id, expected_version=record.version, actor_id=author_id
        )

    def set_note(
        self, record: CuratedListRecord, product_id: str | None, note: str, author_id: str
    ) -> CuratedListRecord:
        """Set an item's internal note, or the list's (``product_id=None``); never client-facing."""
        self._editable(record, author_id)
        if product_id is None:
            return self.lists.set_list_note(
                record.list_id, note, expected_version=record.version, actor_id=author_id
            )
        return self.lists.set_item_note(
            record.list_id, product_id, note, expected_version=record.version, actor_id=author_id
        )

    def set_title(self, record: CuratedListRecord, title: str, author_id: str) -> CuratedListRecord:
        """Rename the list (1 to 200 characters)."""
        self._editable(record, author_id)
        return self.lists.set_title(
            record.list_id, title, expected_version=record.version, actor_id=author_id
        )

    def archive(self, record: CuratedListRecord, author_id: str) -> CuratedListRecord:
        """Archive a list (read-only afterwards)."""
        self._editable(record, author_id)
        return self.lists.archive(
            record.list_id, expected_version=record.version, actor_id=author_id
        )

    def move(
        self, record: CuratedListRecord, product_id: str, step: int, author_id: str
    ) -> CuratedListRecord:
        """Move an item up (``step < 0``) or down (``step > 0``) by ``|step|`` places."""
        self._editable(record, author_id)
        order = record.product_ids
        if product_id not in order:
            raise ValueError(f"product {product_id!r} is not in list {record.list_id}")
        i = order.index(product_id)
        j = min(max(i + step, 0), len(order) - 1)
        if i == j:
            return record
        order.insert(j, order.pop(i))
        return self.lists.reorder(
            record.list_id, order, expected_version=record.version, actor_id=author_id
        )

    def items_frame(self, record: CuratedListRecord) -> pd.DataFrame:
        """A list's items with catalogue data and stock (:func:`core.app.list_views.items_frame`)."""
        return items_frame(self.dataset, record)

    def share_record(self, share_id: int, user_id: str) -> ShareRecord:
        """A recorded share (what the client saw), if ``user_id`` may view its list.

        Raises
        ------
        UnknownIdError
            No such share.
        AccessDeniedError
            The policy hides its list.
        """
        found = self.store.shares.get_share(share_id)
        self.guard.check_list(user_id, "view_list", found.list_id)
        return found

    # ------------------------------------------------------------ lists page
    def visible_lists(
        self, user_id: str, *, include_archived: bool = True
    ) -> list[CuratedListRecord]:
        """Every list ``user_id`` may view, most recently changed first (the Lists page).

        Their own, and those for clients of their store or assigned to them; never
        another store's.
        """
        return self.guard.visible(user_id, self.lists.all_lists(include_archived=include_archived))

    def list_actions(self, user_id: str, lists: pd.DataFrame) -> dict[int, frozenset[str]]:
        """The list actions ``user_id`` may do to each row of a :meth:`lists_frame`, by list id."""
        user = self.guard.user(user_id)
        rows = lists[["list_id", "author_id", "client_id"]].itertuples(index=False)
        return {
            int(lid): self.guard.actions(user, str(author), str(client))
            for lid, author, client in rows
        }

    def lists_frame(self, records: Iterable[CuratedListRecord]) -> pd.DataFrame:
        """One row per list (:func:`core.app.list_views.lists_frame`)."""
        return lists_frame(records, self.dataset.clients)


def new_items(frame: pd.DataFrame, *, source: str) -> list[NewItem]:
    """Rows of suggestions (``product_id``, ``reason``, ``score``) as items to save."""
    items = []
    for row in frame.to_dict("records"):
        score = row.get("score")
        try:
            score = float(score) if score is not None and np.isfinite(float(score)) else None
        except (TypeError, ValueError):
            score = None
        reason = str(row.get("reason") or "")[:1000]
        items.append(NewItem(str(row["product_id"]), reason=reason, score=score, source=source))
    return items
