"""A generated maison in memory."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

from core.data.embeddings import EMBEDDINGS_TABLE
from core.data.generate.catalogue import build_catalogue, next_steps_table
from core.data.generate.chunks import chunks
from core.data.generate.embeddings import plant_embeddings
from core.data.generate.parameters import (
    DEFAULT_AS_OF,
    DEFAULT_N_CLIENTS,
    DEFAULT_N_PRODUCTS,
    Progress,
    check_as_of,
    check_events_per_client,
    check_int,
    check_rising,
    no_progress,
)
from core.data.generate.segments import segments_table
from core.data.schema import TABLES


@dataclass(frozen=True)
class Maison:
    """A generated maison.

    Attributes
    ----------
    tables : dict of str to DataFrame
        ``products``, ``stores``, ``stock``, ``associates``, ``clients``,
        ``events``, with every column of :mod:`core.data.schema`.
    truth : dict of str to DataFrame
        ``client_segments`` (client_id, segment, weight; weights of a client
        sum to 1), ``product_segments`` (product_id, segment) and
        ``segments`` (one row per segment: its palette, and ``rising``) and
        ``next_steps`` (product_id, next_product_id: the planted progression
        from each entry piece to its signature piece).
    as_of : Timestamp
        Reference date (midnight); every event is strictly before it.
    """

    tables: dict[str, pd.DataFrame]
    truth: dict[str, pd.DataFrame]
    as_of: pd.Timestamp


def generate_maison(
    n_clients: int = DEFAULT_N_CLIENTS,
    n_products: int = DEFAULT_N_PRODUCTS,
    *,
    seed: int = 7,
    as_of: pd.Timestamp | str = DEFAULT_AS_OF,
    events_per_client: float | None = None,
    rising_segment: str | None = None,
    progress: Progress | None = None,
    embeddings: bool = False,
) -> Maison:
    """Generate a maison in memory.

    Parameters
    ----------
    n_clients : int
        Number of clients (at least 10); about 5% are cold (declared
        preferences, no events).
    n_products : int
        Number of products (at least 50); 4% are new arrivals launched in the
        30 days before ``as_of``.
    seed : int
        Everything is a function of the seed; never of the clock.
    as_of : date-like
        Reference date (tz-naive; its date is used). Events fall in the two
        years before it, strictly before it.
    events_per_client : float, optional
        Mean number of events per client, cold clients included (default 30,
        about 150,000 events for 5,000 clients).
    rising_segment : str, optional
        A segment of :data:`SEGMENTS` whose share of demand ramps up over the
        last six weeks (for momentum tests).
    progress : callable, optional
        Called as ``progress(stage, fraction)``.
    embeddings : bool
        Add the optional ``product_embeddings`` table to ``tables`` (planted
        from colour, material and subcategory; the other tables are the same
        either way). Off in memory, so existing callers see six tables;
        :func:`~core.data.generate.write_maison` writes it by default.

    Returns
    -------
    Maison
        The six contract tables as DataFrames, and the planted truth.

    Raises
    ------
    ValueError
        A parameter is out of range; the message names it.

    Longer than 60 lines for this documentation only; the body is 25 lines.
    """
    n_clients = check_int("n_clients", n_clients)
    n_products = check_int("n_products", n_products)
    seed = check_int("seed", seed)
    epc = check_events_per_client(events_per_client)
    day = check_as_of(as_of)
    rising = check_rising(rising_segment)
    progress = progress or no_progress
    progress("catalogue", 0.0)
    cat = build_catalogue(n_products, seed, day)
    progress("clients", 0.0)
    parts: dict[str, list[pa.Table]] = {"clients": [], "events": [], "client_segments": []}
    for done, chunk in chunks(cat, n_clients, n_clients, seed, day, epc, rising):
        for name, table in chunk.items():
            parts[name].append(table)
        progress("clients", done / n_clients)
    tables = {name: t.to_pandas() for name, t in cat.tables.items()}
    for name in ("clients", "events"):
        tables[name] = pa.concat_tables(parts[name]).to_pandas()
    truth = {
        "client_segments": pa.concat_tables(parts["client_segments"]).to_pandas(),
        "product_segments": cat.product_segments.to_pandas(),
        "segments": segments_table(rising),
        "next_steps": next_steps_table(cat),
    }
    progress("done", 1.0)
    out = {n: tables[n] for n in TABLES}
    if embeddings:
        out[EMBEDDINGS_TABLE] = plant_embeddings(tables["products"], seed)
    return Maison(tables=out, truth=truth, as_of=day)
