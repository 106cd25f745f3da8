"""Map a function over row blocks and sum the results: in one process, or on Dask.

:class:`BlockReducer` is the one seam between the fit's arithmetic and where
it runs. :class:`LocalReducer` loops over blocks held in memory;
:class:`DaskReducer` keeps the blocks on the workers (built once, then
``persist``-ed) and sums each pass's per-block results in a binary tree of
tasks, so no worker ever holds more than two partial sums and the driver
receives one products-sized array. Dask schedules, retries and spills; this
module only says what to add up.
"""

from __future__ import annotations

import operator
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Protocol, TypeAlias, TypeVar, cast

B = TypeVar("B")
R = TypeVar("R")
T = TypeVar("T")


def _dask() -> tuple[
    Callable[..., Any], Callable[..., tuple[Any, ...]], Callable[..., tuple[Any, ...]]
]:
    """Dask's ``delayed``, ``compute`` and ``persist`` (imported when used: an optional extra)."""
    from dask.base import compute, persist
    from dask.delayed import delayed

    return (
        cast(Callable[..., Any], delayed),
        cast(Callable[..., tuple[Any, ...]], compute),
        cast(Callable[..., tuple[Any, ...]], persist),
    )


class DaskClient(Protocol):
    """The part of a ``distributed.Client`` a :class:`DaskReducer` uses.

    What goes in and out are Dask's delayed objects and futures (opaque here);
    :meth:`gather` returns the computed results, whatever the mapped functions
    returned (untyped: Dask's results are ``Any``).
    """

    def persist(self, collections: list[object], /) -> list[object]: ...

    def compute(self, collections: list[object], /) -> list[object]: ...

    def gather(self, futures: list[object], /) -> list[Any]: ...

    def scatter(self, data: object, *, broadcast: bool = ..., hash: bool = ...) -> object: ...


#: Where a :class:`DaskReducer` runs: a scheduler name (``"sync"``), a
#: ``distributed.Client``, or ``None`` (the active client or Dask's default).
Scheduler: TypeAlias = "str | DaskClient | None"


class BlockReducer(Protocol):
    """Sum ``fn(block, *args)`` over every row block."""

    n_blocks: int

    def map_sum(self, fn: Callable[..., R], *args: object) -> R:
        """``sum(fn(block, *args) for block in blocks)`` (numpy arrays or sparse matrices)."""
        ...

    def map_sums(
        self,
        fn: Callable[..., R],
        arg_sets: Iterable[tuple[object, ...]],
        finish: Callable[..., T],
        finish_args: tuple[object, ...] = (),
        window: int = 4,
    ) -> Iterator[T]:
        """``finish(map_sum(fn, *args), *args, *finish_args)`` for each of ``arg_sets``, in order.

        Many passes whose sums are large and whose finished results are small
        (e.g. blocks of a Gram matrix cut to their top neighbours): on Dask,
        ``finish`` runs where the sum is, and ``window`` passes are in flight
        at once, so the cluster works while the driver takes results.
        """
        ...

    def map_collect(self, fn: Callable[..., R], *args: object) -> list[R]:
        """``[fn(block, *args) for block in blocks]`` -- for small per-block results only."""
        ...

    def map_blocks(self, fn: Callable[..., object], *args: object) -> BlockReducer:
        """A reducer over ``fn(block, *args)`` of every block (kept where the blocks are)."""
        ...


class LocalReducer:
    """Blocks in this process; results summed in block order.

    Parameters
    ----------
    blocks : sequence
        The row blocks (any objects the mapped functions take).
    """

    def __init__(self, blocks: Sequence[object]) -> None:
        self.blocks = list(blocks)
        self.n_blocks = len(self.blocks)

    def map_sum(self, fn: Callable[..., R], *args: object) -> R:
        if not self.blocks:
            raise ValueError("there are no row blocks to sum over")
        total = fn(self.blocks[0], *args)
        for block in self.blocks[1:]:
            total = operator.add(total, fn(block, *args))  # arrays or sparse matrices
        return total

    def map_sums(
        self,
        fn: Callable[..., R],
        arg_sets: Iterable[tuple[object, ...]],
        finish: Callable[..., T],
        finish_args: tuple[object, ...] = (),
        window: int = 4,
    ) -> Iterator[T]:
        for args in arg_sets:
            yield finish(self.map_sum(fn, *args), *args, *finish_args)

    def map_collect(self, fn: Callable[..., R], *args: object) -> list[R]:
        return [fn(block, *args) for block in self.blocks]

    def map_blocks(self, fn: Callable[..., object], *args: object) -> LocalReducer:
        """A reducer over ``fn(block, *args)`` of every block."""
        return LocalReducer([fn(block, *args) for block in self.blocks])


#: A pass's argument larger than this (bytes, Dask's ``sizeof``) is scattered to
#: every worker once, rather than carried inside the pass's task graph (Dask
#: warns from 10 MB on: at L the SVD's products-side matrix is about that).
SCATTER_BYTES = 1 << 20

Progress = Callable[[list[object]], None]
"""Shows the progress of Dask futures (``distributed.progress``)."""


