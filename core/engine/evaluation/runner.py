"""Fit models on a split's training part, rank for the evaluated clients, report.

:func:`evaluate` is the one loop every comparison goes through (the CLI, the
dashboard's model health, the quality benchmark): each model is fitted on
:attr:`Split.train`, ranks the whole catalogue minus the :attr:`Split.known`
pairs for every evaluated client (:func:`rank_clients`), and its lists are
scored by :func:`core.engine.evaluation.scoring.score_ranked`. The tuner
(:mod:`core.engine.tune`) uses the same pieces (``prepare``, :func:`rank_clients`,
``metrics_from_hits``) chunk by chunk, so a trial can be stopped early.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypedDict

import numpy as np
import pandas as pd
import scipy.sparse as sp

from core.data.dataset import Dataset
from core.data.schema import COLS
from core.engine.config import EngineConfig
from core.engine.diversity import diversity_vectors
from core.engine.evaluation.report import EvaluationReport
from core.engine.evaluation.scoring import EvalData, chunk_size_for, prepare, score_ranked
from core.engine.evaluation.split import DEFAULT_RELEVANT_EVENTS, Split, temporal_split
from core.engine.models.base import Recommender
from core.engine.ranking import top_indices

RecommenderFactory = Callable[[], Recommender]
Progress = Callable[[str, float], None]

_EXCLUDED = {
    "temporal": "whole catalogue minus products the client bought before the cutoff",
    "global_time": "whole catalogue minus products the client had any event on before the cutoff",
    "last_n": "whole catalogue minus products the client had any event on in training",
}


class _RunOptions(TypedDict):
    """How each model of an evaluation is ranked and timed."""

    cold_only: bool
    latency_clients: int
    chunk_size: int | None
    seed: int


def _noop(message: str, fraction: float) -> None:
    return None


def default_models(config: EngineConfig | None = None) -> dict[str, RecommenderFactory]:
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


def _rank_many(
    model: Recommender,
    ids: list[str],
    k: int,
    known: sp.csr_matrix | None,
    chunk_size: int | None,
    allowed: Sequence[np.ndarray | None],
) -> list[np.ndarray]:
    """One top-``k`` array per entry of ``allowed`` (products that may be ranked), one scoring."""
    n_products = len(model.dataset_.product_ids)
    size = chunk_size_for(n_products, chunk_size)
    out = [np.full((len(ids), k), -1, dtype=np.int64) for _ in allowed]
    for start in range(0, len(ids), size):
        stop = min(start + size, len(ids))
        scores = np.array(model.score_clients(ids[start:stop]), dtype=np.float64)
        scores[~np.isfinite(scores)] = -np.inf
        if known is not None:
            block = known[start:stop].tocoo()
            scores[block.row, block.col] = -np.inf
        for top, mask in zip(out, allowed, strict=True):
            full = None if mask is None else np.broadcast_to(mask, scores.shape)
            top[start:stop] = top_indices(scores, k, full)
    return out


def rank_clients(
    model: Recommender,
    client_ids: Sequence[str],
    k: int,
    known: sp.csr_matrix | None = None,
    chunk_size: int | None = None,
    allowed: np.ndarray | None = None,
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
    allowed : ndarray of bool, shape (n_products,), optional
        Rank only these products (e.g. the cold ones).

    Returns
    -------
    ndarray of int, shape (n_clients, k)
        Product indices in ``model.dataset_.product_ids`` order, best first;
        ``-1`` where fewer than ``k`` candidates remain.
    """
    ids = [str(c) for c in client_ids]
    return _rank_many(model, ids, k, known, chunk_size, [allowed])[0]


def _latency_ms(model: Recommender, data: EvalData, k: int, n: int, seed: int) -> dict[str, float]:
    """p50 and p95 of one client's ranking (scores, exclusions, top-k), in milliseconds."""
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(data.client_ids), size=min(n, len(data.client_ids)), replace=False)
    rank_clients(model, [data.client_ids[pick[0]]], k, data.known[pick[0] : pick[0] + 1])
    times = []
    for i in pick:
        t0 = time.perf_counter()
        rank_clients(model, [data.client_ids[i]], k, data.known[i : i + 1])
        times.append((time.perf_counter() - t0) * 1000.0)
    return {
        "latency_ms_p50": float(np.percentile(times, 50)),
        "latency_ms_p95": float(np.percentile(times, 95)),
    }


def _run_model(
    factory: RecommenderFactory,
    split: Split,
    data: EvalData,
    ks: list[int],
    options: _RunOptions,
    fitted: Callable[[], None],
) -> tuple[dict[str, float], list[dict[str, Any]], dict[str, Any] | None, pd.DataFrame]:
    """Fit one model, rank, score; the metrics row carries the timings."""
    t0 = time.perf_counter()
    model = factory().fit(split.train)
    t1 = time.perf_counter()
    fitted()
    allowed = [None, data.cold_product] if options["cold_only"] else [None]
    tops = _rank_many(
        model, list(data.client_ids), max(ks), data.known, options["chunk_size"], allowed
    )
    t2 = time.perf_counter()
    row, slices, taste, per_client = score_ranked(
        tops[0],
        data,
        ks,
        diversity_vectors(model, split.train.products),
        tops[1] if len(tops) > 1 else None,
    )
    row = {**row, "fit_s": t1 - t0, "score_s": t2 - t1}
    if options["latency_clients"]:
        row |= _latency_ms(model, data, max(ks), options["latency_clients"], options["seed"])
    return row, slices, taste, per_client


