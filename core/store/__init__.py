"""Atelier's database: users, curated lists, removals, shares, consent, audit.

Pages and the CLI call the services, never SQL::

    store = Store.open(settings)            # engine + schema upgrades + services
    user = store.users.authenticate("u1", password)
    draft = store.lists.create_list("C001", user.user_id, "Autumn edit")
    draft = store.lists.pin(draft.list_id, "P9", expected_version=draft.version,
                            actor_id=user.user_id)

Every service returns frozen records (:mod:`core.store.records`), never ORM objects.
"""

from __future__ import annotations

from datetime import UTC, tzinfo

from argon2 import PasswordHasher
from sqlalchemy import Engine

from core.settings import Settings
from core.store.audit import AUDIT_COLUMNS, AuditLog
from core.store.clients import ClientDataService
from core.store.common import (
    SYSTEM_ACTOR,
    AppendOnlyError,
    Clock,
    SchemaVersionError,
    StoreFullError,
    utcnow,
)
from core.store.consent import ConsentService
from core.store.db import LATEST_VERSION, current_version, init_db, make_engine, session_factory
from core.store.list_ops import CURATOR_ROLES, ListConflictError
from core.store.lists import ListService
from core.store.models import AUDIT_ACTIONS, CONSENT_FIELDS, LIST_STATUSES, SHARE_CHANNELS
from core.store.records import (
    AuditRecord,
    ConsentChangeRecord,
    CuratedListRecord,
    ListItemRecord,
    NewItem,
    RemovalRecord,
    ShareRecord,
    UserRecord,
)
from core.store.shares import ShareService
from core.store.users import UserService, generate_password


class Store:
    """Every service over one engine (build it once per process).

    Parameters
    ----------
    engine : Engine
        From :func:`make_engine`; the schema must be initialised (:meth:`open` does it).
    settings : Settings, optional
        Sign-in lockout and contact cool-down; defaults to ``Settings()``.
    clock : callable, optional
        Current time (aware UTC), shared by all services.
    tz : tzinfo, optional
        Time zone of times in user-facing messages.
    hasher : argon2.PasswordHasher, optional
        Password hashing parameters (tests pass a cheap one).

    Attributes
    ----------
    users : UserService
    lists : ListService
    shares : ShareService
    consent : ConsentService
    clients : ClientDataService
    audit : AuditLog
    """

    def __init__(
        self,
        engine: Engine,
        settings: Settings | None = None,
        *,
        clock: Clock = utcnow,
        tz: tzinfo = UTC,
        hasher: PasswordHasher | None = None,
    ) -> None:
        settings = settings or Settings()
        self.engine = engine
        self.sessions = session_factory(engine)
        self.users = UserService(
            self.sessions,
            max_failed_logins=settings.max_failed_logins,
            lockout_minutes=settings.lockout_minutes,
            hasher=hasher,
            clock=clock,
        )
        self.lists = ListService(self.sessions, clock, tz)
        self.shares = ShareService(
            self.sessions,
            clock,
            tz,
            cooldown_days=settings.contact_cooldown_days,
            max_contacts_per_cooldown=settings.max_contacts_per_cooldown,
        )
        self.consent = ConsentService(self.sessions, clock)
        self.clients = ClientDataService(self.sessions, clock)
        self.audit = AuditLog(self.sessions, clock)

    @classmethod
    def open(
        cls,
        settings: Settings | None = None,
        *,
        url: str | None = None,
        clock: Clock = utcnow,
        tz: tzinfo = UTC,
        hasher: PasswordHasher | None = None,
    ) -> Store:
        """Create the engine for ``url`` (default: the settings' database), upgrade the schema.

        Parameters
        ----------
        settings : Settings, optional
        url : str, optional
            Overrides ``settings.resolved_database_url``.
        clock, tz, hasher
            As for :class:`Store`.

        Returns
        -------
        Store
        """
        settings = settings or Settings()
        engine = make_engine(url or settings.resolved_database_url)
        init_db(engine)
        return cls(engine, settings, clock=clock, tz=tz, hasher=hasher)

    def close(self) -> None:
        """Release the engine's connections."""
        self.engine.dispose()


__all__ = [
    "AUDIT_ACTIONS",
    "AUDIT_COLUMNS",
    "CONSENT_FIELDS",
    "CURATOR_ROLES",
    "LATEST_VERSION",
    "LIST_STATUSES",
    "SHARE_CHANNELS",
    "SYSTEM_ACTOR",
    "AppendOnlyError",
    "AuditLog",
    "AuditRecord",
    "ClientDataService",
    "ConsentChangeRecord",
    "ConsentService",
    "CuratedListRecord",
    "ListConflictError",
    "ListItemRecord",
    "ListService",
    "NewItem",
    "RemovalRecord",
    "SchemaVersionError",
    "ShareRecord",
    "ShareService",
    "Store",
    "StoreFullError",
    "UserRecord",
    "UserService",
    "current_version",
    "generate_password",
    "init_db",
    "make_engine",
    "session_factory",
]
