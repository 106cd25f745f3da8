"""External ids at the edge, contiguous integers inside: :class:`IdMap`."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from core.exceptions import UnknownIdError

_POSITION_DICT_LIMIT = 200_000
#: Up to this many ids, :meth:`IdMap.to_internal` looks them up one by one.
FEW_IDS = 256


def codes_in(values: Any, index: pd.Index) -> np.ndarray:
    """Positions of ``values``' texts in ``index`` (-1 where absent or missing), as int32.

    Each distinct value is looked up once: a table of millions of rows (stock,
    events) names a few thousand ids, and a text object per row is not needed.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if len(uniques) == 0:
        return np.full(len(values), -1, dtype=np.int32)
    pos = index.get_indexer(pd.Index(np.asarray(uniques, dtype=object).astype(str)))
    pos = np.append(pos, -1).astype(np.int32)  # code -1 (missing) maps to -1
    return pos[codes]


def _text_or_none(value: object) -> str | None:
    """``value`` as an id's text, ``None`` when missing (None, NaN, pd.NA, NaT)."""
    missing = pd.api.types.is_scalar(value) and bool(pd.isna(value))  # type: ignore[call-overload]
    return None if missing else str(value)


class IdMap:
    """External ids at the edge, contiguous integers inside (both ways).

    Parameters
    ----------
    external_ids : iterable of str
        Unique external ids; their order defines the internal index.
    kind : str
        What the ids are ("client", "product"), used in error messages.
    """

    def __init__(self, external_ids: Iterable[object], kind: str = "id") -> None:
        self.kind = kind
        self.index = pd.Index(pd.Series(list(external_ids), dtype=object).astype(str))
        if not self.index.is_unique:
            raise ValueError(f"{kind} ids must be unique")
        self._size = len(self.index)
        self._positions: dict[str, int] | None = None

    @cached_property
    def _external(self) -> np.ndarray:
        """The ids as an object array, converted on first use: ``to_external`` runs on every
        recommend call (products), while a million clients' ids as Python strings
        (about 70 MB) are not needed by a process that never lists them."""
        external = self.index.to_numpy(dtype=object)
        external.flags.writeable = False
        return external

    def position_dict(self) -> dict[str, int] | None:
        """``{external id: internal index}``, built on first use, for up to 200,000 ids.

        A request's few look-ups go faster through a dict than through the
        pandas index; above that size the dict's memory is not worth it (None).
        """
        if self._positions is None and len(self.index) <= _POSITION_DICT_LIMIT:
            self._positions = dict(
                zip(self._external.tolist(), range(len(self.index)), strict=True)
            )
        return self._positions

    def __len__(self) -> int:
        return self._size  # the index's, without pandas' overhead

    def __contains__(self, external_id: object) -> bool:
        return str(external_id) in self.index

    @property
    def external_ids(self) -> np.ndarray:
        return self._external

    def to_internal(self, external_ids: Any, *, strict: bool = True) -> np.ndarray:
        """Map external ids to internal ints; unknown ids raise (or give -1).

        A request's few ids (up to :data:`FEW_IDS`) are looked up one by one
        in a dict (or the index), which beats building a pandas Index for them.
        """
        values: Any
        if type(external_ids) is list and len(external_ids) == 1 and type(external_ids[0]) is str:
            values = external_ids  # one client's request: no array of the ids
            idx = self._few(values)
        else:
            if isinstance(external_ids, str) or np.isscalar(external_ids):
                values = [external_ids]
            elif isinstance(external_ids, pd.Series):
                values = external_ids.array  # positions, not labels
            elif isinstance(external_ids, pd.Index | pd.api.extensions.ExtensionArray):
                values = external_ids
            else:
                values = np.asarray(list(external_ids), dtype=object)
            if len(values) <= FEW_IDS:  # a missing value is no id, however many are asked
                idx = self._few([x if isinstance(x, str) else _text_or_none(x) for x in values])
            else:
                idx = codes_in(values, self.index).astype(np.int64)
        if strict and (idx < 0).any():
            unknown = [str(values[i]) for i in np.flatnonzero(idx < 0)[:5]]
            raise UnknownIdError(
                f"unknown {self.kind} id{'s' if len(unknown) > 1 else ''}: "
                f"{', '.join(repr(m) for m in unknown)}"
            )
        return idx

    def _few(self, names: list[str | None]) -> np.ndarray:
        lookup = self.position_dict()
        if lookup is not None:
            return np.array([-1 if x is None else lookup.get(x, -1) for x in names], dtype=np.int64)
        out = np.empty(len(names), dtype=np.int64)
        for n, name in enumerate(names):
            if name is None:
                out[n] = -1
                continue
            try:
                loc = self.index.get_loc(name)
            except KeyError:
                loc = -1
            out[n] = loc if isinstance(loc, int | np.integer) else -1
        return out

    def to_internal_one(self, external_id: object) -> int:
        return int(self.to_internal(external_id)[0])

    def to_external(self, internal_ids: npt.ArrayLike) -> np.ndarray:
        arr = np.asarray(internal_ids, dtype=np.int64)
        if arr.size and (arr.min() < 0 or arr.max() >= self._size):
            raise IndexError(f"internal {self.kind} index out of range")
        return self._external[arr]
