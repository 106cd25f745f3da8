"""The only Streamlit cache wrappers, and where pages get services: no page builds its own.

Settings, data, model, database, store services, indexes, the curation
service, the trend analyzer and the retrain runner all come from here.

Every cache is bounded (``max_entries``) and keyed by what makes its value
change: the dataset by the data folder and its files' modification times and
sizes, the model and the search index by ``dataset.fingerprint``, the database
by its URL. Cached objects are shared between sessions and must not be mutated.

Arguments whose names start with ``_`` are not hashed by Streamlit; each such
function takes a hashable key (fingerprint, path, URL) next to them.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
import streamlit as st

from core.app import bootstrap
from core.app.curation import CurationService
from core.app.health import rule_drops
from core.app.retrain import RetrainRunner, model_generation
from core.app.search import ClientIndex
from core.app.serving import Served, open_served
from core.app.trend_view import TrendView, build_trend_view
from core.app.tryon import TryOnService
from core.data.dataset import Dataset
from core.data.loading import find_table_files
from core.engine.trends import TrendAnalyzer
from core.exceptions import AtelierError, DataValidationError
from core.settings import Settings
from core.settings import get_settings as _read_settings
from core.store import Store

Progress = Callable[[str, float], None]


def get_settings() -> Settings:
    """The process settings, read from ``ATELIER_*`` variables (cheap; not cached)."""
    return _read_settings()


def data_stamp(data_dir: Path) -> tuple[tuple[str, int, int], ...]:
    """(file name, mtime in ns, size) of every table file: a new import gives a new key."""
    stamp = []
    for name, path in sorted(find_table_files(Path(data_dir)).items()):
        info = path.stat()
        stamp.append((name, info.st_mtime_ns, info.st_size))
    return tuple(stamp)


# ------------------------------------------------------------------------ data and model
# One entry: when the files change, the dataset they replace is let go once the
# new one has loaded (the last good one stays in _last_good() for a fallback).
@st.cache_resource(max_entries=1, show_spinner=False)
def _load_dataset(data_dir: str, stamp: tuple[Any, ...], max_upload_mb: float) -> Dataset:
    del stamp  # only part of the cache key
    settings = Settings(data_dir=Path(data_dir), max_upload_mb=max_upload_mb)
    return bootstrap.load_data(settings)


@st.cache_resource(
    max_entries=1, show_spinner="Reading the house's products, clients and model again…"
)
def _served(data_dir: str, stamp: tuple[Any, ...], model_dir: str, generation: str) -> Served:
    del stamp, generation  # only part of the cache key
    return open_served(data_dir, model_dir)


@st.cache_resource(max_entries=1, show_spinner=False)
def _served_registry() -> dict[str, Served]:
    # Dataset fingerprint -> what serves it per client (settings.serve == "per-client").
    return {}


def get_served(settings: Settings) -> Served:
    """Products, clients and the product-side model of a partitioned data folder, no event.

    For ``ATELIER_SERVE=per-client``: each client's events are read per
    request (:func:`client_events`, :func:`get_curation`). A model refitted
    on Dask into the folder (a new generation) is loaded on the next run.
    """
    data_dir = Path(settings.data_dir)
    model_dir = settings.product_side_model_dir
    generation = model_generation(model_dir)
    served = _served(str(data_dir), data_stamp(data_dir), str(model_dir), generation)
    registry = _served_registry()
    if registry.get(served.dataset.fingerprint) is not served:
        # The folder's earlier version (before an erasure or a refit) is let go:
        # kept here, every change would keep another house in memory. (Two
        # folders with the same data: the one read last serves the fingerprint.)
        for key in [k for k, v in registry.items() if v.reader.path == served.reader.path]:
            del registry[key]
        registry[served.dataset.fingerprint] = served
    return served


def served_of(dataset: Dataset) -> Served | None:
    """What serves ``dataset`` per client (``None``: it holds its events)."""
    return _served_registry().get(dataset.fingerprint)


def served_events(dataset: Dataset) -> Callable[[str], pd.DataFrame] | None:
    """Where a client's events are read per request, when ``dataset`` is served without them."""
    served = served_of(dataset)
    return None if served is None else served.events


def served_clients_events(dataset: Dataset) -> Callable[[Sequence[str]], pd.DataFrame] | None:
    """Where many clients' events are read at once, when ``dataset`` is served without them."""
    served = served_of(dataset)
    return None if served is None else served.events_of_clients


