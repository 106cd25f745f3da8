"""Train/test splits for offline evaluation: three protocols, each with a validation split.

Protocols
---------
``temporal`` (:func:`temporal_split`)
    The test window is the last ``test_days`` days (ending the day after the
    last event); training is every event before it. Excluded from the
    candidates and from the relevant pairs: what the client *bought* before
    the cutoff. Every client with a relevant pair is evaluated, clients
    without history (cold clients) included. The dashboard's evaluation.
``global_time`` (:func:`global_time_split`)
    One cutoff for everybody at ``1 - test_fraction`` of the time span
    between the first and the last event (``0.2``: the last 20 % of the
    span is test). Training is every event before it.
``last_n`` (:func:`last_n_split`)
    Each client's own cutoff: the time of their ``n_test``-th last counted
    interaction (an event of a relevant type, gifts left out unless
    counted); their events from then on are test, earlier ones training.
    Events at the same time as the cutoff (the rest of a basket or invoice)
    go to the test side with it, so a basket is never split between the two.
    A client whose history would keep fewer than ``min_train_items``
    products in training is not split: all their events stay in training
    and they are not evaluated.

In ``global_time`` and ``last_n``, a test pair is *relevant* when the client
bought it in their test part (``relevant_events``), it was not a gift, it
was not returned there, and the client had not *seen* it in training (any
event: view, wishlist, purchase, ...). Seen pairs are removed from every
model's candidates (:attr:`Split.known`). Only clients with at least
``min_train_items`` (default 2) distinct products in training are evaluated.
*Cold items* are relevant products with no training event at all (the
evaluation reports them as a slice).

Every split carries a validation split (:attr:`Split.validation`) carved
from its *training* part only, by the same protocol (the last
``val_days``, the last ``val_fraction`` of the training span, the last
``n_val`` interactions of each client's training history), for tuning:
the test part is never used to choose parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.data.dataset import Dataset
from core.data.schema import COLS, EVENT_TYPES

#: Relevance by default: purchases only.
DEFAULT_RELEVANT_EVENTS: tuple[str, ...] = ("purchase",)
#: The protocols :func:`make_split` knows.
PROTOCOLS: tuple[str, ...] = ("temporal", "global_time", "last_n")

Exclude = Literal["purchased", "seen"]
_PAIR = [COLS.client_id, COLS.product_id]


@dataclass(frozen=True)
class Split:
    """A train/test split (see the module docstring for the protocols).

    Attributes
    ----------
    train : Dataset
        Every table of the source dataset, with only the training events;
        its ``as_of`` is ``cutoff``.
    test : DataFrame
        Relevant pairs: columns ``client_id``, ``product_id`` (unique pairs,
        already without ``known`` pairs, only evaluated clients).
    known : DataFrame
        ``client_id``, ``product_id`` pairs of the training part removed from
        every model's candidates and from ``test`` (bought before the cutoff
        for ``temporal``, seen for the other protocols).
    cutoff, end : Timestamp
        ``temporal`` and ``global_time``: the test window is ``[cutoff, end)``.
        ``last_n``: ``cutoff`` is the day after the last training event (the
        training data's "now"), ``end`` the day after the last event.
    relevant_events : tuple of str
    validation : Split or None
        The same construction inside ``train``, for tuning.
    protocol : str
        One of :data:`PROTOCOLS`.
    params : mapping
        The protocol's parameters (``test_days``, ``test_fraction``, ``n_test``, ...).
    """

    train: Dataset
    test: pd.DataFrame
    known: pd.DataFrame
    cutoff: pd.Timestamp
    end: pd.Timestamp
    relevant_events: tuple[str, ...] = DEFAULT_RELEVANT_EVENTS
    validation: Split | None = None
    protocol: str = "temporal"
    params: Mapping[str, object] = field(default_factory=dict)

    @property
    def test_clients(self) -> np.ndarray:
        """Clients with at least one relevant pair, in client-table order."""
        present = set(self.test[COLS.client_id])
        ids = self.train.client_ids.external_ids
        return np.asarray([c for c in ids if c in present], dtype=object)

    def summary(self) -> dict[str, Any]:
        """Sizes and dates of the split, as plain JSON-able values."""
        return {
            "protocol": self.protocol,
            **{str(k): v for k, v in self.params.items()},
            "cutoff": self.cutoff.isoformat(),
            "end": self.end.isoformat(),
            "train_events": len(self.train.events),
            "test_pairs": len(self.test),
            "test_clients": int(self.test[COLS.client_id].nunique()),
            "known_pairs_excluded": len(self.known),
            "relevant_events": list(self.relevant_events),
        }


# ------------------------------------------------------------------ checks
def _check_relevant(relevant_events: Sequence[str]) -> tuple[str, ...]:
    relevant = tuple(relevant_events)
    unknown = [e for e in relevant if e not in EVENT_TYPES or e == "return"]
    if not relevant or unknown:
        raise ValueError(
            f"relevant_events must be event types among {', '.join(EVENT_TYPES[:-1])}; "
            f"got {list(relevant)}"
        )
    return relevant


def _check_whole(name: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ValueError(f"{name} must be a whole number >= {low}, got {value!r}")
    return int(value)


def _check_fraction(name: str, value: Any, *, allow_zero: bool = False) -> float:
    ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
    low_ok = ok and (value >= 0 if allow_zero else value > 0)
    if not (ok and low_ok and value < 1):
        low = "0 <= " if allow_zero else "0 < "
        raise ValueError(f"{name} must be a number with {low}{name} < 1, got {value!r}")
    return float(value)


def _window_end(dataset: Dataset) -> pd.Timestamp:
    last = dataset.events["timestamp"].max()
    if pd.isna(last):
        raise ValueError("the dataset has no events: a split needs an event log")
    return pd.Timestamp(last).normalize() + pd.Timedelta(days=1)


# ---------------------------------------------------------------- assembly
def _train_dataset(
    dataset: Dataset, train_events: pd.DataFrame, cutoff: pd.Timestamp, note: str
) -> Dataset:
    # The training data's "now" is the cutoff, not the latest launch date: time
    # decay and new-arrival priors must be computed as a model at the cutoff would.
    return Dataset.from_tables(
        {**dataset.tables, "events": train_events.reset_index(drop=True)},
        source=f"{dataset.source} ({note})",
        cutoff=cutoff,
    )


@dataclass(frozen=True)
class _Rules:
    """What is relevant, what is excluded, who is evaluated."""

    relevant: tuple[str, ...]
    include_gifts: bool
    exclude: Exclude
    min_train_items: int


def _assemble(
    dataset: Dataset,
    train_mask: np.ndarray,
    window_mask: np.ndarray,
    rules: _Rules,
    *,
    cutoff: pd.Timestamp,
    end: pd.Timestamp,
    note: str,
    protocol: str,
    params: Mapping[str, object],
) -> Split:
    """The split whose training events are ``train_mask`` and test events ``window_mask``."""
    events = dataset.events
    before = events.loc[train_mask]
    train = _train_dataset(dataset, before, cutoff, note)
    if rules.exclude == "purchased":
        before = before.loc[before["event_type"] == "purchase"]
    known = before[_PAIR].drop_duplicates().reset_index(drop=True)

    window = events.loc[window_mask]
    rel = window.loc[window["event_type"].isin(rules.relevant)]
    if not rules.include_gifts:
        rel = rel.loc[~rel["is_gift"].astype(bool)]
    returned = window.loc[window["event_type"] == "return", _PAIR].drop_duplicates()
    rel = rel[_PAIR].drop_duplicates()
    drop = pd.concat([known, returned], ignore_index=True).drop_duplicates()
    merged = rel.merge(drop, on=_PAIR, how="left", indicator=True)
    test = merged.loc[merged["_merge"] == "left_only", _PAIR].reset_index(drop=True)
    if rules.min_train_items > 0:
        items = events.loc[train_mask, _PAIR].drop_duplicates()[COLS.client_id].value_counts()
        enough = items.index[items >= rules.min_train_items]
        test = test.loc[test[COLS.client_id].isin(enough)].reset_index(drop=True)
    return Split(
        train=train,
        test=test,
        known=known,
        cutoff=cutoff,
        end=end,
        relevant_events=rules.relevant,
        protocol=protocol,
        params=dict(params),
    )


def _split_at(
    dataset: Dataset,
    cutoff: pd.Timestamp,
    end: pd.Timestamp,
    rules: _Rules,
    protocol: str = "temporal",
    params: Mapping[str, object] | None = None,
) -> Split:
    t = dataset.events["timestamp"]
    return _assemble(
        dataset,
        (t < cutoff).to_numpy(),
        ((t >= cutoff) & (t < end)).to_numpy(),
        rules,
        cutoff=cutoff,
        end=end,
        note=f"events before {cutoff.date()}",
        protocol=protocol,
        params=params or {},
    )


# --------------------------------------------------------------- protocols
def temporal_split(
    dataset: Dataset,
    test_days: int = 28,
    val_days: int = 28,
    *,
    relevant_events: Sequence[str] = DEFAULT_RELEVANT_EVENTS,
    include_gifts: bool = False,
) -> Split:
    """Split ``dataset`` in time: train before the cutoff, test in the last ``test_days``.

    Parameters
    ----------
    dataset : Dataset
    test_days : int
        Length of the test window in days, ending the day after the last event.
    val_days : int
        Length of the validation window carved from the end of the training
        period (``0`` for none).
    relevant_events : sequence of str
        Event types that make a test pair relevant (default purchases; add
        ``"wishlist"``, ``"try_on"`` for a softer target).
    include_gifts : bool
        Count gift purchases as relevant (default ``False``).

    Returns
    -------
    Split

    Raises
    ------
    ValueError
        For a non-positive window, an unknown event type, or windows that
        leave no training events.
    """
    for name, days, low in (("test_days", test_days, 1), ("val_days", val_days, 0)):
        if isinstance(days, bool) or not isinstance(days, int | np.integer) or days < low:
            raise ValueError(f"{name} must be a whole number of days >= {low}, got {days!r}")
    rules = _Rules(_check_relevant(relevant_events), include_gifts, "purchased", 0)
    end = _window_end(dataset)
    cutoff = end - pd.Timedelta(days=int(test_days))
    first = dataset.events["timestamp"].min()
    val_cutoff = cutoff - pd.Timedelta(days=int(val_days))
    if first >= val_cutoff:
        raise ValueError(
            f"the event log spans {first.date()} to {(end - pd.Timedelta(days=1)).date()}: "
            f"test_days={test_days} and val_days={val_days} leave no training events; "
            "use shorter windows"
        )
    split = _split_at(dataset, cutoff, end, rules, params={"test_days": int(test_days)})
    validation = None
    if val_days > 0:
        validation = _split_at(
            split.train, val_cutoff, cutoff, rules, params={"test_days": int(val_days)}
        )
    return replace(split, validation=validation)


def _global_cut(
    dataset: Dataset, fraction: float, end: pd.Timestamp, rules: _Rules, name: str
) -> Split:
    t = dataset.events["timestamp"]
    first, last = t.min(), t.max()
    cutoff = pd.Timestamp(first + (1.0 - fraction) * (last - first)).floor("s")
    if cutoff <= first:
        raise ValueError(
            f"the events of {dataset.source} span {first} to {last}: {name}={fraction} "
            "leaves no training events; use a smaller fraction"
        )
    return _split_at(dataset, cutoff, end, rules, "global_time", {"test_fraction": fraction})


def global_time_split(
    dataset: Dataset,
    test_fraction: float = 0.2,
    val_fraction: float | None = None,
    *,
    relevant_events: Sequence[str] = DEFAULT_RELEVANT_EVENTS,
    include_gifts: bool = False,
    min_train_items: int = 2,
) -> Split:
    """One cutoff for everybody: the last ``test_fraction`` of the time span is test.

    ``cutoff = first + (1 - test_fraction) * (last - first)`` (to the second),
    where ``first`` and ``last`` are the first and last events; training is
    every event before it, the test window ``[cutoff, end)`` with ``end``
    the day after the last event.

    Parameters
    ----------
    dataset : Dataset
    test_fraction : float
        Share of the time span that is test, in (0, 1).
    val_fraction : float, optional
        Share of the *training* span held out for validation, in [0, 1)
        (default: ``test_fraction``; ``0`` for none).
    relevant_events : sequence of str
        Event types that make a test pair relevant (default purchases).
    include_gifts : bool
        Count gift purchases as relevant.
    min_train_items : int
        Evaluate only clients with at least this many distinct products in training.

    Returns
    -------
    Split

    Raises
    ------
    ValueError
        For a fraction outside its range, an unknown event type, or no
        training events left.
    """
    fraction = _check_fraction("test_fraction", test_fraction)
    val = fraction if val_fraction is None else val_fraction
    val = _check_fraction("val_fraction", val, allow_zero=True)
    rules = _Rules(
        _check_relevant(relevant_events),
        include_gifts,
        "seen",
        _check_whole("min_train_items", min_train_items, 0),
    )
    split = _global_cut(dataset, fraction, _window_end(dataset), rules, "test_fraction")
    validation = None
    if val > 0:
        validation = _global_cut(split.train, val, split.cutoff, rules, "val_fraction")
    return replace(split, validation=validation)


def _client_cutoffs(dataset: Dataset, n: int, rules: _Rules) -> pd.Series:
    """Per event, its client's cutoff (``NaT`` for clients that are not split)."""
    ev = dataset.events
    counted = ev["event_type"].isin(rules.relevant).to_numpy()
    if not rules.include_gifts:
        counted = counted & ~ev["is_gift"].astype(bool).to_numpy()
    latest = ev.loc[counted, [COLS.client_id, "timestamp"]].sort_values(
        [COLS.client_id, "timestamp"], ascending=[True, False], kind="stable"
    )
    # The n-th last counted event, or the first one when a client has fewer.
    rank = latest.groupby(COLS.client_id, sort=False).cumcount()
    total = latest.groupby(COLS.client_id, sort=False)["timestamp"].transform("size")
    pick = (rank == n - 1) | ((total < n) & (rank == total - 1))
    cut = latest.loc[pick.to_numpy()].set_index(COLS.client_id)["timestamp"]
    per_event = ev[COLS.client_id].map(cut)
    # Clients left with too few training products are not split.
    before = ev.loc[(ev["timestamp"] < per_event).to_numpy(), _PAIR].drop_duplicates()
    items = before[COLS.client_id].value_counts()
    enough = set(items.index[items >= max(rules.min_train_items, 1)])
    return per_event.where(ev[COLS.client_id].isin(enough))


def _last_n_cut(dataset: Dataset, n: int, end: pd.Timestamp, rules: _Rules) -> Split:
    ev = dataset.events
    per_event = _client_cutoffs(dataset, n, rules)
    window = (ev["timestamp"] >= per_event).to_numpy()  # NaT compares False
    train = ~window
    if not train.any():
        raise ValueError(f"n_test={n} leaves no training events; use a smaller n")
    cutoff = pd.Timestamp(ev.loc[train, "timestamp"].max()).normalize() + pd.Timedelta(days=1)
    return _assemble(
        dataset,
        train,
        window,
        rules,
        cutoff=cutoff,
        end=end,
        note=f"events before each client's last {n} interactions",
        protocol="last_n",
        params={"n_test": n},
    )


def last_n_split(
    dataset: Dataset,
    n_test: int = 3,
    n_val: int | None = None,
    *,
    relevant_events: Sequence[str] = DEFAULT_RELEVANT_EVENTS,
    include_gifts: bool = False,
    min_train_items: int = 2,
) -> Split:
    """Each client's last ``n_test`` interactions are test, their earlier ones training.

    Counted interactions are events of ``relevant_events`` (gifts only with
    ``include_gifts``); a client's cutoff is the time of their ``n_test``-th
    last one (their first one when they have fewer), and every event of
    theirs at or after it is test -- events sharing the cutoff's time too,
    so a basket is never split. Clients with fewer than ``min_train_items``
    products before their cutoff keep all their events in training and are
    not evaluated.

    Parameters
    ----------
    dataset : Dataset
    n_test : int
        Interactions held out per client (>= 1).
    n_val : int, optional
        Interactions held out per client from the *training* part for
        validation (default ``n_test``; ``0`` for none).
    relevant_events : sequence of str
    include_gifts : bool
    min_train_items : int
        Distinct training products a client needs to be evaluated (>= 1).

    Returns
    -------
    Split

    Raises
    ------
    ValueError
        For a bad count, an unknown event type, or no training events left.
    """
    n = _check_whole("n_test", n_test, 1)
    val = _check_whole("n_val", n if n_val is None else n_val, 0)
    rules = _Rules(
        _check_relevant(relevant_events),
        include_gifts,
        "seen",
        _check_whole("min_train_items", min_train_items, 1),
    )
    split = _last_n_cut(dataset, n, _window_end(dataset), rules)
    validation = None
    if val > 0:
        validation = _last_n_cut(split.train, val, split.cutoff, rules)
    return replace(split, validation=validation)


def make_split(dataset: Dataset, protocol: str = "temporal", **params: Any) -> Split:
    """The split of ``dataset`` by ``protocol`` (one of :data:`PROTOCOLS`).

    Parameters
    ----------
    dataset : Dataset
    protocol : str
        ``"temporal"`` (:func:`temporal_split`), ``"global_time"``
        (:func:`global_time_split`) or ``"last_n"`` (:func:`last_n_split`).
    **params
        Passed to that function.

    Raises
    ------
    ValueError
        For an unknown protocol.
    """
    functions: dict[str, Callable[..., Split]] = {
        "temporal": temporal_split,
        "global_time": global_time_split,
        "last_n": last_n_split,
    }
    if protocol not in functions:
        raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    return functions[protocol](dataset, **params)


def seen_matrix(dataset: Dataset) -> sp.csr_matrix:
    """Binary client x product matrix of the pairs with any event in ``dataset``.

    The matrix the evaluation's peers fit on (one definition, so every model
    that takes a plain interaction matrix gets the same one); for a split's
    training data under ``global_time`` or ``last_n``, its cells are the
    :attr:`Split.known` pairs.

    Returns
    -------
    csr_matrix of float64, shape (n_clients, n_products)
        Rows and columns in ``dataset.client_ids`` and ``dataset.product_ids``
        order; 1.0 where the client has any event on the product.
    """
    ev = dataset.events
    rows = dataset.client_ids.to_internal(ev[COLS.client_id].astype(str), strict=False)
    cols = dataset.product_ids.to_internal(ev[COLS.product_id].astype(str), strict=False)
    ok = (rows >= 0) & (cols >= 0)
    m = sp.csr_matrix(
        (np.ones(int(ok.sum())), (rows[ok], cols[ok])),
        shape=(len(dataset.client_ids), len(dataset.product_ids)),
    )
    m.sum_duplicates()
    m.data[:] = 1.0
    return m
