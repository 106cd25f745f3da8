"""A full database: every write either saved whole or refused with ``StoreFullError``.

On SQLite the file is held at its page limit (``PRAGMA max_page_count``); on
PostgreSQL the database's tablespace is a tmpfs filled to its last byte (root
only; skipped elsewhere). Each kind of save (a list, a pin, a note, a share, a
new user) is repeated until the database refuses it: the refusal names the
cause, leaves every table exactly as before (and SQLite's integrity check
``ok``), reads keep working, and once room is made the same save goes through.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, create_engine

from core.store import NewItem, Store, StoreFullError
from tests.full_database import LONG_NOTE, integrity, snapshot

pytestmark = pytest.mark.reliability
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
MAX_TRIES = 400


@pytest.fixture
def full(atelier_fullable_database) -> Iterator[tuple[Any, Store, dict[str, Any], Engine]]:
    """A store with a user, a list with items and a note, and a share; not yet full."""
    db = atelier_fullable_database
    store = Store.open(url=db.url, hasher=FAST_HASHER)
    store.users.create_user("lea", "Léa Martin", "stylist", "S1", actor_id="system")
    store.users.create_user("ada", "Ada Admin", "admin", actor_id="system")
    items = [NewItem(f"P{i}", reason="Matches her palette", score=1.0 / (i + 1)) for i in range(12)]
    lst = store.lists.create_list("C1", "lea", "Autumn", note="Call Tuesday", items=items)
    share = store.shares.record_share(
        lst.list_id, "pdf", {"items": ["P0"]}, "lea", consent_contact=True
    )
    seen = {"list": store.lists.get_list(lst.list_id), "share": share, "n": 0}
    peek = create_engine(db.url)  # a reader of its own, to compare every table
    # Connected before the disk fills and kept in its pool: on a full disk PostgreSQL may
    # not start a new backend at all ("could not write init file").
    snapshot(peek)
    yield db, store, seen, peek
    peek.dispose()
    store.close()


def _next(seen: dict[str, Any]) -> int:
    seen["n"] += 1
    return int(seen["n"])


def save_list(store: Store, seen: dict[str, Any]) -> None:
    n = _next(seen)
    items = [NewItem(f"Q{n}-{i}", reason="Matches her palette") for i in range(12)]
    store.lists.create_list(f"C{n}", "lea", f"Winter {n}", items=items)


def pin(store: Store, seen: dict[str, Any]) -> None:
    lst = store.lists.get_list(seen["list"].list_id)
    pid = lst.product_ids[_next(seen) % len(lst.product_ids)]
    change = store.lists.unpin if pid in lst.pinned_ids else store.lists.pin
    change(lst.list_id, pid, expected_version=lst.version, actor_id="lea")


def note(store: Store, seen: dict[str, Any]) -> None:
    lst = store.lists.get_list(seen["list"].list_id)
    text_ = f"{_next(seen)} {LONG_NOTE}"[:2000]
    store.lists.set_list_note(lst.list_id, text_, expected_version=lst.version, actor_id="lea")


def share(store: Store, seen: dict[str, Any]) -> None:
    lst = store.lists.get_list(seen["list"].list_id)
    snap = {"items": lst.product_ids, "message": f"{_next(seen)} {LONG_NOTE}"}
    store.shares.record_share(lst.list_id, "email", snap, "lea", consent_contact=True)


def new_user(store: Store, seen: dict[str, Any]) -> None:
    n = _next(seen)
    store.users.create_user(f"u{n}", f"Associate {n}", "associate", "S1", actor_id="ada")


SAVES: dict[str, Callable[[Store, dict[str, Any]], None]] = {
    "list save": save_list, "pin": pin, "note": note, "share": share, "user creation": new_user,
}  # fmt: skip


@pytest.mark.parametrize("kind", list(SAVES))
def test_a_full_database_refuses_a_save_whole_and_loses_nothing(full, kind: str) -> None:
    db, store, seen, peek = full
    save = SAVES[kind]
    db.fill()
    fitted = 0
    while True:
        before = snapshot(peek)
        try:
            save(store, seen)
        except StoreFullError as err:
            refused = err
            break
        fitted += 1
        assert fitted < MAX_TRIES, f"{MAX_TRIES} saves of a {kind} fitted in a full database"
    assert str(refused) == "The database is full: nothing was saved; tell your administrator."
    assert "full" in refused.detail or "No space left" in refused.detail, refused.detail
    assert snapshot(peek) == before  # the refused save left no trace
    assert integrity(peek) == "ok"
    # Reads keep working while the database is full.
    assert store.lists.get_list(seen["list"].list_id).title == "Autumn"
    assert store.shares.get_share(seen["share"].id).list_id == seen["list"].list_id
    assert store.users.get_user("lea").name == "Léa Martin"

    db.free()
    save(store, seen)  # the same save, once there is room
    assert snapshot(peek) != before
    assert integrity(peek) == "ok"
    print(f"\n{kind}: refused after {fitted} saves fitted in the full database")