class DaskReducer:
    """Blocks built and kept on Dask workers; per-pass results tree-summed.

    Parameters
    ----------
    build : callable
        ``build(source) -> block``, run on a worker for each source.
    sources : sequence
        One item per block (e.g. the buckets of a partitioned dataset).
    scheduler : str or distributed.Client, optional
        ``"sync"`` for tests and debugging; a ``distributed.Client`` to run
        on its cluster; ``None`` uses the active client (or Dask's default
        scheduler).
    progress : callable, optional
        Given the futures of each step when ``scheduler`` is a client
        (``distributed.progress`` shows a bar).

    Notes
    -----
    Task keys carry a token of the build and its sources, so two fits on one
    cluster never share a block by name. A block lost with its worker is
    rebuilt by Dask from its sources.
    """

    def __init__(
        self,
        build: Callable[[B], object],
        sources: Sequence[B],
        scheduler: Scheduler = None,
        progress: Progress | None = None,
    ) -> None:
        from dask.base import tokenize

        delayed, _, _ = _dask()
        if not sources:
            raise ValueError("there are no row blocks: the partitioned dataset is empty")
        self.scheduler = scheduler
        self.progress = progress
        token = tokenize(build, list(sources))
        blocks = [
            delayed(build, pure=True)(s, dask_key_name=f"atelier-block-{token}-{i}")
            for i, s in enumerate(sources)
        ]
        self.blocks = self._persist(blocks)
        self.n_blocks = len(self.blocks)

    def _client(self) -> DaskClient | None:
        """The ``distributed.Client`` given as scheduler, else ``None``."""
        scheduler = self.scheduler
        if scheduler is None or isinstance(scheduler, str) or not hasattr(scheduler, "persist"):
            return None
        return scheduler

    def _persist(self, parts: list[object]) -> list[object]:
        client = self._client()
        if client is None:
            _, _, persist = _dask()
            return list(persist(*parts, scheduler=self.scheduler))
        out = list(client.persist(parts))
        if self.progress is not None:
            self.progress(out)
        return out

    def _compute(self, parts: list[object]) -> list[Any]:
        client = self._client()
        if client is None:
            _, compute, _ = _dask()
            return list(compute(*parts, scheduler=self.scheduler))
        futures = client.compute(parts)
        if self.progress is not None:
            self.progress(futures)
        return list(client.gather(futures))

    def _shared(self, args: tuple[object, ...]) -> list[object]:
        """A pass's arguments, sent once per pass (not per block).

        On a cluster, large ones are scattered to every worker (broadcast, so
        that a worker lost mid-pass leaves copies on the others; under a key of
        their own, not their content's hash: a later pass scattering equal data
        must not share a key the scheduler is releasing); small ones, and all
        of them on a local scheduler, travel in the graph.
        """
        from dask.sizeof import sizeof

        delayed, _, _ = _dask()
        client = self._client()
        return [
            client.scatter(a, broadcast=True, hash=False)
            if client is not None and sizeof(a) > SCATTER_BYTES
            else delayed(a, pure=True)
            for a in args
        ]

    def _tree_sum(self, fn: Callable[..., R], shared: list[object]) -> object:
        """The delayed sum of ``fn(block, *shared)`` over the blocks, added pairwise."""
        delayed, _, _ = _dask()
        parts = [delayed(fn, pure=True)(b, *shared) for b in self.blocks]
        add = delayed(operator.add, pure=True)
        while len(parts) > 1:
            parts = [
                add(*parts[i : i + 2]) if i + 1 < len(parts) else parts[i]
                for i in range(0, len(parts), 2)
            ]
        return parts[0]

    def map_sum(self, fn: Callable[..., R], *args: object) -> R:
        total: R = self._compute([self._tree_sum(fn, self._shared(args))])[0]
        return total

    def map_sums(
        self,
        fn: Callable[..., R],
        arg_sets: Iterable[tuple[object, ...]],
        finish: Callable[..., T],
        finish_args: tuple[object, ...] = (),
        window: int = 4,
    ) -> Iterator[T]:
        delayed, _, _ = _dask()
        client = self._client()
        extra = self._shared(finish_args)

        def one_pass(args: tuple[object, ...]) -> object:
            shared = self._shared(args)
            return delayed(finish, pure=True)(self._tree_sum(fn, shared), *shared, *extra)

        passes = (one_pass(args) for args in arg_sets)
        if client is None:  # one pass at a time, on the chosen scheduler
            for one in passes:
                yield self._compute([one])[0]
            return
        in_flight: deque[object] = deque()

        def oldest() -> Any:
            done = [in_flight.popleft()]
            if self.progress is not None:
                self.progress(done)  # the others go on meanwhile
            return client.gather(done)[0]

        for one in passes:
            in_flight.append(client.compute([one])[0])
            if len(in_flight) >= max(1, window):
                yield oldest()
        while in_flight:
            yield oldest()

    def map_collect(self, fn: Callable[..., R], *args: object) -> list[R]:
        delayed, _, _ = _dask()
        shared = self._shared(args)
        return self._compute([delayed(fn, pure=True)(b, *shared) for b in self.blocks])

    def map_blocks(self, fn: Callable[..., object], *args: object) -> DaskReducer:
        """A reducer over ``fn(block, *args)`` of every block, kept on the workers."""
        delayed, _, _ = _dask()
        shared = self._shared(args)
        out = object.__new__(DaskReducer)
        out.scheduler, out.progress = self.scheduler, self.progress
        out.blocks = self._persist([delayed(fn, pure=True)(b, *shared) for b in self.blocks])
        out.n_blocks = len(out.blocks)
        return out
