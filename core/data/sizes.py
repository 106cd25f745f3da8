"""Sizes in the contract: which of a client's sizes fits a product, and stock per size.

Three optional columns carry sizes, and a dataset without them behaves as
before:

- ``stock.size``: the size a row's units are in; an empty size is the whole
  product (the old meaning). A product is stocked in a store either whole or
  per size, never both.
- ``products.sizes``: the product's size run (``|``-separated, e.g.
  ``36|38|40|42``); when declared, the sizes in ``stock`` must be of it.
- ``events.reason``: why a return came back (``fit``, ``quality``, ...; one of
  :data:`core.data.schema.RETURN_REASONS`), on returns only; fit returns are
  what a size did not do.
- the client's sizes per kind of product (``size_rtw``, ``size_shoes``,
  ``size_ring`` in ``clients``); :func:`client_size_column` says which one a
  product takes, from its subcategory first, then its category.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.data.schema import split_list
from core.data.values import shorten
from core.exceptions import Problem

#: The client column holding the size for a subcategory (checked first) ...
SUBCATEGORY_SIZE_COLUMNS: dict[str, str] = {
    "ring": "size_ring",
    "engagement ring": "size_ring",
}
#: ... or for a category (lower-cased names).
CATEGORY_SIZE_COLUMNS: dict[str, str] = {
    "ready-to-wear": "size_rtw",
    "outerwear": "size_rtw",
    "shoes": "size_shoes",
}


def client_size_column(category: object, subcategory: object = "") -> str | None:
    """The client column holding her size for a product of this kind (``None``: no such column).

    >>> client_size_column("Shoes", "pumps")
    'size_shoes'
    >>> client_size_column("jewellery", "ring")
    'size_ring'
    >>> client_size_column("bags") is None
    True
    """
    sub = str(subcategory or "").strip().lower()
    if sub in SUBCATEGORY_SIZE_COLUMNS:
        return SUBCATEGORY_SIZE_COLUMNS[sub]
    return CATEGORY_SIZE_COLUMNS.get(str(category or "").strip().lower())


def size_problems(stock: pd.DataFrame, products: pd.DataFrame, file: str) -> list[Problem]:
    """Stock rows that break the size contract (validated tables, rows numbered from 1).

    A product stocked in a store both whole and per size names the whole
    row; a size outside the product's declared run names the size.
    """
    if "size" not in stock.columns:
        return []
    size = stock["size"].astype(str).to_numpy(dtype=object)
    sized = size != ""
    if not sized.any():
        return []
    pid = stock["product_id"].astype(str).to_numpy(dtype=object)
    store = stock["store_id"].astype(str).to_numpy(dtype=object)
    first_sized: dict[tuple[str, str], int] = {}
    for i in np.flatnonzero(sized)[::-1]:
        first_sized[(pid[i], store[i])] = int(i)
    problems: list[Problem] = []
    for i in np.flatnonzero(~sized):
        first = first_sized.get((pid[i], store[i]))
        if first is not None:
            problems.append(
                Problem(
                    file,
                    int(i) + 1,
                    "size",
                    None,
                    f"a size: {pid[i]} in {store[i]} is stocked per size (row {first + 1}), "
                    "so every row of it names one",
                )
            )
    runs: dict[str, list[str]] = {}
    if "sizes" in products.columns:
        for p, r in zip(products["product_id"].astype(str), products["sizes"], strict=True):
            if run := split_list(r):
                runs[p] = run
    if runs:
        declared = {(p, z) for p, run in runs.items() for z in run}
        for i in np.flatnonzero(sized):
            if pid[i] in runs and (pid[i], size[i]) not in declared:
                problems.append(
                    Problem(
                        file,
                        int(i) + 1,
                        "size",
                        shorten(size[i]),
                        f"one of the sizes of {pid[i]} in products ({', '.join(runs[pid[i]])})",
                    )
                )
    return problems


def reason_problems(events: pd.DataFrame, file: str) -> list[Problem]:
    """Events other than returns that carry a reason (validated table, rows numbered from 1)."""
    if "reason" not in events.columns:
        return []
    reason = events["reason"].astype(str).to_numpy(dtype=object)
    etype = events["event_type"].astype(str).to_numpy(dtype=object)
    bad = np.flatnonzero((reason != "") & (etype != "return"))
    return [
        Problem(
            file,
            int(i) + 1,
            "reason",
            shorten(reason[i]),
            f"no reason on a {etype[i]} event (a reason says why a return came back)",
        )
        for i in bad
    ]
