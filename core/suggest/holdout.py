"""The holdout group: a fixed, hash-assigned share of clients who get generic suggestions.

The pipeline (:mod:`core.suggest.pipeline`) serves them no model suggestions,
so that :mod:`core.app.outcomes` can measure the model's lift against them.
The assignment depends only on the client id and the salt, so it is stable
across runs, processes and machines.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np

HOLDOUT_SALT = "atelier-holdout"


def in_holdout(client_id: str, share: float, salt: str = HOLDOUT_SALT) -> bool:
    """Whether ``client_id`` belongs to the holdout group (stable across runs and machines).

    Raises
    ------
    ValueError
        When ``share`` is not in [0, 1).
    """
    if not 0.0 <= share < 1.0:
        raise ValueError(f"holdout share must be in [0, 1), got {share}")
    if share == 0.0:
        return False
    digest = hashlib.sha256(f"{salt}:{client_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


def holdout_mask(
    client_ids: Iterable[object], share: float, salt: str = HOLDOUT_SALT
) -> np.ndarray:
    """Vector form of :func:`in_holdout`."""
    return np.array([in_holdout(str(c), share, salt) for c in client_ids], dtype=bool)
