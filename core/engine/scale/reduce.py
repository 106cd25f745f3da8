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
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar, cast

B = TypeVar("B")
R = TypeVar("R")


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


class BlockReducer(Protocol):
    """Sum ``fn(block, *args)`` over every row block."""

    n_blocks: int

    def map_sum(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``sum(fn(block, *args) for block in blocks)`` (numpy arrays or sparse matrices)."""
        ...

    def map_collect(self, fn: Callable[..., Any], *args: Any) -> list[Any]:
        """``[fn(block, *args) for block in blocks]`` -- for small per-block results only."""
        ...


class LocalReducer:
    """Blocks in this process; results summed in block order.

    Parameters
    ----------
    blocks : sequence
        The row blocks (any objects the mapped functions take).
    """

    def __init__(self, blocks: Sequence[Any]) -> None:
        self.blocks = list(blocks)
        self.n_blocks = len(self.blocks)

    def map_sum(self, fn: Callable[..., Any], *args: Any) -> Any:
        if not self.blocks:
            raise ValueError("there are no row blocks to sum over")
        total = fn(self.blocks[0], *args)
        for block in self.blocks[1:]:
            total = total + fn(block, *args)
        return total

    def map_collect(self, fn: Callable[..., Any], *args: Any) -> list[Any]:
        return [fn(block, *args) for block in self.blocks]


class DaskReducer:
    """Blocks built and kept on Dask workers; per-pass results tree-summed.

    Parameters
    ----------
    build : callable
        ``build(source) -> block``, run on a worker for each source.
    sources : sequence
        One item per block (e.g. the Parquet files of a partitioned dataset).
    scheduler : str, optional
        ``"sync"`` for tests and debugging; ``None`` uses the active
        ``distributed.Client`` (or Dask's default scheduler).
    """

    def __init__(
        self, build: Callable[[Any], Any], sources: Sequence[Any], scheduler: str | None = None
    ) -> None:
        delayed, _, persist = _dask()
        if not sources:
            raise ValueError("there are no row blocks: the partitioned dataset is empty")
        self.scheduler = scheduler
        blocks = [
            delayed(build, pure=True)(s, dask_key_name=f"atelier-block-{i}")
            for i, s in enumerate(sources)
        ]
        self.blocks = list(persist(*blocks, scheduler=scheduler))
        self.n_blocks = len(self.blocks)

    def map_sum(self, fn: Callable[..., Any], *args: Any) -> Any:
        delayed, compute, _ = _dask()
        shared = [delayed(a, pure=True) for a in args]  # one copy per pass, not per block
        parts = [delayed(fn, pure=True)(b, *shared) for b in self.blocks]
        add = delayed(operator.add, pure=True)
        while len(parts) > 1:
            parts = [add(*parts[i : i + 2]) if i + 1 < len(parts) else parts[i]
                     for i in range(0, len(parts), 2)]  # fmt: skip
        (total,) = compute(parts[0], scheduler=self.scheduler)
        return total

    def map_collect(self, fn: Callable[..., Any], *args: Any) -> list[Any]:
        delayed, compute, _ = _dask()
        shared = [delayed(a, pure=True) for a in args]
        parts = [delayed(fn, pure=True)(b, *shared) for b in self.blocks]
        return list(compute(*parts, scheduler=self.scheduler))
