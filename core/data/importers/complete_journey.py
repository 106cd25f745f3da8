"""Import dunnhumby's "The Complete Journey" transactions into the data contract.

The source is two CSV files, as published in the ``completejourney`` R
package: ``transactions`` (one line per product in a basket: household_id,
store_id, basket_id, product_id, quantity, sales_value, retail_disc,
coupon_disc, coupon_match_disc, week, transaction_timestamp) and
``products`` (product_id, manufacturer_id, department, brand (National /
Private), product_category, product_type, package_size). The mapping:

``events``
    A transaction line is a ``purchase`` of the household (the client) in
    its store: ``timestamp`` the transaction timestamp, ``channel``
    ``store``, ``quantity`` the units rounded to a whole number (at least
    1; fuel is sold by the gallon), ``value`` the sales value in USD (what
    was paid, after discounts). The data records no returns.
``products``
    One per product of the products file: ``name`` its product type and
    package size, ``category`` its department, ``subcategory`` its product
    category, ``designer`` its manufacturer (``manufacturer 69``), style
    tags ``private label`` or ``national brand`` and the product type,
    ``description`` every attribute in words (the content side's text),
    ``price`` the median unit price of its sales (0 when it has none), in
    USD. No ``launch_date``: a first sale is not a launch (it would tell a
    temporal evaluation which products sell in its test window).
``stores``
    The online store (holding the stock) and one store per store_id of the
    kept lines, in the United States, temperate.
``stock``
    Every product in stock online (the data has no stock).
``clients``
    One per household_id: neutral names ("Household" + the id), no email or
    phone, home store the store of most of their lines, tier by spend
    (as for Online Retail), ``created_at`` their first transaction.
    **Not** consenting to personalisation unless ``assume_consent`` (the
    data carries no consent); never consenting to contact.
``associates``
    Empty (header only): the data names no staff.

Lines are dropped, and counted, when their product is not in the products
file, is a coupon (department ``COUPON``), or has a quantity <= 0 (voided
lines), a negative sales value, or a quantity or value beyond the
contract's ceilings. Clients with fewer than ``min_events_per_client``
events are then dropped with their events.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from core.data.importers.common import (
    bool_text,
    check_min_events,
    check_out_dir,
    contract_tables,
    derive_stock,
    drop_sparse_clients,
    most_frequent,
    tiers_by_spend,
    timestamp_text,
    write_contract_folder,
)
from core.data.loading import read_table
from core.data.schema import (
    MAX_PRICE,
    MAX_QUANTITY,
    ONLINE_STORE_ID,
    TABLE_ORDER,
)
from core.exceptions import DataValidationError, Problem

TRANSACTION_COLUMNS: tuple[str, ...] = (
    "household_id",
    "store_id",
    "product_id",
    "quantity",
    "sales_value",
    "transaction_timestamp",
)
"""Transaction columns the import needs (others, such as basket_id or the discounts, are ignored)."""
PRODUCT_COLUMNS: tuple[str, ...] = (
    "product_id",
    "manufacturer_id",
    "department",
    "brand",
    "product_category",
    "product_type",
)
"""Product columns the import needs (``package_size`` is used when present)."""
NON_PRODUCT_DEPARTMENTS: frozenset[str] = frozenset({"COUPON"})
CURRENCY = "USD"
COUNTRY = "United States"
CLIMATE = "temperate"
MAX_FILE_MB = 4096.0
_DROP_REASONS: tuple[str, ...] = (
    "dropped_unknown_product",
    "dropped_non_product",
    "dropped_bad_quantity",
    "dropped_bad_value",
    "dropped_beyond_limits",
)
_BRAND_TAGS = {"private": "private label", "national": "national brand"}


def _read(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    """One source file as text, or a :class:`DataValidationError` naming the file and column."""
    file = path.name
    if not path.is_file():
        raise DataValidationError(
            [Problem(file, None, None, None, f"an existing CSV file at {path}")]
        )
    df, problems = read_table(path, MAX_FILE_MB)
    if problems or df is None:
        raise DataValidationError(problems)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        found = ", ".join(map(str, df.columns)) or "none"
        raise DataValidationError(
            [
                Problem(file, None, c, None, f"a column named '{c}' (found: {found})")
                for c in missing
            ]
        )
    return df


def read_complete_journey(
    transactions_path: str | Path, products_path: str | Path
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read the two Complete Journey CSV files as text.

    Parameters
    ----------
    transactions_path, products_path : path
        UTF-8 CSV files with at least :data:`TRANSACTION_COLUMNS` and
        :data:`PRODUCT_COLUMNS`.

    Returns
    -------
    transactions, products : DataFrame
        Text cells; empty cells are missing.

    Raises
    ------
    DataValidationError
        A file is missing, empty, not a CSV or lacks a column.
    """
    return (
        _read(Path(transactions_path), TRANSACTION_COLUMNS),
        _read(Path(products_path), PRODUCT_COLUMNS),
    )


