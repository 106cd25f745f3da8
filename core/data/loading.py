"""Read the table files of a data folder (CSV or Parquet) into raw text frames.

Nothing is validated here (see :mod:`core.data.validation`); a file that
cannot be read at all is reported as a problem naming it.
"""

from __future__ import annotations

import codecs
import csv
import warnings
from pathlib import Path

import pandas as pd

from core.data.schema import (
    TABLE_ORDER,
)
from core.data.values import shorten
from core.exceptions import Problem

SUFFIXES = (".csv", ".parquet", ".pq")
DEFAULT_MAX_FILE_MB = 512.0


def _undecodable(path: Path) -> tuple[int, int, int]:
    """Offset, 0-based line and value of the first byte that is not UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    lines = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            pending = decoder.getstate()[0]
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                data = pending + chunk
                at = offset - len(pending) + exc.start
                lines += data.count(b"\n", 0, exc.start) - pending.count(b"\n")
                return at, lines, data[exc.start]
            offset += len(chunk)
            lines += chunk.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return offset - 1, lines, path.read_bytes()[-1]
    return -1, -1, 0


def _longer_than_header(path: Path) -> tuple[int, int, int] | None:
    """The first data row with more fields than the header: (row, fields, header fields)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, [])
            for row, fields in enumerate(reader, start=1):
                if len(fields) > len(header):
                    return row, len(fields), len(header)
    except csv.Error:  # e.g. a field beyond the csv module's size limit
        return None
    return None


def read_table(path: Path, max_mb: float) -> tuple[pd.DataFrame | None, list[Problem]]:
    """One table file (``.csv`` as text cells, or Parquet), or the problems that stop it being read."""
    file = path.name
    size = path.stat().st_size
    if size / 2**20 > max_mb:
        return None, [
            Problem(
                file,
                None,
                None,
                f"{size / 2**20:.3g} MB",
                f"a file of at most {max_mb:g} MB (set ATELIER_MAX_UPLOAD_MB to allow more)",
            )
        ]
    if size == 0:
        return None, [Problem(file, None, None, None, "a header row (the file is empty)")]
    try:
        if path.suffix == ".csv":
            with path.open("rb") as fh:
                head = fh.read(8192)
            if b"\x00" in head:
                return None, [
                    Problem(file, None, None, None, "CSV text (the file holds binary data)")
                ]
            with warnings.catch_warnings():
                # A row longer than the header would shift or drop cells silently.
                warnings.simplefilter("error", pd.errors.ParserWarning)
                df = pd.read_csv(
                    path,
                    dtype=str,
                    keep_default_na=False,
                    na_values=[""],
                    index_col=False,
                    # utf-8-sig: spreadsheets often start UTF-8 files with a byte-order mark.
                    encoding="utf-8-sig",
                    encoding_errors="strict",
                )
        else:
            df = pd.read_parquet(path)
    except UnicodeDecodeError:
        at, line, byte = _undecodable(path)
        return None, [
            Problem(
                file,
                line if line >= 0 else None,
                None,
                None,
                f"UTF-8 text (byte 0x{byte:02x} at offset {at} is not UTF-8; "
                "save the file as UTF-8)",
            )
        ]
    except pd.errors.EmptyDataError:
        return None, [Problem(file, None, None, None, "a header row (the file is empty)")]
    except (pd.errors.ParserError, pd.errors.ParserWarning) as exc:
        ragged = _longer_than_header(path)
        if ragged is not None:
            row, n, header = ragged
            return None, [
                Problem(
                    file, row, None, f"{n} fields", f"at most {header} fields, as in the header"
                )
            ]
        return None, [Problem(file, None, None, shorten(exc), "a readable CSV file")]
    except (ValueError, OSError) as exc:  # pyarrow's errors derive from these
        what = "a readable CSV file" if path.suffix == ".csv" else "a readable Parquet file"
        return None, [Problem(file, None, None, shorten(exc), what)]
    df.columns = [str(c).strip() for c in df.columns]
    return df, []


def find_table_files(folder: Path) -> dict[str, Path]:
    """The file of each table in ``folder`` (``products.csv`` or ``products.parquet``)."""
    found: dict[str, Path] = {}
    for name in TABLE_ORDER:
        candidates = [folder / f"{name}{suffix}" for suffix in SUFFIXES]
        existing = [p for p in candidates if p.is_file()]
        if existing:
            found[name] = existing[0]
    return found


def read_tables(
    folder: Path, max_mb: float
) -> tuple[dict[str, pd.DataFrame], dict[str, str], list[Problem]]:
    """Read the file of every table in ``folder`` as it is (text cells for CSV).

    Parameters
    ----------
    folder : Path
        An existing folder.
    max_mb : float
        Larger files are refused (a problem) instead of read.

    Returns
    -------
    raw : dict of str to DataFrame
        The tables that could be read.
    files : dict of str to str
        The file name of each table found (to cite in problems).
    problems : list of Problem
        A missing table, or a file that cannot be read, each named.
    """
    paths = find_table_files(folder)
    problems: list[Problem] = []
    raw: dict[str, pd.DataFrame] = {}
    for name in TABLE_ORDER:
        if name not in paths:
            problems.append(
                Problem(
                    f"{name}.csv", None, None, None, f"a file named {name}.csv or {name}.parquet"
                )
            )
            continue
        df, found = read_table(paths[name], max_mb)
        problems += found
        if df is not None:
            raw[name] = df
    return raw, {n: p.name for n, p in paths.items()}, problems
