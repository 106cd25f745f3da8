"""Replace one table of the data folder with an upload, only if the whole dataset stays valid.

Two steps, so the admin sees the report before anything changes:

1. :func:`check_upload` writes the upload into a staging folder inside the data
   folder (same file system, so the final move is a rename), links the other
   tables' current files next to it and validates the *whole* dataset as it
   would be with this table replaced (:func:`core.data.dataset.load_dataset`), so a
   new products file that orphans events is refused as surely as a bad price.
   The verdict and the problems are kept in the staging folder (a refused
   file itself is deleted at once), so a page can keep only the check's id in
   its session and read the check back (:func:`load_check`).
2. :func:`apply_upload` moves the staged file over the table's file with
   :func:`os.replace` (atomic) and only then removes the table's file in the
   other format (``products.parquet`` when ``products.csv`` arrives), so a
   reader of the folder sees the old dataset or the new one, never a mix. It
   refuses an invalid check, and a check made before someone else changed the
   folder (:class:`~core.exceptions.ConflictError`).

Nothing in the data folder changes when a check fails or an apply is refused.
Audit entries are written by the caller (the page knows who acted).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from core.data.dataset import Dataset, load_dataset
from core.data.embeddings import EMBEDDINGS_TABLE, find_embeddings_file
from core.data.loading import SUFFIXES, find_table_files
from core.data.schema import TABLE_ORDER
from core.exceptions import ConflictError, DataValidationError, Problem

#: Columns of :attr:`UploadCheck.problems`.
PROBLEM_COLUMNS: tuple[str, ...] = ("file", "row", "column", "value", "expected")
#: Staging folder inside the data folder (the loader never looks into sub-folders).
STAGING_DIR = ".staging"
_CHECK_FILE = "check.json"
_PROBLEMS_FILE = "problems.json"
_ID = re.compile(r"[0-9a-f]{32}")

Stamp = tuple[tuple[str, int, int], ...]


@dataclass(frozen=True)
class UploadCheck:
    """The verdict on one upload: the staged file and every problem found.

    Attributes
    ----------
    check_id : str
        Names the staging folder; keep it in session state and read the check
        back with :func:`load_check`.
    data_dir : Path
    table : str
        The table the upload replaces.
    filename : str
        The name the file was uploaded under (for messages).
    suffix : str
        ``.csv`` or ``.parquet``.
    size_bytes : int
    sha256 : str
        Of the uploaded bytes.
    rows : int or None
        Data rows of the uploaded table when it was read.
    problems : DataFrame
        Columns :data:`PROBLEM_COLUMNS`; empty when the upload is valid.
    stamp : tuple
        ``(file, mtime_ns, size)`` of every table file when the check ran.
    """

    check_id: str
    data_dir: Path
    table: str
    filename: str
    suffix: str
    size_bytes: int
    sha256: str
    rows: int | None
    problems: pd.DataFrame
    stamp: Stamp

    @property
    def ok(self) -> bool:
        """Whether the dataset with this table replaced is valid."""
        return self.problems.empty

    @property
    def staging(self) -> Path:
        """The staging folder of this check."""
        return self.data_dir / STAGING_DIR / self.check_id

    @property
    def staged_file(self) -> Path:
        return self.staging / f"{self.table}{self.suffix}"

    @property
    def target(self) -> Path:
        """Where the table's file will be after :func:`apply_upload`."""
        return self.data_dir / f"{self.table}{self.suffix}"

    def summary(self) -> dict[str, object]:
        """Plain values for an audit entry (no cell values: they may hold personal data)."""
        return {
            "table": self.table,
            "filename": self.filename,
            "bytes": self.size_bytes,
            "sha256": self.sha256,
            "rows": self.rows,
            "valid": self.ok,
            "problems": len(self.problems),
        }


#: What the Data page can upload: every table, and the optional image embeddings (Parquet only).
UPLOADABLE: tuple[str, ...] = (*TABLE_ORDER, EMBEDDINGS_TABLE)


def folder_stamp(data_dir: str | Path) -> Stamp:
    """``(file name, mtime in ns, size)`` of every table file in ``data_dir`` (embeddings too)."""
    stamp = []
    paths = sorted(find_table_files(Path(data_dir)).items())
    embeddings = find_embeddings_file(Path(data_dir))
    if embeddings is not None:
        paths.append((EMBEDDINGS_TABLE, embeddings))
    for _, path in paths:
        info = path.stat()
        stamp.append((path.name, info.st_mtime_ns, info.st_size))
    return tuple(stamp)


