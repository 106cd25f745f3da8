"""Taste clusters of the catalogue, their names, momentum, gaps and a 2-D map.

:class:`TrendAnalyzer` clusters the (normalised) item factors of a fitted
model — cold products included, placed through the model's content-to-factor
map — choosing the number of clusters by silhouette over a range. Clusters are
named by the attributes that distinguish them from the whole catalogue.
Demand is the weighted count of purchases, try-ons and wishlists (views and
emails say too little about demand to steer a buy).

No client data leaves this module: every output is an aggregate over products.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Self

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_score

from core.data.dataset import Dataset
from core.data.schema import split_list
from core.data.values import TimeLike
from core.engine.cells import AsOf
from core.engine.house import house_of
from core.exceptions import NotFittedError, UnknownIdError

#: Event weights of demand (what a merchandiser plans a buy on).
DEMAND_WEIGHTS: dict[str, float] = {"purchase": 1.0, "try_on": 0.5, "wishlist": 0.5}
#: Attributes used to name clusters, with the prefix shown before the value.
NAME_ATTRIBUTES: tuple[str, ...] = ("material", "color", "designer", "category", "style_tags")
#: The ``currency`` of a cluster whose products are priced in more than one currency.
MIXED_CURRENCY = "mixed"
#: A product without a currency is priced in the contract's default.
DEFAULT_CURRENCY = "EUR"


class Embedded(Protocol):
    """A fitted model with an item embedding (one row per product), e.g. the hybrid."""

    def item_embedding(self) -> np.ndarray: ...


@dataclass(frozen=True)
class TrendParams:
    """Parameters of :class:`TrendAnalyzer`, with their allowed ranges checked once."""

    k_min: int = 4
    k_max: int = 14
    recent_days: int = 28
    earlier_days: int = 84
    min_events: int = 10
    alpha: float = 0.05
    pseudo_count: float = 3.0
    silhouette_sample: int = 3000
    seed: int = 0

    def __post_init__(self) -> None:
        if not 2 <= self.k_min <= self.k_max:
            raise ValueError(
                f"need 2 <= k_min <= k_max, got k_min={self.k_min}, k_max={self.k_max}"
            )
        if self.recent_days < 1 or self.earlier_days < 1:
            raise ValueError("recent_days and earlier_days must be at least 1")
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha}")
        if self.min_events < 1 or self.pseudo_count <= 0:
            raise ValueError("min_events must be >= 1 and pseudo_count > 0")


def demand_events(dataset: Dataset, weights: dict[str, float] | None = None) -> pd.DataFrame:
    """Events that express demand, with a ``demand`` weight column (returns subtract).

    A dataset served without events gives the house's sums per time bin
    instead (:mod:`core.engine.house`): every window of whole days before
    ``as_of``, or of weeks from a midnight, adds up to the same demand.
    """
    weights = weights or DEMAND_WEIGHTS
    house = house_of(dataset)
    if house is not None:
        return house.demand_frame(dataset.product_ids, weights)
    ev = dataset.events
    w = ev["event_type"].map({**weights, "return": -weights.get("purchase", 1.0)})
    keep = w.notna()
    out = ev.loc[keep, ["product_id", "timestamp", "store_id", "event_type"]].copy()
    out["demand"] = w[keep].astype(float) * ev.loc[keep, "quantity"].clip(lower=1).astype(float)
    return out


def product_currencies(products: pd.DataFrame) -> np.ndarray:
    """Each product's currency code (upper case; :data:`DEFAULT_CURRENCY` when missing)."""
    if "currency" not in products.columns:
        return np.full(len(products), DEFAULT_CURRENCY, dtype=object)
    codes = products["currency"].astype(object).where(products["currency"].notna(), "")
    codes = codes.astype(str).str.strip().str.upper()
    return codes.where(codes != "", DEFAULT_CURRENCY).to_numpy(dtype=object)


def _one_currency(codes: np.ndarray) -> str:
    """The currency of a group of products, or :data:`MIXED_CURRENCY`."""
    distinct = set(codes.tolist())
    return distinct.pop() if len(distinct) == 1 else MIXED_CURRENCY if distinct else ""


