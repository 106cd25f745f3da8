"""CSV exports that are safe to open in a spreadsheet.

A cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage
return, which some spreadsheets skip before reading a formula) is run as a
formula by Excel, LibreOffice and Google Sheets: ``=HYPERLINK(...)`` or
``=cmd|' /C calc'!A0`` in a product name from an import would execute on the
merchandiser's machine. :func:`to_safe_csv` prefixes such text cells with an
apostrophe, which spreadsheets show as plain text (OWASP "CSV injection").
The trigger is looked for after any leading whitespace (spaces, tabs, line
breaks, no-break spaces) and invisible format characters (zero-width spaces,
byte-order marks, bidirectional controls), which a spreadsheet may skip too.
Numbers stay numbers: numeric columns are written as they are, and a text cell
that is a plain number (``-12.5``) is left alone, since it cannot be a formula.
Categorical columns are checked like text columns.

The bytes are UTF-8 with a byte-order mark, so Excel reads accents and
non-Latin names correctly when the file is double-clicked.
"""

from __future__ import annotations

import re

import pandas as pd

#: Characters that make a spreadsheet read a cell as a formula (full-width forms included).
FORMULA_TRIGGERS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
#: UTF-8 byte-order mark: Excel needs it to read a CSV as UTF-8.
BOM = "\ufeff"
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
#: Leading characters a spreadsheet may skip before a formula: whitespace (tabs and carriage
#: returns are triggers themselves) and invisible format characters.
_SKIPPED = re.compile(
    r"^(?:[^\S\t\r]|[\u00ad\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff])*"
)


def safe_cell(value: object) -> object:
    """``value`` made inert for a spreadsheet; non-text values are returned unchanged.

    Parameters
    ----------
    value : object
        One cell.

    Returns
    -------
    object
        Text starting (after leading whitespace and invisible format
        characters) with a formula trigger gets a leading apostrophe, unless it
        is a plain number; anything else is returned as is.

    Examples
    --------
    >>> safe_cell("=1+1")
    "'=1+1"
    >>> safe_cell("-12.5"), safe_cell(-3), safe_cell("Silk scarf")
    ('-12.5', -3, 'Silk scarf')
    """
    if not isinstance(value, str) or not value:
        return value
    stripped = _SKIPPED.sub("", value)
    if not stripped:
        return value
    if stripped[0] in FORMULA_TRIGGERS or value[0] in FORMULA_TRIGGERS:
        if _PLAIN_NUMBER.fullmatch(stripped.strip()):
            return value
        return "'" + value
    return value


def neutralise(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells and column names are safe (see :func:`safe_cell`).

    Text and categorical columns are checked; numeric, boolean and datetime
    columns are not touched.
    """
    out = df.copy()
    for col in out.columns:
        s = out[col]
        text = pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)
        if text or isinstance(s.dtype, pd.CategoricalDtype):
            out[col] = s.astype(object).map(safe_cell)
    out.columns = [safe_cell(str(c)) for c in out.columns]
    return out


def to_safe_csv(df: pd.DataFrame, *, index: bool = False) -> bytes:
    """``df`` as CSV bytes that are safe to open in a spreadsheet.

    Parameters
    ----------
    df : DataFrame
        Any frame; list or dict cells are written as their text.
    index : bool
        Write the index as a first column (default ``False``).

    Returns
    -------
    bytes
        UTF-8 with a byte-order mark, CRLF line ends (RFC 4180); every text
        cell that a spreadsheet would run as a formula starts with ``'``.
    """
    frame = df.reset_index() if index else df
    frame = frame.copy()
    for col in frame.columns:
        s = frame[col]
        if pd.api.types.is_object_dtype(s):
            # Lists, dicts and the like become their text first, so they are checked too.
            frame[col] = s.map(
                lambda v: v if v is None or isinstance(v, str | int | float | bool) else str(v)
            )
    text = neutralise(frame).to_csv(index=False, lineterminator="\r\n")
    return (BOM + text).encode("utf-8")