def get_dataset(settings: Settings) -> Dataset:
    """The validated dataset in ``settings.data_dir`` (reloaded when a file changes).

    With ``settings.serve == "per-client"``, the dataset of :func:`get_served`
    (products and clients, no event).

    When the files change into something that fails validation, the last good
    dataset of this folder stays in service and a :class:`Fault` says so; the
    failing files are validated again only when they change again. With no good
    dataset yet (a first start on bad files) the error is raised for the caller.
    """
    if settings.serve == "per-client":
        return get_served(settings).dataset
    data_dir = Path(settings.data_dir)
    key, stamp = str(data_dir), data_stamp(data_dir)
    last: Dataset | None = _last_good()["data"].get(key)
    fault = _faults().get(key)
    if last is not None and fault is not None and fault.stamp == stamp:
        return last  # the same invalid files as before: do not validate them on every run
    try:
        dataset = _load_dataset(key, stamp, settings.max_upload_mb)
    except AtelierError as err:
        if last is None:
            raise
        report = err.report() if isinstance(err, DataValidationError) else str(err)
        _faults()[key] = Fault(
            "The data files changed and the new ones do not pass validation, so Atelier "
            "keeps serving the data it loaded before; nothing was changed. "
            "An admin can check the files on the Data page.",
            report,
            stamp=stamp,
        )
        return last
    _last_good()["data"][key] = dataset
    _faults().pop(key, None)
    return dataset


# ------------------------------------------------------------------------ faults
@dataclass
class Fault:
    """A damaged file Atelier works around, for the banner every page shows.

    ``fraction`` is the progress of a background refit while it runs (``None``
    otherwise); ``stamp`` identifies the invalid data files.
    """

    message: str
    detail: str
    fraction: float | None = None
    step: str = ""
    stamp: tuple[Any, ...] = ()


@st.cache_resource(max_entries=1, show_spinner=False)
def _faults() -> dict[str, Fault]:
    # Folder (data or model) -> what is wrong with it; shared by every session.
    return {}


@st.cache_resource(max_entries=1, show_spinner=False)
def _last_good() -> dict[str, dict[Any, Any]]:
    # The last dataset per data folder and (fingerprint, model) per model folder that
    # loaded fine: what stays in service when the files on disk go bad. One each:
    # a house's earlier data and model are let go when they are replaced.
    return {"data": {}, "model": {}}


def _last_good_model(fingerprint: str, model_dir: str) -> Any:
    """The model last served from ``model_dir``, if it was fitted on this data."""
    kept = _last_good()["model"].get(model_dir)
    return kept[1] if kept is not None and kept[0] == fingerprint else None


def faults(settings: Settings) -> list[Fault]:
    """What is wrong with the data or model folder of ``settings`` right now (banners)."""
    folders = (str(Path(settings.data_dir)), str(settings.resolved_model_dir))
    return [f for key, f in list(_faults().items()) if key in folders]


@st.cache_resource(max_entries=3, show_spinner=False)
def _model_slot(fingerprint: str, model_dir: str, generation: str) -> dict[str, Any]:
    # A holder filled outside the cached call, so that fitting can draw its
    # progress bar (Streamlit cannot replay elements drawn inside a cached call).
    slot: dict[str, Any] = {"lock": threading.Lock()}
    _slots().setdefault(model_dir, {})[(fingerprint, generation)] = slot
    return slot


@st.cache_resource(max_entries=1, show_spinner=False)
def _slots() -> dict[str, dict[tuple[str, str], dict[str, Any]]]:
    # Model folder -> (fingerprint, generation) -> the slot made for it (see _let_go_but).
    return {}


def get_model(dataset: Dataset, settings: Settings, progress: Progress | None = None) -> Any:
    """The fitted hybrid model for ``dataset`` (loaded or fitted once per process).

    Keyed by the data fingerprint and the saved model's generation
    (:func:`core.app.retrain.model_generation`), so a retrained model swapped in on
    disk is loaded on the next run. Concurrent first sessions wait for one fit
    instead of fitting twice. A damaged or missing saved model is never fatal
    (:func:`_load_or_recover`). With ``settings.serve == "per-client"``, the
    product-side model of :func:`get_served`.
    """
    if settings.serve == "per-client":
        return get_served(settings).model
    model_dir = settings.resolved_model_dir
    generation = model_generation(model_dir)
    key = str(model_dir)
    slot = _model_slot(dataset.fingerprint, key, generation)
    model = slot.get("model")  # (read once: another run may let it go meanwhile)
    if model is None:
        with slot["lock"]:
            model = slot.get("model")
            if model is None:
                last = _last_good_model(dataset.fingerprint, key)
                model = _load_or_recover(dataset, settings, generation, progress)
                slot["model"] = model
                saved = model_generation(model_dir)
                if saved != generation and model is not last:
                    # We just fitted and saved it: file it under its key (never the
                    # old model kept in service while a background refit saves).
                    _model_slot(dataset.fingerprint, key, saved).setdefault("model", model)
    _let_go_but(key, model)
    _last_good()["model"][key] = (dataset.fingerprint, model)
    return model


