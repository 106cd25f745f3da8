"""Validate tables against the contract of :mod:`core.data.schema` with pandera.

Every problem of every table is collected (file, row, column, value, what was
expected); foreign keys are checked against the parent tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from core.data.coercion import expected_text, pre_parse
from core.data.reading import header_problems
from core.data.schema import TABLE_ORDER, TABLES, ColumnSpec, TableSpec
from core.data.sizes import reason_problems, size_problems
from core.data.values import shorten
from core.exceptions import Problem


def _is_empty(value: Any) -> bool:
    """True for the ways a single cell can be empty (None, NaN, NA, NaT)."""
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


def fill_optional(df: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """A copy of ``df`` with every column of ``spec`` (absent ones at their default), contract columns first."""
    df = df.copy()
    for col in spec.columns:
        if col.name not in df.columns:
            df[col.name] = col.default
    return df[spec.column_names + [c for c in df.columns if c not in spec.column_names]]


def _all_or_each(test: Callable[[Any], bool], inferred: tuple[str, ...]) -> Callable[..., Any]:
    """A pandera check function: a fast pass on the inferred type, else cell by cell."""

    def check(s: pd.Series) -> pd.Series | bool:
        if pd.api.types.infer_dtype(s, skipna=True) in inferred:
            return True
        return s.map(test)

    return check


def _column_schema(col: ColumnSpec, fk_values: pd.Index | None) -> pa.Column:
    checks: list[pa.Check] = []
    if col.kind == "bool":
        checks.append(
            pa.Check(
                _all_or_each(lambda v: isinstance(v, bool | np.bool_), ("boolean",)),
                error="true or false",
            )
        )
        dtype: str | None = None
    elif col.kind == "int":
        dtype = "int64"
    elif col.kind == "float":
        dtype = "float64"
    elif col.kind == "datetime":
        dtype = "datetime64[ns]"
    else:
        dtype = None
        checks.append(
            pa.Check(
                _all_or_each(lambda v: isinstance(v, str), ("string", "empty")),
                ignore_na=True,
                error="text",
            )
        )
    if col.enum is not None:
        checks.append(pa.Check.isin(list(col.enum), error=f"one of {', '.join(col.enum)}"))
    if col.min is not None:
        checks.append(pa.Check.ge(col.min, error=expected_text(col)))
    if col.max is not None:
        checks.append(pa.Check.le(col.max, error=expected_text(col)))
    if col.kind in ("float",):
        checks.append(pa.Check(lambda s: np.isfinite(s), ignore_na=True, error="a finite number"))
    if fk_values is not None:
        checks.append(
            pa.Check(
                lambda s, fk=fk_values: s.isin(fk),
                ignore_na=True,
                error="an existing id in {fk_table}",
            )
        )
    return pa.Column(
        dtype,
        checks=checks,
        nullable=col.nullable or col.kind in ("str", "list") and not col.required,
        unique=col.unique,
        coerce=dtype is not None,
        required=True,
    )


def effective_key(spec: TableSpec, columns: Iterable[object]) -> tuple[str, ...]:
    """``spec.key`` less its optional columns absent from ``columns``.

    An absent optional column holds its default on every row, so it tells no
    rows apart (a stock file without ``size`` is keyed by product and store).
    """
    present = set(map(str, columns))
    return tuple(k for k in spec.key if spec.column(k).required or k in present)


def _table_schema(
    spec: TableSpec, parents: Mapping[str, pd.DataFrame], key: tuple[str, ...]
) -> pa.DataFrameSchema:
    fks = {fk.column: fk for fk in spec.foreign_keys}
    columns = {}
    for col in spec.columns:
        fk = fks.get(col.name)
        fk_values = None
        if fk is not None and fk.table in parents:
            fk_values = pd.Index(parents[fk.table][fk.table_column].astype(str))
        column = _column_schema(col, fk_values)
        if fk is not None:
            for check in column.checks:
                if check.error and "{fk_table}" in check.error:
                    check.error = f"an existing {fk.table_column} in {fk.table}"
        columns[col.name] = column
    return pa.DataFrameSchema(
        columns,
        unique=list(key) if len(key) > 1 else None,
        strict=False,
    )


def _duplicate_problems(
    df: pd.DataFrame, key: list[str], rows: set[int], file: str
) -> list[Problem]:
    """One problem per repeat of a key, naming the row where it first appears."""
    positions = sorted(rows)
    label = " and ".join(key)
    problems = []
    for group in df.iloc[positions].groupby(key, sort=False, dropna=False).indices.values():
        first, *repeats = (positions[p] for p in group)
        for row in repeats:
            value = ", ".join(str(df.iloc[row][k]) for k in key)
            problems.append(
                Problem(
                    file,
                    row + 1,
                    ", ".join(key),
                    shorten(value),
                    f"a unique {label} (the same appears in row {first + 1})",
                )
            )
    return problems


def _problems_from(
    err: SchemaErrors, spec: TableSpec, file: str, df: pd.DataFrame, key: tuple[str, ...]
) -> list[Problem]:
    fc = err.failure_cases
    problems: list[Problem] = []
    seen: set[tuple[Any, Any]] = set()
    duplicates: dict[tuple[str, ...], set[int]] = {}
    for rec in fc.to_dict("records"):
        column = rec.get("column")
        index = rec.get("index")
        check = str(rec.get("check"))
        value = rec.get("failure_case")
        col_spec = spec.column(column) if column in spec.column_names else None
        if check.startswith(("coerce_dtype", "dtype")):
            expected = expected_text(col_spec) if col_spec else check
        elif check == "not_nullable":
            expected = "a value (this column may not be empty)"
        else:
            expected = check
        if _is_empty(index):
            if isinstance(value, str) and value.startswith("TypeError"):
                continue  # a consequence of a coercion failure already reported
            if check.startswith("column_in_dataframe"):
                continue  # reported as a missing column before validation
            problems.append(Problem(file, None, column, None, expected))
            continue
        if check == "field_uniqueness":
            duplicates.setdefault((str(column),), set()).add(int(index))
            continue
        if check.startswith("multiple_fields_uniqueness"):
            duplicates.setdefault(key, set()).add(int(index))
            continue
        key = (column, index)
        if key in seen:
            continue
        seen.add(key)
        if _is_empty(value) and check.startswith(("coerce_dtype", "dtype")):
            expected = "a value (this column may not be empty)"
        shown = None if _is_empty(value) else shorten(value)
        problems.append(Problem(file, int(index) + 1, column, shown, expected))
    for cols, rows in duplicates.items():
        problems += _duplicate_problems(df, list(cols), rows, file)
    return problems


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.row if p.row is not None else -1, p.column or ""))


def _validate_table(
    name: str, df: pd.DataFrame, file: str, parents: Mapping[str, pd.DataFrame]
) -> tuple[pd.DataFrame | None, list[Problem]]:
    spec = TABLES[name]
    # A frame built in memory can repeat a name too (files are refused when read).
    unnamed = header_problems(list(df.columns), file)
    if unnamed:
        return None, unnamed
    missing = [c for c in spec.required_columns if c not in df.columns]
    if missing:
        found = ", ".join(map(str, df.columns)) or "none"
        return None, [
            Problem(file, None, c, None, f"a column named '{c}' (required; found: {found})")
            for c in missing
        ]
    if len(df) < spec.min_rows:
        return None, [
            Problem(
                file,
                None,
                None,
                None,
                f"at least {spec.min_rows} data row{'s' if spec.min_rows != 1 else ''} "
                f"in {name} (found {len(df)})",
            )
        ]
    key = effective_key(spec, df.columns)
    df = fill_optional(df.reset_index(drop=True), spec)
    df, problems = pre_parse(df, spec, file)
    try:
        out = _table_schema(spec, parents, key).validate(df, lazy=True)
    except SchemaErrors as err:
        reported = {(p.column, p.row) for p in problems}
        problems += [
            p for p in _problems_from(err, spec, file, df, key) if (p.column, p.row) not in reported
        ]
    if problems:
        return None, _sorted(problems)
    for col in spec.columns:
        if col.kind == "bool":
            out[col.name] = out[col.name].astype(bool)
        elif col.kind in ("str", "list") and not col.nullable:
            out[col.name] = out[col.name].fillna("").astype(str)
        elif col.kind in ("str",) and col.nullable:
            out[col.name] = out[col.name].astype(object).where(out[col.name].notna(), None)
    return out, []


def validate_frames(
    raw: Mapping[str, pd.DataFrame], files: Mapping[str, str]
) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """Validate the tables present in ``raw``; absent ones are skipped."""
    problems: list[Problem] = []
    valid: dict[str, pd.DataFrame] = {}
    # Foreign keys are checked against the parent's ids even when the parent
    # itself has problems, so that one load reports everything.
    parents: dict[str, pd.DataFrame] = {}
    for name in TABLE_ORDER:
        if name not in raw:
            continue
        df, found = _validate_table(name, raw[name], files.get(name, name), parents)
        problems += found
        if df is not None:
            valid[name] = df
            parents[name] = df
        elif raw[name].columns.is_unique and all(
            k in raw[name].columns for k in effective_key(TABLES[name], raw[name].columns)
        ):
            parents[name] = raw[name]
    if "events" in valid:
        problems += reason_problems(valid["events"], files.get("events", "events"))
    if "stock" in valid and "products" in valid:
        problems += size_problems(valid["stock"], valid["products"], files.get("stock", "stock"))
    return valid, problems
