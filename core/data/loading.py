"""Read the table files of a data folder (CSV or Parquet) into raw text frames.

Nothing is validated here (see :mod:`core.data.validation`); a file that
cannot be read at all is reported as a problem naming it. A table may also be
a partitioned folder (``events/``, ``clients/``: :mod:`core.data.partitioned`),
read whole within the size limit; a flat file of the same table wins.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from core.data.buckets import is_partitioned, read_whole
from core.data.reading import check_header_names, check_readable, read_csv_strict
from core.data.schema import TABLE_ORDER
from core.data.values import shorten
from core.exceptions import DataValidationError, Problem

SUFFIXES = (".csv", ".parquet", ".pq")


def read_table(path: Path, max_mb: float) -> tuple[pd.DataFrame | None, list[Problem]]:
    """One table file (``.csv`` as text cells, Parquet, or a partitioned folder), or the problems that stop it being read.

    A header with an empty or repeated column name is one of them (see
    :func:`core.data.reading.header_problems`), in either format.
    """
    if path.is_dir():
        return read_whole(path, max_mb)
    try:
        if path.suffix == ".csv":
            return read_csv_strict(path, max_mb=max_mb), []
        check_readable(path, max_mb)
        # Before pandas: it refuses a repeated name with an obscure error, and
        # would keep an empty one.
        check_header_names(pq.read_schema(path).names, path.name)
        df = pd.read_parquet(path)
    except DataValidationError as err:
        return None, err.problems
    except (ValueError, OSError) as exc:  # pyarrow's errors derive from these
        return None, [Problem(path.name, None, None, shorten(exc), "a readable Parquet file")]
    df.columns = [str(c).strip() for c in df.columns]
    return df, []


def find_table_files(folder: Path) -> dict[str, Path]:
    """The file of each table in ``folder`` (``products.csv``, ``products.parquet``, or a partitioned ``events/``)."""
    found: dict[str, Path] = {}
    for name in TABLE_ORDER:
        candidates = [folder / f"{name}{suffix}" for suffix in SUFFIXES]
        existing = [p for p in candidates if p.is_file()]
        if not existing and is_partitioned(folder / name):
            existing = [folder / name]
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
