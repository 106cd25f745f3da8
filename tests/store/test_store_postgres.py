"""What only PostgreSQL has: its append-only audit guard, and compare-and-set between servers' connections.

Runs when ATELIER_TEST_POSTGRES_URL names a scratch database (``source .ci/postgres.sh``),
each test in a schema of its own; skipped without it, failed in CI (tests/conftest.py).
The rest of the store suite runs on PostgreSQL too, through the same fixtures.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core.exceptions import ConflictError
from core.store import LATEST_VERSION, NewItem, Store, current_version, init_db, make_engine

# PostgreSQL only: the session's backend fixture, narrowed for this module.
pytestmark = pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture
def store(atelier_db_url: str) -> Iterator[Store]:
    st = Store.open(url=atelier_db_url, hasher=FAST_HASHER)
    st.users.create_user("lea", "Léa Martin", "stylist", actor_id="system")
    st.users.create_user("sam", "Sam Okafor", "associate", actor_id="system")
    yield st
    st.close()


def test_schema_upgrades_and_append_only_audit_on_postgres(store: Store) -> None:
    assert init_db(store.engine) == current_version(store.engine) == LATEST_VERSION
    store.audit.append("lea", "view_client", "client", "C1", {"t": "👜 <b>"})
    for statement in (
        "UPDATE audit_log SET action = 'x'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ):
        with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.execute(text(statement))
    assert [e.details for e in store.audit.query(action="view_client")] == [{"t": "👜 <b>"}]


def test_compare_and_set_on_postgres(store: Store, atelier_db_url: str) -> None:
    lst = store.lists.create_list("C1", "lea", "Autumn", items=[NewItem("P1")])
    tablets = [Store(make_engine(atelier_db_url), hasher=FAST_HASHER) for _ in range(4)]
    barrier = threading.Barrier(len(tablets))
    outcomes: list[str] = []

    def write(i: int) -> None:
        barrier.wait()
        try:
            tablets[i].lists.set_title(lst.list_id, f"t{i}", expected_version=1, actor_id="sam")
            outcomes.append("ok")
        except ConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=write, args=(i,)) for i in range(len(tablets))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict"] * 3 + ["ok"]
    assert store.lists.get_list(lst.list_id).version == 2
    for st in tablets:
        st.close()