def problems_frame(problems: list[Problem]) -> pd.DataFrame:
    """Problems as a DataFrame with columns :data:`PROBLEM_COLUMNS` (rows nullable ints)."""
    frame = pd.DataFrame(
        [(p.file, p.row, p.column, p.value, p.expected) for p in problems],
        columns=list(PROBLEM_COLUMNS),
    )
    frame["row"] = frame["row"].astype("Int64")
    for col in ("file", "column", "value", "expected"):
        frame[col] = frame[col].astype(object)
    return frame


def _suffix(filename: str) -> str | None:
    suffix = Path(filename).suffix.lower()
    if suffix == ".pq":
        return ".parquet"
    return suffix if suffix in SUFFIXES else None


def _link_or_copy(source: Path, dest: Path) -> None:
    try:
        os.symlink(source.resolve(), dest)
    except OSError:  # no symlinks here (some Windows setups): a copy validates the same
        shutil.copy2(source, dest)


def _link_others(data_dir: Path, staging: Path, replaced: set[str]) -> None:
    """Put every table file of ``data_dir`` not in ``replaced`` beside the staged ones."""
    for name, path in find_table_files(data_dir).items():
        if name not in replaced:
            _link_or_copy(path, staging / path.name)
    embeddings = find_embeddings_file(data_dir)  # optional: validated against the new products
    if embeddings is not None and EMBEDDINGS_TABLE not in replaced:
        _link_or_copy(embeddings, staging / embeddings.name)


def _write_meta(check: UploadCheck) -> None:
    meta = {
        "table": check.table,
        "filename": check.filename,
        "suffix": check.suffix,
        "size_bytes": check.size_bytes,
        "sha256": check.sha256,
        "rows": check.rows,
        "stamp": [list(s) for s in check.stamp],
    }
    (check.staging / _CHECK_FILE).write_text(json.dumps(meta), encoding="utf-8")
    check.problems.astype(object).where(check.problems.notna(), None).to_json(
        check.staging / _PROBLEMS_FILE, orient="records"
    )


def check_upload(
    data_dir: str | Path,
    table: str,
    filename: str,
    content: bytes,
    max_mb: float,
) -> UploadCheck:
    """Stage an upload for ``table`` and validate the whole dataset with it.

    Parameters
    ----------
    data_dir : path
        The data folder (holds every table's file).
    table : str
        One of :data:`UPLOADABLE` (a table of :data:`core.data.schema.TABLE_ORDER`,
        or ``product_embeddings``, Parquet only).
    filename : str
        The uploaded file's name; its suffix (``.csv``, ``.parquet``/``.pq``)
        decides how it is read.
    content : bytes
        The file's bytes.
    max_mb : float
        Largest accepted file (the settings' ``max_upload_mb``).

    Returns
    -------
    UploadCheck
        ``ok`` when valid; otherwise ``problems`` names every file, row and
        column at fault. Of an invalid upload only the report is kept; a valid
        one stays staged until :func:`apply_upload` or :func:`discard`. Table
        files in ``data_dir`` are never touched.

    Raises
    ------
    ValueError
        For an unknown table or a data folder that does not exist.

    Longer than 60 lines for this documentation only; the body is 36 lines.
    """
    if table not in UPLOADABLE:
        raise ValueError(f"unknown table {table!r}; expected one of {', '.join(UPLOADABLE)}")
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise ValueError(f"the data folder {data_dir} does not exist")
    shown = Path(filename).name or f"{table}.csv"
    suffix = _suffix(shown)
    check = UploadCheck(
        uuid.uuid4().hex,
        data_dir,
        table,
        shown,
        suffix or ".csv",
        len(content),
        hashlib.sha256(content).hexdigest(),
        None,
        problems_frame([]),
        folder_stamp(data_dir),
    )
    refusal = _refusal(shown, suffix, len(content), max_mb)
    if refusal is None and table == EMBEDDINGS_TABLE and suffix != ".parquet":
        refusal = ("a .parquet file (image embeddings are read from Parquet only)", suffix or "")
    if refusal is not None:
        expected, value = refusal
        check = replace(
            check, problems=problems_frame([Problem(shown, None, None, value, expected)])
        )
        check.staging.mkdir(parents=True)
        _write_meta(check)
        return check
    staging = check.staging
    staging.mkdir(parents=True)
    try:
        check.staged_file.write_bytes(content)
        _link_others(data_dir, staging, {table})
        problems, rows = _validate_staged(staging, table, check.staged_file.name, shown, max_mb)
        check = replace(check, rows=rows, problems=problems)
        if not check.ok:
            # Keep only the verdict (to show the report again), never the refused data.
            for path in staging.iterdir():
                path.unlink()
        _write_meta(check)
        return check
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _refusal(shown: str, suffix: str | None, size: int, max_mb: float) -> tuple[str, str] | None:
    """Why an upload is refused unread (not a table file, too large): what was expected and found."""
    if suffix is None:
        return "a .csv or .parquet file", Path(shown).suffix or "no extension"
    if size / 2**20 > max_mb:
        return (
            f"a file of at most {max_mb:g} MB (set ATELIER_MAX_UPLOAD_MB to allow more)",
            f"{size / 2**20:.3g} MB",
        )
    return None


