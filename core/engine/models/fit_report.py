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

from typing import Any, Protocol

import numpy as np
import pandas as pd

#: Clients sampled for the median block spreads (seeded).
SAMPLE_CLIENTS = 300


class _Fitted(Protocol):
    """The fitted hybrid, as far as the report reads it."""

    item_similarity_: Any
    known_products_: np.ndarray
    trend_spread_: float
    interactions_: Any

    def _block_spreads(self, client_ids: list[str]) -> np.ndarray: ...


def gini(counts: np.ndarray) -> float:
    """Gini coefficient of non-negative counts (0: all equal; near 1: one product takes all)."""
    x = np.sort(np.asarray(counts, dtype=np.float64))
    n, total = x.size, float(x.sum())
    if n == 0 or total <= 0:
        return 0.0
    ranks = np.arange(1, n + 1)
    return float((2 * (ranks * x).sum()) / (n * total) - (n + 1) / n)


def fit_report(
    model: _Fitted, *, span_days: float, half_life_days: float, seed: int
) -> dict[str, Any]:
    """Plain (JSON-ready) figures the fit derived from the data.

    Returns
    -------
    dict
        ``clients_with_history``, ``products_with_interactions``,
        ``products_placed_by_ridge``, ``span_days`` (first event to the fit
        date, as given), ``half_life_days``, ``weight_left_after_span`` (what
        an event as old as the window keeps), ``popularity_gini``,
        ``neighbours_median`` and ``products_without_neighbours``,
        ``trend_spread``, and ``block_spread_median`` (SVD, neighbours,
        content: the per-client divisors of the block weights, median over a
        seeded sample of clients with history).
    """
    inter = model.interactions_
    matrix = inter.matrix
    active = np.flatnonzero(np.diff(matrix.indptr) > 0)
    counts = np.bincount(matrix.indices, minlength=matrix.shape[1])
    span = float(span_days)
    neighbours = np.diff(model.item_similarity_.indptr)
    spreads = np.zeros((0, 3))
    if active.size:
        rng = np.random.default_rng(seed)
        take = np.sort(rng.choice(active, size=min(SAMPLE_CLIENTS, active.size), replace=False))
        ids = [str(c) for c in inter.client_ids.to_external(take)]
        spreads = model._block_spreads(ids)
    median = np.median(spreads, axis=0) if spreads.size else np.zeros(3)
    return {
        "clients_with_history": int(active.size),
        "products_with_interactions": int(model.known_products_.sum()),
        "products_placed_by_ridge": int((~model.known_products_).sum()),
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
        },
    }


def report_frame(report: dict[str, Any]) -> pd.DataFrame:
    """The report as two text columns (``figure``, ``value``) for display."""
    rows = []
    for key, value in report.items():
        if isinstance(value, dict):
            rows += [(f"{key} ({k})", _fmt(v)) for k, v in value.items()]
        else:
            rows.append((key, _fmt(value)))
    return pd.DataFrame([(k.replace("_", " "), v) for k, v in rows], columns=["figure", "value"])


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
