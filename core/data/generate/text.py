"""Text helpers of the vocabulary tables and of generated names and descriptions."""

from __future__ import annotations

import unicodedata

import numpy as np


def listed(text: str) -> tuple[str, ...]:
    """The comma-separated items of ``text``, stripped (``"a, b"`` -> ``("a", "b")``)."""
    return tuple(x.strip() for x in text.split(",") if x.strip())


def weighted(text: str) -> tuple[tuple[str, float], ...]:
    """``(name, weight)`` pairs of ``"name:w,..."`` text."""
    return tuple((k.strip(), float(v)) for k, v in (p.split(":") for p in text.split(",")))


_FOLD = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "ł": "l"})


def ascii_letters(name: str) -> str:
    """Lower-case ASCII letters and digits of a name (for e-mail addresses)."""
    folded = name.lower().translate(_FOLD)
    folded = unicodedata.normalize("NFKD", folded)
    return "".join(ch for ch in folded if ch.isascii() and ch.isalnum())


def join_labels(labels: np.ndarray, picks: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``|``-join the first ``m[i]`` labels of ``picks[i]`` (object array of str)."""
    out = np.full(len(m), "", dtype=object)
    if picks.shape[1] == 0:
        return out
    has = m > 0
    out[has] = labels[picks[has, 0]]
    for j in range(1, picks.shape[1]):
        more = m > j
        out[more] = out[more] + "|" + labels[picks[more, j]]
    return out


def article(word: str) -> str:
    """The indefinite article before ``word`` ("a" or "an")."""
    return "an" if word[0] in "aeiou" else "a"
