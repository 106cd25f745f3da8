"""The contract's tables as Arrow: the type each column kind takes in Parquet.

List columns stay ``|``-separated text (as in CSV); datetimes are naive
microseconds. The generator builds its tables with this schema and the
partitioned layout (:mod:`core.data.partitioned`) stores them with it.
"""

from __future__ import annotations

import pyarrow as pa

from core.data.schema import TABLES, Kind

ARROW_TYPES: dict[Kind, pa.DataType] = {
    "str": pa.string(),
    "list": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "datetime": pa.timestamp("us"),
}


def contract_schema(name: str) -> pa.Schema:
    """The Arrow schema of a contract table: every column of :mod:`core.data.schema`, in order.

    Parameters
    ----------
    name : str
        A table of :data:`core.data.schema.TABLES`.

    Returns
    -------
    pyarrow.Schema

    Raises
    ------
    KeyError
        ``name`` is not a contract table.
    """
    return pa.schema([(c.name, ARROW_TYPES[c.kind]) for c in TABLES[name].columns])
