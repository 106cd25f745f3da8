"""Curated lists with optimistic locking, removals, shares and consent, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher

from core.exceptions import ConflictError, ConsentError, PermissionDenied, UnknownIdError
from core.store import CuratedListRecord, ListConflictError, NewItem, Store

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
START = datetime(2025, 3, 14, 14, 2, tzinfo=UTC)
NASTY = '<img src=x onerror="alert(1)"> **bold** 👜 مرحبا \u202eRTL\u202c it\'s "q"'


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _open(url: str, clock: FakeClock) -> Store:
    return Store.open(url=url, clock=clock, hasher=FAST_HASHER)


@pytest.fixture
def db_url(atelier_db_url: str) -> str:
    """A fresh database on SQLite, then on PostgreSQL (tests/conftest.py)."""
    return atelier_db_url


@pytest.fixture
def store(db_url: str, clock: FakeClock) -> Iterator[Store]:
    st = _open(db_url, clock)
    st.users.create_user("ada", "Ada Admin", "admin", actor_id="system")
    st.users.create_user("lea", "Léa Martin", "stylist", "S1", actor_id="system")
    st.users.create_user("sam", "Sam Okafor", "associate", "S1", actor_id="system")
    st.users.create_user("max", "Max Manager", "manager", actor_id="system")
    yield st
    st.close()


def _suggest(*ids: str) -> list[NewItem]:
    return [
        NewItem(pid, reason=f"because of {pid}", score=1.0 / (i + 1)) for i, pid in enumerate(ids)
    ]


def _new_list(store: Store, *ids: str, client: str = "C1") -> CuratedListRecord:
    return store.lists.create_list(client, "lea", "Autumn edit", items=_suggest(*ids))


# -- reading and writing -------------------------------------------------------------------


def test_list_round_trip_keeps_hostile_text_exactly(store: Store, clock: FakeClock) -> None:
    items = [NewItem("P1", reason=NASTY, score=0.75, note=NASTY), NewItem("P2", source="manual")]
    created = store.lists.create_list("C1", "lea", NASTY, note=NASTY, items=items)
    read = store.lists.get_list(created.list_id)
    assert read == created
    assert (read.title, read.note, read.status, read.version) == (NASTY, NASTY, "draft", 1)
    assert (read.author_name, read.updated_by_name, read.created_at) == (
        "Léa Martin",
        "Léa Martin",
        clock.now,
    )
    first = read.items[0]
    assert (first.product_id, first.reason, first.note, first.score) == ("P1", NASTY, NASTY, 0.75)
    assert (first.source, first.pinned, first.added_by, first.position) == (
        "model",
        False,
        "lea",
        0,
    )
    assert read.item("P2") is not None and read.item("P2").source == "manual"  # type: ignore[union-attr]


def test_lengths_and_ids_are_validated(store: Store) -> None:
    lst = _new_list(store, "P1")
    with pytest.raises(ValueError, match="list note is 2,001 characters long; the limit is 2,000"):
        store.lists.set_list_note(lst.list_id, "n" * 2001, expected_version=1, actor_id="lea")
    ok = store.lists.set_list_note(lst.list_id, "n" * 2000, expected_version=1, actor_id="lea")
    assert len(ok.note) == 2000
    with pytest.raises(ValueError, match="item note is 10,000 characters"):
        store.lists.set_item_note(
            lst.list_id, "P1", "x" * 10_000, expected_version=2, actor_id="lea"
        )
    with pytest.raises(ValueError, match="title must not be empty"):
        store.lists.create_list("C1", "lea", "   ")
    with pytest.raises(ValueError, match="NUL"):
        store.lists.create_list("C1", "lea", "bad\x00title")
    with pytest.raises(ValueError, match="source must be one of model, manual"):
        store.lists.create_list("C1", "lea", "t", items=[NewItem("P1", source="robot")])
    with pytest.raises(ValueError, match="finite"):
        store.lists.create_list("C1", "lea", "t", items=[NewItem("P1", score=float("nan"))])
    with pytest.raises(UnknownIdError, match="Unknown list id 4242"):
        store.lists.get_list(4242)
    with pytest.raises(UnknownIdError, match="4242"):
        store.lists.pin(4242, "P1", expected_version=1, actor_id="lea")
    with pytest.raises(ValueError, match="'P9' is not in list"):
        store.lists.pin(lst.list_id, "P9", expected_version=2, actor_id="lea")


def test_every_edit_increments_the_version_and_records_who(store: Store, clock: FakeClock) -> None:
    lst = _new_list(store, "P1", "P2", "P3")
    edits = [
        lambda v: store.lists.pin(lst.list_id, "P2", expected_version=v, actor_id="sam"),
        lambda v: store.lists.unpin(lst.list_id, "P2", expected_version=v, actor_id="sam"),
        lambda v: store.lists.set_title(lst.list_id, "Winter", expected_version=v, actor_id="sam"),
        lambda v: store.lists.set_item_note(
            lst.list_id, "P1", "size 38", expected_version=v, actor_id="sam"
        ),
        lambda v: store.lists.reorder(
            lst.list_id, ["P3", "P1", "P2"], expected_version=v, actor_id="sam"
        ),
        lambda v: store.lists.add_item(lst.list_id, "P4", expected_version=v, actor_id="sam"),
        lambda v: store.lists.add_items(
            lst.list_id, _suggest("P5"), expected_version=v, actor_id="sam"
        ),
    ]
    version = lst.version
    for edit in edits:
        clock.advance(minutes=1)
        after = edit(version)
        assert after.version == version + 1
        assert (after.updated_by, after.updated_by_name, after.updated_at) == (
            "sam",
            "Sam Okafor",
            clock.now,
        )
        version = after.version
    final = store.lists.get_list(lst.list_id)
    assert final.title == "Winter" and final.item("P1").note == "size 38"  # type: ignore[union-attr]
    assert final.product_ids == ["P3", "P1", "P2", "P4", "P5"]
    assert [i.position for i in final.items] == [0, 1, 2, 3, 4]
    ops = [
        e.details["op"] for e in store.audit.query(action="list_update", target_id=str(lst.list_id))
    ]
    assert len(ops) == len(edits) and ops[0] == "add_items"


def test_add_item_at_a_position_and_refuses_duplicates(store: Store) -> None:
    lst = _new_list(store, "P1", "P2")
    lst = store.lists.add_item(
        lst.list_id, "P9", expected_version=1, actor_id="lea", position=1, reason="her size"
    )
    assert lst.product_ids == ["P1", "P9", "P2"]
    assert lst.item("P9").source == "manual"  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="already in list"):
        store.lists.add_item(lst.list_id, "P9", expected_version=2, actor_id="lea")
    with pytest.raises(ValueError, match="exactly once"):
        store.lists.reorder(lst.list_id, ["P1", "P1", "P2"], expected_version=2, actor_id="lea")
    assert store.lists.get_list(lst.list_id).version == 2  # failed edits write nothing


def test_reading_lists_by_client_and_author(store: Store, clock: FakeClock) -> None:
    first = _new_list(store, "P1")
    clock.advance(minutes=1)
    second = store.lists.create_list("C1", "sam", "From Sam")
    store.lists.create_list("C2", "lea", "Other client")
    assert store.lists.get_draft_for_client("C1").list_id == second.list_id  # type: ignore[union-attr]
    assert store.lists.get_draft_for_client("C1", "lea").list_id == first.list_id  # type: ignore[union-attr]
    assert store.lists.get_draft_for_client("C3") is None
    store.lists.archive(first.list_id, expected_version=1, actor_id="lea")
    assert [lst.list_id for lst in store.lists.lists_for_client("C1")] == [second.list_id]
    assert len(store.lists.lists_for_client("C1", include_archived=True)) == 2
    assert [lst.client_id for lst in store.lists.lists_by_author("lea")] == ["C2"]


def test_every_list_removal_and_share_through_the_services(store: Store, clock: FakeClock) -> None:
    first = _new_list(store, "P1")
    clock.advance(minutes=1)
    second = _new_list(store, "P2", client="C2")
    clock.advance(minutes=1)
    store.lists.archive(first.list_id, expected_version=1, actor_id="lea")  # edited last
    assert [lst.list_id for lst in store.lists.all_lists()] == [first.list_id, second.list_id]
    assert [lst.list_id for lst in store.lists.all_lists(include_archived=False)] == [
        second.list_id
    ]
    assert store.lists.all_lists()[1].product_ids == ["P2"]
    store.lists.record_removal("C2", "P9", "later", "lea")
    clock.advance(minutes=1)
    store.lists.record_removal("C1", "P8", "", "lea")
    assert [r.product_id for r in store.lists.all_removals()] == ["P9", "P8"]  # oldest first
    store.shares.record_share(second.list_id, "pdf", {"items": []}, "lea", consent_contact=True)
    assert [(s.client_id, s.channel) for s in store.shares.all_shares()] == [("C2", "pdf")]


def test_only_signed_in_curators_edit_lists(store: Store) -> None:
    with pytest.raises(PermissionDenied, match="Max Manager is manager"):
        store.lists.create_list("C1", "max", "Nope")
    with pytest.raises(PermissionDenied, match="not an active user"):
        store.lists.create_list("C1", "ghost", "Nope")
    with pytest.raises(PermissionDenied, match="signed-in users"):
        store.lists.create_list("C1", "system", "Nope")
    lst = _new_list(store, "P1")
    store.users.deactivate("sam", actor_id="ada")
    with pytest.raises(PermissionDenied):
        store.lists.pin(lst.list_id, "P1", expected_version=1, actor_id="sam")


# -- optimistic locking --------------------------------------------------------------------


def test_stale_writer_gets_a_conflict_naming_who_changed_it(db_url: str, clock: FakeClock) -> None:
    tablet_a = _open(db_url, clock)  # two engines on one file: two tablets
    tablet_a.users.create_user("lea", "Léa Martin", "stylist", actor_id="system")
    tablet_a.users.create_user("sam", "Sam Okafor", "associate", actor_id="system")
    tablet_b = _open(db_url, clock)
    lst = _new_list(tablet_a, "P1", "P2")
    seen_by_a = tablet_a.lists.get_list(lst.list_id)
    seen_by_b = tablet_b.lists.get_list(lst.list_id)
    assert seen_by_a.version == seen_by_b.version == 1

    tablet_a.lists.pin(lst.list_id, "P2", expected_version=seen_by_a.version, actor_id="lea")
    clock.advance(minutes=3)
    with pytest.raises(ConflictError) as caught:
        tablet_b.lists.set_title(
            lst.list_id, "Sam's title", expected_version=seen_by_b.version, actor_id="sam"
        )
    assert str(caught.value) == (
        "This list was changed by Léa Martin at 14:02; reload to see their changes."
    )
    assert isinstance(caught.value, ListConflictError)
    assert (caught.value.changed_by, caught.value.current_version) == ("lea", 2)

    current = tablet_b.lists.get_list(lst.list_id)
    assert current.pinned_ids == ["P2"] and current.title == "Autumn edit"  # Léa's change intact
    assert current.updated_by == "lea"
    retried = tablet_b.lists.set_title(
        lst.list_id, "Sam's title", expected_version=current.version, actor_id="sam"
    )
    assert (retried.version, retried.title, retried.pinned_ids) == (3, "Sam's title", ["P2"])
    tablet_a.close()
    tablet_b.close()


def test_a_conflict_on_another_day_gives_the_date(store: Store, clock: FakeClock) -> None:
    lst = _new_list(store, "P1")
    store.lists.pin(lst.list_id, "P1", expected_version=1, actor_id="lea")
    clock.advance(days=2)
    with pytest.raises(ConflictError, match="by Léa Martin on 14 March at 14:02"):
        store.lists.unpin(lst.list_id, "P1", expected_version=1, actor_id="sam")


def test_a_stale_removal_writes_nothing(store: Store) -> None:
    lst = _new_list(store, "P1", "P2")
    store.lists.pin(lst.list_id, "P1", expected_version=1, actor_id="lea")
    audit_before = len(store.audit.query())
    with pytest.raises(ConflictError):
        store.lists.remove_item(lst.list_id, "P2", "not for her", "sam", expected_version=1)
    assert store.lists.get_list(lst.list_id).product_ids == ["P1", "P2"]
    assert store.lists.removed_products("C1") == set()
    assert len(store.audit.query()) == audit_before


def test_simultaneous_writers_exactly_one_wins(db_url: str, clock: FakeClock) -> None:
    setup = _open(db_url, clock)
    setup.users.create_user("lea", "Léa Martin", "stylist", actor_id="system")
    setup.users.create_user("sam", "Sam Okafor", "associate", actor_id="system")
    lst = _new_list(setup, "P1")
    tablets = [_open(db_url, clock) for _ in range(6)]
    barrier = threading.Barrier(len(tablets))
    outcomes: list[str] = []

    def write(i: int) -> None:
        barrier.wait()
        try:
            tablets[i].lists.set_title(
                lst.list_id, f"title {i}", expected_version=1, actor_id=("lea", "sam")[i % 2]
            )
            outcomes.append("ok")
        except ConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=write, args=(i,)) for i in range(len(tablets))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict"] * 5 + ["ok"]
    assert setup.lists.get_list(lst.list_id).version == 2
    for st in [setup, *tablets]:
        st.close()


# -- removals and refreshing suggestions ---------------------------------------------------


def test_remove_item_records_a_removal(store: Store) -> None:
    lst = _new_list(store, "P1", "P2", "P3")
    shown = lst.item("P2").reason
    lst = store.lists.remove_item(
        lst.list_id, "P2", NASTY, "sam", expected_version=1, category="shoes"
    )
    assert lst.product_ids == ["P1", "P3"] and [i.position for i in lst.items] == [0, 1]
    store.lists.record_removal("C1", "P7", "already owns it", "lea", category="bags")
    store.lists.record_removal("C1", "P8", "", "lea")
    assert store.lists.removed_products("C1") == {"P2", "P7", "P8"}
    assert store.lists.removed_categories("C1") == {"shoes", "bags"}
    assert store.lists.removed_products("C2") == set()
    removal = store.lists.removals_for_client("C1")[-1]
    assert (removal.list_id, removal.product_id, removal.reason, removal.removed_by) == (
        lst.list_id,
        "P2",
        NASTY,
        "sam",
    )
    # The reason the item showed is kept with the removal (acceptance per reason type).
    assert shown and removal.reason_shown == shown


def test_replace_unpinned_keeps_pinned_in_place_and_never_re_adds_removed(store: Store) -> None:
    lst = _new_list(store, "P1", "P2", "P3", "P4", "P5")
    lst = store.lists.pin(lst.list_id, "P2", expected_version=lst.version, actor_id="lea")
    lst = store.lists.pin(lst.list_id, "P4", expected_version=lst.version, actor_id="lea")
    lst = store.lists.remove_item(
        lst.list_id, "P3", "too loud", "lea", expected_version=lst.version
    )
    store.lists.record_removal("C1", "P8", "not her taste", "lea")
    assert lst.product_ids == ["P1", "P2", "P4", "P5"]

    fresh = _suggest("P3", "P4", "P8", "P6", "P7", "P1", "P9", "P10")
    lst = store.lists.replace_unpinned(
        lst.list_id, fresh, expected_version=lst.version, actor_id="lea", size=5
    )
    assert lst.product_ids == ["P6", "P2", "P4", "P7", "P1"]
    assert lst.pinned_ids == ["P2", "P4"]
    assert [lst.item(p).position for p in ("P2", "P4")] == [1, 2]  # type: ignore[union-attr]
    assert not {"P3", "P8"} & set(lst.product_ids)
    assert lst.item("P6").reason == "because of P6"  # type: ignore[union-attr]
    lst = store.lists.add_items(
        lst.list_id, _suggest("P3", "P11"), expected_version=lst.version, actor_id="lea"
    )
    assert lst.product_ids[-1] == "P11" and "P3" not in lst.product_ids


def test_replace_unpinned_keeps_manual_items_unless_asked(store: Store) -> None:
    lst = _new_list(store, "P1", "P2")
    lst = store.lists.add_item(lst.list_id, "M1", expected_version=1, actor_id="lea", position=0)
    lst = store.lists.replace_unpinned(
        lst.list_id, _suggest("P5"), expected_version=2, actor_id="lea"
    )
    assert lst.product_ids == ["M1", "P5"]
    lst = store.lists.replace_unpinned(
        lst.list_id, _suggest("P6", "P7"), expected_version=3, actor_id="lea", keep_manual=False
    )
    assert lst.product_ids == ["P6", "P7"]


def test_duplicate_for_another_client(store: Store) -> None:
    src = _new_list(store, "P1", "P2", "P3", "P4")
    src = store.lists.pin(src.list_id, "P3", expected_version=1, actor_id="lea")
    src = store.lists.set_item_note(
        src.list_id, "P3", "for her gala", expected_version=2, actor_id="lea"
    )
    store.lists.record_removal("C2", "P2", "dislikes it", "sam")
    copy = store.lists.duplicate_for_client(src.list_id, "C2", "sam", keep=lambda p: p != "P4")
    assert (copy.client_id, copy.author_id, copy.version, copy.status) == ("C2", "sam", 1, "draft")
    assert copy.product_ids == ["P1", "P3"] and copy.pinned_ids == ["P3"]
    assert all(i.reason == "" and i.score is None and i.note == "" for i in copy.items)
    in_stock = store.lists.duplicate_for_client(
        src.list_id, "C3", "lea", keep={"P3", "P4"}, title="Gala", copy_notes=True
    )
    assert in_stock.product_ids == ["P3", "P4"] and in_stock.title == "Gala"
    assert in_stock.item("P3").note == "for her gala"  # type: ignore[union-attr]
    assert store.lists.get_list(src.list_id) == src


def test_archived_lists_are_read_only_and_edits_after_a_share_make_a_draft(store: Store) -> None:
    lst = _new_list(store, "P1")
    shared = store.lists.mark_shared(lst.list_id, expected_version=1, actor_id="lea")
    assert shared.status == "shared"
    edited = store.lists.set_title(lst.list_id, "v2", expected_version=2, actor_id="lea")
    assert edited.status == "draft"
    archived = store.lists.archive(lst.list_id, expected_version=3, actor_id="lea")
    assert archived.status == "archived"
    with pytest.raises(ValueError, match="archived; duplicate it"):
        store.lists.set_title(lst.list_id, "v3", expected_version=4, actor_id="lea")


# -- shares and consent --------------------------------------------------------------------


def test_record_share_keeps_the_snapshot_marks_shared_and_audits(
    store: Store, clock: FakeClock
) -> None:
    lst = _new_list(store, "P1", "P2")
    snap = {"title": NASTY, "items": [{"id": "P1", "text": "x" * 10_000}], "when": START}
    share = store.shares.record_share(lst.list_id, "pdf", snap, "sam", consent_contact=True)
    expected = {**snap, "when": START.isoformat()}
    assert share.snapshot == expected
    assert (share.client_id, share.channel, share.author_id, share.created_at) == (
        "C1",
        "pdf",
        "sam",
        clock.now,
    )
    after = store.lists.get_list(lst.list_id)
    assert (after.status, after.version, after.updated_by) == ("shared", 2, "sam")
    assert [s.snapshot for s in store.shares.shares_for_client("C1")] == [expected]
    entry = store.audit.query(action="share")[0]
    assert entry.target_id == "C1" and entry.details["share_id"] == share.id
    with pytest.raises(ConflictError):
        store.shares.record_share(
            lst.list_id, "email", {}, "sam", consent_contact=True, expected_version=1
        )
    with pytest.raises(ValueError, match="channel must be one of"):
        store.shares.record_share(lst.list_id, "pigeon", {}, "sam", consent_contact=True)


def test_sharing_needs_contact_consent_and_overrides_win(store: Store) -> None:
    lst = _new_list(store, "P1")
    with pytest.raises(ConsentError, match="Client C1 has not consented to be contacted"):
        store.shares.record_share(lst.list_id, "message", {"a": 1}, "lea", consent_contact=False)
    assert store.shares.shares_for_client("C1") == []
    assert store.lists.get_list(lst.list_id).version == 1
    store.consent.record_consent_change("C1", "consent_contact", True, "sam", "signed in store")
    store.shares.record_share(lst.list_id, "message", {"a": 1}, "lea", consent_contact=False)
    store.consent.record_consent_change("C1", "consent_contact", False, "sam", "unsubscribed")
    with pytest.raises(ConsentError):
        store.shares.record_share(lst.list_id, "message", {"a": 2}, "lea", consent_contact=True)


def test_contact_history_and_cooldown_warning(store: Store, clock: FakeClock) -> None:
    lst = _new_list(store, "P1")
    assert store.shares.last_contact("C1") is None
    assert store.shares.contact_warning("C1") is None
    first = clock.now
    store.shares.record_share(lst.list_id, "email", {}, "lea", consent_contact=True)
    clock.advance(days=2)
    store.shares.record_share(lst.list_id, "message", {}, "lea", consent_contact=True)
    assert store.shares.last_contact("C1") == clock.now
    assert store.shares.contacts_since("C1", first) == 2
    assert store.shares.contacts_since("C1", first + timedelta(days=1)) == 1
    assert store.shares.contact_warning("C1") == (
        "Contacted today (2 contacts in the last 7 days); the guideline is at most 1 per 7 days."
    )
    clock.advance(days=3)
    assert store.shares.contact_warning("C1").startswith("Contacted 3 days ago")  # type: ignore[union-attr]
    assert store.shares.contact_warning("C1", now=clock.now + timedelta(days=8)) is None


def test_consent_changes_round_trip_and_are_audited(store: Store, clock: FakeClock) -> None:
    first = store.consent.record_consent_change(
        "C1", "consent_personalization", False, "sam", NASTY, old_value=True
    )
    assert (first.old_value, first.new_value, first.note, first.changed_at) == (
        True,
        False,
        NASTY,
        clock.now,
    )
    clock.advance(minutes=1)
    second = store.consent.record_consent_change("C1", "consent_personalization", True, "lea")
    assert second.old_value is False  # taken from the previous override
    store.consent.record_consent_change("C1", "consent_contact", False, "system", "CRM import")
    assert store.consent.consent_overrides("C1") == {
        "consent_personalization": True,
        "consent_contact": False,
    }
    assert store.consent.all_consent_overrides() == {"C1": store.consent.consent_overrides("C1")}
    assert store.consent.effective_consent("C2", "consent_contact", True) is True
    assert store.consent.effective_consent("C1", "consent_contact", True) is False
    assert [c.new_value for c in store.consent.consent_history("C1")] == [False, True, False]
    assert len(store.audit.query(action="consent_change", target_id="C1")) == 3
    with pytest.raises(ValueError, match="consent field must be one of"):
        store.consent.record_consent_change("C1", "consent_marketing", True, "sam")
    with pytest.raises(ValueError, match="True or False"):
        store.consent.record_consent_change("C1", "consent_contact", "no", "sam")  # type: ignore[arg-type]
    with pytest.raises(PermissionDenied):
        store.consent.record_consent_change("C1", "consent_contact", True, "max")
