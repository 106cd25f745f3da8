"""Client buckets: the hash, file names and manifest of the partitioned layout, and reading a table whole.

The dataset API is :mod:`core.data.partitioned`; this module is what the
loader (:mod:`core.data.loading`) needs to see a partitioned table. A
partitioned table is a folder (``events/`` or ``clients/``) of Parquet
files, one per client bucket, and a manifest (``_manifest.json``) saying how
they were made. The bucket of a client is ``crc32(client_id as UTF-8) %
n_buckets`` -- the same in every process, machine and language (zlib, Java's
``CRC32``, Go's ``hash/crc32``), unlike Python's salted ``hash()``.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from core.data.arrow import contract_schema
from core.data.values import shorten
from core.exceptions import ConfigError, DataValidationError, Problem

FORMAT = "atelier-partitioned"
VERSION = 1
MANIFEST = "_manifest.json"
HASH = "crc32(utf-8 client_id) % n_buckets"
PARTITIONED_TABLES: tuple[str, ...] = ("clients", "events")
SORT_KEYS: dict[str, tuple[str, ...]] = {
    "clients": ("client_id",),
    "events": ("client_id", "timestamp"),
}
EVENTS_PER_BUCKET = 2_000_000
"""The size :func:`buckets_for` aims at: large enough to amortise a task, small enough to sort in memory."""
MAX_BUCKETS = 10_000
"""A write keeps a staging file open per bucket and table: this bounds the open files."""
ROW_GROUP_ROWS: dict[str, int] = {"clients": 5_000, "events": 2_000}
"""Rows per row group: reading one client touches one or two of them."""


def buckets_for(n_events: int) -> int:
    """The number of buckets for about ``n_events`` events: about 2M events a bucket, at least 1."""
    return max(1, math.ceil(max(0, n_events) / EVENTS_PER_BUCKET))


def check_buckets(n_buckets: object) -> int:
    """``n_buckets`` as a positive int, else a :class:`ConfigError` (a ``ValueError``) naming it."""
    if isinstance(n_buckets, bool) or not isinstance(n_buckets, int | np.integer):
        raise ConfigError(f"n_buckets must be an integer, got {n_buckets!r}")
    if not 1 <= n_buckets <= MAX_BUCKETS:
        raise ConfigError(f"n_buckets must be between 1 and {MAX_BUCKETS:,}, got {n_buckets:,}")
    return int(n_buckets)


def client_bucket(client_id: str, n_buckets: int) -> int:
    """The bucket of one client."""
    return zlib.crc32(str(client_id).encode("utf-8")) % n_buckets


def bucket_of(ids: pa.Array | pa.ChunkedArray | Iterable[str], n_buckets: int) -> np.ndarray:
    """The bucket of each id (int64), hashing each distinct id once.

    Raises
    ------
    ValueError
        An id is missing.
    """
    arr = ids if isinstance(ids, pa.Array | pa.ChunkedArray) else pa.array(list(ids), pa.string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.null_count:
        raise ValueError("a client_id is missing; every row needs one to find its bucket")
    encoded = pc.dictionary_encode(arr.cast(pa.string()))
    distinct = encoded.dictionary.to_pylist()
    hashes = np.fromiter(
        (zlib.crc32(s.encode("utf-8")) for s in distinct), dtype=np.int64, count=len(distinct)
    )
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    return np.asarray((hashes % n_buckets)[codes], dtype=np.int64)


def bucket_file(bucket: int) -> str:
    """The file name of a bucket."""
    return f"bucket-{bucket:05d}.parquet"


SERVE_FOLDER = "serve"
"""Inside ``events/``: the serving copy of each bucket (:func:`serve_files`)."""


def serve_files(bucket: int) -> tuple[str, str]:
    """The serving copy of a bucket's events and its client index, relative to ``events/``.

    The events as an uncompressed Arrow IPC file, in the bucket file's order
    (a client's rows are a few record batches: no decoding), and each
    client's id with the row where its events end.
    """
    stem = f"{SERVE_FOLDER}/bucket-{bucket:05d}"
    return f"{stem}.arrow", f"{stem}.index.arrow"


@dataclass(frozen=True)
class Manifest:
    """What a partitioned table folder holds and how it was made.

    Attributes
    ----------
    table : str
        ``clients`` or ``events``.
    n_buckets : int
    write_id : str
        The same in ``clients/`` and ``events/`` written together.
    rows : tuple of int
        Rows per bucket.
    time_range : tuple of str, optional
        First and last event (ISO), for events that hold any.
    row_group_rows : int
    sorted_by : tuple of str
    serve_copy : bool
        ``events/`` also holds a serving copy of each bucket
        (:func:`serve_files`); layouts written before it was made have none.
    hash : str
        How a client's bucket is computed.
    format, version : str, int
    """

    table: str
    n_buckets: int
    write_id: str
    rows: tuple[int, ...]
    time_range: tuple[str, str] | None
    row_group_rows: int
    sorted_by: tuple[str, ...] = ()
    serve_copy: bool = False
    hash: str = HASH
    format: str = FORMAT
    version: int = VERSION

    @property
    def files(self) -> list[str]:
        return [bucket_file(b) for b in range(self.n_buckets)]

    def to_json(self) -> str:
        data = asdict(self)
        schema = contract_schema(self.table)
        data["schema"] = [{"name": f.name, "type": str(f.type)} for f in schema]
        return json.dumps(data, indent=1)

    def write(self, folder: Path) -> None:
        (folder / MANIFEST).write_text(self.to_json(), encoding="utf-8")


def is_partitioned(folder: Path) -> bool:
    """Whether ``folder`` is a partitioned table (it holds a manifest)."""
    return (folder / MANIFEST).is_file()


def read_manifest(folder: Path) -> Manifest:
    """The manifest of a partitioned table folder, checked against its files.

    Raises
    ------
    DataValidationError
        The manifest is missing, unreadable, of another format or version,
        names a table other than the folder's, or a bucket file is missing.
    """
    path = folder / MANIFEST
    where = f"{folder.name}/{MANIFEST}"
    expected = f"a manifest of an Atelier partitioned table (format {FORMAT}, version {VERSION})"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        data.pop("schema", None)
        data["rows"] = tuple(data["rows"])
        data["sorted_by"] = tuple(data.get("sorted_by", ()))
        if data.get("time_range") is not None:
            data["time_range"] = tuple(data["time_range"])
        manifest = Manifest(**data)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise DataValidationError([Problem(where, None, None, shorten(exc), expected)]) from exc
    if (manifest.format, manifest.version, manifest.hash) != (FORMAT, VERSION, HASH):
        found = f"{manifest.format} {manifest.version}, {manifest.hash}"
        raise DataValidationError([Problem(where, None, None, found, expected)])
    bad_table = manifest.table != folder.name or manifest.table not in PARTITIONED_TABLES
    if bad_table or len(manifest.rows) != manifest.n_buckets:
        found = f"table {manifest.table}, {len(manifest.rows)} counts"
        raise DataValidationError(
            [Problem(where, None, None, found, f"the manifest of {folder.name}/")]
        )
    missing = [f for f in manifest.files if not (folder / f).is_file()]
    if missing:
        raise DataValidationError(
            [Problem(f"{folder.name}/{f}", None, None, None, "a bucket file") for f in missing]
        )
    return manifest


def empty_table(name: str) -> pa.Table:
    """A table of ``name`` with no rows."""
    return contract_schema(name).empty_table()


def in_order(name: str, table: pa.Table) -> bool:
    """Whether ``table`` is already in layout order (by client, then time for events)."""
    if table.num_rows < 2:
        return True
    keys = [table[k].combine_chunks() for k in SORT_KEYS[name]]
    ties = pa.array(np.ones(table.num_rows - 1, dtype=bool))
    for key in keys:
        before, after = key.slice(0, table.num_rows - 1), key.slice(1)
        if pc.any(pc.and_(ties, pc.greater(before, after))).as_py():
            return False
        ties = pc.and_(ties, pc.equal(before, after))
    return True


def sort_rows(name: str, table: pa.Table) -> pa.Table:
    """``table`` in layout order (by client, then time for events); a stable sort, skipped when in order."""
    if in_order(name, table):
        return table
    return table.sort_by([(k, "ascending") for k in SORT_KEYS[name]])


def read_whole(folder: Path, max_mb: float) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Every bucket of a partitioned table as one raw frame, in client (and time) order.

    This is how :func:`core.data.dataset.load_dataset` reads a partitioned
    folder: whole, up to the loader's file size limit (counted over the bucket
    files), beyond which the problem points to the per-bucket reader.

    Returns
    -------
    frame : DataFrame or None
    problems : list of Problem
    """
    try:
        manifest = read_manifest(folder)
    except DataValidationError as err:
        return None, err.problems
    paths = [folder / f for f in manifest.files]
    size = sum(p.stat().st_size for p in paths) / 2**20
    if size > max_mb:
        return None, [
            Problem(
                f"{folder.name}/",
                None,
                None,
                f"{size:.3g} MB",
                f"a partitioned {folder.name} table of at most {max_mb:g} MB to load whole; "
                "read a larger one per bucket with core.data.partitioned.PartitionedEvents "
                "(the scale path), or set ATELIER_MAX_UPLOAD_MB to load it whole",
            )
        ]
    try:
        table = pa.concat_tables([pq.read_table(p) for p in paths])
    except (OSError, ValueError) as exc:  # pyarrow's errors derive from these
        return None, [Problem(f"{folder.name}/", None, None, shorten(exc), "readable Parquet")]
    return sort_rows(manifest.table, table).to_pandas(), []
