"""Load a folder of tables into a validated :class:`Dataset`.

A load succeeds whole or raises :class:`~core.exceptions.DataValidationError`
listing every problem found (file, row, column, value, what was expected);
nothing is cached or written on the way, so a failed load changes nothing.

Validation is declared in :mod:`core.schema` and carried out by pandera.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from core.exceptions import DataValidationError, Problem, UnknownIdError
from core.schema import (
    ONLINE_STORE_ID,
    TABLE_ORDER,
    TABLES,
    ColumnSpec,
    TableSpec,
)

SUFFIXES = (".csv", ".parquet", ".pq")
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}
_MAX_VALUE_CHARS = 60
DEFAULT_MAX_FILE_MB = 512.0


class IdMap:
    """External ids at the edge, contiguous integers inside (both ways).

    Parameters
    ----------
    external_ids : iterable of str
        Unique external ids; their order defines the internal index.
    kind : str
        What the ids are ("client", "product"), used in error messages.
    """

    def __init__(self, external_ids: Iterable[Any], kind: str = "id") -> None:
        self.kind = kind
        self.index = pd.Index(pd.Series(list(external_ids), dtype=object).astype(str))
        if not self.index.is_unique:
            raise ValueError(f"{kind} ids must be unique")

    def __len__(self) -> int:
        return len(self.index)

    def __contains__(self, external_id: object) -> bool:
        return str(external_id) in self.index

    @property
    def external_ids(self) -> np.ndarray:
        return self.index.to_numpy()

    def to_internal(self, external_ids: Any, *, strict: bool = True) -> np.ndarray:
        """Map external ids to internal ints; unknown ids raise (or give -1)."""
        scalar = isinstance(external_ids, str) or np.isscalar(external_ids)
        ids = pd.Index([str(external_ids)] if scalar else [str(x) for x in external_ids])
        idx = self.index.get_indexer(ids)
        if strict and (idx < 0).any():
            missing = [str(x) for x in ids[idx < 0][:5]]
            raise UnknownIdError(
                f"unknown {self.kind} id{'s' if len(missing) > 1 else ''}: "
                f"{', '.join(repr(m) for m in missing)}"
            )
        return idx

    def to_internal_one(self, external_id: Any) -> int:
        return int(self.to_internal(external_id)[0])

    def to_external(self, internal_ids: Any) -> np.ndarray:
        arr = np.asarray(internal_ids, dtype=np.int64)
        if arr.size and (arr.min() < 0 or arr.max() >= len(self.index)):
            raise IndexError(f"internal {self.kind} index out of range")
        return self.index.to_numpy()[arr]


@dataclass(frozen=True)
class Dataset:
    """The six validated tables of the data contract (see :mod:`core.schema`).

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
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        return {name: getattr(self, name) for name in TABLE_ORDER}

    @property
    def product_ids(self) -> IdMap:
        if "product_ids" not in self._cache:
            self._cache["product_ids"] = IdMap(self.products["product_id"], "product")
        return self._cache["product_ids"]  # type: ignore[no-any-return]

    @property
    def client_ids(self) -> IdMap:
        if "client_ids" not in self._cache:
            self._cache["client_ids"] = IdMap(self.clients["client_id"], "client")
        return self._cache["client_ids"]  # type: ignore[no-any-return]

    @property
    def as_of(self) -> pd.Timestamp:
        """The data's own "now": the latest event (or the latest launch)."""
        if "as_of" not in self._cache:
            candidates = [self.events["timestamp"].max(), self.products["launch_date"].max()]
            valid = [c for c in candidates if pd.notna(c)]
            self._cache["as_of"] = max(valid) if valid else pd.Timestamp("1970-01-01")
        return self._cache["as_of"]  # type: ignore[no-any-return]

    @property
    def fingerprint(self) -> str:
        """A short hash of every table's content (order and values)."""
        if "fingerprint" not in self._cache:
            h = hashlib.sha256()
            for name in TABLE_ORDER:
                df = getattr(self, name)
                h.update(name.encode())
                h.update(",".join(map(str, df.columns)).encode())
                if len(df):
                    h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
            self._cache["fingerprint"] = h.hexdigest()[:16]
        return self._cache["fingerprint"]  # type: ignore[no-any-return]

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
            stores = pd.DataFrame(
                {
                    "store_id": [ONLINE_STORE_ID],
                    "name": ["Online"],
                    "city": [""],
                    "country": [""],
                    "climate": ["temperate"],
                    "online": [True],
                }
            )
        if stock is None and "product_id" in products.columns:
            stock = pd.DataFrame(
                {
                    "product_id": products["product_id"].astype(str),
                    "store_id": ONLINE_STORE_ID,
                    "quantity": 1_000,
                }
            )
        if associates is None:
            associates = pd.DataFrame(columns=["user_id", "name", "role"])
        if clients is None and "client_id" in events.columns:
            ids = pd.unique(events["client_id"].astype(str))
            clients = pd.DataFrame(
                {
                    "client_id": ids,
                    "first_name": "",
                    "last_name": ids,
                    "home_store_id": stores["store_id"].iloc[0],
                    "tier": "client",
                    "consent_personalization": True,
                    "consent_contact": False,
                }
            )
        raw = {
            "products": products,
            "stores": stores,
            "stock": stock if stock is not None else pd.DataFrame(),
            "associates": associates,
            "clients": clients if clients is not None else pd.DataFrame(),
            "events": events,
        }
        if validate:
            return validate_tables(raw, source="memory")
        return cls(
            **{name: _fill_optional(raw[name], TABLES[name]) for name in TABLE_ORDER},
            source="memory",
        )


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 1] + "…"


