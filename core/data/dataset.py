"""Load a folder of tables into a validated :class:`Dataset`.

A load succeeds whole or raises :class:`~core.exceptions.DataValidationError`
listing every problem found (file, row, column, value, what was expected);
nothing is cached or written on the way, so a failed load changes nothing.

Validation is declared in :mod:`core.data.schema` and carried out by pandera.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from core.data.schema import (
    ONLINE_STORE_ID,
    TABLE_ORDER,
    TABLES,
    ColumnSpec,
    TableSpec,
)
from core.exceptions import DataValidationError, Problem, UnknownIdError

SUFFIXES = (".csv", ".parquet", ".pq")
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}
_MAX_VALUE_CHARS = 60
DEFAULT_MAX_FILE_MB = 512.0
_T = TypeVar("_T")


_POSITION_DICT_LIMIT = 200_000


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
        # Converted once: to_external runs on every recommend call.
        self._external = self.index.to_numpy(dtype=object)
        self._external.flags.writeable = False
        self._positions: dict[str, int] | None = None

    def position_dict(self) -> dict[str, int] | None:
        """``{external id: internal index}``, built on first use, for up to 200,000 ids.

        A request's few look-ups go faster through a dict than through the
        pandas index; above that size the dict's memory is not worth it (None).
        """
        if self._positions is None and len(self.index) <= _POSITION_DICT_LIMIT:
            self._positions = dict(
                zip(self._external.tolist(), range(len(self.index)), strict=True)
            )
        return self._positions

    def __len__(self) -> int:
        return len(self.index)

    def __contains__(self, external_id: object) -> bool:
        return str(external_id) in self.index

    @property
    def external_ids(self) -> np.ndarray:
        return self._external

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
        return self._external[arr]


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
    _derived: dict[object, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        return {name: getattr(self, name) for name in TABLE_ORDER}

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
        return _build(
            {name: _fill_optional(raw[name], TABLES[name]) for name in TABLE_ORDER}, "memory"
        )


def _build(tables: Mapping[str, pd.DataFrame], source: str) -> Dataset:
    """A Dataset of the six ``tables``."""
    return Dataset(
        products=tables["products"],
        stores=tables["stores"],
        stock=tables["stock"],
        associates=tables["associates"],
        clients=tables["clients"],
        events=tables["events"],
        source=source,
    )


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 1] + "…"


def _is_empty(value: Any) -> bool:
    """True for the ways a single cell can be empty (None, NaN, NA, NaT)."""
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


def _stripped_text(s: pd.Series) -> pd.Series:
    """Cells as stripped text (pandas string dtype); missing cells stay missing."""
    return s.astype("string").str.strip()


def _blank(s: pd.Series, *, strip: bool) -> pd.Series:
    """Which cells are empty: missing, or empty text (or only spaces, with ``strip``)."""
    if not (pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s)):
        return s.isna()
    text = _stripped_text(s) if strip else s.astype("string")
    return (text.isna() | (text == "")).astype(bool)


def _as_text(s: pd.Series, empty: str | None, *, empty_is_none: bool) -> pd.Series:
    """Cells as ``str`` in an object Series; missing cells become ``empty``.

    With ``empty_is_none``, empty text also becomes ``None``. Text is
    otherwise kept exactly as given (no stripping).
    """
    values = s.to_numpy(dtype=object, copy=True)
    missing = pd.isna(values)
    if pd.api.types.infer_dtype(values[~missing], skipna=True) not in ("string", "empty"):
        # Non-text cells (numbers from Parquet, say) become their text.
        values = np.array([v if isinstance(v, str) else str(v) for v in values], dtype=object)
    values[missing] = empty
    if empty_is_none:
        values[values == ""] = None
    return pd.Series(values, index=s.index, dtype=object)


def _is_identifier(spec: TableSpec, col: ColumnSpec) -> bool:
    """Whether ``col`` holds ids (a key, a unique column or a foreign key)."""
    return (
        col.unique or col.name in spec.key or any(fk.column == col.name for fk in spec.foreign_keys)
    )


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
    elif col.max is not None:
        text += f" <= {col.max:g}"
    return text


def _rows(mask: pd.Series | np.ndarray) -> np.ndarray:
    """0-based positions where ``mask`` is true."""
    if isinstance(mask, pd.Series):
        mask = mask.to_numpy(dtype=bool, na_value=False)
    return np.flatnonzero(mask)


def _parse_numbers(s: pd.Series, col: ColumnSpec, file: str) -> tuple[pd.Series, list[Problem]]:
    """Text or numbers -> float64 (int64 for whole-number columns).

    Cells that are not finite numbers, not whole where whole numbers are
    expected, or outside the column's range are reported and left empty, so
    that nothing out of range reaches an int64 cast.
    """
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        given = s.notna().to_numpy(dtype=bool)
        values = s.to_numpy(dtype="float64", na_value=np.nan, copy=True)
    else:
        text = _stripped_text(s)
        given = (text.notna() & (text != "")).to_numpy(dtype=bool, na_value=False)
        parsed = pd.to_numeric(text.where(given), errors="coerce")
        values = parsed.to_numpy(dtype="float64", na_value=np.nan, copy=True)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(values)
        if col.min is not None:
            ok &= values >= col.min
        if col.max is not None:
            ok &= values <= col.max
        if col.kind == "int":
            ok &= np.mod(values, 1) == 0
    bad = given & ~ok
    problems = [
        Problem(file, int(i) + 1, col.name, _short(s.iloc[i]), _expected(col)) for i in _rows(bad)
    ]
    values[~(given & ok)] = np.nan
    num = pd.Series(values, index=s.index, dtype="float64")
    if col.kind == "int" and not np.isnan(values).any():
        num = num.astype("int64")
    return num, problems


_FIRST_NS = pd.Timestamp("1678-01-01")
_LAST_NS = pd.Timestamp("2261-12-31")


def _parse_dates(s: pd.Series, col: ColumnSpec, file: str) -> tuple[pd.Series, list[Problem]]:
    """ISO 8601 text or datetimes -> naive datetime64[ns].

    Times with an offset are converted to UTC; naive ones are kept as they
    are. Each cell is parsed on its own, so a column may mix dates and
    timestamps.
    """
    if pd.api.types.is_datetime64_any_dtype(s):
        given = s.notna()
        parsed = s
        if getattr(s.dt, "tz", None) is not None:
            parsed = s.dt.tz_convert("UTC").dt.tz_localize(None)
    else:
        text = _stripped_text(s)
        given = (text.notna() & (text != "")).fillna(False).astype(bool)
        parsed = pd.to_datetime(
            text.where(given).astype(object), format="ISO8601", errors="coerce", utc=True
        ).dt.tz_localize(None)
    unparsed = given & parsed.isna()
    out_of_range = given & parsed.notna() & ((parsed < _FIRST_NS) | (parsed > _LAST_NS))
    problems = [
        Problem(file, int(i) + 1, col.name, _short(s.iloc[i]), _expected(col))
        for i in _rows(unparsed)
    ] + [
        Problem(file, int(i) + 1, col.name, _short(s.iloc[i]), "a date between 1678 and 2261")
        for i in _rows(out_of_range)
    ]
    parsed = parsed.where(given & ~unparsed & ~out_of_range)
    return parsed.astype("datetime64[ns]"), problems


def _parse_bools(s: pd.Series) -> pd.Series:
    """Usual spellings of true and false -> bool; anything else is kept for pandera to report.

    pandas itself would call "maybe" true.
    """
    if pd.api.types.is_bool_dtype(s):
        return s
    lowered = _stripped_text(s).str.lower()
    mapped = lowered.map({**dict.fromkeys(_TRUE, True), **dict.fromkeys(_FALSE, False)})
    unknown = mapped.isna().to_numpy(dtype=bool)
    values = mapped.astype(object).to_numpy(copy=True)  # unknown cells are replaced below
    values[unknown] = s.to_numpy(dtype=object)[unknown]
    return pd.Series(values, index=s.index, dtype=object)


def _pre_parse(df: pd.DataFrame, spec: TableSpec, file: str) -> tuple[pd.DataFrame, list[Problem]]:
    """Give text columns their kind before pandera checks them.

    Returns the frame and the cells that could not be parsed (those cells
    are left empty, and reported once). Empty cells of optional columns
    take the column's default; empty cells of text columns that are
    neither ids nor enumerations are empty text.
    """
    df = df.copy()
    problems: list[Problem] = []
    for col in spec.columns:
        if col.name not in df.columns:
            continue
        s = df[col.name]
        if not col.required and col.default is not None and not col.nullable:
            blank = _blank(s, strip=col.kind not in ("str", "list"))
            if blank.any():
                s = s.astype(object).where(~blank, col.default)
        if col.kind == "bool":
            s = _parse_bools(s)
        elif col.kind in ("int", "float"):
            s, found = _parse_numbers(s, col, file)
            problems += found
        elif col.kind == "datetime":
            s, found = _parse_dates(s, col, file)
            problems += found
        elif col.nullable:
            s = _as_text(s, None, empty_is_none=True)  # an empty id means "none"
        elif not _is_identifier(spec, col) and col.enum is None:
            s = _as_text(s, "", empty_is_none=False)
        else:
            s = _as_text(s, None, empty_is_none=False)  # ids may not be empty; pandera says so
        df[col.name] = s
    return df, problems


def _all_or_each(test: Callable[[Any], bool], inferred: tuple[str, ...]) -> Callable[..., Any]:
    """A pandera check function: a fast pass on the inferred type, else cell by cell."""

    def check(s: pd.Series) -> pd.Series | bool:
        if pd.api.types.infer_dtype(s, skipna=True) in inferred:
            return True
        return s.map(test)

    return check


def _column_schema(col: ColumnSpec, fk_values: pd.Index | None) -> pa.Column:
    checks: list[pa.Check] = []
    if col.kind == "bool":
        checks.append(
            pa.Check(
                _all_or_each(lambda v: isinstance(v, bool | np.bool_), ("boolean",)),
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
                _all_or_each(lambda v: isinstance(v, str), ("string", "empty")),
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
        checks.append(pa.Check(lambda s: np.isfinite(s), ignore_na=True, error="a finite number"))
    if fk_values is not None:
        checks.append(
            pa.Check(
                lambda s, fk=fk_values: s.isin(fk),
                ignore_na=True,
                error="an existing id in {fk_table}",
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


def _duplicate_problems(
    df: pd.DataFrame, key: list[str], rows: set[int], file: str
) -> list[Problem]:
    """One problem per repeat of a key, naming the row where it first appears."""
    positions = sorted(rows)
    label = " and ".join(key)
    problems = []
    for group in df.iloc[positions].groupby(key, sort=False, dropna=False).indices.values():
        first, *repeats = (positions[p] for p in group)
        for row in repeats:
            value = ", ".join(str(df.iloc[row][k]) for k in key)
            problems.append(
                Problem(
                    file,
                    row + 1,
                    ", ".join(key),
                    _short(value),
                    f"a unique {label} (the same appears in row {first + 1})",
                )
            )
    return problems


def _problems_from(
    err: SchemaErrors, spec: TableSpec, file: str, df: pd.DataFrame
) -> list[Problem]:
    fc = err.failure_cases
    problems: list[Problem] = []
    seen: set[tuple[Any, Any]] = set()
    duplicates: dict[tuple[str, ...], set[int]] = {}
    for rec in fc.to_dict("records"):
        column = rec.get("column")
        index = rec.get("index")
        check = str(rec.get("check"))
        value = rec.get("failure_case")
        col_spec = spec.column(column) if column in spec.column_names else None
        if check.startswith(("coerce_dtype", "dtype")):
            expected = _expected(col_spec) if col_spec else check
        elif check == "not_nullable":
            expected = "a value (this column may not be empty)"
        else:
            expected = check
        if _is_empty(index):
            if isinstance(value, str) and value.startswith("TypeError"):
                continue  # a consequence of a coercion failure already reported
            if check.startswith("column_in_dataframe"):
                continue  # reported as a missing column before validation
            problems.append(Problem(file, None, column, None, expected))
            continue
        if check == "field_uniqueness":
            duplicates.setdefault((str(column),), set()).add(int(index))
            continue
        if check.startswith("multiple_fields_uniqueness"):
            duplicates.setdefault(tuple(spec.key), set()).add(int(index))
            continue
        key = (column, index)
        if key in seen:
            continue
        seen.add(key)
        if _is_empty(value) and check.startswith(("coerce_dtype", "dtype")):
            expected = "a value (this column may not be empty)"
        shown = None if _is_empty(value) else _short(value)
        problems.append(Problem(file, int(index) + 1, column, shown, expected))
    for cols, rows in duplicates.items():
        problems += _duplicate_problems(df, list(cols), rows, file)
    return problems


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.row if p.row is not None else -1, p.column or ""))


def _validate_table(
    name: str, df: pd.DataFrame, file: str, parents: Mapping[str, pd.DataFrame]
) -> tuple[pd.DataFrame | None, list[Problem]]:
    spec = TABLES[name]
    missing = [c for c in spec.required_columns if c not in df.columns]
    if missing:
        found = ", ".join(map(str, df.columns)) or "none"
        return None, [
            Problem(file, None, c, None, f"a column named '{c}' (required; found: {found})")
            for c in missing
        ]
    if len(df) < spec.min_rows:
        return None, [
            Problem(
                file,
                None,
                None,
                None,
                f"at least {spec.min_rows} data row{'s' if spec.min_rows != 1 else ''} "
                f"in {name} (found {len(df)})",
            )
        ]
    df = _fill_optional(df.reset_index(drop=True), spec)
    df, problems = _pre_parse(df, spec, file)
    try:
        out = _table_schema(spec, parents).validate(df, lazy=True)
    except SchemaErrors as err:
        reported = {(p.column, p.row) for p in problems}
        problems += [
            p for p in _problems_from(err, spec, file, df) if (p.column, p.row) not in reported
        ]
    if problems:
        return None, _sorted(problems)
    for col in spec.columns:
        if col.kind == "bool":
            out[col.name] = out[col.name].astype(bool)
        elif col.kind in ("str", "list") and not col.nullable:
            out[col.name] = out[col.name].fillna("").astype(str)
        elif col.kind in ("str",) and col.nullable:
            out[col.name] = out[col.name].astype(object).where(out[col.name].notna(), None)
    return out, []


def _validate_all(
    raw: Mapping[str, pd.DataFrame], files: Mapping[str, str]
) -> tuple[dict[str, pd.DataFrame], list[Problem]]:
    """Validate the tables present in ``raw``; absent ones are skipped."""
    problems: list[Problem] = []
    valid: dict[str, pd.DataFrame] = {}
    # Foreign keys are checked against the parent's ids even when the parent
    # itself has problems, so that one load reports everything.
    parents: dict[str, pd.DataFrame] = {}
    for name in TABLE_ORDER:
        if name not in raw:
            continue
        df, found = _validate_table(name, raw[name], files.get(name, name), parents)
        problems += found
        if df is not None:
            valid[name] = df
            parents[name] = df
        elif all(k in raw[name].columns for k in TABLES[name].key):
            parents[name] = raw[name]
    return valid, problems


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
    valid, problems = _validate_all(raw, files)
    problems = [
        Problem(files.get(name, name), None, None, None, f"a {name} table") for name in absent
    ] + problems
    if problems:
        raise DataValidationError(problems)
    return _build(valid, source)


def _undecodable(path: Path) -> tuple[int, int, int]:
    """Offset, 0-based line and value of the first byte that is not UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    lines = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            pending = decoder.getstate()[0]
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                data = pending + chunk
                at = offset - len(pending) + exc.start
                lines += data.count(b"\n", 0, exc.start) - pending.count(b"\n")
                return at, lines, data[exc.start]
            offset += len(chunk)
            lines += chunk.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return offset - 1, lines, path.read_bytes()[-1]
    return -1, -1, 0


