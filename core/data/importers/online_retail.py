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
    (:data:`TIER_QUANTILES`), consent to personalisation but not to contact,
    ``created_at`` their first invoice.
``associates``
    Empty (header only): the data names no staff.

Lines are dropped, and counted in the result, when they have no CustomerID,
a code that is not a product (postage, fees, manual adjustments, gift
vouchers, ...; see :func:`is_product_code`), a purchase quantity <= 0 or a
cancellation quantity >= 0, a price <= 0, or a quantity or price beyond the
contract's ceilings. Clients with fewer than ``min_events_per_client``
events are then dropped with their events.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.dataset import load_dataset
from core.data.loading import SUFFIXES
from core.data.reading import read_csv_strict
from core.data.schema import (
    ASSOCIATES,
    CLIENTS,
    EVENTS,
    MAX_PRICE,
    MAX_QUANTITY,
    ONLINE_STORE_ID,
    PRODUCTS,
    STOCK,
    STORES,
    TABLE_ORDER,
    TableSpec,
)
from core.exceptions import ConfigError, DataValidationError, Problem

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

CATEGORY_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("christmas", ("CHRISTMAS", "XMAS", "ADVENT", "SANTA", "REINDEER", "BAUBLE", "SNOWFLAKE")),
    ("candles", ("CANDLE", "T-LIGHT", "TEA LIGHT", "TLIGHT", "INCENSE", "OIL BURNER")),
    ("bags", ("BAG", "TOTE", "SHOPPER", "PURSE", "HANDBAG", "RUCKSACK", "BACKPACK")),
    ("jewellery", ("NECKLACE", "BRACELET", "EARRING", "BROOCH", "CHARM", "BEAD", "HAIR CLIP")),
    (
        "tableware",
        ("MUG", "CUP", "SAUCER", "PLATE", "BOWL", "TEAPOT", "JUG", "TUMBLER", "NAPKIN")
        + ("CUTLERY", "DISH", "COASTER", "PLACEMAT", "TEA SET"),
    ),
    (
        "kitchen",
        ("CAKE", "BAKING", "APRON", "JAR", "TIN", "LUNCH BOX", "TEA TOWEL", "COOKIE")
        + ("KITCHEN", "PANTRY", "PAN", "RACK"),
    ),
    ("lighting", ("LIGHT", "LAMP", "LANTERN", "CHANDELIER")),
    ("cards", ("CARD",)),
    ("party", ("PARTY", "EASTER", "BALLOON", "BIRTHDAY", "CRACKER")),
    ("gift wrap", ("WRAP", "GIFT TAPE", "RIBBON", "TISSUE")),
    ("stationery", ("NOTEBOOK", "PENCIL", "PEN", "STICKER", "DIARY", "ERASER", "CALENDAR")),
    ("toys & games", ("TOY", "GAME", "DOLL", "PUZZLE", "JIGSAW", "SKIPPING ROPE", "DOMINOES")),
    ("garden", ("GARDEN", "PLANT", "PLANTER", "WATERING CAN", "BIRD HOUSE", "BIRD FEEDER")),
    (
        "textiles",
        ("CUSHION", "THROW", "BLANKET", "HOT WATER BOTTLE", "HAND WARMER", "UMBRELLA", "SCARF"),
    ),
    (
        "home decor",
        ("SIGN", "FRAME", "CLOCK", "MIRROR", "HOOK", "DOORMAT", "WREATH", "VASE", "DECORATION")
        + ("HANGING", "GARLAND", "BUNTING", "ORNAMENT", "MAGNET", "TILE", "WALL ART", "HEART"),
    ),
    ("storage", ("BOX", "BASKET", "TRAY", "DRAWER", "CABINET", "CRATE")),
)
"""Category rules, first match wins: a keyword matches a whole word, plural too."""

DEFAULT_CATEGORY = "giftware"

COUNTRY_CLIMATES: dict[str, str] = {
    **dict.fromkeys(
        (
            "australia",
            "bahrain",
            "brazil",
            "cyprus",
            "greece",
            "hong kong",
            "israel",
            "lebanon",
            "malta",
            "portugal",
            "rsa",
            "saudi arabia",
            "singapore",
            "spain",
            "united arab emirates",
            "west indies",
        ),
        "warm",
    ),
    **dict.fromkeys(
        (
            "canada",
            "estonia",
            "finland",
            "iceland",
            "latvia",
            "lithuania",
            "norway",
            "russia",
            "sweden",
        ),
        "cold",
    ),
}
"""Climate of a customer country (lower case); other countries are temperate."""

