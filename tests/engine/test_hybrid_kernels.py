"""The compiled single-client passes: the same sums and the same top-k as NumPy's.

Small exact data: integer-valued blocks make ties on purpose (the top-k must
break them towards the lower index, as :func:`top_indices`), and the scores
are checked against the NumPy sums ``score_clients`` makes, to the bit.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from core.engine.models.blend import BlockMoments
from core.engine.models.hybrid_kernels import (
    column_matvec,
    cross,
    factor_scores,
    fill_scores,
    matvec,
    quantise,
    quantised_bounds,
    rank_one,
    rank_one_bounded,
    row_sums,
    rows_dot,
    sparse_quadratic_form,
)
from core.engine.ranking import top_indices


def _case(seed: int, n: int = 60, n_features: int = 7) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    features = sp.random(
        n, n_features, density=0.4, format="csr", random_state=seed, dtype=np.float64
    )
    features.data = np.round(features.data * 4) / 4  # quarter steps: ties among contents
    return {
        "svd": rng.integers(-3, 4, n).astype(np.float64),
        "neighbours": rng.integers(0, 3, n).astype(np.float64),
        "sequence": np.where(rng.random(n) < 0.2, 1.0, 0.0),
        "weights": np.array([0.5, 0.25, 2.0, 1.0]),
        "prior": rng.integers(0, 2, n) * 0.5,
        "new_items": np.sort(rng.choice(n, 6, replace=False)).astype(np.int64),
        "new_scale": np.array(0.75),
        "blocked": rng.random(n) < 0.2,
        "profile": np.round(rng.random(n_features) * 4) / 4,
        "features": features,
    }


def _new_values(c: dict[str, np.ndarray]) -> np.ndarray:
    """The new arrivals' prior, ``a_new max(0, content)``, as ``Priors.new_arrival`` makes it."""
    content = np.asarray(c["features"] @ c["profile"])
    return np.asarray(c["new_scale"] * np.maximum(content[c["new_items"]], 0.0))


def _numpy_scores(c: dict[str, np.ndarray]) -> np.ndarray:
    """The scores as ``score_clients`` sums them (content, then cf, then the priors)."""
    w = c["weights"]
    cf = c["svd"] * w[0]
    cf += c["neighbours"] * w[1]
    cf += c["sequence"] * w[3]
    scores = np.asarray(c["features"] @ c["profile"]) * w[2]
    scores += cf
    scores += c["prior"]
    scores[c["new_items"]] += _new_values(c)
    return scores


def _bounds(features: sp.csr_matrix, profile: np.ndarray, rank: int) -> np.ndarray:
    """Each product's content bound as the hybrid computes it (``BlockMoments``, ``quantised_bounds``)."""
    moments = BlockMoments.of(features, rank)
    assert moments is not None
    columns, scale = quantise(moments.bound_by_column)
    weights = moments.bound_vector(profile).astype(np.float32)
    out, unused = np.empty(features.shape[0], dtype=np.float32), np.empty_like(scale)
    quantised_bounds(columns, weights, 0, np.vstack([scale, scale]), unused, out)
    return out.astype(np.float64)


