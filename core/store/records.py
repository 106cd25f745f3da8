"""Frozen snapshots the services return (never live ORM objects).

Pages and the CLI get plain values they can keep, compare and render after
the session that read them is closed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class UserRecord:
    """A user as the dashboard sees it (never includes the password hash)."""

    user_id: str
    name: str
    role: str
    store_id: str | None
    active: bool
    failed_attempts: int
    locked_until: datetime | None
    created_at: datetime
    last_login_at: datetime | None
    must_change_password: bool


@dataclass(frozen=True)
class NewItem:
    """An item to add to a list, e.g. one model suggestion.

    Attributes
    ----------
    product_id : str
    reason : str
        The reason shown to the associate at the time (kept as shown).
    score : float or None
        Model score; ``None`` for manual additions.
    note : str
        Internal note (never client-facing).
    source : {'model', 'manual'}
    pinned : bool
    """

    product_id: str
    reason: str = ""
    score: float | None = None
    note: str = ""
    source: str = "model"
    pinned: bool = False


@dataclass(frozen=True)
class ListItemRecord:
    """One item of a curated list."""

    product_id: str
    position: int
    pinned: bool
    source: str
    note: str
    reason: str
    score: float | None
    added_by: str
    added_at: datetime


@dataclass(frozen=True)
class CuratedListRecord:
    """A curated list with its items in display order, at one version.

    Pass ``version`` back as ``expected_version`` to change the list.
    """

    list_id: int
    client_id: str
    author_id: str
    author_name: str
    title: str
    note: str
    status: str
    version: int
    created_at: datetime
    updated_at: datetime
    updated_by: str
    updated_by_name: str
    items: tuple[ListItemRecord, ...] = ()

    @property
    def product_ids(self) -> list[str]:
        """Product ids in display order."""
        return [item.product_id for item in self.items]

    @property
    def pinned_ids(self) -> list[str]:
        """Pinned product ids in display order."""
        return [item.product_id for item in self.items if item.pinned]

    def item(self, product_id: str) -> ListItemRecord | None:
        """Return the item for ``product_id``, or ``None`` if it is not in the list."""
        return next((i for i in self.items if i.product_id == product_id), None)


@dataclass(frozen=True)
class RemovalRecord:
    """A product removed from a client's suggestions, with the reason given."""

    id: int
    list_id: int | None
    client_id: str
    product_id: str
    category: str | None
    reason: str
    removed_by: str
    removed_at: datetime
    reason_shown: str = ""


@dataclass(frozen=True)
class ShareRecord:
    """What was shared with a client, how, by whom and when."""

    id: int
    list_id: int
    client_id: str
    channel: str
    snapshot: dict[str, Any] = field(hash=False)
    author_id: str
    created_at: datetime


@dataclass(frozen=True)
class ConsentChangeRecord:
    """One change of a client's consent flag."""

    id: int
    client_id: str
    field: str
    old_value: bool | None
    new_value: bool
    changed_by: str
    changed_at: datetime
    note: str


@dataclass(frozen=True)
class AuditRecord:
    """One audit-log entry (``details`` is the decoded JSON)."""

    id: int
    at: datetime
    actor_id: str
    action: str
    target_type: str
    target_id: str
    details: dict[str, Any] = field(hash=False)