DEFAULT_CLIMATE = "temperate"
CURRENCY = "GBP"
HOME_COUNTRY = "United Kingdom"
"""Where the online store is (the retailer is UK-based)."""
UNKNOWN_COUNTRY = "Unspecified"
IN_STOCK_QUANTITY = 1_000
TIER_QUANTILES: tuple[tuple[str, float], ...] = (("vic", 0.9), ("loyal", 0.5))
"""Tier by net spend: at or above the 90th percentile of clients with a
positive net spend is ``vic``, at or above the median ``loyal``, below it
``client``; a net spend of zero or less (only returns) is ``prospect``."""

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


def _keyword_pattern(keywords: tuple[str, ...]) -> str:
    words = "|".join(re.escape(k) for k in keywords)
    return rf"(?<![A-Z0-9])(?:{words})(?:S|ES)?(?![A-Z0-9])"


_CATEGORY_PATTERNS: tuple[tuple[str, str], ...] = tuple(
    (category, _keyword_pattern(keywords)) for category, keywords in CATEGORY_KEYWORDS
)


def category_of(descriptions: pd.Series) -> pd.Series:
    """The category of each description, from :data:`CATEGORY_KEYWORDS`.

    Parameters
    ----------
    descriptions : Series of str
        Product descriptions in any case.

    Returns
    -------
    Series of str
        The first category whose keywords appear, else :data:`DEFAULT_CATEGORY`.

    Examples
    --------
    >>> category_of(pd.Series(["PINK FLORAL FELTCRAFT SHOULDER BAG", "RED RETROSPOT MUG",
    ...                        "WHITE HANGING HEART T-LIGHT HOLDER", "GIRAFFE WOODEN RULER"])).tolist()
    ['bags', 'tableware', 'candles', 'giftware']
    """
    text = descriptions.astype("string").fillna("").str.upper()
    out = pd.Series(DEFAULT_CATEGORY, index=descriptions.index, dtype=object)
    open_ = np.ones(len(text), dtype=bool)
    for category, pattern in _CATEGORY_PATTERNS:
        hit = text.str.contains(pattern, regex=True).to_numpy(dtype=bool, na_value=False)
        out[hit & open_] = category
        open_ &= ~hit
    return out


