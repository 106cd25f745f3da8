"""Serving clients without the event log: a product-side model, and each client's events read per request.

A house too large to hold its event log in one process keeps events and
clients in the partitioned layout (:mod:`core.data.partitioned`) and fits a
product-side model on Dask (:func:`core.engine.scale.fit.fit_partitioned`,
``python -m core fit --dask``). :func:`open_served` loads what a dashboard
process then holds: the products side, the clients' rows (for lookup and the
client page) and the model -- products x factors, no event. A client's events
are read per request (:meth:`Served.event_rows`: a slice of their bucket's
serving copy, :mod:`core.data.partitioned.serve_copy`; one or two Parquet
row groups in a layout without copies) and passed to the model as
``extra_events`` (the Arrow rows as read) or, as a frame for the pages
(:meth:`Served.events`), to the suggestion pipeline; both fold them in with
the fit's statistics: the same suggestions, scores and explanations as the
in-memory model fitted on the same data (``tests/app/test_serving.py``).

The default store for the per-client read is the partitioned layout the fit
reads, with its serving copy written in the same write (so never out of
step with it): no server to run, and a read touches one file. Decoding a
Parquet row group per request cost a served request about 1 ms at 20,000
products; the copy's slice costs 0.02 ms, for about five times the Parquet
files' disk. A database events table would serve the same role through
SQLAlchemy; :class:`Served` is the seam where it would plug in.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa

from core.data.dataset import Dataset
from core.data.partitioned import PartitionedEvents
from core.data.partitioned.reader import products_dataset, to_contract_frame
from core.engine.config import EngineConfig
from core.engine.events import remember_columns
from core.engine.house import attach_house
from core.engine.models.hybrid import HybridRecommender
from core.engine.models.persistence import load_model
from core.engine.scale.fit import fit_partitioned, with_clients
from core.engine.scale.reduce import Scheduler
from core.exceptions import AtelierError

#: Clients whose events a :class:`Served` keeps after reading them.
RECENT_CLIENTS = 256


@dataclass
class _Read:
    """A client's events as read, and their frame once a page asked for it."""

    rows: pa.Table
    frame: pd.DataFrame | None = None


@dataclass(frozen=True)
class Served:
    """A product-side model with the clients' rows, and where their events are read.

    Attributes
    ----------
    dataset : Dataset
        Products, stores, stock, associates and clients; no event.
    model : HybridRecommender
        The product-side model, knowing every client's declared preferences.
    reader : PartitionedEvents
        The partitioned events, read one client at a time.
    """

    dataset: Dataset
    model: HybridRecommender
    reader: PartitionedEvents
    _recent: OrderedDict[tuple[str, str], _Read] = field(
        default_factory=OrderedDict, repr=False, compare=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def event_rows(self, client_id: str) -> pa.Table:
        """One client's events in time order as the Arrow rows read (none for a client without history).

        What the model folds in without a DataFrame (``HybridRecommender``
        takes them as ``extra_events``): a bare recommend and its
        explanations need no more. The last :data:`RECENT_CLIENTS` clients'
        rows are kept per write of the dataset: a page that asks again (a
        rerun, the next tab) gets the same rows without a read, and the model
        reuses the state it folded from them (it keeps states per object).
        """
        return self._read(client_id).rows

    def events(self, client_id: str) -> pd.DataFrame:
        """:meth:`event_rows` as a frame with the contract's dtypes, for the pages (made once per read).

        The columns a fold-in reads are kept from the Arrow rows with the
        frame (:func:`core.engine.events.remember_columns`), so the model
        does not read them back out of it. Treat the frame as read-only.
        """
        read = self._read(client_id)
        if read.frame is None:
            frame = to_contract_frame(read.rows, "events")
            remember_columns(frame, read.rows)
            with self._lock:
                if read.frame is None:  # another thread's frame, if first, is the one kept
                    read.frame = frame
        return read.frame

    def _read(self, client_id: str) -> _Read:
        key = (self.reader.current_write(), str(client_id))
        with self._lock:
            found = self._recent.get(key)
            if found is not None:
                self._recent.move_to_end(key)
                return found
        read = _Read(self.reader.client_event_rows(str(client_id)))
        with self._lock:
            read = self._recent.setdefault(key, read)
            self._recent.move_to_end(key)
            while len(self._recent) > RECENT_CLIENTS:
                self._recent.popitem(last=False)
        return read

    def events_of_clients(self, client_ids: Iterable[str]) -> pd.DataFrame:
        """The events of many clients at once, each bucket file opened once (share outcomes)."""
        return self.reader.clients_events(client_ids)

    def latest_events(self) -> pd.Series:
        """Each client's latest event time (client id -> time), read from every bucket now."""
        return self.reader.latest_events()

    def event_log(self) -> tuple[int, pd.Timestamp | None]:
        """Rows of the partitioned event log and its latest event (from its manifest)."""
        manifest = self.reader.manifest
        span = manifest.time_range
        return sum(manifest.rows), (pd.Timestamp(span[1]) if span else None)


def open_served(
    folder: str | Path,
    model_dir: str | Path,
    *,
    config: EngineConfig | None = None,
    scheduler: Scheduler = "local",
) -> Served:
    """The dataset without events, the product-side model and the event reader of ``folder``.

    The model saved in ``model_dir`` is loaded when it was fitted on these
    products; otherwise (none yet, other products, or a damaged file) it is
    fitted over the partitioned events on ``scheduler`` and saved there. The
    dataset carries the fit's sums over the house's events (popularity, store
    sales, co-purchases: :mod:`core.engine.house`) for the generic list, gift
    ideas and complete-the-look.

    Raises
    ------
    DataValidationError
        ``folder`` is not a partitioned dataset, or a table breaks the contract.
    """
    folder = Path(folder)
    reader = PartitionedEvents(folder)
    reader.open_serve_copies()  # now, not on the first request of each bucket
    dataset = products_dataset(folder, clients=True)
    products = dataclasses.replace(dataset, clients=dataset.clients.iloc[0:0], _derived={})
    try:
        loaded = load_model(model_dir, products)
    except AtelierError:
        loaded = None
    if not isinstance(loaded, HybridRecommender) or loaded.house_ is None:
        # None yet, other products, damaged, or fitted before models kept the house's sums.
        loaded = fit_partitioned(folder, scheduler, config, as_of=dataset.as_of, out=model_dir)
    assert loaded.house_ is not None  # the partitioned fit always sums them
    model = with_clients(loaded, dataset.clients)
    attach_house(model.dataset_, loaded.house_)
    return Served(model.dataset_, model, reader)
