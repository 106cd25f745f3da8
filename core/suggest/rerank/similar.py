"""Similar pieces: alternatives to a product within its own category ("looks like").

When the piece a client wants is not right -- out of stock in her size, a
colour she returned -- the associate asks for the pieces closest to it. The
closeness is the model's product similarity (item factors, content
attributes and, when the house supplies image embeddings, the images'
cosine: ``Recommender.product_similarities``), limited to the anchor's
category and to what the client's rules allow (``allowed``). Each piece
carries what it shares with the anchor, in words.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from core.data.dataset import Dataset
from core.data.schema import COLS
from core.suggest.catalogue import Catalogue
from core.suggest.reasons import REASON_SEPARATOR

if TYPE_CHECKING:
    from core.engine.models.base import Recommender

#: A candidate "looks like" the anchor in its images when their cosine is at least this.
VISUALLY_CLOSE = 0.8


def similar_pieces(
    dataset: Dataset,
    model: Recommender,
    anchor_product_id: str,
    k: int = 6,
    *,
    allowed: np.ndarray | None = None,
) -> pd.DataFrame:
    """The ``k`` products of the anchor's category most similar to it, best first.

    Parameters
    ----------
    dataset : Dataset
    model : Recommender
        A fitted model with a product similarity (``product_similarities``).
    anchor_product_id : str
    k : int
    allowed : ndarray of bool, shape (n_products,), optional
        Only these may be returned (e.g. :attr:`RuleResult.allowed`).

    Returns
    -------
    DataFrame
        Columns ``product_id``, ``score`` (the similarity), ``reason`` (what
        it shares with the anchor); never the anchor itself.

    Raises
    ------
    UnknownIdError
        For an unknown anchor.
    """
    catalogue = Catalogue.of(dataset)
    a = dataset.product_ids.to_internal_one(anchor_product_id)
    cat = catalogue.category_codes[0]
    eligible = cat == cat[a]
    eligible[a] = False
    if allowed is not None:
        eligible &= np.asarray(allowed, dtype=bool)
    score = model.product_similarities(anchor_product_id)
    order = np.flatnonzero(eligible & np.isfinite(score))
    chosen = order[np.lexsort((order, -score[order]))][: max(int(k), 0)]
    visual = dataset.embeddings
    close = (
        visual[chosen] @ visual[a] >= VISUALLY_CLOSE
        if visual.shape[1]
        else np.zeros(chosen.size, dtype=bool)
    )
    return pd.DataFrame(
        {
            COLS.product_id: dataset.product_ids.to_external(chosen),
            COLS.score: score[chosen].astype(float),
            COLS.reason: [
                _shared(catalogue, a, int(j), bool(c)) for j, c in zip(chosen, close, strict=True)
            ],
        }
    )


def _shared(catalogue: Catalogue, a: int, j: int, close_in_images: bool) -> str:
    """What product ``j`` shares with the anchor ``a``, at most two things, in one line."""
    p = catalogue.dataset.products
    name = str(p["name"].iloc[a])
    said = []
    if close_in_images:
        said.append(f"Looks like the {name} (from the product images)")
    color, fam = catalogue.column("products", "color"), catalogue.color_families
    if color[a] and fam[j] == fam[a]:
        said.append(f"Same colour family ({fam[j]})")
    material = catalogue.column("products", "material")
    if material[a] and material[j] == material[a]:
        said.append(f"Also in {p['material'].iloc[j]}")
    des = catalogue.designer_codes[0]
    if des[j] == des[a] and str(p["designer"].iloc[j]):
        said.append(f"Same designer ({p['designer'].iloc[j]})")
    if not said:
        said.append(f"Close to the {name}")
    return REASON_SEPARATOR.join(said[:2])