def _let_go_but(model_dir: str, model: Any) -> None:
    """Take every model but ``model`` out of the slots of ``model_dir``.

    A slot stays in ``_model_slot``'s cache until evicted: the model a change of
    the data or a retrain replaced (and the dataset it holds) would stay in
    memory with it. Taken out now, it is loaded again should its key come back.
    """
    slots = _slots().setdefault(model_dir, {})
    for key, slot in list(slots.items()):
        if slot.get("model") is not model:
            slot.pop("model", None)
            if not slot["lock"].locked():  # (one being filled is left to its thread)
                del slots[key]


class _Damaged(Exception):
    """The saved model could not be read, and a good one is already in memory."""


def _load_or_recover(
    dataset: Dataset, settings: Settings, generation: str, progress: Progress | None
) -> Any:
    """Load the saved model; if it is damaged or gone, say so and never stop the app.

    With a good model of this data already in memory, that model stays in service
    while a new one is fitted in the background; without one (a fresh process),
    the model is refitted now, under the start-up progress bar.
    """
    model_dir = settings.resolved_model_dir
    key = str(model_dir)
    last = _last_good_model(dataset.fingerprint, key)
    if last is not None and generation == "none":
        _refit_in_background(dataset, settings, f"no saved model in {model_dir}")
        return last

    reasons: list[str] = []

    def damaged(err: AtelierError) -> None:
        reasons.append(str(err).split("; refit")[0])
        if last is not None:
            raise _Damaged(reasons[0])

    try:
        model = bootstrap.load_or_fit_model(dataset, settings, progress, on_damaged=damaged)
    except _Damaged as err:
        _refit_in_background(dataset, settings, str(err))
        return last
    fault = _faults().get(key)
    if reasons:
        _faults()[key] = Fault(
            "The saved recommendation model could not be read, so Atelier refitted it "
            f"at start-up ({datetime.now():%H:%M}); suggestions use the new model.",
            reasons[0],
        )
    elif last is not None and fault is not None and fault.fraction is None:
        _faults().pop(key, None)  # a good model loaded again after a refit: all is well
    return model


def _refit_in_background(dataset: Dataset, settings: Settings, reason: str) -> None:
    """Fit and save a new model in a thread (once at a time); its progress is in the fault."""
    key = str(settings.resolved_model_dir)
    running = _faults().get(key)
    if running is not None and running.fraction is not None:
        return
    fault = Fault(
        "The saved recommendation model could not be read, so Atelier keeps serving the "
        "model it loaded before and is refitting it in the background.",
        reason,
        fraction=0.0,
        step="Starting",
    )
    _faults()[key] = fault

    def report(message: str, fraction: float) -> None:
        fault.step, fault.fraction = message, float(fraction)

    def run() -> None:
        try:
            bootstrap.fit_and_save_model(dataset, settings, report)
        except Exception as err:  # noqa: BLE001 - shown in the banner, the old model serves on
            fault.message = (
                f"The saved recommendation model could not be read and refitting it failed "
                f"({type(err).__name__}: {err}); Atelier keeps serving the model it loaded "
                "before. An admin can retrain it on the Model health page."
            )
        fault.fraction = None

    threading.Thread(target=run, name="atelier-model-refit", daemon=True).start()


# One entry: a house's earlier index (0.17 GB at L) is let go when its data change.
@st.cache_resource(max_entries=1, show_spinner=False)
def _client_index(fingerprint: str, _dataset: Dataset) -> ClientIndex:
    del fingerprint
    served = served_of(_dataset)  # without the event log: each client's latest event, read now
    latest = served.latest_events() if served is not None else None
    return ClientIndex(_dataset.clients, _dataset.events, latest=latest)


def get_client_index(dataset: Dataset) -> ClientIndex:
    """The search index over ``dataset.clients`` (built once per dataset)."""
    return _client_index(dataset.fingerprint, dataset)


# One entry each (as every cache of a house's data below): a replaced house is let go.
@st.cache_resource(max_entries=1, show_spinner=False)
def _events_by_client(fingerprint: str, _dataset: Dataset) -> dict[str, Any]:
    del fingerprint
    groups = _dataset.events.groupby("client_id", sort=False).indices
    return {str(client): rows for client, rows in groups.items()}


