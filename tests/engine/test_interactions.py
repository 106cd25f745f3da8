"""The interaction matrix on hand-made data where every value is known."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from core.data.dataset import Dataset
from core.data.schema import EVENT_TYPES
from core.engine.config import EngineConfig
from core.engine.events import FEW_EVENTS
from core.engine.interactions import build_interactions
from core.exceptions import UnknownIdError

AS_OF = pd.Timestamp("2026-01-01")
DAY = pd.Timedelta(days=1)
# The hand-computed expectations assume a 180-day half-life and no item normalisation.
CLASSIC = EngineConfig(half_life_days=180.0, item_normalization="none")
LINEAR = CLASSIC.with_updates(confidence="linear")


def _products() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "product_id": ["p1", "p2", "p3", "p4"],
            "name": ["tote", "scarf", "coat", "ring"],
            "category": ["bags", "accessories", "outerwear", "jewellery"],
            "price": [2000.0, 400.0, 3000.0, 5000.0],
        }
    )


def _events(extra: list[tuple] | None = None) -> pd.DataFrame:
    rows = [
        # client, product, type, timestamp, is_gift
        ("c1", "p1", "purchase", AS_OF, False),  # 5
        ("c1", "p2", "view", AS_OF - 180 * DAY, False),  # 1 * 0.5
        ("c2", "p1", "purchase", AS_OF - 360 * DAY, False),  # 5 * 0.25, returned
        ("c2", "p1", "return", AS_OF - 350 * DAY, False),
        ("c2", "p3", "wishlist", AS_OF, False),  # 3
        ("c3", "p2", "purchase", AS_OF, True),  # gift: popularity only
        ("c3", "p3", "try_on", AS_OF - 180 * DAY, False),  # 3 * 0.5
        ("c3", "p4", "view", AS_OF + 5 * DAY, False),  # after as_of: ignored
    ]
    rows += extra or []
    return pd.DataFrame(
        rows, columns=["client_id", "product_id", "event_type", "timestamp", "is_gift"]
    )


def _dataset(extra: list[tuple] | None = None) -> Dataset:
    return Dataset.from_frames(_products(), _events(extra))


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return _dataset()


def _dense(inter, config=None) -> np.ndarray:
    return inter.matrix.toarray().astype(np.float64)


def test_weights_decay_returns_and_gifts_are_exact(dataset: Dataset) -> None:
    inter = build_interactions(dataset, LINEAR, as_of=AS_OF)
    expected = np.array(
        [
            [5.0, 0.5, 0.0, 0.0],
            [0.0, 0.0, 3.0, 0.0],  # the returned purchase leaves nothing
            [0.0, 0.0, 1.5, 0.0],  # the gift is not her taste; the later view is ignored
        ]
    )
    np.testing.assert_allclose(_dense(inter), expected, rtol=1e-6)
    np.testing.assert_allclose(inter.strength, [5.5, 3.0, 1.5])
    # Demand counts gifts, nets returns and ignores the future.
    np.testing.assert_allclose(inter.popularity, [5.0, 5.5, 4.5, 0.0])
    assert (inter.matrix.data > 0).all()


def test_strongest_event_per_cell(dataset: Dataset) -> None:
    inter = build_interactions(dataset, LINEAR, as_of=AS_OF)
    codes = inter.strongest.toarray()
    assert EVENT_TYPES[codes[0, 0]] == "purchase"
    assert EVENT_TYPES[codes[0, 1]] == "view"
    assert EVENT_TYPES[codes[1, 2]] == "wishlist"
    assert EVENT_TYPES[codes[2, 2]] == "try_on"
    assert inter.strongest.nnz == inter.matrix.nnz


def test_returns_and_gifts_can_be_switched_off(dataset: Dataset) -> None:
    config = LINEAR.with_updates(returns_cancel=False, exclude_gifts=False)
    m = _dense(build_interactions(dataset, config, as_of=AS_OF))
    assert m[1, 0] == pytest.approx(1.25)
    assert m[2, 1] == pytest.approx(5.0)


def test_log1p_confidence(dataset: Dataset) -> None:
    m = _dense(build_interactions(dataset, CLASSIC, as_of=AS_OF))
    assert m[0, 0] == pytest.approx(math.log1p(5.0), rel=1e-6)
    assert m[0, 1] == pytest.approx(math.log1p(0.5), rel=1e-6)


def test_idf_normalisation(dataset: Dataset) -> None:
    m = _dense(build_interactions(dataset, LINEAR.with_updates(item_normalization="idf"), AS_OF))
    idf1 = math.log(4 / 2) + 1  # three clients, one with a cell
    idf2 = math.log(4 / 3) + 1  # two with a cell
    assert m[0, 0] == pytest.approx(5.0 * idf1, rel=1e-6)
    assert m[1, 2] == pytest.approx(3.0 * idf2, rel=1e-6)


def test_bm25_normalisation(dataset: Dataset) -> None:
    config = LINEAR.with_updates(item_normalization="bm25", bm25_k1=1.2, bm25_b=0.75)
    m = _dense(build_interactions(dataset, config, AS_OF))
    avg = (5.5 + 3.0 + 1.5) / 3
    norm = 0.25 + 0.75 * 5.5 / avg
    expected = 5.0 * 2.2 / (1.2 * norm + 5.0) * (math.log(2) + 1)
    assert m[0, 0] == pytest.approx(expected, rel=1e-6)


def test_events_after_as_of_are_ignored() -> None:
    later = _dataset([("c1", "p4", "purchase", AS_OF + 30 * DAY, False)])
    a = build_interactions(later, LINEAR, as_of=AS_OF)
    b = build_interactions(_dataset(), LINEAR, as_of=AS_OF)
    np.testing.assert_array_equal(_dense(a), _dense(b))
    np.testing.assert_array_equal(a.popularity, b.popularity)


def test_default_as_of_is_the_dataset_s(dataset: Dataset) -> None:
    inter = build_interactions(dataset, LINEAR)
    assert inter.as_of == dataset.as_of == AS_OF + 5 * DAY
    assert inter.matrix[2, 3] == pytest.approx(1.0)


def test_fold_in_equals_a_rebuild_with_the_event() -> None:
    new = [("c2", "p2", "try_on", AS_OF - 10 * DAY, False), ("c2", "p1", "purchase", AS_OF, False)]
    frame = pd.DataFrame(
        new, columns=["client_id", "product_id", "event_type", "timestamp", "is_gift"]
    )
    for config in (CLASSIC, LINEAR):
        base = build_interactions(_dataset(), config, as_of=AS_OF)
        refit = build_interactions(_dataset(new), config, as_of=AS_OF)
        rows = base.fold_in(["c2", "c1", "c2"], frame)
        np.testing.assert_allclose(rows.matrix[0].toarray(), refit.matrix[1].toarray(), rtol=1e-6)
        np.testing.assert_allclose(rows.matrix[1].toarray(), base.matrix[0].toarray())
        np.testing.assert_allclose(rows.matrix[2].toarray(), refit.matrix[1].toarray(), rtol=1e-6)
        np.testing.assert_array_equal(rows.strongest[0].toarray(), refit.strongest[1].toarray())
        assert rows.strength[0] == pytest.approx(refit.strength[1])


def test_folded_in_return_cancels_a_fitted_purchase(dataset: Dataset) -> None:
    base = build_interactions(dataset, LINEAR, as_of=AS_OF)
    ret = pd.DataFrame({"client_id": ["c1"], "product_id": ["p1"], "event_type": ["return"]})
    row = base.client_rows(["c1"], ret).toarray()
    np.testing.assert_allclose(row, [[0.0, 0.5, 0.0, 0.0]], rtol=1e-6)


def test_unknown_client_with_events_gets_a_row(dataset: Dataset) -> None:
    base = build_interactions(dataset, LINEAR, as_of=AS_OF)
    ev = pd.DataFrame({"client_id": ["new"], "product_id": ["p3"], "event_type": ["wishlist"]})
    row = base.client_rows(["new"], ev).toarray()
    np.testing.assert_allclose(row, [[0.0, 0.0, 3.0, 0.0]])  # undated: happens now
    assert base.history_strength(["new"], ev)[0] == pytest.approx(3.0)


def test_unknown_ids_raise_with_the_id(dataset: Dataset) -> None:
    base = build_interactions(dataset, LINEAR, as_of=AS_OF)
    with pytest.raises(UnknownIdError, match="'ghost'"):
        base.client_rows(["c1", "ghost"])
    ev = pd.DataFrame({"client_id": ["c1"], "product_id": ["nope"], "event_type": ["view"]})
    with pytest.raises(UnknownIdError, match="'nope'"):
        base.client_rows(["c1"], ev)
    bad = ev.assign(product_id="p1", event_type="stare")
    with pytest.raises(ValueError, match="stare"):
        base.client_rows(["c1"], bad)


def test_store_popularity_falls_back_to_the_home_store(dataset: Dataset) -> None:
    inter = build_interactions(dataset, LINEAR, as_of=AS_OF)
    store = inter.client_store("c1")
    assert store is not None
    np.testing.assert_allclose(inter.store_popularity(store), inter.popularity)
    with pytest.raises(UnknownIdError, match="'mars'"):
        inter.store_popularity("mars")


def test_few_folded_in_events_read_like_many(dataset: Dataset) -> None:
    """A request's few events (read value by value) give the rows many events would."""
    base = build_interactions(dataset, LINEAR, as_of=AS_OF)
    few = pd.DataFrame(
        {
            "client_id": ["c1", "c2", "c2", "new", "c1"],
            "product_id": ["p3", "p2", "p4", "p1", "p2"],
            "event_type": ["wishlist", "purchase", "view", "try_on", "return"],
            "timestamp": [
                "2025-12-01",
                pd.Timestamp("2025-11-02 10:00", tz="Europe/Paris"),
                None,
                AS_OF + 3 * DAY,  # in the future: counts as of as_of
                (AS_OF - 40 * DAY).to_pydatetime(),
            ],
            "is_gift": [True, False, None, False, False],
        },
    )
    # Over FEW_EVENTS events takes the column-wise path; the padding is another client's.
    n_pad = FEW_EVENTS + 1
    padding = pd.DataFrame(
        {
            "client_id": ["c3"] * n_pad,
            "product_id": ["p1"] * n_pad,
            "event_type": ["view"] * n_pad,
            "timestamp": [AS_OF - DAY] * n_pad,
            "is_gift": [False] * n_pad,
        }
    )
    many = pd.concat([few, padding], ignore_index=True)
    ids = ["c1", "c2", "new"]
    a, b = base.fold_in(ids, few), base.fold_in(ids, many)
    np.testing.assert_allclose(a.matrix.toarray(), b.matrix.toarray(), rtol=1e-12)
    np.testing.assert_array_equal(a.strongest.toarray(), b.strongest.toarray())
    np.testing.assert_allclose(a.strength, b.strength, rtol=1e-12)
    assert a.matrix[2, 0] > 0  # the unknown client's try-on
    assert a.matrix[0, 2] == 0  # a gift is not the buyer's taste
    assert a.matrix[1, 1] > base.matrix[1, 1]  # c2's purchase, an hour off if tz were ignored
    for frame in (few, many):
        with pytest.raises(UnknownIdError, match="'p9'"):
            base.fold_in(["c1"], frame.assign(product_id="p9"))
        with pytest.raises(ValueError, match="stare"):
            base.fold_in(["c1"], frame.assign(event_type="stare"))


