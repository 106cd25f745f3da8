"""Read and clean the Online Retail transactions: one line per invoice line, as typed values.

Cells are read as text (:func:`read_online_retail`), then parsed
(:func:`parse_invoice_dates` and the numbers); each line is kept or dropped
for a counted reason (:func:`clean_lines`).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.reading import check_header_names, read_csv_strict
from core.data.schema import MAX_PRICE, MAX_QUANTITY
from core.exceptions import DataValidationError, Problem

SOURCE_COLUMNS: tuple[str, ...] = (
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
)
# Header spellings, compared in lower case without spaces or underscores.
_ALIASES: dict[str, str] = {
    **{c.lower(): c for c in SOURCE_COLUMNS},
    "invoice": "InvoiceNo",
    "price": "UnitPrice",
}

NON_PRODUCT_CODES: frozenset[str] = frozenset(
    {
        "POST",  # postage
        "DOT",  # dotcom postage
        "M",  # manual
        "D",  # discount
        "C2",  # carriage
        "S",  # samples
        "B",  # adjust bad debt
        "BANK CHARGES",
        "AMAZONFEE",
        "PADS",
        "CRUK",  # charity commission
        "ADJUST",
        "ADJUST2",
        "TEST001",
        "TEST002",
    }
)
"""Codes of the data that are not products (also refused by the pattern below)."""

_PRODUCT_CODE = r"\d{5}[A-Z]{0,3}"
"""A product code: five digits and an optional letter suffix (``85123A``)."""

UNKNOWN_COUNTRY = "Unspecified"
"""The country of a line that names none."""

SOURCE_ENCODINGS: tuple[str, ...] = ("utf-8-sig", "cp1252", "latin-1")
"""Tried in turn; Latin-1 decodes any byte."""

_DATE_EXPECTED = "a date and time such as 12/1/2010 8:26 or 2010-12-01 08:26:00"
_SLASHED = (
    r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})"
    r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$"
)
_DROP_REASONS: tuple[str, ...] = (
    "dropped_no_customer",
    "dropped_non_product",
    "dropped_bad_quantity",
    "dropped_bad_price",
    "dropped_beyond_limits",
)


def is_product_code(codes: pd.Series) -> pd.Series:
    """Which stock codes are products (five digits and a letter suffix, not a fee).

    Parameters
    ----------
    codes : Series of str
        Stock codes, already stripped and upper-cased.

    Returns
    -------
    Series of bool
    """
    text = codes.astype("string")
    pattern = text.str.fullmatch(_PRODUCT_CODE).fillna(False).astype(bool)
    return pattern & ~text.isin(NON_PRODUCT_CODES).fillna(False).astype(bool)


def parse_invoice_dates(values: pd.Series) -> pd.Series:
    """Parse InvoiceDate text: ISO 8601, or day/month forms as exported by spreadsheets.

    ``12/1/2010 8:26`` is read month first, as in the UCI release, unless a
    first number above 12 shows the column is day first (``13/1/2011``).
    Times with an offset are converted to UTC.

    Parameters
    ----------
    values : Series of str

    Returns
    -------
    Series of datetime64[ns]
        ``NaT`` where a value is empty or cannot be read.
    """
    text = values.astype("string").str.strip()
    given = (text.notna() & (text != "")).to_numpy(dtype=bool, na_value=False)
    parsed = pd.to_datetime(
        text.where(given).astype(object), format="ISO8601", errors="coerce", utc=True
    ).dt.tz_localize(None)
    rest = given & parsed.isna().to_numpy()
    if rest.any():
        parts = text[rest].str.extract(_SLASHED).astype(float)
        first, second = parts[0], parts[1]
        day_first = bool((first > 12).any()) and not bool((second > 12).any())
        year = parts[2].where(parts[2] >= 100, parts[2] + 2000)
        slashed = pd.to_datetime(
            pd.DataFrame(
                {
                    "year": year,
                    "month": first if not day_first else second,
                    "day": second if not day_first else first,
                    "hour": parts[3].fillna(0),
                    "minute": parts[4].fillna(0),
                    "second": parts[5].fillna(0),
                }
            ),
            errors="coerce",
        )
        # Anything else readable (single-digit hours in ISO dates, month names).
        left = slashed.isna()
        if left.any():
            slashed[left] = pd.to_datetime(
                text[rest][left].astype(object), format="mixed", dayfirst=day_first, errors="coerce"
            )
        parsed[rest] = slashed.to_numpy()
    return parsed.astype("datetime64[ns]")


def _source_name(header: object) -> str:
    """The UCI name of a header cell (case, spaces and underscores ignored)."""
    text = str(header).strip()
    return _ALIASES.get(re.sub(r"[\s_]+", "", text).lower(), text)


def _check_columns(header: list[str], file: str) -> None:
    """Raise a problem per source column missing from ``header``."""
    names = [_source_name(c) for c in header]
    missing = [c for c in SOURCE_COLUMNS if c not in names]
    if missing:
        found = ", ".join(str(c).strip() for c in header) or "none"
        raise DataValidationError(
            [
                Problem(file, None, c, None, f"a column named '{c}' (found: {found})")
                for c in missing
            ]
        )


def read_online_retail(csv_path: str | Path) -> pd.DataFrame:
    """Read an Online Retail CSV as text, with the columns named as in the UCI release.

    UTF-8 (with or without a byte-order mark) is tried first, then
    Windows-1252 and Latin-1, which decode any byte.

    Parameters
    ----------
    csv_path : path

    Returns
    -------
    DataFrame
        One text column per :data:`SOURCE_COLUMNS` (plus any others in the
        file); empty cells are missing.

    Raises
    ------
    DataValidationError
        The file is missing, empty, binary, not a well-formed CSV, lacks a
        column, or names a column twice (in any of its spellings) or not at all.
    """
    path = Path(csv_path)

    def check_header(header: list[str]) -> None:
        # "Invoice" and "InvoiceNo" are one column: both in a header is a repeat.
        check_header_names(header, path.name, same_column=_source_name)
        _check_columns([_source_name(c) for c in header], path.name)

    df = read_csv_strict(path, encodings=SOURCE_ENCODINGS, check_header=check_header)
    return df.rename(columns={c: _source_name(c) for c in df.columns})


def _customer_ids(values: pd.Series) -> pd.Series:
    """CustomerID as text without the ``.0`` a float export adds; missing stays missing."""
    text = values.astype("string").str.strip()
    text = text.str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
    return text.where(text != "")


def _parse_cells(df: pd.DataFrame, file: str) -> pd.DataFrame:
    """Quantity, UnitPrice and InvoiceDate as numbers and datetimes, or a named error."""
    problems: list[Problem] = []

    def check(column: str, bad: np.ndarray, expected: str) -> None:
        for i in np.flatnonzero(bad):
            value = df[column].iloc[i]
            shown = None if pd.isna(value) else str(value)[:60]
            problems.append(
                Problem(file, int(i) + 1, column, shown, expected if shown else "a value")
            )

    quantity = pd.to_numeric(df["Quantity"].astype("string").str.strip(), errors="coerce")
    q = quantity.to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(invalid="ignore"):
        check("Quantity", ~(np.isfinite(q) & (np.mod(q, 1) == 0)), "a whole number of units")
    price = pd.to_numeric(df["UnitPrice"].astype("string").str.strip(), errors="coerce")
    p = price.to_numpy(dtype="float64", na_value=np.nan)
    check("UnitPrice", ~np.isfinite(p), "a unit price in GBP, e.g. 2.55")
    dates = parse_invoice_dates(df["InvoiceDate"])
    check("InvoiceDate", dates.isna().to_numpy(), _DATE_EXPECTED)
    if problems:
        problems.sort(key=lambda pr: (pr.row or 0, SOURCE_COLUMNS.index(pr.column or "Country")))
        raise DataValidationError(problems)
    return pd.DataFrame(
        {
            "invoice": df["InvoiceNo"].astype("string").str.strip().str.upper().fillna(""),
            "product_id": df["StockCode"].astype("string").str.strip().str.upper().fillna(""),
            "description": df["Description"]
            .astype("string")
            .str.replace(r"\s+", " ", regex=True)
            .str.strip()
            .fillna(""),
            "quantity": q,
            "price": p,
            "timestamp": dates,
            "client_id": _customer_ids(df["CustomerID"]),
            "country": df["Country"].astype("string").str.strip().fillna("").replace("", None),
        }
    )


def _drop_reasons(lines: pd.DataFrame) -> pd.Series:
    """The first reason each line is dropped, or ``""`` when it is kept."""
    cancel = lines["invoice"].str.startswith("C").to_numpy(dtype=bool)
    q = lines["quantity"].to_numpy()
    p = lines["price"].to_numpy()
    conditions = [
        lines["client_id"].isna().to_numpy(),
        ~is_product_code(lines["product_id"]).to_numpy(),
        np.where(cancel, q >= 0, q <= 0),
        p <= 0,
        (np.abs(q) > MAX_QUANTITY) | (p > MAX_PRICE) | (np.abs(q) * p > MAX_PRICE * MAX_QUANTITY),
    ]
    reasons = np.select(conditions, list(_DROP_REASONS), default="")
    return pd.Series(reasons, index=lines.index)


def clean_lines(source: pd.DataFrame, file: str) -> tuple[pd.DataFrame, dict[str, int]]:
    """The lines worth keeping, as purchases and returns, and the count of lines per fate.

    Parameters
    ----------
    source : DataFrame
        As returned by :func:`read_online_retail` (text cells).
    file : str
        The file name to cite in problems.

    Returns
    -------
    lines : DataFrame
        ``invoice``, ``product_id``, ``description``, ``quantity`` (units,
        positive), ``price``, ``timestamp``, ``client_id``, ``country`` (never
        missing) and ``event_type`` (``purchase`` or ``return``).
    counts : dict of str to int
        ``rows_read``, ``rows_kept`` (still 0: set it once the lines are
        final) and ``dropped_<reason>`` per reason.

    Raises
    ------
    DataValidationError
        A cell cannot be read (named by row and column).
    """
    lines = _parse_cells(source.reset_index(drop=True), file)
    reasons = _drop_reasons(lines)
    counts: dict[str, int] = {"rows_read": len(lines), "rows_kept": 0}
    counts |= {reason: int((reasons == reason).sum()) for reason in _DROP_REASONS}
    kept = lines[reasons == ""].copy()
    kept["event_type"] = np.where(kept["invoice"].str.startswith("C"), "return", "purchase")
    kept["quantity"] = kept["quantity"].abs().astype("int64")
    kept["country"] = kept["country"].fillna(UNKNOWN_COUNTRY)
    return kept, counts