def country_store_id(country: str) -> str:
    """The store id of a customer country: a lower-case ASCII slug.

    Examples
    --------
    >>> country_store_id("United Kingdom"), country_store_id("Côte d'Ivoire")
    ('united-kingdom', 'cote-d-ivoire')
    """
    ascii_ = unicodedata.normalize("NFKD", country).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_.lower()).strip("-") or "unknown-country"
    return f"country-{slug}" if slug == ONLINE_STORE_ID else slug


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
        The file is missing, empty, binary, not a well-formed CSV or lacks a column.
    """
    path = Path(csv_path)

    def check_header(header: list[str]) -> None:
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


def _most_frequent(frame: pd.DataFrame, key: str, column: str) -> pd.Series:
    """Per ``key``, the most frequent non-empty ``column`` value (ties: first seen)."""
    present = frame.loc[frame[column].notna() & (frame[column] != ""), [key, column]]
    counts = present.groupby([key, column], sort=False).size().rename("n").reset_index()
    counts = counts.sort_values([key, "n"], ascending=[True, False], kind="stable")
    return counts.drop_duplicates(key).set_index(key)[column]


def _fill(frame: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """Every contract column of ``spec``, in contract order; optional ones at their default."""
    out = frame.copy()
    for col in spec.columns:
        if col.name not in out.columns:
            out[col.name] = "" if col.default is None else col.default
    return out[spec.column_names]


def _text(values: pd.Series, fmt: str) -> pd.Series:
    """Datetimes as text in ``fmt``; missing ones as empty text."""
    return values.dt.strftime(fmt).fillna("")


def _bool_text(value: bool) -> str:
    return "true" if value else "false"


def _tiers(spend: pd.Series) -> pd.Series:
    tiers = pd.Series("client", index=spend.index, dtype=object)
    positive = spend[spend > 0]
    for tier, q in sorted(TIER_QUANTILES, key=lambda t: t[1]):
        if len(positive):
            tiers[spend >= positive.quantile(q)] = tier
    tiers[spend <= 0] = "prospect"
    return tiers


def online_retail_tables(
    source: pd.DataFrame, *, min_events_per_client: int = 1, file: str = "online_retail.csv"
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
    """
    if (
        isinstance(min_events_per_client, bool)
        or not isinstance(min_events_per_client, int | np.integer)
        or min_events_per_client < 1
    ):
        raise ConfigError(f"min_events_per_client must be at least 1 (got {min_events_per_client})")
    lines = _parse_cells(source.reset_index(drop=True), file)
    reasons = _drop_reasons(lines)
    counts: dict[str, int] = {"rows_read": len(lines), "rows_kept": 0}
    counts |= {reason: int((reasons == reason).sum()) for reason in _DROP_REASONS}

    kept = lines[reasons == ""].copy()
    kept["event_type"] = np.where(kept["invoice"].str.startswith("C"), "return", "purchase")
    kept["quantity"] = kept["quantity"].abs().astype("int64")
    kept["country"] = kept["country"].fillna(UNKNOWN_COUNTRY)
    catalogue = kept  # products come from every kept line, before the client threshold

    per_client = kept.groupby("client_id")["client_id"].transform("size")
    few = per_client < min_events_per_client
    counts["dropped_few_events"] = int(few.sum())
    kept = kept[~few]
    if kept.empty:
        raise DataValidationError(
            [
                Problem(
                    file,
                    None,
                    None,
                    None,
                    "at least one purchase or return of a product by a known customer "
                    f"(all {len(lines)} lines were dropped: "
                    + ", ".join(
                        f"{k.removeprefix('dropped_')} {v}"
                        for k, v in counts.items()
                        if k.startswith("dropped_") and v
                    )
                    + ")",
                )
            ]
        )
    counts["rows_kept"] = len(kept)

    # Products.
    sales = catalogue[catalogue["event_type"] == "purchase"]
    by_product = catalogue.groupby("product_id", sort=True)
    price = sales.groupby("product_id")["price"].median()
    price = price.reindex(by_product.size().index).fillna(by_product["price"].median())
    name = _most_frequent(catalogue, "product_id", "description").reindex(price.index)
    name = name.fillna(pd.Series("Product " + price.index.astype(str), index=price.index))
    variants = (
        catalogue.loc[catalogue["description"] != "", ["product_id", "description"]]
        .groupby(["product_id", "description"], sort=False)
        .size()
        .rename("n")
        .reset_index()
        .sort_values(["product_id", "n"], ascending=[True, False], kind="stable")
        .groupby("product_id")["description"]
        .agg(" / ".join)
        .reindex(price.index)
        .fillna("")
    )
    products = pd.DataFrame(
        {
            "product_id": price.index.astype(str),
            "name": name.to_numpy(),
            "category": category_of(name).to_numpy(),
            "price": price.to_numpy(),
            "currency": CURRENCY,
            "launch_date": "",
            "description": variants.to_numpy(),
            "sustainable": "false",
            "limited_edition": "false",
            "sensitive": "false",
            "markdown": "false",
        }
    )

    # Stores: the online store, then one per client country.
    home_country = _most_frequent(kept, "client_id", "country")
    store_of: dict[str, str] = {}
    for country in sorted(home_country.unique()):
        store_id, n = country_store_id(country), 2
        while store_id in store_of.values():
            store_id, n = f"{country_store_id(country)}-{n}", n + 1
        store_of[country] = store_id
    stores = pd.DataFrame(
        [
            {
                "store_id": ONLINE_STORE_ID,
                "name": "Online",
                "city": "",
                "country": HOME_COUNTRY,
                "climate": DEFAULT_CLIMATE,
                "online": _bool_text(True),
            }
        ]
        + [
            {
                "store_id": store_id,
                "name": country,
                "city": "",
                "country": country,
                "climate": COUNTRY_CLIMATES.get(country.casefold(), DEFAULT_CLIMATE),
                "online": _bool_text(False),
            }
            for country, store_id in store_of.items()
        ]
    )

    stock = pd.DataFrame(
        {
            "product_id": products["product_id"],
            "store_id": ONLINE_STORE_ID,
            "quantity": IN_STOCK_QUANTITY,
        }
    )

    # Events, in time order (ties keep the file's order).
    kept = kept.sort_values("timestamp", kind="stable")
    value = (kept["quantity"] * kept["price"]).round(6)
    events = pd.DataFrame(
        {
            "client_id": kept["client_id"].astype(str).to_numpy(),
            "product_id": kept["product_id"].astype(str).to_numpy(),
            "event_type": kept["event_type"].to_numpy(),
            "timestamp": _text(kept["timestamp"], "%Y-%m-%d %H:%M:%S").to_numpy(),
            "channel": "online",
            "store_id": ONLINE_STORE_ID,
            "quantity": kept["quantity"].to_numpy(),
            "value": value.to_numpy(),
            "is_gift": "false",
        }
    )

    # Clients.
    sign = np.where(kept["event_type"] == "return", -1.0, 1.0)
    spend = (value * sign).groupby(kept["client_id"]).sum()
    client_ids = spend.index.astype(str)
    created = kept.groupby("client_id")["timestamp"].min().reindex(spend.index)
    clients = pd.DataFrame(
        {
            "client_id": client_ids,
            "first_name": "Customer",
            "last_name": client_ids,
            "home_store_id": home_country.reindex(spend.index).map(store_of).to_numpy(),
            "tier": _tiers(spend).to_numpy(),
            "consent_personalization": _bool_text(True),
            "consent_contact": _bool_text(False),
            "created_at": _text(created, "%Y-%m-%d %H:%M:%S").to_numpy(),
        }
    )

    associates = pd.DataFrame(columns=ASSOCIATES.column_names)
    tables = {
        "products": _fill(products, PRODUCTS),
        "stores": _fill(stores, STORES),
        "stock": _fill(stock, STOCK),
        "associates": associates,
        "clients": _fill(clients, CLIENTS),
        "events": _fill(events, EVENTS),
    }
    counts |= {
        "purchases": int((events["event_type"] == "purchase").sum()),
        "returns": int((events["event_type"] == "return").sum()),
    }
    counts |= {name: len(tables[name]) for name in TABLE_ORDER}
    return tables, counts