def test_popularity_exponent_damps_popular_products(dataset: Dataset) -> None:
    # products with a cell: p1 (c1), p2 (c1), p3 (c2, c3): mean df 4/3
    config = LINEAR.with_updates(popularity_exponent=1.0)
    m = _dense(build_interactions(dataset, config, AS_OF))
    typical = 1 + 4 / 3
    assert m[0, 0] == pytest.approx(5.0 * typical / 2, rel=1e-6)  # p1: df 1
    assert m[1, 2] == pytest.approx(3.0 * typical / 3, rel=1e-6)  # p3: df 2, damped more
    # with idf the two multiply; at 0 the matrix is the plain one
    both = _dense(build_interactions(dataset, config.with_updates(item_normalization="idf"), AS_OF))
    assert both[1, 2] == pytest.approx(3.0 * (math.log(4 / 3) + 1) * typical / 3, rel=1e-6)
    off = _dense(build_interactions(dataset, LINEAR.with_updates(popularity_exponent=0.0), AS_OF))
    np.testing.assert_array_equal(off, _dense(build_interactions(dataset, LINEAR, AS_OF)))


def test_popularity_exponent_is_reused_when_folding_in(dataset: Dataset) -> None:
    config = LINEAR.with_updates(popularity_exponent=0.5)
    base = build_interactions(dataset, config, as_of=AS_OF)
    row = base.client_rows(["c1"], None).toarray()
    np.testing.assert_allclose(row, base.matrix[0].toarray(), rtol=1e-6)
    new = pd.DataFrame(
        {"client_id": ["c1"], "product_id": ["p3"], "event_type": ["view"], "timestamp": [AS_OF]}
    )
    folded = base.client_rows(["c1"], new).toarray()
    assert folded[0, 2] == pytest.approx(1.0 * base.idf[2], rel=1e-6)  # the fit's weight of p3


