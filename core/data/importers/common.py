"""What every transactions importer shares: contract tables derived from cleaned lines,
and a contract folder written all or nothing.

An importer reads its layout and cleans it into *lines*, one purchase or
return each, as a DataFrame with the columns

``client_id`` (str), ``product_id`` (str), ``event_type`` (``purchase`` or
``return``), ``timestamp`` (datetime64), ``quantity`` (positive int) and
``value`` (float, quantity x unit price), and optionally ``channel``,
``store_id`` and ``is_gift``.

From the lines this module derives the events, the clients (tier by net spend)
and the stock; the importer adds what its layout knows (products, stores).
Every table is returned as text, as written to CSV, and
:func:`write_contract_folder` writes the six tables so that a folder either
holds a dataset :func:`~core.data.dataset.load_dataset` accepts or is left as
it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.dataset import load_dataset
from core.data.loading import SUFFIXES
from core.data.schema import (
    ASSOCIATES,
    CLIENTS,
    EVENTS,
    ONLINE_STORE_ID,
    PRODUCTS,
    STOCK,
    STORES,
    TABLE_ORDER,
    TableSpec,
)
from core.exceptions import ConfigError, DataValidationError, Problem

IN_STOCK_QUANTITY = 1_000
"""Units of every product in stock, for data that records no stock."""
TIER_QUANTILES: tuple[tuple[str, float], ...] = (("vic", 0.9), ("loyal", 0.5))
"""Tier by net spend: at or above the 90th percentile of clients with a
positive net spend is ``vic``, at or above the median ``loyal``, below it
``client``; a net spend of zero or less (only returns) is ``prospect``."""
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


# ------------------------------------------------------------------ values
def bool_text(value: bool) -> str:
    """``"true"`` or ``"false"``, as the contract's CSV spells booleans."""
    return "true" if value else "false"


def timestamp_text(values: pd.Series) -> pd.Series:
    """Datetimes as ``YYYY-MM-DD HH:MM:SS`` text; missing ones as empty text."""
    text: pd.Series = values.dt.strftime(TIMESTAMP_FORMAT).fillna("")
    return text


def most_frequent(frame: pd.DataFrame, key: str, column: str) -> pd.Series:
    """Per ``key``, the most frequent non-empty ``column`` value (ties: first seen).

    Parameters
    ----------
    frame : DataFrame
    key, column : str
        Column names of ``frame`` (say ``client_id`` and ``store_id``, for a
        client's home store).

    Returns
    -------
    Series
        Indexed by ``key`` (sorted); keys with no value are absent.
    """
    present = frame.loc[frame[column].notna() & (frame[column] != ""), [key, column]]
    counts = present.groupby([key, column], sort=False).size().rename("n").reset_index()
    counts = counts.sort_values([key, "n"], ascending=[True, False], kind="stable")
    return counts.drop_duplicates(key).set_index(key)[column]


# ---------------------------------------------------------------- clients
def check_min_events(min_events_per_client: object) -> int:
    """``min_events_per_client`` as an int of at least 1.

    Raises
    ------
    ConfigError
        When it is not a whole number of at least 1.
    """
    if (
        isinstance(min_events_per_client, bool)
        or not isinstance(min_events_per_client, int | np.integer)
        or min_events_per_client < 1
    ):
        raise ConfigError(f"min_events_per_client must be at least 1 (got {min_events_per_client})")
    return int(min_events_per_client)


def drop_sparse_clients(lines: pd.DataFrame, min_events: int) -> tuple[pd.DataFrame, int]:
    """The lines of clients with at least ``min_events`` lines, and how many lines were dropped."""
    per_client = lines.groupby("client_id")["client_id"].transform("size")
    few = per_client < min_events
    return lines[~few], int(few.sum())


def no_lines_left(file: str, n_lines: int, counts: Mapping[str, int]) -> DataValidationError:
    """The error for a source whose every line was dropped, with the count per reason.

    Parameters
    ----------
    file : str
        The source file, to cite.
    n_lines : int
        Lines read.
    counts : mapping of str to int
        Lines dropped per reason, under keys ``dropped_<reason>``.
    """
    reasons = ", ".join(
        f"{k.removeprefix('dropped_')} {v}"
        for k, v in counts.items()
        if k.startswith("dropped_") and v
    )
    return DataValidationError(
        [
            Problem(
                file,
                None,
                None,
                None,
                "at least one purchase or return of a product by a known customer "
                f"(all {n_lines} lines were dropped: {reasons})",
            )
        ]
    )


def tiers_by_spend(spend: pd.Series) -> pd.Series:
    """Each client's tier from their net spend (see :data:`TIER_QUANTILES`)."""
    tiers = pd.Series("client", index=spend.index, dtype=object)
    positive = spend[spend > 0]
    for tier, q in sorted(TIER_QUANTILES, key=lambda t: t[1]):
        if len(positive):
            tiers[spend >= positive.quantile(q)] = tier
    tiers[spend <= 0] = "prospect"
    return tiers


