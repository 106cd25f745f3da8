"""An :class:`~core.engine.interactions.Interactions` as arrays and JSON metadata, and back.

What a saved model keeps of its interaction matrix (:mod:`core.engine.models.persistence`):
the csr matrices as their three arrays, the per-product and per-client arrays
as they are, and the normalisation statistics and configuration as metadata.
The ids are not saved: they come back from the dataset the model is loaded with.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.data.dataset import Dataset
from core.data.ids import IdMap
from core.engine.config import EngineConfig

if TYPE_CHECKING:
    from core.engine.interactions import Interactions

_CSR_FIELDS = (
    "matrix",
    "store_popularity_matrix",
    "store_trend_matrix",
    "other_cells",
    "purchase_cells",
)
_ARRAY_FIELDS = (
    "strength",
    "popularity",
    "trend",
    "home_store",
    "other_rank",
    "purchase_n",
    "return_n",
    "latest_age",
)


def csr_to_state(m: sp.csr_matrix, name: str) -> dict[str, np.ndarray]:
    """The three arrays of a csr matrix, keyed ``name.data`` etc."""
    return {f"{name}.data": m.data, f"{name}.indices": m.indices, f"{name}.indptr": m.indptr}


def csr_from_state(
    arrays: dict[str, np.ndarray], name: str, shape: tuple[int, int]
) -> sp.csr_matrix:
    """Inverse of :func:`csr_to_state`."""
    return sp.csr_matrix(
        (arrays[f"{name}.data"], arrays[f"{name}.indices"], arrays[f"{name}.indptr"]),
        shape=shape,
    )


def interactions_to_state(
    inter: Interactions, prefix: str = ""
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Arrays and JSON-ready metadata that :func:`interactions_from_state` rebuilds from."""
    arrays: dict[str, np.ndarray] = {}
    for name in _CSR_FIELDS:
        arrays.update(csr_to_state(getattr(inter, name), f"{prefix}{name}"))
    for name in _ARRAY_FIELDS:
        arrays[f"{prefix}{name}"] = getattr(inter, name)
    arrays[f"{prefix}strongest.data"] = inter.strongest.data
    if inter.idf is not None:
        arrays[f"{prefix}idf"] = inter.idf
    meta = {
        "as_of": inter.as_of.isoformat(),
        "avg_len": inter.avg_len,
        "config": inter.config.to_dict(),
        "n_stores": len(inter.store_ids),
    }
    return arrays, meta


def interactions_from_state(
    arrays: dict[str, np.ndarray], meta: dict[str, Any], dataset: Dataset, prefix: str = ""
) -> Interactions:
    """Inverse of :func:`interactions_to_state`; ids come from ``dataset``.

    Raises
    ------
    KeyError
        When an array is missing.
    """
    from core.engine.interactions import Interactions  # which imports this module

    clients, products = dataset.client_ids, dataset.product_ids
    store_ids = IdMap(dataset.stores["store_id"], "store")
    shapes = {
        "matrix": (len(clients), len(products)),
        "other_cells": (len(clients), len(products)),
        "purchase_cells": (len(clients), len(products)),
        "store_popularity_matrix": (len(store_ids), len(products)),
        "store_trend_matrix": (len(store_ids), len(products)),
    }
    mats = {name: csr_from_state(arrays, f"{prefix}{name}", shapes[name]) for name in _CSR_FIELDS}
    m = mats["matrix"]
    strongest = sp.csr_matrix(
        (arrays[f"{prefix}strongest.data"], m.indices, m.indptr), shape=m.shape
    )
    fields: dict[str, Any] = {name: arrays[f"{prefix}{name}"] for name in _ARRAY_FIELDS}
    return Interactions(
        client_ids=clients,
        product_ids=products,
        store_ids=store_ids,
        strongest=strongest,
        as_of=pd.Timestamp(meta["as_of"]),
        config=EngineConfig.from_dict(meta["config"]),
        idf=arrays.get(f"{prefix}idf"),
        avg_len=float(meta["avg_len"]),
        **mats,
        **fields,
    )
