"""The optional ``product_embeddings`` table: one fixed-length image vector per product.

A house that computes image embeddings of its products (with a vision model of
its own: Atelier ships none) puts them in ``product_embeddings.parquet`` beside
the other tables: a ``product_id`` column and one list column ``embedding``
holding the vector (every vector the same length, every value a finite
number). Products without a row are allowed; their visual block is zero.

Validation is strict and reports every problem as a
:class:`~core.exceptions.Problem` (table, row, column, value, what was
expected), raised together as one :class:`~core.exceptions.DataValidationError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.data.values import shorten
from core.exceptions import DataValidationError, Problem

EMBEDDINGS_TABLE = "product_embeddings"
EMBEDDING_COLUMN = "embedding"
EMBEDDINGS_SUFFIXES = (".parquet", ".pq")


def find_embeddings_file(folder: Path) -> Path | None:
    """``product_embeddings.parquet`` (or ``.pq``) in ``folder``, if there is one."""
    for suffix in EMBEDDINGS_SUFFIXES:
        path = folder / f"{EMBEDDINGS_TABLE}{suffix}"
        if path.is_file():
            return path
    return None


def _as_vector(value: Any) -> np.ndarray | None:
    """The cell as a 1-D float array, or ``None`` when it is not a list of numbers."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
        return None
    try:
        out = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return out if out.ndim == 1 else None


def _cell_problems(
    df: pd.DataFrame, file: str, known: pd.Index
) -> tuple[list[Problem], list[np.ndarray | None]]:
    problems: list[Problem] = []
    vectors: list[np.ndarray | None] = []
    first_row: dict[str, int] = {}
    dim: int | None = None
    for row, (pid, cell) in enumerate(zip(df["product_id"], df[EMBEDDING_COLUMN], strict=True)):
        where = row + 1
        text = "" if pid is None or (isinstance(pid, float) and np.isnan(pid)) else str(pid).strip()
        if not text:
            problems.append(Problem(file, where, "product_id", None, "a product id"))
        elif text not in known:
            problems.append(
                Problem(
                    file, where, "product_id", shorten(text), "an existing product_id in products"
                )
            )
        elif text in first_row:
            problems.append(
                Problem(
                    file,
                    where,
                    "product_id",
                    shorten(text),
                    f"a unique product_id (the same appears in row {first_row[text]})",
                )
            )
        else:
            first_row[text] = where
        vec = _as_vector(cell)
        vectors.append(vec)
        if vec is None:
            problems.append(
                Problem(file, where, EMBEDDING_COLUMN, shorten(cell), "a list of numbers")
            )
        elif not np.isfinite(vec).all():
            problems.append(
                Problem(file, where, EMBEDDING_COLUMN, shorten(cell), "finite numbers only")
            )
        elif dim is None:
            dim = vec.size
            if dim == 0:
                problems.append(Problem(file, where, EMBEDDING_COLUMN, "[]", "a non-empty vector"))
        elif vec.size != dim:
            problems.append(
                Problem(
                    file,
                    where,
                    EMBEDDING_COLUMN,
                    f"{vec.size} values",
                    f"{dim} values, the length of the first vector",
                )
            )
    return problems, vectors


def validate_embeddings(
    df: pd.DataFrame,
    product_ids: Sequence[str] | pd.Index | pd.Series,
    file: str = EMBEDDINGS_TABLE,
) -> pd.DataFrame:
    """Check a ``product_embeddings`` frame against the products and return it clean.

    Parameters
    ----------
    df : DataFrame
        Columns ``product_id`` and ``embedding`` (a list or array per row).
    product_ids : sequence of str
        The products' ids (each row must name one of them, once).
    file : str
        The name cited in problems.

    Returns
    -------
    DataFrame
        ``product_id`` (str) and ``embedding`` (a float64 array per row).

    Raises
    ------
    DataValidationError
        Every problem found: a missing column, an unknown, empty or repeated
        product id, a cell that is not a list of finite numbers, a vector of
        another length than the first one.
    """
    missing = [c for c in ("product_id", EMBEDDING_COLUMN) if c not in df.columns]
    if missing:
        found = ", ".join(map(str, df.columns)) or "none"
        raise DataValidationError(
            [
                Problem(file, None, c, None, f"a column named '{c}' (required; found: {found})")
                for c in missing
            ]
        )
    df = df.reset_index(drop=True)
    problems, vectors = _cell_problems(df, file, pd.Index(list(map(str, product_ids))))
    if problems:
        raise DataValidationError(problems)
    return pd.DataFrame(
        {
            "product_id": df["product_id"].astype(str).str.strip().to_numpy(),
            EMBEDDING_COLUMN: vectors,
        }
    )


def embedding_matrix(table: pd.DataFrame | None, product_ids: pd.Index) -> np.ndarray:
    """The validated vectors aligned with ``product_ids``: zero rows for products without one.

    Returns
    -------
    ndarray, shape (len(product_ids), d), float64
        ``d`` is 0 when there is no table (or it is empty).
    """
    if table is None or not len(table):
        return np.zeros((len(product_ids), 0))
    vectors = np.vstack(list(table[EMBEDDING_COLUMN]))
    out = np.zeros((len(product_ids), vectors.shape[1]))
    rows = pd.Index(product_ids).get_indexer(pd.Index(table["product_id"]))
    ok = rows >= 0
    out[rows[ok]] = vectors[ok]
    return out


def unit_rows(m: np.ndarray) -> np.ndarray:
    """``m`` with each non-zero row divided by its L2 norm (zero rows stay zero)."""
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    out = np.zeros_like(m, dtype=np.float64)
    np.divide(m, norms, out=out, where=norms > 0)
    return out
