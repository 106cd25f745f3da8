"""The global-time and last-N protocols on a tiny log where every split is known exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data.dataset import Dataset
from core.data.schema import COLS
from core.engine.evaluation import (
    evaluate,
    global_time_split,
    last_n_split,
    make_split,
    seen_matrix,
    temporal_split,
)
from tests.engine.oracle import Oracle

T0 = pd.Timestamp("2026-01-01 12:00")


def _day(d: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(days=d)


def _log() -> Dataset:
    rows = [
        # client, product, type, day
        ("c1", "p1", "purchase", 0),
        ("c1", "p2", "view", 1),
        ("c1", "p3", "purchase", 5),
        ("c1", "p2", "purchase", 9),  # seen (viewed) in training: never relevant
        ("c1", "p4", "purchase", 9),
        ("c2", "p1", "purchase", 1),
        ("c2", "p3", "purchase", 2),
        ("c2", "p5", "purchase", 9),  # p5: no training event at all (a cold item)
        ("c2", "p6", "purchase", 9),
        ("c2", "p6", "return", 10),  # returned: not relevant
        ("c3", "p1", "purchase", 4),
        ("c3", "p4", "view", 3),
        ("c3", "p4", "purchase", 10),  # seen: c3 has nothing relevant
        ("c4", "p2", "purchase", 9),  # no training history: not evaluated
        ("c5", "p6", "purchase", 1),
        ("c5", "p1", "purchase", 2),
        ("c5", "p2", "purchase", 6),
        ("c5", "p7", "purchase", 8),  # exactly at the global cutoff: test side
    ]
    events = pd.DataFrame(
        {
            COLS.client_id: [r[0] for r in rows],
            COLS.product_id: [r[1] for r in rows],
            "event_type": [r[2] for r in rows],
            "timestamp": [_day(r[3]) for r in rows],
        }
    )
    products = pd.DataFrame({"product_id": [f"p{i}" for i in range(1, 9)]})
    return Dataset.from_frames(products, events)


def _pairs(frame: pd.DataFrame) -> set[tuple[str, str]]:
    return set(map(tuple, frame[[COLS.client_id, COLS.product_id]].to_numpy()))


# ------------------------------------------------------------- global time
def test_global_time_split_cuts_the_last_fifth_of_the_span() -> None:
    ds = _log()
    split = global_time_split(ds, 0.2, 0.5)
    # events span day 0 to day 10 (noon): the last 20 % starts at day 8 noon
    assert split.protocol == "global_time"
    assert split.cutoff == _day(8)
    assert split.end == pd.Timestamp("2026-01-12")
    assert (split.train.events["timestamp"] < split.cutoff).all()
    assert len(split.train.events) == 10 and split.train.as_of == split.cutoff
    assert _pairs(split.test) == {("c1", "p4"), ("c2", "p5"), ("c5", "p7")}
    assert list(split.test_clients) == ["c1", "c2", "c5"]
    # every pair with any training event is excluded, views included
    assert _pairs(split.known) == {
        ("c1", "p1"),
        ("c1", "p2"),
        ("c1", "p3"),
        ("c2", "p1"),
        ("c2", "p3"),
        ("c3", "p1"),
        ("c3", "p4"),
        ("c5", "p6"),
        ("c5", "p1"),
        ("c5", "p2"),
    }
    assert split.summary()["test_fraction"] == 0.2


def test_global_time_validation_is_carved_from_training_only() -> None:
    ds = _log()
    split = global_time_split(ds, 0.2, 0.5)
    val = split.validation
    assert val is not None and val.protocol == "global_time"
    # training spans day 0 to day 6: half of it -> day 3 noon
    assert val.cutoff == _day(3) and val.end == split.cutoff
    assert val.train.events["timestamp"].max() < val.cutoff
    # c1 (p1, viewed p2) and c5 (p6, p1) have two training items; c3 has none before day 3
    assert _pairs(val.test) == {("c1", "p3"), ("c5", "p2")}
    # test events never reach the validation split
    assert val.train.events["timestamp"].max() < split.cutoff
    assert global_time_split(ds, 0.2, 0).validation is None


def test_min_train_items_decides_who_is_evaluated() -> None:
    ds = _log()
    one = global_time_split(ds, 0.2, 0, min_train_items=1)
    assert _pairs(one.test) == {("c1", "p4"), ("c2", "p5"), ("c5", "p7")}
    three = global_time_split(ds, 0.2, 0, min_train_items=3)
    assert _pairs(three.test) == {("c1", "p4"), ("c5", "p7")}


# ------------------------------------------------------------------ last N
def test_last_n_holds_out_each_clients_last_interactions() -> None:
    ds = _log()
    split = last_n_split(ds, 1, 1)
    assert split.protocol == "last_n" and split.params == {"n_test": 1}
    # c1: the basket of day 9 (p2, p4) is test; c2: day 9 and the return; c3: day 10;
    # c4 has no training history left, so all its events stay in training
    assert _pairs(split.test) == {("c1", "p4"), ("c2", "p5"), ("c5", "p7")}
    train = _pairs(split.train.events)
    assert ("c4", "p2") in train
    assert {("c1", "p4"), ("c2", "p5"), ("c2", "p6"), ("c5", "p7")}.isdisjoint(train)
    assert len(split.train.events) == 11
    # the training data's "now" is the day after its last event (c4's purchase on day 9)
    assert split.cutoff == pd.Timestamp("2026-01-11") and split.train.as_of == split.cutoff
    assert split.end == pd.Timestamp("2026-01-12")


def test_last_n_keeps_a_basket_whole_and_counts_deeper() -> None:
    ds = _log()
    # c1's two last purchases share day 9: n=2 cuts at the same time as n=1
    assert _pairs(last_n_split(ds, 2, 0).test) >= {("c1", "p4")}
    three = last_n_split(ds, 3, 0)
    # c1: p3 (day 5) and the day-9 basket; p2 was viewed before -> not relevant
    assert {p for c, p in _pairs(three.test) if c == "c1"} == {"p3", "p4"}
    # c5: p1, p2, p7 held out leaves only p6 in training -> not split, not evaluated
    assert "c5" not in set(three.test[COLS.client_id])
    assert ("c5", "p7") in _pairs(three.train.events)


def test_last_n_validation_uses_each_clients_training_history() -> None:
    ds = _log()
    split = last_n_split(ds, 1, 1)
    val = split.validation
    assert val is not None and val.end == split.cutoff
    # c1: p3 (day 5) held out, p1 and viewed p2 remain; c5: p2 held out, p6 and p1 remain;
    # c2 and c3 would keep a single product and are not split
    assert _pairs(val.test) == {("c1", "p3"), ("c5", "p2")}
    assert _pairs(val.train.events) <= _pairs(split.train.events)
    assert not {("c1", "p3"), ("c5", "p2")} & _pairs(val.train.events)


def test_protocol_errors_are_explicit() -> None:
    ds = _log()
    with pytest.raises(ValueError, match="test_fraction must be a number"):
        global_time_split(ds, 1.0)
    with pytest.raises(ValueError, match="val_fraction must be a number"):
        global_time_split(ds, 0.2, -0.1)
    with pytest.raises(ValueError, match="n_test must be a whole number >= 1"):
        last_n_split(ds, 0)
    with pytest.raises(ValueError, match="relevant_events must be event types"):
        last_n_split(ds, 1, relevant_events=("return",))
    with pytest.raises(ValueError, match="protocol must be one of"):
        make_split(ds, "random")
    assert make_split(ds, "last_n", n_test=1).protocol == "last_n"
    assert (
        make_split(ds, "temporal", test_days=3, val_days=0).cutoff
        == temporal_split(ds, 3, 0).cutoff
    )


def test_seen_matrix_is_binary_over_every_event() -> None:
    ds = _log()
    train = global_time_split(ds, 0.2, 0).train
    m = seen_matrix(train)
    assert m.shape == (5, 8)
    assert set(np.unique(m.data)) == {1.0}
    cid, pid = train.client_ids, train.product_ids
    assert m[cid.to_internal_one("c1"), pid.to_internal_one("p2")] == 1.0  # a view counts
    assert m.sum() == 10


# ------------------------------------------------------- through evaluate
def test_evaluate_reports_cold_items_ranked_alone_and_latency() -> None:
    ds = _log()
    split = global_time_split(ds, 0.2, 0)
    report = evaluate(
        {"oracle": lambda: Oracle(split.test)},
        split=split,
        k_list=(1, 2),
        cold_only=True,
        latency_clients=2,
    )
    slices = report.slices.set_index("slice")
    # p5 (c2) and p7 (c5) are cold; p4 was viewed by c3 before the cutoff
    assert slices.loc["cold_products", "n_clients"] == 2
    assert slices.loc["cold_only", "n_pairs"] == 2
    assert slices.loc["cold_only", "Recall@1"] == 1.0
    assert {"latency_ms_p50", "latency_ms_p95"} <= set(report.metrics.columns)
    assert report.protocol["protocol"] == "global_time"
    assert "Global time split" in report.to_markdown()


def test_cold_only_ranks_nothing_but_cold_items() -> None:
    ds = _log()
    split = last_n_split(ds, 1, 0)
    # a model that prefers c1's warm relevant item p4 still finds nothing cold for c1
    report = evaluate(
        {"oracle": lambda: Oracle(split.test)}, split=split, k_list=(1,), cold_only=True
    )
    slices = report.slices.set_index("slice")
    # cold products of this split: p5 and p7 (p4 was viewed by c3 in training)
    assert slices.loc["cold_only", "n_clients"] == 2
    assert slices.loc["cold_only", "Recall@1"] == 1.0
    assert report.metrics.loc["oracle", "Recall@1"] == 1.0
