"""Erasing a client from a partitioned house: their bucket rewritten, all or nothing, the rest untouched."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from core.app.erasure import client_rows, erase_client, export_client
from core.app.serving import open_served
from core.cli import main
from core.data.buckets import PARTITIONED_TABLES, bucket_file, read_manifest
from core.data.dataset import load_dataset
from core.data.partitioned import PartitionedEvents
from core.data.partitioned.erase import apply_removal, discard_removal, stage_without_client
from core.engine.models.persistence import read_model_info
from core.exceptions import ConflictError, UnknownIdError
from core.settings import Settings
from core.store import NewItem, Store
from tests.app.erasure_setup import copied_settings, staff_store
from tests.engine.scale_data import partitioned_maison

pytestmark = pytest.mark.security

BUCKETS = 3


@pytest.fixture(scope="module")
def house(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small partitioned house with its product-side model in ``model-products``."""
    folder = partitioned_maison(tmp_path_factory.mktemp("house"), 300, 80, 13, BUCKETS)
    open_served(folder, Settings(data_dir=folder).product_side_model_dir, scheduler="sync")
    return folder


@pytest.fixture
def settings(house: Path, tmp_path: Path) -> Settings:
    return copied_settings(house, tmp_path)


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    yield from staff_store(settings)


def _files(folder: Path) -> dict[str, bytes]:
    """The house's files (not an erasure's staging folder)."""
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not str(p.relative_to(folder)).startswith(".erase-")
    }


def _busiest(folder: Path) -> tuple[str, str, str]:
    """The client with the most events, a client of the same bucket, one of another bucket."""
    whole = load_dataset(folder)
    counts = whole.events["client_id"].value_counts()
    reader = PartitionedEvents(folder)
    subject = str(counts.index[0])
    mates = [
        str(c) for c in counts.index[1:] if reader.bucket_of(str(c)) == reader.bucket_of(subject)
    ]
    others = [
        str(c) for c in counts.index[1:] if reader.bucket_of(str(c)) != reader.bucket_of(subject)
    ]
    return subject, mates[0], others[0]


def test_an_erased_client_is_gone_from_their_bucket_and_everyone_else_is_untouched(settings, store):
    folder = settings.data_dir
    subject, mate, other = _busiest(folder)
    before = load_dataset(folder)
    n_events = int((before.events["client_id"] == subject).sum())
    reader = PartitionedEvents(folder)
    mate_events = reader.client_events(mate)
    bucket = reader.bucket_of(subject)
    untouched = {
        f"{name}/{bucket_file(b)}": (folder / name / bucket_file(b)).read_bytes()
        for name in PARTITIONED_TABLES
        for b in range(BUCKETS)
        if b != bucket
    }
    model_before = read_model_info(settings.product_side_model_dir)
    products = before.products["product_id"][:2]
    store.lists.create_list(subject, "lea", "Autumn", items=[NewItem(p) for p in products])
    assert client_rows(settings, subject) == {"events": n_events, "clients": 1}

    result = erase_client(settings, store, subject, actor_id="ada")

    assert result.data_rows == {"events": n_events, "clients": 1}
    assert result.database_rows["curated_lists"] == 1
    after_reader = PartitionedEvents(folder)
    with pytest.raises(UnknownIdError):
        after_reader.client(subject)
    assert after_reader.client_event_rows(subject).num_rows == 0
    # Their bucket-mate is read exactly as before, from the rewritten file and its serving copy.
    pd.testing.assert_frame_equal(after_reader.client_events(mate), mate_events)
    assert after_reader.serve_copy(bucket) is not None
    # Every other bucket's file is the same bytes; the manifests agree on a new write.
    for path, content in untouched.items():
        assert (folder / path).read_bytes() == content, path
    manifests = [read_manifest(folder / name) for name in PARTITIONED_TABLES]
    assert manifests[0].write_id == manifests[1].write_id != reader.manifest.write_id
    assert sum(read_manifest(folder / "events").rows) == len(before.events) - n_events
    assert sum(read_manifest(folder / "clients").rows) == len(before.clients) - 1
    # The whole house still loads and validates, without them.
    after = load_dataset(folder)
    assert subject not in set(after.clients["client_id"])
    assert subject not in set(after.events["client_id"])
    pd.testing.assert_frame_equal(
        after.events[after.events["client_id"] == other].reset_index(drop=True),
        before.events[before.events["client_id"] == other].reset_index(drop=True),
    )
    assert not list(folder.glob(".erase-*"))  # nothing staged left behind
    # The product-side model holds no client's row: it stays, and serves the house without them.
    assert read_model_info(settings.product_side_model_dir) == model_before
    served = open_served(folder, settings.product_side_model_dir, scheduler="sync")
    assert subject not in set(served.dataset.clients["client_id"])
    assert len(served.events(subject)) == 0
    # The export finds nothing left of them; another client's export holds their events.
    data = export_client(served.dataset, store, subject, actor_id="ada", events=served.events)
    assert data["profile"] == data["events"] == [] == data["lists"]
    kept = export_client(served.dataset, store, mate, actor_id="ada", events=served.events)
    assert len(kept["profile"]) == 1
    assert len(kept["events"]) == len(mate_events) > 0