def _validate_staged(
    staging: Path, table: str, staged_name: str, shown: str, max_mb: float
) -> tuple[pd.DataFrame, int | None]:
    """Load the staged dataset: its problems (the staged file cited as ``shown``), and
    the rows of ``table`` when it is valid."""
    try:
        dataset = load_dataset(staging, max_file_mb=max_mb)
    except DataValidationError as err:
        found = [
            Problem(
                shown if p.file == staged_name else p.file, p.row, p.column, p.value, p.expected
            )
            for p in err.problems
        ]
        return problems_frame(found), None
    return problems_frame([]), len(getattr(dataset, table))


def load_check(data_dir: str | Path, check_id: str) -> UploadCheck | None:
    """Read back a check by its id; ``None`` when it is gone, applied or unknown."""
    if not isinstance(check_id, str) or not _ID.fullmatch(check_id):
        return None
    data_dir = Path(data_dir)
    staging = data_dir / STAGING_DIR / check_id
    try:
        meta = json.loads((staging / _CHECK_FILE).read_text(encoding="utf-8"))
        problems = pd.read_json(staging / _PROBLEMS_FILE, orient="records", dtype=False)
    except (OSError, ValueError):
        return None
    if problems.empty:
        problems = problems_frame([])
    else:
        problems = problems.reindex(columns=list(PROBLEM_COLUMNS))
        problems["row"] = pd.to_numeric(problems["row"], errors="coerce").astype("Int64")
    return UploadCheck(
        check_id=check_id,
        data_dir=data_dir,
        table=str(meta["table"]),
        filename=str(meta["filename"]),
        suffix=str(meta["suffix"]),
        size_bytes=int(meta["size_bytes"]),
        sha256=str(meta["sha256"]),
        rows=meta["rows"],
        problems=problems,
        stamp=tuple((str(a), int(b), int(c)) for a, b, c in meta["stamp"]),
    )


def discard(check: UploadCheck) -> None:
    """Forget a staged upload (nothing in the data folder changes)."""
    shutil.rmtree(check.staging, ignore_errors=True)


def clean_staging(data_dir: str | Path, older_than_hours: float = 24.0) -> int:
    """Remove checks older than ``older_than_hours`` (abandoned uploads); returns how many."""
    root = Path(data_dir) / STAGING_DIR
    if not root.is_dir():
        return 0
    cutoff = time.time() - older_than_hours * 3600
    removed = 0
    for folder in root.iterdir():
        if folder.is_dir() and _ID.fullmatch(folder.name) and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def apply_upload(check: UploadCheck) -> None:
    """Put a valid staged upload in place of the table's file, atomically.

    The staged file replaces ``<table><suffix>`` with :func:`os.replace`; then
    the table's file in any other format is removed. Each step leaves a folder
    that loads as either the old dataset or the new one.

    Parameters
    ----------
    check : UploadCheck
        From :func:`check_upload` (or :func:`load_check`).

    Raises
    ------
    ValueError
        When the check found problems (nothing is changed).
    ConflictError
        When the data folder changed since the check (another upload was
        applied): check the file again. Nothing is changed.
    FileNotFoundError
        When the staged file is gone (already applied or discarded).
    """
    if not check.ok:
        raise ValueError(
            f"{check.filename} has {len(check.problems)} problem(s) and was not applied; "
            "fix them and upload it again"
        )
    if not check.staged_file.is_file():
        raise FileNotFoundError(
            f"the checked upload of {check.filename} is no longer staged; upload it again"
        )
    if folder_stamp(check.data_dir) != check.stamp:
        discard(check)
        raise ConflictError(
            "the data folder changed since this file was checked (another import?); "
            "upload and check the file again"
        )
    _put_in_place(check.staged_file, check.target, check.table)
    discard(check)


def _put_in_place(staged: Path, target: Path, table: str) -> None:
    """``staged`` over ``target`` (atomic), then the table's file in any other format removed."""
    os.replace(staged, target)
    for suffix in SUFFIXES:
        other = target.parent / f"{table}{suffix}"
        if other != target and other.exists():
            other.unlink()


