"""What a hybrid fit derived from the data, in words a model-health reader can check.

The hybrid's blend is data-driven where the right value depends on the data:
each block's weight is divided by the block's spread for the client (so the
units of an SVD dot product, a neighbour sum and a cosine never need choosing
by hand), the trend block by the trend's spread, and products without
interactions are placed by the ridge map. :func:`fit_report` records those
values, with the facts about the data that decide whether the configured
half-life and normalisation suit it (time span, popularity skew), so the
Model health page can show them next to the configuration.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.engine.config import EngineConfig

#: Clients sampled for the median block spreads (seeded).
SAMPLE_CLIENTS = 300


class Laps:
    """Seconds spent per stage of a fit (``fit_timings_``)."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._clock = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.timings[stage] = now - self._clock
        self._clock = now


class _Fitted(Protocol):
    """The fitted hybrid, as far as the report reads it."""

    item_similarity_: sp.csr_matrix
    sequence_: sp.csr_matrix
    sequence_directionality_: float
    known_products_: np.ndarray
    trend_spread_: float

    @property
    def config_(self) -> EngineConfig: ...


def span_days(timestamps: pd.Series, as_of: pd.Timestamp) -> float:
    """Days from the first of ``timestamps`` on or before ``as_of`` to ``as_of`` (0 if none)."""
    stamps = pd.to_datetime(timestamps, errors="coerce")
    first = stamps[stamps <= as_of].min()
    return 0.0 if pd.isna(first) else float((as_of - first) / pd.Timedelta(days=1))


def sample_clients(active: np.ndarray, seed: int, size: int = SAMPLE_CLIENTS) -> np.ndarray:
    """A seeded sample of ``size`` of ``active`` (sorted), for the median block spreads."""
    if not active.size:
        return active[:0]
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(active, size=min(size, active.size), replace=False))


def gini(counts: np.ndarray) -> float:
    """Gini coefficient of non-negative counts (0: all equal; near 1: one product takes all)."""
    x = np.sort(np.asarray(counts, dtype=np.float64))
    n, total = x.size, float(x.sum())
    if n == 0 or total <= 0:
        return 0.0
    ranks = np.arange(1, n + 1)
    return float((2 * (ranks * x).sum()) / (n * total) - (n + 1) / n)


def fit_report(
    model: _Fitted,
    *,
    span_days: float,
    half_life_days: float,
    counts: np.ndarray,
    clients_with_history: int,
    block_spreads: np.ndarray,
    latest_age: np.ndarray | None = None,
) -> dict[str, Any]:
    """Plain (JSON-ready) figures the fit derived from the data.

    Parameters
    ----------
    model : fitted hybrid
    span_days, half_life_days : float
        First event to the fit date, and the configured half-life.
    counts : ndarray, shape (n_products,)
        Clients with a cell per product.
    clients_with_history : int
    block_spreads : ndarray, shape (n_sampled, 4)
        The SVD, neighbour, content and next-step spreads of a sample of clients with
        history (:func:`sample_clients`).
    latest_age : ndarray, optional
        Days from each client's latest event to the fit date (``inf``: none);
        ``None`` where the fit keeps no client rows.

    Returns
    -------
    dict
        ``clients_with_history``, ``products_with_interactions``,
        ``products_placed_by_ridge``, ``own_factor_share_median`` (the
        median share of a touched product's factors that are its own SVD
        factors, the rest predicted from its content:
        :func:`~core.engine.models.factors.shrink_to_content`), ``span_days`` (first event to the fit
        date, as given), ``half_life_days``, ``weight_left_after_span`` (what
        an event as old as the window keeps), ``popularity_gini``,
        ``neighbours_median`` and ``products_without_neighbours``,
        ``trend_spread``, ``block_spread_median`` (SVD, neighbours,
        content, next step: the per-client divisors of the block weights, median over a
        seeded sample of clients with history), and ``next_step_links``
        (stored entries of the next-step matrix) and
        ``next_step_directionality`` (the data-derived factor of its weight);
        ``recency`` (where a client's taste ages from) and, with
        ``latest_age``, ``days_since_latest_event_median`` (over clients
        with events: how far ``recency="calendar"`` would have faded a
        typical client's whole history).
    """
    span = float(span_days)
    touched = np.asarray(counts, dtype=np.float64)
    touched = touched[touched > 0]
    shrinkage = float(model.config_.factor_shrinkage)
    own_share = float(np.median(touched / (touched + shrinkage))) if touched.size else 0.0
    neighbours = np.diff(model.item_similarity_.indptr)
    spreads = np.asarray(block_spreads).reshape(-1, 4)
    median = np.median(spreads, axis=0) if spreads.size else np.zeros(4)
    return {
        "clients_with_history": int(clients_with_history),
        "products_with_interactions": int(model.known_products_.sum()),
        "products_placed_by_ridge": int((~model.known_products_).sum()),
        "own_factor_share_median": own_share,
        "span_days": span,
        "half_life_days": float(half_life_days),
        "weight_left_after_span": float(0.5 ** (span / half_life_days)) if span else 1.0,
        "popularity_gini": round(gini(counts[counts > 0]), 4),
        "neighbours_median": float(np.median(neighbours)) if neighbours.size else 0.0,
        "products_without_neighbours": int((neighbours == 0).sum()),
        "trend_spread": float(model.trend_spread_),
        "block_spread_median": {
            "svd": float(median[0]),
            "neighbours": float(median[1]),
            "content": float(median[2]),
            "next_step": float(median[3]),
        },
        "next_step_links": int(model.sequence_.nnz),
        "next_step_directionality": round(float(model.sequence_directionality_), 4),
        "recency": model.config_.recency,
        **_away(latest_age),
    }


def _away(latest_age: np.ndarray | None) -> dict[str, float]:
    if latest_age is None:
        return {}
    seen = np.asarray(latest_age)[np.isfinite(latest_age)]
    return {"days_since_latest_event_median": float(np.median(seen)) if seen.size else 0.0}


def report_frame(report: dict[str, Any]) -> pd.DataFrame:
    """The report as two text columns (``figure``, ``value``) for display."""
    rows = []
    for key, value in report.items():
        if isinstance(value, dict):
            rows += [(f"{key} ({k})", _fmt(v)) for k, v in value.items()]
        else:
            rows.append((key, _fmt(value)))
    return pd.DataFrame([(k.replace("_", " "), v) for k, v in rows], columns=["figure", "value"])


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
