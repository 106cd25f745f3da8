"""Tests of :mod:`core.data.values`: one spelling of true and false."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data.values import FALSE_TEXTS, TRUE_TEXTS, is_true, parse_bool, shorten


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", True), (" YES ", True), ("1", True), ("t", True), ("y", True),
        ("false", False), ("no", False), ("0", False), ("", False), ("maybe", False),
        (True, True), (False, False), (np.bool_(True), True), (1, True), (0, False),
        (None, False), (float("nan"), False), (pd.NA, False), (pd.NaT, False),
    ],
)  # fmt: skip
def test_is_true(value: object, expected: bool) -> None:
    assert is_true(value) is expected


def test_every_spelling_parses_one_way() -> None:
    assert not TRUE_TEXTS & FALSE_TEXTS
    assert all(parse_bool(t.upper()) is True for t in TRUE_TEXTS)
    assert all(parse_bool(f" {t} ") is False for t in FALSE_TEXTS)
    assert parse_bool("maybe") is None


def test_shorten() -> None:
    assert shorten("abc") == "abc"
    long = shorten("x" * 100)
    assert len(long) == 60 and long.endswith("…")
