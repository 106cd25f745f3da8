"""Random draws: cumulative distributions, index picks and chunk-proof per-block generators."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from core.data.generate.parameters import CLIENT_STREAM, SEED_BLOCK
from core.data.generate.text import weighted


def cumulative(p: np.ndarray) -> np.ndarray:
    """Row-wise cumulative distribution; values within rounding of 1 are exactly 1."""
    p = np.asarray(p, dtype=float)
    c = np.cumsum(p / p.sum(axis=-1, keepdims=True), axis=-1)
    c[c > 1.0 - 1e-12] = 1.0
    return c


def pick_index(cum: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Index drawn from each row of ``cum`` (a cumulative distribution) with ``u``."""
    if cum.ndim == 1:
        return np.minimum(np.searchsorted(cum, u, side="right"), len(cum) - 1)
    return np.asarray(np.minimum((u[:, None] >= cum).sum(axis=1), cum.shape[1] - 1))


def weights_over(pairs: str | tuple[tuple[str, float], ...], names: tuple[str, ...]) -> np.ndarray:
    """Weights over ``names`` from ``(name, weight)`` pairs or ``"name:w,..."`` text."""
    w = np.zeros(len(names))
    for k, v in weighted(pairs) if isinstance(pairs, str) else pairs:
        w[names.index(k)] = float(v)
    return w


def pool_pick(pools: list[np.ndarray], group: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Item ``u`` of pool ``group[i]`` for each i."""
    flat = np.concatenate(pools)
    counts = np.array([len(p) for p in pools])
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return np.asarray(flat[start[group] + (u * counts[group]).astype(int)])


class BlockRandom:
    """Random draws for a chunk of clients that do not depend on the chunking.

    Each block of :data:`SEED_BLOCK` clients owns a generator spawned from the
    seed (``SeedSequence(seed, spawn_key=(1, block))``). Items (clients,
    events, purchases) are listed in client order; a draw takes each block's
    items from that block's generator, in the same sequence of calls whatever
    the chunk holds.
    """

    def __init__(self, seed: int, first_block: int, sizes: np.ndarray) -> None:
        self.sizes = sizes
        self._gens = [
            np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(CLIENT_STREAM, b)))
            for b in range(first_block, first_block + len(sizes))
        ]

    def draw(
        self, owner: np.ndarray | None, fn: Callable[[np.random.Generator, slice], np.ndarray]
    ) -> np.ndarray:
        """Concatenate ``fn(generator, slice of items)`` over blocks.

        ``owner`` gives each item's client (chunk-local, non-decreasing);
        ``None`` means one item per client.
        """
        if owner is None:
            counts = self.sizes
        else:
            counts = np.bincount(owner // SEED_BLOCK, minlength=len(self._gens))
        parts, start = [], 0
        for gen, k in zip(self._gens, counts, strict=True):
            parts.append(fn(gen, slice(start, start + int(k))))
            start += int(k)
        return np.concatenate(parts)

    def normal(self) -> np.ndarray:
        """One standard normal per client."""
        return self.draw(None, lambda g, s: g.standard_normal(s.stop - s.start))

    def random(self, owner: np.ndarray | None = None, cols: int | None = None) -> np.ndarray:
        """Uniforms in [0, 1): one per item, or ``cols`` per item."""
        return self.draw(
            owner,
            lambda g, s: g.random(s.stop - s.start if cols is None else (s.stop - s.start, cols)),
        )