def _longer_than_header(path: Path) -> tuple[int, int, int] | None:
    """The first data row with more fields than the header: (row, fields, header fields)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, [])
            for row, fields in enumerate(reader, start=1):
                if len(fields) > len(header):
                    return row, len(fields), len(header)
    except csv.Error:  # e.g. a field beyond the csv module's size limit
        return None
    return None


def _read_table(path: Path, max_mb: float) -> tuple[pd.DataFrame | None, list[Problem]]:
    file = path.name
    size = path.stat().st_size
    if size / 2**20 > max_mb:
        return None, [
            Problem(
                file,
                None,
                None,
                f"{size / 2**20:.3g} MB",
                f"a file of at most {max_mb:g} MB (set ATELIER_MAX_UPLOAD_MB to allow more)",
            )
        ]
    if size == 0:
        return None, [Problem(file, None, None, None, "a header row (the file is empty)")]
    try:
        if path.suffix == ".csv":
            with path.open("rb") as fh:
                head = fh.read(8192)
            if b"\x00" in head:
                return None, [
                    Problem(file, None, None, None, "CSV text (the file holds binary data)")
                ]
            with warnings.catch_warnings():
                # A row longer than the header would shift or drop cells silently.
                warnings.simplefilter("error", pd.errors.ParserWarning)
                df = pd.read_csv(
                    path,
                    dtype=str,
                    keep_default_na=False,
                    na_values=[""],
                    index_col=False,
                    # utf-8-sig: spreadsheets often start UTF-8 files with a byte-order mark.
                    encoding="utf-8-sig",
                    encoding_errors="strict",
                )
        else:
            df = pd.read_parquet(path)
    except UnicodeDecodeError:
        at, line, byte = _undecodable(path)
        return None, [
            Problem(
                file,
                line if line >= 0 else None,
                None,
                None,
                f"UTF-8 text (byte 0x{byte:02x} at offset {at} is not UTF-8; "
                "save the file as UTF-8)",
            )
        ]
    except pd.errors.EmptyDataError:
        return None, [Problem(file, None, None, None, "a header row (the file is empty)")]
    except (pd.errors.ParserError, pd.errors.ParserWarning) as exc:
        ragged = _longer_than_header(path)
        if ragged is not None:
            row, n, header = ragged
            return None, [
                Problem(
                    file, row, None, f"{n} fields", f"at most {header} fields, as in the header"
                )
            ]
        return None, [Problem(file, None, None, _short(exc), "a readable CSV file")]
    except (ValueError, OSError) as exc:  # pyarrow's errors derive from these
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
    paths = find_table_files(folder)
    problems: list[Problem] = []
    raw: dict[str, pd.DataFrame] = {}
    for name in TABLE_ORDER:
        if name not in paths:
            problems.append(
                Problem(
                    f"{name}.csv", None, None, None, f"a file named {name}.csv or {name}.parquet"
                )
            )
            continue
        df, found = _read_table(paths[name], max_file_mb)
        problems += found
        if df is not None:
            raw[name] = df
    files = {n: p.name for n, p in paths.items()}
    valid, found = _validate_all(raw, files)
    problems += found
    if problems:
        raise DataValidationError(problems)
    return _build(valid, str(folder))
