"""Write a partitioned dataset from chunks of clients and events, never holding the whole log.

Two phases. :meth:`BucketWriter.append` spreads each chunk's rows over their
buckets' staging files (an Arrow stream appended per chunk). Then
:meth:`BucketWriter.finish` takes one bucket at a time: sorts it by client
(and time), checks it, and writes its Parquet file with small row groups
(and, for events, the serving copy: :mod:`core.data.partitioned.serve_copy`).
Everything is written inside a hidden folder of ``out_dir``;
:meth:`BucketWriter.commit` moves ``clients/`` and ``events/`` into place
(each an atomic rename, the previous version moved back if the second fails),
so a failed write leaves the previous dataset, or nothing.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from core.data.arrow import contract_schema
from core.data.buckets import (
    PARTITIONED_TABLES,
    ROW_GROUP_ROWS,
    SORT_KEYS,
    Manifest,
    bucket_file,
    bucket_of,
    buckets_for,
    check_buckets,
    empty_table,
    is_partitioned,
    sort_rows,
)
from core.data.loading import SUFFIXES
from core.data.partitioned.reader import validate_bucket
from core.data.partitioned.serve_copy import write_serve_copy
from core.data.schema import TABLES
from core.data.validation import fill_optional, validate_frames
from core.exceptions import ConfigError, DataValidationError, Problem

MAX_PROBLEMS = 1_000
"""A write stops once this many problems are found (the report shows the first)."""

Chunk: TypeAlias = pd.DataFrame | pa.Table | None
Progress: TypeAlias = Callable[[str, float], None]


class BucketWriter:
    """Spread chunks of clients and events over client buckets, then sort each bucket into place.

    Parameters
    ----------
    out_dir : path
        Where ``clients/`` and ``events/`` go (created if missing). Other
        files there are left alone, except the flat ``clients`` and
        ``events`` files (``.csv``, ``.parquet``), removed at commit so the
        folder holds one version.
    n_buckets : int
    validate : bool
        Check DataFrame chunks against the contract as they come (problems
        name the source file and row) and each bucket as a whole before it is
        written (unique clients, events of known clients, foreign keys to
        ``parents``). Arrow tables are trusted (the generator's). ``False``
        checks nothing.
    parents : mapping of str to DataFrame, optional
        Validated products, stores, associates to check foreign keys against.
    files : mapping of str to str, optional
        The source file name of ``clients`` and ``events``, for problems.
    row_group_rows : mapping of str to int, optional
        Rows per row group, per table (default :data:`ROW_GROUP_ROWS`).

    Raises
    ------
    ConfigError
        ``n_buckets`` is out of range, or ``out_dir/events`` or ``out_dir/clients`` exists and is not a
        partitioned table.
    """

    def __init__(
        self,
        out_dir: str | Path,
        n_buckets: int,
        *,
        validate: bool = True,
        parents: Mapping[str, pd.DataFrame] | None = None,
        files: Mapping[str, str] | None = None,
        row_group_rows: Mapping[str, int] | None = None,
    ) -> None:
        self.out_dir = Path(out_dir)
        self.n_buckets = check_buckets(n_buckets)
        self.validate = validate
        self.parents = dict(parents or {})
        self.files = {**{n: n for n in PARTITIONED_TABLES}, **(files or {})}
        self.row_group_rows = {**ROW_GROUP_ROWS, **(row_group_rows or {})}
        for name in PARTITIONED_TABLES:
            target = self.out_dir / name
            if target.exists() and not is_partitioned(target):
                raise ConfigError(
                    f"{target} exists and is not a partitioned table; move it away or "
                    "write the layout elsewhere"
                )
        self._created = not self.out_dir.exists()
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.write_id = uuid.uuid4().hex
        self.tmp = self.out_dir / f".partition-{self.write_id[:12]}"
        (self.tmp / "staging").mkdir(parents=True)
        self.problems: list[Problem] = []
        self._file_problems: set[tuple[str, str | None, str]] = set()
        self._read = dict.fromkeys(PARTITIONED_TABLES, 0)
        self._counts: dict[str, int] | None = None

    # ------------------------------------------------------------ phase 1
    def append(self, clients: Chunk = None, events: Chunk = None) -> None:
        """Add a chunk of clients and/or events (either may be ``None``).

        Raises
        ------
        DataValidationError
            More than :data:`MAX_PROBLEMS` problems so far.
        ValueError
            A row has no client_id, or an Arrow chunk lacks a contract column.
        """
        for name, chunk in (("clients", clients), ("events", events)):
            if chunk is None:
                continue
            table = self._typed(name, chunk)
            self._read[name] += len(chunk)
            if table is not None and table.num_rows:
                self._spread(name, table)

    def _typed(self, name: str, chunk: pd.DataFrame | pa.Table) -> pa.Table | None:
        """The chunk in the contract's Arrow schema, or ``None`` when it has problems."""
        schema = contract_schema(name)
        if isinstance(chunk, pa.Table):
            missing = [c for c in schema.names if c not in chunk.column_names]
            if missing:
                raise ValueError(f"{name} chunk lacks the columns {', '.join(missing)}")
            return chunk.select(schema.names).cast(schema)
        if self.validate:
            valid, problems = validate_frames({name: chunk}, {name: self.files[name]})
            self._note(problems, offset=self._read[name])
            if problems:
                return None
            chunk = valid[name]
        else:
            chunk = fill_optional(chunk, TABLES[name])
        frame = chunk[schema.names]
        table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False, safe=False)
        return table.replace_schema_metadata(None)  # no pandas metadata in the layout

    def _note(self, problems: Iterable[Problem], offset: int) -> None:
        """Keep problems with rows counted in the whole source; file-level ones once."""
        for p in problems:
            if p.row is None:
                key = (p.file, p.column, p.expected)
                if key in self._file_problems:
                    continue
                self._file_problems.add(key)
                self.problems.append(p)
            else:
                self.problems.append(replace(p, row=p.row + offset))
        if len(self.problems) > MAX_PROBLEMS:
            raise DataValidationError(self.problems)

    def _spread(self, name: str, table: pa.Table) -> None:
        """Append each bucket's rows of ``table`` to its staging file, keeping their order."""
        buckets = bucket_of(table["client_id"], self.n_buckets)
        order = np.argsort(buckets, kind="stable")
        counts = np.bincount(buckets, minlength=self.n_buckets)
        starts = np.cumsum(counts) - counts
        table = table.take(pa.array(order))
        options = pa.ipc.IpcWriteOptions(compression="lz4")
        for b in np.flatnonzero(counts):
            # One Arrow stream appended per chunk: no file stays open between chunks,
            # so the number of buckets is not bounded by the open-file limit.
            path = str(self._staging_path(name, int(b)))
            with (
                pa.OSFile(path, "ab") as sink,
                pa.ipc.new_stream(sink, table.schema, options=options) as out,
            ):
                out.write_table(table.slice(int(starts[b]), int(counts[b])))

    def _staging_path(self, name: str, bucket: int) -> Path:
        return self.tmp / "staging" / f"{name}-{bucket:05d}.arrows"

    # ------------------------------------------------------------ phase 2
    def finish(self, progress: Progress | None = None) -> dict[str, int]:
        """Sort, check and write every bucket, one at a time, and the manifests.

        Parameters
        ----------
        progress : callable, optional
            Called as ``progress("buckets", fraction)`` after each bucket.

        Returns
        -------
        dict of str to int
            Rows written per table.

        Raises
        ------
        DataValidationError
            Problems found in the chunks, or in a bucket (rows counted in the
            sorted bucket, which is not written).
        """
        if self.problems:
            raise DataValidationError(self.problems)
        if self._counts is not None:
            raise RuntimeError("this write is finished already")
        rows: dict[str, list[int]] = {name: [] for name in PARTITIONED_TABLES}
        spans: list[tuple[datetime, datetime]] = []
        for name in PARTITIONED_TABLES:
            (self.tmp / name).mkdir()
        for b in range(self.n_buckets):
            tables = {name: sort_rows(name, self._staged_table(name, b)) for name in rows}
            if self.validate:
                files = {name: f"{name}/{bucket_file(b)}" for name in rows}
                validate_bucket(tables["events"], tables["clients"], self.parents, files)
            for name, table in tables.items():
                self._write_bucket(name, b, table)
                rows[name].append(table.num_rows)
                self._staging_path(name, b).unlink(missing_ok=True)
            if tables["events"].num_rows:
                span = pc.min_max(tables["events"]["timestamp"])
                spans.append((span["min"].as_py(), span["max"].as_py()))
            if progress is not None:
                progress("buckets", (b + 1) / self.n_buckets)
        self._write_manifests(rows, spans)
        self._counts = {name: sum(r) for name, r in rows.items()}
        return dict(self._counts)

    def _write_manifests(
        self, rows: Mapping[str, list[int]], spans: list[tuple[datetime, datetime]]
    ) -> None:
        """The manifest of each table; the time range spans every bucket's first and last event."""
        time_range = None
        if spans:
            time_range = (
                min(s[0] for s in spans).isoformat(),
                max(s[1] for s in spans).isoformat(),
            )
        for name in PARTITIONED_TABLES:
            Manifest(
                table=name,
                n_buckets=self.n_buckets,
                write_id=self.write_id,
                rows=tuple(rows[name]),
                time_range=time_range if name == "events" else None,
                row_group_rows=self.row_group_rows[name],
                sorted_by=SORT_KEYS[name],
                serve_copy=name == "events",
            ).write(self.tmp / name)

    def _staged_table(self, name: str, bucket: int) -> pa.Table:
        """The rows appended to a bucket, in the order they came."""
        path = self._staging_path(name, bucket)
        if not path.is_file():
            return empty_table(name)
        size = path.stat().st_size
        parts = []
        with pa.OSFile(str(path), "rb") as source:
            while source.tell() < size:
                parts.append(pa.ipc.open_stream(source).read_all())
        return pa.concat_tables(parts)

    def _write_bucket(self, name: str, bucket: int, table: pa.Table) -> None:
        write_bucket(self.tmp / name, name, bucket, table, self.row_group_rows[name])

    # ------------------------------------------------------------ commit
    def commit(self) -> None:
        """Move ``clients/`` then ``events/`` into place; remove the flat files of both.

        Raises
        ------
        RuntimeError
            :meth:`finish` has not run.
        """
        if self._counts is None:
            raise RuntimeError("finish() the write before commit()")
        moved: list[str] = []
        try:
            for name in PARTITIONED_TABLES:
                self._swap_in(name)
                moved.append(name)
        except BaseException:
            for name in reversed(moved):
                self._swap_back(name)
            raise
        for name in PARTITIONED_TABLES:
            for suffix in SUFFIXES:
                (self.out_dir / f"{name}{suffix}").unlink(missing_ok=True)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _swap_in(self, name: str) -> None:
        target, old = self.out_dir / name, self.tmp / f"{name}.old"
        if target.exists():
            os.replace(target, old)
        try:
            os.replace(self.tmp / name, target)
        except BaseException:
            if old.exists():
                os.replace(old, target)
            raise

    def _swap_back(self, name: str) -> None:
        target, old = self.out_dir / name, self.tmp / f"{name}.old"
        os.replace(target, self.tmp / name)
        if old.exists():
            os.replace(old, target)

    def discard(self) -> None:
        """Remove everything this write staged; the previous dataset stays as it was."""
        shutil.rmtree(self.tmp, ignore_errors=True)
        if self._created and self.out_dir.is_dir() and not any(self.out_dir.iterdir()):
            self.out_dir.rmdir()