def _check_out_dir(out_dir: Path, *, overwrite: bool) -> bool:
    """Whether ``out_dir`` holds files; refuse it unless ``overwrite``."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"{out_dir} is a file; choose a folder to import into")
    occupied = out_dir.is_dir() and any(out_dir.iterdir())
    if occupied and not overwrite:
        raise ConfigError(
            f"{out_dir} is not empty; choose an empty folder or pass overwrite=True "
            "(--overwrite) to replace its tables"
        )
    return occupied


def _write_tables(tables: Mapping[str, pd.DataFrame], out_dir: Path, *, overwrite: bool) -> None:
    """Write the tables as CSV into ``out_dir``, all or nothing.

    The tables are written into a temporary folder next to ``out_dir`` and
    loaded back with :func:`core.data.dataset.load_dataset`; only then is the
    folder renamed into place. With ``overwrite`` and a non-empty
    ``out_dir``, the six table files are replaced one by one (each
    replacement atomic) and other table files of the same names (Parquet)
    removed; other files there, such as a database, are left alone.
    """
    occupied = _check_out_dir(out_dir, overwrite=overwrite)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.import-", dir=out_dir.parent))
    try:
        for name in TABLE_ORDER:
            tables[name].to_csv(
                tmp / f"{name}.csv", index=False, encoding="utf-8", lineterminator="\n"
            )
        load_dataset(tmp)  # the output must load; if not, nothing is moved
        if not occupied:
            if out_dir.is_dir():
                out_dir.rmdir()
            tmp.rename(out_dir)
            return
        for name in TABLE_ORDER:
            for suffix in SUFFIXES:
                stale = out_dir / f"{name}{suffix}"
                if suffix != ".csv" and stale.is_file():
                    stale.unlink()
            os.replace(tmp / f"{name}.csv", out_dir / f"{name}.csv")
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def import_online_retail(
    csv_path: str | Path,
    out_dir: str | Path,
    *,
    min_events_per_client: int = 1,
    overwrite: bool = False,
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
    _check_out_dir(Path(out_dir), overwrite=overwrite)  # fail before the work
    source = read_online_retail(path)
    tables, counts = online_retail_tables(
        source, min_events_per_client=min_events_per_client, file=path.name
    )
    _write_tables(tables, Path(out_dir), overwrite=overwrite)
    return counts
