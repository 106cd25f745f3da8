"""Small helpers shared by the store modules: clock, UTC timestamps, text checks, JSON.

Timestamps are stored as naive UTC (portable across SQLite and PostgreSQL) and
handed back as timezone-aware UTC ``datetime`` objects by :class:`UTCDateTime`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from core.exceptions import AtelierError

Clock = Callable[[], datetime]
SessionFactory = sessionmaker[Session]

#: Actor id for the command line and start-up jobs (not a user; cannot sign in).
SYSTEM_ACTOR = "system"

ID_MAX = 128
NAME_MAX = 200
TITLE_MAX = 200
NOTE_MAX = 2_000
REASON_MAX = 1_000
JSON_MAX = 1_000_000


class AppendOnlyError(AtelierError, PermissionError):
    """Something tried to change or delete an audit-log entry."""


class SchemaVersionError(AtelierError, RuntimeError):
    """The database schema is newer than this version of Atelier knows."""


class StoreFullError(AtelierError):
    """The database had no room left for a write: the write was rolled back whole.

    Everything saved before is intact, and reads keep working; the message is
    the one to show, and :attr:`detail` is the database's own words for the
    administrator (SQLite's ``database or disk is full``, PostgreSQL's disk-full
    error ``53100`` naming the file it could not extend).
    """

    MESSAGE = "The database is full: nothing was saved; tell your administrator."

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(self.MESSAGE)


#: SQLite's result code for a full database (``SQLITE_FULL``), PostgreSQL's SQLSTATE for a full disk.
_SQLITE_FULL = 13
_PG_DISK_FULL = "53100"


def database_full(err: BaseException) -> StoreFullError | None:
    """The :class:`StoreFullError` for ``err`` if it says the database is full, else ``None``."""
    orig = getattr(err, "orig", None) if isinstance(err, DBAPIError) else err
    if orig is None:
        return None
    full = (
        (getattr(orig, "sqlite_errorcode", None) or 0) & 0xFF == _SQLITE_FULL
        or getattr(orig, "sqlstate", None) == _PG_DISK_FULL
        or getattr(orig, "pgcode", None) == _PG_DISK_FULL
    )
    if not full:
        return None
    return StoreFullError(" ".join(str(orig).split())[:500])


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Return ``value`` as aware UTC; a naive datetime is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """``DateTime`` stored as naive UTC, returned as aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return as_utc(value).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def check_text(value: object, what: str, *, max_len: int, required: bool = False) -> str:
    """Validate free text and return it unchanged (no stripping: text round-trips exactly).

    Raises
    ------
    ValueError
        If ``value`` is not a string, is blank while ``required``, is longer than
        ``max_len`` characters or contains a NUL character (PostgreSQL cannot store it).
    """
    if not isinstance(value, str):
        raise ValueError(f"{what} must be text, got {type(value).__name__}")
    if required and not value.strip():
        raise ValueError(f"{what} must not be empty")
    if len(value) > max_len:
        raise ValueError(
            f"{what} is {len(value):,} characters long; the limit is {max_len:,}. Shorten it."
        )
    if "\x00" in value:
        raise ValueError(f"{what} contains a NUL character; remove it")
    return value


def check_id(value: object, what: str) -> str:
    """Validate an identifier (non-empty text without surrounding spaces, at most 128 chars)."""
    text = check_text(value, what, max_len=ID_MAX, required=True)
    if text != text.strip():
        raise ValueError(f"{what} {text!r} has leading or trailing spaces")
    return text


def check_choice(value: object, what: str, choices: tuple[str, ...]) -> str:
    """Validate that ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{what} must be one of {', '.join(choices)}; got {value!r}")
    return str(value)


def check_score(value: float | None) -> float | None:
    """Validate an optional finite score."""
    if value is None:
        return None
    score = float(value)
    if not math.isfinite(score):
        raise ValueError(f"score must be a finite number or None, got {value!r}")
    return score


def _json_default(value: object) -> str | list[object]:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(
        f"cannot store a {type(value).__name__} as JSON; convert it to text, a number, "
        "a list or a dict first"
    )


def dump_json(data: Mapping[str, object] | None, what: str) -> str:
    """Serialise a mapping to JSON text, keeping non-ASCII text as is.

    Raises
    ------
    ValueError
        If the result is longer than 1,000,000 characters or ``data`` is not a mapping.
    TypeError
        If a value cannot be represented in JSON.
    """
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ValueError(f"{what} must be a dict, got {type(data).__name__}")
    text = json.dumps(dict(data), ensure_ascii=False, default=_json_default, allow_nan=False)
    if len(text) > JSON_MAX:
        raise ValueError(f"{what} is {len(text):,} characters as JSON; the limit is {JSON_MAX:,}")
    return text


def load_json(text: str | None) -> dict[str, Any]:
    """Parse JSON text written by :func:`dump_json` (``None`` gives an empty dict)."""
    return {} if not text else dict(json.loads(text))


@contextmanager
def unit_of_work(sessions: SessionFactory, *, write: bool = False) -> Iterator[Session]:
    """Open a session, commit if the block succeeds, roll back if it raises.

    On SQLite (whose driver would otherwise run each read on its own) the block
    is one transaction: a read-only block sees one consistent snapshot, and with
    ``write=True`` it starts with ``BEGIN IMMEDIATE``, taking the write lock
    before it reads (waiting up to the busy timeout), so its reads cannot go
    stale before it writes. Only ``write=True`` blocks may write.

    Raises
    ------
    StoreFullError
        The database had no room for the block's writes (nothing of it was saved).
    """
    session = sessions()
    try:
        if session.get_bind().dialect.name == "sqlite":
            session.connection().exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
        yield session
        session.commit()
    except BaseException as err:
        session.rollback()
        full = database_full(err)
        if full is not None:
            raise full from err
        raise
    finally:
        session.close()
