"""A recommender that knows the answer: scores a split's test pairs highest.

Shared by the evaluation tests: with it every metric must be perfect.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from core.data.dataset import Dataset
from core.data.schema import COLS
from core.engine.models.base import Recommender


class Oracle(Recommender):
    """Scores the test pairs of a split highest: every metric should be perfect."""

    def __init__(self, pairs: pd.DataFrame) -> None:
        self.pairs = pairs

    def _fit(self, dataset: Dataset, **kwargs: object) -> None:
        self.n_ = len(dataset.product_ids)

    def score_clients(
        self, client_ids: Sequence[str], extra_events: pd.DataFrame | None = None
    ) -> np.ndarray:
        out = np.zeros((len(client_ids), self.n_))
        pid = self.dataset_.product_ids
        for r, c in enumerate(client_ids):
            mine = self.pairs.loc[self.pairs[COLS.client_id] == c, COLS.product_id]
            out[r, pid.to_internal(list(mine))] = 1.0
        return out