def test_the_time_range_follows_the_erased_client_s_last_event(settings, store):
    folder = settings.data_dir
    whole = load_dataset(folder)
    last = whole.events.loc[whole.events["timestamp"].idxmax()]
    erase_client(settings, store, str(last["client_id"]), actor_id="ada")
    remaining = whole.events[whole.events["client_id"] != last["client_id"]]["timestamp"]
    span = read_manifest(folder / "events").time_range
    assert span is not None
    assert pd.Timestamp(span[0]) == remaining.min()
    assert pd.Timestamp(span[1]) == remaining.max()


def test_a_failed_database_step_leaves_the_house_as_it_was(settings, store):
    folder = settings.data_dir
    subject, _, _ = _busiest(folder)
    files = _files(folder)
    with store.engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TRIGGER refuse BEFORE DELETE ON curated_lists "
            "BEGIN SELECT RAISE(ABORT, 'database is full'); END"
        )
    store.lists.create_list(subject, "lea", "Autumn", items=[])
    with pytest.raises(Exception, match="database is full"):
        erase_client(settings, store, subject, actor_id="ada")
    assert _files(folder) == files
    assert PartitionedEvents(folder).client(subject)["client_id"] == subject
    assert store.audit.query(action="erase_client") == []


def test_unknown_ids_and_a_house_written_meanwhile_change_nothing(settings, store):
    folder = settings.data_dir
    subject, mate, _ = _busiest(folder)
    files = _files(folder)
    with pytest.raises(UnknownIdError, match="no such client"):
        erase_client(settings, store, "nobody-here", actor_id="ada")
    with pytest.raises(UnknownIdError):
        client_rows(settings, "nobody-here")
    assert _files(folder) == files
    # Two erasures prepared at once: the second one applied finds the house written again.
    first = stage_without_client(folder, subject)
    second = stage_without_client(folder, mate)
    try:
        apply_removal(first)
    finally:
        discard_removal(first)
    written = _files(folder)
    try:
        with pytest.raises(ConflictError, match="written again"):
            apply_removal(second)
    finally:
        discard_removal(second)
    assert _files(folder) == written
    assert not list(folder.glob(".erase-*"))
    assert PartitionedEvents(folder).client(mate)["client_id"] == mate


def test_the_command_line_erases_from_a_partitioned_house(settings, store, monkeypatch, capsys):
    folder = settings.data_dir
    subject, _, _ = _busiest(folder)
    monkeypatch.setenv("ATELIER_DATABASE_URL", settings.resolved_database_url)
    assert main(["--data", str(folder), "erase", subject, "--yes"]) == 0
    assert f"erased {subject}: 1 profile" in capsys.readouterr().out
    with pytest.raises(UnknownIdError):
        PartitionedEvents(folder).client(subject)
    assert main(["--data", str(folder), "erase", subject, "--yes"]) == 2
    assert "no such client" in capsys.readouterr().err
