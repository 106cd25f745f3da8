"""The row-blocked truncated SVD: block-invariant, on Dask as in one process, close to scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD

from core.engine.scale.reduce import DaskReducer, LocalReducer
from core.engine.scale.svd import block_svd, in_memory_svd


def _low_rank(n: int = 3000, m: int = 400, rank: int = 12, seed: int = 3) -> sp.csr_matrix:
    """A sparse matrix with a clear spectrum: a low-rank pattern sampled at 3 % density."""
    rng = np.random.default_rng(seed)
    dense = rng.gamma(2.0, size=(n, rank)) @ rng.gamma(2.0, size=(rank, m))
    keep = rng.random((n, m)) < 0.03
    return sp.csr_matrix(np.where(keep, np.log1p(dense), 0.0))


def test_the_answer_does_not_depend_on_how_rows_are_cut() -> None:
    a = _low_rank()
    one = in_memory_svd(a, 16, n_blocks=1)
    many = in_memory_svd(a, 16, n_blocks=9)
    np.testing.assert_allclose(many.item_factors, one.item_factors, atol=1e-8)
    np.testing.assert_allclose(many.singular_values, one.singular_values, rtol=1e-10)


def test_dask_synchronous_equals_the_one_process_run() -> None:
    a = _low_rank()
    bounds = np.linspace(0, a.shape[0], 5).astype(int)
    blocks = [a[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]
    on_dask = block_svd(DaskReducer(blocks.__getitem__, range(4), scheduler="sync"), a.shape[1], 16)
    local = block_svd(LocalReducer(blocks), a.shape[1], 16)
    np.testing.assert_allclose(on_dask.item_factors, local.item_factors, atol=1e-8)
    np.testing.assert_allclose(on_dask.singular_values, local.singular_values, rtol=1e-10)


def test_spectrum_and_energy_match_scikit_learn_within_one_percent() -> None:
    a = _low_rank()
    ours = in_memory_svd(a, 24, n_blocks=4)
    ref = TruncatedSVD(24, algorithm="randomized", n_iter=5, random_state=0).fit(a)
    np.testing.assert_allclose(ours.singular_values[:10], ref.singular_values_[:10], rtol=0.01)
    ref_energy = float((ref.singular_values_**2).sum() / (a.data @ a.data))
    assert ours.captured_energy == pytest.approx(ref_energy, rel=0.01)
    # orthonormal factors, deterministic signs
    np.testing.assert_allclose(ours.item_factors.T @ ours.item_factors, np.eye(24), atol=1e-10)
    pivot = np.abs(ours.item_factors).argmax(axis=0)
    assert (ours.item_factors[pivot, np.arange(24)] > 0).all()


def test_bad_requests_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="at least two products"):
        block_svd(LocalReducer([sp.csr_matrix((3, 1))]), 1, 2)
    with pytest.raises(ValueError, match="no row blocks"):
        LocalReducer([]).map_sum(len)
    with pytest.raises(ValueError, match="k and n_iter"):
        block_svd(LocalReducer([sp.csr_matrix((3, 4))]), 4, 0)


def _scaled_sum(block: np.ndarray, factor: int) -> np.ndarray:
    return block * factor


def _labelled(total: np.ndarray, factor: int, label: str) -> tuple[str, int, float]:
    return label, factor, float(total.sum())


@pytest.mark.parametrize("where", ["local", "sync"])
def test_many_sums_come_back_finished_and_in_order(where: str) -> None:
    blocks = [np.arange(3.0), np.ones(3), np.full(3, 10.0)]  # sums to 36
    reducer = (
        LocalReducer(blocks)
        if where == "local"
        else DaskReducer(blocks.__getitem__, range(3), scheduler="sync")
    )
    got = list(
        reducer.map_sums(_scaled_sum, [(f,) for f in (1, 2, 5, 7)], _labelled, ("x",), window=2)
    )
    assert got == [("x", 1, 36.0), ("x", 2, 72.0), ("x", 5, 180.0), ("x", 7, 252.0)]
