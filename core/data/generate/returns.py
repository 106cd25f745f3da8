"""Why returns come back: a planted rule for fit returns.

Some sized products *run small* (:func:`runs_small`, about one in five, fixed
by the product's position): most of their returns are for fit. Other sized
products come back for fit now and then; unsized ones never. The reason of a
return is drawn from a hash of the event (product, time), so the other columns
of the maison are the same with or without reasons, in any chunking.
"""

from __future__ import annotations

import numpy as np

from core.data.schema import RETURN_REASONS

#: Share of sized products that run small.
RUNS_SMALL_SHARE = 0.2
# Reason probabilities, in RETURN_REASONS order ('' never drawn).
_RUNS_SMALL = (0.0, 0.75, 0.1, 0.15, 0.0, 0.0)
_SIZED = (0.0, 0.2, 0.2, 0.5, 0.05, 0.05)
_UNSIZED = (0.0, 0.0, 0.3, 0.55, 0.1, 0.05)


def runs_small(sized: np.ndarray) -> np.ndarray:
    """The planted truth: which products run small (sized ones only), by position."""
    j = np.arange(len(sized), dtype=np.uint64)
    u = ((j * np.uint64(2654435761) + np.uint64(12345)) % np.uint64(1000)).astype(float) / 1000
    return np.asarray(sized, dtype=bool) & (u < RUNS_SMALL_SHARE)


def return_reasons(
    product: np.ndarray, ts: np.ndarray, is_return: np.ndarray, sized: np.ndarray
) -> np.ndarray:
    """The ``reason`` column: '' except on returns, which follow the planted rule."""
    h = (product.astype(np.uint64) * np.uint64(7919) + ts.astype(np.uint64)) * np.uint64(2654435761)
    u = (h % np.uint64(2**32)).astype(float) / 2**32
    small = runs_small(sized)[product]
    table = np.where(
        small[:, None],
        np.cumsum(_RUNS_SMALL),
        np.where(sized[product][:, None], np.cumsum(_SIZED), np.cumsum(_UNSIZED)),
    )
    pick = np.minimum((u[:, None] >= table).sum(axis=1), len(RETURN_REASONS) - 1)
    labels = np.array(RETURN_REASONS, dtype=object)
    return np.where(is_return, labels[pick], "")
