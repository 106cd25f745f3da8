"""A generated maison written to a folder (CSV, Parquet or the partitioned layout), streaming clients in chunks; every file appears at once."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from core.data.buckets import PARTITIONED_TABLES, buckets_for
from core.data.embeddings import EMBEDDINGS_SUFFIXES, EMBEDDINGS_TABLE
from core.data.generate.catalogue import Catalogue, build_catalogue
from core.data.generate.chunks import chunks
from core.data.generate.embeddings import plant_embeddings
from core.data.generate.parameters import (
    DEFAULT_AS_OF,
    DEFAULT_N_CLIENTS,
    DEFAULT_N_PRODUCTS,
    Progress,
    check_as_of,
    check_int,
    check_n_events,
    check_rising,
    no_progress,
)
from core.data.generate.segments import segment_definitions
from core.data.generate.tables import arrow_schema
from core.data.partitioned.writer import BucketWriter, remove_layout
from core.data.schema import TABLES


class _Sink:
    """One output file, written under a temporary name and renamed on commit."""

    def __init__(self, path: Path, fmt: str, schema: pa.Schema) -> None:
        self.path = path
        self.tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
        self.rows = 0
        self._header = True
        if fmt == "parquet":
            self._writer: pq.ParquetWriter | None = pq.ParquetWriter(
                self.tmp, schema, compression="zstd"
            )
        else:
            self._writer = None
            self._fh = self.tmp.open("w", encoding="utf-8", newline="")

    def write(self, table: pa.Table) -> None:
        if self._writer is not None:
            self._writer.write_table(table)
        else:
            table.to_pandas().to_csv(self._fh, header=self._header, index=False)
            self._header = False
        self.rows += table.num_rows

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        else:
            self._fh.close()

    def commit(self) -> None:
        os.replace(self.tmp, self.path)

    def discard(self) -> None:
        try:
            self.close()
        finally:
            self.tmp.unlink(missing_ok=True)


def write_maison(
    out_dir: str | Path,
    n_clients: int = DEFAULT_N_CLIENTS,
    n_products: int = DEFAULT_N_PRODUCTS,
    *,
    seed: int = 7,
    as_of: pd.Timestamp | str = DEFAULT_AS_OF,
    fmt: Literal["csv", "parquet", "partitioned"] = "csv",
    n_events: int | None = None,
    rising_segment: str | None = None,
    chunk_clients: int = 50_000,
    progress: Progress | None = None,
    embeddings: bool = True,
) -> dict[str, int]:
    """Generate a maison and write it to ``out_dir``, streaming clients in chunks.

    Writes ``products``, ``stores``, ``stock``, ``associates``, ``clients`` and
    ``events`` (one ``.csv`` or ``.parquet`` file each), and the planted truth
    in ``out_dir/truth/`` (``client_segments``, ``product_segments``,
    ``segments.json``), where the loader does not look. Each file is written
    under a temporary name and renamed once every file is complete; a file of
    the same table in the other format is removed, so the folder holds one
    version. The tables equal :func:`generate_maison`'s for the same arguments,
    whatever ``chunk_clients``.

    Parameters
    ----------
    out_dir : path
        Created if missing.
    n_clients, n_products, seed, as_of, rising_segment
        As in :func:`generate_maison`.
    fmt : {"csv", "parquet", "partitioned"}
        File format. ``"partitioned"`` writes ``clients`` and ``events`` as
        the partitioned layout (``clients/``, ``events/``: see
        :mod:`core.data.partitioned`), chunk by chunk, and the other tables
        and the truth as Parquet; events then come in client and time order,
        bucket by bucket.
    n_events : int, optional
        Approximate number of events (default 30 per client).
    embeddings : bool
        Also write the optional ``product_embeddings.parquet`` (planted from
        colour, material and subcategory:
        :func:`core.data.generate.embeddings.plant_embeddings`); ``False``
        removes one left by an earlier write.
    chunk_clients : int
        Clients generated and written at a time (rounded up to a multiple of
        :data:`SEED_BLOCK`); bounds the memory used.
    progress : callable, optional
        Called as ``progress(stage, fraction)``.

    Returns
    -------
    dict of str to int
        Rows written per table, truth tables included.

    Raises
    ------
    ValueError
        A parameter is out of range; the message names it.

    Longer than 60 lines for this documentation; what is left in the body
    is the arguments' checks and the one ``try`` that discards every partial
    file when any step fails.
    """
    n_clients = check_int("n_clients", n_clients)
    n_products = check_int("n_products", n_products)
    seed = check_int("seed", seed)
    chunk_clients = check_int("chunk_clients", chunk_clients)
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {', '.join(map(repr, FORMATS))}, got {fmt!r}")
    epc = check_n_events(n_events, n_clients)
    day = check_as_of(as_of)
    rising = check_rising(rising_segment)
    progress = progress or no_progress

    out = Path(out_dir)
    (out / "truth").mkdir(parents=True, exist_ok=True)
    sinks: dict[str, _Sink] = {}
    layout: BucketWriter | None = None
    seg_tmp = out / "truth" / f".segments.json.{os.getpid()}.partial"
    emb_tmp = out / f".{EMBEDDINGS_TABLE}.parquet.{os.getpid()}.partial"
    try:
        sinks = _open_sinks(out, fmt)
        if fmt == "partitioned":
            layout = BucketWriter(out, buckets_for(round(n_clients * epc)), validate=False)
        progress("catalogue", 0.0)
        cat = build_catalogue(n_products, seed, day)
        parts = chunks(cat, n_clients, chunk_clients, seed, day, epc, rising)
        counts = _write_all(sinks, layout, cat, parts, n_clients, progress)
        definitions = {"rising_segment": rising_segment, "segments": segment_definitions()}
        seg_tmp.write_text(json.dumps(definitions, indent=2, ensure_ascii=False), encoding="utf-8")
        if embeddings:
            planted = plant_embeddings(cat.tables["products"].to_pandas(), seed)
            planted.to_parquet(emb_tmp, index=False)
            counts[EMBEDDINGS_TABLE] = len(planted)
    except BaseException:
        _discard_all(sinks, layout, seg_tmp)
        emb_tmp.unlink(missing_ok=True)
        raise
    _commit_all(sinks, layout, seg_tmp)
    for suffix in EMBEDDINGS_SUFFIXES:
        (out / f"{EMBEDDINGS_TABLE}{suffix}").unlink(missing_ok=True)
    if embeddings:
        os.replace(emb_tmp, out / f"{EMBEDDINGS_TABLE}.parquet")
    _remove_other_versions(out, fmt, sinks)
    progress("done", 1.0)
    return {n: counts[n] for n in [*TABLES, *_TRUTH_TABLES, EMBEDDINGS_TABLE] if n in counts}


def _discard_all(sinks: dict[str, _Sink], layout: BucketWriter | None, seg_tmp: Path) -> None:
    """Remove every partial file of an interrupted write."""
    for sink in sinks.values():
        sink.discard()
    if layout is not None:
        layout.discard()
    seg_tmp.unlink(missing_ok=True)


def _commit_all(sinks: dict[str, _Sink], layout: BucketWriter | None, seg_tmp: Path) -> None:
    """Put every complete file in place (the segment definitions beside the truth tables)."""
    for sink in sinks.values():
        sink.commit()
    if layout is not None:
        layout.commit()
    os.replace(seg_tmp, seg_tmp.parent / "segments.json")


FORMATS: tuple[str, ...] = ("csv", "parquet", "partitioned")
_TRUTH_TABLES = ("client_segments", "product_segments")


def _open_sinks(out: Path, fmt: str) -> dict[str, _Sink]:
    """A sink for each table written as one file (all of them, unless partitioned)."""
    file_fmt = "parquet" if fmt == "partitioned" else fmt
    sinks: dict[str, _Sink] = {}
    try:
        for n in [*TABLES, *_TRUTH_TABLES]:
            if fmt == "partitioned" and n in PARTITIONED_TABLES:
                continue
            folder = out if n in TABLES else out / "truth"
            sinks[n] = _Sink(folder / f"{n}.{file_fmt}", file_fmt, arrow_schema(n))
    except BaseException:
        for sink in sinks.values():
            sink.discard()
        raise
    return sinks


def _remove_other_versions(out: Path, fmt: str, sinks: dict[str, _Sink]) -> None:
    """Remove each table's file in another format (and a partitioned layout, for a flat write)."""
    for sink in sinks.values():
        for suffix in (".csv", ".parquet", ".pq"):
            if suffix != sink.path.suffix:
                sink.path.with_suffix(suffix).unlink(missing_ok=True)
    if fmt != "partitioned":
        remove_layout(out)


def _write_all(
    sinks: dict[str, _Sink],
    layout: BucketWriter | None,
    cat: Catalogue,
    parts: Iterator[tuple[int, dict[str, pa.Table]]],
    n_clients: int,
    progress: Progress,
) -> dict[str, int]:
    """Write the catalogue's tables, then each chunk of clients as it comes, then close.

    Returns the rows written per table.
    """
    for name, table in cat.tables.items():
        sinks[name].write(table)
    sinks["product_segments"].write(cat.product_segments)
    progress("clients", 0.0)
    for done, chunk in parts:
        for name, table in chunk.items():
            if layout is not None and name in PARTITIONED_TABLES:
                layout.append(**{name: table})
            else:
                sinks[name].write(table)
        progress("clients", done / n_clients)
    for sink in sinks.values():
        sink.close()
    counts = {name: sink.rows for name, sink in sinks.items()}
    if layout is not None:
        counts.update(layout.finish(progress))
    return counts
