"""Tests of :mod:`core.data.importers.common`: what every transactions importer shares."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from core.data.dataset import load_dataset
from core.data.importers.common import (
    check_min_events,
    contract_tables,
    derive_clients,
    derive_events,
    derive_stock,
    drop_sparse_clients,
    tiers_by_spend,
    write_contract_folder,
)
from core.data.schema import ONLINE_STORE_ID
from core.exceptions import ConfigError, DataValidationError

LINES = pd.DataFrame(
    {
        "client_id": ["c1", "c1", "c2", "c3"],
        "product_id": ["p1", "p2", "p1", "p2"],
        "event_type": ["purchase", "purchase", "purchase", "return"],
        "timestamp": pd.to_datetime(
            ["2024-01-02 10:00", "2024-01-01 09:30", "2024-01-03 12:00", "2024-01-04 08:00"]
        ),
        "quantity": [1, 2, 1, 1],
        "value": [10.0, 40.0, 10.0, 20.0],
        "store_id": ["s1", "s1", "s2", "s2"],
    }
)


def _tables() -> dict[str, pd.DataFrame]:
    stores = pd.DataFrame(
        {
            "store_id": [ONLINE_STORE_ID, "s1", "s2"],
            "name": ["Online", "One", "Two"],
            "climate": "temperate",
            "online": ["true", "false", "false"],
        }
    )
    products = pd.DataFrame({"product_id": ["p1", "p2"], "name": ["A", "B"], "price": [10, 20]})
    home = pd.Series({"c1": "s1", "c2": "s2", "c3": "s2"})
    return contract_tables(
        products=products,
        stores=stores,
        stock=derive_stock(products["product_id"], ["s1", "s2"], quantity=3),
        clients=derive_clients(LINES, home),
        events=derive_events(LINES, channel="store"),
    )


def test_derived_tables_load(tmp_path: Path) -> None:
    write_contract_folder(_tables(), tmp_path / "out", overwrite=False)
    ds = load_dataset(tmp_path / "out")
    assert ds.summary() == {
        "products": 2,
        "stores": 3,
        "stock": 4,
        "associates": 0,
        "clients": 3,
        "events": 4,
    }
    assert set(ds.events["store_id"]) == {"s1", "s2"}  # from the lines' column
    assert set(ds.events["channel"]) == {"store"}  # the default
    c1 = ds.client("c1")
    assert c1["created_at"] == pd.Timestamp("2024-01-01 09:30")
    assert c1["home_store_id"] == "s1"
    assert ds.client("c3")["tier"] == "prospect"  # only a return


def test_tiers_by_net_spend() -> None:
    spend = pd.Series([0.0, 1.0, 2.0, 3.0, 100.0], index=list("abcde"))
    assert tiers_by_spend(spend).tolist() == ["prospect", "client", "client", "loyal", "vic"]


def test_sparse_clients_are_dropped() -> None:
    kept, dropped = drop_sparse_clients(LINES, 2)
    assert set(kept["client_id"]) == {"c1"}
    assert dropped == 2
    with pytest.raises(ConfigError, match="min_events_per_client must be at least 1"):
        check_min_events(0)


def test_a_folder_that_would_not_load_is_not_written(tmp_path: Path) -> None:
    tables = _tables()
    tables["events"].loc[0, "product_id"] = "nope"
    with pytest.raises(DataValidationError, match="an existing product_id in products"):
        write_contract_folder(tables, tmp_path / "out", overwrite=False)
    assert list(tmp_path.iterdir()) == []