def _fill_optional(df: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    df = df.copy()
    for col in spec.columns:
        if col.name not in df.columns:
            df[col.name] = col.default
    return df[spec.column_names + [c for c in df.columns if c not in spec.column_names]]


def _expected(col: ColumnSpec) -> str:
    kinds = {
        "str": "text",
        "int": "a whole number",
        "float": "a number",
        "bool": "true or false",
        "datetime": "a date or timestamp (e.g. 2026-03-01 or 2026-03-01T14:30:00)",
        "list": "'|'-separated text",
    }
    text = kinds[col.kind]
    if col.min is not None and col.max is not None:
        text += f" between {col.min:g} and {col.max:g}"
    elif col.min is not None:
        text += f" >= {col.min:g}"
    return text


def _pre_parse(df: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """Give text columns their kind before pandera checks them.

    Booleans are mapped from their usual spellings; anything else is left
    as text so that pandera reports it (pandas would call "maybe" true).
    """
    df = df.copy()
    for col in spec.columns:
        if col.name not in df.columns:
            continue
        s = df[col.name]
        if col.kind == "bool" and not pd.api.types.is_bool_dtype(s):
            lowered = s.astype("string").str.strip().str.lower()
            mapped = lowered.map(lambda v: True if v in _TRUE else False if v in _FALSE else v)
            df[col.name] = mapped.astype(object)
        elif col.kind in ("str", "list"):
            # Empty cells of optional text columns mean "nothing", not NaN.
            s = s.astype(object)
            if col.default is not None and not col.nullable:
                s = s.where(s.notna(), col.default)
            df[col.name] = s.map(lambda v: v if v is None or isinstance(v, float) else str(v))
    return df


def _column_schema(col: ColumnSpec, fk_values: pd.Index | None) -> pa.Column:
    checks: list[pa.Check] = []
    if col.kind == "bool":
        checks.append(
            pa.Check(
                lambda s: s.map(lambda v: isinstance(v, bool | np.bool_)),
                element_wise=False,
                error="true or false",
            )
        )
        dtype: Any = None
    elif col.kind == "int":
        dtype = "int64"
    elif col.kind == "float":
        dtype = "float64"
    elif col.kind == "datetime":
        dtype = "datetime64[ns]"
    else:
        dtype = None
        checks.append(
            pa.Check(
                lambda s: s.map(lambda v: isinstance(v, str)),
                ignore_na=True,
                error="text",
            )
        )
    if col.enum is not None:
        checks.append(pa.Check.isin(list(col.enum), error=f"one of {', '.join(col.enum)}"))
    if col.min is not None:
        checks.append(pa.Check.ge(col.min, error=_expected(col)))
    if col.max is not None:
        checks.append(pa.Check.le(col.max, error=_expected(col)))
    if col.kind in ("float",):
        checks.append(
            pa.Check(lambda s: np.isfinite(s), ignore_na=True, error="a finite number")
        )
    if fk_values is not None:
        checks.append(
            pa.Check(
                lambda s, fk=fk_values: s.isin(fk),
                ignore_na=True,
                error=f"an existing id in {{fk_table}}",
            )
        )
    return pa.Column(
        dtype,
        checks=checks,
        nullable=col.nullable or col.kind in ("str", "list") and not col.required,
        unique=col.unique,
        coerce=dtype is not None,
        required=True,
    )


def _table_schema(spec: TableSpec, parents: Mapping[str, pd.DataFrame]) -> pa.DataFrameSchema:
    fks = {fk.column: fk for fk in spec.foreign_keys}
    columns = {}
    for col in spec.columns:
        fk = fks.get(col.name)
        fk_values = None
        if fk is not None and fk.table in parents:
            fk_values = pd.Index(parents[fk.table][fk.table_column].astype(str))
        column = _column_schema(col, fk_values)
        if fk is not None:
            for check in column.checks:
                if check.error and "{fk_table}" in check.error:
                    check.error = f"an existing {fk.table_column} in {fk.table}"
        columns[col.name] = column
    return pa.DataFrameSchema(
        columns,
        unique=list(spec.key) if len(spec.key) > 1 else None,
        strict=False,
    )


def _problems_from(err: SchemaErrors, spec: TableSpec, file: str) -> list[Problem]:
    fc = err.failure_cases
    problems: list[Problem] = []
    seen: set[tuple[Any, Any]] = set()
    for rec in fc.to_dict("records"):
        column = rec.get("column")
        index = rec.get("index")
        check = str(rec.get("check"))
        value = rec.get("failure_case")
        if index is None or (isinstance(index, float) and np.isnan(index)):
            if isinstance(value, str) and value.startswith("TypeError"):
                continue  # a consequence of a coercion failure already reported
            if check.startswith("column_in_dataframe"):
                continue  # reported as a missing column before validation
            problems.append(Problem(file, None, column, None, check))
            continue
        key = (column, index)
        if key in seen:
            continue
        seen.add(key)
        row = int(index) + 1
        col_spec = spec.column(column) if column in spec.column_names else None
        if check.startswith(("coerce_dtype", "dtype")):
            expected = _expected(col_spec) if col_spec else check
        elif check == "not_nullable":
            expected = "a value (this column may not be empty)"
        elif check == "field_uniqueness" or check.startswith("multiple_fields_uniqueness"):
            expected = f"a unique {'/'.join(spec.key)} (this one appears more than once)"
        else:
            expected = check
        shown = None if value is None or (isinstance(value, float) and np.isnan(value)) else value
        problems.append(
            Problem(file, row, column, None if shown is None else _short(shown), expected)
        )
    problems.sort(key=lambda p: (p.row or 0, p.column or ""))
    return problems


def _validate_table(
    name: str, df: pd.DataFrame, file: str, parents: Mapping[str, pd.DataFrame]
) -> tuple[pd.DataFrame | None, list[Problem]]:
    spec = TABLES[name]
    missing = [c for c in spec.required_columns if c not in df.columns]
    if missing:
        return None, [
            Problem(
                file,
                None,
                c,
                None,
                f"a column named '{c}' (required; found: {', '.join(map(str, df.columns)) or 'none'})",
            )
            for c in missing
        ]
    if len(df) < spec.min_rows:
        return None, [
            Problem(file, None, None, None, f"at least {spec.min_rows} data row(s) in {name}")
        ]
    df = _fill_optional(df.reset_index(drop=True), spec)
    df = _pre_parse(df, spec)
    try:
        out = _table_schema(spec, parents).validate(df, lazy=True)
    except SchemaErrors as err:
        return None, _problems_from(err, spec, file)
    for col in spec.columns:
        if col.kind == "bool":
            out[col.name] = out[col.name].astype(bool)
        elif col.kind in ("str", "list") and not col.nullable:
            out[col.name] = out[col.name].fillna("").astype(str)
        elif col.kind in ("str",) and col.nullable:
            out[col.name] = out[col.name].astype(object).where(out[col.name].notna(), None)
    return out, []


def validate_tables(raw: Mapping[str, pd.DataFrame], *, source: str = "memory",
                    files: Mapping[str, str] | None = None) -> Dataset:
    """Validate six raw tables against the contract and build a Dataset.

    Raises
    ------
    DataValidationError
        Listing every problem in every table; nothing is returned.
    """
    files = files or {name: name for name in TABLE_ORDER}
    problems: list[Problem] = []
    valid: dict[str, pd.DataFrame] = {}
    # Foreign keys are checked against the parent's ids even when the parent
    # itself has problems, so that one load reports everything.
    parents: dict[str, pd.DataFrame] = {}
    for name in TABLE_ORDER:
        df, found = _validate_table(name, raw[name], files[name], parents)
        problems += found
        if df is not None:
            valid[name] = df
            parents[name] = df
        elif all(k in raw[name].columns for k in TABLES[name].key):
            parents[name] = raw[name]
    if problems:
        raise DataValidationError(problems)
    return Dataset(**valid, source=source)


def _read_table(path: Path, max_mb: float) -> tuple[pd.DataFrame | None, list[Problem]]:
    file = path.name
    size_mb = path.stat().st_size / 2**20
    if size_mb > max_mb:
        return None, [
            Problem(
                file,
                None,
                None,
                f"{size_mb:.0f} MB",
                f"a file of at most {max_mb:g} MB (set ATELIER_MAX_UPLOAD_MB to allow more)",
            )
        ]
    if path.stat().st_size == 0:
        return None, [Problem(file, None, None, None, "a header row (the file is empty)")]
    try:
        if path.suffix == ".csv":
            with path.open("rb") as fh:
                head = fh.read(8192)
            if b"\x00" in head:
                return None, [
                    Problem(file, None, None, None, "CSV text (the file holds binary data)")
                ]
            df = pd.read_csv(
                path,
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                encoding="utf-8",
                encoding_errors="strict",
            )
        else:
            df = pd.read_parquet(path)
    except UnicodeDecodeError as exc:
        return None, [
            Problem(file, None, None, None, f"UTF-8 text (undecodable byte at offset {exc.start})")
        ]
    except pd.errors.EmptyDataError:
        return None, [Problem(file, None, None, None, "a header row (the file is empty)")]
    except (pd.errors.ParserError, ValueError, OSError) as exc:
        what = "a readable CSV file" if path.suffix == ".csv" else "a readable Parquet file"
        return None, [Problem(file, None, None, _short(exc), what)]
    df.columns = [str(c).strip() for c in df.columns]
    return df, []


def find_table_files(folder: Path) -> dict[str, Path]:
    """The file of each table in ``folder`` (``products.csv`` or ``products.parquet``)."""
    found: dict[str, Path] = {}
    for name in TABLE_ORDER:
        candidates = [folder / f"{name}{suffix}" for suffix in SUFFIXES]
        existing = [p for p in candidates if p.is_file()]
        if existing:
            found[name] = existing[0]
    return found


def load_dataset(folder: str | Path, *, max_file_mb: float = DEFAULT_MAX_FILE_MB) -> Dataset:
    """Read and validate the six tables in ``folder``.

    Parameters
    ----------
    folder : path
        Holds ``products``, ``stores``, ``stock``, ``associates``, ``clients``
        and ``events``, each as ``.csv`` or ``.parquet``.
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
    paths = find_table_files(folder)
    problems: list[Problem] = []
    raw: dict[str, pd.DataFrame] = {}
    for name in TABLE_ORDER:
        if name not in paths:
            problems.append(
                Problem(f"{name}.csv", None, None, None, f"a {name}.csv or {name}.parquet file")
            )
            continue
        df, found = _read_table(paths[name], max_file_mb)
        problems += found
        if df is not None:
            raw[name] = df
    if problems:
        raise DataValidationError(problems)
    return validate_tables(
        raw, source=str(folder), files={n: paths[n].name for n in TABLE_ORDER}
    )
