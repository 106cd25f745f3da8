"""The rule condition language: ``column operator literal``, parsed, never evaluated.

A condition reads one column of the clients or the products table
(:mod:`core.data.schema`) and compares it with a literal: ``==``, ``!=``,
``<``, ``<=``, ``>``, ``>=`` (number columns only), ``in`` and ``not in``
(a list literal ``[a, b]``). Text compares case-insensitively; a literal is
typed after its column (``true``/``false`` for flags, numbers for numbers)::

    Condition.parse("tier == vic", CLIENTS).holds("VIC")          # True
    Condition.parse("category in [bags, shoes]", PRODUCTS).mask(values)

The house rules (:mod:`core.suggest.rules`) use them for brand alignment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from core.data.schema import CLIENTS, PRODUCTS, TableSpec

_COND = re.compile(
    r"^\s*(?P<col>[A-Za-z_][A-Za-z0-9_]*)\s*"
    r"(?:(?P<op>==|!=|<=|>=|<|>)|\s(?P<wop>not\s+in|in)\s)\s*(?P<rest>.*?)\s*$",
    re.DOTALL,
)
_ITEM = re.compile(r"""\s*(?:"([^"]*)"|'([^']*)'|([^,"'\[\]()]+?))\s*(?:,|$)""")
_CONDITION_KINDS = ("str", "bool", "int", "float")


#: A literal of a condition, typed after its column (text lower-cased).
LiteralValue: TypeAlias = bool | float | str


@dataclass(frozen=True)
class Condition:
    """One parsed condition ``column operator literal`` over a table's column.

    Build one with :meth:`parse`; it is never evaluated as code.

    Attributes
    ----------
    table : {"clients", "products"}
    column : str
    op : {"==", "!=", "<", "<=", ">", ">=", "in", "not in"}
    value : bool, float, str or tuple
        The literal, typed after the column (text lower-cased).
    text : str
        The condition as written.
    """

    table: str
    column: str
    op: str
    value: Any  # a LiteralValue, or a tuple of them for in / not in
    text: str

    @classmethod
    def parse(cls, text: str, table: TableSpec) -> Condition:
        """Parse ``text`` against ``table``'s columns.

        Raises
        ------
        ValueError
            For bad syntax, an unknown or list-valued column, an ordering
            operator on a non-numeric column, or a literal of the wrong type.
        """
        m = _COND.match(text)
        if m is None:
            raise ValueError(
                f"cannot read condition {text!r}; write `column operator value`, e.g. "
                "`tier == vic` or `category in [bags, shoes]`"
            )
        column = m["col"]
        op = " ".join((m["op"] or m["wop"]).split())
        if column not in table.column_names:
            known = ", ".join(c.name for c in table.columns if c.kind in _CONDITION_KINDS)
            raise ValueError(f"unknown {table.name} column {column!r} (known: {known})")
        kind = table.column(column).kind
        if kind not in _CONDITION_KINDS:
            raise ValueError(
                f"{table.name} column {column!r} holds {kind} values; conditions take "
                "text, true/false or number columns"
            )
        rest = m["rest"]
        if op in ("<", "<=", ">", ">=") and kind not in ("int", "float"):
            raise ValueError(f"{op} needs a number column; {column!r} is {kind}")
        if op in ("in", "not in"):
            if (rest[:1], rest[-1:]) not in (("[", "]"), ("(", ")")):
                raise ValueError(f"`{op}` takes a list like [a, b]; got {rest!r}")
            inner = rest[1:-1].strip()
            raw = [] if not inner else _split_items(inner, text)
            value: LiteralValue | tuple[LiteralValue, ...] = tuple(
                _literal(r, q, kind, column) for r, q in raw
            )
        else:
            if not rest:
                raise ValueError(f"condition {text!r} has no value after {op}")
            quoted = rest[:1] in "\"'" and rest[-1:] == rest[:1] and len(rest) >= 2
            value = _literal(rest[1:-1] if quoted else rest, quoted, kind, column)
        return cls(table.name, column, op, value, text.strip())

    def holds(self, value: Any) -> bool:
        """Whether the condition holds for one value (e.g. a client's)."""
        kind = self.value_kind
        missing = value is None or (isinstance(value, float) and np.isnan(value))
        if kind == "bool":
            v: Any = False if missing else bool(value)
        elif kind == "float":
            try:
                v = np.nan if missing else float(value)
            except (TypeError, ValueError):
                v = np.nan
        else:
            v = "" if missing else str(value).lower()
        op, lit = self.op, self.value
        if op == "in":
            return v in lit
        if op == "not in":
            return v not in lit
        return bool(
            {
                "==": lambda: v == lit,
                "!=": lambda: v != lit,
                "<": lambda: v < lit,
                "<=": lambda: v <= lit,
                ">": lambda: v > lit,
                ">=": lambda: v >= lit,
            }[op]()
        )

    def mask(self, values: np.ndarray) -> np.ndarray:
        """Vectorised test over an array of column values; missing values fail ``==``/``in``."""
        vals = typed_values(values, self.value_kind)
        op, lit = self.op, self.value
        if op == "in":
            return (
                np.isin(vals, np.array(lit, dtype=vals.dtype)) if lit else np.zeros(len(vals), bool)
            )
        if op == "not in":
            return (
                ~np.isin(vals, np.array(lit, dtype=vals.dtype)) if lit else np.ones(len(vals), bool)
            )
        with np.errstate(invalid="ignore"):
            if op == "==":
                return np.asarray(vals == lit, dtype=bool)
            if op == "!=":
                return np.asarray(vals != lit, dtype=bool)
            if op == "<":
                return np.asarray(vals < lit, dtype=bool)
            if op == "<=":
                return np.asarray(vals <= lit, dtype=bool)
            if op == ">":
                return np.asarray(vals > lit, dtype=bool)
            return np.asarray(vals >= lit, dtype=bool)

    @property
    def value_kind(self) -> str:
        spec = CLIENTS if self.table == "clients" else PRODUCTS
        kind = spec.column(self.column).kind
        return "float" if kind in ("int", "float") else kind


