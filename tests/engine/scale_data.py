"""A small generated maison in the partitioned layout, for the scale-out tests."""

from __future__ import annotations

from pathlib import Path

from core.data.generate import generate_maison
from core.data.partitioned import write_partitioned


def partitioned_maison(
    out: Path, n_clients: int, n_products: int, seed: int, n_buckets: int
) -> Path:
    """Products, stores, stock and associates as Parquet; clients and events in ``n_buckets``."""
    tables = generate_maison(n_clients, n_products, seed=seed).tables
    for name in ("products", "stores", "stock", "associates"):
        tables[name].to_parquet(out / f"{name}.parquet", index=False)
    write_partitioned([(tables["clients"], tables["events"])], out, n_buckets)
    return out