def client_events(dataset: Dataset, client_id: str) -> pd.DataFrame:
    """One client's events, newest first (positional lookup, no scan of the table).

    For a dataset served without events, read from the partitioned events now.
    """
    read = served_events(dataset)
    if read is not None:
        return read(client_id).sort_values("timestamp", ascending=False)
    rows = _events_by_client(dataset.fingerprint, dataset).get(client_id)
    if rows is None:
        return dataset.events.iloc[0:0]
    events: pd.DataFrame = dataset.events.iloc[rows]
    return events.sort_values("timestamp", ascending=False)


@st.cache_resource(max_entries=1, show_spinner=False)
def _lookup_tables(fingerprint: str, _dataset: Dataset) -> dict[str, dict[str, str]]:
    del fingerprint
    stores = _dataset.stores
    associates = _dataset.associates
    return {
        "store_names": dict(zip(stores["store_id"], stores["name"], strict=True)),
        "associate_names": dict(zip(associates["user_id"], associates["name"], strict=True)),
    }


def store_names(dataset: Dataset) -> dict[str, str]:
    """store_id -> store name."""
    return _lookup_tables(dataset.fingerprint, dataset)["store_names"]


def associate_names(dataset: Dataset) -> dict[str, str]:
    """user_id -> associate name."""
    return _lookup_tables(dataset.fingerprint, dataset)["associate_names"]


# ------------------------------------------------------------------------ database
@st.cache_resource(max_entries=4, show_spinner=False)
def _store(
    url: str,
    max_failed_logins: int,
    lockout_minutes: float,
    cooldown_days: int,
    max_contacts: int,
) -> Store:
    settings = Settings(
        database_url=url,
        max_failed_logins=max_failed_logins,
        lockout_minutes=lockout_minutes,
        contact_cooldown_days=cooldown_days,
        max_contacts_per_cooldown=max_contacts,
    )
    return Store.open(settings, url=url)


def get_services(settings: Settings) -> Store:
    """The store services (users, lists, shares, consent, clients, audit) for the settings' DB.

    Engine, schema upgrade and services are built once per process and per
    database URL and policy settings.
    """
    return _store(
        settings.resolved_database_url,
        settings.max_failed_logins,
        settings.lockout_minutes,
        settings.contact_cooldown_days,
        settings.max_contacts_per_cooldown,
    )


# ------------------------------------------------------------------------ start-up
@st.cache_resource(max_entries=4, show_spinner=False)
def _ready_registry() -> set[tuple[str, str]]:
    # Which (data dir, DB URL) pairs finished start-up in this process; lets
    # later sessions skip the progress box. A set of keys, never user data.
    return set()


def is_ready(settings: Settings) -> bool:
    """Whether start-up already completed for these settings in this process."""
    key = (str(settings.data_dir), settings.resolved_database_url)
    return key in _ready_registry() and bootstrap.data_present(Path(settings.data_dir))


@dataclass(frozen=True)
class Bundle:
    """What most pages need, all from the caches above."""

    settings: Settings
    dataset: Dataset
    model: Any
    services: Store


def start(settings: Settings, progress: Progress | None = None) -> tuple[Bundle, list[Any]]:
    """Ensure data, model, database and demo users; return them and any new demo credentials.

    Raises whatever the core raises (``DataValidationError`` for bad data,
    ``ModelMismatchError``, ...): the caller shows it.
    """
    report: Progress = progress or (lambda message, fraction: None)

    def part(lo: float, hi: float) -> Progress:
        return lambda message, fraction: report(message, lo + (hi - lo) * float(fraction))

    bootstrap.ensure_data(settings, part(0.0, 0.35))
    report("Loading the data", 0.35)
    dataset = get_dataset(settings)
    report("Preparing the recommendation model", 0.45)
    model = get_model(dataset, settings, part(0.45, 0.9))
    report("Opening the database", 0.9)
    services = get_services(settings)
    creds = bootstrap.ensure_demo_users(settings, dataset, services.sessions)
    get_client_index(dataset)
    report("Ready", 1.0)
    _ready_registry().add((str(settings.data_dir), settings.resolved_database_url))
    settle_heap()
    return Bundle(settings, dataset, model, services), creds


_heap_settled = threading.Event()
_heap_lock = threading.Lock()


