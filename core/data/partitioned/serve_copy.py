"""The serving copy of a bucket's events: an Arrow file where one client's rows are a few record batches.

Reading one client from the bucket's Parquet file decodes a whole row group
(2,000 rows of every column) and filters it: about 0.9 ms of a served
request at 20,000 products, 2 ms at 50,000. The writer also writes each
events bucket, in the same order, as an uncompressed Arrow IPC file of
record batches of :data:`ROWS_PER_BATCH` rows, with a small index of each
client's id and the row where its events end. A reader keeps the index and
the file open: a client's events are a binary search and a few small batch
reads (positioned reads, no decoding: about 0.02 ms).

The file is read, not memory-mapped: a mapped file replaced in place
(``cp`` over it) would kill the process with SIGBUS at its next touch; a
read of a replaced file fails with an error, which the reader reports.

The copy costs disk, about five times the zstd Parquet file (96 MB against
18 MB for 1.25M events); the Parquet files stay the data (the fit reads
them). A copy that is missing, damaged or does not match its bucket is not
used: :meth:`ServeCopy.open` says why and the reader falls back to the
Parquet row groups.
"""

from __future__ import annotations

import bisect
import math
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from core.data.arrow import contract_schema
from core.data.buckets import MANIFEST, read_manifest, serve_files
from core.exceptions import DataValidationError, Problem

ROWS_PER_BATCH = 128
"""Rows per record batch of the copy: a client's rows span one or two (a few for a long history).

Each read takes and checks whole batches: at L, 128 rows read a client in
0.13 ms (p95 0.27) from a file out of the page cache where 512 rows took
0.16 ms (p95 0.38), for 6 % more disk. A copy records its own batch size, so
copies written with another still read.
"""

_INDEX_SCHEMA = pa.schema([("client_id", pa.string()), ("end", pa.int64())])
_BATCH_KEY = b"rows_per_batch"


def _write_ipc(path: Path, table: pa.Table, rows_per_batch: int | None = None) -> None:
    """``table`` as an Arrow IPC file at ``path``, through a temporary file renamed into place."""
    tmp = path.with_name(path.name + ".tmp")
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=rows_per_batch)
    os.replace(tmp, path)


def write_serve_copy(events_dir: Path, bucket: int, events: pa.Table) -> None:
    """Write the serving copy of one bucket's ``events`` (sorted by client, then time) into ``events_dir``."""
    data_name, index_name = serve_files(bucket)
    (events_dir / data_name).parent.mkdir(parents=True, exist_ok=True)
    events = events.combine_chunks()  # one chunk: batch b holds rows [b * n, (b + 1) * n)
    schema = _INDEX_SCHEMA.with_metadata({_BATCH_KEY: str(ROWS_PER_BATCH).encode()})
    if events.num_rows:
        runs = pc.run_end_encode(events.column("client_id").chunk(0), run_end_type=pa.int64())
        index = pa.table([runs.values, runs.run_ends], schema=schema)
    else:
        index = schema.empty_table()
    _write_ipc(events_dir / data_name, events, ROWS_PER_BATCH)
    _write_ipc(events_dir / index_name, index)


def add_serve_copies(
    folder: str | Path, progress: Callable[[str, float], None] | None = None
) -> int:
    """Write the serving copies of a layout written before they existed; how many buckets got one.

    Each events bucket's Parquet file is read and its copy written; the
    manifest says so last (renamed into place), so readers use the copies
    only once all are there. Nothing is done for a layout that has them.
    Run it while nothing rewrites the layout (a rewrite writes its own).

    Raises
    ------
    DataValidationError
        ``folder/events`` is not a partitioned table, or it was rewritten
        while the copies were written (the new write has its own).
    """
    events_dir = Path(folder) / "events"
    manifest = read_manifest(events_dir)
    if manifest.serve_copy:
        return 0
    for bucket, name in enumerate(manifest.files):
        write_serve_copy(events_dir, bucket, pq.read_table(events_dir / name))
        if progress is not None:
            progress("serving copies", (bucket + 1) / manifest.n_buckets)
    if read_manifest(events_dir).write_id != manifest.write_id:
        raise DataValidationError(
            [
                Problem(
                    f"events/{MANIFEST}",
                    None,
                    "write_id",
                    None,
                    "the write the copies were made from",
                )
            ]
        )
    tmp = events_dir / f"{MANIFEST}.tmp"
    tmp.write_text(replace(manifest, serve_copy=True).to_json(), encoding="utf-8")
    os.replace(tmp, events_dir / MANIFEST)
    return manifest.n_buckets


