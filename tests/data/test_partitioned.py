"""Events at rest in client buckets: the layout, its writers (chunks, generator, CLI) and readers."""

from __future__ import annotations

import pickle
import shutil
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from core.cli import main
from core.data import buckets
from core.data.buckets import bucket_of, buckets_for, client_bucket, read_manifest
from core.data.dataset import load_dataset
from core.data.generate import Maison, generate_maison, write_maison
from core.data.partitioned import PartitionedEvents, write_partitioned
from core.exceptions import ConfigError, DataValidationError, UnknownIdError

N_CLIENTS, N_PRODUCTS, SEED = 400, 120, 5
ORDER = {"clients": ["client_id"], "events": ["client_id", "timestamp"]}


@pytest.fixture(scope="module")
def maison() -> Maison:
    return generate_maison(N_CLIENTS, N_PRODUCTS, seed=SEED)


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory, maison: Maison) -> Path:
    """The maison's clients and events in 4 buckets of many small row groups."""
    out = tmp_path_factory.mktemp("layout")
    t = maison.tables
    write_partitioned(
        [(t["clients"], t["events"])], out, 4, row_group_rows={"events": 16, "clients": 8}
    )
    return out


@pytest.fixture(scope="module")
def parquet_only(tmp_path_factory: pytest.TempPathFactory, layout: Path) -> Path:
    """The same layout as a write from before serving copies: Parquet row groups only."""
    out = tmp_path_factory.mktemp("parquet-only")
    shutil.copytree(layout, out, dirs_exist_ok=True)
    shutil.rmtree(out / "events" / buckets.SERVE_FOLDER)
    path = out / "events" / buckets.MANIFEST
    path.write_text(path.read_text().replace('"serve_copy": true', '"serve_copy": false'))
    assert not read_manifest(out / "events").serve_copy
    return out


def _whole(folder: Path, name: str) -> pd.DataFrame:
    """Every bucket of a table, concatenated in client (and time) order, as Arrow wrote it."""
    files = read_manifest(folder / name).files
    table = pa.concat_tables([pq.read_table(folder / name / f) for f in files])
    return table.sort_by([(k, "ascending") for k in ORDER[name]]).to_pandas()


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# ------------------------------------------------------------------ the hash
def test_bucket_is_crc32_of_the_utf8_id() -> None:
    ids = ["c00001", "c00002", "Zoë-7", ""]
    expected = [zlib.crc32(i.encode("utf-8")) % 7 for i in ids]
    assert [client_bucket(i, 7) for i in ids] == expected
    assert bucket_of(pa.array(ids), 7).tolist() == expected
    assert bucket_of(ids, 7).tolist() == expected
    assert client_bucket("c00001", 1000) == 377  # pinned: the same in every process


def test_bucket_count_follows_the_size() -> None:
    assert [buckets_for(n) for n in (0, 1, 2_000_000, 2_000_001, 30_000_000)] == [1, 1, 1, 2, 15]
    with pytest.raises(ConfigError, match="n_buckets"):
        write_partitioned([], "unused", 0)
    with pytest.raises(ValueError, match="n_events"):
        write_partitioned(iter([]), "unused")


# ------------------------------------------------------------------ layout
def test_every_client_lives_in_one_sorted_bucket(layout: Path, maison: Maison) -> None:
    reader = PartitionedEvents(layout)
    assert reader.n_buckets == 4 and len(reader.buckets) == 4
    seen: set[str] = set()
    for b in range(4):
        for name in ("clients", "events"):
            path = layout / name / f"bucket-{b:05d}.parquet"
            df = pq.read_table(path).to_pandas()
            assert (bucket_of(df["client_id"].tolist(), 4) == b).all() if len(df) else True
            assert df.equals(df.sort_values(ORDER[name], kind="stable").reset_index(drop=True))
            assert pq.ParquetFile(path).metadata.num_row_groups >= 2
        clients = pq.read_table(layout / "clients" / f"bucket-{b:05d}.parquet")["client_id"]
        assert seen.isdisjoint(clients.to_pylist())
        seen.update(clients.to_pylist())
    assert seen == set(maison.tables["clients"]["client_id"])
    manifest = read_manifest(layout / "events")
    events = maison.tables["events"]
    assert sum(manifest.rows) == len(events)
    assert sum(read_manifest(layout / "clients").rows) == N_CLIENTS
    assert manifest.time_range == (
        events["timestamp"].min().isoformat(),
        events["timestamp"].max().isoformat(),
    )
    for name in ("clients", "events"):
        pd.testing.assert_frame_equal(_whole(layout, name), maison.tables[name], obj=name)


