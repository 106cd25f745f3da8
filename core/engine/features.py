"""Product attributes -> one sparse, L2-normalised feature row per product.

Blocks, each scaled by its weight in :class:`~core.engine.config.EngineConfig`:

- one-hot attributes (``attribute_weight``): ``designer=…``, ``category=…``,
  ``subcategory=…``, ``material=…``, ``color=…``, ``collection=…``,
  ``warmth=…``;
- style tags (``tag_weight``): ``tag=…``, TF-IDF, unit norm within the block;
- name and description (``text_weight``): ``word=…``, sublinear TF-IDF over
  English words, unit norm within the block;
- price band (``price_weight``): ``price_band=1`` (cheapest) to
  ``price_band=n``, quantile bands within each category (or over the whole
  catalogue for small categories, or when ``price_bands_per_category`` is off);
- flags (``flag_weight``): ``flag=sustainable``, ``flag=limited_edition``;
- image embeddings (``visual_weight``), when the dataset has the optional
  ``product_embeddings`` table: ``visual:0`` to ``visual:{d-1}``, the
  L2-normalised vector (dense; a product without one adds nothing), so the
  cosine of two rows includes the cosine of their images.

A column the products lack, or leave empty everywhere, adds no feature; an
empty cell adds nothing to its row. Rows are L2-normalised at the end, so
the dot product of two rows is their cosine similarity.

IDF is the smooth one: ``ln((1 + n) / (1 + df)) + 1``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer
from sklearn.preprocessing import normalize

from core.data.embeddings import unit_rows
from core.data.schema import split_list
from core.engine.cells import row_selector
from core.engine.config import EngineConfig
from core.exceptions import NotFittedError

ATTRIBUTES: tuple[str, ...] = (
    "designer",
    "category",
    "subcategory",
    "material",
    "color",
    "collection",
    "warmth",
)
FLAGS: tuple[str, ...] = ("sustainable", "limited_edition")
#: Prefix of the image-embedding features (``visual:0`` ...) and their explanation kind.
VISUAL = "visual"
#: Declared client preferences and the attribute each one matches.
PREFERENCES: dict[str, str] = {
    "pref_designers": "designer",
    "pref_categories": "category",
    "pref_colors": "color",
    "pref_materials": "material",
}
#: Up to this many clients, :meth:`ProductFeatures.preference_rows` reads them without pandas.
_FEW_ROWS = 64
#: Client columns that declare taste.
PREFERENCE_COLUMNS: tuple[str, ...] = (*PREFERENCES, "price_min", "price_max")
_TOKEN_PATTERN = r"(?u)\b[^\W\d_]{2,}\b"  # words of two letters or more


def _text(values: pd.Series) -> pd.Series:
    return values.astype(object).where(values.notna(), "").astype(str).str.strip()


def _idf(df: np.ndarray, n: int) -> np.ndarray:
    return np.log((1.0 + n) / (1.0 + np.asarray(df, dtype=np.float64))) + 1.0


class ProductFeatures:
    """Fit a feature vocabulary on products; transform products to sparse rows.

    Parameters
    ----------
    config : EngineConfig, optional
        Block weights, TF-IDF settings and price bands (defaults when omitted).

    Attributes
    ----------
    feature_names_ : ndarray of str, shape (n_features,)
        ``designer=…``, ``tag=…``, ``word=…``, ``price_band=k``, ``flag=…``.
    n_features_ : int
    """

    def __init__(self, config: EngineConfig | None = None) -> None:
        self.config = config

    # ------------------------------------------------------------ fitting
    def fit(self, products: pd.DataFrame, embeddings: np.ndarray | None = None) -> Self:
        """Learn vocabularies, IDF weights and price-band edges from ``products``.

        ``embeddings`` (shape (len(products), d), optional) fixes the width
        ``d`` of the visual block; without it (or with ``d == 0``) there is none.
        """
        config = self.config or EngineConfig()
        self.visual_dim_ = 0 if embeddings is None else int(np.shape(embeddings)[1])
        n = len(products)
        self.attributes_: dict[str, list[str]] = {}
        for col in ATTRIBUTES:
            if col in products.columns:
                values = sorted(v for v in _text(products[col]).unique() if v)
                if values:
                    self.attributes_[col] = values
        self.tags_: list[str] = []
        self.tag_idf_ = np.zeros(0)
        if "style_tags" in products.columns:
            tag_lists = products["style_tags"].map(split_list)
            counts = pd.Series([t for tags in tag_lists for t in set(tags)]).value_counts()
            if len(counts):
                self.tags_ = sorted(counts.index.astype(str))
                self.tag_idf_ = _idf(counts.loc[self.tags_].to_numpy(), n)
        self.words_: list[str] = []
        self.word_idf_ = np.zeros(0)
        docs = self._documents(products)
        if docs is not None and n:
            vec = CountVectorizer(
                stop_words=sorted(ENGLISH_STOP_WORDS),
                token_pattern=_TOKEN_PATTERN,
                min_df=min(config.tfidf_min_df, n),
                max_features=config.tfidf_max_features,
                binary=True,
            )
            try:
                counts_m = vec.fit_transform(docs)
            except ValueError:  # nothing but stop words, or no word often enough
                counts_m = None
            if counts_m is not None:
                self.words_ = list(vec.get_feature_names_out())
                self.word_idf_ = _idf(np.asarray(counts_m.sum(axis=0)).ravel(), n)
        self.price_edges_: list[float] = []
        self.category_price_edges_: dict[str, list[float]] = {}
        if "price" in products.columns and config.n_price_bands > 1:
            price = pd.to_numeric(products["price"], errors="coerce")
            ok = price.notna() & (price > 0)
            if ok.any():
                self.price_edges_ = _edges(price[ok].to_numpy(), config.n_price_bands)
                if config.price_bands_per_category and "category" in products.columns:
                    cats = _text(products["category"])[ok]
                    for cat, group in price[ok].groupby(cats.to_numpy()):
                        if cat and len(group) >= 2 * config.n_price_bands:
                            self.category_price_edges_[str(cat)] = _edges(
                                group.to_numpy(), config.n_price_bands
                            )
        self.flags_: list[str] = [
            f
            for f in FLAGS
            if f in products.columns and products[f].fillna(False).astype(bool).any()
        ]
        self._index()
        return self

    def _index(self) -> None:
        names: list[str] = []
        self._offsets: dict[str, int] = {}
        self._lookup: dict[str, dict[str, int]] = {}
        for col, values in self.attributes_.items():
            self._offsets[col] = len(names)
            self._lookup[col] = {v.casefold(): i for i, v in enumerate(values)}
            names += [f"{col}={v}" for v in values]
        self._offsets["tag"] = len(names)
        names += [f"tag={t}" for t in self.tags_]
        self._offsets["word"] = len(names)
        names += [f"word={w}" for w in self.words_]
        self._offsets["price_band"] = len(names)
        self.n_price_bands_ = len(self.price_edges_) + 1 if self.price_edges_ else 0
        names += [f"price_band={k}" for k in range(1, self.n_price_bands_ + 1)]
        self._offsets["flag"] = len(names)
        names += [f"flag={f}" for f in self.flags_]
        self._offsets[VISUAL] = len(names)
        names += [f"{VISUAL}:{k}" for k in range(self.visual_dim_)]
        self.feature_names_ = np.array(names, dtype=str)
        self.n_features_ = len(names)
        # Each band's [lower, upper) bounds, per category (case-folded) and all of them.
        by_category = {
            c: np.concatenate([[-np.inf], e, [np.inf]])
            for c, e in self.category_price_edges_.items()
        }
        self._bounds_by_fold = {c.casefold(): b for c, b in by_category.items()}
        self._all_bounds = np.array(  # one row per set: every set has n_price_bands_ bands
            list(by_category.values())
            or [np.concatenate([[-np.inf], self.price_edges_, [np.inf]])],
            dtype=np.float64,
        )

    def _documents(self, products: pd.DataFrame) -> pd.Series | None:
        parts = [_text(products[c]) for c in ("name", "description") if c in products.columns]
        if not parts:
            return None
        docs = parts[0]
        for p in parts[1:]:
            docs = docs + " " + p
        return docs

    def _check(self) -> None:
        if not hasattr(self, "feature_names_"):
            raise NotFittedError("ProductFeatures is not fitted yet: call fit(products)")

    # ---------------------------------------------------------- transform
    def transform(
        self, products: pd.DataFrame, embeddings: np.ndarray | None = None
    ) -> sp.csr_matrix:
        """Feature rows of ``products`` (values unseen at fit time add nothing).

        ``embeddings`` (shape (len(products), visual_dim_)) fills the visual
        block; without it the block is zero.

        Returns
        -------
        csr_matrix, shape (len(products), n_features_), float64
            L2-normalised rows (a product with no known feature is a zero row).
        """
        self._check()
        config = self.config or EngineConfig()
        n = len(products)
        blocks: list[sp.csr_matrix] = []
        for col, values in self.attributes_.items():
            if col in products.columns:
                codes = pd.Index(values).get_indexer(pd.Index(_text(products[col])))
            else:
                codes = np.full(n, -1)
            blocks.append(_one_hot(codes, len(values), config.attribute_weight))
        blocks.append(self._tag_block(products, n) * config.tag_weight)
        blocks.append(self._word_block(products, n) * config.text_weight)
        if self.n_price_bands_:
            blocks.append(
                _one_hot(self._price_bands(products), self.n_price_bands_, config.price_weight)
            )
        for f in self.flags_:
            on = products[f].fillna(False).to_numpy(dtype=bool) if f in products else np.zeros(n)
            blocks.append(_one_hot(np.where(on, 0, -1), 1, config.flag_weight))
        if self.visual_dim_:
            blocks.append(self._visual_block(embeddings, n) * config.visual_weight)
        out = sp.hstack(blocks, format="csr") if blocks else sp.csr_matrix((n, 0))
        out = sp.csr_matrix(out, shape=(n, self.n_features_), dtype=np.float64)
        out.eliminate_zeros()
        out.sort_indices()  # each row's features in column order (a row's sum is in that order)
        return normalize(out, norm="l2", axis=1, copy=False)

    def fit_transform(self, products: pd.DataFrame) -> sp.csr_matrix:
        return self.fit(products).transform(products)

    def _visual_block(self, embeddings: np.ndarray | None, n: int) -> sp.csr_matrix:
        if embeddings is None:
            return sp.csr_matrix((n, self.visual_dim_))
        if np.shape(embeddings) != (n, self.visual_dim_):
            raise ValueError(
                f"embeddings must have shape ({n}, {self.visual_dim_}), got {np.shape(embeddings)}"
            )
        return sp.csr_matrix(unit_rows(np.asarray(embeddings, dtype=np.float64)))

    def _tag_block(self, products: pd.DataFrame, n: int) -> sp.csr_matrix:
        if not self.tags_ or "style_tags" not in products.columns:
            return sp.csr_matrix((n, len(self.tags_)))
        index = pd.Index(self.tags_)
        lists = products["style_tags"].map(lambda v: sorted(set(split_list(v))))
        lengths = lists.map(len).to_numpy()
        flat = [t for tags in lists for t in tags]
        cols = index.get_indexer(pd.Index(flat)) if flat else np.zeros(0, dtype=np.int64)
        rows = np.repeat(np.arange(n), lengths)
        ok = cols >= 0
        m = sp.csr_matrix(
            (self.tag_idf_[cols[ok]], (rows[ok], cols[ok])), shape=(n, len(self.tags_))
        )
        return normalize(m, norm="l2", axis=1)

    def _word_block(self, products: pd.DataFrame, n: int) -> sp.csr_matrix:
        docs = self._documents(products)
        if not self.words_ or docs is None:
            return sp.csr_matrix((n, len(self.words_)))
        vec = CountVectorizer(
            stop_words=sorted(ENGLISH_STOP_WORDS),
            token_pattern=_TOKEN_PATTERN,
            vocabulary=self.words_,
        )
        counts = vec.transform(docs).astype(np.float64)
        counts.data = 1.0 + np.log(counts.data)  # sublinear term frequency
        return normalize(counts @ sp.diags(self.word_idf_), norm="l2", axis=1)

    def _price_bands(self, products: pd.DataFrame) -> np.ndarray:
        """0-based band of each product (-1 without a price)."""
        n = len(products)
        if "price" not in products.columns:
            return np.full(n, -1)
        price = pd.to_numeric(products["price"], errors="coerce").to_numpy(dtype=np.float64)
        band = np.searchsorted(np.asarray(self.price_edges_), price, side="right")
        if self.category_price_edges_ and "category" in products.columns:
            cats = _text(products["category"]).to_numpy()
            for cat, edges in self.category_price_edges_.items():
                sel = cats == cat
                band[sel] = np.searchsorted(np.asarray(edges), price[sel], side="right")
        return np.where(np.isfinite(price) & (price > 0), band, -1)

    # -------------------------------------------------------- preferences
    def preference_vector(self, client_row: Mapping[str, Any] | pd.Series) -> sp.csr_matrix:
        """A client's declared preferences as a feature row.

        Preferred designers, categories, colours and materials match their
        one-hot features (case-insensitively; unknown values are ignored),
        each attribute weighing ``attribute_weight`` shared among its values;
        ``price_min``/``price_max`` become the price bands the range overlaps
        (for each preferred category, or across categories).

        Returns
        -------
        csr_matrix, shape (1, n_features_)
            L2-normalised, or all zero when nothing declared is known.
        """
        data, indices = self.preference_cells(client_row)
        indptr = np.array([0, indices.size], dtype=np.int32)
        return sp.csr_matrix((data, indices, indptr), shape=(1, self.n_features_))

    def preference_cells(
        self, client_row: Mapping[str, Any] | pd.Series
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`preference_vector`'s cells: values (float64) and distinct sorted columns (int32)."""
        row = dict(client_row)
        m = self.preference_rows({c: [row.get(c)] for c in PREFERENCE_COLUMNS if c in row}, 1)
        return m.data, m.indices

    def preference_matrix(self, clients: pd.DataFrame) -> sp.csr_matrix:
        """:meth:`preference_vector` for each row of ``clients``.

        Returns
        -------
        csr_matrix, shape (len(clients), n_features_)
        """
        present = {c: clients[c].array for c in PREFERENCE_COLUMNS if c in clients.columns}
        return self.preference_rows(present, len(clients))

    def preference_rows(self, columns: Mapping[str, Any], n_clients: int) -> sp.csr_matrix:
        """:meth:`preference_vector` of ``n_clients`` clients at once.

        ``columns``: the clients' :data:`PREFERENCE_COLUMNS` they have, each an
        array-like of ``n_clients`` values. Each distinct text is split and
        looked up once, so that a million clients' rows (a model's table,
        :func:`core.engine.models.content.declared_preferences`) take seconds.

        Returns
        -------
        csr_matrix, shape (n_clients, n_features_)
            Each row L2-normalised with sorted columns, or empty.
        """
        self._check()
        config = self.config or EngineConfig()
        none = np.zeros(0, dtype=np.int64)
        rows, cols, vals = [none], [none], [np.zeros(0)]  # (what concatenates to no cells)
        for key, attr in PREFERENCES.items():
            lookup = self._lookup.get(attr)
            if lookup is None or key not in columns:
                continue
            r, hit = _listed(columns[key], lookup)
            size = max(len(lookup), 1)
            pair = np.unique(r * size + hit)  # each value once per client, sorted
            r, hit = pair // size, pair % size
            count = np.bincount(r, minlength=n_clients)
            rows.append(r)
            cols.append(self._offsets[attr] + hit)
            vals.append(config.attribute_weight / np.sqrt(count[r].astype(np.float64)))
        r, band, share = self._price_cells(columns, n_clients)
        rows.append(r)
        cols.append(self._offsets["price_band"] + band)
        vals.append(share * config.price_weight)
        r, c, v = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
        order = np.lexsort((c, r))
        r, c, v = r[order], c[order], v[order]
        norm = np.sqrt(np.bincount(r, weights=v * v, minlength=n_clients))
        indptr = np.zeros(n_clients + 1, dtype=np.int64)
        np.cumsum(np.bincount(r, minlength=n_clients), out=indptr[1:])
        v = np.divide(v, norm[r], out=v.copy(), where=norm[r] > 0)
        return sp.csr_matrix((v, c.astype(np.int32), indptr), shape=(n_clients, self.n_features_))

    def _price_cells(
        self, columns: Mapping[str, Any], n_clients: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The price bands each client's ``price_min``-``price_max`` range overlaps: rows, bands, shares.

        A band's share is the part of the client's preferred categories (each
        as often as listed; every category when none is known) in which the
        range overlaps it; each client's shares are L2-normalised.
        """
        none = np.zeros(0, dtype=np.int64)
        if not self.n_price_bands_ or not {"price_min", "price_max"} & set(columns):
            return none, none, np.zeros(0)
        lo, hi = (_numbers(columns.get(c), n_clients) for c in ("price_min", "price_max"))
        ranged = np.flatnonzero(~(np.isnan(lo) & np.isnan(hi)))
        lo = np.where(np.isnan(lo), -np.inf, lo)[ranged]
        hi = np.where(np.isnan(hi), np.inf, hi)[ranged]
        at = np.full(n_clients, -1)
        at[ranged] = np.arange(ranged.size)
        folds = list(self._bounds_by_fold)
        # the clients' preferred categories that have bands, as often as listed
        r, cat = none, none
        if folds and "pref_categories" in columns:
            r, cat = _listed(columns["pref_categories"], {f: i for i, f in enumerate(folds)})
            r = at[r]  # (their position among the clients with a range)
            keep = r >= 0
            r, cat = r[keep], cat[keep]
        n_bands = self.n_price_bands_
        overlap = np.zeros((ranged.size, n_bands))
        listed = np.bincount(r, minlength=ranged.size)
        if r.size:
            bounds = np.array([self._bounds_by_fold[f] for f in folds])[cat]
            hits = (lo[r, None] < bounds[:, 1:]) & (hi[r, None] >= bounds[:, :-1])
            for b in range(n_bands):
                overlap[:, b] = np.bincount(r, weights=hits[:, b], minlength=ranged.size)
        unlisted = listed == 0
        every = self._all_bounds
        for bounds in every:
            overlap[unlisted] += (lo[unlisted, None] < bounds[1:]) & (
                hi[unlisted, None] >= bounds[:-1]
            )
        share = overlap / np.where(unlisted, every.shape[0], listed)[:, None]
        norm = np.sqrt(np.einsum("ij,ij->i", share, share))
        share = np.divide(share, norm[:, None], out=np.zeros_like(share), where=norm[:, None] > 0)
        row, band = np.nonzero(share)
        return ranged[row], band, share[row, band]

    # -------------------------------------------------------- persistence
    def get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Arrays and JSON-ready metadata; :meth:`from_state` rebuilds the object."""
        self._check()
        meta = {
            "attributes": self.attributes_,
            "tags": self.tags_,
            "words": self.words_,
            "price_edges": self.price_edges_,
            "category_price_edges": self.category_price_edges_,
            "flags": self.flags_,
            "visual_dim": self.visual_dim_,
        }
        return {"tag_idf": self.tag_idf_, "word_idf": self.word_idf_}, meta

    @classmethod
    def from_state(
        cls,
        arrays: Mapping[str, np.ndarray],
        meta: Mapping[str, Any],
        config: EngineConfig | None = None,
    ) -> ProductFeatures:
        out = cls(config)
        out.attributes_ = {k: list(v) for k, v in meta["attributes"].items()}
        out.tags_ = list(meta["tags"])
        out.words_ = list(meta["words"])
        out.price_edges_ = [float(x) for x in meta["price_edges"]]
        out.category_price_edges_ = {
            k: [float(x) for x in v] for k, v in meta["category_price_edges"].items()
        }
        out.flags_ = list(meta["flags"])
        out.visual_dim_ = int(meta.get("visual_dim", 0))  # models saved before it had none
        out.tag_idf_ = np.asarray(arrays["tag_idf"], dtype=np.float64)
        out.word_idf_ = np.asarray(arrays["word_idf"], dtype=np.float64)
        out._index()
        return out


def _edges(prices: np.ndarray, n_bands: int) -> list[float]:
    qs = np.linspace(0.0, 1.0, n_bands + 1)[1:-1]
    return [float(x) for x in np.quantile(prices, qs)]


def _one_hot(codes: np.ndarray, width: int, weight: float) -> sp.csr_matrix:
    codes = np.asarray(codes)
    n = codes.size
    ok = codes >= 0
    return sp.csr_matrix(
        (np.full(int(ok.sum()), weight, dtype=np.float64), (np.flatnonzero(ok), codes[ok])),
        shape=(n, width),
    )


def _listed(values: Any, lookup: Mapping[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Every known value of a ``|``-listed column: (row, code in ``lookup``), repeats kept.

    Matched case-insensitively (``lookup``'s keys are case-folded); each
    distinct text is split once.
    """
    codes, texts = _factorize(values)
    found = [[lookup[v.casefold()] for v in split_list(t) if v.casefold() in lookup] for t in texts]
    indptr = np.zeros(len(found) + 1, dtype=np.int64)
    np.cumsum([len(f) for f in found], out=indptr[1:])
    flat = np.fromiter((c for f in found for c in f), dtype=np.int64, count=int(indptr[-1]))
    rows = np.flatnonzero(codes >= 0)
    which = codes[rows]
    return np.repeat(rows, np.diff(indptr)[which]), flat[row_selector(indptr, which)]


def _factorize(values: Any) -> tuple[np.ndarray, list[Any]]:
    """Codes of ``values`` into their distinct non-missing values (-1: missing), and those."""
    if len(values) > _FEW_ROWS:  # a table: pandas' hashing
        codes, texts = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
        return codes.astype(np.int64), list(texts)
    index: dict[Any, int] = {}  # a request's row: no pandas
    out = [-1 if _missing(v) else index.setdefault(v, len(index)) for v in values]
    return np.array(out, dtype=np.int64), list(index)


def _numbers(values: Any, n: int) -> np.ndarray:
    """A numeric column as float64 (NaN where missing or not a number); all NaN when absent."""
    if values is None:
        return np.full(n, np.nan)
    if len(values) > _FEW_ROWS:
        return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
    return np.array([_number(v) for v in values], dtype=np.float64)


def _number(value: Any) -> float:
    if _missing(value):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _missing(value: Any) -> bool:
    return (
        value is None
        or value is pd.NA
        or value is pd.NaT
        or (isinstance(value, float) and math.isnan(value))
    )
