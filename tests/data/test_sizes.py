"""The size contract (:mod:`core.data.sizes`): stock per size, a product's size run.

The tables are the tiny valid folder of ``test_dataset``; a folder without the
size columns loads exactly as before.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.data.dataset import load_dataset
from core.data.sizes import client_size_column
from tests.data.test_dataset import assert_rejected, valid_tables, write_tables


def _sized(tables: dict[str, list[dict[str, str]]]) -> None:
    """P3 (a coat) declares S|M|L and is stocked per size in Paris."""
    tables["products"][2]["sizes"] = "S|M|L"
    tables["products"][0]["sizes"] = ""
    tables["products"][1]["sizes"] = ""
    for row in tables["stock"]:
        row["size"] = ""
    tables["stock"][2]["quantity"] = "2"
    tables["stock"][2]["size"] = "M"
    tables["stock"].append({"product_id": "P3", "store_id": "PAR", "quantity": "0", "size": "L"})


def test_without_size_columns_the_tables_are_as_before(tmp_path: Path) -> None:
    ds = load_dataset(write_tables(tmp_path))
    assert ds.stock["size"].tolist() == ["", "", ""]
    assert ds.products["sizes"].tolist() == ["", "", ""]
    # the duplicate message keeps its old key (no size column in the file)
    tables = valid_tables()
    tables["stock"].append(dict(tables["stock"][0]))
    write_tables(tmp_path / "dup", tables)
    assert_rejected(
        tmp_path / "dup",
        r"stock\.csv, row 4, column 'product_id, store_id': got 'P1, PAR'; "
        r"expected a unique product_id and store_id \(the same appears in row 1\)",
    )


def test_stock_per_size_loads(tmp_path: Path) -> None:
    tables = valid_tables()
    _sized(tables)
    ds = load_dataset(write_tables(tmp_path, tables))
    rows = ds.stock[ds.stock["product_id"] == "P3"][["size", "quantity"]]
    assert rows.values.tolist() == [["M", 2], ["L", 0]]
    assert ds.products["sizes"].tolist() == ["", "", "S|M|L"]


def test_sizes_stay_text(tmp_path: Path) -> None:
    tables = valid_tables()
    tables["stock"][0]["size"] = "38"
    tables["stock"].append({"product_id": "P1", "store_id": "PAR", "quantity": "1", "size": "38.5"})
    for row in tables["stock"][1:3]:
        row["size"] = ""
    ds = load_dataset(write_tables(tmp_path, tables))
    assert ds.stock["size"].tolist() == ["38", "", "", "38.5"]


@pytest.mark.parametrize(
    ("change", "match"),
    [
        pytest.param(
            lambda t: t["stock"].append(
                {"product_id": "P3", "store_id": "PAR", "quantity": "1", "size": "M"}
            ),
            r"stock\.csv, row 5, column 'product_id, store_id, size': got 'P3, PAR, M'; "
            r"expected a unique product_id and store_id and size \(the same appears in row 3\)",
            id="duplicate-size",
        ),
        pytest.param(
            lambda t: t["stock"].append(
                {"product_id": "P3", "store_id": "PAR", "quantity": "1", "size": "XXL"}
            ),
            r"stock\.csv, row 5, column 'size': got 'XXL'; "
            r"expected one of the sizes of P3 in products \(S, M, L\)",
            id="size-outside-the-run",
        ),
        pytest.param(
            lambda t: t["stock"].append(
                {"product_id": "P3", "store_id": "PAR", "quantity": "1", "size": ""}
            ),
            r"stock\.csv, row 5, column 'size'; expected a size: P3 in PAR is stocked per "
            r"size \(row 3\), so every row of it names one",
            id="whole-and-per-size",
        ),
    ],
)
def test_bad_size_is_named(tmp_path: Path, change: object, match: str) -> None:
    tables = valid_tables()
    _sized(tables)
    change(tables)  # type: ignore[operator]
    err = assert_rejected(write_tables(tmp_path, tables), match)
    assert len(err.problems) == 1


def test_undeclared_run_takes_any_size(tmp_path: Path) -> None:
    tables = valid_tables()
    _sized(tables)
    tables["products"][2]["sizes"] = ""
    tables["stock"][2]["size"] = "XXS"
    assert load_dataset(write_tables(tmp_path, tables)).stock["size"].tolist()[2] == "XXS"


@pytest.mark.parametrize(
    ("category", "subcategory", "column"),
    [
        ("ready-to-wear", "dress", "size_rtw"),
        ("Outerwear", "parka", "size_rtw"),
        ("shoes", "pumps", "size_shoes"),
        ("jewellery", "Engagement ring", "size_ring"),
        ("jewellery", "necklace", None),
        ("bags", "", None),
    ],
)
def test_client_size_column(category: str, subcategory: str, column: str | None) -> None:
    assert client_size_column(category, subcategory) == column


# ------------------------------------------------------------ return reasons
def test_return_reasons_load_and_default_to_empty(tmp_path: Path) -> None:
    assert set(load_dataset(write_tables(tmp_path / "plain")).events["reason"]) == {""}
    tables = valid_tables()
    tables["events"].append(
        {**tables["events"][0], "event_type": "return", "timestamp": "2026-03-05", "reason": "fit"}
    )
    ds = load_dataset(write_tables(tmp_path / "fit", tables))
    assert ds.events["reason"].tolist() == ["", "", "", "fit"]


@pytest.mark.parametrize(
    ("row", "match"),
    [
        pytest.param(
            {"event_type": "return", "reason": "too tight"},
            r"events\.csv, row 4, column 'reason': got 'too tight'; expected one of , fit, "
            r"quality, changed mind, damaged, other",
            id="unknown-reason",
        ),
        pytest.param(
            {"event_type": "purchase", "reason": "fit"},
            r"events\.csv, row 4, column 'reason': got 'fit'; expected no reason on a "
            r"purchase event \(a reason says why a return came back\)",
            id="reason-on-a-purchase",
        ),
    ],
)
def test_bad_return_reason_is_named(tmp_path: Path, row: dict[str, str], match: str) -> None:
    tables = valid_tables()
    tables["events"].append({**tables["events"][0], "timestamp": "2026-03-05", **row})
    err = assert_rejected(write_tables(tmp_path, tables), match)
    assert len(err.problems) == 1
