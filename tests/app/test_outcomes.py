"""Outcomes: attribution windows, acceptance, holdout assignment and lift intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.app.outcomes import (
    acceptance,
    attribute_shares,
    conversion_summary,
    holdout_lift,
    newcombe_interval,
    wilson_interval,
)
from core.suggest.holdout import holdout_mask, in_holdout

PRODUCTS = pd.DataFrame(
    {
        "product_id": ["p1", "p2", "p3", "p4"],
        "designer": ["A", "A", "B", "A"],
        "subcategory": ["tote", "tote", "tote", "loafer"],
    }
)


def _buys(rows):
    return pd.DataFrame(
        [
            {
                "client_id": c,
                "product_id": p,
                "event_type": "purchase",
                "timestamp": pd.Timestamp(t),
            }
            for c, p, t in rows
        ]
    )


def _shared(rows):
    return pd.DataFrame(
        [
            {"share_id": s, "client_id": c, "product_id": p, "shared_at": pd.Timestamp(t)}
            for s, c, p, t in rows
        ]
    )


def test_purchase_inside_window_counts_and_outside_does_not():
    shared = _shared(
        [
            (1, "c1", "p1", "2026-03-01"),
            (2, "c2", "p1", "2026-03-01"),
            (3, "c3", "p1", "2026-03-01"),
        ]
    )
    events = _buys(
        [
            ("c1", "p1", "2026-03-10"),  # inside 14 days
            ("c2", "p1", "2026-03-20"),  # 19 days later: outside
            ("c3", "p1", "2026-02-20"),
        ]
    )  # before the share
    out = attribute_shares(shared, events, PRODUCTS, window_days=14)
    assert list(out["converted"]) == [True, False, False]
    assert out.loc[0, "match"] == "exact"
    assert out.loc[0, "converted_at"] == pd.Timestamp("2026-03-10")
    wider = attribute_shares(shared, events, PRODUCTS, window_days=30)
    assert list(wider["converted"]) == [True, True, False]


def test_close_variant_counts_only_within_designer_and_subcategory():
    shared = _shared(
        [
            (1, "c1", "p1", "2026-03-01"),
            (2, "c2", "p1", "2026-03-01"),
            (3, "c3", "p1", "2026-03-01"),
        ]
    )
    events = _buys(
        [
            ("c1", "p2", "2026-03-05"),  # same designer + subcategory
            ("c2", "p3", "2026-03-05"),  # other designer
            ("c3", "p4", "2026-03-05"),
        ]
    )  # other subcategory
    out = attribute_shares(shared, events, PRODUCTS)
    assert list(out["converted"]) == [True, False, False]
    assert out.loc[0, "match"] == "variant"
    assert not attribute_shares(shared, events, PRODUCTS, variants=False)["converted"].any()
    s = conversion_summary(out)
    assert (s["items"], s["items_converted"], s["shares"], s["shares_converted"]) == (3, 1, 3, 1)


def test_acceptance_per_group():
    df = pd.DataFrame(
        {"reason_type": ["item", "item", "item", "attribute"], "kept": [True, True, False, False]}
    )
    out = acceptance(df, "reason_type").set_index("reason_type")
    assert out.loc["item", "acceptance"] == pytest.approx(2 / 3)
    assert out.loc["attribute", "removed"] == 1
    assert (out["ci_low"] <= out["acceptance"]).all() and (
        out["acceptance"] <= out["ci_high"]
    ).all()
    with pytest.raises(ValueError, match="associate_id"):
        acceptance(df, "associate_id")


def test_holdout_is_stable_and_near_its_share():
    ids = [f"C{i:05d}" for i in range(20000)]
    mask = holdout_mask(ids, 0.1)
    assert 0.09 < mask.mean() < 0.11
    assert np.array_equal(mask, holdout_mask(ids, 0.1))
    assert not holdout_mask(ids[:100], 0.0).any()
    # Growing the share only adds clients: nobody leaves the holdout.
    assert (mask <= holdout_mask(ids, 0.2)).all()
    with pytest.raises(ValueError, match="share"):
        in_holdout("C1", 1.5)


def test_wilson_and_newcombe_against_known_values():
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-3)
    lo, hi = wilson_interval(5, 10)
    assert (lo, hi) == pytest.approx((0.2366, 0.7634), abs=1e-3)
    # Newcombe (1998) example: 56/70 vs 48/80 -> difference 0.2, CI (0.0524, 0.3339).
    lo, hi = newcombe_interval(56, 70, 48, 80)
    assert (lo, hi) == pytest.approx((0.0524, 0.3339), abs=1e-3)


def test_lift_report_counts_conversions_per_group():
    contacted = pd.DataFrame(
        {
            "client_id": ["a", "b", "c", "d"],
            "contacted_at": pd.Timestamp("2026-03-01"),
            "holdout": [False, False, True, True],
        }
    )
    events = _buys([("a", "p1", "2026-03-03"), ("c", "p1", "2026-04-30")])
    rep = holdout_lift(contacted, events, window_days=14)
    assert (rep.model_clients, rep.model_buyers, rep.holdout_clients, rep.holdout_buyers) == (
        2,
        1,
        2,
        0,
    )
    assert rep.difference == pytest.approx(0.5)
    assert rep.difference_ci[0] < 0.5 < rep.difference_ci[1]
    assert list(rep.to_frame()["buyers"]) == [1, 0]


def test_return_rates_of_suggested_then_bought_against_other_purchases():
    from core.app.outcomes import return_rates

    t = pd.Timestamp("2026-03-01")
    day = pd.Timedelta(days=1)
    events = pd.DataFrame(
        {
            "client_id": ["c1", "c1", "c2", "c2", "c2", "c3", "c3"],
            "product_id": ["p1", "p1", "p2", "p2", "p3", "p4", "p4"],
            "event_type": ["purchase", "return", "purchase", "return", "purchase", "return",
                           "purchase"],
            "timestamp": [t, t + 3 * day, t, t + 2 * day, t, t - day, t],
            "reason": ["", "fit", "", "quality", "", "fit", ""],
        }
    )  # fmt: skip
    shared = pd.DataFrame(
        {
            "share_id": ["s1", "s2"],
            "client_id": ["c1", "c2"],
            "product_id": ["p1", "p3"],
            "shared_at": [t - day, t - day],
        }
    )
    attributed = attribute_shares(shared, events, PRODUCTS, window_days=7, variants=False)
    out = return_rates(attributed, events).set_index("purchases")
    # suggested then bought: c1's p1 (returned for fit) and c2's p3 (kept)
    assert out.loc[
        "suggested, then bought", ["bought", "returned", "returned_for_fit"]
    ].tolist() == [2, 1, 1]
    assert out.loc["suggested, then bought", "return_rate"] == 0.5
    # others: c2's p2 (returned for quality), c3's p4 (a return before it does not count)
    assert out.loc["other purchases", ["bought", "returned", "returned_for_fit"]].tolist() == [
        2,
        1,
        0,
    ]
    lo, hi = out.loc["other purchases", "return_ci"]
    assert lo < 0.5 < hi
    # without a reason column nothing is for fit
    plain = return_rates(attributed, events.drop(columns=["reason"]))
    assert plain["returned_for_fit"].tolist() == [0, 0]
