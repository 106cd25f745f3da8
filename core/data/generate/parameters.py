"""The generator's parameters: defaults, allowed ranges (declared once) and their checks."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from core.data.generate.segments import SEGMENT_NAMES, SEGMENTS

Progress = Callable[[str, float], None]

DEFAULT_AS_OF = pd.Timestamp("2026-11-01")
DEFAULT_N_CLIENTS = 5_000
DEFAULT_N_PRODUCTS = 1_200
DEFAULT_EVENTS_PER_CLIENT = 30.0
WINDOW_DAYS = 730  # events span two years before as_of
RISING_DAYS = 42  # the rising segment ramps up over the last six weeks
COLD_PRODUCT_DAYS = 30
COLD_PRODUCT_SHARE = 0.04
COLD_CLIENT_SHARE = 0.05
SEED_BLOCK = 100  # clients per random stream; chunks are whole blocks

# Allowed ranges, declared once (checked by check_int and check_events_per_client).
LIMITS: dict[str, tuple[float, float]] = {
    "n_clients": (10, 50_000_000),
    "n_products": (50, 5_000_000),
    "events_per_client": (0.5, 10_000),
    "chunk_clients": (1, 50_000_000),
    "seed": (0, 2**63 - 1),
}

CATALOGUE_STREAM, CLIENT_STREAM = 0, 1
BUCKET_DAYS = 30
N_BUCKETS = math.ceil(WINDOW_DAYS / BUCKET_DAYS)
DAY = 86_400


def check_int(name: str, value: object) -> int:
    """``value`` as an int within ``LIMITS[name]``, else a ``ValueError`` naming it."""
    lo, hi = LIMITS[name]
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be between {lo:,.0f} and {hi:,.0f}, got {value:,}")
    return int(value)


def check_events_per_client(value: float | None) -> float:
    """Mean events per client (the default for ``None``), within its limits."""
    if value is None:
        return DEFAULT_EVENTS_PER_CLIENT
    lo, hi = LIMITS["events_per_client"]
    if not isinstance(value, int | float) or not math.isfinite(value) or not lo <= value <= hi:
        raise ValueError(
            f"events_per_client must be a number between {lo} and {hi:,}, got {value!r}"
        )
    return float(value)


def check_n_events(n_events: int | None, n_clients: int) -> float:
    """Events per client for ``n_events`` in all."""
    if n_events is None:
        return DEFAULT_EVENTS_PER_CLIENT
    lo, hi = LIMITS["events_per_client"]
    if isinstance(n_events, bool) or not isinstance(n_events, int | np.integer):
        raise ValueError(f"n_events must be an integer or None, got {n_events!r}")
    if not lo <= n_events / n_clients <= hi:
        raise ValueError(
            f"n_events must give between {lo} and {hi:,} events per client "
            f"(here {lo * n_clients:,.0f} to {hi * n_clients:,.0f}), got {n_events:,}"
        )
    return n_events / n_clients


def check_as_of(as_of: pd.Timestamp | str) -> pd.Timestamp:
    """The reference date: a tz-naive timestamp at midnight, in microseconds."""
    try:
        ts = pd.Timestamp(as_of)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"as_of must be a date, got {as_of!r}") from exc
    if pd.isna(ts):
        raise ValueError("as_of must be a date, got a missing value")
    if ts.tzinfo is not None:
        raise ValueError("as_of must be timezone-naive (local store time); drop the timezone")
    return ts.normalize().as_unit("us")


def check_rising(rising_segment: str | None) -> int:
    """The index of the rising segment in :data:`SEGMENT_NAMES`, ``-1`` for none."""
    if rising_segment is None:
        return -1
    if rising_segment not in SEGMENTS:
        raise ValueError(
            f"rising_segment must be one of {', '.join(SEGMENT_NAMES)} or None, "
            f"got {rising_segment!r}"
        )
    return SEGMENT_NAMES.index(rising_segment)


def no_progress(stage: str, fraction: float) -> None:
    """The default progress callback: reports nothing."""
    return None
