"""From a split and ranked lists to report rows: the evaluated clients and their metrics.

:func:`prepare` gathers everything about the evaluated clients that does not
depend on a model (relevant and excluded pairs, cold clients and products,
popularity for novelty, planted segments); :func:`score_ranked` turns one
model's top-k lists into a metrics row, slices and taste recovery.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.data.dataset import Dataset
from core.data.schema import COLS
from core.engine.diversity import ItemVectors, intra_list_diversity_rows
from core.engine.evaluation.metrics import metrics_from_hits
from core.engine.evaluation.split import Split


@dataclass
class EvalData:
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


def prepare(
    split: Split,
    truth: Mapping[str, pd.DataFrame] | None,
    max_clients: int | None,
    seed: int,
) -> EvalData:
    """The evaluated clients of ``split`` (a seeded sample of ``max_clients``) and their pairs."""
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

    data = EvalData(
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


def chunk_size_for(n_products: int, requested: int | None) -> int:
    """Clients per block of dense scores: ``requested``, else about 16M scores per block."""
    if requested is not None:
        return max(1, int(requested))
    return int(max(64, min(2048, 2**24 // max(n_products, 1))))


def gather(matrix: sp.csr_matrix, top: np.ndarray) -> np.ndarray:
    """``matrix[i, top[i, r]]`` as a bool array, -1 entries giving False."""
    out = np.zeros(top.shape, dtype=bool)
    size = chunk_size_for(matrix.shape[1], None)
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


def _slice_row(
    name: str, hits: np.ndarray, n_relevant: np.ndarray, k_list: Sequence[int]
) -> dict[str, Any]:
    """Recall@k and NDCG@k over the rows of ``hits`` (NaN when there are none)."""
    rec: dict[str, Any] = {
        "slice": name,
        "n_clients": int(hits.shape[0]),
        "n_pairs": int(n_relevant.sum()),
    }
    for k in k_list:
        if hits.shape[0]:
            m = metrics_from_hits(hits, n_relevant, k)
            rec[f"Recall@{k}"] = _mean(m["Recall"])
            rec[f"NDCG@{k}"] = _mean(m["NDCG"])
        else:
            rec[f"Recall@{k}"] = rec[f"NDCG@{k}"] = float("nan")
    return rec


def _list_metrics(
    top: np.ndarray, hits: np.ndarray, data: EvalData, k_list: Sequence[int], vectors: ItemVectors
) -> tuple[dict[str, float], dict[int, dict[str, np.ndarray]]]:
    """The metrics row (means over clients) and the per-client metrics at each k."""
    n_products = data.relevant.shape[1]
    row: dict[str, float] = {}
    per_client: dict[int, dict[str, np.ndarray]] = {}
    for k in k_list:
        m = metrics_from_hits(hits, data.n_relevant, k)
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
    return row, per_client


def _client_slices(
    data: EvalData, per_client: dict[int, dict[str, np.ndarray]], k_list: Sequence[int]
) -> list[dict[str, Any]]:
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
    return slices


def _cold_slices(
    top: np.ndarray,
    hits: np.ndarray,
    data: EvalData,
    k_list: Sequence[int],
    top_cold: np.ndarray | None,
) -> list[dict[str, Any]]:
    """Cold products within the lists; with ``top_cold``, also ranked among themselves."""
    cold_rel = data.relevant.multiply(sp.csr_matrix(data.cold_product[None, :])).tocsr()
    n_cold = np.asarray(cold_rel.sum(axis=1)).ravel()
    has_cold = n_cold > 0
    cold_hits = hits & np.where(top >= 0, data.cold_product[np.maximum(top, 0)], False)
    out = [_slice_row("cold_products", cold_hits[has_cold], n_cold[has_cold], k_list)]
    if top_cold is not None:
        only = gather(cold_rel, top_cold)
        out.append(_slice_row("cold_only", only[has_cold], n_cold[has_cold], k_list))
    return out


def _taste(top: np.ndarray, data: EvalData, k_list: Sequence[int]) -> dict[str, Any] | None:
    """Share of the top-k in the client's planted segments, against the catalogue's."""
    if data.client_segments is None or data.product_segments is None:
        return None
    n_products = data.relevant.shape[1]
    k = max(k_list)
    in_segment = data.client_segments @ data.product_segments.T  # (n, n_products)
    in_segment = (in_segment > 0).astype(bool).tocsr()
    has_truth = np.asarray(data.client_segments.sum(axis=1)).ravel() > 0
    topk = top[:, :k]
    valid = topk >= 0
    share = gather(in_segment, topk).sum(axis=1) / np.maximum(valid.sum(axis=1), 1)
    catalogue = np.asarray(in_segment.sum(axis=1)).ravel() / n_products
    seg_share = _mean(share, has_truth)
    cat_share = _mean(catalogue, has_truth)
    return {
        "k": k,
        "n_clients": int(has_truth.sum()),
        "segment_share": seg_share,
        "catalogue_share": cat_share,
        "lift": seg_share / cat_share if cat_share > 0 else float("nan"),
    }


def score_ranked(
    top: np.ndarray,
    data: EvalData,
    k_list: Sequence[int],
    vectors: ItemVectors,
    top_cold: np.ndarray | None = None,
) -> tuple[dict[str, float], list[dict[str, Any]], dict[str, Any] | None, pd.DataFrame]:
    """One model's metrics row, slices, taste recovery and per-client metrics from its lists.

    Parameters
    ----------
    top : ndarray of int, shape (n_clients, max(k_list))
        Product indices, best first, ``-1`` padded (:func:`rank_clients`).
    data : EvalData
    k_list : sequence of int
    vectors : ItemVectors
        The vectors diversity is measured in.
    top_cold : ndarray of int, optional
        The same clients' lists ranked among cold products only (the
        ``cold_only`` slice).

    The last element holds one row per evaluated client (``client_id``, then
    ``Recall@k``, ``NDCG@k``, ``Precision@k`` at each k): the values the row
    averages, for paired comparisons of models on the same clients
    (:func:`core.engine.evaluation.metrics.ratio_interval`).
    """
    hits = gather(data.relevant, top)
    row, per_client = _list_metrics(top, hits, data, k_list, vectors)
    slices = _client_slices(data, per_client, k_list)
    slices += _cold_slices(top, hits, data, k_list, top_cold)
    for k in k_list:
        topk = top[:, :k]
        valid = topk >= 0
        row[f"cold_share@{k}"] = (
            float(data.cold_product[topk[valid]].mean()) if valid.any() else float("nan")
        )
    clients = pd.DataFrame({"client_id": data.client_ids})
    for k in k_list:
        for name in ("Recall", "NDCG", "Precision"):
            clients[f"{name}@{k}"] = per_client[k][name]
    return row, slices, _taste(top, data, k_list), clients
