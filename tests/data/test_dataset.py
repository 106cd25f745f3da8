"""Tests of :mod:`core.data.dataset`: a load succeeds whole or changes nothing.

Each bad input is written into a tiny, otherwise valid folder of six CSV
files; the load must raise :class:`DataValidationError` naming the file,
the row and the column and saying what was expected, and must leave the
folder exactly as it was.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data.dataset import Dataset, load_dataset
from core.data.ids import IdMap
from core.data.schema import ONLINE_STORE_ID, TABLE_ORDER
from core.exceptions import DataValidationError, UnknownIdError

Rows = list[dict[str, str]]
Tables = dict[str, Rows]

VALID: Tables = {
    "products": [
        {
            "product_id": "P1",
            "name": "Calfskin tote",
            "category": "bags",
            "price": "2400",
            "designer": "Maison A",
            "launch_date": "2026-01-10",
            "sustainable": "true",
            "style_tags": "quiet luxury|classic",
        },
        {
            "product_id": "P2",
            "name": "Silk scarf",
            "category": "accessories",
            "price": "450.5",
            "designer": "Maison B",
            "launch_date": "",
            "sustainable": "false",
            "style_tags": "",
        },
        {
            "product_id": "P3",
            "name": "Cashmere coat",
            "category": "ready-to-wear",
            "price": "3900",
            "designer": "Maison A",
            "launch_date": "2026-02-01T09:00:00",
            "sustainable": "no",
            "style_tags": "heritage",
        },
    ],
    "stores": [
        {
            "store_id": "PAR",
            "name": "Paris Faubourg",
            "city": "Paris",
            "country": "FR",
            "climate": "temperate",
            "online": "false",
        },
        {
            "store_id": ONLINE_STORE_ID,
            "name": "Online",
            "city": "",
            "country": "",
            "climate": "temperate",
            "online": "true",
        },
    ],
    "stock": [
        {"product_id": "P1", "store_id": "PAR", "quantity": "3"},
        {"product_id": "P2", "store_id": ONLINE_STORE_ID, "quantity": "10"},
        {"product_id": "P3", "store_id": "PAR", "quantity": "0"},
    ],
    "associates": [
        {"user_id": "U1", "name": "Ana", "role": "associate", "store_id": "PAR"},
        {"user_id": "U2", "name": "Bo", "role": "manager", "store_id": ""},
    ],
    "clients": [
        {
            "client_id": "C1",
            "first_name": "Jo",
            "last_name": "Doe",
            "home_store_id": "PAR",
            "tier": "vic",
            "consent_personalization": "true",
            "consent_contact": "false",
            "assigned_associate_id": "U1",
        },
        {
            "client_id": "C2",
            "first_name": "Al",
            "last_name": "Roe",
            "home_store_id": ONLINE_STORE_ID,
            "tier": "client",
            "consent_personalization": "false",
            "consent_contact": "true",
            "assigned_associate_id": "",
        },
    ],
    "events": [
        {
            "client_id": "C1",
            "product_id": "P1",
            "event_type": "purchase",
            "timestamp": "2026-03-01 10:00:00",
            "channel": "store",
            "store_id": "PAR",
            "quantity": "1",
            "value": "2400",
            "is_gift": "false",
        },
        {
            "client_id": "C2",
            "product_id": "P2",
            "event_type": "view",
            "timestamp": "2026-03-02T11:30:00",
            "channel": "online",
            "store_id": ONLINE_STORE_ID,
            "quantity": "1",
            "value": "0",
            "is_gift": "false",
        },
        {
            "client_id": "C1",
            "product_id": "P3",
            "event_type": "try_on",
            "timestamp": "2026-03-03",
            "channel": "store",
            "store_id": "",
            "quantity": "",
            "value": "",
            "is_gift": "",
        },
    ],
}


def valid_tables() -> Tables:
    """A fresh, mutable copy of the valid tables."""
    return copy.deepcopy(VALID)


def write_csv(path: Path, rows: Rows, columns: list[str] | None = None) -> None:
    """Write ``rows`` as a UTF-8 CSV (header only when ``rows`` is empty)."""
    fieldnames = columns or list(dict.fromkeys(k for row in rows for k in row))
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fieldnames)
        writer.writeheader()
        writer.writerows(rows)


def write_tables(folder: Path, tables: Tables | None = None) -> Path:
    """Write the six tables as CSV files into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in (tables or valid_tables()).items():
        write_csv(folder / f"{name}.csv", rows, None if rows else list(VALID[name][0]))
    return folder