def derive_clients(
    lines: pd.DataFrame, home_store: pd.Series, *, assume_consent: bool = False
) -> pd.DataFrame:
    """One client per ``client_id`` of the lines, as contract text.

    Names are neutral ("Customer" and the id), there is no e-mail or phone;
    the tier follows the net spend (purchases minus returns, see
    :func:`tiers_by_spend`); ``created_at`` is the first line's time.
    Transactions say nothing about consent, so no client consents to
    personalisation unless ``assume_consent`` says the house collected it for
    every one of them; consent to contact is never assumed.

    Parameters
    ----------
    lines : DataFrame
        Cleaned lines (see the module docstring).
    home_store : Series
        Each client's home store id, indexed by client id.
    assume_consent : bool
        Mark every client as consenting to personalisation (default: none
        does, and each gets generic suggestions until consent is recorded).

    Returns
    -------
    DataFrame
        The clients, sorted by id; columns as given (see :func:`contract_tables`).
    """
    sign = np.where(lines["event_type"] == "return", -1.0, 1.0)
    spend = (lines["value"] * sign).groupby(lines["client_id"]).sum()
    client_ids = spend.index.astype(str)
    created = lines.groupby("client_id")["timestamp"].min().reindex(spend.index)
    return pd.DataFrame(
        {
            "client_id": client_ids,
            "first_name": "Customer",
            "last_name": client_ids,
            "home_store_id": home_store.reindex(spend.index).to_numpy(),
            "tier": tiers_by_spend(spend).to_numpy(),
            "consent_personalization": bool_text(assume_consent),
            "consent_contact": bool_text(False),
            "created_at": timestamp_text(created).to_numpy(),
        }
    )


# ---------------------------------------------------------- events, stock
def derive_events(
    lines: pd.DataFrame, *, channel: str = "online", store_id: str = ONLINE_STORE_ID
) -> pd.DataFrame:
    """The events of the lines, in their order, as contract text.

    ``channel``, ``store_id`` and ``is_gift`` come from the lines' columns of
    those names when present, else ``channel``, ``store_id`` and false.
    """

    def column(name: str, default: object) -> object:
        return lines[name].to_numpy() if name in lines.columns else default

    return pd.DataFrame(
        {
            "client_id": lines["client_id"].astype(str).to_numpy(),
            "product_id": lines["product_id"].astype(str).to_numpy(),
            "event_type": lines["event_type"].to_numpy(),
            "timestamp": timestamp_text(lines["timestamp"]).to_numpy(),
            "channel": column("channel", channel),
            "store_id": column("store_id", store_id),
            "quantity": lines["quantity"].to_numpy(),
            "value": lines["value"].to_numpy(),
            "is_gift": column("is_gift", bool_text(False)),
        }
    )


def derive_stock(
    product_ids: pd.Series,
    store_ids: Iterable[str] = (ONLINE_STORE_ID,),
    quantity: int = IN_STOCK_QUANTITY,
) -> pd.DataFrame:
    """Every product in stock in every given store (``quantity`` units), for data without stock."""
    return pd.concat(
        [
            pd.DataFrame({"product_id": product_ids, "store_id": store, "quantity": quantity})
            for store in store_ids
        ],
        ignore_index=True,
    )


def fill_contract_columns(frame: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """Every contract column of ``spec``, in contract order; optional ones at their default."""
    out = frame.copy()
    for col in spec.columns:
        if col.name not in out.columns:
            out[col.name] = "" if col.default is None else col.default
    return out[spec.column_names]


def contract_tables(
    *,
    products: pd.DataFrame,
    stores: pd.DataFrame,
    stock: pd.DataFrame,
    clients: pd.DataFrame,
    events: pd.DataFrame,
    associates: pd.DataFrame | None = None,
) -> dict[str, pd.DataFrame]:
    """The six tables with every contract column, in contract order (no associates by default)."""
    return {
        "products": fill_contract_columns(products, PRODUCTS),
        "stores": fill_contract_columns(stores, STORES),
        "stock": fill_contract_columns(stock, STOCK),
        "associates": (
            pd.DataFrame(columns=ASSOCIATES.column_names)
            if associates is None
            else fill_contract_columns(associates, ASSOCIATES)
        ),
        "clients": fill_contract_columns(clients, CLIENTS),
        "events": fill_contract_columns(events, EVENTS),
    }


# ----------------------------------------------------------------- writing
def check_out_dir(out_dir: Path, *, overwrite: bool) -> bool:
    """Whether ``out_dir`` holds files; refuse it unless ``overwrite``.

    Call it before the work, so that a refused folder costs nothing.

    Raises
    ------
    ConfigError
        ``out_dir`` is a file, or is not empty and ``overwrite`` is false.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"{out_dir} is a file; choose a folder to import into")
    occupied = out_dir.is_dir() and any(out_dir.iterdir())
    if occupied and not overwrite:
        raise ConfigError(
            f"{out_dir} is not empty; choose an empty folder or pass overwrite=True "
            "(--overwrite) to replace its tables"
        )
    return occupied


def write_contract_folder(
    tables: Mapping[str, pd.DataFrame], out_dir: Path, *, overwrite: bool
) -> None:
    """Write the six tables as CSV into ``out_dir``, all or nothing.

    The tables are written into a temporary folder next to ``out_dir`` and
    loaded back with :func:`core.data.dataset.load_dataset`; only then is the
    folder renamed into place. With ``overwrite`` and a non-empty
    ``out_dir``, the six table files are replaced one by one (each
    replacement atomic) and other table files of the same names (Parquet)
    removed; other files there, such as a database, are left alone.

    Parameters
    ----------
    tables : mapping of str to DataFrame
        One frame per table of :data:`core.data.schema.TABLE_ORDER`.
    out_dir : Path
    overwrite : bool
        Replace the tables of a non-empty ``out_dir``.

    Raises
    ------
    DataValidationError
        The tables do not load as a dataset; nothing is written.
    ConfigError
        As :func:`check_out_dir`.
    """
    occupied = check_out_dir(out_dir, overwrite=overwrite)
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
