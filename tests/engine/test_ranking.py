"""The one exact top-k: 1-D and 2-D forms, masks, ties and non-finite scores."""

from __future__ import annotations

import numpy as np
import pytest

from core.engine.ranking import top_indices


def _reference(row: np.ndarray, k: int) -> list[int]:
    finite = np.flatnonzero(np.isfinite(row))
    return finite[np.lexsort((finite, -row[finite]))][:k].tolist()


@pytest.mark.parametrize("seed", range(5))
def test_2d_rows_equal_the_1d_answer_padded(seed: int) -> None:
    rng = np.random.default_rng(seed)
    scores = np.round(rng.normal(size=(40, 300)), 1)  # many ties at every k-th score
    scores[rng.random(scores.shape) < 0.2] = -np.inf
    scores[rng.random(scores.shape) < 0.05] = np.nan
    scores[0, :] = -np.inf  # a row with nothing to return
    for k in (1, 7, 50, 400):
        top = top_indices(scores, k)
        assert top.shape == (40, k)
        for r in range(40):
            expected = _reference(scores[r], k)
            assert top[r, : len(expected)].tolist() == expected
            assert (top[r, len(expected) :] == -1).all()
            assert top_indices(scores[r], k).tolist() == expected


def test_mask_keeps_only_allowed_indices_in_both_forms() -> None:
    scores = np.array([[5.0, 4.0, 3.0, 2.0], [1.0, 2.0, 3.0, 4.0]])
    mask = np.array([[False, True, False, True], [True, True, False, False]])
    assert top_indices(scores, 3, mask).tolist() == [[1, 3, -1], [1, 0, -1]]
    assert top_indices(scores[0], 3, mask[0]).tolist() == [1, 3]


def test_bad_shapes_say_what_to_pass() -> None:
    with pytest.raises(ValueError, match="one flag per score"):
        top_indices(np.zeros(3), 2, np.ones(4, dtype=bool))
    with pytest.raises(ValueError, match="1-D or 2-D"):
        top_indices(np.zeros((2, 2, 2)), 1)
    assert top_indices(np.zeros((2, 3)), 0).shape == (2, 0)