def _choose_k(
    x: np.ndarray, params: TrendParams
) -> tuple[int, np.ndarray, np.ndarray, pd.DataFrame]:
    rng = np.random.default_rng(params.seed)
    n = x.shape[0]
    k_max = min(params.k_max, n - 1)
    sample = rng.choice(n, size=min(n, params.silhouette_sample), replace=False)
    rows = []
    best: tuple[float, int, KMeans] | None = None
    for k in range(params.k_min, k_max + 1):
        km = KMeans(n_clusters=k, n_init=4, random_state=params.seed).fit(x)
        labels = km.labels_
        if len(np.unique(labels[sample])) < 2:
            continue
        s = float(silhouette_score(x[sample], labels[sample]))
        rows.append({"k": k, "silhouette": s, "inertia": float(km.inertia_)})
        if best is None or s > best[0]:
            best = (s, k, km)
    if best is None:
        raise ValueError("could not cluster the catalogue: too few distinct products")
    _, k, km = best
    return k, km.labels_.astype(np.int64), km.cluster_centers_, pd.DataFrame(rows)


def _attribute_matrix(products: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """One-hot (product x attribute value) for naming; list columns are split."""
    cols: dict[str, np.ndarray] = {}
    n = len(products)
    for attr in NAME_ATTRIBUTES:
        if attr not in products.columns:
            continue
        values = products[attr].fillna("").astype(str)
        if attr == "style_tags":
            lists = values.map(split_list)
        else:
            lists = values.map(lambda v: [v] if v.strip() else [])
        for i, items in enumerate(lists):
            for item in items:
                key = item.strip().lower()
                arr = cols.setdefault(key, np.zeros(n, dtype=bool))
                arr[i] = True
    names = sorted(cols)
    if not names:
        return np.zeros((n, 0), dtype=bool), []
    return np.column_stack([cols[k] for k in names]), names


class TrendAnalyzer:
    """Clusters, names, momentum, gaps and a 2-D map of the catalogue.

    Parameters
    ----------
    params : TrendParams, optional
        Range of k, momentum windows, small-count guard, seed.

    Attributes
    ----------
    k_ : int
        Number of clusters chosen (best silhouette over ``k_min..k_max``).
    labels_ : ndarray, shape (n_products,)
        Cluster of each product (dataset product order).
    names_ : list of str
        Name of each cluster from its distinctive attributes.
    selection_ : DataFrame
        Silhouette and inertia for each k tried.
    coords_ : ndarray, shape (n_products, 2)
        2-D projection (PCA) of the item vectors.
    """

    def __init__(self, params: TrendParams | None = None) -> None:
        self.params = params

    # ------------------------------------------------------------------ fit
    def fit(self, dataset: Dataset, item_vectors: np.ndarray) -> Self:
        """Cluster ``item_vectors`` (one row per product, dataset order).

        Raises
        ------
        ValueError
            When the shapes disagree or the vectors hold NaN/inf.
        """
        params = self.params or TrendParams()
        x = np.asarray(item_vectors, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] != len(dataset.products):
            raise ValueError(
                f"item_vectors must have one row per product ({len(dataset.products)}), "
                f"got shape {x.shape}"
            )
        if not np.isfinite(x).all():
            raise ValueError("item_vectors hold NaN or infinite values; refit the model")
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        x = x / np.where(norms > 0, norms, 1.0)
        self.k_, self.labels_, self.centers_, self.selection_ = _choose_k(x, params)
        self.coords_ = PCA(n_components=2, random_state=params.seed).fit_transform(x)
        self.dataset_ = dataset
        self.params_ = params
        self.demand_ = demand_events(dataset)
        self.currency_ = product_currencies(dataset.products)
        self.names_ = self._name_clusters()
        return self

    @classmethod
    def from_model(
        cls, model: Embedded, dataset: Dataset, params: TrendParams | None = None
    ) -> Self:
        """Fit on a fitted hybrid model's item embedding (cold products included)."""
        return cls(params).fit(dataset, model.item_embedding())

    def _check(self) -> None:
        if not hasattr(self, "labels_"):
            raise NotFittedError("TrendAnalyzer is not fitted yet: call fit(dataset, item_vectors)")

    def _name_clusters(self, n_terms: int = 3) -> list[str]:
        onehot, names = _attribute_matrix(self.dataset_.products)
        base = onehot.mean(axis=0) if onehot.size else np.zeros(0)
        out = []
        for c in range(self.k_):
            members = self.labels_ == c
            if not onehot.size or not members.any():
                out.append(f"Cluster {c + 1}")
                continue
            share = onehot[members].mean(axis=0)
            # Distinctive = frequent in the cluster AND over-represented vs the catalogue.
            lift = share / np.maximum(base, 1e-9)
            score = np.where(share >= 0.2, share * np.log(np.maximum(lift, 1e-9)), -np.inf)
            top = [names[i] for i in np.argsort(-score)[: n_terms * 2] if np.isfinite(score[i])]
            terms: list[str] = []
            for t in top:
                if t not in terms:
                    terms.append(t)
                if len(terms) == n_terms:
                    break
            out.append(" · ".join(terms) if terms else f"Cluster {c + 1}")
        # Names must tell clusters apart.
        seen: dict[str, int] = {}
        for i, name in enumerate(out):
            if name in seen:
                out[i] = f"{name} ({i + 1})"
            seen[name] = i
        return out

    # -------------------------------------------------------------- outputs
    def _cluster_of(self) -> pd.Series:
        return pd.Series(self.labels_, index=self.dataset_.products["product_id"].to_numpy())

    def product_map(self) -> pd.DataFrame:
        """Products with 2-D coordinates, cluster and the details shown on hover (price, currency)."""
        self._check()
        p = self.dataset_.products
        return pd.DataFrame(
            {
                "product_id": p["product_id"].to_numpy(),
                "x": self.coords_[:, 0],
                "y": self.coords_[:, 1],
                "cluster": self.labels_,
                "cluster_name": [self.names_[c] for c in self.labels_],
                "name": p["name"].to_numpy(),
                "designer": p["designer"].to_numpy(),
                "category": p["category"].to_numpy(),
                "price": p["price"].to_numpy(),
                "currency": self.currency_,
            }
        )

    def product_demand(
        self, since: pd.Timestamp | None = None, store_id: str | None = None
    ) -> pd.Series:
        """Net weighted demand per product (dataset order), optionally recent / per store."""
        self._check()
        d = self.demand_
        if since is not None:
            d = d[d["timestamp"] >= since]
        if store_id is not None:
            d = d[d["store_id"] == store_id]
        per = d.groupby("product_id")["demand"].sum()
        return per.reindex(self.dataset_.products["product_id"], fill_value=0.0).clip(lower=0.0)

    def currencies(self) -> list[str]:
        """The currencies the catalogue is priced in, sorted (one, unless prices are mixed)."""
        self._check()
        return sorted(set(self.currency_.tolist()))

    def clusters(self, n_top: int = 5) -> pd.DataFrame:
        """One row per cluster: name, size, top products and designers, price band, demand share.

        The price band (``price_low``, ``price_median``, ``price_high``) is in the
        cluster's ``currency``, or mixes currencies when that is :data:`MIXED_CURRENCY`.
        """
        self._check()
        p = self.dataset_.products
        demand = self.product_demand().to_numpy()
        total = demand.sum()
        rows = []
        for c in range(self.k_):
            m = self.labels_ == c
            members = p[m]
            dem = demand[m]
            order = np.argsort(-dem, kind="stable")[:n_top]
            rows.append(
                {
                    "cluster": c,
                    "name": self.names_[c],
                    "n_products": int(m.sum()),
                    "catalogue_share": float(m.mean()),
                    "demand_share": float(dem.sum() / total) if total > 0 else 0.0,
                    "currency": _one_currency(self.currency_[m]),
                    "price_low": float(members["price"].quantile(0.25)),
                    "price_median": float(members["price"].median()),
                    "price_high": float(members["price"].quantile(0.75)),
                    "top_designers": ", ".join(
                        members["designer"].replace("", np.nan).dropna().value_counts().index[:3]
                    ),
                    "top_products": ", ".join(members["name"].to_numpy()[order]),
                    "top_product_ids": list(members["product_id"].to_numpy()[order]),
                }
            )
        return pd.DataFrame(rows)

    def cluster_products(self, cluster: int, n: int = 20) -> pd.DataFrame:
        """The products of one cluster (name, designer, category, price, currency), most demanded first."""
        self._check()
        if not 0 <= int(cluster) < self.k_:
            raise UnknownIdError(f"unknown cluster {cluster!r}: clusters are 0..{self.k_ - 1}")
        m = self.labels_ == int(cluster)
        p = self.dataset_.products.loc[m, ["product_id", "name", "designer", "category", "price"]]
        p = p.assign(currency=self.currency_[m], demand=self.product_demand().to_numpy()[m])
        top: pd.DataFrame = p.sort_values(["demand", "product_id"], ascending=[False, True])
        return top.head(n).reset_index(drop=True)

    def _windows(
        self, as_of: AsOf, recent_days: int | None, earlier_days: int | None
    ) -> tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp, int, int]:
        params = self.params_
        as_of = pd.Timestamp(as_of) if as_of is not None else self.dataset_.as_of
        r = recent_days or params.recent_days
        e = earlier_days or params.earlier_days
        recent_start = as_of - pd.Timedelta(days=r)
        earlier_start = recent_start - pd.Timedelta(days=e)
        return as_of, recent_start, earlier_start, r, e

    def _momentum_table(
        self, keys: pd.Series, as_of: AsOf, recent_days: int | None, earlier_days: int | None
    ) -> pd.DataFrame:
        as_of, recent_start, earlier_start, r, e = self._windows(as_of, recent_days, earlier_days)
        d = self.demand_.assign(key=keys.reindex(self.demand_["product_id"]).to_numpy())
        d = d[(d["timestamp"] >= earlier_start) & (d["timestamp"] <= as_of)]
        recent = d[d["timestamp"] >= recent_start].groupby("key")["demand"].sum().clip(lower=0)
        earlier = d[d["timestamp"] < recent_start].groupby("key")["demand"].sum().clip(lower=0)
        table = pd.DataFrame({"recent": recent, "earlier": earlier}).fillna(0.0)
        # Rates per day, so windows of different lengths compare.
        table["recent_rate"] = table["recent"] / r
        table["earlier_rate"] = table["earlier"] / e
        pc = self.params_.pseudo_count
        table["momentum"] = np.log(
            (table["recent_rate"] * r + pc) / (table["earlier_rate"] * r + pc)
        )
        n = table["recent"] + table["earlier"]
        enough = n >= self.params_.min_events
        # Small-count guard: a percentage only where there is enough demand to mean it.
        table["change_pct"] = np.where(
            enough & (table["earlier_rate"] > 0),
            100.0
            * (table["recent_rate"] / table["earlier_rate"].where(table["earlier_rate"] > 0) - 1),
            np.nan,
        )
        # Conditional binomial test: given n events in both windows, is the recent
        # share above what the window lengths alone predict?
        p0 = r / (r + e)
        pvals = [
            stats.binomtest(int(round(k)), int(round(nn)), p0, alternative="greater").pvalue
            if nn >= 1
            else 1.0
            for k, nn in zip(table["recent"], n, strict=True)
        ]
        table["p_value"] = pvals
        table["rising"] = enough & (table["p_value"] < self.params_.alpha) & (table["momentum"] > 0)
        table["enough_data"] = enough
        return table

    def momentum(
        self,
        as_of: AsOf = None,
        recent_days: int | None = None,
        earlier_days: int | None = None,
    ) -> pd.DataFrame:
        """Recent vs earlier demand per cluster, fastest rising first.

        ``momentum`` is the log ratio of daily demand rates with pseudo-counts,
        so 1 -> 4 events does not read as +300%; ``change_pct`` is only given
        when a cluster has at least ``min_events`` in the two windows, and
        ``rising`` needs a binomial test at level ``alpha``.
        """
        self._check()
        table = self._momentum_table(self._cluster_of(), as_of, recent_days, earlier_days)
        table = table.reindex(range(self.k_))
        for col in ("rising", "enough_data"):
            table[col] = table[col].astype("boolean").fillna(False)
        table = table.fillna(
            {c: 0.0 for c in ("recent", "earlier", "recent_rate", "earlier_rate", "momentum")}
        )
        table.index.name = "cluster"
        table = table.reset_index()
        table["name"] = [self.names_[c] for c in table["cluster"]]
        for col in ("rising", "enough_data"):
            table[col] = table[col].astype(bool)
        table.loc[table["recent"] + table["earlier"] == 0, "p_value"] = 1.0
        return table.sort_values(["momentum", "cluster"], ascending=[False, True]).reset_index(
            drop=True
        )

    def rising_products(
        self,
        n: int = 10,
        as_of: AsOf = None,
        recent_days: int | None = None,
        earlier_days: int | None = None,
    ) -> pd.DataFrame:
        """Products rising fastest (same guard as :meth:`momentum`)."""
        self._check()
        ids = self.dataset_.products["product_id"]
        keys = pd.Series(ids.to_numpy(), index=ids.to_numpy())
        table = self._momentum_table(keys, as_of, recent_days, earlier_days)
        table = table[table["enough_data"]]
        table.index.name = "product_id"
        table = table.reset_index()
        info = self.dataset_.products.set_index("product_id")
        table["name"] = info.loc[table["product_id"], "name"].to_numpy()
        table["cluster"] = self._cluster_of().loc[table["product_id"]].to_numpy()
        return (
            table.sort_values(["momentum", "product_id"], ascending=[False, True])
            .head(n)
            .reset_index(drop=True)
        )

    def weekly_series(self, weeks: int = 26, as_of: AsOf = None) -> pd.DataFrame:
        """Demand per cluster in each of the ``weeks`` whole weeks that end at ``as_of`` (long format).

        The weeks run back from the data's date, so the last one is as full as
        the others: weeks counted from a calendar day left a last "week" of a
        few hours whose near-zero demand drew every cluster's line down to the
        floor at the chart's right edge. ``week_start`` is where each week
        begins (the latest week ends at ``as_of``).
        """
        self._check()
        as_of = pd.Timestamp(as_of) if as_of is not None else self.dataset_.as_of
        week = pd.Timedelta(days=7)
        start = as_of - weeks * week
        d = self.demand_[(self.demand_["timestamp"] > start) & (self.demand_["timestamp"] <= as_of)]
        # Week w holds (start + w weeks, start + (w + 1) weeks]: as_of itself is in the last.
        elapsed = (d["timestamp"] - start) / week
        d = d.assign(
            cluster=self._cluster_of().reindex(d["product_id"]).to_numpy(),
            week=np.clip(np.ceil(elapsed.to_numpy(dtype=float)) - 1, 0, weeks - 1).astype(int),
        )
        grid = pd.MultiIndex.from_product([range(weeks), range(self.k_)], names=["week", "cluster"])
        s = d.groupby(["week", "cluster"])["demand"].sum().reindex(grid, fill_value=0.0)
        out: pd.DataFrame = s.reset_index()
        out["week_start"] = start + out["week"] * week
        out["name"] = [self.names_[c] for c in out["cluster"]]
        return out

    def gaps(self, store_id: str | None = None, since: TimeLike | None = None) -> pd.DataFrame:
        """Each cluster's share of demand vs its share of the catalogue and of stock.

        ``gap = demand_share - stock_share``: positive where demand outruns stock.
        Shares sum to 1 over clusters (when there is any demand / stock).
        """
        self._check()
        ds = self.dataset_
        if store_id is not None and store_id not in set(ds.stores["store_id"]):
            raise UnknownIdError(f"unknown store id {store_id!r}")
        since_ts = pd.Timestamp(since) if since is not None else None
        demand = self.product_demand(since=since_ts, store_id=store_id).to_numpy()
        stock = ds.stock if store_id is None else ds.stock[ds.stock["store_id"] == store_id]
        stock_per = (
            stock.groupby("product_id")["quantity"]
            .sum()
            .reindex(ds.products["product_id"], fill_value=0)
            .to_numpy(dtype=float)
        )
        in_range = np.ones(len(ds.products), dtype=bool)
        if store_id is not None:
            in_range = stock_per > 0
        labels = self.labels_
        k = self.k_

        def share(values: np.ndarray) -> np.ndarray:
            per = np.bincount(labels, weights=values, minlength=k)
            tot = per.sum()
            return per / tot if tot > 0 else np.zeros(k)

        out = pd.DataFrame(
            {
                "cluster": np.arange(k),
                "name": self.names_,
                "demand": np.bincount(labels, weights=demand, minlength=k),
                "demand_share": share(demand),
                "catalogue_share": share(in_range.astype(float)),
                "stock_units": np.bincount(labels, weights=stock_per, minlength=k),
                "stock_share": share(stock_per),
            }
        )
        out["gap"] = out["demand_share"] - out["stock_share"]
        out["store_id"] = store_id or "all"
        return out.sort_values(["gap", "cluster"], ascending=[False, True]).reset_index(drop=True)
