"""Import the UCI "Online Retail" transactions into the data contract.

The source is one CSV line per invoice line with the columns InvoiceNo,
StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID and
Country (the layout of the UCI release; "Online Retail II" spellings such as
``Invoice``, ``Price`` and ``Customer ID`` are accepted too). The mapping:

``events``
    A line of an invoice is a ``purchase``; a line of a cancellation (an
    InvoiceNo starting with ``C``, negative quantity) is a ``return`` of the
    same customer and product. ``quantity`` is the number of units (positive
    for both), ``value`` quantity x UnitPrice, ``timestamp`` the invoice
    date. The retailer sells online only, so every event has channel
    ``online`` and store_id :data:`~core.data.schema.ONLINE_STORE_ID`.
``products``
    One per product StockCode (upper-cased): ``name`` its most frequent
    description, ``description`` all its descriptions (most frequent first),
    ``price`` the median UnitPrice of its sales in GBP, ``category`` from
    keywords of the name (:func:`category_of`, else ``giftware``),
    no ``launch_date``: a first sale is not a launch date, and taking it for
    one would show a temporal evaluation which products sell in its test
    window (the new-arrival prior would read it). Attributes the data does
    not have (designer, material, colour, tags, ...) stay empty.
``stores``
    The online store, plus one store per customer country standing for the
    client's market: store_id a slug of the country (:func:`country_store_id`),
    climate from :data:`COUNTRY_CLIMATES` (temperate when unknown). Country
    stores hold no stock and record no events; they give each client a home
    country and climate.
``stock``
    Every product in stock online (:data:`IN_STOCK_QUANTITY` units).
``clients``
    One per CustomerID: neutral names ("Customer" + the id), no email or
    phone, home store their most frequent country, tier by net spend
    (:data:`TIER_QUANTILES`), no consent to contact, and consent to
    personalisation only when the import is told the house has it
    (``assume_consent``, ``--assume-consent``), ``created_at`` their first
    invoice.
``associates``
    Empty (header only): the data names no staff.

The package reads and cleans the lines (:mod:`.source`), derives the
products (:mod:`.products`) and the country stores (:mod:`.stores`); the
events, clients and stock, and the all-or-nothing write, are those every
importer shares (:mod:`core.data.importers.common`).

Lines are dropped, and counted in the result, when they have no CustomerID,
a code that is not a product (postage, fees, manual adjustments, gift
vouchers, ...; see :func:`is_product_code`), a purchase quantity <= 0 or a
cancellation quantity >= 0, a price <= 0, or a quantity or price beyond the
contract's ceilings. Clients with fewer than ``min_events_per_client``
events are then dropped with their events.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from core.data.importers.common import (
    IN_STOCK_QUANTITY,
    TIER_QUANTILES,
    check_min_events,
    check_out_dir,
    contract_tables,
    derive_clients,
    derive_events,
    derive_stock,
    drop_sparse_clients,
    most_frequent,
    no_lines_left,
    write_contract_folder,
)
from core.data.importers.online_retail.products import (
    CATEGORY_KEYWORDS,
    CURRENCY,
    DEFAULT_CATEGORY,
    category_of,
    derive_products,
)
from core.data.importers.online_retail.source import (
    NON_PRODUCT_CODES,
    SOURCE_COLUMNS,
    SOURCE_ENCODINGS,
    UNKNOWN_COUNTRY,
    clean_lines,
    is_product_code,
    parse_invoice_dates,
    read_online_retail,
)
from core.data.importers.online_retail.stores import (
    COUNTRY_CLIMATES,
    DEFAULT_CLIMATE,
    HOME_COUNTRY,
    country_store_id,
    country_stores,
)
from core.data.schema import TABLE_ORDER

__all__ = [
    "CATEGORY_KEYWORDS",
    "COUNTRY_CLIMATES",
    "CURRENCY",
    "DEFAULT_CATEGORY",
    "DEFAULT_CLIMATE",
    "HOME_COUNTRY",
    "IN_STOCK_QUANTITY",
    "NON_PRODUCT_CODES",
    "SOURCE_COLUMNS",
    "SOURCE_ENCODINGS",
    "TIER_QUANTILES",
    "UNKNOWN_COUNTRY",
    "category_of",
    "country_store_id",
    "import_online_retail",
    "is_product_code",
    "online_retail_tables",
    "parse_invoice_dates",
    "read_online_retail",
]


def online_retail_tables(
    source: pd.DataFrame,
    *,
    min_events_per_client: int = 1,
    file: str = "online_retail.csv",
    assume_consent: bool = False,
) -> tuple[dict[str, pd.DataFrame], dict[str, int]]:
    """Map Online Retail lines to the six contract tables, in memory.

    Parameters
    ----------
    source : DataFrame
        As returned by :func:`read_online_retail` (text cells).
    min_events_per_client : int
        Drop clients with fewer events (purchases and returns), with their events.
    file : str
        The file name to cite in problems.
    assume_consent : bool
        Mark every client as consenting to personalisation; by default none
        does (transactions do not record consent).

    Returns
    -------
    tables : dict of str to DataFrame
        One frame per table of :data:`core.data.schema.TABLE_ORDER`, every cell
        as the text written to CSV.
    counts : dict of str to int
        Lines read, kept and dropped (per reason), purchases, returns and
        the rows of each table. ``rows_read`` is ``rows_kept`` plus every
        ``dropped_*``.

    Raises
    ------
    DataValidationError
        A cell cannot be read (named by row and column), or no line is left.
    ConfigError
        ``min_events_per_client`` is below 1.

    Longer than 60 lines for this documentation only; the body is 27 lines.
    """
    min_events = check_min_events(min_events_per_client)
    lines, counts = clean_lines(source, file)
    catalogue = lines  # products come from every kept line, before the client threshold
    kept, counts["dropped_few_events"] = drop_sparse_clients(lines, min_events)
    if kept.empty:
        raise no_lines_left(file, counts["rows_read"], counts)
    counts["rows_kept"] = len(kept)
    products = derive_products(catalogue)
    home_country = most_frequent(kept, "client_id", "country")
    stores, store_of = country_stores(home_country)
    # Events in time order (ties keep the file's order).
    kept = kept.sort_values("timestamp", kind="stable")
    kept["value"] = (kept["quantity"] * kept["price"]).round(6)
    events = derive_events(kept)
    tables = contract_tables(
        products=products,
        stores=stores,
        stock=derive_stock(products["product_id"]),
        clients=derive_clients(kept, home_country.map(store_of), assume_consent=assume_consent),
        events=events,
    )
    counts |= {
        "purchases": int((events["event_type"] == "purchase").sum()),
        "returns": int((events["event_type"] == "return").sum()),
    }
    counts |= {name: len(tables[name]) for name in TABLE_ORDER}
    return tables, counts


def import_online_retail(
    csv_path: str | Path,
    out_dir: str | Path,
    *,
    min_events_per_client: int = 1,
    overwrite: bool = False,
    assume_consent: bool = False,
) -> dict[str, int]:
    """Import an Online Retail CSV into a folder of contract tables.

    Parameters
    ----------
    csv_path : path
        The transactions CSV (UTF-8, Windows-1252 or Latin-1).
    out_dir : path
        The folder to write ``products.csv``, ``stores.csv``, ``stock.csv``,
        ``associates.csv``, ``clients.csv`` and ``events.csv`` into. It must
        be absent or empty unless ``overwrite``.
    min_events_per_client : int
        Drop clients with fewer events, with their events.
    overwrite : bool
        Replace the tables of a non-empty ``out_dir``.
    assume_consent : bool
        Mark every imported client as consenting to personalisation. Only
        when the house holds that consent for all of them: by default none
        does, and each gets generic suggestions until an associate records
        their consent.

    Returns
    -------
    dict of str to int
        Lines read, kept and dropped per reason, purchases, returns and the
        rows of each table (see :func:`online_retail_tables`).

    Raises
    ------
    DataValidationError
        The file is missing, not a CSV, lacks a column, holds a cell that
        cannot be read, or leaves no line; nothing is written.
    ConfigError
        ``out_dir`` is not empty and ``overwrite`` is false, or
        ``min_events_per_client`` is below 1; nothing is written.
    """
    path = Path(csv_path)
    check_out_dir(Path(out_dir), overwrite=overwrite)  # fail before the work
    source = read_online_retail(path)
    tables, counts = online_retail_tables(
        source,
        min_events_per_client=min_events_per_client,
        file=path.name,
        assume_consent=assume_consent,
    )
    write_contract_folder(tables, Path(out_dir), overwrite=overwrite)
    return counts
