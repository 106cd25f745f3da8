"""Tests of the Online Retail importer on a small hand-written file.

Every line of :data:`LINES` has a known fate, so the mapping is asserted
exactly: which lines become purchases and returns, which are dropped and
why, which stores, products and clients come out.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from core.data.dataset import load_dataset
from core.data.importers import import_online_retail
from core.data.importers.online_retail import SOURCE_COLUMNS, parse_invoice_dates
from core.data.schema import ONLINE_STORE_ID, TABLE_ORDER
from core.exceptions import ConfigError, DataValidationError

HEADER = list(SOURCE_COLUMNS)
SOURCE = """\
536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850.0,United Kingdom
536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850.0,United Kingdom
536366,22633,HAND WARMER UNION JACK,6,12/1/2010 8:28,1.85,17850.0,United Kingdom
536367,84879,ASSORTED COLOUR BIRD ORNAMENT,32,2010-12-01 08:34:00,1.69,13047,United Kingdom
536368,85123a,WHITE HANGING HEART T-LIGHT HOLDER ,6,12/1/2010 8:34,2.75,13047,United Kingdom
C536379,85123A,WHITE HANGING HEART T-LIGHT HOLDER,-2,12/2/2010 9:41,2.55,17850.0,United Kingdom
536370,22728,"ALARM CLOCK BAKELIKE PINK, RED",24,12/1/2010 8:45,3.75,12583.0,France
536371,21258,SAC À MAIN CUIR,1,12/1/2010 9:00,4.95,12583.0,France
536376,22114,HOT WATER BOTTLE TEA AND SYMPATHY,48,12/1/2010 9:32,3.45,15291,Norway
C536380,22633,HAND WARMER UNION JACK,-1,12/3/2010 10:00,1.85,99999,Germany
536372,22632,HAND WARMER RED POLKA DOT,6,12/1/2010 9:01,1.85,,United Kingdom
A563185,B,Adjust bad debt,1,8/12/2011 14:50,-11062.06,,United Kingdom
536373,POST,POSTAGE,3,12/1/2010 9:02,18.00,12583.0,France
536374,21730,GLASS STAR FROSTED T-LIGHT HOLDER,6,12/1/2010 9:05,-4.25,13047,United Kingdom
536375,22752,SET 7 BABUSHKA NESTING BOXES,-2,12/1/2010 9:09,7.65,13047,United Kingdom
"""
"""The lines, in order (data rows 1-15):

1-3   purchases of customer 17850 (month-first dates as in the UCI export,
      CustomerID as float text);
4     an ISO date and an integer CustomerID;
5     a lower-case code with a trailing space in the description: the same
      product as line 1, at another price;