def write_bucket(
    folder: Path, name: str, bucket: int, table: pa.Table, row_group_rows: int
) -> None:
    """One bucket's file of table ``name`` in ``folder`` (and an events bucket's serving copy).

    ``table`` is sorted by :data:`SORT_KEYS` already; the file records it.
    """
    order = [(k, "ascending") for k in SORT_KEYS[name]]
    pq.write_table(
        table,
        folder / bucket_file(bucket),
        row_group_size=row_group_rows,
        compression="zstd",
        sorting_columns=pq.SortingColumn.from_ordering(table.schema, order),
    )
    if name == "events":
        write_serve_copy(folder, bucket, table)


def write_partitioned(
    chunks: Iterable[tuple[Chunk, Chunk]],
    out_dir: str | Path,
    n_buckets: int | None = None,
    *,
    n_events: int | None = None,
    validate: bool = True,
    parents: Mapping[str, pd.DataFrame] | None = None,
    files: Mapping[str, str] | None = None,
    row_group_rows: Mapping[str, int] | None = None,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Write ``(clients, events)`` chunks as a partitioned dataset in ``out_dir``, all or nothing.

    Only one chunk, and then one bucket, is held in memory at a time. A
    client's row and all its events may come in different chunks.

    Parameters
    ----------
    chunks : iterable of (clients, events)
        DataFrames (checked when ``validate``) or Arrow tables in the
        contract's schema (trusted); either of a pair may be ``None``. Extra
        columns are not kept.
    out_dir : path
    n_buckets : int, optional
        Default: :func:`~core.data.buckets.buckets_for` ``n_events``.
    n_events : int, optional
        The expected number of events, to choose ``n_buckets``; counted from
        ``chunks`` when it is a sequence.
    validate, parents, files, row_group_rows
        As in :class:`BucketWriter`.
    progress : callable, optional
        Called as ``progress("buckets", fraction)`` while buckets are sorted.

    Returns
    -------
    dict of str to int
        Rows written per table (``clients``, ``events``).

    Raises
    ------
    ValueError
        Neither ``n_buckets`` nor ``n_events`` is given for an iterator.
    DataValidationError
        The chunks break the contract; nothing is written.

    Longer than 60 lines for this documentation only; the body is 22 lines.
    """
    if n_buckets is None:
        if n_events is None and isinstance(chunks, Sequence):
            n_events = sum(len(events) for _, events in chunks if events is not None)
        if n_events is None:
            raise ValueError(
                "give n_buckets, or n_events (the expected number of events) to choose it, "
                "when the chunks come from an iterator"
            )
        n_buckets = buckets_for(n_events)
    writer = BucketWriter(
        out_dir,
        n_buckets,
        validate=validate,
        parents=parents,
        files=files,
        row_group_rows=row_group_rows,
    )
    try:
        for clients, events in chunks:
            writer.append(clients=clients, events=events)
        counts = writer.finish(progress)
        writer.commit()
    except BaseException:
        writer.discard()
        raise
    return counts


def remove_layout(out_dir: str | Path) -> None:
    """Remove the partitioned ``clients/`` and ``events/`` of ``out_dir`` (after a flat write).

    Folders of those names that are not partitioned tables are left alone.
    """
    for name in PARTITIONED_TABLES:
        folder = Path(out_dir) / name
        if is_partitioned(folder):
            shutil.rmtree(folder)
