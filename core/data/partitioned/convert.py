"""Convert a contract folder's clients and events into the partitioned layout, streaming.

``python -m core partition DATA_DIR`` runs :func:`partition_folder`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from core.data.buckets import PARTITIONED_TABLES
from core.data.loading import find_table_files
from core.data.partitioned.reader import read_parents
from core.data.partitioned.writer import Chunk, Progress, write_partitioned
from core.data.reading import check_readable
from core.data.values import shorten
from core.exceptions import DataValidationError, Problem

CHUNK_ROWS = 500_000
READING_SHARE = 0.8
"""The share of the progress bar given to reading the files (the rest: sorting buckets)."""


def partition_folder(
    data_dir: str | Path,
    out_dir: str | Path | None = None,
    *,
    n_buckets: int | None = None,
    chunk_rows: int = CHUNK_ROWS,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Write the clients and events files of a contract folder as a partitioned dataset.

    The files are read ``chunk_rows`` at a time and checked against the
    contract as they are (problems name the file and row), the clients'
    and events' foreign keys against the folder's products, stores and
    associates; nothing is written unless everything is valid.

    Parameters
    ----------
    data_dir : path
        A data folder with ``clients`` and ``events`` as ``.csv`` or
        ``.parquet`` files.
    out_dir : path, optional
        Where ``clients/`` and ``events/`` go. Default ``data_dir``, whose
        flat ``clients`` and ``events`` files are then removed once the
        layout is in place (the folder still loads with
        :func:`~core.data.dataset.load_dataset`). Another folder receives the
        layout only.
    n_buckets : int, optional
        Default: from the number of events (about 2M a bucket).
    chunk_rows : int
        Rows read at a time; bounds the memory used.
    progress : callable, optional
        Called as ``progress(stage, fraction)``.

    Returns
    -------
    dict of str to int
        Rows written per table (``clients``, ``events``).

    Raises
    ------
    DataValidationError
        A table is missing or unreadable, or breaks the contract.

    Longer than 60 lines for this documentation only; the body is 20 lines.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataValidationError(
            [Problem(str(data_dir), None, None, None, "a folder holding the data tables")]
        )
    sources = _sources(data_dir)
    parents = read_parents(data_dir)
    sizes = {name: _count_rows(path) for name, path in sources.items()}
    total = max(1, sum(sizes.values()))

    report = _overall_progress(progress)
    return write_partitioned(
        _all_chunks(sources, chunk_rows, total, report),
        data_dir if out_dir is None else out_dir,
        n_buckets,
        n_events=sizes["events"],
        parents=parents,
        files={name: path.name for name, path in sources.items()},
        progress=report,
    )


def _overall_progress(progress: Progress | None) -> Progress:
    """``progress`` over the whole conversion: reading takes :data:`READING_SHARE`, sorting the rest."""

    def report(stage: str, fraction: float) -> None:
        if progress is not None:
            share = READING_SHARE if stage == "reading" else 1 - READING_SHARE
            progress(stage, (0 if stage == "reading" else READING_SHARE) + share * fraction)

    return report


def _all_chunks(
    sources: dict[str, Path], chunk_rows: int, total: int, report: Progress
) -> Iterator[tuple[Chunk, Chunk]]:
    """Every file's chunks, as ``(clients, None)`` or ``(None, events)``, reporting the rows read."""
    done = 0
    for name, path in sources.items():
        for chunk in _read_chunks(path, chunk_rows):
            yield (chunk, None) if name == "clients" else (None, chunk)
            done += len(chunk)
            report("reading", min(1.0, done / total))


def _sources(data_dir: Path) -> dict[str, Path]:
    """The flat file of clients and of events, or the problems of those missing."""
    found = find_table_files(data_dir)
    problems = []
    for name in PARTITIONED_TABLES:
        if name not in found or not found[name].is_file():
            already = " (it is partitioned already)" if name in found else ""
            expected = f"a file named {name}.csv or {name}.parquet to partition{already}"
            problems.append(Problem(f"{name}.csv", None, None, None, expected))
    if problems:
        raise DataValidationError(problems)
    return {name: found[name] for name in PARTITIONED_TABLES}


def _count_rows(path: Path) -> int:
    """Data rows of a file: from the Parquet footer, or counted lines of a CSV (header excluded)."""
    if path.suffix != ".csv":
        return int(pq.read_metadata(path).num_rows)
    lines = 0
    with path.open("rb") as fh:
        while block := fh.read(1 << 24):
            lines += block.count(b"\n")
    return max(0, lines - 1)


def _read_chunks(path: Path, rows: int) -> Iterator[pd.DataFrame]:
    """The rows of a table file, ``rows`` at a time (CSV cells as text, as the loader reads them).

    Raises
    ------
    DataValidationError
        The file is empty or cannot be read (one problem naming it).
    """
    check_readable(path)
    try:
        if path.suffix == ".csv":
            reader = pd.read_csv(
                path,
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                index_col=False,
                encoding="utf-8-sig",
                chunksize=rows,
            )
            with reader:
                for chunk in reader:
                    chunk.columns = [str(c).strip() for c in chunk.columns]
                    yield chunk
        else:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=rows):
                yield batch.to_pandas()
    except (ValueError, OSError) as exc:  # decoding, parsing and pyarrow errors derive from these
        raise DataValidationError(
            [Problem(path.name, None, None, shorten(exc), "a readable CSV (UTF-8) or Parquet file")]
        ) from exc
