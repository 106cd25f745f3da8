"""The validated :class:`Dataset`, loaded from a folder of tables or built in memory.

A load succeeds whole or raises :class:`~core.exceptions.DataValidationError`
listing every problem found (file, row, column, value, what was expected);
nothing is cached or written on the way, so a failed load changes nothing.

Validation is declared in :mod:`core.data.schema`; the files are read by
:mod:`core.data.loading`, their cells given their kind by
:mod:`core.data.coercion` and checked by :mod:`core.data.validation`. Ids map
to internal integers through :class:`~core.data.ids.IdMap`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np
import pandas as pd

from core.data.embeddings import (
    EMBEDDING_COLUMN,
    EMBEDDINGS_TABLE,
    embedding_matrix,
    find_embeddings_file,
    unit_rows,
    validate_embeddings,
)
from core.data.ids import IdMap
from core.data.loading import read_table, read_tables
from core.data.schema import ONLINE_STORE_ID, TABLE_ORDER, TABLES
from core.data.validation import fill_optional, validate_frames
from core.exceptions import DataValidationError, Problem
from core.settings import DEFAULT_MAX_FILE_MB

_T = TypeVar("_T")


@dataclass(frozen=True)
class Dataset:
    """The six validated tables of the data contract (see :mod:`core.data.schema`).

    Build one with :func:`load_dataset` (a folder of CSV/Parquet files) or
    :meth:`Dataset.from_frames` (in memory, e.g. from a notebook).
    """

    products: pd.DataFrame
    stores: pd.DataFrame
    stock: pd.DataFrame
    associates: pd.DataFrame
    clients: pd.DataFrame
    events: pd.DataFrame
    source: str = "memory"
    cutoff: pd.Timestamp | None = None
    #: The optional ``product_embeddings`` table (:mod:`core.data.embeddings`), or ``None``.
    product_embeddings: pd.DataFrame | None = None
    _derived: dict[object, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_tables(
        cls,
        tables: Mapping[str, pd.DataFrame],
        source: str = "memory",
        cutoff: pd.Timestamp | None = None,
    ) -> Dataset:
        """A Dataset of the six (already valid) ``tables``, keyed by table name.

        An optional ``product_embeddings`` entry (validated) is carried too.
        """
        return cls(
            products=tables["products"],
            stores=tables["stores"],
            stock=tables["stock"],
            associates=tables["associates"],
            clients=tables["clients"],
            events=tables["events"],
            source=source,
            cutoff=cutoff,
            product_embeddings=tables.get(EMBEDDINGS_TABLE),
        )

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The six tables, plus ``product_embeddings`` when the dataset has it."""
        out = {name: getattr(self, name) for name in TABLE_ORDER}
        if self.product_embeddings is not None:
            out[EMBEDDINGS_TABLE] = self.product_embeddings
        return out

    @cached_property
    def embeddings(self) -> np.ndarray:
        """The product embeddings aligned with ``product_ids``, rows L2-normalised.

        Returns
        -------
        ndarray, shape (n_products, d), float64
            Zero rows for products without a vector; ``d == 0`` without the table.
        """
        raw = embedding_matrix(self.product_embeddings, self.product_ids.index)
        return unit_rows(raw)

    @cached_property
    def product_ids(self) -> IdMap:
        return IdMap(self.products["product_id"], "product")

    @cached_property
    def client_ids(self) -> IdMap:
        return IdMap(self.clients["client_id"], "client")

    @cached_property
    def as_of(self) -> pd.Timestamp:
        """The data's own "now": ``cutoff`` when given, else the latest event or launch.

        A training dataset cut at a date (a temporal split) passes that date as
        ``cutoff``, so time decay and new-arrival priors are computed as a model
        fitted on that day would compute them.
        """
        if self.cutoff is not None:
            return pd.Timestamp(self.cutoff)
        candidates = [self.events["timestamp"].max(), self.products["launch_date"].max()]
        valid = [c for c in candidates if pd.notna(c)]
        return max(valid) if valid else pd.Timestamp("1970-01-01")

    @cached_property
    def fingerprint(self) -> str:
        """A short hash of every table's content (order and values)."""
        h = hashlib.sha256()
        for name in TABLE_ORDER:
            df = getattr(self, name)
            h.update(name.encode())
            h.update(",".join(map(str, df.columns)).encode())
            if len(df):
                h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
        if self.product_embeddings is not None:  # absent: the fingerprint is as before
            h.update(EMBEDDINGS_TABLE.encode())
            h.update(self.product_embeddings["product_id"].str.cat(sep=",").encode())
            for vector in self.product_embeddings[EMBEDDING_COLUMN]:
                h.update(np.ascontiguousarray(vector, dtype=np.float64).tobytes())
        return h.hexdigest()[:16]

    def derived(self, key: object, build: Callable[[], _T]) -> _T:
        """A value computed from this dataset once, then kept with it.

        The one mechanism for arrays and objects derived from the (immutable)
        tables: the catalogue arrays of the suggestion pipeline, product
        labels, the default rules. ``key`` names what is derived -- use the
        builder's class or a tuple starting with it, so keys from different
        modules cannot collide.

        Parameters
        ----------
        key : hashable
        build : callable
            Called without arguments the first time ``key`` is asked for.
        """
        if key not in self._derived:
            self._derived[key] = build()
        return cast(_T, self._derived[key])

    def product(self, product_id: str) -> pd.Series:
        """One product's row; unknown ids raise :class:`UnknownIdError`."""
        return self.products.iloc[self.product_ids.to_internal_one(product_id)]

    def client(self, client_id: str) -> pd.Series:
        """One client's row; unknown ids raise :class:`UnknownIdError`."""
        return self.clients.iloc[self.client_ids.to_internal_one(client_id)]

    def summary(self) -> dict[str, int]:
        return {name: len(df) for name, df in self.tables.items()}

    @classmethod
    def from_frames(
        cls,
        products: pd.DataFrame,
        events: pd.DataFrame,
        *,
        clients: pd.DataFrame | None = None,
        stores: pd.DataFrame | None = None,
        stock: pd.DataFrame | None = None,
        associates: pd.DataFrame | None = None,
        product_embeddings: pd.DataFrame | None = None,
        validate: bool = True,
    ) -> Dataset:
        """Build a Dataset in memory; only ``products`` and ``events`` are required.

        What is absent is derived for a data-science run: clients from the
        events (consent assumed given), a single online store, everything in
        stock there, no associates. Product attributes a dataset lacks are
        filled with empty values, which the engine ignores.

        Parameters
        ----------
        products : DataFrame
            At least ``product_id``; other product columns are optional here.
        events : DataFrame
            At least ``client_id``, ``product_id``, ``event_type``, ``timestamp``.
        product_embeddings : DataFrame, optional
            ``product_id`` and ``embedding`` (:mod:`core.data.embeddings`);
            always validated against ``products``.
        validate : bool
            Run the full contract validation (default). ``False`` trusts the
            frames (used by benchmarks at scale).

        Raises
        ------
        DataValidationError
            When a frame breaks the contract; nothing is built.
        """
        products = products.copy()
        for col, default in (("name", None), ("category", ""), ("price", 0.0)):
            if col not in products.columns and "product_id" in products.columns:
                products[col] = products["product_id"] if default is None else default
        if stores is None:
            stores = _online_store()
        if stock is None and "product_id" in products.columns:
            stock = _all_in_stock_online(products)
        if associates is None:
            associates = pd.DataFrame(columns=["user_id", "name", "role"])
        if clients is None and "client_id" in events.columns:
            clients = _clients_of(events, stores["store_id"].iloc[0])
        raw = {
            "products": products,
            "stores": stores,
            "stock": stock if stock is not None else pd.DataFrame(),
            "associates": associates,
            "clients": clients if clients is not None else pd.DataFrame(),
            "events": events,
        }
        if product_embeddings is not None:
            raw[EMBEDDINGS_TABLE] = product_embeddings
        if validate:
            return validate_tables(raw, source="memory")
        if product_embeddings is not None:  # checked even then: it is cheap, and never trusted
            raw[EMBEDDINGS_TABLE] = validate_embeddings(
                product_embeddings, products["product_id"].astype(str).str.strip()
            )
        tables = {name: fill_optional(raw[name], TABLES[name]) for name in TABLE_ORDER}
        if EMBEDDINGS_TABLE in raw:
            tables[EMBEDDINGS_TABLE] = raw[EMBEDDINGS_TABLE]
        return Dataset.from_tables(tables, "memory")