def _split_items(inner: str, text: str) -> list[tuple[str, bool]]:
    items: list[tuple[str, bool]] = []
    pos = 0
    while pos < len(inner):
        m = _ITEM.match(inner, pos)
        if m is None or m.end() == pos:
            raise ValueError(f"cannot read the list in condition {text!r}")
        if m[1] is not None or m[2] is not None:
            items.append((m[1] if m[1] is not None else m[2], True))
        else:
            items.append((m[3], False))
        pos = m.end()
    return items


def _literal(raw: str, quoted: bool, kind: str, column: str) -> LiteralValue:
    if kind == "bool":
        low = raw.strip().lower()
        if quoted or low not in ("true", "false"):
            raise ValueError(f"{column!r} is true/false; got {raw!r}")
        return low == "true"
    if kind in ("int", "float"):
        try:
            if quoted:
                raise ValueError
            return float(raw)
        except ValueError:
            raise ValueError(f"{column!r} is a number; got {raw!r}") from None
    return raw.strip().lower() if not quoted else raw.lower()


def typed_values(values: np.ndarray, kind: str) -> np.ndarray:
    """Column values as conditions compare them: bools, floats (NaN when missing) or lower text."""
    if kind == "bool":
        out = np.zeros(len(values), dtype=bool)
        for i, v in enumerate(values):
            out[i] = (
                bool(v) if v is not None and not (isinstance(v, float) and np.isnan(v)) else False
            )
        return out
    if kind == "float":
        return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(float)
    s = pd.Series(values, dtype=object)
    return s.where(s.notna(), "").astype(str).str.lower().to_numpy(dtype=object)
