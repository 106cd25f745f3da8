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


def test_the_size_line_is_a_chip_toned_by_availability():
    from dashboard.widgets.product_card import card_html, size_chip

    assert size_chip("") is None and size_chip(None) is None
    assert size_chip("size 38: 1 in Paris; 2 online") == ("Size 38: 1 in Paris; 2 online", "good")
    assert size_chip("no 38 in Paris; 2 online") == ("No 38 in Paris; 2 online", "warn")
    assert size_chip("size not on file") == ("Size not on file", "muted")
    html = card_html({"name": "Pumps", "size_stock": "size 38: 1 in <Paris>; none online"})
    assert "Size 38: 1 in &lt;Paris&gt;; none online" in html
