"""Importers: turn public or house data layouts into the data contract.

Each importer reads one external layout and writes the six contract tables
(see :mod:`core.data.schema`) into a folder that :func:`core.data.dataset.load_dataset`
accepts. They print nothing; the command line adds progress.

What importers share lives in :mod:`core.data.importers.common`: events,
clients (tier by net spend) and stock derived from cleaned transaction lines,
the contract columns, and a folder written all or nothing. CSV sources are
read with :func:`core.data.reading.read_csv_strict`.
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
