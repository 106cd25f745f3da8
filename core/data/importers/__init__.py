"""Importers: turn public or house data layouts into the data contract.

Each importer reads one external layout and writes the six contract tables
(see :mod:`core.data.schema`) into a folder that :func:`core.data.dataset.load_dataset`
accepts. They print nothing; the command line adds progress.
"""

from __future__ import annotations

from core.data.importers.complete_journey import (
    complete_journey_tables,
    import_complete_journey,
)
from core.data.importers.online_retail import import_online_retail, online_retail_tables

__all__ = [
    "complete_journey_tables",
    "import_complete_journey",
    "import_online_retail",
    "online_retail_tables",
]