def _numbers(
    df: pd.DataFrame, column: str, file: str, expected: str, problems: list[Problem]
) -> np.ndarray:
    values = pd.to_numeric(df[column].astype("string").str.strip(), errors="coerce")
    out = values.to_numpy(dtype="float64", na_value=np.nan)
    for i in np.flatnonzero(~np.isfinite(out)):
        cell = df[column].iloc[i]
        shown = None if pd.isna(cell) else str(cell)[:60]
        problems.append(Problem(file, int(i) + 1, column, shown, expected if shown else "a value"))
    return out


def _parse_lines(source: pd.DataFrame, file: str) -> pd.DataFrame:
    """Numbers and timestamps of the transaction lines, or a named error per bad cell."""
    problems: list[Problem] = []
    ids = {c: source[c].astype("string").str.strip() for c in TRANSACTION_COLUMNS[:3]}
    for column, values in ids.items():
        for i in np.flatnonzero(values.isna().to_numpy() | (values == "").to_numpy(na_value=True)):
            problems.append(Problem(file, int(i) + 1, column, None, "an id"))
    quantity = _numbers(source, "quantity", file, "a number of units, e.g. 1", problems)
    value = _numbers(source, "sales_value", file, "a sales value in USD, e.g. 2.49", problems)
    text = source["transaction_timestamp"].astype("string").str.strip()
    stamps = pd.to_datetime(text.astype(object), format="ISO8601", errors="coerce", utc=True)
    stamps = stamps.dt.tz_localize(None)
    for i in np.flatnonzero(stamps.isna().to_numpy()):
        cell = text.iloc[i]
        shown = None if pd.isna(cell) else str(cell)[:60]
        problems.append(
            Problem(
                file,
                int(i) + 1,
                "transaction_timestamp",
                shown,
                "a date and time such as 2017-01-28 19:06:53",
            )
        )
    if problems:
        raise DataValidationError(sorted(problems, key=lambda p: p.row or 0))
    return pd.DataFrame(
        {
            # Integer ids exported as floats ("1234.0") are the same id.
            **{c: v.str.replace(r"^(\d+)\.0+$", r"\1", regex=True) for c, v in ids.items()},
            "quantity": quantity,
            "value": value,
            "timestamp": stamps.astype("datetime64[ns]"),
        }
    )


def _catalogue(products: pd.DataFrame, file: str) -> pd.DataFrame:
    """The product attributes as stripped text, one row per product id (first wins)."""
    out = pd.DataFrame(
        {
            c: products[c].astype("string").str.replace(r"\s+", " ", regex=True).str.strip()
            for c in (*PRODUCT_COLUMNS, "package_size")
            if c in products.columns
        }
    )
    if "package_size" not in out.columns:
        out["package_size"] = pd.Series(pd.NA, index=out.index, dtype="string")
    out["product_id"] = out["product_id"].str.replace(r"^(\d+)\.0+$", r"\1", regex=True)
    blank = out["product_id"].isna() | (out["product_id"] == "")
    if blank.any():
        rows = np.flatnonzero(blank.to_numpy())
        raise DataValidationError(
            [Problem(file, int(i) + 1, "product_id", None, "an id") for i in rows]
        )
    return out.drop_duplicates("product_id").fillna("").set_index("product_id")


def _drop_reasons(lines: pd.DataFrame, catalogue: pd.DataFrame) -> pd.Series:
    """The first reason each line is dropped, or ``""`` when it is kept."""
    known = lines["product_id"].isin(catalogue.index).to_numpy()
    department = lines["product_id"].map(catalogue["department"]).fillna("").str.upper()
    q, v = lines["quantity"].to_numpy(), lines["value"].to_numpy()
    conditions = [
        ~known,
        department.isin(NON_PRODUCT_DEPARTMENTS).to_numpy(),
        q <= 0,
        v < 0,
        (q > MAX_QUANTITY) | (v > MAX_PRICE * MAX_QUANTITY),
    ]
    return pd.Series(np.select(conditions, list(_DROP_REASONS), default=""), index=lines.index)


