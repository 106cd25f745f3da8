"""Safe CSV export: formula cells are neutralised, numbers stay numbers, Excel reads UTF-8."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from core.data.export import BOM, neutralise, safe_cell, to_safe_csv

ATTACKS = [
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://evil.example","click")',
    "+1+1",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
    "  =1+1",
    "＝1+1",
]


def _read(data: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", keep_default_na=False)


@pytest.mark.parametrize("text", ATTACKS)
def test_formula_cells_get_a_leading_apostrophe(text):
    assert safe_cell(text) == "'" + text
    out = _read(to_safe_csv(pd.DataFrame({"name": [text]})))
    # The file cell starts with the apostrophe: a spreadsheet shows text, runs nothing.
    assert str(out["name"].iloc[0]).startswith("'")


def test_numbers_stay_numbers():
    df = pd.DataFrame(
        {
            "price": [1200.5, -3.25, 0.0],
            "units": [3, -1, 0],
            "as_text": ["-12.5", "+7", "1e3"],
            "flag": [True, False, True],
        }
    )
    data = to_safe_csv(df)
    out = _read(data)
    assert out["price"].tolist() == [1200.5, -3.25, 0.0]
    assert out["units"].tolist() == [3, -1, 0]
    assert pd.api.types.is_numeric_dtype(out["price"]) and pd.api.types.is_integer_dtype(
        out["units"]
    )
    # A text cell that is a plain number cannot be a formula: left alone.
    assert (
        out["as_text"].astype(str).tolist() == ["-12.5", "7", "1000.0"]
        or out["as_text"].astype(str).str.startswith("'").sum() == 0
    )


def test_plain_text_untouched_and_headers_neutralised():
    df = pd.DataFrame({"=evil": ["Silk scarf", "Zoé 👑", "مريم", None], "n": [1, 2, 3, 4]})
    out = neutralise(df)
    assert list(out.columns) == ["'=evil", "n"]
    assert out.iloc[:3, 0].tolist() == ["Silk scarf", "Zoé 👑", "مريم"]
    assert pd.isna(out.iloc[3, 0])


def test_bytes_are_utf8_with_bom_and_round_trip():
    df = pd.DataFrame({"designer": ["Atelier Nœud", "Vesna Draganić"], "price": [1, 2]})
    data = to_safe_csv(df)
    assert data.startswith(BOM.encode("utf-8"))
    assert b"\r\n" in data
    pd.testing.assert_frame_equal(_read(data), df)


def test_object_cells_like_lists_are_checked_too():
    df = pd.DataFrame({"ids": [["=1+1"], {"a": 1}], "when": pd.to_datetime(["2026-01-01", None])})
    out = _read(to_safe_csv(df))
    assert out["ids"].iloc[0] == "['=1+1']"  # starts with "[", not a formula
    assert out["when"].iloc[0].startswith("2026-01-01")


def test_index_option_writes_the_index():
    df = pd.DataFrame({"v": [1, 2]}, index=pd.Index(["=a", "b"], name="key"))
    out = _read(to_safe_csv(df, index=True))
    assert out["key"].tolist() == ["'=a", "b"]


@pytest.mark.security
@pytest.mark.parametrize("cell", ["\n=1+1", "\u200b=1+1", "\ufeff@SUM(A1)", "\u00a0+cmd", " \t=1"])
def test_a_formula_after_invisible_or_blank_characters_is_neutralised(cell):
    from core.data.export import safe_cell

    assert safe_cell(cell) == "'" + cell


@pytest.mark.security
def test_categorical_columns_are_neutralised_too():
    from core.data.export import to_safe_csv

    frame = pd.DataFrame({"name": pd.Categorical(["=1+1", "Tote"])})
    text = to_safe_csv(frame).decode("utf-8-sig")
    assert "'=1+1" in text and "\r\nTote\r\n" in text