def _rank(
    c: dict[str, np.ndarray], k: int, bounded: bool, content: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``rank_one`` from every block, or ``rank_one_bounded`` from bounds.

    Bounded: the SVD block is one factor (``V = svd``, ``u = 1``: the same
    floats) bounded by its own values; the content block by ``content``,
    or by rank-2 projection bounds as the hybrid computes them.
    """
    f = c["features"]
    if not bounded:
        return rank_one(  # type: ignore[no-any-return]
            k, c["svd"], c["neighbours"], c["sequence"], c["weights"], c["prior"],
            c["new_items"], _new_values(c), c["blocked"], np.asarray(f @ c["profile"]),
        )  # fmt: skip
    content = _bounds(f, c["profile"], 2) if content is None else content
    return rank_one_bounded(  # type: ignore[no-any-return]
        k,
        c["svd"],
        content,
        np.ascontiguousarray(c["svd"][:, None]),
        np.ones(1),
        c["neighbours"],
        c["sequence"],
        c["weights"],
        c["prior"],
        c["new_items"],
        float(c["new_scale"]),
        c["blocked"],
        f.indptr,
        f.indices,
        f.data,
        c["profile"],
    )


@pytest.mark.parametrize("bounded", [False, True], ids=["content given", "bounded"])
@pytest.mark.parametrize("seed", range(12))
def test_rank_one_is_the_top_k_of_the_numpy_scores(seed: int, bounded: bool) -> None:
    c = _case(seed)
    scores = _numpy_scores(c)
    scores[c["blocked"]] = -np.inf
    assert len(set(scores[np.isfinite(scores)].tolist())) < np.isfinite(scores).sum()  # ties
    for k in (1, 3, 10, 59, 80):
        items, got = _rank(c, k, bounded)
        expected = top_indices(scores, k)
        np.testing.assert_array_equal(items, expected)
        np.testing.assert_array_equal(got, scores[expected])  # the same sums, to the bit


@pytest.mark.parametrize("bounded", [False, True], ids=["content given", "bounded"])
def test_rank_one_never_returns_blocked_or_non_finite_products(bounded: bool) -> None:
    c = _case(3)
    c["svd"][[4, 9]] = np.nan
    c["svd"][[11]] = np.inf
    c["svd"][[12]] = -np.inf
    items, _ = _rank(c, 100, bounded)
    unrankable = set(np.flatnonzero(c["blocked"]).tolist()) | {4, 9, 11, 12}
    assert not unrankable & set(items.tolist())
    assert items.size == 60 - len(unrankable)
    c["blocked"][:] = True  # nothing may be ranked
    items, got = _rank(c, 5, bounded)
    assert items.size == 0 and got.size == 0


def test_a_product_whose_bound_cannot_reach_the_top_is_not_scored() -> None:
    """The bound is what spares the feature cells: a product bounded low is never read.

    Product 30's bound is made to lie (0) while its features would score it
    first: the bounded ranking, which trusts the bound, leaves it out; the
    ranking with every content score has it first.
    """
    c = _case(5, n=400)
    c["blocked"][:] = False
    c["svd"][:] = 0.0
    c["svd"][[17, 250, 399]] = 50.0
    f = c["features"]
    f.data[f.indptr[30] : f.indptr[31]] = 1e6
    c["profile"][:] = 1.0
    assert f.indptr[31] > f.indptr[30]
    c["new_items"] = c["new_items"][:0]
    bounds = np.abs(np.asarray(f @ c["profile"]))
    bounds[30] = 0.0
    bounded, _ = _rank(c, 3, bounded=True, content=bounds)
    every, _ = _rank(c, 3, bounded=False)
    assert every[0] == 30
    assert 30 not in bounded.tolist()
    np.testing.assert_array_equal(np.sort(bounded), [17, 250, 399])


@pytest.mark.parametrize("rank", [0, 1, 3, 7])
def test_the_projection_bound_is_at_or_above_every_content_score(rank: int) -> None:
    """``X_i . p <= X_i Q . Q'p + |X_i - X_i QQ'| |p - QQ'p|``, at any rank, and the hybrid's floats hold it.

    In exact arithmetic the bound lies between the score (reached at full
    rank: nothing is left over) and Cauchy-Schwarz's ``|X_i| |p|`` (rank 0);
    computed as a request computes it (quantised, in float32), it is still at
    or above every product's score.
    """
    rng = np.random.default_rng(rank)
    features = sp.random(300, 7, density=0.4, format="csr", random_state=rank)
    features.data = rng.standard_normal(features.nnz) * 10.0 ** rng.integers(-3, 3, features.nnz)
    norms = np.sqrt(np.asarray(features.multiply(features).sum(axis=1)).ravel())
    moments = BlockMoments.of(features, rank)
    assert moments is not None
    for _ in range(20):
        profile = rng.standard_normal(7) * rng.integers(0, 2, 7)
        exact = np.asarray(features @ profile)
        tolerance = 1e-9 * norms * np.sqrt(profile @ profile)
        bound = moments.bound_by_column.T @ moments.bound_vector(profile)
        assert (bound >= exact - tolerance).all()
        assert (bound <= norms * np.sqrt(profile @ profile) + tolerance).all()
        if rank == 7:
            np.testing.assert_allclose(bound, exact, atol=1e-9 * norms.max())
        assert (_bounds(features, profile, rank) >= exact).all()


def test_quantised_bounds_hold_for_every_product_and_stay_close() -> None:
    """Each sum's bound is at or above its float64 value, within about one unit of the product's scale.

    Products of very different sizes (1e-6 to 1e6), an all-zero product (its
    bounds are 0) and weights of both signs; two groups of rows summed apart.
    """
    rng = np.random.default_rng(11)
    block = rng.standard_normal((9, 500)) * 10.0 ** rng.integers(-6, 7, 500)
    block[:, 17] = 0.0
    first_q, first_scale = quantise(block[:4])
    second_q, second_scale = quantise(block[4:])
    assert first_q.dtype == np.int8 and np.abs(first_q).max() <= 127
    columns = np.ascontiguousarray(np.vstack([first_q, second_q]))
    scales = np.vstack([first_scale, second_scale])
    for _ in range(10):
        weights = (rng.standard_normal(9) * 10.0 ** rng.integers(-3, 4, 9)).astype(np.float32)
        first, second = np.empty(500, dtype=np.float32), np.empty(500, dtype=np.float32)
        quantised_bounds(columns, weights, 4, scales, first, second)
        w = weights.astype(np.float64)
        for got, exact, scale, part in (
            (first, w[:4] @ block[:4], first_scale, slice(0, 4)),
            (second, w[4:] @ block[4:], second_scale, slice(4, 9)),
        ):
            assert (got >= exact).all()
            units = np.abs(w[part]).sum() * scale.astype(np.float64)
            assert (got - exact <= 1.01 * units).all()
        assert first[17] == 0.0 and second[17] == 0.0


@pytest.mark.parametrize("weighted", [False, True])
def test_row_sums_and_their_spread(weighted: bool) -> None:
    m = sp.csr_matrix(np.array([[1.0, 0.0, 2.0, 0.0], [0.0, 3.0, 1.0, 0.0], [4.0, 0.0, 0.0, 0.5]]))
    rows = np.array([0, 2, 0])  # a row twice counts twice
    weights = np.array([1.0, 0.5, 2.0]) if weighted else np.zeros(0)
    out = np.full(4, 99.0)  # overwritten
    spread = row_sums(m.indptr, m.indices, m.data, rows, weights, out)
    w = weights if weighted else np.ones(3)
    expected = (m[rows].toarray() * w[:, None]).sum(axis=0)
    np.testing.assert_allclose(out, expected, rtol=1e-15)
    assert spread == pytest.approx(float(expected.std()), rel=1e-12)
    # nothing to sum: zeros, no spread
    assert row_sums(m.indptr, m.indices, m.data, rows[:0], np.zeros(0), out) == 0.0
    assert not out.any()


def test_the_sparse_quadratic_form_reads_only_the_profiles_nonzeros() -> None:
    rng = np.random.default_rng(3)
    a = rng.standard_normal((40, 40))
    gram = a @ a.T
    p = np.zeros(40)
    nonzero = np.array([2, 7, 8, 31])
    p[nonzero] = [0.5, -1.0, 2.0, 0.25]
    expected = float(p @ gram @ p)
    assert sparse_quadratic_form(gram, nonzero, p) == pytest.approx(expected, rel=1e-12)
    # what it must not read: entries off p's support change nothing
    poisoned = gram.copy()
    off = np.setdiff1d(np.arange(40), nonzero)
    poisoned[off, :] = np.nan
    poisoned[:, off] = np.nan
    assert sparse_quadratic_form(poisoned, nonzero, p) == pytest.approx(expected, rel=1e-12)
    assert sparse_quadratic_form(gram, nonzero[:0], p) == 0.0


def test_matvec_is_the_sparse_product_to_the_bit_and_returns_its_spread() -> None:
    c = _case(4)
    f = c["features"]
    out = np.full(f.shape[0], np.nan)  # overwritten
    spread = matvec(f.indptr, f.indices, f.data, c["profile"], out)
    full = np.asarray(f @ c["profile"])
    np.testing.assert_array_equal(out, full)
    assert spread == pytest.approx(float(full.std()), rel=1e-12)
    # a constant block has no spread
    ones = sp.csr_matrix(np.ones((6, 2)))
    assert matvec(ones.indptr, ones.indices, ones.data, np.array([0.5, 0.25]), np.zeros(6)) == 0.0


def test_column_matvec_reads_only_the_profiles_columns_and_gives_the_same_floats() -> None:
    c = _case(5)
    f = sp.csr_matrix(c["features"])
    f.sort_indices()  # (each row's sum in column order: what makes the two agree)
    profile = c["profile"].copy()
    profile[::3] = 0.0  # a profile with zeros: those columns are not read
    nonzero = np.flatnonzero(profile)
    by_column = sp.csc_matrix(f)
    poisoned = by_column.copy()
    for col in np.flatnonzero(profile == 0):  # cells of zero columns: never read
        poisoned.data[poisoned.indptr[col] : poisoned.indptr[col + 1]] = np.nan
    rows_out, columns_out = np.empty(f.shape[0]), np.full(f.shape[0], 7.0)
    spread = matvec(f.indptr, f.indices, f.data, profile, rows_out)
    got = column_matvec(
        poisoned.indptr, poisoned.indices, poisoned.data, nonzero, profile, columns_out
    )
    np.testing.assert_array_equal(columns_out, rows_out)
    assert got == spread


def test_rows_dot_equals_the_sparse_product() -> None:
    c = _case(2)
    f = c["features"]
    rows = np.array([5, 0, 59, 5])
    full = np.asarray(f @ c["profile"])
    np.testing.assert_array_equal(
        rows_dot(f.indptr, f.indices, f.data, rows, c["profile"]), full[rows]
    )


def test_a_new_arrival_lifted_by_its_prior_alone_is_bounded_and_ranked() -> None:
    """The bound includes the new-arrival prior ``a_new max(0, c_i)``, computed with the score."""
    c = _case(7, n=300)
    c["blocked"][:] = False
    c["weights"] = np.array([0.5, 0.25, 0.01, 1.0])  # content barely counts ...
    c["new_scale"] = np.array(40.0)  # ... but lifts the new arrivals that fit the taste
    scores = _numpy_scores(c)
    expected = top_indices(scores, 4)
    assert set(expected.tolist()) & set(c["new_items"].tolist())
    for bounded in (False, True):
        items, got = _rank(c, 4, bounded)
        np.testing.assert_array_equal(items, expected)
        np.testing.assert_array_equal(got, scores[expected])


def test_factor_scores_sum_each_products_float32_factors_in_float64_in_order() -> None:
    """``V u`` from ``V'`` in float32: each product's terms summed in float64, factor by factor."""
    rng = np.random.default_rng(8)
    factors = rng.standard_normal((50, 6)).astype(np.float32).astype(np.float64)
    u = rng.standard_normal(6)
    out = np.full(50, np.nan)  # overwritten
    factor_scores(np.ascontiguousarray(factors.T, dtype=np.float32), u, out)
    expected = np.zeros(50)
    for f in range(6):  # the same order of sums, so the same floats
        expected += factors[:, f] * u[f]
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_allclose(out, factors @ u, rtol=1e-12, atol=1e-12)


def test_cross_is_the_dense_block_of_a_few_rows_and_columns() -> None:
    """``M[rows][:, columns]``: repeats on either side, an empty row, a column nobody stores."""
    m = sp.random(30, 40, density=0.2, format="csr", random_state=2, dtype=np.float32)
    m.data = np.round(m.data * 8).astype(np.float32) / 8 + 1
    m = m.multiply(np.where(np.arange(30) == 4, 0, 1)[:, None]).tocsr()  # row 4 is empty
    m = m.multiply(np.where(np.arange(40) == 21, 0, 1)[None, :]).tocsr()  # and column 21
    m.eliminate_zeros()
    m = sp.csr_matrix(m, dtype=np.float32)
    assert m.has_canonical_format and m.indptr[5] == m.indptr[4]
    empty_column = 21
    rows = np.array([3, 4, 3, 29, 0], dtype=np.int32)
    columns = np.array([7, empty_column, 7, 0, 39, 12], dtype=np.int64)
    got = cross(m.indptr, m.indices, m.data, rows, columns)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, m[rows][:, columns].toarray().astype(np.float64))
    assert got.any()
    assert cross(m.indptr, m.indices, m.data, rows[:0], columns).shape == (0, 6)


@pytest.mark.parametrize("seed", range(4))
def test_fill_scores_is_every_score_as_numpy_sums_it(seed: int) -> None:
    """One client's whole score vector (``score_clients``' one-client pass): NumPy's floats, to the bit."""
    c = _case(seed)
    f = c["features"]
    out = np.full(60, np.nan)  # overwritten
    fill_scores(
        out, c["svd"], c["neighbours"], c["sequence"], c["weights"], c["prior"],
        c["new_items"], _new_values(c), np.asarray(f @ c["profile"]),
    )  # fmt: skip
    np.testing.assert_array_equal(out, _numpy_scores(c))
