"""Arrow tables of the contract and of the planted truth, and the epoch-second times their columns are built from."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from core.data.arrow import contract_schema

_TRUTH_SCHEMAS = {
    "client_segments": pa.schema(
        [("client_id", pa.string()), ("segment", pa.string()), ("weight", pa.float64())]
    ),
    "product_segments": pa.schema([("product_id", pa.string()), ("segment", pa.string())]),
}


def arrow_schema(name: str) -> pa.Schema:
    """The Arrow schema of a contract table or a truth table."""
    if name in _TRUTH_SCHEMAS:
        return _TRUTH_SCHEMAS[name]
    return contract_schema(name)


def arrow_table(name: str, columns: dict[str, Any]) -> pa.Table:
    """Arrow table of one contract table, columns in contract order."""
    schema = arrow_schema(name)
    if set(columns) != set(schema.names):
        raise AssertionError(f"{name}: columns {sorted(set(columns) ^ set(schema.names))}")
    arrays = [
        col
        if isinstance(col := columns[f.name], pa.Array | pa.ChunkedArray)
        else pa.array(col, type=f.type, from_pandas=True)
        for f in schema
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def epoch_seconds(ts: pd.Timestamp) -> int:
    """Whole seconds since 1970-01-01 (naive time)."""
    return int((ts - pd.Timestamp(0)) // pd.Timedelta(seconds=1))


def as_datetimes(seconds: np.ndarray) -> np.ndarray:
    """Epoch seconds as ``datetime64[us]`` (the unit of the tables)."""
    return seconds.astype("datetime64[s]").astype("datetime64[us]")