def test_streamed_chunks_give_the_same_files(tmp_path: Path, layout: Path, maison: Maison) -> None:
    """Clients and events in separate, unaligned, out-of-order chunks: the same buckets."""
    clients, events = maison.tables["clients"], maison.tables["events"]

    def chunks() -> Iterator[tuple[pd.DataFrame | None, pd.DataFrame | None]]:
        yield None, events.iloc[5000:]
        yield clients.iloc[200:], events.iloc[:1234]
        yield clients.iloc[:200], None
        yield None, events.iloc[1234:5000]

    counts = write_partitioned(chunks(), tmp_path, 4, row_group_rows={"events": 16, "clients": 8})
    assert counts == {"clients": len(clients), "events": len(events)}
    for b in range(4):
        for name in ("clients", "events"):
            file = f"{name}/bucket-{b:05d}.parquet"
            assert pq.read_table(tmp_path / file).equals(pq.read_table(layout / file)), file


def test_generator_writes_the_layout_of_the_tables_in_memory(
    tmp_path: Path, maison: Maison, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(buckets, "EVENTS_PER_BUCKET", 4_000)  # several buckets on small data
    counts = write_maison(
        tmp_path, N_CLIENTS, N_PRODUCTS, seed=SEED, fmt="partitioned", chunk_clients=100
    )
    reader = PartitionedEvents(tmp_path)
    assert reader.n_buckets == buckets_for(N_CLIENTS * 30) > 1
    for name in ("clients", "events"):
        pd.testing.assert_frame_equal(_whole(tmp_path, name), maison.tables[name], obj=name)
        assert counts[name] == len(maison.tables[name])
    for name in ("products", "stores", "stock", "associates"):
        got = pd.read_parquet(tmp_path / f"{name}.parquet")
        pd.testing.assert_frame_equal(got, maison.tables[name], obj=name)
    assert (tmp_path / "truth" / "client_segments.parquet").is_file()
    assert not list(tmp_path.glob(".partition-*")) and not list(tmp_path.rglob("*.partial"))


def test_flat_and_partitioned_writes_replace_each_other(tmp_path: Path) -> None:
    write_maison(tmp_path, 60, 50, seed=1, fmt="parquet")
    write_maison(tmp_path, 60, 50, seed=1, fmt="partitioned")
    assert not (tmp_path / "events.parquet").exists() and (tmp_path / "events").is_dir()
    write_maison(tmp_path, 60, 50, seed=1, fmt="csv")
    assert not (tmp_path / "events").exists() and not (tmp_path / "products.parquet").exists()
    assert (tmp_path / "events.csv").is_file()


# ------------------------------------------------------------------ atomicity
def test_failed_write_leaves_the_previous_dataset(tmp_path: Path, maison: Maison) -> None:
    t = maison.tables
    write_partitioned([(t["clients"], t["events"])], tmp_path, 3)
    before = _tree(tmp_path)

    def failing() -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
        yield t["clients"], t["events"].iloc[:100]
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_partitioned(failing(), tmp_path, 2)
    assert _tree(tmp_path) == before
    fresh = tmp_path / "fresh"
    with pytest.raises(RuntimeError, match="disk full"):
        write_partitioned(failing(), fresh, 2)
    assert not fresh.exists()


def test_failed_generator_write_leaves_the_folder(tmp_path: Path) -> None:
    write_maison(tmp_path, 200, 60, seed=1, fmt="partitioned")
    before = _tree(tmp_path)

    def fail(stage: str, fraction: float) -> None:
        if stage == "buckets":
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_maison(tmp_path, 300, 60, seed=2, fmt="partitioned", progress=fail)
    assert _tree(tmp_path) == before


def test_folders_of_different_writes_are_refused(tmp_path: Path, layout: Path) -> None:
    shutil.copytree(layout, tmp_path / "a")
    shutil.rmtree(tmp_path / "a" / "clients")
    shutil.copytree(layout / "clients", tmp_path / "a" / "clients")
    PartitionedEvents(tmp_path / "a")  # the same write: fine
    other = tmp_path / "b"
    m = generate_maison(60, 50, seed=2).tables
    write_partitioned([(m["clients"], m["events"])], other, 4)
    shutil.rmtree(tmp_path / "a" / "clients")
    shutil.copytree(other / "clients", tmp_path / "a" / "clients")
    with pytest.raises(DataValidationError, match="different writes"):
        PartitionedEvents(tmp_path / "a")
    with pytest.raises(DataValidationError, match="partitioned events/ and clients/"):
        PartitionedEvents(tmp_path)


# ------------------------------------------------------------------ readers
def test_read_bucket_gives_the_dtypes_of_load_dataset(tmp_path: Path, layout: Path) -> None:
    write_maison(tmp_path, N_CLIENTS, N_PRODUCTS, seed=SEED, fmt="parquet")
    flat = load_dataset(tmp_path)
    reader = PartitionedEvents(layout)
    events, clients = reader.read_bucket(2)
    trusted = reader.read_bucket(2, validate=False)
    pd.testing.assert_frame_equal(events, trusted[0])
    pd.testing.assert_frame_equal(clients, trusted[1])
    assert events.dtypes.equals(flat.events.dtypes)
    assert clients.dtypes.equals(flat.clients.dtypes)
    mine = flat.events[flat.events["client_id"].isin(clients["client_id"])]
    pd.testing.assert_frame_equal(events, mine.reset_index(drop=True))
    with pytest.raises(IndexError, match="bucket 4"):
        reader.read_bucket(4)


def test_client_events_reads_one_or_two_row_groups(
    parquet_only: Path, maison: Maison, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a serving copy (a layout written before them), one or two row groups a client."""
    reader = PartitionedEvents(parquet_only)
    events = maison.tables["events"]
    read: list[list[int]] = []
    original = pq.ParquetFile.read_row_groups

    def spy(self: pq.ParquetFile, row_groups: list[int], *args: object, **kw: object) -> pa.Table:
        read.append(list(row_groups))
        return original(self, row_groups, *args, **kw)

    def whole(*args: object, **kw: object) -> None:
        raise AssertionError("a client read must not read a whole file")

    monkeypatch.setattr(pq.ParquetFile, "read_row_groups", spy)
    monkeypatch.setattr(pq.ParquetFile, "read", whole)
    monkeypatch.setattr(pq, "read_table", whole)
    per_client = events.groupby("client_id").size()
    small = per_client[per_client <= 16].index[:25]
    for cid in small:
        got = reader.client_events(cid)
        want = events[events["client_id"] == cid]
        assert got["timestamp"].tolist() == want["timestamp"].tolist()
        assert got["product_id"].tolist() == want["product_id"].tolist()
        assert 1 <= len(read[-1]) <= 2
    bucket = reader.bucket_of(small[0])
    n_groups = pq.read_metadata(reader.buckets[bucket]).num_row_groups
    assert n_groups > 10 and max(len(r) for r in read) <= 2
    assert reader.client(small[0])["client_id"] == small[0]


@pytest.mark.parametrize("copy", [True, False], ids=["serving-copy", "row-groups"])
def test_every_client_reads_exactly_their_events(
    layout: Path, parquet_only: Path, maison: Maison, copy: bool
) -> None:
    """Through the serving copy, and through row groups found by binary search (however
    many groups a client spans): every client's rows and nobody else's."""
    reader = PartitionedEvents(layout if copy else parquet_only)
    assert reader.open_serve_copies() == (4 if copy else 0)
    events = maison.tables["events"]
    by_client = dict(tuple(events.groupby("client_id")))
    assert max(len(e) for e in by_client.values()) > 3 * 16  # some span several groups
    for cid in maison.tables["clients"]["client_id"]:
        got = reader.client_events(cid)
        want = by_client.get(cid, events.iloc[:0]).sort_values("timestamp", kind="stable")
        assert got["product_id"].tolist() == want["product_id"].tolist(), cid
        assert got["timestamp"].tolist() == want["timestamp"].tolist(), cid
    # Ids between, before and after the stored ones hold no group.
    for ghost in ("", "c", "c00000a", "zzz", "c0000"):
        assert reader.client_events(ghost).empty


def test_a_serving_copy_of_tiny_batches_reads_clients_across_several(
    tmp_path: Path, layout: Path, maison: Maison, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A copy records its batch size: one of 3-row batches (most clients spanning
    several) gives every client exactly their rows, in time order."""
    from core.data.partitioned import serve_copy

    name = read_manifest(layout / "events").files[0]
    rows = pq.read_table(layout / "events" / name)
    monkeypatch.setattr(serve_copy, "ROWS_PER_BATCH", 3)
    serve_copy.write_serve_copy(tmp_path, 0, rows)
    copy = serve_copy.ServeCopy.open(tmp_path, 0, rows.num_rows)
    assert isinstance(copy, serve_copy.ServeCopy) and copy.rows_per_batch == 3
    ids = rows.column("client_id").to_pylist()
    spans = []
    for cid in sorted(set(ids)):
        got = copy.rows(cid)
        want = rows.filter(pc.equal(rows["client_id"], cid))
        assert got.equals(want), cid
        spans.append(-(-got.num_rows // 3))
    assert max(spans) > 3  # some clients span several batches
    assert copy.rows("nobody").num_rows == 0


def test_serving_copy_gives_the_row_groups_frames_without_reading_parquet(
    layout: Path, parquet_only: Path, maison: Maison, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = PartitionedEvents(parquet_only)
    ids = [*maison.tables["clients"]["client_id"].astype(str), "ghost", ""]
    want = {cid: old.client_events(cid) for cid in ids}
    many = old.clients_events(ids[:60])

    def parquet(*args: object, **kw: object) -> None:
        raise AssertionError("a client's read through the serving copy must not read Parquet")

    monkeypatch.setattr(pq.ParquetFile, "read_row_groups", parquet)
    monkeypatch.setattr(pq, "read_table", parquet)
    reader = PartitionedEvents(layout)
    for cid in ids:
        pd.testing.assert_frame_equal(reader.client_events(cid), want[cid], obj=cid)
    pd.testing.assert_frame_equal(reader.clients_events(ids[:60]), many)


def test_threads_sharing_a_reader_each_get_their_clients_events(
    layout: Path, maison: Maison
) -> None:
    """A dashboard's sessions share one reader (and each bucket's open copy)."""
    from concurrent.futures import ThreadPoolExecutor

    reader = PartitionedEvents(layout)
    events = maison.tables["events"]
    ids = list(events["client_id"].unique()[:120].astype(str))
    want = {c: events[events["client_id"] == c]["timestamp"].sort_values().tolist() for c in ids}
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda c: (c, reader.client_events(c)["timestamp"].tolist()), ids * 4))
    assert all(ts == want[c] for c, ts in got)


@pytest.mark.parametrize(
    "damage",
    ["missing", "truncated", "other-bucket", "index-out-of-order"],
)
def test_damaged_serving_copy_falls_back_to_row_groups(
    tmp_path: Path, layout: Path, maison: Maison, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    shutil.copytree(layout, tmp_path, dirs_exist_ok=True)
    serve = tmp_path / "events" / buckets.SERVE_FOLDER
    data, index = (serve.parent / f for f in buckets.serve_files(1))
    if damage == "missing":
        data.unlink()
    elif damage == "truncated":
        data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    elif damage == "other-bucket":
        shutil.copy(serve.parent / buckets.serve_files(2)[0], data)
        shutil.copy(serve.parent / buckets.serve_files(2)[1], index)
    else:
        with pa.OSFile(str(index)) as source:
            table = pa.ipc.open_file(source).read_all()
        with pa.OSFile(str(index), "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:
            w.write_table(table.take(np.arange(table.num_rows)[::-1]))
    reader = PartitionedEvents(tmp_path)
    with caplog.at_level("WARNING"):
        assert reader.open_serve_copies() == 3
    assert "bucket-00001" in caplog.text and "row groups instead" in caplog.text
    events = maison.tables["events"]
    mine = [c for c in events["client_id"].unique() if reader.bucket_of(c) == 1][:20]
    for cid in mine:
        want = events[events["client_id"] == cid].sort_values("timestamp", kind="stable")
        assert reader.client_events(cid)["product_id"].tolist() == want["product_id"].tolist()


def test_serving_copy_damaged_while_open_falls_back_to_row_groups(
    tmp_path: Path, layout: Path, maison: Maison, caplog: pytest.LogCaptureFixture
) -> None:
    """A copy cut short under a running reader (``cp`` over it): reads go to Parquet, right."""
    shutil.copytree(layout, tmp_path, dirs_exist_ok=True)
    reader = PartitionedEvents(tmp_path)
    assert reader.open_serve_copies() == 4
    data = tmp_path / "events" / buckets.serve_files(1)[0]
    with data.open("r+b") as f:
        f.truncate(100)
    events = maison.tables["events"]
    mine = [c for c in events["client_id"].unique() if reader.bucket_of(c) == 1][:10]
    with caplog.at_level("WARNING"):
        for cid in mine:
            want = events[events["client_id"] == cid].sort_values("timestamp", kind="stable")
            got = reader.client_events(cid)
            assert got["product_id"].tolist() == want["product_id"].tolist()
        both = reader.clients_events(mine)
    assert "bucket 1" in caplog.text and "row groups instead" in caplog.text
    assert reader.serve_copy(1) is None and reader.serve_copy(2) is not None
    assert sorted(both["client_id"].unique()) == sorted(mine)


def test_a_few_rows_convert_like_a_whole_table(maison: Maison) -> None:
    """One client's rows take a quicker conversion: the same frame, missing values and all."""
    from core.data.arrow import contract_schema
    from core.data.partitioned.reader import to_contract_frame

    for name in ("events", "clients"):
        frame = maison.tables[name].iloc[:40].copy()
        table = pa.Table.from_pandas(frame, schema=contract_schema(name), preserve_index=False)
        columns = {f.name: table.column(f.name).to_pylist() for f in table.schema}
        for col in table.schema:  # a missing value in every column that may hold one
            if col.nullable:
                columns[col.name][3] = None
        table = pa.table(columns, schema=table.schema)
        assert table.num_rows and any(c.null_count for c in table.columns)
        slow = table.to_pandas(coerce_temporal_nanoseconds=True, ignore_metadata=True)
        for few in (table, table.slice(0, 0), table.slice(2, 1)):
            got = to_contract_frame(few, name)
            # the whole-table path: the few-rows path bypassed by a table too long for it
            long = to_contract_frame(pa.concat_tables([few] * 2000), name).iloc[: few.num_rows]
            pd.testing.assert_frame_equal(got, long, obj=f"{name}, {few.num_rows} rows")
        assert len(slow) == 40


def test_row_groups_out_of_order_are_scanned() -> None:
    """A file whose groups' ranges do not run in order (not written by us) is scanned."""
    from core.data.partitioned.reader import _RowGroups

    ranges = (("c5", "c7"), ("c1", "c3"), ("c3", "c5"), None)
    groups = _RowGroups(pq.FileMetaData, ranges)  # type: ignore[arg-type]
    assert groups.holding("c3") == [1, 2, 3]
    assert groups.holding("c6") == [0, 3]
    ordered = _RowGroups(pq.FileMetaData, (("c1", "c3"), ("c3", "c5"), ("c5", "c7")))  # type: ignore[arg-type]
    assert ordered.holding("c3") == [0, 1]
    assert ordered.holding("c4") == [1]
    assert ordered.holding("c0") == [] and ordered.holding("c8") == []


def test_unknown_client_has_no_events_and_no_row(layout: Path) -> None:
    reader = PartitionedEvents(layout)
    none = reader.client_events("ghost")
    assert none.empty and list(none.columns) == list(reader.client_events("c00001").columns)
    with pytest.raises(UnknownIdError, match="ghost"):
        reader.client("ghost")


def test_reader_pickles_for_workers_and_follows_a_rewrite(tmp_path: Path, maison: Maison) -> None:
    t = maison.tables
    write_partitioned([(t["clients"], t["events"])], tmp_path, 2)
    reader = PartitionedEvents(tmp_path)
    cid = t["events"]["client_id"].iloc[0]
    before = reader.client_events(cid)
    copy = pickle.loads(pickle.dumps(reader))
    pd.testing.assert_frame_equal(copy.client_events(cid), before)
    write_partitioned([(t["clients"], t["events"])], tmp_path, 3)
    pd.testing.assert_frame_equal(reader.client_events(cid), before)
    assert reader.n_buckets == 3
    with pytest.raises(DataValidationError, match="rewritten"):
        copy.read_bucket(0)


# ------------------------------------------------------------------ contract checks
def test_read_bucket_runs_the_contract_checks(tmp_path: Path, maison: Maison) -> None:
    clients, events = maison.tables["clients"], maison.tables["events"].copy()
    cid = events["client_id"].iloc[0]
    events.loc[events.index[0], "event_type"] = "teleport"
    orphan = events.iloc[[1]].assign(client_id="nobody")
    write_partitioned([(clients, pd.concat([events, orphan]))], tmp_path, 4, validate=False)
    reader = PartitionedEvents(tmp_path)
    with pytest.raises(DataValidationError, match="events/bucket-.*event_type.*teleport") as err:
        reader.read_bucket(reader.bucket_of(cid))
    assert all(p.file.startswith("events/") for p in err.value.problems)
    with pytest.raises(DataValidationError, match="nobody.*an existing client_id in clients"):
        reader.read_bucket(reader.bucket_of("nobody"))


def test_write_names_the_source_row_and_writes_nothing(tmp_path: Path, maison: Maison) -> None:
    clients, events = maison.tables["clients"], maison.tables["events"].copy()
    events["value"] = events["value"].astype(object)
    events.loc[events.index[1500], "value"] = "lots"

    def chunks() -> Iterator[tuple[pd.DataFrame | None, pd.DataFrame | None]]:
        yield clients, None
        for start in range(0, len(events), 1000):
            yield None, events.iloc[start : start + 1000]

    with pytest.raises(DataValidationError, match="events, row 1501, column 'value': got 'lots'"):
        write_partitioned(chunks(), tmp_path / "out", 2)
    assert not (tmp_path / "out").exists()
    duplicate = pd.concat([clients, clients.iloc[[7]]])
    with pytest.raises(DataValidationError, match="unique client_id"):
        write_partitioned([(duplicate, maison.tables["events"])], tmp_path / "out", 2)
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ the loader
def test_load_dataset_reads_a_small_partitioned_folder_like_a_flat_one(tmp_path: Path) -> None:
    flat, split = tmp_path / "flat", tmp_path / "split"
    write_maison(flat, 300, 80, seed=3, fmt="parquet")
    write_maison(split, 300, 80, seed=3, fmt="partitioned")
    a, b = load_dataset(flat), load_dataset(split)
    for name in ("clients", "events"):
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name], obj=name)
    assert a.fingerprint == b.fingerprint


def test_load_dataset_points_a_large_partitioned_folder_to_the_scale_path(tmp_path: Path) -> None:
    write_maison(tmp_path, 300, 80, seed=3, fmt="partitioned")
    with pytest.raises(DataValidationError, match="events/.*PartitionedEvents"):
        load_dataset(tmp_path, max_file_mb=0.01)


# ------------------------------------------------------------------ the command line
def test_partition_command_converts_a_folder_in_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_maison(tmp_path, 300, 80, seed=4)  # CSV
    before = load_dataset(tmp_path)
    assert main(["partition", str(tmp_path), "--buckets", "3"]) == 0
    assert "3 buckets" in capsys.readouterr().out
    assert not (tmp_path / "events.csv").exists() and not (tmp_path / "clients.csv").exists()
    after = load_dataset(tmp_path)
    for name in before.tables:
        pd.testing.assert_frame_equal(before.tables[name], after.tables[name], obj=name)
    assert PartitionedEvents(tmp_path).n_buckets == 3
    assert main(["partition", str(tmp_path)]) == 1  # nothing flat left to partition
    assert "partitioned already" in capsys.readouterr().err


def test_partition_command_adds_serving_copies_to_an_older_layout(
    tmp_path: Path, parquet_only: Path, maison: Maison, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(parquet_only, tmp_path, dirs_exist_ok=True)
    ids = [*maison.tables["clients"]["client_id"].astype(str)[:80], "ghost"]
    before = PartitionedEvents(tmp_path)
    assert before.open_serve_copies() == 0
    want = {cid: before.client_events(cid) for cid in ids}
    assert main(["partition", str(tmp_path), "--serve-copies"]) == 0
    assert "serving copies of 4 buckets" in capsys.readouterr().out
    assert read_manifest(tmp_path / "events").serve_copy
    after = PartitionedEvents(tmp_path)
    assert after.open_serve_copies() == 4
    for cid in ids:
        pd.testing.assert_frame_equal(after.client_events(cid), want[cid], obj=cid)
    assert before.open_serve_copies() == 4  # a running reader follows the new manifest
    assert main(["partition", str(tmp_path), "--serve-copies"]) == 0
    assert "has its serving copies already" in capsys.readouterr().out


def test_partition_command_writes_elsewhere_and_reports_bad_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "src"
    write_maison(src, 200, 60, seed=4, fmt="parquet")
    assert main(["partition", str(src), "--out", str(tmp_path / "out")]) == 0
    assert (src / "events.parquet").is_file()
    reader = PartitionedEvents(tmp_path / "out")
    events = pd.read_parquet(src / "events.parquet")
    assert sum(reader.manifest.rows) == len(events)
    cid = events["client_id"].iloc[-1]
    got = reader.client_events(cid)
    assert np.array_equal(got["timestamp"], events.loc[events.client_id == cid, "timestamp"])

    bad = tmp_path / "bad"
    write_maison(bad, 200, 60, seed=4)
    lines = (bad / "events.csv").read_text(encoding="utf-8").splitlines()
    lines[5] = lines[5].replace(",view,", ",teleport,", 1).replace(",purchase,", ",teleport,", 1)
    (bad / "events.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["partition", str(bad)]) == 1
    assert "events.csv, row 5, column 'event_type'" in capsys.readouterr().err
    assert (bad / "events.csv").is_file() and not (bad / "events").exists()


def test_many_clients_events_read_bucket_by_bucket(tmp_path: Path, maison: Maison) -> None:
    t = maison.tables
    write_partitioned([(t["clients"], t["events"])], tmp_path, 3)
    reader = PartitionedEvents(tmp_path)
    ids = [*t["events"]["client_id"].drop_duplicates().iloc[:25].astype(str), "ghost"]
    got = reader.clients_events(ids)
    want = pd.concat([reader.client_events(c) for c in ids], ignore_index=True)
    key = ["client_id", "timestamp", "product_id", "event_type"]
    pd.testing.assert_frame_equal(
        got.sort_values(key, kind="stable").reset_index(drop=True),
        want.sort_values(key, kind="stable").reset_index(drop=True),
    )
    assert set(got["client_id"]) == set(ids[:-1])
    assert reader.clients_events(["ghost"]).empty
    assert list(reader.clients_events([]).columns) == list(want.columns)
