"""Erase a client everywhere Atelier keeps them, and export what is kept about one.

One erasure (:func:`erase_client`, used by the Data & users page and by
``python -m core erase``) removes, all or nothing:

1. their profile (``clients``) and events (``events``) from the data folder's
   tables: the tables are rewritten beside the others and the whole dataset
   validated first, then put in place atomically
   (:func:`core.data.admin.stage_tables`, :func:`~core.data.admin.apply_tables`);
2. their row from the saved model (:func:`core.engine.models.persistence.without_clients`),
   which is saved for the new data, so the running app loads it at its next run
   (its caches are keyed by the data files) and no suggestion is computed from
   their history; a saved model that did not match the data (and would have been
   refitted anyway) is removed instead. The next fit leaves them out, since the
   data does;
3. their lists, removals, shares and consent changes from the database
   (:meth:`core.store.clients.ClientDataService.erase_client`), with one audit
   entry holding the client id and counts only.

A partitioned dataset (``events/`` and ``clients/`` in client buckets, a
house too large to read whole) loses the client the same way, without being
read whole: their bucket of each table is written again without them and
both folders are swapped in (:mod:`core.data.partitioned.erase`). Its
product-side model holds no client's row and stays; a whole-data model saved
beside it is removed (the app refits it).

If a step fails, the steps before it are undone and the error raised: the
tables, the model and the database are as they were. Trends and outcomes are
computed from the data, so they no longer count the client; what the model
learnt across all clients (factors, neighbours, demand) keeps their share until
the next fit. The generator's planted truth (``truth/client_segments``), when
present, loses their row too.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from core.app.model_folder import swap_folder
from core.app.retrain import no_retrain
from core.data.admin import apply_tables, discard_tables, restore_tables, stage_tables
from core.data.buckets import is_partitioned
from core.data.dataset import Dataset, load_dataset
from core.data.loading import find_table_files, read_table
from core.data.partitioned.erase import (
    apply_removal,
    client_counts,
    discard_removal,
    restore_removal,
    stage_without_client,
)
from core.exceptions import DataValidationError, ModelMismatchError, Problem, UnknownIdError
from core.settings import Settings
from core.store import Store

if TYPE_CHECKING:
    from core.engine.models.base import Recommender

#: The data tables that hold a client, in the order they are rewritten (events
#: first, so the folder stays valid between the two).
CLIENT_TABLES: tuple[str, ...] = ("events", "clients")
ERASE = "erase a client's data"


@dataclass(frozen=True)
class ErasureResult:
    """What one erasure removed (counts only: nothing about the client but their id).

    Attributes
    ----------
    client_id : str
    data_rows : dict of str to int
        Rows removed per data table (``events``, ``clients``).
    database_rows : dict of str to int
        Rows deleted per database table.
    model : str
        ``"rewritten"`` (their row dropped from the saved model), ``"removed"``
        (a saved model that did not match the data, or one fitted on a
        partitioned house read whole, was deleted; the app refits) or
        ``"absent"`` (no saved model).
    """

    client_id: str
    data_rows: dict[str, int]
    database_rows: dict[str, int]
    model: str

    def audit_details(self) -> dict[str, Any]:
        return {"data_rows": dict(self.data_rows), "model": self.model}


def _client_mask(frame: pd.DataFrame, client_id: str) -> pd.Series:
    return frame["client_id"].astype("string").str.strip().eq(client_id).fillna(False)


def _read(path: Path, max_mb: float) -> pd.DataFrame:
    frame, problems = read_table(path, max_mb)
    if frame is None:
        raise DataValidationError(problems)
    if "client_id" not in frame.columns:
        raise DataValidationError(
            [Problem(path.name, None, "client_id", None, "a client_id column")]
        )
    return frame


def client_rows(settings: Settings, client_id: str) -> dict[str, int]:
    """How many rows of each data table hold ``client_id`` (what an erasure would remove).

    Raises
    ------
    UnknownIdError
        When the ``clients`` table has no such client.
    """
    if _partitioned(settings):
        return client_counts(settings.data_dir, str(client_id).strip())
    return _split(settings, client_id)[1]


def _partitioned(settings: Settings) -> bool:
    return is_partitioned(Path(settings.data_dir) / "events")


def _split(settings: Settings, client_id: str) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """The client tables without ``client_id``, and how many rows each loses."""
    files = find_table_files(Path(settings.data_dir))
    kept, counts = {}, {}
    for table in CLIENT_TABLES:
        if table not in files:
            raise DataValidationError(
                [Problem(f"{table}.csv", None, None, None, f"a {table} table")]
            )
        frame = _read(files[table], settings.max_upload_mb)
        mask = _client_mask(frame, client_id)
        kept[table], counts[table] = frame.loc[~mask], int(mask.sum())
    if not counts["clients"]:
        raise UnknownIdError(
            f"unknown client id {client_id!r}: the clients table in {settings.data_dir} "
            "has no such client (already erased?)"
        )
    return kept, counts


# ------------------------------------------------------------------ the model
def _model_without(
    settings: Settings, before: Dataset, after: Dataset
) -> tuple[Recommender | None, str]:
    """The saved model less the erased client, and what happens to the saved one."""
    from core.engine.models.persistence import (
        META_FILE,
        ModelFileError,
        load_model,
        without_clients,
    )

    model_dir = settings.resolved_model_dir
    if not (model_dir / META_FILE).is_file():
        return None, "absent" if not model_dir.exists() else "removed"
    try:
        model = load_model(model_dir, before)
    except (ModelMismatchError, ModelFileError):
        return None, "removed"  # not usable for this data anyway: the app refits
    return without_clients(model, after), "rewritten"


def _replace_model(model_dir: Path, model: Any, fate: str) -> Path | None:
    """Put the new model (or none) in place; the old folder is kept aside and returned."""
    from core.engine.models.persistence import ARRAYS_FILE, META_FILE, save_model

    if fate == "absent":
        return None
    aside = model_dir.parent / f".{model_dir.name}.erased-{uuid.uuid4().hex[:8]}"
    if fate == "removed":
        os.replace(model_dir, aside)
        return aside
    tmp = model_dir.parent / f".{model_dir.name}.erase-{uuid.uuid4().hex[:8]}"
    try:
        save_model(model, tmp)
        for item in model_dir.iterdir():  # the evaluation report and the retrain counter
            if item.name not in (ARRAYS_FILE, META_FILE):
                copy = shutil.copytree if item.is_dir() else shutil.copy2
                copy(item, tmp / item.name)
        return swap_folder(tmp, model_dir, keep_old=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _put_back_model(model_dir: Path, old: Path | None) -> None:
    if old is None:
        return
    if model_dir.exists():
        swap_folder(old, model_dir)
    else:
        os.replace(old, model_dir)


# ------------------------------------------------------------------ the erasure
def erase_client(
    settings: Settings, store: Store, client_id: str, *, actor_id: str
) -> ErasureResult:
    """Erase ``client_id`` from the data tables, the saved model and the database.

    All or nothing (see the module's description); one audit entry records it.

    Parameters
    ----------
    settings : Settings
        Where the data, the model and the database are.
    store : Store
        The database's services.
    client_id : str
    actor_id : str
        An admin's user id, or :data:`core.store.SYSTEM_ACTOR` (the command line).

    Returns
    -------
    ErasureResult

    Raises
    ------
    PermissionDenied
        ``actor_id`` is not an admin.
    UnknownIdError
        The clients table has no such client.
    DataValidationError
        The data folder, or the data without the client, is invalid.
    RetrainBusyError
        A retrain is running in this process.
    ConflictError
        The data folder changed meanwhile.

    Longer than 60 lines for this documentation: the body is one all-or-nothing sequence
    (tables, model, database, each put back if a later step fails), clearer in one place
    than split.
    """
    client_id = str(client_id).strip()
    store.clients.require_privacy_role(actor_id, ERASE)
    with no_retrain():
        tables = _stage(settings, client_id)
        model_dir = settings.resolved_model_dir
        old: Path | None = None
        try:
            model, fate = tables.model()
            result = ErasureResult(client_id, tables.counts, {}, fate)
            tables.apply()
            try:
                old = _replace_model(model_dir, model, fate)
                try:
                    database = store.clients.erase_client(
                        client_id, actor_id=actor_id, details=result.audit_details()
                    )
                except BaseException:
                    _put_back_model(model_dir, old)
                    raise
            except BaseException:
                tables.restore()
                raise
        finally:
            tables.discard()
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    _erase_from_truth(Path(settings.data_dir), client_id)
    return ErasureResult(client_id, tables.counts, database, fate)


@dataclass(frozen=True)
class _StagedErasure:
    """The data tables without the client, staged; how to put them in place, back, or away."""

    counts: dict[str, int]
    model: Callable[[], tuple[Recommender | None, str]]
    apply: Callable[[], None]
    restore: Callable[[], None]
    discard: Callable[[], None]


def _stage(settings: Settings, client_id: str) -> _StagedErasure:
    """Stage the erasure of ``client_id`` from the data folder, whichever its layout."""
    if _partitioned(settings):
        removal = stage_without_client(settings.data_dir, client_id)
        # A whole-data model beside a partitioned house holds client rows: refitted, not
        # rewritten (that would read the house whole). The product-side one holds none.
        fate = "removed" if settings.resolved_model_dir.exists() else "absent"
        return _StagedErasure(
            removal.removed,
            lambda: (None, fate),
            lambda: apply_removal(removal),
            lambda: restore_removal(removal),
            lambda: discard_removal(removal),
        )
    kept, counts = _split(settings, client_id)
    before = load_dataset(settings.data_dir, max_file_mb=settings.max_upload_mb)
    staged = stage_tables(settings.data_dir, kept, settings.max_upload_mb)
    return _StagedErasure(
        counts,
        lambda: _model_without(settings, before, staged.dataset),
        lambda: apply_tables(staged),
        lambda: restore_tables(staged),
        lambda: discard_tables(staged),
    )


def _erase_from_truth(data_dir: Path, client_id: str) -> None:
    """Drop the client's row from the generator's planted truth, if there is one."""
    for suffix in (".csv", ".parquet"):
        path = data_dir / "truth" / f"client_segments{suffix}"
        if not path.is_file():
            continue
        frame = (
            pd.read_csv(path, dtype=str, keep_default_na=False)
            if suffix == ".csv"
            else pd.read_parquet(path)
        )
        mask = _client_mask(frame, client_id)
        if not mask.any():
            continue
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
        if suffix == ".csv":
            frame.loc[~mask].to_csv(tmp, index=False)
        else:
            frame.loc[~mask].to_parquet(tmp, index=False)
        os.replace(tmp, path)


# ------------------------------------------------------------------ the export
def export_client(
    dataset: Dataset,
    store: Store,
    client_id: str,
    *,
    actor_id: str,
    events: Callable[[str], pd.DataFrame] | None = None,
) -> dict[str, Any]:
    """Everything Atelier keeps about a client: profile, events and what the database holds.

    JSON-ready (datetimes as ISO text); audited as an export. After an
    erasure, ``profile`` and ``events`` are empty, as are the database's lists,
    removals, shares and consent changes. ``events`` reads a client's events
    when ``dataset`` does not hold them (a house served per client:
    :meth:`core.app.serving.Served.events`).

    Raises
    ------
    PermissionDenied
        ``actor_id`` is not an admin.
    """
    client_id = str(client_id).strip()
    stored = store.clients.export_client(client_id, actor_id=actor_id)
    tables = {
        "profile": dataset.clients.loc[_client_mask(dataset.clients, client_id)],
        "events": (
            dataset.events.loc[_client_mask(dataset.events, client_id)]
            if events is None
            else events(client_id)
        ),
    }
    data = {
        name: frame.astype(object).where(frame.notna(), None).map(_plain).to_dict("records")
        for name, frame in tables.items()
    }
    return {**stored, **data}


def _plain(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "tolist"):
        return value.tolist()
    return value