def _title(values: pd.Series) -> pd.Series:
    return values.str.lower().str.title()


def _products(catalogue: pd.DataFrame, kept: pd.DataFrame) -> pd.DataFrame:
    """Contract products from the catalogue; prices from the kept sales."""
    cat = catalogue.loc[~catalogue["department"].str.upper().isin(NON_PRODUCT_DEPARTMENTS)]
    paid = kept.loc[kept["value"] > 0]
    unit = (paid["value"] / paid["quantity"]).groupby(paid["product_id"]).median()
    kind = cat["product_type"].where(cat["product_type"] != "", cat["product_category"])
    kind = kind.where(kind != "", cat["department"])
    size = cat["package_size"]
    name = _title(kind).where(size == "", _title(kind) + " (" + size + ")").str.strip()
    brand = cat["brand"].str.lower().map(_BRAND_TAGS).fillna("")
    tags = (brand + "|" + cat["product_type"].str.lower().str.replace("|", "/")).str.strip("|")
    description = (
        cat["product_type"]
        + ". "
        + cat["product_category"]
        + ". "
        + cat["department"]
        + ". "
        + brand
        + ". "
        + cat["package_size"]
    ).str.lower()
    return pd.DataFrame(
        {
            "product_id": cat.index.astype(str),
            "name": name.where(
                name != "", pd.Series("Product " + cat.index, index=cat.index)
            ).to_numpy(),
            "category": cat["department"].str.lower().to_numpy(),
            "subcategory": cat["product_category"].str.lower().to_numpy(),
            "designer": ("manufacturer " + cat["manufacturer_id"])
            .where(cat["manufacturer_id"] != "", "")
            .to_numpy(),
            "price": unit.reindex(cat.index).fillna(0.0).round(4).to_numpy(),
            "currency": CURRENCY,
            "launch_date": "",
            "style_tags": tags.to_numpy(),
            "description": description.str.replace(r"(\. )+", ". ", regex=True)
            .str.strip(". ")
            .to_numpy(),
            "sustainable": "false",
            "limited_edition": "false",
            "sensitive": "false",
            "markdown": "false",
        }
    )


def _stores(store_ids: list[str]) -> pd.DataFrame:
    rows = [
        {
            "store_id": ONLINE_STORE_ID,
            "name": "Online",
            "city": "",
            "country": COUNTRY,
            "climate": CLIMATE,
            "online": bool_text(True),
        }
    ]
    rows += [
        {
            "store_id": s,
            "name": f"Store {s}",
            "city": "",
            "country": COUNTRY,
            "climate": CLIMATE,
            "online": bool_text(False),
        }
        for s in store_ids
    ]
    return pd.DataFrame(rows)


def _clients(kept: pd.DataFrame, *, assume_consent: bool) -> pd.DataFrame:
    spend = kept.groupby("client_id")["value"].sum()
    ids = spend.index.astype(str)
    home = most_frequent(kept, "client_id", "store_id").reindex(spend.index)
    created = kept.groupby("client_id")["timestamp"].min().reindex(spend.index)
    return pd.DataFrame(
        {
            "client_id": ids,
            "first_name": "Household",
            "last_name": ids,
            "home_store_id": home.to_numpy(),
            "tier": tiers_by_spend(spend).to_numpy(),
            "consent_personalization": bool_text(assume_consent),
            "consent_contact": bool_text(False),
            "created_at": timestamp_text(created).to_numpy(),
        }
    )


