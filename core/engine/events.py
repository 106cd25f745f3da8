"""Event frames -> per-event arrays: the checked, typed input of the interaction arithmetic.

:func:`event_arrays` turns an events table (the dataset's, or a request's
few extra events) into :class:`EventArrays` -- output row, product index,
event-type code, age in days as of a date, gift flag -- checking product ids
and event types on the way. :func:`positions` looks external ids up in an
:class:`~core.data.ids.IdMap` fast enough for one request.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa

from core.data.ids import IdMap, codes_in
from core.data.schema import EVENT_TYPES
from core.engine.recent import RecentPerFrame
from core.exceptions import UnknownIdError

_NS_PER_DAY = 86_400 * 1_000_000_000
_REQUIRED_EXTRA = ("client_id", "product_id", "event_type")
_TYPE_CODE = {t: c for c, t in enumerate(EVENT_TYPES)}
FEW_EVENTS = 256  # up to this many events, plain lists beat pandas per-column work

#: A request's events not in the fitted data: a DataFrame, or the Arrow rows a
#: per-client reader returns (every model takes either; a few rows fold in
#: without a frame being made).
ExtraEvents: TypeAlias = pd.DataFrame | pa.Table


def positions(ids_map: IdMap, ids: Sequence[object], *, strict: bool = True) -> np.ndarray:
    """Internal indices of external ``ids`` (-1 for unknown ones when not ``strict``).

    ``IdMap.to_internal`` of a sequence (kept for its many callers).

    Raises
    ------
    UnknownIdError
        When ``strict`` and an id is unknown (the message names it).
    """
    return ids_map.to_internal(list(ids), strict=strict)


@dataclass(frozen=True)
class EventArrays:
    """Per-event arrays: the checked input of :func:`core.engine.cells.event_cells`."""

    rows: np.ndarray  # int32 row of the output
    cols: np.ndarray  # int32 product index
    types: np.ndarray  # int8 code into EVENT_TYPES
    age_days: np.ndarray  # float64, >= 0
    gift: np.ndarray  # bool


def event_ids(extra: ExtraEvents, column: str) -> list[str]:
    """A column of extra events (a DataFrame's or Arrow rows') as text ids (columns checked)."""
    check_extra_columns(extra)
    values = (
        extra.column(column).to_pylist() if isinstance(extra, pa.Table) else extra[column].tolist()
    )
    return [str(v) for v in values]


def check_extra_columns(extra: ExtraEvents) -> None:
    names = extra.column_names if isinstance(extra, pa.Table) else extra.columns
    missing = [c for c in _REQUIRED_EXTRA if c not in names]
    if missing:
        raise ValueError(
            f"extra_events lacks column(s) {', '.join(missing)}; "
            f"it needs {', '.join(_REQUIRED_EXTRA)} (timestamp and is_gift are optional)"
        )


def check_event_types(types: Iterable[object]) -> None:
    bad = {str(t) for t in types} - set(EVENT_TYPES)
    if bad:
        raise ValueError(
            f"extra_events has unknown event type(s) {', '.join(sorted(map(repr, bad)))}; "
            f"expected one of {', '.join(EVENT_TYPES)}"
        )


#: The fold-in columns of frames whose reader had them at hand (:func:`remember_columns`).
_COLUMNS: RecentPerFrame[dict[str, Any]] = RecentPerFrame(64)


def remember_columns(frame: pd.DataFrame, rows: pa.Table) -> None:
    """Keep what :func:`extra_table` would read from ``frame``, taken from the Arrow ``rows`` it was made from.

    A served client's events are read from Arrow and made into a frame for
    the pages; the same columns taken from Arrow cost almost nothing, where
    reading them back out of the frame costs half a millisecond. A fold-in
    given this very ``frame`` uses them (:func:`known_columns`). The frame is
    read as a snapshot, as the model's per-frame states are
    (:mod:`core.engine.recent`).
    """
    _COLUMNS.put(str(id(frame)), frame, extra_table(rows))


def known_columns(frame: ExtraEvents) -> dict[str, Any] | None:
    """The columns :func:`remember_columns` kept for this very ``frame``, if any."""
    if isinstance(frame, pa.Table):
        return None
    return _COLUMNS.get(str(id(frame)), frame)


def extra_table(extra: ExtraEvents) -> dict[str, Any]:
    """A request's few extra events by column, checked: lists, or arrays for a
    ``datetime64`` timestamp and a boolean ``is_gift`` (a value at a time,
    timestamps cost more than the rest of a fold-in).

    ``extra`` is a DataFrame or Arrow rows (a timestamp with a time zone is
    taken in UTC, as :func:`event_arrays` takes a frame's).

    Raises
    ------
    ValueError
        For a missing required column or an unknown event type.
    """
    check_extra_columns(extra)
    table: dict[str, Any] = {}
    names = extra.column_names if isinstance(extra, pa.Table) else extra.columns
    for c in (*_REQUIRED_EXTRA, "timestamp", "is_gift"):
        if c not in names:
            continue
        if isinstance(extra, pa.Table):
            table[c] = _arrow_values(extra.column(c))
            continue
        column = extra[c]
        if column.dtype.kind in "Mb":  # dates and flags stay arrays (see few_event_arrays)
            table[c] = column.to_numpy()
        else:
            table[c] = column.tolist()
    check_event_types(table["event_type"])
    return table


def _arrow_values(column: pa.ChunkedArray) -> Any:
    """An Arrow column as :func:`extra_table` gives a frame's: arrays for timestamps and flags, else a list."""
    if pa.types.is_timestamp(column.type):
        return column.to_numpy().astype("datetime64[ns]")  # missing: NaT, undated
    if pa.types.is_boolean(column.type):
        filled = column.fill_null(False) if column.null_count else column
        return filled.to_numpy(zero_copy_only=False)
    return column.to_pylist()


def event_arrays(
    events: pd.DataFrame,
    *,
    rows: np.ndarray,
    product_ids: IdMap,
    as_of: pd.Timestamp,
    clip_future: bool,
) -> EventArrays:
    """Per-event arrays of ``events`` (rows given; product ids and types checked).

    A request's few events take :func:`few_event_arrays`, same result without
    pandas' per-column machinery, which costs more than the work there.
    """
    if len(events) <= FEW_EVENTS:
        return few_event_arrays(
            extra_table(events),
            rows=rows,
            product_ids=product_ids,
            as_of=as_of,
            clip_future=clip_future,
        )
    cols = codes_in(events["product_id"], product_ids.index)
    if (cols < 0).any():
        bad = events["product_id"].to_numpy()[cols < 0][:5]
        raise UnknownIdError(f"unknown product id(s): {', '.join(repr(str(b)) for b in bad)}")
    types = codes_in(events["event_type"], pd.Index(EVENT_TYPES)).astype(np.int8)
    if "timestamp" in events.columns:
        ts = pd.to_datetime(events["timestamp"])
        if getattr(ts.dt, "tz", None) is not None:
            ts = ts.dt.tz_convert(None)
        ns = ts.to_numpy(dtype="datetime64[ns]").view(np.int64)
        age = (as_of.as_unit("ns").value - ns) / _NS_PER_DAY
        age[ts.isna().to_numpy()] = 0.0  # an undated extra event happens now
    else:
        age = np.zeros(len(events))
    if clip_future:
        age = np.maximum(age, 0.0)
    gift = (
        events["is_gift"].fillna(False).to_numpy(dtype=bool)
        if "is_gift" in events.columns
        else np.zeros(len(events), dtype=bool)
    )
    return EventArrays(
        rows=np.asarray(rows, dtype=np.int32),
        cols=cols,
        types=types,
        age_days=np.asarray(age, dtype=np.float64),
        gift=gift,
    )


def few_event_arrays(
    table: dict[str, Any],
    *,
    rows: np.ndarray,
    product_ids: IdMap,
    as_of: pd.Timestamp,
    clip_future: bool,
) -> EventArrays:
    """:func:`event_arrays` value by value, for a few events (see :func:`extra_table`)."""
    products = [str(p) for p in table["product_id"]]
    cols = positions(product_ids, products, strict=False).astype(np.int32)
    if (cols < 0).any():
        bad = [p for p, c in zip(products, cols, strict=True) if c < 0][:5]
        raise UnknownIdError(f"unknown product id(s): {', '.join(repr(b) for b in bad)}")
    types = np.array([_TYPE_CODE.get(str(t), -1) for t in table["event_type"]], dtype=np.int8)
    n = len(products)
    age = np.zeros(n)
    stamps = table.get("timestamp")
    if isinstance(stamps, np.ndarray) and stamps.dtype.kind == "M":
        ns = stamps.astype("datetime64[ns]").view(np.int64)
        dated = ~np.isnat(stamps)  # an undated extra event happens now
        age[dated] = (as_of.as_unit("ns").value - ns[dated]) / _NS_PER_DAY
    elif stamps is not None:
        now = as_of.as_unit("ns").value
        for e, value in enumerate(stamps):
            ts = pd.NaT if value is None else pd.Timestamp(value)
            if pd.isna(ts):
                continue  # an undated extra event happens now
            if ts.tzinfo is not None:
                ts = ts.tz_convert(None)
            age[e] = (now - ts.as_unit("ns").value) / _NS_PER_DAY
    if clip_future:
        age = np.maximum(age, 0.0)
    gift = np.zeros(n, dtype=bool)
    gifts = table.get("is_gift")
    if isinstance(gifts, np.ndarray) and gifts.dtype == bool:
        gift[:] = gifts
    elif gifts is not None:
        gift[:] = [False if pd.isna(g) else bool(g) for g in gifts]
    return EventArrays(
        rows=np.asarray(rows, dtype=np.int32), cols=cols, types=types, age_days=age, gift=gift
    )


def select_events(ev: EventArrays, mask: np.ndarray) -> EventArrays:
    return EventArrays(
        ev.rows[mask], ev.cols[mask], ev.types[mask], ev.age_days[mask], ev.gift[mask]
    )
