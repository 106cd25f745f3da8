"""Peer recommenders for the quality benchmark: what an ordinary tuned toolbox would field.

Every peer is a :class:`core.engine.models.base.Recommender`, so it goes
through the same :func:`core.engine.evaluation.evaluate` loop as the engine:
same split, same evaluated clients, same exclusion of already-seen products,
same metrics.

The matrix
----------
Peers that learn from interactions fit on one matrix,
:func:`core.engine.evaluation.seen_matrix` of the training data: **binary**,
1 where the client had any event on the product in training (for Online
Retail and Complete Journey, every event is a purchase; for the generated
maison, views, wishlists and try-ons count like purchases). Its cells are the
pairs the evaluation removes from the candidates. No decay, no weights, no
idf: the peers get the plain data, and their own parameters on top.

- :class:`EASEPeer`: EASE (Steck 2019), ``B = I - P / diag(P)`` with
  ``P = (X^T X + lambda I)^-1``, on at most ``max_items`` most popular
  products (a dense inverse); other products score below every modelled one.
- :class:`PureSVDPeer`: scikit-learn ``TruncatedSVD`` of ``X``; scores
  ``X V V^T`` (Cremonesi et al. 2010).
- :class:`IALSPeer`: implicit ALS (Hu, Koren, Volinsky 2008) from the
  ``implicit`` package, confidence ``1 + alpha * X``.
- :class:`TfidfContentPeer`: a product is the TF-IDF of its text and
  attributes (name, description, tags as words; category, subcategory,
  designer, material, colour as ``column=value`` tokens), L2-normalised; a
  client's profile is the mean of their training products' rows; the score
  is the profile's dot product with each product. It ranks cold products.
- :class:`SVDContentBlendPeer`: PureSVD and TF-IDF scores, each z-scored per
  client over the catalogue, blended ``(1 - w) z_svd + w z_content``.

Peers do not fold in extra events (the benchmark never asks them to).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from threadpoolctl import threadpool_limits

from core.data.dataset import Dataset
from core.engine.evaluation import seen_matrix
from core.engine.models.base import Recommender

#: Product columns read as ``column=value`` tokens by the content peers.
ATTRIBUTE_COLUMNS: tuple[str, ...] = (
    "category",
    "subcategory",
    "designer",
    "material",
    "color",
)
#: Product columns read as words.
TEXT_COLUMNS: tuple[str, ...] = ("name", "description", "style_tags")
_WORD = re.compile(r"[a-z]{2,}")
_UNMODELLED = -1e6  # below every modelled score, still finite (ties by index)


class MatrixPeer(Recommender):
    """Base of the peers: fit on the binary seen matrix, score rows of it."""

    def _fit(self, dataset: Dataset, as_of: Any = None, interactions: Any = None) -> None:
        """Build ``matrix_`` (``as_of`` and ``interactions`` unused) and fit on it."""
        self.matrix_ = seen_matrix(dataset)
        self._fit_matrix(self.matrix_, dataset)

    def _fit_matrix(self, x: sp.csr_matrix, dataset: Dataset) -> None:
        raise NotImplementedError

    def _scores(self, rows: sp.csr_matrix, idx: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def score_clients(
        self, client_ids: Sequence[str], extra_events: pd.DataFrame | None = None
    ) -> np.ndarray:
        self.check_is_fitted()
        if extra_events is not None and len(extra_events):
            raise ValueError(f"{type(self).__name__} does not fold in extra events")
        idx = self.dataset_.client_ids.to_internal([str(c) for c in client_ids])
        return self._scores(self.matrix_[idx], idx)


class EASEPeer(MatrixPeer):
    """EASE: a closed-form item-item ridge regression with a zero diagonal.

    Parameters
    ----------
    lambda_ : float
        L2 penalty (> 0).
    max_items : int
        Products modelled: the most popular ones (the inverse is dense).
    """

    def __init__(self, lambda_: float = 200.0, max_items: int = 4000) -> None:
        self.lambda_ = lambda_
        self.max_items = max_items

    def _fit_matrix(self, x: sp.csr_matrix, dataset: Dataset) -> None:
        counts = np.asarray(x.sum(axis=0)).ravel()
        order = np.argsort(-counts, kind="stable")
        self.items_ = np.sort(order[: min(self.max_items, int((counts > 0).sum()))])
        sub = x[:, self.items_]
        gram = (sub.T @ sub).toarray()
        gram[np.diag_indices_from(gram)] += float(self.lambda_)
        p = np.linalg.inv(gram)
        b = -p / np.diag(p)[None, :]
        b[np.diag_indices_from(b)] = 0.0
        self.weights_ = b

    def _scores(self, rows: sp.csr_matrix, idx: np.ndarray) -> np.ndarray:
        out = np.full((rows.shape[0], rows.shape[1]), _UNMODELLED)
        out[:, self.items_] = np.asarray(rows[:, self.items_] @ self.weights_)
        return out


def _svd_factors(x: sp.csr_matrix, n_factors: int, seed: int) -> np.ndarray:
    """Item factors ``V`` (n_products, k) of a truncated SVD of ``x``."""
    k = max(1, min(int(n_factors), min(x.shape) - 1))
    svd = TruncatedSVD(n_components=k, algorithm="randomized", n_iter=7, random_state=seed)
    svd.fit(x)
    return np.asarray(svd.components_.T)


class PureSVDPeer(MatrixPeer):
    """PureSVD: ``score = x V V^T`` with ``V`` the top right singular vectors.

    Parameters
    ----------
    n_factors : int
    seed : int
    """

    def __init__(self, n_factors: int = 64, seed: int = 0) -> None:
        self.n_factors = n_factors
        self.seed = seed

    def _fit_matrix(self, x: sp.csr_matrix, dataset: Dataset) -> None:
        self.item_factors_ = _svd_factors(x, self.n_factors, self.seed)

    def _scores(self, rows: sp.csr_matrix, idx: np.ndarray) -> np.ndarray:
        v = self.item_factors_
        return np.asarray(rows @ v) @ v.T


class IALSPeer(MatrixPeer):
    """Implicit ALS (the ``implicit`` package), confidence ``1 + alpha * x``.

    Parameters
    ----------
    factors, regularization, alpha, iterations : as in
        ``implicit.als.AlternatingLeastSquares``
    seed : int
    """

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 0.1,
        alpha: float = 10.0,
        iterations: int = 15,
        seed: int = 0,
    ) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.seed = seed

    def _fit_matrix(self, x: sp.csr_matrix, dataset: Dataset) -> None:
        from implicit.cpu.als import AlternatingLeastSquares

        with threadpool_limits(1, "blas"), warnings.catch_warnings():
            # implicit warns about BLAS threads set in the environment; they are limited here.
            warnings.filterwarnings(
                "ignore", message="OpenBLAS is configured", category=RuntimeWarning
            )
            model = AlternatingLeastSquares(
                factors=int(self.factors),
                regularization=float(self.regularization),
                alpha=float(self.alpha),
                iterations=int(self.iterations),
                calculate_training_loss=False,
                num_threads=1,  # users are solved independently: deterministic; the machine is shared
                random_state=int(self.seed),
            )
            model.fit(sp.csr_matrix(x, dtype=np.float32), show_progress=False)
        self.user_factors_ = np.asarray(model.user_factors, dtype=np.float64)
        self.item_factors_ = np.asarray(model.item_factors, dtype=np.float64)

    def _scores(self, rows: sp.csr_matrix, idx: np.ndarray) -> np.ndarray:
        return self.user_factors_[idx] @ self.item_factors_.T


def product_documents(products: pd.DataFrame) -> list[list[str]]:
    """Each product as tokens: words of its text, ``column=value`` for its attributes."""
    docs: list[list[str]] = [[] for _ in range(len(products))]
    for col in TEXT_COLUMNS:
        if col in products.columns:
            text = products[col].fillna("").astype(str).str.lower().str.replace("|", " ")
            for doc, value in zip(docs, text, strict=True):
                doc.extend(_WORD.findall(value))
    for col in ATTRIBUTE_COLUMNS:
        if col in products.columns:
            values = products[col].fillna("").astype(str).str.strip().str.lower()
            for doc, value in zip(docs, values, strict=True):
                if value:
                    doc.append(f"{col}={value}")
    return docs


def content_matrix(products: pd.DataFrame, min_df: int = 1) -> sp.csr_matrix:
    """L2-normalised TF-IDF rows of :func:`product_documents` (shape n_products x n_terms)."""
    docs = product_documents(products)
    if not any(docs):
        return sp.csr_matrix((len(docs), 1))
    vec = TfidfVectorizer(
        analyzer=lambda doc: doc, min_df=min(int(min_df), len(docs)), sublinear_tf=True
    )
    try:
        return sp.csr_matrix(vec.fit_transform(docs))
    except ValueError:  # no term frequent enough
        return sp.csr_matrix((len(docs), 1))


def _mean_profiles(rows: sp.csr_matrix, features: sp.csr_matrix) -> sp.csr_matrix:
    counts = np.asarray(rows.sum(axis=1)).ravel()
    scale = sp.diags(np.divide(1.0, counts, out=np.zeros_like(counts), where=counts > 0))
    return sp.csr_matrix(scale @ rows @ features)


class TfidfContentPeer(MatrixPeer):
    """Content profile: the mean TF-IDF row of a client's training products.

    Parameters
    ----------
    min_df : int
        A term must occur in this many products.
    """

    def __init__(self, min_df: int = 1) -> None:
        self.min_df = min_df

    def _fit_matrix(self, x: sp.csr_matrix, dataset: Dataset) -> None:
        self.features_ = content_matrix(dataset.products, self.min_df)

    def _scores(self, rows: sp.csr_matrix, idx: np.ndarray) -> np.ndarray:
        return np.asarray((_mean_profiles(rows, self.features_) @ self.features_.T).todense())


def row_zscores(scores: np.ndarray) -> np.ndarray:
    """Each row minus its mean, divided by its standard deviation (1 where it is 0)."""
    mean = scores.mean(axis=1, keepdims=True)
    std = scores.std(axis=1, keepdims=True)
    return (scores - mean) / np.where(std > 0, std, 1.0)


class SVDContentBlendPeer(MatrixPeer):
    """PureSVD and TF-IDF content, z-scored per client, blended.

    Parameters
    ----------
    n_factors : int
    content_weight : float
        ``w`` in ``(1 - w) z_svd + w z_content``, in [0, 1].
    min_df : int
    seed : int
    """

    def __init__(
        self, n_factors: int = 64, content_weight: float = 0.3, min_df: int = 1, seed: int = 0
    ) -> None:
        self.n_factors = n_factors
        self.content_weight = content_weight
        self.min_df = min_df
        self.seed = seed

    def _fit_matrix(self, x: sp.csr_matrix, dataset: Dataset) -> None:
        self.item_factors_ = _svd_factors(x, self.n_factors, self.seed)
        self.features_ = content_matrix(dataset.products, self.min_df)

    def _scores(self, rows: sp.csr_matrix, idx: np.ndarray) -> np.ndarray:
        v = self.item_factors_
        cf = np.asarray(rows @ v) @ v.T
        content = np.asarray((_mean_profiles(rows, self.features_) @ self.features_.T).todense())
        w = float(self.content_weight)
        return (1.0 - w) * row_zscores(cf) + w * row_zscores(content)
