"""The optional product_embeddings table: strict validation, carried on the Dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data.dataset import Dataset, load_dataset
from core.data.embeddings import EMBEDDINGS_TABLE, validate_embeddings
from core.exceptions import DataValidationError

PRODUCTS = pd.DataFrame({"product_id": ["a", "b", "c"], "name": ["A", "B", "C"]})
EVENTS = pd.DataFrame(
    {
        "client_id": ["x", "x"],
        "product_id": ["a", "b"],
        "event_type": ["purchase", "view"],
        "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02"]),
    }
)


def _table(ids: list[object], vectors: list[object]) -> pd.DataFrame:
    return pd.DataFrame({"product_id": ids, "embedding": vectors})


def test_valid_table_is_aligned_and_normalised() -> None:
    ds = Dataset.from_frames(
        PRODUCTS, EVENTS, product_embeddings=_table(["c", "a"], [[0.0, 2.0], [3.0, 4.0]])
    )
    assert ds.product_embeddings is not None
    expected = np.array([[0.6, 0.8], [0.0, 0.0], [0.0, 1.0]])
    np.testing.assert_allclose(ds.embeddings, expected)
    assert EMBEDDINGS_TABLE in ds.tables


def test_without_the_table_nothing_changes() -> None:
    ds = Dataset.from_frames(PRODUCTS, EVENTS)
    assert ds.product_embeddings is None
    assert ds.embeddings.shape == (3, 0)
    assert EMBEDDINGS_TABLE not in ds.tables
    with_table = Dataset.from_frames(
        PRODUCTS, EVENTS, product_embeddings=_table(["a"], [[1.0, 0.0]])
    )
    assert with_table.fingerprint != ds.fingerprint


@pytest.mark.parametrize(
    ("ids", "vectors", "row", "column", "expected"),
    [
        (["a", "zz"], [[1.0, 0.0], [0.0, 1.0]], 2, "product_id", "existing product_id"),
        (["a", "a"], [[1.0, 0.0], [0.0, 1.0]], 2, "product_id", "unique product_id"),
        (["a", "b"], [[1.0, 0.0], [0.0, 1.0, 2.0]], 2, "embedding", "2 values"),
        (["a", "b"], [[1.0, 0.0], [np.nan, 1.0]], 2, "embedding", "finite numbers"),
        (["a", "b"], [[1.0, 0.0], [np.inf, 1.0]], 2, "embedding", "finite numbers"),
        (["a", "b"], ["1,0", [0.0, 1.0]], 1, "embedding", "a list of numbers"),
        (["a", "b"], [[1.0, 0.0], ["x", "y"]], 2, "embedding", "a list of numbers"),
    ],
)
def test_bad_tables_name_table_row_and_column(
    ids: list[object], vectors: list[object], row: int, column: str, expected: str
) -> None:
    with pytest.raises(DataValidationError, match=EMBEDDINGS_TABLE) as err:
        validate_embeddings(_table(ids, vectors), ["a", "b", "c"])
    [problem] = err.value.problems
    assert (problem.file, problem.row, problem.column) == (EMBEDDINGS_TABLE, row, column)
    assert expected in problem.expected


def test_missing_column_is_named() -> None:
    with pytest.raises(DataValidationError, match="embedding"):
        validate_embeddings(pd.DataFrame({"product_id": ["a"]}), ["a"])


def test_load_dataset_reads_and_validates_the_parquet_file(tmp_path: Path) -> None:
    from core.data.generate import write_maison

    write_maison(tmp_path, n_clients=100, n_products=50)
    ds = load_dataset(tmp_path)
    ids = list(ds.products["product_id"])
    vectors = [np.arange(4, dtype=float) + i for i in range(len(ids) - 1)]
    _table(ids[:-1], vectors).to_parquet(tmp_path / f"{EMBEDDINGS_TABLE}.parquet")
    loaded = load_dataset(tmp_path)
    assert loaded.embeddings.shape == (len(ids), 4)
    assert not loaded.embeddings[-1].any()
    _table(["nope"], [[1.0, 2.0, 3.0, 4.0]]).to_parquet(tmp_path / f"{EMBEDDINGS_TABLE}.parquet")
    with pytest.raises(DataValidationError, match=rf"{EMBEDDINGS_TABLE}\.parquet.*row 1"):
        load_dataset(tmp_path)
