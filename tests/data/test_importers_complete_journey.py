"""Tests of the Complete Journey importer on small files written here.

Every transaction line has a known fate, so the mapping is asserted exactly.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from core.cli import main
from core.data.dataset import load_dataset
from core.data.importers import import_complete_journey
from core.data.schema import ONLINE_STORE_ID, TABLE_ORDER
from core.exceptions import ConfigError, DataValidationError

TRANSACTIONS = """\
household_id,store_id,basket_id,product_id,quantity,sales_value,retail_disc,coupon_disc,coupon_match_disc,week,transaction_timestamp
101,309,9001,11,1.0,2.00,0.0,0.0,0.0,1,2017-01-02 10:00:00
101,309,9001,12,2.0,5.00,0.5,0.0,0.0,1,2017-01-02 10:00:00
101,310,9002,11,1.0,3.00,0.0,0.0,0.0,2,2017-01-09 18:30:15
102.0,310,9003,13,2.6,7.80,0.0,0.0,0.0,2,2017-01-10 09:00:00
102,310,9004,99,1.0,1.00,0.0,0.0,0.0,3,2017-01-17 09:00:00
102,310,9004,14,1.0,0.00,0.0,1.0,0.0,3,2017-01-17 09:00:00
103,309,9005,11,0.0,0.00,0.0,0.0,0.0,4,2017-01-24 12:00:00
103,309,9005,12,1.0,-1.00,0.0,0.0,0.0,4,2017-01-24 12:00:00
104,27,9006,15,1.0,0.00,0.0,0.0,0.0,5,2017-01-31 12:00:00
"""
"""The lines, in order (data rows 1-9):