def complete_journey_tables(
    transactions: pd.DataFrame,
    products: pd.DataFrame,
    *,
    assume_consent: bool = False,
    min_events_per_client: int = 1,
    files: tuple[str, str] = ("transactions.csv", "products.csv"),
) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """Map Complete Journey transactions and products to the six contract tables, in memory.

    Parameters
    ----------
    transactions, products : DataFrame
        As returned by :func:`read_complete_journey` (text cells).
    assume_consent : bool
        Mark every household as consenting to personalisation (the data
        says nothing about consent; default ``False``).
    min_events_per_client : int
        Drop clients with fewer events, with their events.
    files : (str, str)
        The file names to cite in problems.

    Returns
    -------
    tables : dict of str to DataFrame
        One frame per table of :data:`core.data.schema.TABLE_ORDER`, every cell
        as the text written to CSV.
    counts : dict of str to int
        Lines read, kept and dropped (per reason), purchases and the rows of
        each table; ``rows_read`` is ``rows_kept`` plus every ``dropped_*``.

    Raises
    ------
    DataValidationError
        A cell cannot be read (named by file, row and column), or no line is left.
    ConfigError
        ``min_events_per_client`` is below 1.

    Longer than 60 lines for this documentation only; the body is 27 lines.
    """
    min_events = check_min_events(min_events_per_client)
    catalogue = _catalogue(products.reset_index(drop=True), files[1])
    lines = _parse_lines(transactions.reset_index(drop=True), files[0])
    lines = lines.rename(columns={"household_id": "client_id"})
    reasons = _drop_reasons(lines, catalogue)
    counts: dict[str, int] = {"rows_read": len(lines), "rows_kept": 0}
    counts |= {reason: int((reasons == reason).sum()) for reason in _DROP_REASONS}
    kept, counts["dropped_few_events"] = drop_sparse_clients(
        lines[reasons == ""].copy(), min_events
    )
    if kept.empty:
        raise _nothing_left(counts, len(lines), files[0])
    counts["rows_kept"] = len(kept)
    product_table = _products(catalogue, kept)  # unit prices from the units as sold
    kept["quantity"] = np.maximum(1, np.round(kept["quantity"])).astype("int64")
    kept = kept.sort_values("timestamp", kind="stable")
    events = _events(kept)
    tables = contract_tables(
        products=product_table,
        stores=_stores(sorted(kept["store_id"].unique(), key=_store_order)),
        stock=derive_stock(product_table["product_id"]),
        clients=_clients(kept, assume_consent=assume_consent),
        events=events,
    )
    counts["purchases"] = len(events)
    counts |= {name: len(tables[name]) for name in TABLE_ORDER}
    return tables, counts


def _nothing_left(counts: dict[str, int], n_lines: int, file: str) -> DataValidationError:
    dropped = ", ".join(
        f"{k.removeprefix('dropped_')} {v}"
        for k, v in counts.items()
        if k.startswith("dropped_") and v
    )
    expected = (
        f"at least one purchase of a known product (all {n_lines} lines were dropped: {dropped})"
    )
    return DataValidationError([Problem(file, None, None, None, expected)])


def _events(kept: pd.DataFrame) -> pd.DataFrame:
    """One store purchase per kept line, in time order."""
    return pd.DataFrame(
        {
            "client_id": kept["client_id"].astype(str).to_numpy(),
            "product_id": kept["product_id"].astype(str).to_numpy(),
            "event_type": "purchase",
            "timestamp": timestamp_text(kept["timestamp"]).to_numpy(),
            "channel": "store",
            "store_id": kept["store_id"].astype(str).to_numpy(),
            "quantity": kept["quantity"].to_numpy(),
            "value": kept["value"].round(6).to_numpy(),
            "is_gift": "false",
        }
    )


def _store_order(store_id: str) -> tuple[int, str]:
    """Numeric ids in numeric order, then the rest."""
    return (int(store_id), "") if store_id.isdigit() else (2**62, store_id)


def import_complete_journey(
    transactions_path: str | Path,
    products_path: str | Path,
    out_dir: str | Path,
    *,
    assume_consent: bool = False,
    min_events_per_client: int = 1,
    overwrite: bool = False,
) -> dict[str, int]:
    """Import Complete Journey transactions and products into a folder of contract tables.

    Parameters
    ----------
    transactions_path, products_path : path
        The two CSV files (UTF-8).
    out_dir : path
        The folder to write the six tables into; absent or empty unless ``overwrite``.
    assume_consent : bool
        Mark every household as consenting to personalisation.
    min_events_per_client : int
        Drop clients with fewer events, with their events.
    overwrite : bool
        Replace the tables of a non-empty ``out_dir``.

    Returns
    -------
    dict of str to int
        See :func:`complete_journey_tables`.

    Raises
    ------
    DataValidationError
        A file is missing, not a CSV, lacks a column, holds a cell that cannot
        be read, or leaves no line; nothing is written.
    ConfigError
        ``out_dir`` is not empty and ``overwrite`` is false, or
        ``min_events_per_client`` is below 1; nothing is written.
    """
    check_out_dir(Path(out_dir), overwrite=overwrite)  # fail before the work
    transactions, products = read_complete_journey(transactions_path, products_path)
    tables, counts = complete_journey_tables(
        transactions,
        products,
        assume_consent=assume_consent,
        min_events_per_client=min_events_per_client,
        files=(Path(transactions_path).name, Path(products_path).name),
    )
    write_contract_folder(tables, Path(out_dir), overwrite=overwrite)
    return counts