# ------------------------------------------------- recency from the client's latest event
AWAY = [
    # c4 was last seen 360 days before AS_OF: a purchase then, a view half a life earlier.
    ("c4", "p3", "purchase", AS_OF - 360 * DAY, False),
    ("c4", "p4", "view", AS_OF - 540 * DAY, False),
]


def test_a_client_s_taste_ages_from_their_latest_event() -> None:
    ds = _dataset(AWAY)
    by_client = _dense(build_interactions(ds, LINEAR, as_of=AS_OF))
    by_calendar = _dense(build_interactions(ds, LINEAR.with_updates(recency="calendar"), AS_OF))
    # Ages 0 and 180 days from her own latest event; 360 and 540 from the fit date.
    np.testing.assert_allclose(by_client[3], [0.0, 0.0, 5.0, 0.5], rtol=1e-6)
    np.testing.assert_allclose(by_calendar[3], [0.0, 0.0, 1.25, 0.125], rtol=1e-6)
    # Clients seen at the fit date have the same rows either way.
    np.testing.assert_allclose(by_client[:3], by_calendar[:3], rtol=1e-6)
    inter = build_interactions(ds, LINEAR, as_of=AS_OF)
    np.testing.assert_allclose(inter.latest_age, [0.0, 0.0, 0.0, 360.0])