def snapshot(folder: Path) -> dict[str, tuple[int, int, str]]:
    """Every file under ``folder`` with its size, mtime and content hash."""
    return {
        str(p.relative_to(folder)): (
            p.stat().st_size,
            p.stat().st_mtime_ns,
            hashlib.sha256(p.read_bytes()).hexdigest(),
        )
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def assert_rejected(folder: Path, match: str, **kwargs: float) -> DataValidationError:
    """Loading ``folder`` raises a matching error and changes nothing."""
    before = snapshot(folder)
    with pytest.raises(DataValidationError, match=match) as info:
        load_dataset(folder, **kwargs)
    assert snapshot(folder) == before
    assert info.value.problems, "an error without problems explains nothing"
    return info.value


def test_valid_folder_loads(tmp_path: Path) -> None:
    before = snapshot(write_tables(tmp_path))
    ds = load_dataset(tmp_path)
    assert snapshot(tmp_path) == before
    assert ds.summary() == {
        "products": 3,
        "stores": 2,
        "stock": 3,
        "associates": 2,
        "clients": 2,
        "events": 3,
    }
    assert ds.products["price"].tolist() == [2400.0, 450.5, 3900.0]
    assert ds.products["sustainable"].tolist() == [True, False, False]
    assert ds.products["currency"].tolist() == ["EUR"] * 3  # optional column, default
    assert ds.products["launch_date"].isna().tolist() == [False, True, False]
    assert ds.stock["quantity"].dtype == np.int64
    assert ds.clients["assigned_associate_id"].tolist() == ["U1", None]
    assert ds.associates["store_id"].tolist() == ["PAR", None]
    # Dates and timestamps, with a space or a T, mix in one column.
    assert ds.events["timestamp"].tolist() == [
        pd.Timestamp("2026-03-01 10:00:00"),
        pd.Timestamp("2026-03-02 11:30:00"),
        pd.Timestamp("2026-03-03"),
    ]
    # Empty cells of optional columns take the column's default.
    last = ds.events.iloc[2]
    assert (last["quantity"], last["value"], last["is_gift"]) == (1, 0.0, False)
    assert last["store_id"] is None
    assert ds.stores.set_index("store_id").loc[ONLINE_STORE_ID, "city"] == ""


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    write_tables(tmp_path)
    path = tmp_path / "products.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # as spreadsheets save UTF-8
    assert load_dataset(tmp_path).products["product_id"].tolist() == ["P1", "P2", "P3"]


def _set(table: str, row: int, column: str, value: str) -> Callable[[Tables], None]:
    def change(tables: Tables) -> None:
        tables[table][row][column] = value

    return change


def _drop_column(table: str, column: str) -> Callable[[Tables], None]:
    def change(tables: Tables) -> None:
        for row in tables[table]:
            del row[column]

    return change


def _duplicate_row(table: str, row: int, **changes: str) -> Callable[[Tables], None]:
    def change(tables: Tables) -> None:
        tables[table].append({**tables[table][row], **changes})

    return change


NUMBER = "a number between 0 and 1e\\+09"
WHOLE = "a whole number between 0 and 1e\\+07"

BAD_CELLS = [
    pytest.param(
        _set("products", 1, "price", "abc"),
        rf"products\.csv, row 2, column 'price': got 'abc'; expected {NUMBER}",
        id="text-in-price",
    ),
    pytest.param(
        _set("stock", 0, "quantity", "three"),
        rf"stock\.csv, row 1, column 'quantity': got 'three'; expected {WHOLE}",
        id="text-in-quantity",
    ),
    pytest.param(
        _set("stock", 1, "quantity", "2.5"),
        rf"stock\.csv, row 2, column 'quantity': got '2\.5'; expected {WHOLE}",
        id="fraction-in-quantity",
    ),
    pytest.param(
        _set("events", 1, "product_id", "P404"),
        r"events\.csv, row 2, column 'product_id': got 'P404'; "
        r"expected an existing product_id in products",
        id="event-unknown-product",
    ),
    pytest.param(
        _set("stock", 2, "store_id", "NYC"),
        r"stock\.csv, row 3, column 'store_id': got 'NYC'; expected an existing store_id in stores",
        id="stock-unknown-store",
    ),
    pytest.param(
        _set("clients", 0, "assigned_associate_id", "U9"),
        r"clients\.csv, row 1, column 'assigned_associate_id': got 'U9'; "
        r"expected an existing user_id in associates",
        id="client-unknown-associate",
    ),
    pytest.param(
        _duplicate_row("products", 0, name="Another tote"),
        r"products\.csv, row 4, column 'product_id': got 'P1'; "
        r"expected a unique product_id \(the same appears in row 1\)",
        id="duplicate-product-id",
    ),
    pytest.param(
        _duplicate_row("stock", 0, quantity="5"),
        r"stock\.csv, row 4, column 'product_id, store_id': got 'P1, PAR'; "
        r"expected a unique product_id and store_id \(the same appears in row 1\)",
        id="duplicate-stock-product-store",
    ),
    pytest.param(
        _set("events", 0, "event_type", "purchased"),
        r"events\.csv, row 1, column 'event_type': got 'purchased'; "
        r"expected one of view, zoom, wishlist, .*, purchase, return",
        id="unknown-event-type",
    ),
    pytest.param(
        _set("stores", 0, "climate", "tropical"),
        r"stores\.csv, row 1, column 'climate': got 'tropical'; "
        r"expected one of warm, temperate, cold",
        id="unknown-climate",
    ),
    pytest.param(
        _set("associates", 1, "role", "ceo"),
        r"associates\.csv, row 2, column 'role': got 'ceo'; "
        r"expected one of associate, stylist, manager, admin",
        id="unknown-role",
    ),
    pytest.param(
        _set("clients", 1, "tier", "gold"),
        r"clients\.csv, row 2, column 'tier': got 'gold'; "
        r"expected one of prospect, client, loyal, vic",
        id="unknown-tier",
    ),
    pytest.param(
        _set("events", 0, "timestamp", "yesterday"),
        r"events\.csv, row 1, column 'timestamp': got 'yesterday'; expected a date or timestamp",
        id="unparsable-timestamp",
    ),
    pytest.param(
        _set("products", 0, "launch_date", "2026-02-30"),
        r"products\.csv, row 1, column 'launch_date': got '2026-02-30'; expected a date",
        id="impossible-date",
    ),
    pytest.param(
        _set("products", 0, "launch_date", "9999-12-31"),
        r"products\.csv, row 1, column 'launch_date': got '9999-12-31'; "
        r"expected a date between 1678 and 2261",
        id="date-out-of-range",
    ),
    pytest.param(
        _set("products", 2, "price", "-5"),
        rf"products\.csv, row 3, column 'price': got '-5'; expected {NUMBER}",
        id="negative-price",
    ),
    pytest.param(
        _set("products", 0, "price", "1e300"),
        rf"products\.csv, row 1, column 'price': got '1e300'; expected {NUMBER}",
        id="huge-price",
    ),
    pytest.param(
        _set("stock", 0, "quantity", "10000001"),
        rf"stock\.csv, row 1, column 'quantity': got '10000001'; expected {WHOLE}",
        id="quantity-beyond-max",
    ),
    pytest.param(
        _set("stock", 0, "quantity", "99999999999999999999999"),
        rf"stock\.csv, row 1, column 'quantity': got '99999999999999999999999'; expected {WHOLE}",
        id="quantity-beyond-int64",
    ),
    pytest.param(
        _set("products", 0, "price", "NaN"),
        rf"products\.csv, row 1, column 'price': got 'NaN'; expected {NUMBER}",
        id="nan-price",
    ),
    pytest.param(
        _set("products", 1, "price", "inf"),
        rf"products\.csv, row 2, column 'price': got 'inf'; expected {NUMBER}",
        id="inf-price",
    ),
    pytest.param(
        _set("products", 0, "price", ""),
        r"products\.csv, row 1, column 'price'; expected a value \(this column may not be empty\)",
        id="empty-price",
    ),
    pytest.param(
        _set("events", 0, "client_id", ""),
        r"events\.csv, row 1, column 'client_id'; expected a value",
        id="empty-id",
    ),
    pytest.param(
        _set("products", 0, "sustainable", "maybe"),
        r"products\.csv, row 1, column 'sustainable': got 'maybe'; expected true or false",
        id="maybe-boolean",
    ),
    pytest.param(
        _set("clients", 1, "consent_contact", "maybe"),
        r"clients\.csv, row 2, column 'consent_contact': got 'maybe'; expected true or false",
        id="maybe-consent",
    ),
    pytest.param(
        _drop_column("products", "price"),
        r"products\.csv, column 'price'; expected a column named 'price' \(required; found: ",
        id="missing-column",
    ),
]


@pytest.mark.parametrize(("change", "match"), BAD_CELLS)
def test_bad_cell_is_named(tmp_path: Path, change: Callable[[Tables], None], match: str) -> None:
    tables = valid_tables()
    change(tables)
    write_tables(tmp_path, tables)
    err = assert_rejected(tmp_path, match)
    assert str(err).startswith("1 problem found; nothing was loaded:")


def _write_bytes(name: str, data: bytes) -> Callable[[Path], None]:
    def change(folder: Path) -> None:
        (folder / name).write_bytes(data)

    return change


def _replace_with_parquet(name: str, data: bytes) -> Callable[[Path], None]:
    def change(folder: Path) -> None:
        (folder / f"{name}.csv").unlink()
        (folder / f"{name}.parquet").write_bytes(data)

    return change


def _remove(name: str) -> Callable[[Path], None]:
    def change(folder: Path) -> None:
        (folder / name).unlink()

    return change


def _latin1_products(folder: Path) -> None:
    text = "product_id,name,category,price\nP1,Tote,bags,10\nP2,Sac à main,bags,20\nP3,C,c,1\n"
    (folder / "products.csv").write_bytes(text.encode("latin-1"))


def _rename_header(name: str, column: str, to: str) -> Callable[[Path], None]:
    """Rewrite the header of ``name``.csv with ``column`` renamed ``to`` (rows untouched)."""

    def change(folder: Path) -> None:
        path = folder / f"{name}.csv"
        header, rest = path.read_text(encoding="utf-8").split("\n", 1)
        cells = [to if cell == column else cell for cell in header.split(",")]
        path.write_text(",".join(cells) + "\n" + rest, encoding="utf-8")

    return change


def _clients_parquet(names: list[str]) -> Callable[[Path], None]:
    """Replace clients.csv with a Parquet file whose columns are ``names`` (repeats allowed)."""

    def change(folder: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        clients = pd.read_csv(folder / "clients.csv", dtype=str, keep_default_na=False)
        arrays = [pa.array(clients[n] if n in clients else [""] * len(clients)) for n in names]
        (folder / "clients.csv").unlink()
        pq.write_table(pa.Table.from_arrays(arrays, names=names), folder / "clients.parquet")

    return change


JUNK = bytes(range(256)) * 8 + b"\x89PNG\r\n\x1a\n\x00\x00"

BAD_FILES = [
    pytest.param(
        _write_bytes("products.csv", b""),
        r"products\.csv; expected a header row \(the file is empty\)",
        id="empty-file",
    ),
    pytest.param(
        _write_bytes("products.csv", b"product_id,name,category,price\n"),
        r"products\.csv; expected at least 1 data row in products \(found 0\)",
        id="header-only",
    ),
    pytest.param(
        _latin1_products,
        r"products\.csv, row 2; expected UTF-8 text \(byte 0xe0 at offset \d+ is not UTF-8",
        id="latin-1",
    ),
    pytest.param(
        _write_bytes("products.csv", JUNK),
        r"products\.csv; expected CSV text \(the file holds binary data\)",
        id="binary-junk-csv",
    ),
    pytest.param(
        _replace_with_parquet("products", JUNK),
        r"products\.parquet: got .*; expected a readable Parquet file",
        id="junk-parquet",
    ),
    pytest.param(
        _write_bytes("products.csv", b'product_id,name,category,price\nP1,"a,b",c,1,extra\n'),
        r"products\.csv, row 1: got '5 fields'; expected at most 4 fields, as in the header",
        id="ragged-row",
    ),
    pytest.param(
        _remove("events.csv"),
        r"events\.csv; expected a file named events\.csv or events\.parquet",
        id="missing-table",
    ),
    # A repeated or empty column name: pandas would rename it (first_name.1, Unnamed: 3)
    # and the column it replaced (last_name) would be lost without a word.
    pytest.param(
        _rename_header("clients", "last_name", "first_name"),
        r"clients\.csv, column 'first_name'; expected one column 'first_name' \(columns 2 "
        r"and 3 of the header are both named 'first_name'; rename or remove the extra one\)",
        id="duplicate-header",
        marks=pytest.mark.reliability,
    ),
    pytest.param(
        _rename_header("clients", "last_name", " first_name "),
        r"clients\.csv, column 'first_name'; expected one column 'first_name' \(columns 2 and 3",
        id="duplicate-header-after-strip",
        marks=pytest.mark.reliability,
    ),
    pytest.param(
        _rename_header("clients", "last_name", ""),
        r"clients\.csv; expected a name for column 3 of the header \(it has none",
        id="empty-header",
        marks=pytest.mark.reliability,
    ),
    pytest.param(
        _rename_header("clients", "last_name", "   "),
        r"clients\.csv: got '   '; expected a name for column 3 of the header",
        id="blank-header",
        marks=pytest.mark.reliability,
    ),
    pytest.param(
        _clients_parquet(["client_id", "email", "email", "home_store_id"]),
        r"clients\.parquet, column 'email'; expected one column 'email' \(columns 2 and 3",
        id="duplicate-header-parquet",
        marks=pytest.mark.reliability,
    ),
    pytest.param(
        _clients_parquet(["client_id", "first_name", "", "home_store_id"]),
        r"clients\.parquet; expected a name for column 3 of the header",
        id="empty-header-parquet",
        marks=pytest.mark.reliability,
    ),
]


@pytest.mark.parametrize(("change", "match"), BAD_FILES)
def test_bad_file_is_named(tmp_path: Path, change: Callable[[Path], None], match: str) -> None:
    write_tables(tmp_path)
    change(tmp_path)
    assert_rejected(tmp_path, match)


def test_file_beyond_size_limit(tmp_path: Path) -> None:
    write_tables(tmp_path)
    limit = 0.0001  # about 105 bytes
    err = assert_rejected(
        tmp_path,
        r"events\.csv: got '[\d.e-]+ MB'; expected a file of at most 0\.0001 MB",
        max_file_mb=limit,
    )
    too_big = {p.name for p in tmp_path.iterdir() if p.stat().st_size > limit * 2**20}
    assert {"products.csv", "events.csv"} <= too_big
    # Every file over the limit is named, and only those.
    assert {p.file for p in err.problems} == too_big


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="expected a folder holding the data tables"):
        load_dataset(tmp_path / "nowhere")
    assert not (tmp_path / "nowhere").exists()


HOSTILE = [
    "<script>alert('x')</script>",
    '<img src=x onerror="alert(1)"> & <b>bold</b>',
    "Sac 👜✨ édition limitée",
    "\u202eevil.exe\u202c حقيبة يد",
    '=HYPERLINK("http://example.com","click"), with "quotes"\nand a line break',
    "N" * 10_000,
    "  padded  ",
    "NA",
    "null",
]


def test_hostile_text_is_data(tmp_path: Path) -> None:
    tables = valid_tables()
    for i, text in enumerate(HOSTILE):
        tables["products"].append(
            {**tables["products"][0], "product_id": f"H{i}", "name": text, "style_tags": text}
        )
    tables["clients"][0]["last_name"] = HOSTILE[0]
    write_tables(tmp_path, tables)
    ds = load_dataset(tmp_path)
    hostile = ds.products.set_index("product_id").loc[[f"H{i}" for i in range(len(HOSTILE))]]
    assert hostile["name"].tolist() == HOSTILE
    assert hostile["style_tags"].tolist() == HOSTILE
    assert ds.clients["last_name"].iloc[0] == HOSTILE[0]


def test_every_problem_in_every_file_is_reported_at_once(tmp_path: Path) -> None:
    tables = valid_tables()
    tables["products"][1]["price"] = "abc"
    tables["stores"][0]["climate"] = "tropical"
    tables["events"][0]["event_type"] = "purchased"
    tables["events"][1]["timestamp"] = "soon"
    write_tables(tmp_path, tables)
    (tmp_path / "associates.csv").write_bytes("user_id,name,role\nU1,Zoé,admin\n".encode("cp1252"))
    err = assert_rejected(tmp_path, r"^5 problems found; nothing was loaded:")
    where = [(p.file, p.row, p.column) for p in err.problems]
    assert where == [
        ("associates.csv", 1, None),
        ("products.csv", 2, "price"),
        ("stores.csv", 1, "climate"),
        ("events.csv", 1, "event_type"),
        ("events.csv", 2, "timestamp"),
    ]


def test_report_is_capped(tmp_path: Path) -> None:
    tables = valid_tables()
    extra = [{**tables["products"][0], "product_id": f"X{i}", "price": "?"} for i in range(22)]
    tables["products"] += extra
    tables["stock"][0]["quantity"] = "-1"
    write_tables(tmp_path, tables)
    err = assert_rejected(tmp_path, r"23 problems found")
    lines = str(err).splitlines()
    assert len(lines) == 1 + 20 + 1
    assert lines[-1] == "  ... and 3 more"
    assert len(err.problems) == 23  # the cap is only on the message


def test_row_numbers_follow_the_file(tmp_path: Path) -> None:
    tables = valid_tables()
    tables["products"] += [{**tables["products"][0], "product_id": f"X{i}"} for i in range(5)]
    tables["products"][6]["price"] = "12,50"
    write_tables(tmp_path, tables)
    err = assert_rejected(tmp_path, r"products\.csv, row 7, column 'price': got '12,50'")
    assert err.problems[0].row == 7


@pytest.mark.parametrize("typed", [True, False], ids=["typed-parquet", "text-parquet"])
def test_parquet_and_csv_give_equal_datasets(tmp_path: Path, typed: bool) -> None:
    csv_dir = write_tables(tmp_path / "csv")
    from_csv = load_dataset(csv_dir)
    pq_dir = tmp_path / "parquet"
    pq_dir.mkdir()
    for name in TABLE_ORDER:
        frame = (
            from_csv.tables[name]
            if typed
            else pd.read_csv(csv_dir / f"{name}.csv", dtype=str, keep_default_na=False)
        )
        frame.to_parquet(pq_dir / f"{name}.parquet", index=False)
    from_parquet = load_dataset(pq_dir)
    for name in TABLE_ORDER:
        pd.testing.assert_frame_equal(from_parquet.tables[name], from_csv.tables[name])
    assert from_parquet.fingerprint == from_csv.fingerprint


def test_from_frames_derives_the_missing_tables() -> None:
    products = pd.DataFrame(
        {"product_id": ["A", "B", "C"], "category": ["bags", "shoes", "bags"], "price": [1, 2, 3]}
    )
    events = pd.DataFrame(
        {
            "client_id": ["c2", "c1", "c2"],
            "product_id": ["A", "B", "C"],
            "event_type": ["purchase", "view", "return"],
            "timestamp": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-03"]),
        }
    )
    ds = Dataset.from_frames(products, events)
    assert ds.clients["client_id"].tolist() == ["c2", "c1"]
    assert ds.clients["consent_personalization"].all()
    assert not ds.clients["consent_contact"].any()
    assert ds.stores["store_id"].tolist() == [ONLINE_STORE_ID]
    assert ds.stock[["product_id", "store_id"]].values.tolist() == [
        ["A", ONLINE_STORE_ID],
        ["B", ONLINE_STORE_ID],
        ["C", ONLINE_STORE_ID],
    ]
    assert ds.associates.empty
    assert ds.products["name"].tolist() == ["A", "B", "C"]
    assert ds.events["channel"].tolist() == ["online"] * 3


def test_from_frames_validates() -> None:
    products = pd.DataFrame({"product_id": ["A"], "price": [-1.0]})
    events = pd.DataFrame(
        {"client_id": ["c"], "product_id": ["Z"], "event_type": ["view"], "timestamp": ["2026"]}
    )
    with pytest.raises(DataValidationError) as info:
        Dataset.from_frames(products, events)
    assert [(p.file, p.row, p.column) for p in info.value.problems] == [
        ("products", 1, "price"),
        ("events", 1, "product_id"),
    ]


def test_fingerprint_follows_content_not_reads(tmp_path: Path) -> None:
    write_tables(tmp_path)
    first = load_dataset(tmp_path).fingerprint
    os.utime(tmp_path / "products.csv", ns=(1, 1))  # a touched file is the same data
    assert load_dataset(tmp_path).fingerprint == first
    tables = valid_tables()
    tables["products"][1]["price"] = "451"
    write_tables(tmp_path, tables)
    assert load_dataset(tmp_path).fingerprint != first
    assert re.fullmatch(r"[0-9a-f]{16}", first)


def test_id_map_round_trip() -> None:
    ids = IdMap(["p9", "p1", "p5"], "product")
    assert len(ids) == 3 and "p1" in ids and "p2" not in ids
    internal = ids.to_internal(["p5", "p9"])
    assert internal.tolist() == [2, 0]
    assert ids.to_external(internal).tolist() == ["p5", "p9"]
    assert ids.to_internal_one("p1") == 1
    assert ids.to_internal(["p1", "nope"], strict=False).tolist() == [1, -1]
    with pytest.raises(IndexError, match="internal product index out of range"):
        ids.to_external([3])
    with pytest.raises(ValueError, match="product ids must be unique"):
        IdMap(["a", "a"], "product")


def test_few_and_many_ids_map_alike_with_or_without_the_position_dict(monkeypatch) -> None:
    """A request's few ids take a per-id look-up, many a pandas Index: the same answers."""
    import core.data.ids as ids_module

    names = [f"p{i:04d}" for i in range(600)]
    wanted = [*names[::-3], "nope", 17, "p0001"]  # unknown ids, a non-string id, a repeat
    expected = [names.index(str(w)) if str(w) in names else -1 for w in wanted]
    for dict_limit in (10_000, 0):  # the dict, then the index's get_loc
        monkeypatch.setattr(ids_module, "_POSITION_DICT_LIMIT", dict_limit)
        ids = IdMap(names, "product")
        few = ids.to_internal(wanted[-5:], strict=False).tolist()
        assert few == expected[-5:]
        many = ids.to_internal(wanted * 2, strict=False).tolist()  # above FEW_IDS
        assert len(wanted) * 2 > ids_module.FEW_IDS and many == expected * 2
        for query in (wanted[-5:], wanted * 2):
            with pytest.raises(UnknownIdError, match=r"unknown product ids: 'nope', '17'"):
                ids.to_internal(query)
        # one id in a list (a request's client): the same, found or not
        assert ids.to_internal(["p0003"]).tolist() == [3]
        assert ids.to_internal(["nope"], strict=False).tolist() == [-1]
        with pytest.raises(UnknownIdError, match=r"^unknown product id: 'nope'$"):
            ids.to_internal(["nope"])


def test_unknown_id_names_the_id(tmp_path: Path) -> None:
    ds = load_dataset(write_tables(tmp_path))
    with pytest.raises(UnknownIdError, match=r"^unknown product id: 'P404'$"):
        ds.product("P404")
    with pytest.raises(UnknownIdError, match=r"unknown client ids: 'x', 'y'"):
        ds.client_ids.to_internal(["C1", "x", "y"])
    assert ds.client("C2")["last_name"] == "Roe"
    assert ds.product("P3")["name"] == "Cashmere coat"


@pytest.mark.reliability
def test_frames_with_a_repeated_or_empty_column_name_are_refused() -> None:
    products = pd.DataFrame({"product_id": ["P1"], "name": ["Tote"], "category": ["bags"]})
    events = pd.DataFrame(
        {"client_id": ["c1"], "product_id": ["P1"], "event_type": ["view"],
         "timestamp": ["2026-01-01"], "x": ["1"]}
    )  # fmt: skip
    repeated = products.set_axis(["product_id", "name", "name"], axis=1)
    with pytest.raises(DataValidationError, match=r"products, column 'name'; expected one column"):
        Dataset.from_frames(repeated, events)
    unnamed = events.set_axis(["client_id", "product_id", "event_type", "timestamp", " "], axis=1)
    with pytest.raises(DataValidationError, match=r"events: got ' '; expected a name for column 5"):
        Dataset.from_frames(products, unnamed)


@pytest.mark.parametrize("broken", [False, True], ids=["valid", "with-problems"])
def test_text_columns_check_alike_as_objects_and_as_pandas_text(broken: bool) -> None:
    """Parquet's strings stay pandas text through the checks (compact); the result is the same."""
    products = pd.DataFrame(
        {
            "product_id": ["A", "B"],
            "name": ["Sac", "Botte"],
            "category": ["bags", "shoes"],
            "price": [10.0, 20.0],
            "material": ["", None],  # optional text: empty either way
        }
    )
    events = pd.DataFrame(
        {
            "client_id": ["c1", "c2", "c1", "c3"],
            "product_id": ["A", "B", "Z" if broken else "A", "" if broken else "B"],
            "event_type": ["purchase", "view", "return", "wishlist"],
            "timestamp": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"]),
            "store_id": [None, "", None, None],  # missing and empty: no store
            "reason": ["", None, "fit", None],
        }
    )

    def load(text: str) -> Dataset | list[tuple[object, ...]]:
        p = products.astype({c: text for c in ("product_id", "name", "category", "material")})
        e = events.astype({c: text for c in ("client_id", "product_id", "store_id", "reason")})
        try:
            return Dataset.from_frames(p, e)
        except DataValidationError as err:
            return [(q.file, q.row, q.column, q.value, q.expected) for q in err.problems]

    as_objects, as_text = load("object"), load("str")
    if broken:
        assert as_objects == as_text and [p[1:3] for p in as_text] == [
            (3, "product_id"),
            (4, "product_id"),
        ]
        return
    assert isinstance(as_objects, Dataset) and isinstance(as_text, Dataset)
    for name in ("products", "events", "clients"):
        a, b = as_objects.tables[name], as_text.tables[name]
        assert list(a.columns) == list(b.columns)
        for col in a.columns:
            left, right = a[col].astype(object).tolist(), b[col].astype(object).tolist()
            norm = [[None if pd.isna(v) else v for v in side] for side in (left, right)]
            assert norm[0] == norm[1], (name, col)
    assert as_text.events["store_id"].isna().all()
    assert as_text.events["reason"].tolist() == ["", "", "fit", ""]
    assert as_text.products["material"].tolist() == ["", ""]


@pytest.mark.parametrize(
    "make",
    [
        lambda v: list(v),
        lambda v: np.array(v, dtype=object),
        lambda v: pd.Series(v, dtype=object, index=range(1000, 1000 + len(v))),
        lambda v: pd.Series(v, dtype="str"),
        lambda v: pd.Index(v, dtype=object),
    ],
    ids=["list", "ndarray", "series-labelled", "arrow-str", "index"],
)
def test_many_ids_map_as_one_by_one_whatever_their_container(make) -> None:
    from core.data.ids import FEW_IDS, IdMap

    ids = IdMap(["a", "b", "7", "None"], kind="product")
    raw = (["b", "a", "x", "7", None] * FEW_IDS)[: 3 * FEW_IDS]
    container = make(raw)
    got = ids.to_internal(container, strict=False)
    # Each element's text looked up alone; a missing value is no id (not the id "None").
    want = [ids.to_internal_one(x) if isinstance(x, str) and x in ids else -1 for x in raw]
    np.testing.assert_array_equal(got, want)
    with pytest.raises(UnknownIdError, match="unknown product ids: 'x'"):
        ids.to_internal(container)


def test_a_missing_id_is_no_id_however_few_are_asked() -> None:
    from core.data.ids import IdMap

    ids = IdMap(["a", "None", "nan"], kind="store")
    few = ids.to_internal(["a", None, np.nan, pd.NA, "None"], strict=False)
    np.testing.assert_array_equal(few, [0, -1, -1, -1, 1])
    many = ids.to_internal(pd.Series(["a", None, "None"] * 200, dtype=object), strict=False)
    np.testing.assert_array_equal(many[:3], [0, -1, 1])