1-2  household 101's first basket in store 309 (p11, two units of p12);
3    household 101 again, in store 310 (p11 at another price);
4    household 102 as float text; 2.6 units -> 3;
5    dropped: product 99 is not in the products file;
6    a free item (sales value 0): kept, no price information;
7    dropped: a voided line (quantity 0);
8    dropped: a negative sales value; household 103 is left with nothing;
9    dropped: product 15 is a coupon.
"""

PRODUCTS = """\
product_id,manufacturer_id,department,brand,product_category,product_type,package_size
11,69,GROCERY,Private,EGGS,EGGS - X-LARGE,1   DZ
12,2,PRODUCE,National,TROPICAL FRUIT,BANANAS,
13,317,DRUG GM,National,BABY HBC,BABY POWDERS,15 OZ
14,69,GROCERY,Private,SOUP,CANNED SOUP,10 OZ
15,1,COUPON,National,,,
16,5,MEAT,National,BEEF,LEAN GROUND,
"""


def _write(
    folder: Path, transactions: str = TRANSACTIONS, products: str = PRODUCTS
) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    t, p = folder / "transactions.csv", folder / "products.csv"
    t.write_text(transactions, encoding="utf-8")
    p.write_text(products, encoding="utf-8")
    return t, p


def _tables(out: Path) -> dict[str, pd.DataFrame]:
    return {
        name: pd.read_csv(out / f"{name}.csv", dtype=str, keep_default_na=False)
        for name in TABLE_ORDER
    }


@pytest.fixture
def imported(tmp_path: Path) -> tuple[dict[str, int], dict[str, pd.DataFrame]]:
    t, p = _write(tmp_path / "src")
    counts = import_complete_journey(t, p, tmp_path / "out")
    load_dataset(tmp_path / "out")  # the output satisfies the contract
    return counts, _tables(tmp_path / "out")


def test_counts(imported) -> None:  # type: ignore[no-untyped-def]
    counts, _ = imported
    assert counts["rows_read"] == 9
    assert counts["rows_kept"] == 5
    assert counts["dropped_unknown_product"] == 1
    assert counts["dropped_non_product"] == 1
    assert counts["dropped_bad_quantity"] == 1
    assert counts["dropped_bad_value"] == 1
    assert counts["dropped_few_events"] == 0
    assert counts["rows_read"] == counts["rows_kept"] + sum(
        v for k, v in counts.items() if k.startswith("dropped_")
    )
    assert counts["purchases"] == counts["events"] == 5
    assert counts["clients"] == 2 and counts["products"] == 5


def test_events_are_store_purchases(imported) -> None:  # type: ignore[no-untyped-def]
    _, tables = imported
    ev = tables["events"]
    assert list(ev["client_id"]) == ["101", "101", "101", "102", "102"]
    assert list(ev["product_id"]) == ["11", "12", "11", "13", "14"]
    assert set(ev["event_type"]) == {"purchase"} and set(ev["channel"]) == {"store"}
    assert list(ev["store_id"]) == ["309", "309", "310", "310", "310"]
    assert list(ev["quantity"]) == ["1", "2", "1", "3", "1"]
    assert list(ev["value"]) == ["2.0", "5.0", "3.0", "7.8", "0.0"]
    assert ev["timestamp"].iloc[2] == "2017-01-09 18:30:15"
    assert set(ev["is_gift"]) == {"false"}


def test_products_carry_the_attributes(imported) -> None:  # type: ignore[no-untyped-def]
    _, tables = imported
    products = tables["products"].set_index("product_id")
    # the coupon is not a product; a product never sold is still in the catalogue
    assert list(products.index) == ["11", "12", "13", "14", "16"]
    eggs = products.loc["11"]
    assert eggs["name"] == "Eggs - X-Large (1 DZ)"
    assert eggs["category"] == "grocery" and eggs["subcategory"] == "eggs"
    assert eggs["designer"] == "manufacturer 69"
    assert eggs["style_tags"] == "private label|eggs - x-large"
    assert eggs["description"] == "eggs - x-large. eggs. grocery. private label. 1 dz"
    assert float(eggs["price"]) == pytest.approx(2.5)  # median of 2.00 and 3.00
    assert eggs["currency"] == "USD" and eggs["launch_date"] == ""
    assert products.loc["12", "name"] == "Bananas"
    assert products.loc["12", "style_tags"] == "national brand|bananas"
    assert float(products.loc["12", "price"]) == pytest.approx(2.5)  # 5.00 for 2 units
    assert float(products.loc["13", "price"]) == pytest.approx(7.8 / 2.6)
    assert float(products.loc["14", "price"]) == 0.0  # only a free item
    assert float(products.loc["16", "price"]) == 0.0


def test_stores_and_stock(imported) -> None:  # type: ignore[no-untyped-def]
    _, tables = imported
    stores = tables["stores"]
    assert list(stores["store_id"]) == [ONLINE_STORE_ID, "309", "310"]
    assert list(stores["online"]) == ["true", "false", "false"]
    assert set(stores["country"]) == {"United States"}
    stock = tables["stock"]
    assert set(stock["store_id"]) == {ONLINE_STORE_ID}
    assert list(stock["product_id"]) == list(tables["products"]["product_id"])


def test_clients_do_not_consent_unless_told(imported, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, tables = imported
    clients = tables["clients"].set_index("client_id")
    assert list(clients.index) == ["101", "102"]
    assert set(clients["consent_personalization"]) == {"false"}
    assert set(clients["consent_contact"]) == {"false"}
    assert clients.loc["101", "home_store_id"] == "309"  # two of its three lines
    assert clients.loc["102", "home_store_id"] == "310"
    assert clients.loc["101", "first_name"] == "Household"
    assert clients.loc["101", "created_at"] == "2017-01-02 10:00:00"
    t, p = _write(tmp_path / "src2")
    import_complete_journey(t, p, tmp_path / "consenting", assume_consent=True)
    consenting = _tables(tmp_path / "consenting")["clients"]
    assert set(consenting["consent_personalization"]) == {"true"}
    assert set(consenting["consent_contact"]) == {"false"}


def test_min_events_per_client(tmp_path: Path) -> None:
    t, p = _write(tmp_path / "src")
    counts = import_complete_journey(t, p, tmp_path / "out", min_events_per_client=3)
    assert counts["clients"] == 1 and counts["dropped_few_events"] == 2
    with pytest.raises(ConfigError, match="min_events_per_client must be at least 1"):
        import_complete_journey(t, p, tmp_path / "out2", min_events_per_client=0)


def test_a_missing_column_is_named_and_writes_nothing(tmp_path: Path) -> None:
    products = PRODUCTS.replace("department", "dept")
    t, p = _write(tmp_path / "src", products=products)
    out = tmp_path / "out"
    with pytest.raises(DataValidationError, match="department") as err:
        import_complete_journey(t, p, out)
    assert err.value.problems[0].file == "products.csv"
    assert not out.exists()


def test_a_bad_cell_is_named_by_row_and_column(tmp_path: Path) -> None:
    bad = TRANSACTIONS.replace("2017-01-09 18:30:15", "next tuesday").replace(",2.6,", ",lots,")
    t, p = _write(tmp_path / "src", transactions=bad)
    with pytest.raises(DataValidationError) as err:
        import_complete_journey(t, p, tmp_path / "out")
    where = {(pr.row, pr.column) for pr in err.value.problems}
    assert where == {(3, "transaction_timestamp"), (4, "quantity")}
    assert not (tmp_path / "out").exists()


def test_missing_file_and_occupied_folder(tmp_path: Path) -> None:
    t, p = _write(tmp_path / "src")
    with pytest.raises(DataValidationError, match="an existing CSV file"):
        import_complete_journey(tmp_path / "nope.csv", p, tmp_path / "out")
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("x", encoding="utf-8")
    with pytest.raises(ConfigError, match="is not empty"):
        import_complete_journey(t, p, occupied)


def test_cli_import_journey(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t, p = _write(tmp_path / "src")
    out = tmp_path / "out"
    assert main(["import-journey", str(t), str(p), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "events 5" in printed and "consent to personalisation: not assumed" in printed
    assert set(_tables(out)["clients"]["consent_personalization"]) == {"false"}
    assert main(["import-journey", str(t), str(p), "--out", str(out)]) == 2  # not empty
    code = main(
        ["import-journey", str(t), str(p), "--out", str(out), "--overwrite", "--assume-consent"]
    )
    assert code == 0
    assert set(_tables(out)["clients"]["consent_personalization"]) == {"true"}


def test_same_input_same_output(tmp_path: Path) -> None:
    t, p = _write(tmp_path / "src")
    import_complete_journey(t, p, tmp_path / "a")
    import_complete_journey(t, p, tmp_path / "b")
    for name in TABLE_ORDER:
        a = (tmp_path / "a" / f"{name}.csv").read_bytes()
        assert a == (tmp_path / "b" / f"{name}.csv").read_bytes(), name
