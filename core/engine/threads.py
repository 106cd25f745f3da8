"""One BLAS thread around a small request, for a few microseconds.

A few clients' scores over an ordinary catalogue (a request for a handful, or
an explanation) are a matrix product of some tens of thousands of
multiply-adds: BLAS threads cost more than they give
there, and on a server answering several tablets at once they fight each
other for the cores. ``threadpoolctl.threadpool_limits`` (and
``ThreadpoolController.limit``) inspect every loaded library on each entry,
which costs 0.1-0.3 ms: more than the request's arithmetic. :class:`BlasLimiter`
finds the BLAS libraries once and, per request, only sets the ones not
already at one thread (nothing at all when the caller has limited them, as the
benchmarks and a server started with ``OPENBLAS_NUM_THREADS=1`` do).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import ThreadpoolController

__all__ = ["BlasLimiter"]


class BlasLimiter:
    """Runs a block on one BLAS thread (see the module docstring).

    Concurrent requests share the process's BLAS settings: the first to enter
    sets one thread, the last to leave restores what was there.
    """

    def __init__(self) -> None:
        libs = ThreadpoolController().select(user_api="blas").lib_controllers
        self._libs = list(libs)
        self._lock = threading.Lock()
        self._inside = 0
        self._saved: list[int] = []

    @contextmanager
    def one_thread(self) -> Iterator[None]:
        """The block runs with every BLAS library on one thread."""
        with self._lock:
            if self._inside == 0:
                self._saved = [lib.get_num_threads() for lib in self._libs]
                for lib, n in zip(self._libs, self._saved, strict=True):
                    if n != 1:
                        lib.set_num_threads(1)
            self._inside += 1
        try:
            yield
        finally:
            with self._lock:
                self._inside -= 1
                if self._inside == 0:
                    for lib, n in zip(self._libs, self._saved, strict=True):
                        if n != 1:
                            lib.set_num_threads(n)
