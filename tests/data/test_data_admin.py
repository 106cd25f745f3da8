"""Uploads: each kind of bad file is refused with a report and changes nothing; valid ones apply."""

from __future__ import annotations

import io
import os
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from core.data.admin import (
    PROBLEM_COLUMNS,
    STAGING_DIR,
    apply_upload,
    check_upload,
    clean_staging,
    discard,
    load_check,
)
from core.data.dataset import load_dataset
from core.data.generate import write_maison
from core.data.loading import find_table_files
from core.exceptions import ConflictError

MAX_MB = 50.0


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("maison") / "data"
    write_maison(folder, n_clients=80, n_products=60, seed=3)
    return folder


@pytest.fixture
def data_dir(base_dir: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(base_dir, folder)
    return folder


def _state(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Bytes and mtime of every table file: what "nothing changed" means."""
    return {
        p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in find_table_files(folder).values()
    }


def _csv(folder: Path, table: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)


def _bytes(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False).encode("utf-8")


def _bad_uploads(folder: Path) -> dict[str, tuple[str, str, bytes, str]]:
    """kind -> (table, filename, content, a word the report must contain)."""
    products = _csv(folder, "products")
    events = _csv(folder, "events")
    stores = _csv(folder, "stores")
    stock = _csv(folder, "stock")
    dup = pd.concat([products, products.iloc[[0]]], ignore_index=True)
    wrong_type = products.copy()
    wrong_type.loc[3, "price"] = "twelve"
    negative = products.copy()
    negative.loc[2, "price"] = "-5"
    dangling = stock.copy()
    dangling.loc[0, "product_id"] = "NO-SUCH-PRODUCT"
    orphaning = products.iloc[1:]  # events still point at the dropped product
    bad_enum = stores.copy()
    bad_enum.loc[0, "climate"] = "tropical"
    bad_date = events.copy()
    bad_date.loc[4, "timestamp"] = "2026-13-45"
    latin1 = products.copy()
    latin1.loc[0, "name"] = "Écharpe brodée"
    return {
        "missing column": ("products", "products.csv", _bytes(products.drop(columns="price")), "price"),
        "wrong type": ("products", "products.csv", _bytes(wrong_type), "number"),
        "dangling foreign key": ("stock", "stock.csv", _bytes(dangling), "existing"),
        "orphaned events": ("products", "products.csv", _bytes(orphaning), "existing"),
        "duplicate key": ("products", "products.csv", _bytes(dup), "unique"),
        "bad enum": ("stores", "stores.csv", _bytes(bad_enum), "one of"),
        "bad date": ("events", "events.csv", _bytes(bad_date), "date"),
        "negative price": ("products", "products.csv", _bytes(negative), "between 0"),
        "empty": ("products", "products.csv", b"", "empty"),
        "binary junk csv": ("products", "products.csv", b"\x00\x01\xffPK\x03\x04" * 64, "binary"),
        "binary junk parquet": ("products", "products.parquet", os.urandom(2048), "Parquet"),
        "non-utf8": ("products", "products.csv", latin1.to_csv(index=False).encode("latin-1", errors="replace"), "UTF-8"),
        "wrong extension": ("products", "products.xlsx", b"whatever", ".csv or .parquet"),
    }  # fmt: skip


@pytest.mark.parametrize(
    "kind",
    [
        "missing column", "wrong type", "dangling foreign key", "orphaned events",
        "duplicate key", "bad enum", "bad date", "negative price", "empty",
        "binary junk csv", "binary junk parquet", "non-utf8", "wrong extension",
    ],
)  # fmt: skip
def test_bad_upload_is_refused_with_a_report_and_changes_nothing(data_dir: Path, kind: str):
    before = _state(data_dir)
    table, filename, content, word = _bad_uploads(data_dir)[kind]
    check = check_upload(data_dir, table, filename, content, MAX_MB)
    assert not check.ok
    assert list(check.problems.columns) == list(PROBLEM_COLUMNS)
    report = check.problems.to_string()
    assert word.lower() in report.lower(), report
    # The refused bytes are not kept anywhere; only the verdict is.
    assert not check.staged_file.exists()
    with pytest.raises(ValueError, match="not applied"):
        apply_upload(check)
    assert _state(data_dir) == before
    load_dataset(data_dir)  # still loads as before


def test_report_names_file_row_and_column(data_dir: Path):
    products = _csv(data_dir, "products")
    products.loc[4, "price"] = "-1"
    check = check_upload(data_dir, "products", "spring_drop.csv", _bytes(products), MAX_MB)
    row = check.problems.iloc[0]
    assert (row["file"], row["row"], row["column"], row["value"]) == (
        "spring_drop.csv",
        5,
        "price",
        "-1",
    )
    # The page keeps only the id in session state and reads the check back.
    again = load_check(data_dir, check.check_id)
    assert again is not None and not again.ok
    pd.testing.assert_frame_equal(again.problems, check.problems, check_dtype=False)


def test_valid_upload_is_applied_atomically(data_dir: Path):
    products = _csv(data_dir, "products")
    products.loc[0, "price"] = "4321"
    check = check_upload(data_dir, "products", "products.csv", _bytes(products), MAX_MB)
    assert check.ok, check.problems
    assert check.rows == len(products)
    assert load_dataset(data_dir).products["price"].iloc[0] != 4321  # not applied yet
    apply_upload(check)
    assert load_dataset(data_dir).products["price"].iloc[0] == 4321
    assert not check.staging.exists()
    assert load_check(data_dir, check.check_id) is None
    with pytest.raises(FileNotFoundError):
        apply_upload(check)


def test_parquet_upload_replaces_the_csv(data_dir: Path):
    products = load_dataset(data_dir).products
    buf = io.BytesIO()
    products.assign(name=products["name"] + " II").to_parquet(buf, index=False)
    check = check_upload(data_dir, "products", "catalogue.parquet", buf.getvalue(), MAX_MB)
    assert check.ok, check.problems
    apply_upload(check)
    assert (data_dir / "products.parquet").is_file()
    assert not (data_dir / "products.csv").exists()
    assert load_dataset(data_dir).products["name"].str.endswith(" II").all()


def test_a_check_made_before_another_import_is_refused(data_dir: Path):
    stores = _csv(data_dir, "stores")
    first = check_upload(
        data_dir, "stores", "stores.csv", _bytes(stores.assign(city="Lyon")), MAX_MB
    )
    second = check_upload(
        data_dir, "stores", "stores.csv", _bytes(stores.assign(city="Nice")), MAX_MB
    )
    assert first.ok and second.ok
    apply_upload(first)
    after_first = _state(data_dir)
    with pytest.raises(ConflictError, match="changed since"):
        apply_upload(second)
    assert _state(data_dir) == after_first


def test_discard_and_cleanup_leave_the_data_alone(data_dir: Path):
    before = _state(data_dir)
    stores = _csv(data_dir, "stores")
    check = check_upload(data_dir, "stores", "stores.csv", _bytes(stores), MAX_MB)
    discard(check)
    assert not check.staging.exists()
    other = check_upload(data_dir, "stores", "stores.csv", _bytes(stores), MAX_MB)
    assert clean_staging(data_dir, older_than_hours=0) >= 1
    assert load_check(data_dir, other.check_id) is None
    assert _state(data_dir) == before
    assert load_check(data_dir, "../../etc") is None


def test_too_large_and_unknown_table(data_dir: Path):
    before = _state(data_dir)
    check = check_upload(data_dir, "products", "products.csv", b"x" * 3_000_000, max_mb=1)
    assert not check.ok and "at most 1 MB" in check.problems["expected"].iloc[0]
    with pytest.raises(ValueError, match="unknown table"):
        check_upload(data_dir, "orders", "orders.csv", b"a\n1\n", MAX_MB)
    with pytest.raises(ValueError, match="does not exist"):
        check_upload(data_dir / "nowhere", "products", "products.csv", b"a\n1\n", MAX_MB)
    assert _state(data_dir) == before
    assert (data_dir / STAGING_DIR).is_dir()


@pytest.mark.reliability
@pytest.mark.parametrize(
    ("to", "match"),
    [
        ("email", r"one column 'email' \(columns (\d+) and (\d+) of the header are both named"),
        ("", r"a name for column (\d+) of the header"),
        ("  ", r"a name for column (\d+) of the header"),
    ],
    ids=["phone-renamed-email", "empty", "blank"],
)
def test_upload_with_a_repeated_or_empty_header_is_refused(data_dir: Path, to: str, match: str):
    # The phone column renamed to a second email: applying it would lose every phone number.
    before = _state(data_dir)
    clients = _csv(data_dir, "clients")
    header = [to if c == "phone" else c for c in clients.columns]
    content = (",".join(header) + "\n").encode() + _bytes(clients).split(b"\n", 1)[1]
    check = check_upload(data_dir, "clients", "clients_march.csv", content, MAX_MB)
    assert not check.ok
    assert len(check.problems) == 1
    problem = check.problems.iloc[0]
    assert problem["file"] == "clients_march.csv"
    assert pd.isna(problem["row"])
    found = re.search(match, problem["expected"])
    assert found, problem["expected"]
    assert int(found.groups()[-1]) == list(clients.columns).index("phone") + 1
    if to.strip():
        assert problem["column"] == "email"
        assert int(found.group(1)) == list(clients.columns).index("email") + 1
    assert not check.staged_file.exists()
    with pytest.raises(ValueError, match="not applied"):
        apply_upload(check)
    assert _state(data_dir) == before


def _embeddings_parquet(table: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    table.to_parquet(buf, index=False)
    return buf.getvalue()


def test_image_embeddings_upload_checked_applied_or_refused(data_dir: Path):
    from core.data.embeddings import find_embeddings_file

    current = find_embeddings_file(data_dir)
    assert current is not None  # the maison writes one
    old = pd.read_parquet(current)
    new = old.iloc[:20].assign(embedding=[[1.0, 0.0, 0.0]] * 20)  # fewer products, other length
    # CSV is refused unread, naming what is expected
    csv = check_upload(data_dir, "product_embeddings", "vectors.csv", b"product_id\n", MAX_MB)
    assert not csv.ok and "Parquet only" in csv.problems["expected"].iloc[0]
    # a vector of an unknown product is refused with the file, row and column; nothing changes
    before = current.read_bytes()
    bad = pd.concat([new, new.iloc[:1].assign(product_id="ghost")], ignore_index=True)
    check = check_upload(
        data_dir, "product_embeddings", "v.parquet", _embeddings_parquet(bad), MAX_MB
    )
    assert not check.ok
    row = check.problems[check.problems["column"] == "product_id"]
    assert (row["value"] == "ghost").any() and (row["file"] == "v.parquet").all()
    assert current.read_bytes() == before
    # a valid one is staged, then applied whole
    check = check_upload(data_dir, "product_embeddings", "v.pq", _embeddings_parquet(new), MAX_MB)
    assert check.ok and check.rows == 20
    assert current.read_bytes() == before
    apply_upload(check)
    loaded = load_dataset(data_dir)
    assert loaded.embeddings.shape == (len(loaded.products), 3)
    assert (loaded.embeddings.any(axis=1)).sum() == 20