def _online_store() -> pd.DataFrame:
    """The one store of a dataset that names none: online."""
    return pd.DataFrame(
        {
            "store_id": [ONLINE_STORE_ID],
            "name": ["Online"],
            "city": [""],
            "country": [""],
            "climate": ["temperate"],
            "online": [True],
        }
    )


def _all_in_stock_online(products: pd.DataFrame) -> pd.DataFrame:
    """Every product in stock online (1,000 units), for a dataset without stock."""
    return pd.DataFrame(
        {
            "product_id": products["product_id"].astype(str),
            "store_id": ONLINE_STORE_ID,
            "quantity": 1_000,
        }
    )


def _clients_of(events: pd.DataFrame, home_store_id: object) -> pd.DataFrame:
    """A client per client id of ``events``, consenting to personalisation (not contact)."""
    ids = pd.unique(events["client_id"].astype(str))
    return pd.DataFrame(
        {
            "client_id": ids,
            "first_name": "",
            "last_name": ids,
            "home_store_id": home_store_id,
            "tier": "client",
            "consent_personalization": True,
            "consent_contact": False,
        }
    )


def validate_tables(
    raw: Mapping[str, pd.DataFrame],
    *,
    source: str = "memory",
    files: Mapping[str, str] | None = None,
) -> Dataset:
    """Validate six raw tables against the contract and build a Dataset.

    Parameters
    ----------
    raw : mapping of str to DataFrame
        One frame per table of :data:`core.data.schema.TABLE_ORDER`.
    source : str
        Where the tables came from (kept on the Dataset).
    files : mapping of str to str, optional
        The file name to cite in problems, per table (default: the table name).

    Returns
    -------
    Dataset

    Raises
    ------
    DataValidationError
        Listing every problem in every table; nothing is returned.
    """
    files = files or {name: name for name in TABLE_ORDER}
    absent = [name for name in TABLE_ORDER if name not in raw]
    valid, problems = validate_frames(raw, files)
    problems = [
        Problem(files.get(name, name), None, None, None, f"a {name} table") for name in absent
    ] + problems
    if EMBEDDINGS_TABLE in raw and "products" in valid:
        embeddings = _checked_embeddings(
            raw[EMBEDDINGS_TABLE], valid, files.get(EMBEDDINGS_TABLE, EMBEDDINGS_TABLE), problems
        )
        if embeddings is not None:
            valid[EMBEDDINGS_TABLE] = embeddings
    if problems:
        raise DataValidationError(problems)
    return Dataset.from_tables(valid, source)


