"""Shares: what was sent to a client, how, by whom and when; contact frequency."""

from __future__ import annotations

import operator
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import func, select

from core.exceptions import ConsentError, UnknownIdError
from core.store.audit import append_entry
from core.store.common import (
    Clock,
    SessionFactory,
    as_utc,
    check_choice,
    dump_json,
    load_json,
    unit_of_work,
    utcnow,
)
from core.store.consent import overrides_in
from core.store.list_ops import compare_and_set, require_curator, require_list
from core.store.models import SHARE_CHANNELS, Share
from core.store.records import ShareRecord


def _record(s: Share) -> ShareRecord:
    return ShareRecord(
        id=s.id,
        list_id=s.list_id,
        client_id=s.client_id,
        channel=s.channel,
        snapshot=load_json(s.snapshot),
        author_id=s.author_id,
        created_at=s.created_at,
    )


class ShareService:
    """Record shares and answer "when was this client last contacted?".

    Parameters
    ----------
    sessions : sessionmaker
    clock : callable, optional
    tz : tzinfo, optional
        Time zone of times in conflict messages.
    cooldown_days : int
        Window of the contact-frequency warning.
    max_contacts_per_cooldown : int
        Contacts allowed in that window before :meth:`contact_warning` warns.
    """

    def __init__(
        self,
        sessions: SessionFactory,
        clock: Clock = utcnow,
        tz: tzinfo = UTC,
        *,
        cooldown_days: int = 7,
        max_contacts_per_cooldown: int = 1,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._tz = tz
        self.cooldown = timedelta(days=cooldown_days)
        self.max_contacts = max_contacts_per_cooldown

    def record_share(
        self,
        list_id: int,
        channel: str,
        snapshot: dict[str, Any],
        author_id: str,
        *,
        consent_contact: bool,
        expected_version: int | None = None,
    ) -> ShareRecord:
        """Keep what a client was sent, mark the list shared and audit it, in one transaction.

        Parameters
        ----------
        channel : str
            One of :data:`core.store.models.SHARE_CHANNELS`.
        snapshot : dict
            Exactly what the client saw (JSON-serialisable; text kept as is).
        consent_contact : bool
            The client's ``consent_contact`` flag in the dataset; a recorded
            consent change overrides it.
        expected_version : int, optional
            The list version the snapshot was made from; when given, a newer
            list raises :class:`~core.store.list_ops.ListConflictError`.

        Raises
        ------
        ConsentError
            The client has not consented to be contacted; nothing is recorded.
        ValueError
            Unknown channel, archived list, or a snapshot that is not JSON or too large.
        """
        check_choice(channel, "channel", SHARE_CHANNELS)
        text = dump_json(snapshot, "share snapshot")
        now = self._clock()
        with unit_of_work(self._sessions, write=True) as session:
            require_curator(session, author_id)
            row = require_list(session, list_id)
            consent = overrides_in(session, row.client_id).get("consent_contact", consent_contact)
            if not consent:
                raise ConsentError(
                    f"Client {row.client_id} has not consented to be contacted; record their "
                    "consent before sharing."
                )
            if row.status == "archived":
                raise ValueError(f"list {list_id} is archived; duplicate it to share it again")
            version = row.version if expected_version is None else expected_version
            row = compare_and_set(session, list_id, version, author_id, now, self._tz)
            row.status = "shared"
            share = Share(
                list_id=list_id,
                client_id=row.client_id,
                channel=channel,
                snapshot=text,
                author_id=author_id,
                created_at=now,
            )
            session.add(share)
            session.flush()
            details = {"list_id": list_id, "share_id": share.id, "channel": channel}
            append_entry(session, author_id, "share", "client", row.client_id, details, at=now)
            return _record(share)

    def get_share(self, share_id: int) -> ShareRecord:
        """One share by id.

        Raises
        ------
        UnknownIdError
            No such share.
        """
        with unit_of_work(self._sessions) as session:
            try:
                share = session.get(Share, operator.index(share_id))
            except TypeError:  # not an integer id
                share = None
            if share is None:
                raise UnknownIdError(f"Unknown share id {share_id!r}; it may have been erased")
            return _record(share)

    def shares_for_client(self, client_id: str) -> list[ShareRecord]:
        """Every share for a client, newest first."""
        stmt = (
            select(Share)
            .where(Share.client_id == client_id)
            .order_by(Share.created_at.desc(), Share.id.desc())
        )
        with unit_of_work(self._sessions) as session:
            return [_record(s) for s in session.scalars(stmt)]

    def all_shares(self) -> list[ShareRecord]:
        """Every share, oldest first (for outcome measurement)."""
        stmt = select(Share).order_by(Share.created_at, Share.id)
        with unit_of_work(self._sessions) as session:
            return [_record(s) for s in session.scalars(stmt)]

    def last_contact(self, client_id: str) -> datetime | None:
        """When the client was last sent something, or ``None``."""
        stmt = select(func.max(Share.created_at)).where(Share.client_id == client_id)
        with unit_of_work(self._sessions) as session:
            return session.scalar(stmt)

    def contacts_since(self, client_id: str, since: datetime) -> int:
        """How many shares the client was sent at or after ``since``."""
        stmt = select(func.count()).where(
            Share.client_id == client_id, Share.created_at >= as_utc(since)
        )
        with unit_of_work(self._sessions) as session:
            return int(session.scalar(stmt) or 0)

    def contact_warning(self, client_id: str, now: datetime | None = None) -> str | None:
        """A warning to show before contacting a client contacted recently, else ``None``."""
        at = as_utc(now) if now is not None else self._clock()
        count = self.contacts_since(client_id, at - self.cooldown)
        if count < self.max_contacts:
            return None
        last = self.last_contact(client_id)
        days = (at - last).days if last is not None else 0
        ago = "today" if days == 0 else f"{days} day{'s' if days != 1 else ''} ago"
        window = self.cooldown.days
        return (
            f"Contacted {ago} ({count} contact{'s' if count != 1 else ''} in the last "
            f"{window} days); the guideline is at most {self.max_contacts} per {window} days."
        )