6     a cancellation: a return of line 1's customer and product;
7     a quoted description with a comma;
8     a Latin-1 character (the file is written in Latin-1);
9     a customer in Norway (a cold climate);
10    a customer who only returned something (a prospect);
11-12 dropped: no CustomerID (12 is also a bad-debt adjustment);
13    dropped: postage is not a product;
14    dropped: a negative price;
15    dropped: a purchase of a negative quantity.
"""
LINES: list[list[str]] = list(csv.reader(SOURCE.splitlines()))


def write_source(
    path: Path,
    lines: list[list[str]] = LINES,
    *,
    header: list[str] = HEADER,
    encoding: str = "latin-1",
) -> Path:
    """Write an Online Retail CSV (Latin-1 by default, as old exports are)."""
    with path.open("w", newline="", encoding=encoding) as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(lines)
    return path


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return write_source(tmp_path / "online_retail.csv")


def test_counts(source: Path, tmp_path: Path) -> None:
    counts = import_online_retail(source, tmp_path / "out")
    assert counts == {
        "rows_read": 15,
        "rows_kept": 10,
        "dropped_no_customer": 2,
        "dropped_non_product": 1,
        "dropped_bad_quantity": 1,
        "dropped_bad_price": 1,
        "dropped_beyond_limits": 0,
        "dropped_few_events": 0,
        "purchases": 8,
        "returns": 2,
        "products": 7,
        "stores": 5,
        "stock": 7,
        "associates": 0,
        "clients": 5,
        "events": 10,
    }
    dropped = sum(v for k, v in counts.items() if k.startswith("dropped_"))
    assert counts["rows_read"] == counts["rows_kept"] + dropped


def test_events_are_purchases_and_returns(source: Path, tmp_path: Path) -> None:
    import_online_retail(source, tmp_path / "out")
    ev = load_dataset(tmp_path / "out").events
    got = [
        (r.client_id, r.product_id, r.event_type, str(r.timestamp), r.quantity, round(r.value, 2))
        for r in ev.itertuples()
    ]
    assert got == [
        ("17850", "85123A", "purchase", "2010-12-01 08:26:00", 6, 15.3),
        ("17850", "71053", "purchase", "2010-12-01 08:26:00", 6, 20.34),
        ("17850", "22633", "purchase", "2010-12-01 08:28:00", 6, 11.1),
        ("13047", "84879", "purchase", "2010-12-01 08:34:00", 32, 54.08),
        ("13047", "85123A", "purchase", "2010-12-01 08:34:00", 6, 16.5),
        ("12583", "22728", "purchase", "2010-12-01 08:45:00", 24, 90.0),
        ("12583", "21258", "purchase", "2010-12-01 09:00:00", 1, 4.95),
        ("15291", "22114", "purchase", "2010-12-01 09:32:00", 48, 165.6),
        ("17850", "85123A", "return", "2010-12-02 09:41:00", 2, 5.1),
        ("99999", "22633", "return", "2010-12-03 10:00:00", 1, 1.85),
    ]
    assert set(ev["channel"]) == {"online"}
    assert set(ev["store_id"]) == {ONLINE_STORE_ID}
    assert not ev["is_gift"].any()


def test_products_from_stock_codes(source: Path, tmp_path: Path) -> None:
    import_online_retail(source, tmp_path / "out")
    products = load_dataset(tmp_path / "out").products.set_index("product_id")
    # POST, the line without a customer, the negative price and quantity are gone.
    assert products.index.tolist() == [
        "21258",
        "22114",
        "22633",
        "22728",
        "71053",
        "84879",
        "85123A",
    ]
    heart = products.loc["85123A"]
    assert heart["name"] == "WHITE HANGING HEART T-LIGHT HOLDER"
    assert heart["description"] == "WHITE HANGING HEART T-LIGHT HOLDER"
    assert heart["price"] == pytest.approx(2.65)  # median of 2.55 and 2.75; returns do not count
    assert heart["currency"] == "GBP"
    # A first sale is not a launch: taken for one, it would leak the test window.
    assert products["launch_date"].isna().all()
    assert products.loc["21258", "name"] == "SAC À MAIN CUIR"
    assert products.loc["22728", "name"] == "ALARM CLOCK BAKELIKE PINK, RED"
    assert products["category"].to_dict() == {
        "21258": "giftware",
        "22114": "textiles",
        "22633": "textiles",
        "22728": "home decor",
        "71053": "lighting",
        "84879": "home decor",
        "85123A": "candles",
    }
    # What the data does not have stays empty.
    for column in ("designer", "material", "color", "style_tags", "collection"):
        assert set(products[column]) == {""}
    assert not products[["sustainable", "limited_edition", "sensitive"]].any().any()


def test_stores_from_countries(source: Path, tmp_path: Path) -> None:
    import_online_retail(source, tmp_path / "out")
    ds = load_dataset(tmp_path / "out")
    stores = ds.stores.set_index("store_id")
    assert stores.index.tolist() == [
        ONLINE_STORE_ID,
        "france",
        "germany",
        "norway",
        "united-kingdom",
    ]
    assert stores["climate"].to_dict() == {
        ONLINE_STORE_ID: "temperate",
        "france": "temperate",
        "germany": "temperate",
        "norway": "cold",
        "united-kingdom": "temperate",
    }
    assert stores["online"].to_dict()[ONLINE_STORE_ID]
    assert not stores.drop(index=ONLINE_STORE_ID)["online"].any()
    assert stores.loc["norway", "country"] == "Norway"
    # Everything is in stock online, nowhere else.
    assert set(ds.stock["store_id"]) == {ONLINE_STORE_ID}
    assert sorted(ds.stock["product_id"]) == sorted(ds.products["product_id"])
    assert (ds.stock["quantity"] > 0).all()
    assert ds.associates.empty
    assert ds.associates.columns[:3].tolist() == ["user_id", "name", "role"]


def test_clients_from_customer_ids(source: Path, tmp_path: Path) -> None:
    import_online_retail(source, tmp_path / "out")
    clients = load_dataset(tmp_path / "out").clients.set_index("client_id")
    assert clients.index.tolist() == ["12583", "13047", "15291", "17850", "99999"]
    assert clients["home_store_id"].to_dict() == {
        "12583": "france",
        "13047": "united-kingdom",
        "15291": "norway",
        "17850": "united-kingdom",
        "99999": "germany",
    }
    # Net spend 94.95, 70.58, 165.6, 41.64 and -1.85 (only a return).
    assert clients["tier"].to_dict() == {
        "12583": "loyal",
        "13047": "client",
        "15291": "vic",
        "17850": "client",
        "99999": "prospect",
    }
    assert (clients["first_name"] == "Customer").all()
    assert (clients["last_name"] == clients.index).all()
    assert set(clients["email"]) == {""} and set(clients["phone"]) == {""}
    # Transactions record no consent: none is assumed (see test_consent_only_when_assumed).
    assert not clients["consent_personalization"].any()
    assert not clients["consent_contact"].any()
    assert clients.loc["17850", "created_at"] == pd.Timestamp("2010-12-01 08:26")


def test_utf8_and_latin1_give_the_same_tables(tmp_path: Path) -> None:
    latin = write_source(tmp_path / "latin.csv", encoding="latin-1")
    utf8 = write_source(tmp_path / "utf8.csv", encoding="utf-8")
    import_online_retail(latin, tmp_path / "a")
    import_online_retail(utf8, tmp_path / "b")
    for name in TABLE_ORDER:
        a = (tmp_path / "a" / f"{name}.csv").read_bytes()
        assert a == (tmp_path / "b" / f"{name}.csv").read_bytes()
    assert "SAC À MAIN CUIR" in (tmp_path / "a" / "products.csv").read_text(encoding="utf-8")


def test_online_retail_ii_headers(tmp_path: Path) -> None:
    header = ["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price"]
    header += ["Customer ID", "Country"]
    src = write_source(tmp_path / "ii.csv", header=header)
    assert import_online_retail(src, tmp_path / "out")["events"] == 10


def test_min_events_per_client(source: Path, tmp_path: Path) -> None:
    counts = import_online_retail(source, tmp_path / "out", min_events_per_client=2)
    assert counts["dropped_few_events"] == 2  # 15291 and 99999 have one event each
    clients = load_dataset(tmp_path / "out").clients
    assert clients["client_id"].tolist() == ["12583", "13047", "17850"]
    with pytest.raises(ConfigError, match="min_events_per_client must be at least 1"):
        import_online_retail(source, tmp_path / "other", min_events_per_client=0)
    assert not (tmp_path / "other").exists()


def test_dates_day_first_when_the_column_says_so() -> None:
    parsed = parse_invoice_dates(pd.Series(["13/1/2011 8:26", "2/1/2011 17:05", "", "2011-01-05"]))
    assert parsed.tolist()[:2] == [
        pd.Timestamp("2011-01-13 08:26"),
        pd.Timestamp("2011-01-02 17:05"),
    ]
    assert pd.isna(parsed.iloc[2])
    assert parsed.iloc[3] == pd.Timestamp("2011-01-05")


def _bad_cells(path: Path) -> None:
    lines = [list(line) for line in LINES]
    lines[2][3] = "six"  # Quantity, data row 3
    lines[4][4] = "yesterday"  # InvoiceDate, data row 5
    lines[6][5] = "£3.75"  # UnitPrice, data row 7
    write_source(path, lines)


def _no_country(path: Path) -> None:
    write_source(path, [line[:-1] for line in LINES], header=HEADER[:-1])


MALFORMED = [
    pytest.param(
        _no_country,
        r"online_retail\.csv, column 'Country'; expected a column named 'Country' \(found: ",
        id="missing-column",
    ),
    pytest.param(
        _bad_cells,
        r"3 problems found(.|\n)*"
        r"online_retail\.csv, row 3, column 'Quantity': got 'six'; expected a whole number(.|\n)*"
        r"row 5, column 'InvoiceDate': got 'yesterday'; expected a date and time(.|\n)*"
        r"row 7, column 'UnitPrice': got '£3\.75'; expected a unit price in GBP",
        id="unreadable-cells",
    ),
    pytest.param(
        lambda p: p.write_bytes(bytes(range(256)) * 4),
        r"online_retail\.csv; expected CSV text \(the file holds binary data\)",
        id="binary",
    ),
    pytest.param(
        lambda p: p.write_bytes(b""),
        r"online_retail\.csv; expected a header row \(the file is empty\)",
        id="empty",
    ),
    pytest.param(
        lambda p: write_source(p, header=[*HEADER[:6], "Country", "Country"]),
        r"online_retail\.csv, column 'Country'; expected one column 'Country' \(columns 7 "
        r"and 8 of the header are both named 'Country'",
        id="duplicate-header",
        marks=pytest.mark.reliability,
    ),
    pytest.param(
        lambda p: write_source(p, [[*line, "x"] for line in LINES], header=[*HEADER, "Invoice"]),
        r"online_retail\.csv, column 'InvoiceNo'; expected one column 'InvoiceNo' \(columns "
        r"1 'InvoiceNo' and 9 'Invoice' of the header stand for the same column",
        id="two-spellings-of-one-column",
        marks=pytest.mark.reliability,
    ),
    pytest.param(
        lambda p: write_source(p, header=[*HEADER[:6], "", "Country"]),
        r"online_retail\.csv; expected a name for column 7 of the header",
        id="empty-header",
        marks=pytest.mark.reliability,
    ),
    pytest.param(
        lambda p: p.write_text("This is not a CSV file.\nJust prose, nothing more.\n"),
        r"online_retail\.csv, column 'InvoiceNo'; expected a column named 'InvoiceNo'",
        id="prose",
    ),
    pytest.param(
        lambda p: p.write_text(
            ",".join(HEADER) + "\n" + ",".join(LINES[0]) + "\n" + ",".join(LINES[1]) + ",extra\n"
        ),
        r"online_retail\.csv, row 2: got '9 fields'; expected at most 8 fields, as in the header",
        id="ragged-row",
    ),
    pytest.param(
        lambda p: write_source(p, [LINES[10], LINES[12]]),
        r"expected at least one purchase or return of a product by a known customer "
        r"\(all 2 lines were dropped: no_customer 1, non_product 1\)",
        id="nothing-left",
    ),
]


@pytest.mark.parametrize(("make", "match"), MALFORMED)
def test_malformed_file_is_named_and_writes_nothing(
    tmp_path: Path, make: Callable[[Path], object], match: str
) -> None:
    src = tmp_path / "online_retail.csv"
    make(src)
    with pytest.raises(DataValidationError, match=match):
        import_online_retail(src, tmp_path / "out")
    assert files_under(tmp_path) == ["online_retail.csv"]  # no output, no temporary folder


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match=r"expected an existing CSV file"):
        import_online_retail(tmp_path / "nope.csv", tmp_path / "out")
    assert files_under(tmp_path) == []


def test_refuses_a_folder_with_files(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "atelier.db").write_bytes(b"keep me")
    (out / "events.parquet").write_bytes(b"stale")
    with pytest.raises(
        ConfigError, match=r"is not empty; choose an empty folder or pass overwrite"
    ):
        import_online_retail(source, out)
    assert files_under(out) == ["atelier.db", "events.parquet"]

    counts = import_online_retail(source, out, overwrite=True)
    assert counts["events"] == 10
    # The tables are replaced, a stale Parquet table is removed, other files are kept.
    assert files_under(out) == sorted(["atelier.db"] + [f"{n}.csv" for n in TABLE_ORDER])
    assert (out / "atelier.db").read_bytes() == b"keep me"
    assert load_dataset(out).summary()["events"] == 10
    assert files_under(tmp_path) == sorted(
        ["online_retail.csv", "out", "out/atelier.db"] + [f"out/{n}.csv" for n in TABLE_ORDER]
    )


def test_an_empty_folder_is_used(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    import_online_retail(source, out)
    assert files_under(out) == sorted(f"{n}.csv" for n in TABLE_ORDER)


def test_same_input_same_output(source: Path, tmp_path: Path) -> None:
    import_online_retail(source, tmp_path / "a")
    import_online_retail(source, tmp_path / "b")
    assert load_dataset(tmp_path / "a").fingerprint == load_dataset(tmp_path / "b").fingerprint


@pytest.mark.security
def test_consent_only_when_assumed(source: Path, tmp_path: Path) -> None:
    # A real house's transactions record no consent: none is given unless the import says so.
    import_online_retail(source, tmp_path / "default")
    default = load_dataset(tmp_path / "default").clients
    assert not default["consent_personalization"].any()
    import_online_retail(source, tmp_path / "assumed", assume_consent=True)
    assumed = load_dataset(tmp_path / "assumed").clients
    assert assumed["consent_personalization"].all()
    assert not assumed["consent_contact"].any()  # contact consent is never assumed
