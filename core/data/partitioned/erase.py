"""One client out of a partitioned dataset: their bucket rewritten, the other files linked, both tables swapped in.

An erasure (:mod:`core.app.erasure`) must remove a client's row and every
one of their events, all or nothing, from a layout too large to read whole.
A client lives in one bucket of each table, so:

1. :func:`stage_without_client` builds a new ``events/`` and ``clients/``
   in a staging folder inside the dataset: the client's bucket read,
   filtered and written again (with its serving copy), every other bucket
   file hard-linked (copied where the file system cannot link: no extra disk
   otherwise), and new manifests (a new write id, the bucket's new row count,
   the time range from the files' statistics);
2. :func:`apply_removal` swaps both folders in (``os.replace``), keeping the
   replaced ones for :func:`restore_removal` until :func:`discard_removal`.

Readers follow the new write (:class:`~core.data.partitioned.PartitionedEvents`
notices a new manifest); files they have open stay readable until closed.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from core.data.buckets import (
    MANIFEST,
    PARTITIONED_TABLES,
    bucket_file,
    read_manifest,
    serve_files,
)
from core.data.partitioned.reader import PartitionedEvents
from core.data.partitioned.writer import write_bucket
from core.exceptions import ConflictError, UnknownIdError


@dataclass(frozen=True)
class StagedRemoval:
    """A partitioned dataset without one client, staged beside the current one.

    Attributes
    ----------
    folder : Path
        The dataset (holding ``events/`` and ``clients/``).
    staging : Path
        The new folders, then (after :func:`apply_removal`) the replaced ones.
    removed : dict of str to int
        Rows removed per table (``events``, ``clients``).
    write_id : str
        The write id both folders had when staged.
    """

    folder: Path
    staging: Path
    removed: dict[str, int]
    write_id: str


def client_counts(folder: str | Path, client_id: str) -> dict[str, int]:
    """Rows of ``client_id`` per table (``events``, ``clients``), read from their bucket only.

    Raises
    ------
    UnknownIdError
        No client has this id.
    """
    reader = PartitionedEvents(folder)
    try:
        reader.client(client_id)
    except UnknownIdError:
        raise _unknown(client_id, reader.path) from None
    return {"events": reader.client_event_rows(client_id).num_rows, "clients": 1}


def _unknown(client_id: str, folder: Path) -> UnknownIdError:
    return UnknownIdError(
        f"unknown client id {client_id!r}: the clients of {folder} have no such client "
        "(already erased?)"
    )


def _link(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:  # a file system without hard links
        shutil.copy2(source, target)


def stage_without_client(folder: str | Path, client_id: str) -> StagedRemoval:
    """Stage the dataset in ``folder`` without ``client_id`` (see the module's description).

    Raises
    ------
    UnknownIdError
        No client has this id (nothing is staged).
    DataValidationError
        ``folder`` is not a partitioned dataset, or its two tables come from
        different writes.
    """
    folder = Path(folder)
    reader = PartitionedEvents(folder)
    bucket = reader.bucket_of(client_id)
    write_id = uuid.uuid4().hex
    staging = folder / f".erase-{write_id[:12]}"
    removed: dict[str, int] = {}
    try:
        for name in PARTITIONED_TABLES:
            source, target = folder / name, staging / name
            target.mkdir(parents=True)
            manifest = read_manifest(source)
            table = pq.read_table(source / bucket_file(bucket))
            kept = table.filter(pc.invert(pc.equal(table["client_id"], client_id)))
            removed[name] = table.num_rows - kept.num_rows
            copies = name == "events" and manifest.serve_copy
            if copies:
                (target / serve_files(bucket)[0]).parent.mkdir()
            for other in range(manifest.n_buckets):
                if other == bucket:
                    continue
                names = [bucket_file(other), *(serve_files(other) if copies else ())]
                for file in names:
                    _link(source / file, target / file)
            write_bucket(target, name, bucket, kept, manifest.row_group_rows)
            rows = list(manifest.rows)
            rows[bucket] = kept.num_rows
            time_range = _time_range(target, manifest.files) if name == "events" else None
            replace(manifest, write_id=write_id, rows=tuple(rows), time_range=time_range).write(
                target
            )
        if not removed["clients"]:
            raise _unknown(client_id, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return StagedRemoval(folder, staging, removed, reader.manifest.write_id)


def _time_range(folder: Path, files: list[str]) -> tuple[str, str] | None:
    """First and last event over the bucket files, from their row groups' statistics."""
    lows, highs = [], []
    for file in files:
        meta = pq.ParquetFile(folder / file).metadata
        column = meta.schema.to_arrow_schema().get_field_index("timestamp")
        for g in range(meta.num_row_groups):
            stats = meta.row_group(g).column(column).statistics
            if stats is not None and stats.has_min_max:
                lows.append(stats.min)
                highs.append(stats.max)
    if not lows:
        return None
    return min(lows).isoformat(), max(highs).isoformat()


def apply_removal(staged: StagedRemoval) -> None:
    """Swap the staged ``events/`` and ``clients/`` in, both or neither.

    Raises
    ------
    ConflictError
        The dataset was written again since it was staged (nothing changes).
    OSError
        A folder cannot be moved (nothing changes).
    """
    current = {read_manifest(staged.folder / name).write_id for name in PARTITIONED_TABLES}
    if current != {staged.write_id}:
        raise ConflictError(
            f"the data in {staged.folder} was written again while this erasure was prepared; "
            "nothing was changed: try again"
        )
    moved: list[str] = []
    try:
        for name in PARTITIONED_TABLES:
            _swap(staged, name)
            moved.append(name)
    except BaseException:
        restore_removal(staged, moved)
        raise


def _swap(staged: StagedRemoval, name: str) -> None:
    target, old = staged.folder / name, staged.staging / f"{name}.replaced"
    os.replace(target, old)
    try:
        os.replace(staged.staging / name, target)
    except BaseException:
        os.replace(old, target)
        raise


def restore_removal(staged: StagedRemoval, tables: list[str] | None = None) -> None:
    """Put back the folders :func:`apply_removal` replaced (all, or only ``tables``)."""
    for name in reversed(list(PARTITIONED_TABLES) if tables is None else tables):
        old = staged.staging / f"{name}.replaced"
        if not (old / MANIFEST).is_file():
            continue
        target = staged.folder / name
        if target.exists():
            os.replace(target, staged.staging / name)
        os.replace(old, target)


def discard_removal(staged: StagedRemoval) -> None:
    """Remove the staging folder: the staged folders, or the replaced ones after a swap."""
    shutil.rmtree(staged.staging, ignore_errors=True)
