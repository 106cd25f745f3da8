"""Engine, schema creation and upgrades.

Why an explicit ``schema_version`` table rather than Alembic
--------------------------------------------------------------
The default database is one SQLite file next to the data, created by whoever
first starts the dashboard or the CLI; there is no operator to run
``alembic upgrade head`` and no migration folder to ship. So the schema
carries its own version: :data:`UPGRADES` is an ordered list of steps, and
:func:`init_db` applies, at every start, the steps newer than the version
recorded in ``schema_version``, all in one transaction with their version rows
(SQLite and PostgreSQL both have transactional DDL, so a failed step leaves
the database as it was).
Every step is written to be idempotent (``CREATE ... IF NOT EXISTS``, "add the
column if it is missing"), so a fresh database and an old one go through the
same path, and running :func:`init_db` twice, or from two processes at once
(the first takes a lock, the second then finds nothing to do), is harmless.

To change the schema: edit :mod:`core.store.models`, then append a step that
brings an existing database to the new shape (``_add_column_if_missing`` and
friends); never edit or reorder a released step.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    func,
    insert,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from core.store.common import SchemaVersionError, UTCDateTime, utcnow
from core.store.models import Base

BUSY_TIMEOUT_MS = 10_000

_version_metadata = MetaData()
schema_version = Table(
    "schema_version",
    _version_metadata,
    Column("version", Integer, primary_key=True),
    Column("description", String(200), nullable=False),
    Column("applied_at", UTCDateTime, nullable=False),
)


@dataclass(frozen=True)
class Upgrade:
    """One schema step: ``apply`` brings a database from ``version - 1`` to ``version``."""

    version: int
    description: str
    apply: Callable[[Connection], None]


def _create_tables(conn: Connection) -> None:
    Base.metadata.create_all(conn, checkfirst=True)


_SQLITE_AUDIT_TRIGGERS = (
    """CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: entries cannot be changed'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: entries cannot be deleted'); END""",
)

_POSTGRES_AUDIT_GUARD = (
    """CREATE OR REPLACE FUNCTION atelier_audit_log_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$ BEGIN
    RAISE EXCEPTION USING MESSAGE = 'audit_log is append-only: ' || TG_OP || ' is not allowed';
    END $$""",
    "DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log",
    """CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION atelier_audit_log_append_only()""",
    "DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log",
    """CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION atelier_audit_log_append_only()""",
)


def _guard_audit_log(conn: Connection) -> None:
    statements: tuple[str, ...] = ()
    if conn.dialect.name == "sqlite":
        statements = _SQLITE_AUDIT_TRIGGERS
    elif conn.dialect.name == "postgresql":
        statements = _POSTGRES_AUDIT_GUARD
    for statement in statements:
        conn.exec_driver_sql(statement)


def _add_removal_reason_shown(conn: Connection) -> None:
    """Version 3: removals remember the reason that was shown for the item."""
    from sqlalchemy import inspect

    columns = {c["name"] for c in inspect(conn).get_columns("removals")}
    if "reason_shown" not in columns:
        conn.exec_driver_sql(
            "ALTER TABLE removals ADD COLUMN reason_shown TEXT NOT NULL DEFAULT ''"
        )


#: Ordered schema steps; append only.
UPGRADES: tuple[Upgrade, ...] = (
    Upgrade(1, "create tables", _create_tables),
    Upgrade(2, "audit_log append-only triggers", _guard_audit_log),
    Upgrade(3, "removals.reason_shown", _add_removal_reason_shown),
)
LATEST_VERSION = UPGRADES[-1].version


def _is_memory(database: str | None) -> bool:
    return database in (None, "", ":memory:") or "mode=memory" in (database or "")


def _sqlite_on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        # WAL is a property of the file: set once, by whichever connection gets there
        # first. Switching needs every other connection out of the way, so a
        # connection opened while another one works skips it (init_db retries).
        mode = cursor.execute("PRAGMA journal_mode").fetchone()
        if mode is None or str(mode[0]).lower() != "wal":
            try:
                cursor.execute("PRAGMA journal_mode = WAL")
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) and "busy" not in str(err):
                    raise
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url``; for SQLite, tuned for several tablets at once.

    For a SQLite file: the parent folder is created, and every connection gets
    WAL journal mode (readers never block the writer), ``foreign_keys=ON`` and a
    busy timeout of 10 s. An in-memory SQLite URL shares one connection, so every
    session sees the same database. Any other URL (PostgreSQL through
    ``ATELIER_DATABASE_URL``) is passed to SQLAlchemy as is, with pooled
    connections checked before use (``pool_pre_ping``).

    Parameters
    ----------
    url : str
        SQLAlchemy URL, e.g. ``sqlite:///data/atelier.db`` or
        ``postgresql+psycopg://user@host/atelier``.
    **kwargs
        Passed to :func:`sqlalchemy.create_engine`.

    Returns
    -------
    Engine
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # A server can drop connections (restart, failover): test each before use, so the
        # first request after the database is back does not fail on a dead connection.
        return create_engine(url, **{"pool_pre_ping": True, **kwargs})
    options: dict[str, Any] = {"connect_args": {"timeout": BUSY_TIMEOUT_MS / 1000}}
    if _is_memory(parsed.database):
        options["poolclass"] = StaticPool
        options["connect_args"]["check_same_thread"] = False
    elif not parsed.query.get("uri"):
        Path(str(parsed.database)).expanduser().parent.mkdir(parents=True, exist_ok=True)
    options.update(kwargs)
    engine = create_engine(url, **options)
    event.listen(engine, "connect", _sqlite_on_connect)
    return engine


def _lock_for_upgrade(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    elif conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(4827001)"))


def current_version(engine: Engine) -> int:
    """Return the schema version recorded in the database (0 if none).

    Parameters
    ----------
    engine : Engine

    Returns
    -------
    int
    """
    with engine.connect() as conn:
        if not inspect(conn).has_table("schema_version"):
            return 0
        return int(conn.execute(select(func.max(schema_version.c.version))).scalar() or 0)


_INIT_ATTEMPTS = 5


def init_db(engine: Engine) -> int:
    """Create the schema or bring it up to date; safe to call at every start.

    Parameters
    ----------
    engine : Engine

    Returns
    -------
    int
        The schema version after the call (:data:`LATEST_VERSION`).

    Raises
    ------
    SchemaVersionError
        If the database was written by a newer Atelier than this one.
    """
    for attempt in range(_INIT_ATTEMPTS):
        try:
            return _init_once(engine)
        except OperationalError as err:
            # Several processes starting on one SQLite file at once: the upgrade lock
            # is taken in turn, and a loaded machine can outwait the busy timeout.
            locked = "locked" in str(err) or "busy" in str(err)
            if not locked or attempt == _INIT_ATTEMPTS - 1:
                raise
            time.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")  # pragma: no cover


def _init_once(engine: Engine) -> int:
    with engine.begin() as conn:
        _lock_for_upgrade(conn)
        _version_metadata.create_all(conn, checkfirst=True)
        found = int(conn.execute(select(func.max(schema_version.c.version))).scalar() or 0)
        if found > LATEST_VERSION:
            raise SchemaVersionError(
                f"The database is at schema version {found}, newer than this Atelier "
                f"(version {LATEST_VERSION}). Upgrade Atelier before opening it."
            )
        for step in UPGRADES:
            if step.version > found:
                step.apply(conn)
                conn.execute(
                    insert(schema_version).values(
                        version=step.version, description=step.description, applied_at=utcnow()
                    )
                )
    return LATEST_VERSION


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return the session factory the services use (objects stay readable after commit).

    Parameters
    ----------
    engine : Engine

    Returns
    -------
    sessionmaker[Session]
    """
    return sessionmaker(bind=engine, expire_on_commit=False)
