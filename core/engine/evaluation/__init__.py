"""Offline evaluation: temporal split, ranking metrics and a report.

Protocol
--------
1. **Split in time.** :func:`temporal_split` cuts the event log at
   ``cutoff = end - test_days`` (``end`` is the day after the last event).
   The training :class:`~core.data.dataset.Dataset` holds every event strictly
   before the cutoff and nothing at or after it, so a model fitted on it
   cannot see the test window; its "now" (``as_of``) is the cutoff. The
   catalogue and the client table are kept whole, so that products launched
   during the test window (cold products) and clients with no history before
   it (cold clients) can still be scored from their attributes.
2. **What counts as relevant.** A (client, product) pair is relevant when
   the client bought it in the test window (optionally also wishlisted or
   tried it on), it was not a gift (gifts say little about the buyer's own
   taste), and it was not returned in the window.
3. **Candidates.** Every model ranks the whole catalogue minus the products
   the client already bought before the cutoff; the same pairs are dropped
   from the relevant set. Nothing else is filtered (no stock or business
   rules), identically for every model.
4. **Who is scored.** Every client with at least one relevant pair
   (optionally a seeded sample of them), in chunks through
   :meth:`~core.engine.models.base.Recommender.score_clients`.
5. **Validation.** :attr:`Split.validation` repeats the same construction
   inside the training period (``val_days`` before the cutoff), for tuning
   (:mod:`core.engine.tune`); the test window is never used to choose parameters.

Metrics are binary-relevance ranking metrics averaged over clients:
Recall@k, Precision@k, NDCG@k (log2 discount), MAP@k, hit rate@k, plus
catalogue coverage, intra-list diversity (mean pairwise 1 - cosine in the
vectors the suggestion pipeline diversifies and reports with,
:func:`core.engine.diversity.diversity_vectors`) and novelty (mean ``-log2`` of an item's training popularity).
Each is also available as a pure function of one ranked list.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.data.dataset import Dataset
from core.data.schema import COLS
from core.engine.diversity import (
    ItemVectors,
    diversity_vectors,
    intra_list_diversity_rows,
)
from core.engine.models.base import Recommender
from core.engine.ranking import top_indices

RecommenderFactory = Callable[[], Recommender]
Progress = Callable[[str, float], None]

#: Relevance by default: purchases only.
DEFAULT_RELEVANT_EVENTS: tuple[str, ...] = ("purchase",)
#: Columns of the markdown summary (the JSON holds every metric at every k).
SUMMARY_COLUMNS: tuple[str, ...] = (
    "Recall@10",
    "Recall@20",
    "NDCG@10",
    "Precision@10",
    "MAP@10",
    "HitRate@10",
    "Coverage@20",
    "Diversity@10",
    "Novelty@10",
)


def _noop(message: str, fraction: float) -> None:
    return None


# ===================================================================== split
@dataclass(frozen=True)
class Split:
    """A temporal train/test split (see the module docstring for the protocol).

    Attributes
    ----------
    train : Dataset
        Every table of the source dataset, with only the events strictly
        before ``cutoff``; its ``as_of`` is ``cutoff``.
    test : DataFrame
        Relevant pairs in ``[cutoff, end)``: columns ``client_id``,
        ``product_id`` (unique pairs, already without ``known`` pairs).
    known : DataFrame
        ``client_id``, ``product_id`` pairs bought before the cutoff; they are
        removed from every model's candidates and from ``test``.
    cutoff, end : Timestamp
        The test window is ``[cutoff, end)``.
    validation : Split or None
        The same construction inside ``train`` (window ``val_days`` before
        ``cutoff``), for tuning.
    """

    train: Dataset
    test: pd.DataFrame
    known: pd.DataFrame
    cutoff: pd.Timestamp
    end: pd.Timestamp
    relevant_events: tuple[str, ...] = DEFAULT_RELEVANT_EVENTS
    validation: Split | None = None

    @property
    def test_clients(self) -> np.ndarray:
        """Clients with at least one relevant pair, in client-table order."""
        present = set(self.test[COLS.client_id])
        ids = self.train.client_ids.external_ids
        return np.asarray([c for c in ids if c in present], dtype=object)

    def summary(self) -> dict[str, Any]:
        """Sizes and dates of the split, as plain JSON-able values."""
        return {
            "cutoff": self.cutoff.isoformat(),
            "end": self.end.isoformat(),
            "train_events": len(self.train.events),
            "test_pairs": len(self.test),
            "test_clients": int(self.test[COLS.client_id].nunique()),
            "known_pairs_excluded": len(self.known),
            "relevant_events": list(self.relevant_events),
        }


def _window_end(dataset: Dataset) -> pd.Timestamp:
    last = dataset.events["timestamp"].max()
    if pd.isna(last):
        raise ValueError("the dataset has no events: a temporal split needs an event log")
    return pd.Timestamp(last).normalize() + pd.Timedelta(days=1)


def _train_dataset(dataset: Dataset, cutoff: pd.Timestamp) -> Dataset:
    events = dataset.events
    train_events = events.loc[events["timestamp"] < cutoff].reset_index(drop=True)
    train = Dataset(
        products=dataset.products,
        stores=dataset.stores,
        stock=dataset.stock,
        associates=dataset.associates,
        clients=dataset.clients,
        events=train_events,
        source=f"{dataset.source} (events before {cutoff.date()})",
        # The training data's "now" is the cutoff, not the latest launch date: time
        # decay and new-arrival priors must be computed as a model at the cutoff would.
        cutoff=cutoff,
    )
    return train


def _split_at(
    dataset: Dataset,
    cutoff: pd.Timestamp,
    end: pd.Timestamp,
    relevant_events: tuple[str, ...],
    include_gifts: bool,
) -> Split:
    events = dataset.events
    train = _train_dataset(dataset, cutoff)
    pair = [COLS.client_id, COLS.product_id]

    before = events.loc[(events["timestamp"] < cutoff) & (events["event_type"] == "purchase")]
    known = before[pair].drop_duplicates().reset_index(drop=True)

    window = events.loc[(events["timestamp"] >= cutoff) & (events["timestamp"] < end)]
    rel = window.loc[window["event_type"].isin(relevant_events)]
    if not include_gifts:
        rel = rel.loc[~rel["is_gift"].astype(bool)]
    returned = window.loc[window["event_type"] == "return", pair].drop_duplicates()
    rel = rel[pair].drop_duplicates()
    drop = pd.concat([known, returned], ignore_index=True).drop_duplicates()
    merged = rel.merge(drop, on=pair, how="left", indicator=True)
    test = merged.loc[merged["_merge"] == "left_only", pair].reset_index(drop=True)
    return Split(
        train=train,
        test=test,
        known=known,
        cutoff=cutoff,
        end=end,
        relevant_events=relevant_events,
    )


def temporal_split(
    dataset: Dataset,
    test_days: int = 28,
    val_days: int = 28,
    *,
    relevant_events: Sequence[str] = DEFAULT_RELEVANT_EVENTS,
    include_gifts: bool = False,
) -> Split:
    """Split ``dataset`` in time: train before the cutoff, test in the last ``test_days``.

    Parameters
    ----------
    dataset : Dataset
    test_days : int
        Length of the test window in days, ending the day after the last event.
    val_days : int
        Length of the validation window carved from the end of the training
        period (``0`` for none).
    relevant_events : sequence of str
        Event types that make a test pair relevant (default purchases; add
        ``"wishlist"``, ``"try_on"`` for a softer target).
    include_gifts : bool
        Count gift purchases as relevant (default ``False``).

    Returns
    -------
    Split

    Raises
    ------
    ValueError
        For a non-positive window, an unknown event type, or windows that
        leave no training events.
    """
    from core.data.schema import EVENT_TYPES

    for name, days, low in (("test_days", test_days, 1), ("val_days", val_days, 0)):
        if isinstance(days, bool) or not isinstance(days, int | np.integer) or days < low:
            raise ValueError(f"{name} must be a whole number of days >= {low}, got {days!r}")
    relevant = tuple(relevant_events)
    unknown = [e for e in relevant if e not in EVENT_TYPES or e == "return"]
    if not relevant or unknown:
        raise ValueError(
            f"relevant_events must be event types among {', '.join(EVENT_TYPES[:-1])}; "
            f"got {list(relevant)}"
        )
    end = _window_end(dataset)
    cutoff = end - pd.Timedelta(days=int(test_days))
    first = dataset.events["timestamp"].min()
    val_cutoff = cutoff - pd.Timedelta(days=int(val_days))
    if first >= val_cutoff:
        raise ValueError(
            f"the event log spans {first.date()} to {(end - pd.Timedelta(days=1)).date()}: "
            f"test_days={test_days} and val_days={val_days} leave no training events; "
            "use shorter windows"
        )
    split = _split_at(dataset, cutoff, end, relevant, include_gifts)
    validation = None
    if val_days > 0:
        validation = _split_at(split.train, val_cutoff, cutoff, relevant, include_gifts)
    return Split(
        train=split.train,
        test=split.test,
        known=split.known,
        cutoff=cutoff,
        end=end,
        relevant_events=relevant,
        validation=validation,
    )


# =================================================================== metrics
def _discounts(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))


def _metrics_from_hits(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """Per-row Recall, Precision, NDCG, MAP and hit rate at ``k``.

    Parameters
    ----------
    hits : ndarray of bool, shape (n, K) with K >= k
        ``hits[i, r]``: the item at rank ``r + 1`` of list ``i`` is relevant.
    n_relevant : ndarray of int, shape (n,)
        Number of relevant items of each row (> 0).
    """
    h = np.asarray(hits[:, :k], dtype=np.float64)
    if h.shape[1] < k:
        h = np.pad(h, ((0, 0), (0, k - h.shape[1])))
    n_rel = np.asarray(n_relevant, dtype=np.float64)
    n_hits = h.sum(axis=1)
    disc = _discounts(k)
    ideal = np.cumsum(disc)[np.minimum(n_rel, k).astype(np.int64) - 1]
    precision_at_rank = np.cumsum(h, axis=1) / np.arange(1, k + 1)
    return {
        "Recall": n_hits / n_rel,
        "Precision": n_hits / k,
        "NDCG": (h @ disc) / ideal,
        "MAP": (precision_at_rank * h).sum(axis=1) / np.minimum(n_rel, k),
        "HitRate": (n_hits > 0).astype(np.float64),
    }


def _one_list(
    recommended: Sequence[Hashable], relevant: Collection[Hashable], k: int, metric: str
) -> float:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k must be a whole number >= 1, got {k!r}")
    rel = set(relevant)
    if not rel:
        raise ValueError("relevant is empty: ranking metrics are undefined without a relevant item")
    hits = np.array([[r in rel for r in list(recommended)[:k]]], dtype=bool).reshape(1, -1)
    return float(_metrics_from_hits(hits, np.array([len(rel)]), int(k))[metric][0])


def recall_at_k(recommended: Sequence[Hashable], relevant: Collection[Hashable], k: int) -> float:
    """Share of the relevant items found in the first ``k`` recommended.

    Parameters
    ----------
    recommended : sequence
        Ranked item ids, best first.
    relevant : collection
        The relevant item ids (non-empty).
    k : int

    Returns
    -------
    float
        ``|top-k ∩ relevant| / |relevant|``.
    """
    return _one_list(recommended, relevant, k, "Recall")


def precision_at_k(
    recommended: Sequence[Hashable], relevant: Collection[Hashable], k: int
) -> float:
    """``|top-k ∩ relevant| / k`` (a list shorter than ``k`` counts its gaps as misses)."""
    return _one_list(recommended, relevant, k, "Precision")


def ndcg_at_k(recommended: Sequence[Hashable], relevant: Collection[Hashable], k: int) -> float:
    """Normalised discounted cumulative gain with binary relevance.

    ``DCG = sum over ranks r <= k of rel_r / log2(r + 1)``, divided by the DCG
    of an ideal list (all relevant items first). Agrees with
    :func:`sklearn.metrics.ndcg_score` on binary relevance.
    """
    return _one_list(recommended, relevant, k, "NDCG")


def average_precision_at_k(
    recommended: Sequence[Hashable], relevant: Collection[Hashable], k: int
) -> float:
    """AP@k: mean of precision@r over the ranks r of hits, divided by ``min(k, |relevant|)``."""
    return _one_list(recommended, relevant, k, "MAP")


def hit_rate_at_k(recommended: Sequence[Hashable], relevant: Collection[Hashable], k: int) -> float:
    """1.0 when at least one relevant item is in the first ``k``, else 0.0."""
    return _one_list(recommended, relevant, k, "HitRate")


def catalogue_coverage(recommended_lists: Sequence[Sequence[Hashable]], n_items: int) -> float:
    """Share of the catalogue that appears in at least one list.

    Parameters
    ----------
    recommended_lists : sequence of sequences
    n_items : int
        Catalogue size (> 0).
    """
    if n_items < 1:
        raise ValueError(f"n_items must be at least 1, got {n_items}")
    seen = {item for lst in recommended_lists for item in lst}
    return len(seen) / n_items


def novelty(recommended: Sequence[int], popularity: np.ndarray) -> float:
    """Mean ``-log2(popularity)`` of the recommended items (higher = less obvious).

    Parameters
    ----------
    recommended : sequence of int
        Indices into ``popularity``.
    popularity : ndarray, shape (n_items,)
        Probability that a client interacted with each item, in (0, 1].
    """
    p = np.asarray(popularity, dtype=np.float64)[np.asarray(list(recommended), dtype=np.int64)]
    if p.size == 0:
        raise ValueError("novelty needs at least one recommended item")
    if (p <= 0).any() or (p > 1).any():
        raise ValueError("popularity must be in (0, 1]; smooth zero counts before calling")
    return float(np.mean(-np.log2(p)))


# ==================================================================== report
@dataclass
class EvaluationReport:
    """Results of :func:`evaluate`; serialisable for the dashboard.

    Attributes
    ----------
    metrics : DataFrame
        One row per model (index ``model``): every metric at every k
        (``Recall@10``, ``NDCG@20``, ``Coverage@20``, ...), ``fit_s`` and
        ``score_s`` (seconds), ``n_clients``.
    slices : DataFrame
        Columns ``model``, ``slice``, ``n_clients``, ``n_pairs``, then
        ``Recall@k`` and ``NDCG@k``: the ``all``, ``warm_clients``,
        ``cold_clients`` (no training event) and ``cold_products`` (relevant
        products with no training interaction; recall over those pairs only)
        slices, plus ``cold_share@k``, the share of suggestions that are
        cold products.
    taste : DataFrame or None
        With a generator ground truth: ``model``, ``segment_share`` (share of
        top-k suggestions in the client's planted segments),
        ``catalogue_share`` (share of the catalogue in those segments, the
        chance level), ``lift``.
    protocol : dict
        The split and the settings, for the record.
    """

    metrics: pd.DataFrame
    slices: pd.DataFrame
    taste: pd.DataFrame | None = None
    protocol: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "protocol": self.protocol,
            "metrics": self.metrics.reset_index().to_dict(orient="records"),
            "slices": self.slices.to_dict(orient="records"),
            "taste": None if self.taste is None else self.taste.to_dict(orient="records"),
        }

    def to_json(self, path: str | Path | None = None) -> str:
        """The report as JSON text (also written to ``path`` when given).

        NaN values become ``null``.
        """
        text = json.dumps(_clean(self.to_dict()), indent=2, allow_nan=False)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> EvaluationReport:
        """Read a report written by :meth:`to_json` (JSON text or a file path)."""
        text = str(text_or_path)
        if not text.lstrip().startswith("{"):
            text = Path(text_or_path).read_text(encoding="utf-8")
        data = json.loads(text)
        metrics = pd.DataFrame.from_records(data["metrics"]).set_index("model")
        slices = pd.DataFrame.from_records(data["slices"])
        taste = None if data.get("taste") is None else pd.DataFrame.from_records(data["taste"])
        return cls(
            metrics=metrics.astype({c: float for c in metrics.columns if c != "n_clients"}),
            slices=slices,
            taste=taste,
            protocol=data.get("protocol", {}),
        )

    def best(self, metric: str = "Recall@20") -> str:
        """Name of the model with the highest ``metric``."""
        return str(self.metrics[metric].astype(float).idxmax())

    def to_markdown(self, columns: Sequence[str] = SUMMARY_COLUMNS) -> str:
        """A readable summary: the main table, the slices and taste recovery."""
        p = self.protocol
        lines = ["## Offline evaluation", ""]
        if p:
            lines.append(
                f"Temporal split at {str(p.get('cutoff', '?'))[:10]}: test window of "
                f"{p.get('test_days', '?')} days, {p.get('n_clients', '?')} clients with "
                f"{p.get('test_pairs', '?')} relevant ({', '.join(p.get('relevant_events', []))}) "
                "pairs; products bought before the cutoff are excluded for every model."
            )
            lines.append("")
        cols = [c for c in columns if c in self.metrics.columns]
        extra = [c for c in ("fit_s",) if c in self.metrics.columns]
        table = self.metrics[cols + extra].reset_index()
        lines += _markdown_table(table)
        if len(self.slices):
            lines += ["", "### Slices", ""]
            lines += _markdown_table(self.slices)
        if self.taste is not None and len(self.taste):
            lines += ["", "### Planted taste recovery", ""]
            lines += _markdown_table(self.taste)
        return "\n".join(lines) + "\n"


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def _fmt(value: Any) -> str:
    if isinstance(value, float | np.floating):
        if not math.isfinite(float(value)):
            return "–"
        v = float(value)
        return f"{v:.4f}" if abs(v) < 10 else f"{v:.1f}"
    return str(value)


def _markdown_table(df: pd.DataFrame) -> list[str]:
    header = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return [header, rule, *body]


# ================================================================ evaluation
def default_models(config: Any = None) -> dict[str, RecommenderFactory]:
    """The models compared by default: the baselines and the engine's three variants.

    Modules are imported lazily; a model whose module is not available is
    left out.

    Parameters
    ----------
    config : EngineConfig, optional
        Engine configuration for the models that take one (default settings
        otherwise).
    """
    from core.engine.models.baselines import ItemKNNRecommender, PopularityRecommender

    models: dict[str, RecommenderFactory] = {
        "popularity": lambda: PopularityRecommender(config=config),
        "popularity_store": lambda: PopularityRecommender(per_store=True, config=config),
        "item_knn": lambda: ItemKNNRecommender(config=config),
    }
    try:
        from core.engine.models.svd import SVDRecommender

        models["svd"] = lambda: SVDRecommender(config=config)
    except ImportError:
        pass
    try:
        from core.engine.models.content import ContentRecommender

        models["content"] = lambda: ContentRecommender(config=config)
    except ImportError:
        pass
    try:
        from core.engine.models.hybrid import HybridRecommender

        models["hybrid"] = lambda: HybridRecommender(config=config)
    except ImportError:
        pass
    return models


@dataclass
class _EvalData:
    """Everything about the evaluated clients that does not depend on a model."""

    client_ids: np.ndarray  # (n,) external ids
    relevant: sp.csr_matrix  # (n, n_products) bool
    known: sp.csr_matrix  # (n, n_products) bool
    n_relevant: np.ndarray  # (n,)
    cold_client: np.ndarray  # (n,) bool
    cold_product: np.ndarray  # (n_products,) bool
    popularity: np.ndarray  # (n_products,) in (0, 1]
    client_segments: sp.csr_matrix | None = None  # (n, n_seg) bool
    product_segments: sp.csr_matrix | None = None  # (n_products, n_seg) bool


def _pairs_matrix(pairs: pd.DataFrame, client_index: pd.Index, train: Dataset) -> sp.csr_matrix:
    rows = client_index.get_indexer(pd.Index(pairs[COLS.client_id].astype(str)))
    cols = train.product_ids.to_internal(pairs[COLS.product_id].astype(str), strict=False)
    ok = (rows >= 0) & (cols >= 0)
    m = sp.csr_matrix(
        (np.ones(int(ok.sum()), dtype=bool), (rows[ok], cols[ok])),
        shape=(len(client_index), len(train.product_ids)),
    )
    m.sum_duplicates()
    return m


def _segments_matrix(
    frame: pd.DataFrame, key: str, index: pd.Index, segments: pd.Index
) -> sp.csr_matrix:
    rows = index.get_indexer(pd.Index(frame[key].astype(str)))
    cols = segments.get_indexer(pd.Index(frame["segment"].astype(str)))
    ok = (rows >= 0) & (cols >= 0)
    if "weight" in frame.columns:
        ok &= frame["weight"].to_numpy(dtype=np.float64) > 0
    m = sp.csr_matrix(
        (np.ones(int(ok.sum()), dtype=np.float64), (rows[ok], cols[ok])),
        shape=(len(index), len(segments)),
    )
    m.sum_duplicates()
    m.data[:] = 1.0
    return m


def _prepare(
    split: Split,
    truth: Mapping[str, pd.DataFrame] | None,
    max_clients: int | None,
    seed: int,
) -> _EvalData:
    train = split.train
    clients = split.test_clients
    if max_clients is not None and len(clients) > max_clients:
        rng = np.random.default_rng(seed)
        pick = np.sort(rng.choice(len(clients), size=max_clients, replace=False))
        clients = clients[pick]
    index = pd.Index(clients.astype(str))
    relevant = _pairs_matrix(split.test, index, train)
    known = _pairs_matrix(split.known, index, train)
    n_products = len(train.product_ids)

    ev = train.events
    active = pd.Index(pd.unique(ev[COLS.client_id].astype(str)))
    cold_client = ~index.isin(active)
    touched = train.product_ids.to_internal(
        pd.unique(ev[COLS.product_id].astype(str)), strict=False
    )
    cold_product = np.ones(n_products, dtype=bool)
    cold_product[touched[touched >= 0]] = False
    # Popularity for novelty: share of active clients who touched the item, +1 smoothed.
    per_item = ev[[COLS.client_id, COLS.product_id]].drop_duplicates()[COLS.product_id]
    counts = np.zeros(n_products)
    idx = train.product_ids.to_internal(per_item.astype(str), strict=False)
    np.add.at(counts, idx[idx >= 0], 1.0)
    popularity = (counts + 1.0) / (len(active) + 1.0)

    data = _EvalData(
        client_ids=index.to_numpy(),
        relevant=relevant,
        known=known,
        n_relevant=np.asarray(relevant.sum(axis=1)).ravel(),
        cold_client=np.asarray(cold_client),
        cold_product=cold_product,
        popularity=popularity,
    )
    if truth is not None and "client_segments" in truth and "product_segments" in truth:
        cs, ps = truth["client_segments"], truth["product_segments"]
        segments = pd.Index(pd.unique(pd.concat([cs["segment"], ps["segment"]]).astype(str)))
        data.client_segments = _segments_matrix(cs, COLS.client_id, index, segments)
        data.product_segments = _segments_matrix(
            ps, COLS.product_id, train.product_ids.index, segments
        )
    return data


def _chunk_size(n_products: int, requested: int | None) -> int:
    if requested is not None:
        return max(1, int(requested))
    return int(max(64, min(2048, 2**24 // max(n_products, 1))))


def rank_clients(
    model: Recommender,
    client_ids: Sequence[str],
    k: int,
    known: sp.csr_matrix | None = None,
    chunk_size: int | None = None,
) -> np.ndarray:
    """Top-``k`` product indices for many clients, scored in chunks.

    Parameters
    ----------
    model : Recommender
        A fitted model.
    client_ids : sequence of str
    k : int
    known : sparse bool matrix, shape (n_clients, n_products), optional
        Pairs removed from the candidates (e.g. previous purchases).
    chunk_size : int, optional
        Clients per :meth:`~core.engine.models.base.Recommender.score_clients` call
        (default: about 16M scores per chunk).

    Returns
    -------
    ndarray of int, shape (n_clients, k)
        Product indices in ``model.dataset_.product_ids`` order, best first;
        ``-1`` where fewer than ``k`` candidates remain.
    """
    ids = [str(c) for c in client_ids]
    n_products = len(model.dataset_.product_ids)
    size = _chunk_size(n_products, chunk_size)
    out = np.full((len(ids), k), -1, dtype=np.int64)
    for start in range(0, len(ids), size):
        stop = min(start + size, len(ids))
        scores = np.array(model.score_clients(ids[start:stop]), dtype=np.float64)
        scores[~np.isfinite(scores)] = -np.inf
        if known is not None:
            block = known[start:stop].tocoo()
            scores[block.row, block.col] = -np.inf
        out[start:stop] = top_indices(scores, k)
    return out


def _gather(matrix: sp.csr_matrix, top: np.ndarray) -> np.ndarray:
    """``matrix[i, top[i, r]]`` as a bool array, -1 entries giving False."""
    out = np.zeros(top.shape, dtype=bool)
    size = _chunk_size(matrix.shape[1], None)
    for start in range(0, top.shape[0], size):
        stop = min(start + size, top.shape[0])
        dense = matrix[start:stop].toarray().astype(bool)
        block = top[start:stop]
        safe = np.where(block >= 0, block, 0)
        out[start:stop] = np.take_along_axis(dense, safe, axis=1) & (block >= 0)
    return out


def _mean(values: np.ndarray, mask: np.ndarray | None = None) -> float:
    v = values if mask is None else values[mask]
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else float("nan")


def _score_model(
    top: np.ndarray, data: _EvalData, k_list: Sequence[int], vectors: ItemVectors
) -> tuple[dict[str, float], list[dict[str, Any]], dict[str, Any] | None]:
    n_products = data.relevant.shape[1]
    hits = _gather(data.relevant, top)
    row: dict[str, float] = {}
    per_client: dict[int, dict[str, np.ndarray]] = {}
    for k in k_list:
        m = _metrics_from_hits(hits, data.n_relevant, k)
        per_client[k] = m
        for name, values in m.items():
            row[f"{name}@{k}"] = _mean(values)
        topk = top[:, :k]
        row[f"Coverage@{k}"] = np.unique(topk[topk >= 0]).size / n_products
        row[f"Diversity@{k}"] = _mean(intra_list_diversity_rows(vectors, topk))
        valid = topk >= 0
        row[f"Novelty@{k}"] = (
            float(-np.log2(data.popularity[topk[valid]]).mean()) if valid.any() else float("nan")
        )

    slices: list[dict[str, Any]] = []
    masks = {
        "all": np.ones(len(data.client_ids), dtype=bool),
        "warm_clients": ~data.cold_client,
        "cold_clients": data.cold_client,
    }
    for name, mask in masks.items():
        rec: dict[str, Any] = {
            "slice": name,
            "n_clients": int(mask.sum()),
            "n_pairs": int(data.n_relevant[mask].sum()),
        }
        for k in k_list:
            rec[f"Recall@{k}"] = _mean(per_client[k]["Recall"], mask)
            rec[f"NDCG@{k}"] = _mean(per_client[k]["NDCG"], mask)
        slices.append(rec)

    # Cold products: relevant pairs whose product had no training interaction.
    cold_rel = data.relevant.multiply(sp.csr_matrix(data.cold_product[None, :])).tocsr()
    n_cold = np.asarray(cold_rel.sum(axis=1)).ravel()
    has_cold = n_cold > 0
    rec = {"slice": "cold_products", "n_clients": int(has_cold.sum()), "n_pairs": int(n_cold.sum())}
    cold_hits = hits & np.where(top >= 0, data.cold_product[np.maximum(top, 0)], False)
    for k in k_list:
        if has_cold.any():
            m = _metrics_from_hits(cold_hits[has_cold], n_cold[has_cold], k)
            rec[f"Recall@{k}"] = _mean(m["Recall"])
            rec[f"NDCG@{k}"] = _mean(m["NDCG"])
        else:
            rec[f"Recall@{k}"] = rec[f"NDCG@{k}"] = float("nan")
    slices.append(rec)
    for k in k_list:
        topk = top[:, :k]
        valid = topk >= 0
        row[f"cold_share@{k}"] = (
            float(data.cold_product[topk[valid]].mean()) if valid.any() else float("nan")
        )

    taste = None
    if data.client_segments is not None and data.product_segments is not None:
        k = max(k_list)
        in_segment = data.client_segments @ data.product_segments.T  # (n, n_products)
        in_segment = (in_segment > 0).astype(bool).tocsr()
        has_truth = np.asarray(data.client_segments.sum(axis=1)).ravel() > 0
        topk = top[:, :k]
        valid = topk >= 0
        share = _gather(in_segment, topk).sum(axis=1) / np.maximum(valid.sum(axis=1), 1)
        catalogue = np.asarray(in_segment.sum(axis=1)).ravel() / n_products
        seg_share = _mean(share, has_truth)
        cat_share = _mean(catalogue, has_truth)
        taste = {
            "k": k,
            "n_clients": int(has_truth.sum()),
            "segment_share": seg_share,
            "catalogue_share": cat_share,
            "lift": seg_share / cat_share if cat_share > 0 else float("nan"),
        }
    return row, slices, taste


def evaluate(
    models: Mapping[str, RecommenderFactory] | None,
    dataset: Dataset | None = None,
    *,
    split: Split | None = None,
    test_days: int = 28,
    val_days: int = 28,
    k_list: Sequence[int] = (10, 20),
    truth: Mapping[str, pd.DataFrame] | None = None,
    relevant_events: Sequence[str] = DEFAULT_RELEVANT_EVENTS,
    include_gifts: bool = False,
    on_validation: bool = False,
    max_clients: int | None = None,
    seed: int = 0,
    chunk_size: int | None = None,
    progress: Progress | None = None,
) -> EvaluationReport:
    """Fit each model on the training part of a temporal split and score it on the test window.

    Parameters
    ----------
    models : mapping of name to factory, or None
        Each factory returns a new, unfitted
        :class:`~core.engine.models.base.Recommender`; ``None`` for
        :func:`default_models`.
    dataset : Dataset, optional
        Split with :func:`temporal_split` (``test_days``, ``val_days``,
        ``relevant_events``, ``include_gifts``) unless ``split`` is given.
    split : Split, optional
        A precomputed split (shared across calls, e.g. by :mod:`core.engine.tune`).
    k_list : sequence of int
        Cut-offs; every metric is reported at each.
    truth : mapping, optional
        The generator's ground truth (``client_segments``,
        ``product_segments``) for planted taste recovery.
    on_validation : bool
        Fit before and score on the validation window instead of the test
        window (used for tuning).
    max_clients : int, optional
        Score a seeded sample of this many test clients (faster, noisier).
    seed : int
        Seed of that sample.
    chunk_size : int, optional
        Clients per scoring call.
    progress : callable, optional
        ``progress(message, fraction)``.

    Returns
    -------
    EvaluationReport

    Raises
    ------
    ValueError
        For neither ``dataset`` nor ``split``, empty ``models``, a bad ``k``,
        or a window without relevant pairs.
    """
    progress = progress or _noop
    if split is None:
        if dataset is None:
            raise ValueError("pass a dataset (to split) or a precomputed split")
        split = temporal_split(
            dataset,
            test_days,
            val_days if on_validation else 0,
            relevant_events=relevant_events,
            include_gifts=include_gifts,
        )
    if on_validation:
        if split.validation is None:
            raise ValueError("this split has no validation window: use val_days > 0")
        split = split.validation
    ks = sorted({int(k) for k in k_list})
    if not ks or any(
        isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1 for k in k_list
    ):
        raise ValueError(f"k_list must hold whole numbers >= 1, got {list(k_list)}")
    if models is None:
        models = default_models()
    if not models:
        raise ValueError("models is empty: pass at least one name -> factory")
    if split.test.empty:
        raise ValueError(
            f"no relevant ({', '.join(split.relevant_events)}) pairs between "
            f"{split.cutoff.date()} and {split.end.date()}: use a longer window"
        )
    data = _prepare(split, truth, max_clients, seed)
    k_max = max(ks)
    rows, slice_rows, taste_rows = [], [], []
    for i, (name, factory) in enumerate(models.items()):
        progress(f"fitting {name}", i / len(models))
        t0 = time.perf_counter()
        model = factory().fit(split.train)
        t1 = time.perf_counter()
        progress(f"scoring {name}", (i + 0.5) / len(models))
        top = rank_clients(model, list(data.client_ids), k_max, data.known, chunk_size)
        t2 = time.perf_counter()
        row, slices, taste = _score_model(
            top, data, ks, diversity_vectors(model, split.train.products)
        )
        rows.append({"model": name, **row, "fit_s": t1 - t0, "score_s": t2 - t1})
        slice_rows += [{"model": name, **s} for s in slices]
        if taste is not None:
            taste_rows.append({"model": name, **taste})
    progress("done", 1.0)
    metrics = pd.DataFrame(rows).set_index("model")
    metrics.insert(0, "n_clients", len(data.client_ids))
    protocol = {
        **split.summary(),
        "window": "validation" if on_validation else "test",
        "test_days": int((split.end - split.cutoff) / pd.Timedelta(days=1)),
        "n_clients": len(data.client_ids),
        "n_products": int(data.relevant.shape[1]),
        "k_list": ks,
        "max_clients": max_clients,
        "seed": seed,
        "candidates": "whole catalogue minus products the client bought before the cutoff",
        "novelty": "mean -log2((clients who touched the item + 1) / (active clients + 1))",
        "diversity": "1 - mean pairwise cosine in the vectors the app shows diversity in "
        "(the model's item embedding when it has one, else one-hot attributes and tags)",
    }
    return EvaluationReport(
        metrics=metrics,
        slices=pd.DataFrame(slice_rows),
        taste=pd.DataFrame(taste_rows) if taste_rows else None,
        protocol=protocol,
    )


def load_truth(folder: str | Path) -> dict[str, pd.DataFrame] | None:
    """Read the generator's ground truth (``client_segments``, ``product_segments``) from ``folder``.

    Returns ``None`` when the folder holds neither file.
    """
    folder = Path(folder)
    out: dict[str, pd.DataFrame] = {}
    for name in ("client_segments", "product_segments"):
        for suffix in (".csv", ".parquet"):
            path = folder / f"{name}{suffix}"
            if path.is_file():
                out[name] = (
                    pd.read_csv(path, dtype={COLS.client_id: str, COLS.product_id: str})
                    if suffix == ".csv"
                    else pd.read_parquet(path)
                )
                break
    return out if len(out) == 2 else None


def evaluate_dataset(
    dataset: Dataset,
    *,
    test_days: int = 28,
    truth_dir: str | Path | None = None,
    config: Any = None,
    progress: Progress | None = None,
    **kwargs: Any,
) -> EvaluationReport:
    """:func:`evaluate` with the default models, reading the ground truth from disk when present.

    Parameters
    ----------
    dataset : Dataset
    test_days : int
    truth_dir : path, optional
        Folder with the generator's ground truth; by default ``truth/`` next
        to the data when the dataset was loaded from a folder.
    config : EngineConfig, optional
        Configuration of the engine's models.
    **kwargs
        Passed to :func:`evaluate`.
    """
    truth = None
    if truth_dir is not None:
        truth = load_truth(truth_dir)
    elif dataset.source not in ("memory", "") and Path(dataset.source).is_dir():
        truth = load_truth(Path(dataset.source) / "truth")
    return evaluate(
        default_models(config),
        dataset,
        test_days=test_days,
        truth=truth,
        progress=progress,
        **kwargs,
    )
