"""Planted image embeddings of the generated products (the optional ``product_embeddings`` table).

A stand-in for a house's vision model: each value of colour, material and
subcategory (the silhouette) gets a fixed random unit direction, and a
product's vector is the sum of its three directions plus Gaussian noise. Two
products sharing attributes are therefore visually close, which tests check
(planted truth); nothing else of the maison depends on these vectors, and the
other tables are the same with or without them.
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

from core.data.embeddings import EMBEDDING_COLUMN

#: Attributes an image shows, each with its own direction per value.
VISUAL_ATTRIBUTES: tuple[str, ...] = ("color", "material", "subcategory")
EMBEDDING_DIM = 32
#: Standard deviation of the noise per dimension (each attribute direction has norm 1).
EMBEDDING_NOISE = 0.15


def _direction(attribute: str, value: str, seed: int, dim: int) -> np.ndarray:
    """The unit direction of one attribute value (a function of the seed and the value only)."""
    key = zlib.crc32(f"{attribute}={value}".encode())
    v = np.random.default_rng([seed, key]).standard_normal(dim)
    return v / np.linalg.norm(v)


def plant_embeddings(
    products: pd.DataFrame,
    seed: int,
    *,
    dim: int = EMBEDDING_DIM,
    noise: float = EMBEDDING_NOISE,
) -> pd.DataFrame:
    """A ``product_embeddings`` table for ``products``: attribute directions summed, plus noise.

    Parameters
    ----------
    products : DataFrame
        ``product_id`` and any of :data:`VISUAL_ATTRIBUTES` (empty cells add nothing).
    seed : int
    dim : int
        Length of each vector.
    noise : float
        Standard deviation of the Gaussian noise per value.

    Returns
    -------
    DataFrame
        ``product_id`` and ``embedding`` (a float64 array of ``dim`` values), one row per product.
    """
    n = len(products)
    out = np.random.default_rng([seed, 0xE3BED]).standard_normal((n, dim)) * noise
    for attribute in VISUAL_ATTRIBUTES:
        if attribute not in products.columns:
            continue
        values = products[attribute].fillna("").astype(str).to_numpy()
        for value in pd.unique(values):
            if value:
                out[values == value] += _direction(attribute, value, seed, dim)
    return pd.DataFrame(
        {"product_id": products["product_id"].astype(str).to_numpy(), EMBEDDING_COLUMN: list(out)}
    )
