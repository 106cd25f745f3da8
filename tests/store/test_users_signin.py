"""Sign-in under concurrency: the slow password check holds no database lock.

Real SQLite files, no mocks: the only stand-in is a password hasher whose
``verify`` waits for the test, so the test can look at the database while a
sign-in is in the middle of its (normally slow) argon2 check.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine

from core.exceptions import AuthenticationError
from core.store import Store
from core.store.records import UserRecord

WAIT_S = 10.0


class BlockingHasher(PasswordHasher):
    """Cheap argon2 whose ``verify`` waits, once armed, until the test releases it."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.armed = False
        self.entered = threading.Event()
        self.release = threading.Event()

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # noqa: A002
        if self.armed:
            self.entered.set()
            if not self.release.wait(WAIT_S):
                raise TimeoutError("the test never released verify")
        return super().verify(hash, password)


@pytest.fixture
def hasher() -> BlockingHasher:
    return BlockingHasher()


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{(tmp_path / 'atelier.db').as_posix()}"


@pytest.fixture
def store(db_url: str, hasher: BlockingHasher) -> Iterator[Store]:
    st = Store.open(url=db_url, hasher=hasher)
    st.users.create_user("ada", "Ada Admin", "admin", password="ada-password-1", actor_id="system")
    st.users.create_user(
        "lea", "Léa Martin", "stylist", "S1", password="lea-password-1", actor_id="system"
    )
    yield st
    st.close()


def _sign_in_in_background(
    store: Store, password: str
) -> tuple[threading.Thread, list[UserRecord | BaseException]]:
    outcome: list[UserRecord | BaseException] = []

    def run() -> None:
        try:
            outcome.append(store.users.authenticate("lea", password))
        except BaseException as err:  # noqa: BLE001  (handed to the test thread)
            outcome.append(err)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_another_connection_can_write_while_a_password_is_being_checked(
    store: Store, hasher: BlockingHasher, db_url: str
) -> None:
    hasher.armed = True
    thread, outcome = _sign_in_in_background(store, "lea-password-1")
    try:
        assert hasher.entered.wait(WAIT_S), "the sign-in never reached the password check"
        # A second connection of its own (1 s busy timeout): before the fix the
        # sign-in held SQLite's write lock through the check and this timed out.
        other = create_engine(db_url, connect_args={"timeout": 1.0})
        try:
            with other.connect() as conn:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                conn.exec_driver_sql("ROLLBACK")
        finally:
            other.dispose()
    finally:
        hasher.release.set()
        thread.join(WAIT_S)
    assert len(outcome) == 1 and isinstance(outcome[0], UserRecord), outcome
    assert outcome[0].user_id == "lea" and outcome[0].last_login_at is not None
    actions = [e.action for e in store.audit.query(target_type="user", target_id="lea")]
    assert actions.count("login") == 1


def test_password_changed_during_the_check_counts_as_a_failed_attempt(
    store: Store, hasher: BlockingHasher
) -> None:
    hasher.armed = True
    thread, outcome = _sign_in_in_background(store, "lea-password-1")
    try:
        assert hasher.entered.wait(WAIT_S)
        # An admin resets Léa's password while her old one is being checked.
        new_password = store.users.reset_password("lea", actor_id="ada")
    finally:
        hasher.release.set()
        thread.join(WAIT_S)
    assert len(outcome) == 1 and isinstance(outcome[0], AuthenticationError), outcome
    assert "Wrong user id or password" in str(outcome[0])
    assert store.users.get_user("lea").failed_attempts == 1
    actions = [e.action for e in store.audit.query(target_type="user", target_id="lea")]
    assert actions.count("login_failed") == 1 and actions.count("login") == 0
    hasher.armed = False
    assert store.users.authenticate("lea", new_password).must_change_password


def test_concurrent_wrong_passwords_are_all_counted(store: Store) -> None:
    store.users.create_user(
        "sam", "Sam Okafor", "associate", "S1", password="sam-password-1", actor_id="system"
    )
    errors: list[BaseException] = []

    def attempt() -> None:
        try:
            store.users.authenticate("sam", "bad-password")
        except AuthenticationError as err:
            errors.append(err)

    threads = [threading.Thread(target=attempt) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_S)
    assert len(errors) == 3
    assert store.users.get_user("sam").failed_attempts == 3