def test_recency_leaves_popularity_aged_from_the_fit_date() -> None:
    ds = _dataset(AWAY)
    a = build_interactions(ds, LINEAR, as_of=AS_OF)
    b = build_interactions(ds, LINEAR.with_updates(recency="calendar"), as_of=AS_OF)
    np.testing.assert_allclose(a.popularity, b.popularity)
    assert a.popularity[2] == pytest.approx(4.5 + 1.25)  # c4's purchase 360 days ago


def test_a_newer_folded_event_reages_the_fitted_row_like_a_rebuild() -> None:
    new = [("c4", "p1", "wishlist", AS_OF - 90 * DAY, False)]
    frame = pd.DataFrame(
        new, columns=["client_id", "product_id", "event_type", "timestamp", "is_gift"]
    )
    for config in (CLASSIC, LINEAR):  # unnormalised: a rebuild would move idf and lengths
        base = build_interactions(_dataset(AWAY), config, as_of=AS_OF)
        refit = build_interactions(_dataset(AWAY + new), config, as_of=AS_OF)
        rows = base.fold_in(["c4", "c1"], frame)
        np.testing.assert_allclose(rows.matrix[0].toarray(), refit.matrix[3].toarray(), rtol=1e-6)
        assert rows.strength[0] == pytest.approx(refit.strength[3])
        np.testing.assert_allclose(rows.matrix[1].toarray(), base.matrix[0].toarray())
    # Linear and unnormalised: the purchase 270 days before the new reference keeps 2 ** -1.5.
    base = build_interactions(_dataset(AWAY), LINEAR, as_of=AS_OF)
    row = base.fold_in(["c4"], frame).matrix.toarray()[0]
    np.testing.assert_allclose(row, [3.0, 0.0, 5.0 * 2**-1.5, 0.5 * 2**-1.5], rtol=1e-6)


def test_few_events_with_a_datetime_column_read_like_many(dataset: Dataset) -> None:
    """A served client's frame (datetime64 and bool columns, a missing date) folds in like
    many, and so do the same events as Arrow rows (a per-client reader's), few or many."""
    base = build_interactions(dataset, LINEAR, as_of=AS_OF)
    stamps = [AS_OF - 30 * DAY, pd.NaT, AS_OF + 3 * DAY, AS_OF - 400 * DAY]
    few = pd.DataFrame(
        {
            "client_id": ["c1", "c2", "new", "new"],
            "product_id": ["p3", "p4", "p1", "p2"],
            "event_type": ["wishlist", "view", "try_on", "purchase"],
            "timestamp": pd.array(stamps, dtype="datetime64[ns]"),
            "is_gift": np.array([False, False, False, True]),
        }
    )
    as_objects = few.astype({"timestamp": object, "is_gift": object})  # value by value
    n_pad = FEW_EVENTS + 1
    padding = pd.DataFrame(
        {
            "client_id": ["c3"] * n_pad,
            "product_id": ["p1"] * n_pad,
            "event_type": ["view"] * n_pad,
            "timestamp": pd.array([AS_OF - DAY] * n_pad, dtype="datetime64[ns]"),
            "is_gift": np.zeros(n_pad, dtype=bool),
        }
    )
    many = pd.concat([few, padding], ignore_index=True)
    ids = ["c1", "c2", "new"]
    arrow = [pa.Table.from_pandas(f, preserve_index=False) for f in (few, many)]
    rows = [base.fold_in(ids, frame) for frame in (few, as_objects, many, *arrow)]
    for other in rows[1:]:
        np.testing.assert_allclose(rows[0].matrix.toarray(), other.matrix.toarray(), rtol=1e-12)
        np.testing.assert_allclose(rows[0].strength, other.strength, rtol=1e-12)
    # The undated view happens now; the gift is not the buyer's taste.
    assert rows[0].matrix[1, 3] == pytest.approx(1.0)
    assert rows[0].matrix[2, 1] == 0