def _check_k_list(k_list: Sequence[int]) -> list[int]:
    ks = sorted({int(k) for k in k_list})
    if not ks or any(
        isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1 for k in k_list
    ):
        raise ValueError(f"k_list must hold whole numbers >= 1, got {list(k_list)}")
    return ks


def _scored_part(split: Split, on_validation: bool) -> Split:
    """The split a run scores: ``split`` or its validation split; refused when it has no pairs."""
    if on_validation:
        if split.validation is None:
            raise ValueError("this split has no validation window: use val_days > 0")
        split = split.validation
    if split.test.empty:
        raise ValueError(
            f"no relevant ({', '.join(split.relevant_events)}) pairs between "
            f"{split.cutoff.date()} and {split.end.date()}: use a longer window"
        )
    return split


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
    cold_only: bool = False,
    latency_clients: int = 0,
    progress: Progress | None = None,
) -> EvaluationReport:
    """Fit each model on the training part of a split and score it on the test part.

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
        A precomputed split of any protocol (shared across calls, e.g. by
        the quality benchmark).
    k_list : sequence of int
        Cut-offs; every metric is reported at each.
    truth : mapping, optional
        The generator's ground truth (``client_segments``,
        ``product_segments``) for planted taste recovery.
    on_validation : bool
        Fit on and score the validation split instead of the test part
        (used for tuning).
    max_clients : int, optional
        Score a seeded sample of this many test clients (faster, noisier).
    seed : int
        Seed of that sample (and of the latency sample).
    chunk_size : int, optional
        Clients per scoring call.
    cold_only : bool
        Also rank the cold products (no training event) among themselves:
        the ``cold_only`` slice, over the clients with a cold relevant product.
    latency_clients : int
        Time one client's ranking for a seeded sample of this many evaluated
        clients (``latency_ms_p50``, ``latency_ms_p95``; 0 for none).
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

    Longer than 60 lines for its signature and the documentation of its
    sixteen parameters; the steps are helpers (:func:`temporal_split`,
    ``prepare``, ``_run_models``, ``_protocol``).
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
    split = _scored_part(split, on_validation)
    ks = _check_k_list(k_list)
    models = default_models() if models is None else models
    if not models:
        raise ValueError("models is empty: pass at least one name -> factory")
    data = prepare(split, truth, max_clients, seed)
    options: _RunOptions = {
        "cold_only": cold_only,
        "latency_clients": int(latency_clients),
        "chunk_size": chunk_size,
        "seed": seed,
    }
    rows, slice_rows, taste_rows, per_client = _run_models(
        models, split, data, ks, options, progress
    )
    metrics = pd.DataFrame(rows).set_index("model")
    metrics.insert(0, "n_clients", len(data.client_ids))
    return EvaluationReport(
        metrics=metrics,
        slices=pd.DataFrame(slice_rows),
        taste=pd.DataFrame(taste_rows) if taste_rows else None,
        protocol=_protocol(split, data, ks, on_validation, max_clients, seed),
        per_client=per_client,
    )


def _run_models(
    models: Mapping[str, RecommenderFactory],
    split: Split,
    data: EvalData,
    ks: list[int],
    options: _RunOptions,
    progress: Progress,
) -> tuple[
    list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], dict[str, pd.DataFrame]
]:
    """Fit and score each model in turn: its metrics row, slice rows, taste row, per-client rows."""
    rows: list[dict[str, Any]] = []
    per_client: dict[str, pd.DataFrame] = {}
    slice_rows: list[dict[str, Any]] = []
    taste_rows: list[dict[str, Any]] = []
    for i, (name, factory) in enumerate(models.items()):
        progress(f"fitting {name}", i / len(models))
        row, slices, taste, per_client[name] = _run_model(
            factory,
            split,
            data,
            ks,
            options,
            functools.partial(progress, f"scoring {name}", (i + 0.5) / len(models)),
        )
        rows.append({"model": name, **row})
        slice_rows += [{"model": name, **s} for s in slices]
        if taste is not None:
            taste_rows.append({"model": name, **taste})
    progress("done", 1.0)
    return rows, slice_rows, taste_rows, per_client


def _protocol(
    split: Split,
    data: EvalData,
    ks: list[int],
    on_validation: bool,
    max_clients: int | None,
    seed: int,
) -> dict[str, Any]:
    """The split and the settings of a report, for the record."""
    window: dict[str, Any] = {}
    if split.protocol != "last_n":
        window["test_days"] = int((split.end - split.cutoff) / pd.Timedelta(days=1))
    return {
        **split.summary(),
        "window": "validation" if on_validation else "test",
        **window,
        "n_clients": len(data.client_ids),
        "n_products": int(data.relevant.shape[1]),
        "k_list": ks,
        "max_clients": max_clients,
        "seed": seed,
        "candidates": _EXCLUDED.get(split.protocol, _EXCLUDED["temporal"]),
        "novelty": "mean -log2((clients who touched the item + 1) / (active clients + 1))",
        "diversity": "1 - mean pairwise cosine in the vectors the app shows diversity in "
        "(the model's item embedding when it has one, else one-hot attributes and tags)",
    }


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
    config: EngineConfig | None = None,
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
