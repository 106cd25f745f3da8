"""Clients and their events in chunks of whole seed blocks (the same tables whatever the chunking)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa

from core.data.generate.catalogue import Catalogue
from core.data.generate.clients import draw_clients
from core.data.generate.draws import BlockRandom
from core.data.generate.events import draw_events
from core.data.generate.parameters import SEED_BLOCK


def client_chunk(
    cat: Catalogue,
    seed: int,
    first_block: int,
    sizes: np.ndarray,
    n_clients: int,
    as_of: pd.Timestamp,
    events_per_client: float,
    rising: int,
) -> dict[str, pa.Table]:
    """Clients, their events and their true segments, for whole blocks of clients."""
    br = BlockRandom(seed, first_block, sizes)
    clients, truth, state = draw_clients(br, cat, first_block * SEED_BLOCK, n_clients, as_of)
    events = draw_events(br, cat, state, as_of, events_per_client, rising)
    return {"clients": clients, "events": events, "client_segments": truth}


def chunks(
    cat: Catalogue,
    n_clients: int,
    chunk_clients: int,
    seed: int,
    as_of: pd.Timestamp,
    events_per_client: float,
    rising: int,
) -> Iterator[tuple[int, dict[str, pa.Table]]]:
    """Yield (clients done so far, tables) for consecutive chunks of whole blocks."""
    n_blocks = math.ceil(n_clients / SEED_BLOCK)
    sizes = np.full(n_blocks, SEED_BLOCK)
    sizes[-1] = n_clients - SEED_BLOCK * (n_blocks - 1)
    per_chunk = max(1, math.ceil(chunk_clients / SEED_BLOCK))
    for b0 in range(0, n_blocks, per_chunk):
        part = sizes[b0 : b0 + per_chunk]
        out = client_chunk(cat, seed, b0, part, n_clients, as_of, events_per_client, rising)
        yield int(sizes[: b0 + len(part)].sum()), out
