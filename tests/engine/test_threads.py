"""The one-BLAS-thread block: one thread inside, the caller's setting restored after."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from core.engine.threads import BlasLimiter


def _blas_threads() -> list[int]:
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def test_one_thread_inside_and_the_callers_setting_after() -> None:
    np.ones((4, 4)) @ np.ones(4)  # BLAS loaded
    if not _blas_threads():
        pytest.skip("no BLAS library that threadpoolctl can control")
    limiter = BlasLimiter()
    with threadpool_limits(limits=2, user_api="blas"):
        before = _blas_threads()
        with limiter.one_thread():
            assert _blas_threads() == [1] * len(before)
            with limiter.one_thread():  # nested: still one, and the outer block keeps it
                assert _blas_threads() == [1] * len(before)
            assert _blas_threads() == [1] * len(before)
        assert _blas_threads() == before
        with pytest.raises(RuntimeError), limiter.one_thread():
            raise RuntimeError("a failing request restores the setting too")
        assert _blas_threads() == before
