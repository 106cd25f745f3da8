"""Single cell values: what spells true or false, and how a value is shown in a problem report.

One place for the spellings of a boolean cell: the dataset loader reads them
(:mod:`core.data.coercion`), and code that meets a raw cell (a lookbook row,
say) asks :func:`is_true`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

MAX_VALUE_CHARS = 60

#: A point in time as ``pd.Timestamp`` reads it (a timestamp, a date, a datetime64, ISO text).
TimeLike: TypeAlias = pd.Timestamp | date | np.datetime64 | str

TRUE_TEXTS: frozenset[str] = frozenset({"true", "1", "yes", "y", "t"})
FALSE_TEXTS: frozenset[str] = frozenset({"false", "0", "no", "n", "f"})
BOOL_TEXTS: Mapping[str, bool] = {
    **dict.fromkeys(TRUE_TEXTS, True),
    **dict.fromkeys(FALSE_TEXTS, False),
}
"""Each lower-case spelling of a boolean and its value."""


def parse_bool(text: str) -> bool | None:
    """The boolean ``text`` spells (case and surrounding spaces ignored), or ``None``.

    Examples
    --------
    >>> parse_bool(" Yes "), parse_bool("0"), parse_bool("maybe")
    (True, False, None)
    """
    return BOOL_TEXTS.get(text.strip().lower())


def is_true(value: Any) -> bool:
    """Whether a cell means true.

    Text is true when it spells true (:data:`TRUE_TEXTS`); a missing value
    (None, NaN, NA, NaT) is false; anything else is its Python truth value.

    Examples
    --------
    >>> is_true("TRUE"), is_true("no"), is_true(float("nan")), is_true(1)
    (True, False, False, True)
    """
    if value is None:
        return False
    try:
        if pd.isna(value):
            return False
    except (TypeError, ValueError):  # not a scalar
        pass
    if isinstance(value, str):
        return parse_bool(value) is True
    return bool(value)


def shorten(value: object) -> str:
    """``value`` as text of at most :data:`MAX_VALUE_CHARS` characters (an ellipsis marks a cut)."""
    text = str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"
