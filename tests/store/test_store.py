"""Database layer: engine and schema, users and sign-in, audit log, export and erasure.

Real databases, no mocks: the ``store`` fixture runs each test on a SQLite file and on
PostgreSQL (see ``atelier_db_url`` in tests/conftest.py); the tests of SQLite's own
engine settings and of in-memory SQLite open their own.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from argon2 import PasswordHasher
from sqlalchemy import delete, inspect, select, text, update
from sqlalchemy.exc import IntegrityError

from core.exceptions import AuthenticationError, PermissionDenied, UnknownIdError
from core.settings import Settings
from core.store import (
    AUDIT_COLUMNS,
    LATEST_VERSION,
    AppendOnlyError,
    AuditLog,
    NewItem,
    SchemaVersionError,
    Store,
    current_version,
    init_db,
    make_engine,
)
from core.store.models import AuditEntry, Base, User

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
START = datetime(2025, 3, 14, 14, 2, tzinfo=UTC)
HOSTILE = {
    "html": "<script>alert(\"x\")</script><b onclick='y'>bold</b>",
    "markdown": "# Title\n**bold** [link](javascript:alert(1)) `code` | a | b |",
    "quotes": 'it\'s "quoted" \\ back\\slash ; DROP TABLE users; --',
    "emoji": "👜✨🧥 family: 👩‍👩‍👧",
    "rtl": "مرحبا بالعالم שלום \u202eevil\u202c",
    "long": "x" * 10_000,
    "nested": {"list": [1, 2.5, None, True, "é"], "empty": {}},
}


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def _settings(tmp_path: Path) -> Settings:
    # The URL is pinned: other fixtures may have set ATELIER_DATABASE_URL for the session.
    return Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{(tmp_path / 'atelier.db').as_posix()}",
        max_failed_logins=3,
        lockout_minutes=15,
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(atelier_db_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[Store]:
    settings = _settings(tmp_path / "data")
    st = Store.open(settings, url=atelier_db_url, clock=clock, hasher=FAST_HASHER)
    st.users.create_user("ada", "Ada Admin", "admin", password="ada-password-1", actor_id="system")
    st.users.create_user(
        "lea", "Léa Martin", "stylist", "S1", password="lea-password-1", actor_id="system"
    )
    st.users.create_user(
        "sam", "Sam Okafor", "associate", "S1", password="sam-password-1", actor_id="system"
    )
    st.users.create_user(
        "max", "Max Manager", "manager", password="max-password-1", actor_id="system"
    )
    yield st
    st.close()


# -- engine and schema ---------------------------------------------------------------------


def test_sqlite_file_gets_wal_foreign_keys_busy_timeout_and_its_folder(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "deeper" / "atelier.db"
    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    assert path.exists()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert (conn.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0) >= 1000
    engine.dispose()


def test_schema_version_is_recorded_and_init_db_twice_is_harmless(store: Store) -> None:
    assert current_version(store.engine) == LATEST_VERSION
    store.lists.create_list("C1", "lea", "Keep me")
    assert init_db(store.engine) == LATEST_VERSION
    assert init_db(store.engine) == LATEST_VERSION
    with store.engine.connect() as conn:
        versions = conn.exec_driver_sql("SELECT version FROM schema_version").scalars().all()
    assert sorted(versions) == list(range(1, LATEST_VERSION + 1))
    assert [lst.title for lst in store.lists.lists_for_client("C1")] == ["Keep me"]
    assert len(store.users.list_users()) == 4


def test_version_2_database_gains_removal_reason_shown(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'v2.db'}")
    init_db(engine)
    with engine.begin() as conn:  # a database made before version 3
        conn.exec_driver_sql("ALTER TABLE removals DROP COLUMN reason_shown")
        conn.exec_driver_sql("DELETE FROM schema_version WHERE version > 2")
    init_db(engine)
    with engine.connect() as conn:
        cols = [r[1] for r in conn.exec_driver_sql("PRAGMA table_info(removals)")]
    assert "reason_shown" in cols and current_version(engine) == LATEST_VERSION >= 3
    engine.dispose()


def test_pending_upgrade_steps_are_applied_at_start(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    init_db(engine)
    with engine.begin() as conn:  # make it look like a version-1 database
        conn.exec_driver_sql("DROP TRIGGER audit_log_no_update")
        conn.exec_driver_sql("DROP TRIGGER audit_log_no_delete")
        conn.exec_driver_sql("DELETE FROM schema_version WHERE version > 1")
    assert current_version(engine) == 1
    init_db(engine)
    assert current_version(engine) == LATEST_VERSION
    with engine.connect() as conn:
        triggers = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type='trigger'")
        assert {"audit_log_no_update", "audit_log_no_delete"} <= set(triggers.scalars())
    engine.dispose()


def test_a_database_from_a_newer_atelier_is_refused(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    init_db(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO schema_version VALUES (99, 'from the future', '2030-01-01 00:00:00')"
        )
    with pytest.raises(SchemaVersionError, match="version 99, newer than this Atelier"):
        init_db(engine)
    engine.dispose()


def test_two_processes_initialising_at_once_both_succeed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'race.db'}"
    engines = [make_engine(url) for _ in range(4)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(engines))

    def start(engine_index: int) -> None:
        barrier.wait()
        try:
            init_db(engines[engine_index])
        except BaseException as err:  # collected and asserted below
            errors.append(err)

    threads = [threading.Thread(target=start, args=(i,)) for i in range(len(engines))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with engines[0].connect() as conn:
        assert (
            conn.exec_driver_sql("SELECT count(*) FROM schema_version").scalar() == LATEST_VERSION
        )
    for engine in engines:
        engine.dispose()


def test_every_table_exists_and_foreign_keys_are_enforced(store: Store) -> None:
    tables = set(inspect(store.engine).get_table_names())
    expected = {"users", "curated_lists", "list_items", "removals", "shares"}
    assert expected | {"consent_changes", "audit_log", "schema_version"} <= tables
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO list_items (list_id, product_id, position, pinned, source, note, "
            "reason, added_by, added_at) VALUES (999, 'P1', 0, FALSE, 'model', '', '', 'lea', "
            "'2025-01-01 00:00:00')"
        )


def test_in_memory_database_is_shared_by_every_session(clock: FakeClock) -> None:
    st = Store.open(url="sqlite://", clock=clock, hasher=FAST_HASHER)
    st.users.create_user("lea", "Léa Martin", "stylist", actor_id="system")
    other = Store(st.engine, clock=clock, hasher=FAST_HASHER)
    assert other.users.get_user("lea").name == "Léa Martin"
    with st.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    st.close()


# -- users and sign-in ---------------------------------------------------------------------


def test_user_round_trip(store: Store, clock: FakeClock) -> None:
    user = store.users.get_user("lea")
    assert (user.user_id, user.name, user.role, user.store_id) == (
        "lea",
        "Léa Martin",
        "stylist",
        "S1",
    )
    assert user.active and user.must_change_password and user.failed_attempts == 0
    assert user.created_at == clock.now and user.last_login_at is None
    assert not hasattr(user, "password_hash")
    assert [u.user_id for u in store.users.list_users()] == ["ada", "lea", "max", "sam"]
    store.users.set_role("lea", "manager", actor_id="ada")
    store.users.set_store("lea", "S2", actor_id="ada")
    store.users.deactivate("sam", actor_id="ada")
    assert store.users.get_user("lea").role == "manager"
    assert store.users.get_user("lea").store_id == "S2"
    assert [u.user_id for u in store.users.list_users(include_inactive=False)] == [
        "ada",
        "lea",
        "max",
    ]
    with pytest.raises(UnknownIdError, match="'ghost'"):
        store.users.get_user("ghost")
    with pytest.raises(ValueError, match="already taken"):
        store.users.create_user("lea", "Other Léa", "stylist", actor_id="ada")
    with pytest.raises(ValueError, match="role must be one of"):
        store.users.create_user("bob", "Bob", "ceo", actor_id="ada")
    with pytest.raises(ValueError, match="reserved"):
        store.users.create_user("system", "Sys", "admin", actor_id="ada")


def test_passwords_are_argon2_hashes(store: Store) -> None:
    with store.sessions() as session:
        stored = session.scalar(select(User.password_hash).where(User.user_id == "lea"))
    assert stored is not None and stored != "lea-password-1"
    assert stored.startswith("$argon2id$")
    assert FAST_HASHER.verify(stored, "lea-password-1")
    _, generated = store.users.create_user("kim", "Kim", "associate", actor_id="ada")
    assert len(generated) >= 16
    assert store.users.authenticate("kim", generated).user_id == "kim"


def test_authenticate_checks_the_password_and_counts_failures(store: Store) -> None:
    user = store.users.authenticate("lea", "lea-password-1")
    assert user.last_login_at is not None
    with pytest.raises(AuthenticationError, match="Wrong user id or password"):
        store.users.authenticate("lea", "wrong-password")
    assert store.users.get_user("lea").failed_attempts == 1
    with pytest.raises(AuthenticationError, match="Wrong user id or password"):
        store.users.authenticate("nobody", "whatever-pass")
    store.users.authenticate("lea", "lea-password-1")
    assert store.users.get_user("lea").failed_attempts == 0
    actions = [e.action for e in store.audit.query(target_type="user", target_id="lea")]
    assert actions.count("login") == 2 and actions.count("login_failed") == 1


def test_lockout_after_max_failures_then_unlock_after_lockout_time(
    store: Store, clock: FakeClock
) -> None:
    for _ in range(2):
        with pytest.raises(AuthenticationError, match="Wrong user id or password"):
            store.users.authenticate("lea", "bad-password")
    with pytest.raises(AuthenticationError, match="locked until 14:17 UTC"):
        store.users.authenticate("lea", "bad-password")
    with pytest.raises(AuthenticationError, match="locked after too many failed sign-ins"):
        store.users.authenticate("lea", "lea-password-1")  # right password, still locked
    later = clock.now + timedelta(minutes=14, seconds=59)
    with pytest.raises(AuthenticationError, match="locked"):
        store.users.authenticate("lea", "lea-password-1", now=later)
    user = store.users.authenticate("lea", "lea-password-1", now=clock.now + timedelta(minutes=15))
    assert user.locked_until is None and user.failed_attempts == 0


def test_inactive_users_cannot_sign_in(store: Store) -> None:
    store.users.deactivate("sam", actor_id="ada")
    with pytest.raises(AuthenticationError, match="deactivated"):
        store.users.authenticate("sam", "sam-password-1")
    store.users.activate("sam", actor_id="ada")
    assert store.users.authenticate("sam", "sam-password-1").active


def test_hash_is_upgraded_when_parameters_change(store: Store) -> None:
    stronger = Store(
        store.engine, hasher=PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    )
    stronger.users.authenticate("lea", "lea-password-1")
    with store.sessions() as session:
        stored = session.scalar(select(User.password_hash).where(User.user_id == "lea"))
    assert stored is not None and "t=2" in stored
    assert store.users.authenticate("lea", "lea-password-1").user_id == "lea"


def test_reset_and_change_password(store: Store) -> None:
    for _ in range(3):
        with pytest.raises(AuthenticationError):
            store.users.authenticate("sam", "bad-password")
    new = store.users.reset_password("sam", actor_id="ada")
    assert new != "sam-password-1"
    user = store.users.authenticate("sam", new)
    assert user.must_change_password
    with pytest.raises(ValueError, match="at least 10 characters"):
        store.users.change_password("sam", new, "short")
    changed = store.users.change_password("sam", new, "sam-new-password")
    assert not changed.must_change_password
    with pytest.raises(AuthenticationError):
        store.users.authenticate("sam", new)
    assert store.users.authenticate("sam", "sam-new-password").user_id == "sam"


def test_only_admins_manage_users_and_the_last_admin_stays(store: Store) -> None:
    with pytest.raises(PermissionDenied, match="Léa Martin is stylist; only admin"):
        store.users.set_role("sam", "admin", actor_id="lea")
    with pytest.raises(PermissionDenied, match="not an active user"):
        store.users.reset_password("sam", actor_id="ghost")
    with pytest.raises(PermissionDenied, match="last active admin"):
        store.users.deactivate("ada", actor_id="ada")
    with pytest.raises(PermissionDenied, match="last active admin"):
        store.users.set_role("ada", "stylist", actor_id="ada")
    store.users.set_role("lea", "admin", actor_id="ada")
    assert store.users.deactivate("ada", actor_id="lea").active is False


def test_seeded_users_get_distinct_random_passwords_that_work(store: Store) -> None:
    associates = pd.DataFrame(
        {
            "user_id": ["a1", "a2", "a3", "lea"],
            "name": ["Ana", "Ben", "Chloé", "Léa Martin"],
            "role": ["associate", "stylist", "manager", "stylist"],
            "store_id": ["S1", None, float("nan"), "S1"],
        }
    )
    created = store.users.seed_users_from_associates(associates, actor_id="system")
    assert [c[:3] for c in created] == [
        ("a1", "Ana", "associate"),
        ("a2", "Ben", "stylist"),
        ("a3", "Chloé", "manager"),
    ]
    passwords = [c[3] for c in created]
    assert len(set(passwords)) == 3 and all(len(p) >= 16 for p in passwords)
    for user_id, _, _, password in created:
        assert store.users.authenticate(user_id, password).must_change_password
    assert store.users.get_user("a3").store_id is None
    assert store.users.seed_users_from_associates(associates, actor_id="system") == []
    again = Store.open(url="sqlite://", hasher=FAST_HASHER).users
    assert {
        c[3] for c in again.seed_users_from_associates(associates, actor_id="system")
    }.isdisjoint(passwords)


def test_seeding_a_bad_row_names_it_and_creates_nothing(store: Store) -> None:
    associates = pd.DataFrame(
        {"user_id": ["b1", "b2"], "name": ["Ok", "Bad"], "role": ["stylist", "ceo"]}
    )
    with pytest.raises(ValueError, match="associates, row 2: role must be one of"):
        store.users.seed_users_from_associates(associates, actor_id="system")
    with pytest.raises(UnknownIdError):
        store.users.get_user("b1")


# -- audit log -----------------------------------------------------------------------------


def test_audit_details_round_trip_hostile_text(store: Store) -> None:
    entry = store.audit.append("lea", "view_client", "client", "C1", HOSTILE)
    assert entry.details == HOSTILE
    (read,) = store.audit.query(action="view_client")
    assert read.details == HOSTILE
    assert (read.actor_id, read.target_type, read.target_id) == ("lea", "client", "C1")


def test_audit_query_filters_and_frame(store: Store, clock: FakeClock) -> None:
    start = clock.now
    store.audit.append("lea", "view_client", "client", "C1")
    clock.advance(minutes=5)
    store.audit.append("sam", "view_client", "client", "C2")
    clock.advance(minutes=5)
    store.audit.append("ada", "retrain", "model", "m1", {"rows": 10})
    views = store.audit.query(action="view_client")
    assert [e.target_id for e in views] == ["C2", "C1"]  # newest first
    assert [e.actor_id for e in store.audit.query(actor="ada")][:1] == ["ada"]
    assert [e.target_id for e in store.audit.query(target_type="client", target_id="C1")] == ["C1"]
    window = store.audit.query(
        since=start + timedelta(minutes=1), until=start + timedelta(minutes=6)
    )
    assert [e.target_id for e in window] == ["C2"]
    assert len(store.audit.query(limit=2)) == 2
    frame = store.audit.frame(action="view_client")
    assert list(frame.columns) == list(AUDIT_COLUMNS) and len(frame) == 2
    with pytest.raises(ValueError, match="audit action must be one of"):
        store.audit.append("lea", "delete_everything")


def test_audit_service_offers_only_append_and_queries() -> None:
    public = sorted(name for name in dir(AuditLog) if not name.startswith("_"))
    assert public == ["append", "frame", "query"]


def test_audit_rows_cannot_be_changed_or_deleted_through_the_orm(store: Store) -> None:
    store.audit.append("lea", "view_client", "client", "C1", {"k": "v"})
    with store.sessions() as session:
        entry = session.scalars(select(AuditEntry)).first()
        assert entry is not None
        entry.action = "export"
        with pytest.raises(AppendOnlyError, match="cannot be changed"):
            session.commit()
        session.rollback()
        session.delete(session.get_one(AuditEntry, entry.id))
        with pytest.raises(AppendOnlyError, match="cannot be deleted"):
            session.commit()
        session.rollback()
        with pytest.raises(AppendOnlyError):
            session.execute(update(AuditEntry).values(action="export"))
        with pytest.raises(AppendOnlyError):
            session.execute(delete(AuditEntry))
        with pytest.raises(AppendOnlyError):
            session.execute(delete(Base.metadata.tables["audit_log"]))
    assert [(e.action, e.details) for e in store.audit.query(action="view_client")] == [
        ("view_client", {"k": "v"})
    ]


def test_raw_sql_cannot_change_the_audit_log_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    st = Store.open(url=url, hasher=FAST_HASHER)
    st.audit.append("lea", "export", "client", "C1", {"why": "DSAR"})
    before = st.audit.query()
    for statement in ("UPDATE audit_log SET action = 'view_client'", "DELETE FROM audit_log"):
        with pytest.raises(IntegrityError, match="append-only"), st.engine.begin() as conn:
            conn.execute(text(statement))
    st.close()
    reopened = Store.open(url=url, hasher=FAST_HASHER)  # entries persist across engines
    assert reopened.audit.query() == before
    reopened.close()


# -- export and erasure --------------------------------------------------------------------


def _client_history(store: Store, client_id: str) -> int:
    lst = store.lists.create_list(client_id, "lea", "Spring", items=[NewItem("P1"), NewItem("P2")])
    lst = store.lists.remove_item(
        lst.list_id, "P1", "owns it", "lea", expected_version=lst.version, category="bags"
    )
    store.shares.record_share(
        lst.list_id, "email", {"title": "Spring", "items": ["P2"]}, "lea", consent_contact=True
    )
    store.consent.record_consent_change(
        client_id, "consent_contact", False, "sam", "asked by phone"
    )
    store.audit.append("sam", "view_client", "client", client_id)
    return lst.list_id


def test_export_returns_everything_stored_about_a_client(store: Store) -> None:
    list_id = _client_history(store, "C1")
    _client_history(store, "C2")
    data = store.clients.export_client("C1", actor_id="ada")
    json.dumps(data)  # ready to hand over as a file
    assert data["client_id"] == "C1"
    assert [lst["list_id"] for lst in data["lists"]] == [list_id]
    assert [i["product_id"] for i in data["lists"][0]["items"]] == ["P2"]
    assert [(r["product_id"], r["reason"]) for r in data["removals"]] == [("P1", "owns it")]
    assert data["shares"][0]["snapshot"] == {"title": "Spring", "items": ["P2"]}
    assert [(c["field"], c["new_value"]) for c in data["consent_changes"]] == [
        ("consent_contact", False)
    ]
    actions = {e["action"] for e in data["audit"]}
    assert {"list_create", "list_update", "share", "consent_change", "view_client"} <= actions
    assert all(e["target_id"] in {"C1", str(list_id)} for e in data["audit"])
    assert store.audit.query(action="export")[0].target_id == "C1"
    with pytest.raises(PermissionDenied):
        store.clients.export_client("C1", actor_id="max")


def test_erasing_a_client_leaves_only_audit_entries(store: Store) -> None:
    list_id = _client_history(store, "C1")
    _client_history(store, "C2")
    audit_before = len(store.audit.query(target_id="C1"))
    counts = store.clients.erase_client("C1", actor_id="ada")
    assert counts == {
        "shares": 1,
        "removals": 1,
        "list_items": 1,
        "curated_lists": 1,
        "consent_changes": 1,
    }
    with store.engine.connect() as conn:
        for table in ("curated_lists", "removals", "shares", "consent_changes"):
            sql = f"SELECT count(*) FROM {table} WHERE client_id = 'C1'"
            assert conn.exec_driver_sql(sql).scalar() == 0, table
        sql = "SELECT count(*) FROM list_items WHERE list_id = :list_id"
        assert conn.execute(text(sql), {"list_id": list_id}).scalar() == 0
    with pytest.raises(UnknownIdError, match=str(list_id)):
        store.lists.get_list(list_id)
    assert store.lists.removed_products("C1") == set()
    assert store.consent.consent_overrides("C1") == {}
    assert store.shares.last_contact("C1") is None
    assert len(store.lists.lists_for_client("C2")) == 1  # other clients untouched
    erased = store.audit.query(action="erase_client")
    assert [(e.target_id, e.details) for e in erased] == [("C1", {})]
    assert len(store.audit.query(target_id="C1")) == audit_before + 1
    data = store.clients.export_client("C1", actor_id="ada")
    assert data["lists"] == data["removals"] == data["shares"] == data["consent_changes"] == []
    with pytest.raises(PermissionDenied):
        store.clients.erase_client("C2", actor_id="lea")
