"""The house's sums over buckets: shares add up exactly, however they are grouped."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from core.engine.house import HouseAggregates, bin_code, bin_start

AS_OF = pd.Timestamp("2026-11-01")
DAY = 86_400 * 10**9


def coded(rows: list[list[int]]) -> np.ndarray:
    """Activity rows given with each bin's start in ns, as the aggregates hold them."""
    out = np.array(rows, dtype=np.int64).reshape(-1, 6)
    out[:, 2] = bin_code(out[:, 2], AS_OF)
    return out


def share(activity: list[list[int]], pairs: dict[tuple[int, int], float], buyers: int):
    n = 3
    rows, cols = zip(*pairs, strict=True) if pairs else ((), ())
    copurchase = sp.csr_matrix((list(pairs.values()), (rows, cols)), shape=(n, n))
    units = np.arange(n, dtype=np.float64) + buyers
    return HouseAggregates(
        units,
        copurchase,
        buyers,
        coded(activity),
        np.array(["s1", "s2"]),
        AS_OF,
        units * 2,
        units / 2,
        np.array([buyers, 1, 0], dtype=np.int64),
    )


def test_shares_add_up_to_the_same_rows_in_key_order() -> None:
    a = share([[1, 2, 5 * DAY, 0, 2, 2], [0, 1, 3 * DAY, 3, 1, 1]], {(0, 1): 1, (1, 0): 1}, 2)
    b = share([[0, 1, 3 * DAY, 3, 4, 4], [-1, 0, 9 * DAY, 1, 0, 1]], {(0, 1): 2, (2, 2): 1}, 3)
    c = share([[1, 2, 5 * DAY, 0, 1, 1], [0, 1, 3 * DAY, 0, 7, 7]], {}, 1)
    total = HouseAggregates.total([a, b, c])
    # Same (store, product, bin, event) summed; rows sorted by those four keys.
    np.testing.assert_array_equal(
        total.activity,
        coded(
            [
                [-1, 0, 9 * DAY, 1, 0, 1],
                [0, 1, 3 * DAY, 0, 7, 7],
                [0, 1, 3 * DAY, 3, 5, 5],
                [1, 2, 5 * DAY, 0, 3, 3],
            ]
        ),
    )
    assert total.activity.dtype == np.int32  # every value fits
    np.testing.assert_array_equal(total.copurchase.toarray(), [[0, 3, 0], [1, 0, 0], [0, 0, 1]])
    assert total.n_buyers == 6
    np.testing.assert_array_equal(total.kept_units, [6, 9, 12])
    np.testing.assert_array_equal(total.purchase_returns, [6, 3, 0])
    # Pairwise, in any grouping, gives the same.
    for other in ((a + b) + c, a + (c + b)):
        np.testing.assert_array_equal(other.activity, total.activity)
        np.testing.assert_array_equal(other.copurchase.toarray(), total.copurchase.toarray())
        np.testing.assert_array_equal(other.bought_units, total.bought_units)


def test_no_share_is_refused() -> None:
    with pytest.raises(ValueError, match="no bucket shares"):
        HouseAggregates.total([])


def test_store_sales_read_the_store_s_own_rows_sorted_or_not() -> None:
    rows = [
        [1, 2, (5 * DAY), 0, 3, 3],  # s2 bought 3 of product 2 on day 5
        [0, 1, (3 * DAY), 0, 4, 4],  # s1 bought 4 of product 1
        [0, 1, (4 * DAY), 1, 1, 1],  # ... and 1 came back
        [-1, 0, (6 * DAY), 0, 9, 9],  # no store
        [0, 0, (1 * DAY), 3, 5, 5],  # a wishlist: not a sale
        [1, 0, -(400 * DAY), 0, 7, 7],  # long ago
    ]
    as_of = pd.Timestamp(10 * DAY)
    unsorted = share(rows, {}, 1)
    total = HouseAggregates.total([unsorted])  # sorted by store first
    for house in (unsorted, total):
        np.testing.assert_array_equal(house.store_sales("s1", as_of, 30), [0, 3, 0])
        np.testing.assert_array_equal(house.store_sales("s2", as_of, 30), [0, 0, 3])
        np.testing.assert_array_equal(house.store_sales("s2", as_of, 1000), [7, 0, 3])
        np.testing.assert_array_equal(house.store_sales("nowhere", as_of, 30), [0, 0, 0])


@pytest.mark.parametrize("as_of", ["2026-11-01", "2026-11-01 17:42:05.123456789"])
def test_bins_split_days_at_midnight_and_at_as_of_s_time(as_of: str) -> None:
    at = pd.Timestamp(as_of)
    split = at - at.normalize()
    times = pd.to_datetime(
        ["2026-10-30 00:00:00", "2026-10-30 09:00:00", "2026-10-30 23:59:59", "1969-12-31 23:00:00"]
    )
    times = times.append(pd.DatetimeIndex([at.normalize() - pd.Timedelta(days=2) + split]))
    ts = times.as_unit("ns").asi8
    starts = bin_start(bin_code(ts, at), at)
    for t, start in zip(times, pd.to_datetime(starts), strict=True):
        midnight = t.normalize()
        want = midnight + split if t - midnight >= split else midnight
        assert start == want, (t, start)
    assert (np.diff(bin_code(np.sort(ts), at)) >= 0).all()  # codes order like the times


def test_a_sum_too_large_for_32_bits_keeps_64() -> None:
    big = share([[0, 1, 3 * DAY, 0, 2**31 - 1, 1]], {}, 1)
    total = HouseAggregates.total([big, share([[0, 1, 3 * DAY, 0, 5, 1]], {}, 1)])
    assert total.activity.dtype == np.int64
    assert total.activity[0, 4] == 2**31 + 4
    np.testing.assert_array_equal(
        total.store_sales("s1", pd.Timestamp(10 * DAY), 30), [0, 2**31 + 4, 0]
    )


def test_aggregates_saved_before_bins_were_numbered_load_the_same() -> None:
    rows = [[1, 2, 5 * DAY, 0, 3, 3], [0, 1, 3 * DAY, 1, 1, 1], [-1, 0, 6 * DAY, 0, 9, 9]]
    house = HouseAggregates.total([share(rows, {(0, 1): 1}, 2)])
    arrays = house.to_arrays()
    old = {k: v for k, v in arrays.items() if k != "activity_bins"}
    old["activity"] = house.activity.astype(np.int64).copy()
    old["activity"][:, 2] = bin_start(house.activity[:, 2], AS_OF)  # bin starts in ns, as saved
    for loaded in (HouseAggregates.from_arrays(arrays), HouseAggregates.from_arrays(old)):
        assert loaded is not None
        np.testing.assert_array_equal(loaded.activity, house.activity)
        pd.testing.assert_frame_equal(
            loaded.demand_frame(_ids(), {"purchase": 1.0, "return": 1.0}),
            house.demand_frame(_ids(), {"purchase": 1.0, "return": 1.0}),
        )


def _ids():
    from core.data.ids import IdMap

    return IdMap(["p0", "p1", "p2"], "product")
