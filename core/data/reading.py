"""The one strict CSV reader of the data layer, and the checks every data file passes first.

The dataset loader (:mod:`core.data.loading`) and the importers
(:mod:`core.data.importers`) read CSV through :func:`read_csv_strict`: every
cell as text, nothing guessed, and a file that cannot be read whole is refused
with a :class:`~core.exceptions.DataValidationError` whose problem names the
file, and the row (and column) at fault where there is one.

Every reader of a table (CSV here, Parquet in :mod:`core.data.loading`, frames
in :mod:`core.data.validation`, the importers' sources) refuses a header with
an empty, blank or repeated column name through :func:`header_problems`:
pandas would otherwise rename a second ``email`` to ``email.1`` (or an empty
name to ``Unnamed: 3``), and the column the repeat stands in for would be
silently missing.
"""

from __future__ import annotations

import codecs
import csv
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

import pandas as pd

from core.data.values import shorten
from core.exceptions import DataValidationError, Problem

UTF8 = ("utf-8-sig",)
"""UTF-8, with or without the byte-order mark spreadsheets often write."""

_SNIFF_BYTES = 8192


def _and(items: Sequence[str]) -> str:
    """``"4"``, ``"4 and 7"``, ``"2, 4 and 7"``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def header_problems(
    names: Sequence[object],
    file: str,
    *,
    same_column: Callable[[str], str] | None = None,
) -> list[Problem]:
    """A problem per empty, blank or repeated column name of a header.

    Parameters
    ----------
    names : sequence
        The header's cells, as written (names are compared stripped).
    file : str
        The file to cite.
    same_column : callable, optional
        Maps a stripped name to the column it stands for, when several
        spellings mean one column (an importer's aliases); two names that map
        to the same column are a repeat. Default: the name itself.

    Returns
    -------
    list of Problem
        Empty when every column has a name of its own. Positions are 1-based
        (column 1 is the first of the header).
    """
    problems: list[Problem] = []
    columns: dict[str, list[tuple[int, str]]] = {}
    for position, raw in enumerate(names, start=1):
        written = "" if raw is None else str(raw)
        name = written.strip()
        if not name:
            problems.append(
                Problem(
                    file,
                    None,
                    None,
                    shorten(written) if written else None,
                    f"a name for column {position} of the header (it has none; "
                    "name it or remove the column)",
                )
            )
            continue
        column = same_column(name) if same_column is not None else name
        columns.setdefault(column, []).append((position, name))
    for column, found in columns.items():
        if len(found) < 2:
            continue
        spellings = {name for _, name in found}
        if len(spellings) == 1:
            where = (
                f"columns {_and([str(p) for p, _ in found])} of the header are "
                f"{'both' if len(found) == 2 else 'all'} named "
                f"'{found[0][1]}'; rename or remove the extra one"
            )
        else:
            listed = _and([f"{p} '{name}'" for p, name in found])
            where = f"columns {listed} of the header stand for the same column; remove one"
        problems.append(Problem(file, None, column, None, f"one column '{column}' ({where})"))
    return problems


def check_header_names(
    names: Sequence[object], file: str, *, same_column: Callable[[str], str] | None = None
) -> None:
    """Raise :class:`DataValidationError` when :func:`header_problems` finds any."""
    problems = header_problems(names, file, same_column=same_column)
    if problems:
        raise DataValidationError(problems)


def check_readable(path: Path, max_mb: float | None = None) -> None:
    """Refuse a file that is larger than ``max_mb`` or empty.

    Parameters
    ----------
    path : Path
        An existing file.
    max_mb : float, optional
        The largest accepted size in MiB; no limit when ``None``.

    Raises
    ------
    DataValidationError
        One problem naming the file.
    """
    size = path.stat().st_size
    if max_mb is not None and size / 2**20 > max_mb:
        _refuse(
            path,
            None,
            f"{size / 2**20:.3g} MB",
            f"a file of at most {max_mb:g} MB (set ATELIER_MAX_UPLOAD_MB to allow more)",
        )
    if size == 0:
        _refuse(path, None, None, "a header row (the file is empty)")


def read_csv_strict(
    path: str | Path,
    *,
    encodings: Sequence[str] = UTF8,
    max_mb: float | None = None,
    check_header: Callable[[list[str]], None] | None = None,
) -> pd.DataFrame:
    """Read a CSV file with every cell as text, or refuse it with a problem that names it.

    Parameters
    ----------
    path : path
    encodings : sequence of str
        Tried in turn until one decodes the whole file (``utf-8-sig`` reads
        UTF-8 with or without a byte-order mark). When none does, the problem
        gives the row and offset of the first byte the first encoding cannot
        decode.
    max_mb : float, optional
        Refuse a larger file (before reading it); no limit when ``None``.
    check_header : callable, optional
        Called with the header's cells (stripped) once the file is decoded
        and its header found to name every column once (see
        :func:`header_problems`),
        before any row is reported: a caller that needs certain columns
        raises its own :class:`~core.exceptions.DataValidationError` there,
        since a missing column says more than a malformed row.

    Returns
    -------
    DataFrame
        One ``str`` column per header cell (names stripped); empty cells are
        missing.

    Raises
    ------
    DataValidationError
        The file is missing, too large, empty, binary, not decodable, has a
        column without a name or a name twice in its header (named by
        position), a row with more fields than the header (named by row), or
        is otherwise not a readable CSV file; or ``check_header`` refused its
        header.

    Longer than 60 lines for this documentation only; the body is 25 lines.
    """
    path = Path(path)
    if not path.is_file():
        _refuse(path, None, None, f"an existing CSV file at {path}")
    check_readable(path, max_mb)
    with path.open("rb") as fh:
        if b"\x00" in fh.read(_SNIFF_BYTES):
            _refuse(path, None, None, "CSV text (the file holds binary data)")
    for encoding in encodings:
        try:
            df = _parse(path, encoding)
        except UnicodeDecodeError:
            continue
        except pd.errors.EmptyDataError:
            _refuse(path, None, None, "a header row (the file is empty)")
        except (pd.errors.ParserError, pd.errors.ParserWarning) as exc:
            _refuse_malformed(path, encoding, exc, check_header)
        except (ValueError, OSError) as exc:
            _refuse(path, None, shorten(exc), "a readable CSV file")
        # pandas has already renamed repeats (email.1) and blanks (Unnamed: 3).
        check_header_names(_read_header(path, encoding), path.name)
        df.columns = [str(c).strip() for c in df.columns]
        if check_header is not None:
            check_header(list(df.columns))
        return df
    _refuse_undecodable(path, encodings[0])


def _parse(path: Path, encoding: str) -> pd.DataFrame:
    with warnings.catch_warnings():
        # A row longer than the header would shift or drop cells silently.
        warnings.simplefilter("error", pd.errors.ParserWarning)
        return pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            index_col=False,
            encoding=encoding,
            encoding_errors="strict",
        )


def _refuse(path: Path, row: int | None, value: str | None, expected: str) -> NoReturn:
    raise DataValidationError([Problem(path.name, row, None, value, expected)])


def _refuse_malformed(
    path: Path,
    encoding: str,
    exc: Exception,
    check_header: Callable[[list[str]], None] | None,
) -> NoReturn:
    """Name the first row longer than the header, else say the file is not readable CSV."""
    header, ragged = _scan_fields(path, encoding)
    check_header_names(header, path.name)
    if check_header is not None:
        check_header([c.strip() for c in header])
    if ragged is not None:
        row, n = ragged
        _refuse(path, row, f"{n} fields", f"at most {len(header)} fields, as in the header")
    _refuse(path, None, shorten(exc), "a readable CSV file")


def _read_header(path: Path, encoding: str) -> list[str]:
    """The header's cells as written (a file pandas decoded with ``encoding``)."""
    with path.open(encoding=encoding, newline="") as fh:
        return next(csv.reader(fh), [])


def _scan_fields(path: Path, encoding: str) -> tuple[list[str], tuple[int, int] | None]:
    """The header, and the first data row with more fields than it: (row, fields)."""
    header: list[str] = []
    try:
        with path.open(encoding=encoding, newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, [])
            for row, fields in enumerate(reader, start=1):
                if len(fields) > len(header):
                    return header, (row, len(fields))
    except (csv.Error, UnicodeDecodeError):  # e.g. a field beyond the csv module's size limit
        pass
    return header, None


def _refuse_undecodable(path: Path, encoding: str) -> NoReturn:
    label = "UTF-8" if encoding.lower().replace("_", "-").startswith("utf-8") else encoding
    at, line, byte = _undecodable(path, encoding)
    raise DataValidationError(
        [
            Problem(
                path.name,
                line if line >= 0 else None,
                None,
                None,
                f"{label} text (byte 0x{byte:02x} at offset {at} is not {label}; "
                f"save the file as {label})",
            )
        ]
    )


def _undecodable(path: Path, encoding: str) -> tuple[int, int, int]:
    """Offset, 0-based line and value of the first byte ``encoding`` cannot decode."""
    # The byte-order mark is valid UTF-8: offsets count it either way.
    decoder = codecs.getincrementaldecoder(encoding.removesuffix("-sig"))()
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