def settle_heap() -> bool:
    """Move everything alive now out of the garbage collector's sight, once per process.

    Called when start-up has built the shared resources (data frames, model,
    search index, database engine): they live as long as the server, yet every
    full collection would walk all their objects again, a pause that grows with
    the data and stalls every session's run at once. ``gc.freeze()`` puts the
    objects alive now in a permanent generation the collector skips; they are
    still freed by reference counting when dropped (e.g. a replaced model), only
    cycles among them would stay. A collection first, so no garbage is frozen.
    With ``[runner] postScriptGC = false`` (.streamlit/config.toml) Streamlit no
    longer forces a full collection after every script run either.

    Returns
    -------
    bool
        ``True`` the first time (the heap was frozen), ``False`` afterwards.
    """
    with _heap_lock:
        if _heap_settled.is_set():
            return False
        gc.collect()
        gc.freeze()
        _heap_settled.set()
        return True


def get_bundle() -> Bundle:
    """Settings, dataset, model and services (after :func:`start` ran in this process)."""
    settings = get_settings()
    dataset = get_dataset(settings)
    return Bundle(settings, dataset, get_model(dataset, settings), get_services(settings))


# ------------------------------------------------------------------ curation
class Loaded(Protocol):
    """What :func:`get_curation` needs: a :class:`Bundle` or a Client page context."""

    @property
    def settings(self) -> Settings: ...

    @property
    def dataset(self) -> Dataset: ...

    @property
    def model(self) -> Any: ...

    @property
    def services(self) -> Store: ...


def get_curation(loaded: Loaded) -> CurationService:
    """The curation service over the loaded data, model and database.

    Cheap (the rules are cached with the dataset), so it is built per run and
    never shared between sessions.
    """
    return CurationService(
        loaded.dataset,
        loaded.model,
        loaded.services,
        holdout_share=loaded.settings.holdout_share,
        client_events=served_events(loaded.dataset),
    )


def get_tryon(loaded: Loaded) -> TryOnService:
    """The try-on session service (cheap: its pipeline is kept with the dataset; built per run)."""
    return TryOnService(loaded.dataset, loaded.model, loaded.services.audit)


# ---------------------------------------------------- trends, health, retrain
# Keyed by what makes each value change: the data fingerprint and the model generation.
# One analyzer: it holds its model and dataset, which are let go when replaced.
@st.cache_resource(max_entries=1, show_spinner=False)
def _trend_analyzer(
    fingerprint: str, generation: str, _model: Any, _dataset: Dataset
) -> TrendAnalyzer:
    del fingerprint, generation  # only part of the cache key
    return TrendAnalyzer.from_model(_model, _dataset)


def get_trend_analyzer(model: Any, dataset: Dataset, settings: Settings) -> TrendAnalyzer:
    """The catalogue's clusters for the current model (fitted once per data and model)."""
    generation = model_generation(settings.resolved_model_dir)
    return _trend_analyzer(dataset.fingerprint, generation, model, dataset)


@st.cache_data(max_entries=32, show_spinner=False)
def _trend_view(
    fingerprint: str,
    generation: str,
    store_id: str | None,
    window_days: int | None,
    recent_days: int,
    earlier_days: int,
    _analyzer: TrendAnalyzer,
) -> TrendView:
    del fingerprint, generation
    return build_trend_view(
        _analyzer,
        store_id=store_id,
        window_days=window_days,
        recent_days=recent_days,
        earlier_days=earlier_days,
    )


def get_trend_view(
    analyzer: TrendAnalyzer,
    settings: Settings,
    *,
    store_id: str | None,
    window_days: int | None,
    recent_days: int,
    earlier_days: int,
) -> TrendView:
    """The Trends page's frames for these filters (cached per data, model and filters)."""
    generation = model_generation(settings.resolved_model_dir)
    return _trend_view(
        analyzer.dataset_.fingerprint,
        generation,
        store_id,
        window_days,
        recent_days,
        earlier_days,
        analyzer,
    )


@st.cache_data(max_entries=4, show_spinner=False)
def _rule_drops(fingerprint: str, n_clients: int, _dataset: Dataset) -> pd.DataFrame:
    del fingerprint
    return rule_drops(_dataset, n_clients=n_clients, clients_events=served_clients_events(_dataset))


def get_rule_drops(dataset: Dataset, n_clients: int = 100) -> pd.DataFrame:
    """Which rules drop the most products over a seeded sample of clients (cached per data)."""
    return _rule_drops(dataset.fingerprint, n_clients, dataset)


@st.cache_resource(max_entries=4, show_spinner=False)
def _retrain_runner(model_dir: str) -> RetrainRunner:
    del model_dir
    return RetrainRunner()


def get_retrain_runner(settings: Settings) -> RetrainRunner:
    """The process's retrain runner for this model folder (shared by every session)."""
    return _retrain_runner(str(settings.resolved_model_dir))
