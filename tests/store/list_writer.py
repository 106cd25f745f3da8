"""Writers for the reliability tests: many tablets on one list, and a writer killed mid-save.

Not a test module: tests/store/test_store_reliability.py runs these in threads and in
forked processes. Each writer opens its own engine on the URL it is given (never one
inherited from the parent), as a separate tablet or server process would.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from core.store import ListConflictError, NewItem, Store, make_engine

#: Items in every list the crash writer saves, and the client it saves them for.
CRASH_ITEMS = 20
CRASH_CLIENT = "C1"


def tablet(url: str) -> Store:
    """A store on its own engine, as one tablet or one server process has."""
    return Store(make_engine(url))


# -------------------------------------------------------------------- concurrent writers
def parse_counts(note: str) -> Counter[str]:
    """The per-writer counters kept in a list note: ``"w0=3 w5=1"`` -> {w0: 3, w5: 1}."""
    counts: Counter[str] = Counter()
    for part in note.split():
        name, _, n = part.partition("=")
        counts[name] = int(n)
    return counts


def render_counts(counts: Counter[str]) -> str:
    return " ".join(f"{name}={n}" for name, n in sorted(counts.items()))


@dataclass
class Tally:
    """What one writer saw: saves, conflicts, and anything that went wrong."""

    writer: str
    saved: int = 0
    conflicts: int = 0
    problems: list[str] = field(default_factory=list)


def increment(store: Store, list_id: int, writer: str, tally: Tally) -> None:
    """One operation: add 1 to ``writer``'s counter in the shared note, however many tries.

    Each try reads the list, types the new note and saves it with the version read.
    A stale save must be refused with :class:`ListConflictError` naming someone
    else; the writer keeps what it meant to type (its increment) and applies it
    again to the list as it now is, after a short random pause (a person reading
    the conflict message), so the writers do not all retry in the same instant.
    """
    rng = random.Random(writer)
    while True:
        seen = store.lists.get_list(list_id)
        counts = parse_counts(seen.note)
        counts[writer] += 1
        typed = render_counts(counts)
        try:
            saved = store.lists.set_list_note(
                list_id, typed, expected_version=seen.version, actor_id=writer
            )
        except ListConflictError as err:
            tally.conflicts += 1
            if err.current_version <= seen.version or err.changed_by == writer:
                tally.problems.append(f"conflict without a newer write by another: {err}")
            time.sleep(rng.uniform(0.0, 0.02))
            continue
        tally.saved += 1
        if saved.version != seen.version + 1 or saved.note != typed:
            tally.problems.append(
                f"saved v{saved.version} {saved.note!r} after reading v{seen.version}"
            )
        return


def hammer(url: str, list_id: int, writer: str, ops: int) -> Tally:
    """``ops`` increments by ``writer`` on one list; every error is recorded, none raised."""
    tally = Tally(writer)
    store = tablet(url)
    try:
        for _ in range(ops):
            increment(store, list_id, writer, tally)
    except Exception as err:  # noqa: BLE001 - reported to the test, which fails on it
        tally.problems.append(f"{type(err).__name__}: {err}")
    finally:
        store.close()
    return tally


# -------------------------------------------------------------------- the crash writer
def crash_items(version: int) -> list[NewItem]:
    """The items a save writes at ``version``: every reason names that version."""
    return [NewItem(f"P{i}", reason=f"v{version}") for i in range(CRASH_ITEMS)]


def save_forever(url: str, actor: str, seed: int, saved: Callable[[], None]) -> None:
    """Save lists until killed: new lists of :data:`CRASH_ITEMS`, and whole-list refreshes.

    A complete save leaves every list with exactly :data:`CRASH_ITEMS` items whose
    reason is ``v<version>``; a save cut short must leave nothing of itself.
    ``saved()`` is called after each save (the killer waits for the first).
    """
    rng = random.Random(seed)
    store = tablet(url)
    lists: list[int] = [
        r.list_id for r in store.lists.lists_for_client(CRASH_CLIENT) if r.status == "draft"
    ]
    while True:
        if not lists or rng.random() < 0.3:
            created = store.lists.create_list(
                CRASH_CLIENT, actor, f"crash {os.getpid()}", items=crash_items(1)
            )
            lists.append(created.list_id)
        else:
            current = store.lists.get_list(rng.choice(lists))
            store.lists.replace_unpinned(
                current.list_id,
                crash_items(current.version + 1),
                expected_version=current.version,
                actor_id=actor,
            )
        saved()
