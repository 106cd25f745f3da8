"""Nothing lost under concurrency, nothing half-written after a kill: the figures.

- 8 writers (threads, then forked processes) x 100 read-modify-write operations on one
  list, on SQLite and on PostgreSQL: no update is lost, every stale save is refused
  with ``ListConflictError`` naming another writer, and the loser's typed change is
  applied again, never dropped.
- A writer process killed with SIGKILL at random points while saving, 100 times, on a
  SQLite file: ``PRAGMA integrity_check`` is ``ok`` after every kill and every list
  has all its items at its version (list, items and audit entry in one transaction).

Run with ``-s`` to see the figures (they are also recorded as JUnit properties).
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from core.store import NewItem, Store
from tests.store.list_writer import (
    CRASH_ITEMS,
    Tally,
    hammer,
    parse_counts,
    save_forever,
)

pytestmark = pytest.mark.reliability
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
WRITERS, OPS = 8, 100
KILLS = 100


def report(record: Callable[[str, object], None], title: str, figures: dict[str, object]) -> None:
    """Print the figures (visible with ``-s``) and record them as JUnit properties."""
    print(f"\n{title}: " + ", ".join(f"{k} {v}" for k, v in figures.items()))
    for key, value in figures.items():
        record(key, value)


# -------------------------------------------------------------------- concurrency
def _in_threads(url: str, list_id: int) -> list[Tally]:
    tallies: list[Tally] = []
    barrier = threading.Barrier(WRITERS)

    def run(writer: str) -> None:
        barrier.wait()
        tallies.append(hammer(url, list_id, writer, OPS))

    threads = [threading.Thread(target=run, args=(f"w{i}",)) for i in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return tallies


def _in_processes(url: str, list_id: int) -> list[Tally]:
    # Forked, so the workers share this process's imports; each opens its own engine.
    with multiprocessing.get_context("fork").Pool(WRITERS) as pool:
        args = [(url, list_id, f"w{i}", OPS) for i in range(WRITERS)]
        return pool.starmap(hammer, args)


@pytest.mark.parametrize("mode", ["threads", "processes"])
def test_eight_writers_lose_no_update_and_every_stale_save_is_a_conflict(
    atelier_db_url: str, db_backend: str, mode: str, record_property: Callable[..., None]
) -> None:
    setup = Store.open(url=atelier_db_url, hasher=FAST_HASHER)
    for i in range(WRITERS):
        setup.users.create_user(f"w{i}", f"Writer {i}", "associate", "S1", actor_id="system")
    list_id = setup.lists.create_list("C1", "w0", "Race", items=[NewItem("P1")]).list_id
    setup.close()  # nothing of this engine may be inherited by a forked writer

    started = time.perf_counter()
    run = _in_threads if mode == "threads" else _in_processes
    tallies = run(atelier_db_url, list_id)
    seconds = time.perf_counter() - started

    check = Store.open(url=atelier_db_url, hasher=FAST_HASHER)
    final = check.lists.get_list(list_id)
    counts = parse_counts(final.note)
    audited = check.audit.query(action="list_update", target_id=str(list_id), limit=None)
    check.close()
    problems = [p for t in tallies for p in t.problems]
    saved = sum(t.saved for t in tallies)
    conflicts = sum(t.conflicts for t in tallies)
    report(
        record_property,
        f"concurrency ({db_backend}, {mode})",
        {
            "writers x ops": f"{WRITERS} x {OPS}",
            "saved": saved,
            "lost updates": saved - sum(counts.values()),
            "stale saves refused as conflicts": conflicts,
            "other errors": len(problems),
            "seconds": round(seconds, 1),
        },
    )
    assert problems == []
    assert len(tallies) == WRITERS and saved == WRITERS * OPS
    # Every writer's 100 increments are in the note: no save overwrote another's.
    assert counts == {f"w{i}": OPS for i in range(WRITERS)}
    assert final.version == 1 + WRITERS * OPS == 1 + len(audited)


# -------------------------------------------------------------------- kills mid-save
def _half_written(path: Path) -> list[str]:
    """Every list that is not whole: wrong item count, items of another version, audit gaps."""
    with sqlite3.connect(path) as conn:
        lists = conn.execute("SELECT id, version FROM curated_lists").fetchall()
        items = dict(
            ((list_id, reason), n)
            for list_id, reason, n in conn.execute(
                "SELECT list_id, reason, count(*) FROM list_items GROUP BY list_id, reason"
            )
        )
        audit = dict(
            ((int(target), action), n)
            for target, action, n in conn.execute(
                "SELECT target_id, action, count(*) FROM audit_log "
                "WHERE target_type = 'list' GROUP BY target_id, action"
            )
        )
    conn.close()
    wrong = []
    for list_id, version in lists:
        whole = (
            items.get((list_id, f"v{version}")) == CRASH_ITEMS
            and sum(n for (lid, _), n in items.items() if lid == list_id) == CRASH_ITEMS
            and audit.get((list_id, "list_create")) == 1
            and audit.get((list_id, "list_update"), 0) == version - 1
        )
        if not whole:
            wrong.append(f"list {list_id} at v{version}")
    return wrong


def _integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def _kill_one_writer(url: str, delay: float, seed: int) -> None:
    """Fork a writer, wait for its first save, let it save on for ``delay`` s, SIGKILL it."""
    ready, tell = os.pipe()
    pid = os.fork()
    if pid == 0:  # the writer: saves until killed, never returns into pytest
        try:
            os.close(ready)
            save_forever(url, "lea", seed, lambda: os.write(tell, b"."))
        finally:
            os._exit(1)
    os.close(tell)
    try:
        first = os.read(ready, 1)  # b"" if the writer died before saving anything
        if first:
            time.sleep(delay)
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(ready)
    assert first and os.WIFSIGNALED(status), f"the writer stopped by itself (status {status})"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_writer_killed_mid_save_leaves_the_database_whole(
    tmp_path: Path, record_property: Callable[..., None]
) -> None:
    path = tmp_path / "crash.db"
    url = f"sqlite:///{path.as_posix()}"
    setup = Store.open(url=url, hasher=FAST_HASHER)
    setup.users.create_user("lea", "Léa Martin", "stylist", "S1", actor_id="system")
    setup.close()  # no connection open while writers are forked and killed

    rng = random.Random(20251204)
    failures: list[str] = []
    broken: list[str] = []
    for kill in range(KILLS):
        _kill_one_writer(url, rng.uniform(0.0, 0.12), seed=kill)
        verdict = _integrity(path)
        if verdict != "ok":
            failures.append(f"kill {kill}: {verdict}")
        broken += [f"kill {kill}: {w}" for w in _half_written(path)]

    conn = sqlite3.connect(path)
    lists, saves = conn.execute(
        "SELECT count(*), coalesce(sum(version), 0) FROM curated_lists"
    ).fetchone()
    conn.close()
    report(
        record_property,
        "kills mid-save (sqlite)",
        {
            "kills": KILLS,
            "integrity failures": len(failures),
            "half-written lists": len(broken),
            "lists": lists,
            "saves completed": saves,
        },
    )
    assert failures == [] and broken == []
    assert saves > KILLS  # the writers did save between kills