# ------------------------------------------------------- rewriting tables in place
_PREVIOUS = "previous"


@dataclass(frozen=True)
class StagedTables:
    """Tables rewritten into a staging folder and validated with the rest of the data folder.

    Made by :func:`stage_tables`; put in place by :func:`apply_tables`. The
    staging folder also keeps the files they replace (``previous/``) until
    :func:`discard_tables`, so a caller whose next step fails can
    :func:`restore_tables`.

    Attributes
    ----------
    data_dir : Path
    staging : Path
    files : dict of str to Path
        Table -> staged file, in the order they are put in place.
    dataset : Dataset
        The whole dataset as it will be once applied (validated).
    stamp : tuple
        The data folder's files when staged (see :func:`folder_stamp`).
    """

    data_dir: Path
    staging: Path
    files: dict[str, Path]
    dataset: Dataset
    stamp: Stamp


def stage_tables(
    data_dir: str | Path, frames: Mapping[str, pd.DataFrame], max_mb: float
) -> StagedTables:
    """Write new contents for some tables beside the others, and validate the whole dataset.

    Each frame is written in its table's current format (CSV as text, or
    Parquet) under the same file name. Used to change tables the app itself
    rewrites (an erasure), where :func:`check_upload` serves files users bring.

    Parameters
    ----------
    data_dir : path
    frames : mapping of str to DataFrame
        Table -> its new rows, as read by :func:`core.data.loading.read_table`;
        applied in this order (put first what keeps the folder valid on its own,
        e.g. events before the clients they reference).
    max_mb : float
        Largest table file read when validating.

    Returns
    -------
    StagedTables

    Raises
    ------
    ValueError
        For an unknown table, or one stored as a partitioned folder (rewrite
        it with :mod:`core.data.partitioned`).
    DataValidationError
        When the dataset with these tables would be invalid; nothing is kept.
    """
    data_dir = Path(data_dir)
    current = find_table_files(data_dir)
    for table in frames:
        if table not in TABLE_ORDER or table not in current:
            raise ValueError(f"{data_dir} has no {table!r} table file to rewrite")
        if current[table].is_dir():
            raise ValueError(
                f"{current[table]} is a partitioned folder; only a .csv or .parquet table "
                "file can be rewritten here"
            )
    stamp = folder_stamp(data_dir)
    staging = data_dir / STAGING_DIR / uuid.uuid4().hex
    staging.mkdir(parents=True)
    try:
        files: dict[str, Path] = {}
        for table, frame in frames.items():
            files[table] = staging / current[table].name
            if files[table].suffix == ".csv":
                frame.to_csv(files[table], index=False)
            else:
                frame.to_parquet(files[table], index=False)
        _link_others(data_dir, staging, set(frames))
        dataset = load_dataset(staging, max_file_mb=max_mb)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return StagedTables(data_dir, staging, files, dataset, stamp)


def apply_tables(staged: StagedTables) -> None:
    """Put staged tables in place, all or none; the files replaced are kept for a restore.

    Each file moves in with :func:`os.replace`, in order; if one fails, those
    already moved are put back before the error is raised.

    Raises
    ------
    ConflictError
        When the data folder changed since :func:`stage_tables` (nothing changes).
    OSError
        When a file cannot be moved (nothing changes).
    """
    if folder_stamp(staged.data_dir) != staged.stamp:
        discard_tables(staged)
        raise ConflictError(
            "the data folder changed while this change was prepared (an import?); "
            "nothing was changed: try again"
        )
    (staged.staging / _PREVIOUS).mkdir(exist_ok=True)
    done: list[str] = []
    try:
        for table, path in staged.files.items():
            target = staged.data_dir / path.name
            os.link(target, staged.staging / _PREVIOUS / path.name)
            done.append(table)
            _put_in_place(path, target, table)
    except BaseException:
        restore_tables(staged, done)
        raise


def restore_tables(staged: StagedTables, tables: Sequence[str] | None = None) -> None:
    """Put back the files that :func:`apply_tables` replaced (all, or only ``tables``)."""
    for table in staged.files if tables is None else tables:
        name = staged.files[table].name
        previous = staged.staging / _PREVIOUS / name
        if previous.exists():
            os.replace(previous, staged.data_dir / name)


def discard_tables(staged: StagedTables) -> None:
    """Remove the staging folder: staged files and the replaced ones kept for a restore."""
    shutil.rmtree(staged.staging, ignore_errors=True)
