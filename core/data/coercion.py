"""Give the text cells of a table their kind (numbers, dates, booleans, text) before validation.

Cells that cannot be read are reported as problems (file, row, column, value,
what was expected) and left empty.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.data.schema import ColumnSpec, TableSpec
from core.data.values import BOOL_TEXTS, shorten
from core.exceptions import Problem


def _stripped_text(s: pd.Series) -> pd.Series:
    """Cells as stripped text (pandas string dtype); missing cells stay missing."""
    return s.astype("string").str.strip()


def _blank(s: pd.Series, *, strip: bool) -> pd.Series:
    """Which cells are empty: missing, or empty text (or only spaces, with ``strip``)."""
    if not (pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)):
        return s.isna()
    text = _stripped_text(s) if strip else s.astype("string")
    return (text.isna() | (text == "")).astype(bool)


def _as_text(s: pd.Series, empty: str | None, *, empty_is_none: bool) -> pd.Series:
    """Cells as ``str``; missing cells become ``empty``.

    With ``empty_is_none``, empty text also becomes missing. Text is
    otherwise kept exactly as given (no stripping). A column of pandas' text
    dtype (Parquet's strings) stays one: as Python objects, the 180M text
    cells of a 30M-row events table took about 10 GB while being checked.
    Otherwise an object Series, with ``None`` for missing cells.
    """
    if isinstance(s.dtype, pd.StringDtype):
        out = s if empty is None else s.fillna(empty)
        return out.mask(out == "") if empty_is_none else out.copy()
    values = s.to_numpy(dtype=object, copy=True)
    missing = pd.isna(values)
    if pd.api.types.infer_dtype(values[~missing], skipna=True) not in ("string", "empty"):
        # Non-text cells (numbers from Parquet, say) become their text.
        values = np.array([v if isinstance(v, str) else str(v) for v in values], dtype=object)
    values[missing] = empty
    if empty_is_none:
        values[values == ""] = None
    return pd.Series(values, index=s.index, dtype=object)


def _is_identifier(spec: TableSpec, col: ColumnSpec) -> bool:
    """Whether ``col`` holds ids (a key, a unique column or a foreign key)."""
    return (
        col.unique or col.name in spec.key or any(fk.column == col.name for fk in spec.foreign_keys)
    )


def expected_text(col: ColumnSpec) -> str:
    """What a cell of ``col`` should hold, in words (for a problem's "expected")."""
    kinds = {
        "str": "text",
        "int": "a whole number",
        "float": "a number",
        "bool": "true or false",
        "datetime": "a date or timestamp (e.g. 2026-03-01 or 2026-03-01T14:30:00)",
        "list": "'|'-separated text",
    }
    text = kinds[col.kind]
    if col.min is not None and col.max is not None:
        text += f" between {col.min:g} and {col.max:g}"
    elif col.min is not None:
        text += f" >= {col.min:g}"
    elif col.max is not None:
        text += f" <= {col.max:g}"
    return text


def _rows(mask: pd.Series | np.ndarray) -> np.ndarray:
    """0-based positions where ``mask`` is true."""
    if isinstance(mask, pd.Series):
        mask = mask.to_numpy(dtype=bool, na_value=False)
    return np.flatnonzero(mask)


def _parse_numbers(s: pd.Series, col: ColumnSpec, file: str) -> tuple[pd.Series, list[Problem]]:
    """Text or numbers -> float64 (int64 for whole-number columns).

    Cells that are not finite numbers, not whole where whole numbers are
    expected, or outside the column's range are reported and left empty, so
    that nothing out of range reaches an int64 cast.
    """
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        given = s.notna().to_numpy(dtype=bool)
        values = s.to_numpy(dtype="float64", na_value=np.nan, copy=True)
    else:
        text = _stripped_text(s)
        given = (text.notna() & (text != "")).to_numpy(dtype=bool, na_value=False)
        parsed = pd.to_numeric(text.where(given), errors="coerce")
        values = parsed.to_numpy(dtype="float64", na_value=np.nan, copy=True)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(values)
        if col.min is not None:
            ok &= values >= col.min
        if col.max is not None:
            ok &= values <= col.max
        if col.kind == "int":
            ok &= np.mod(values, 1) == 0
    bad = given & ~ok
    problems = [
        Problem(file, int(i) + 1, col.name, shorten(s.iloc[i]), expected_text(col))
        for i in _rows(bad)
    ]
    values[~(given & ok)] = np.nan
    num = pd.Series(values, index=s.index, dtype="float64")
    if col.kind == "int" and not np.isnan(values).any():
        num = num.astype("int64")
    return num, problems


_FIRST_NS = pd.Timestamp("1678-01-01")
_LAST_NS = pd.Timestamp("2261-12-31")


def _parse_dates(s: pd.Series, col: ColumnSpec, file: str) -> tuple[pd.Series, list[Problem]]:
    """ISO 8601 text or datetimes -> naive datetime64[ns].

    Times with an offset are converted to UTC; naive ones are kept as they
    are. Each cell is parsed on its own, so a column may mix dates and
    timestamps.
    """
    if pd.api.types.is_datetime64_any_dtype(s):
        given = s.notna()
        parsed = s
        if getattr(s.dt, "tz", None) is not None:
            parsed = s.dt.tz_convert("UTC").dt.tz_localize(None)
    else:
        text = _stripped_text(s)
        given = (text.notna() & (text != "")).fillna(False).astype(bool)
        parsed = pd.to_datetime(
            text.where(given).astype(object), format="ISO8601", errors="coerce", utc=True
        ).dt.tz_localize(None)
    unparsed = given & parsed.isna()
    out_of_range = given & parsed.notna() & ((parsed < _FIRST_NS) | (parsed > _LAST_NS))
    problems = [
        Problem(file, int(i) + 1, col.name, shorten(s.iloc[i]), expected_text(col))
        for i in _rows(unparsed)
    ] + [
        Problem(file, int(i) + 1, col.name, shorten(s.iloc[i]), "a date between 1678 and 2261")
        for i in _rows(out_of_range)
    ]
    parsed = parsed.where(given & ~unparsed & ~out_of_range)
    return parsed.astype("datetime64[ns]"), problems


def _parse_bools(s: pd.Series) -> pd.Series:
    """Usual spellings of true and false -> bool; anything else is kept for pandera to report.

    pandas itself would call "maybe" true.
    """
    if pd.api.types.is_bool_dtype(s):
        return s
    lowered = _stripped_text(s).str.lower()
    mapped = lowered.map(BOOL_TEXTS)
    unknown = mapped.isna().to_numpy(dtype=bool)
    values = mapped.astype(object).to_numpy(copy=True)  # unknown cells are replaced below
    values[unknown] = s.to_numpy(dtype=object)[unknown]
    return pd.Series(values, index=s.index, dtype=object)


def pre_parse(df: pd.DataFrame, spec: TableSpec, file: str) -> tuple[pd.DataFrame, list[Problem]]:
    """Give text columns their kind before pandera checks them.

    Returns the frame and the cells that could not be parsed (those cells
    are left empty, and reported once). Empty cells of optional columns
    take the column's default; empty cells of text columns that are
    neither ids nor enumerations are empty text.
    """
    df = df.copy()
    problems: list[Problem] = []
    for col in spec.columns:
        if col.name not in df.columns:
            continue
        s = df[col.name]
        if not col.required and col.default is not None and not col.nullable:
            blank = _blank(s, strip=col.kind not in ("str", "list"))
            if blank.any():
                s = s.astype(object).where(~blank, col.default)
        if col.kind == "bool":
            s = _parse_bools(s)
        elif col.kind in ("int", "float"):
            s, found = _parse_numbers(s, col, file)
            problems += found
        elif col.kind == "datetime":
            s, found = _parse_dates(s, col, file)
            problems += found
        elif col.nullable:
            s = _as_text(s, None, empty_is_none=True)  # an empty id means "none"
        elif not _is_identifier(spec, col) and col.enum is None:
            s = _as_text(s, "", empty_is_none=False)
        else:
            s = _as_text(s, None, empty_is_none=False)  # ids may not be empty; pandera says so
        df[col.name] = s
    return df, problems
