"""The benchmark's data sets, each through the product's own importer or generator.

- ``maison``: :func:`core.data.generate.generate_maison` (seeded), validated
  by :meth:`~core.data.dataset.Dataset.from_frames`;
- ``retail``: the UCI Online Retail sample through
  :func:`core.data.importers.import_online_retail`;
- ``journey``: the Complete Journey sample through
  :func:`core.data.importers.import_complete_journey` (no consent assumed:
  the evaluation scores every client whatever their consent).

Imported tables are written to a temporary folder and read back with
:func:`core.data.dataset.load_dataset`, as the application would.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from core.data.dataset import Dataset, load_dataset

SHARED = Path("/work/shared/datasets")
DEFAULT_RETAIL = SHARED / "online-retail" / "online_retail_sample.csv"
DEFAULT_JOURNEY_TRANSACTIONS = SHARED / "completejourney" / "transactions_sample.csv"
DEFAULT_JOURNEY_PRODUCTS = SHARED / "completejourney" / "products.csv"
DATASETS: tuple[str, ...] = ("maison", "retail", "journey")


@dataclass(frozen=True)
class Sources:
    """Where each data set comes from."""

    retail: Path = DEFAULT_RETAIL
    journey_transactions: Path = DEFAULT_JOURNEY_TRANSACTIONS
    journey_products: Path = DEFAULT_JOURNEY_PRODUCTS
    maison_clients: int = 5000
    maison_products: int = 1200
    maison_seed: int = 7


def load(name: str, sources: Sources) -> tuple[Dataset, dict[str, int | str]]:
    """The data set ``name`` (one of :data:`DATASETS`) and what its import reported."""
    if name == "maison":
        from core.data.generate import generate_maison

        maison = generate_maison(
            n_clients=sources.maison_clients,
            n_products=sources.maison_products,
            seed=sources.maison_seed,
        )
        ds = Dataset.from_frames(**maison.tables)
        return ds, {"source": f"generate_maison(seed={sources.maison_seed})", **ds.summary()}
    with tempfile.TemporaryDirectory(prefix="atelier-quality-") as tmp:
        out = Path(tmp) / name
        if name == "retail":
            from core.data.importers import import_online_retail

            counts = import_online_retail(sources.retail, out)
            source = str(sources.retail)
        elif name == "journey":
            from core.data.importers import import_complete_journey

            counts = import_complete_journey(
                sources.journey_transactions, sources.journey_products, out
            )
            source = f"{sources.journey_transactions} + {sources.journey_products}"
        else:
            raise ValueError(f"unknown data set {name!r}; choose among {', '.join(DATASETS)}")
        ds = load_dataset(out)
    return ds, {"source": source, **counts}