def load_dataset(folder: str | Path, *, max_file_mb: float = DEFAULT_MAX_FILE_MB) -> Dataset:
    """Read and validate the six tables in ``folder``.

    Nothing in ``folder`` is written or changed, and nothing is cached: a
    load either returns a complete Dataset or raises.

    Parameters
    ----------
    folder : path
        Holds ``products``, ``stores``, ``stock``, ``associates``, ``clients``
        and ``events``, each as ``.csv`` (UTF-8) or ``.parquet``.
    max_file_mb : float
        Refuse larger files with a clear message instead of running out of memory.

    Returns
    -------
    Dataset

    Raises
    ------
    DataValidationError
        Every problem found in every file (missing file or column, wrong
        type, dangling foreign key, duplicate key, unknown enum value, bad
        date, negative price, empty file, undecodable bytes, ...).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataValidationError(
            [Problem(str(folder), None, None, None, "a folder holding the data tables")]
        )
    raw, files, problems = read_tables(folder, max_file_mb)
    valid, found = validate_frames(raw, files)
    problems += found
    embeddings = read_embeddings(folder, valid, max_file_mb, problems)
    if problems:
        raise DataValidationError(problems)
    if embeddings is not None:
        valid[EMBEDDINGS_TABLE] = embeddings
    return Dataset.from_tables(valid, str(folder))


def read_embeddings(
    folder: Path, valid: Mapping[str, pd.DataFrame], max_mb: float, problems: list[Problem]
) -> pd.DataFrame | None:
    """The folder's optional ``product_embeddings`` table, validated; its problems join ``problems``."""
    path = find_embeddings_file(folder)
    if path is None:
        return None
    df, found = read_table(path, max_mb)
    problems += found
    if df is None or "products" not in valid:
        return None
    return _checked_embeddings(df, valid, path.name, problems)


def _checked_embeddings(
    df: pd.DataFrame, valid: Mapping[str, pd.DataFrame], file: str, problems: list[Problem]
) -> pd.DataFrame | None:
    """``df`` validated against the valid products, or ``None`` with its problems added."""
    try:
        return validate_embeddings(df, valid["products"]["product_id"], file)
    except DataValidationError as err:
        problems += err.problems
        return None
