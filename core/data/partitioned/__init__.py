"""Events at rest as a partitioned Parquet dataset: whole clients per file, read per bucket or per client.

The layout, inside a data folder (beside products, stores, stock and
associates) or on its own::

    events/   _manifest.json  bucket-00000.parquet  bucket-00001.parquet ...
              serve/  bucket-00000.arrow  bucket-00000.index.arrow ...
    clients/  _manifest.json  bucket-00000.parquet  bucket-00001.parquet ...

- A client's row and every one of its events sit in the file of its bucket,
  ``crc32(client_id as UTF-8) % n_buckets``, so a bucket is a row block of
  the interaction matrix: the fit needs no shuffle.
- Inside a file, rows are sorted by ``client_id`` (then ``timestamp``), in
  small row groups (:data:`~core.data.buckets.ROW_GROUP_ROWS`)
  whose ``client_id`` statistics let a reader fetch one client by reading
  one or two of them.
- ``events/serve/`` holds a serving copy of each events bucket (Arrow IPC,
  uncompressed, with an index of where each client's rows end): a
  dashboard serving clients per request reads a client's events from it
  without decoding a row group (:mod:`core.data.partitioned.serve_copy`).
  The Parquet files stay the data; a layout without copies (written before
  them) or with a damaged one is read through the row groups.
- The number of buckets is chosen from the size (about two million events
  a bucket, :func:`~core.data.buckets.buckets_for`) and recorded
  with the hash, the schema, rows per bucket, the time range, the version
  and the write's id in each folder's ``_manifest.json``.

Write with :func:`write_partitioned` (chunks, all or nothing),
:func:`partition_folder` (a contract folder, as ``python -m core partition``)
or the generator (``write_maison(fmt="partitioned")``); read with
:class:`PartitionedEvents`. :func:`core.data.dataset.load_dataset` reads a
partitioned folder whole while it is within the loader's size limit, and
beyond it refuses with a problem pointing here.
"""

from __future__ import annotations

from core.data.buckets import (
    EVENTS_PER_BUCKET,
    ROW_GROUP_ROWS,
    Manifest,
    bucket_of,
    buckets_for,
    client_bucket,
    is_partitioned,
    read_manifest,
)
from core.data.partitioned.convert import partition_folder
from core.data.partitioned.reader import PartitionedEvents, to_contract_frame, validate_bucket
from core.data.partitioned.writer import BucketWriter, write_partitioned

__all__ = [
    "EVENTS_PER_BUCKET",
    "ROW_GROUP_ROWS",
    "BucketWriter",
    "Manifest",
    "PartitionedEvents",
    "bucket_of",
    "buckets_for",
    "client_bucket",
    "is_partitioned",
    "partition_folder",
    "read_manifest",
    "to_contract_frame",
    "validate_bucket",
    "write_partitioned",
]
