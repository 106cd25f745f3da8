"""Card helpers: dates from the data (naive UTC) and from the database (aware) mix safely."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from dashboard.widgets.cards import when


def test_when_compares_aware_and_naive_timestamps():
    aware = dt.datetime(2026, 10, 20, 15, 0, tzinfo=dt.UTC)
    assert when(aware, as_of=pd.Timestamp("2026-10-31")) == "20 Oct 2026 (11 days ago)"
    assert when(pd.Timestamp("2026-10-20"), as_of=pd.Timestamp("2026-10-31", tz="UTC")) == (
        "20 Oct 2026 (11 days ago)"
    )
    assert when(None) == "no activity yet"
    assert when(pd.Timestamp("2026-10-31 09:00"), as_of=pd.Timestamp("2026-10-31")).endswith(
        "(today)"
    )