@dataclass(frozen=True)
class ServeCopy:
    """One bucket's serving copy, open: :meth:`rows` gives a client's events."""

    reader: pa.ipc.RecordBatchFileReader
    ids: pa.StringArray  # sorted, one per client with events
    ends: np.ndarray  # int64: the row after each client's last event
    rows_per_batch: int
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def open(cls, events_dir: Path, bucket: int, rows: int) -> ServeCopy | str:
        """The copy of ``bucket``, or why it cannot be used (missing, damaged, not this bucket's).

        ``rows``: the bucket's events, as its manifest counts them.
        """
        data_name, index_name = serve_files(bucket)
        try:
            reader = pa.ipc.open_file(pa.OSFile(str(events_dir / data_name)))
            with pa.OSFile(str(events_dir / index_name)) as source:
                index = pa.ipc.open_file(source).read_all().combine_chunks()
            per_batch = int((index.schema.metadata or {}).get(_BATCH_KEY, b"0"))
        except (OSError, ValueError, pa.ArrowException) as exc:
            return f"events/{data_name} cannot be read ({exc})"
        batches = math.ceil(rows / per_batch) if per_batch > 0 else -1
        if (
            not reader.schema.equals(contract_schema("events"))
            or reader.num_record_batches != batches
        ):
            return f"events/{data_name} is not this bucket's"
        if not index.schema.equals(_INDEX_SCHEMA) or index.column("client_id").null_count:
            return f"events/{index_name} is not an index of client rows"
        ids = index.column("client_id").chunk(0) if index.num_rows else pa.array([], pa.string())
        ends = index.column("end").to_numpy() if index.num_rows else np.zeros(0, np.int64)
        ordered = bool(np.all(np.diff(ends) > 0)) and (
            ends[0] > 0 and ends[-1] == rows if ends.size else rows == 0
        )
        if ordered and len(ids) > 1:
            ordered = pc.all(pc.less(ids.slice(0, len(ids) - 1), ids.slice(1))).as_py()
        if not ordered:
            return f"events/{index_name} does not cover the bucket's rows in order"
        return cls(reader, ids, ends, per_batch)

    def rows(self, client_id: str) -> pa.Table:
        """The events of ``client_id`` (none for a client without any), in time order.

        Raises
        ------
        OSError, pyarrow.ArrowException
            The file cannot be read where the index points, or what is read
            there is not a valid batch (each is checked in full: a file
            damaged after it was opened must not be read past its buffers).
        """
        ids = self.ids
        i = bisect.bisect_left(range(len(ids)), client_id, key=lambda j: ids[j].as_py())
        if i == len(ids) or ids[i].as_py() != client_id:
            return self.reader.schema.empty_table()
        start, stop = (int(self.ends[i - 1]) if i else 0), int(self.ends[i])
        first, last = start // self.rows_per_batch, (stop - 1) // self.rows_per_batch
        with self._lock:  # one reader shared by the server's threads
            batches = [self.reader.get_batch(b) for b in range(first, last + 1)]
        for batch in batches:
            batch.validate(full=True)
        table = pa.Table.from_batches(batches, schema=self.reader.schema)
        return table.slice(start - first * self.rows_per_batch, stop - start)
