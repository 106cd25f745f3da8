"""Curated lists as the pages show them: a list's items with product data, and the lists table.

- :func:`items_frame`: one list's items with catalogue data and stock where
  the client shops (:data:`LIST_ITEM_COLUMNS`);
- :func:`lists_frame` and :func:`filter_lists`: the stylists' lists page.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from core.data.dataset import Dataset
from core.data.schema import COLS
from core.store.records import CuratedListRecord
from core.suggest.catalogue import Catalogue
from core.suggest.results import PRODUCT_COLUMNS, product_frame
from core.suggest.sizes import client_sizes

#: Columns of :func:`items_frame`: product data and stock, then the item as curated.
LIST_ITEM_COLUMNS: tuple[str, ...] = (
    *PRODUCT_COLUMNS,
    COLS.position,
    COLS.pinned,
    COLS.source,
    COLS.note,
    COLS.reason,
)
#: Columns of :func:`lists_frame`.
LISTS_COLUMNS: tuple[str, ...] = (
    "list_id",
    COLS.client_id,
    "client_name",
    "title",
    COLS.author_id,
    "author",
    "status",
    "items",
    "version",
    "updated_at",
    "updated_by",
)


def items_frame(dataset: Dataset, record: CuratedListRecord) -> pd.DataFrame:
    """A list's items with catalogue data and stock, in display order (:data:`LIST_ITEM_COLUMNS`).

    Products no longer in the catalogue are left out; stock counts the
    client's home store and online, in the client's size too (``size_stock``).
    """
    catalogue = Catalogue.of(dataset)
    client = catalogue.client(record.client_id)
    items = [i for i in record.items if i.product_id in catalogue.product_position]
    idx = np.array([catalogue.product_position[i.product_id] for i in items], dtype=np.int64)
    out = product_frame(dataset, idx, client.home_store, client_sizes(client.row))
    out[COLS.position] = [i.position for i in items]
    out[COLS.pinned] = [i.pinned for i in items]
    out[COLS.source] = [i.source for i in items]
    out[COLS.note] = [i.note for i in items]
    out[COLS.reason] = [i.reason for i in items]
    return out[list(LIST_ITEM_COLUMNS)]


def lists_frame(records: Iterable[CuratedListRecord], clients: pd.DataFrame) -> pd.DataFrame:
    """One row per list: id, client, client name, title, author, status, items, last change.

    ``clients`` is the dataset's clients table (for the names).
    """
    by_id = clients.set_index("client_id")
    rows = []
    for r in records:
        if r.client_id in by_id.index:
            c = by_id.loc[r.client_id]
            name = f"{c.get('first_name') or ''} {c.get('last_name') or ''}".strip()
        else:
            name = "(client no longer in the data)"
        rows.append(
            (
                r.list_id,
                r.client_id,
                name or r.client_id,
                r.title,
                r.author_id,
                r.author_name,
                r.status,
                len(r.items),
                r.version,
                r.updated_at,
                r.updated_by_name,
            )
        )
    return pd.DataFrame(rows, columns=list(LISTS_COLUMNS))


def filter_lists(
    frame: pd.DataFrame,
    *,
    query: str = "",
    statuses: Iterable[str] = (),
    author_id: str | None = None,
) -> pd.DataFrame:
    """Lists whose client name, title or author contain every word of ``query``.

    ``statuses`` keeps only those statuses (empty: all); ``author_id`` only that author's.
    """
    out = frame
    wanted = [s for s in statuses]
    if wanted:
        out = out[out["status"].isin(wanted)]
    if author_id:
        out = out[out["author_id"] == author_id]
    words = [w for w in str(query or "").casefold().split() if w]
    if words and len(out):
        hay = (
            out["client_name"].astype(str)
            + " "
            + out["title"].astype(str)
            + " "
            + out["author"].astype(str)
            + " "
            + out["client_id"].astype(str)
        ).str.casefold()
        mask = np.ones(len(out), dtype=bool)
        for w in words:
            mask &= hay.str.contains(w, regex=False).to_numpy()
        out = out[mask]
    return out.reset_index(drop=True)
