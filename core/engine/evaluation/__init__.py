"""Offline evaluation: train/test splits, ranking metrics, a report.

Protocol (``temporal``, the default; the other protocols are described in
:mod:`core.engine.evaluation.split`)
--------------------------------------------------------------------------
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

:func:`global_time_split` (the last 20 % of the time span is test) and
:func:`last_n_split` (each client's last N interactions are test) exclude
every product the client *saw* in training and evaluate only clients with at
least two training products; :func:`evaluate` takes any of them as ``split``.

Metrics are binary-relevance ranking metrics averaged over clients:
Recall@k, Precision@k, NDCG@k (log2 discount), MAP@k, hit rate@k, plus
catalogue coverage, intra-list diversity (mean pairwise 1 - cosine in the
vectors the suggestion pipeline diversifies and reports with,
:func:`core.engine.diversity.diversity_vectors`) and novelty (mean ``-log2`` of an item's training popularity).
Each is also available as a pure function of one ranked list.

Modules: :mod:`~core.engine.evaluation.split` (protocols),
:mod:`~core.engine.evaluation.metrics`, :mod:`~core.engine.evaluation.scoring`
(evaluated clients, lists to rows), :mod:`~core.engine.evaluation.report`
(:class:`EvaluationReport`), :mod:`~core.engine.evaluation.runner`
(:func:`evaluate`, :func:`rank_clients`, :func:`default_models`).
"""

from __future__ import annotations

from core.engine.evaluation.metrics import (
    average_precision_at_k,
    catalogue_coverage,
    hit_rate_at_k,
    metrics_from_hits,
    ndcg_at_k,
    novelty,
    precision_at_k,
    recall_at_k,
)
from core.engine.evaluation.report import SUMMARY_COLUMNS, EvaluationReport
from core.engine.evaluation.runner import (
    Progress,
    RecommenderFactory,
    default_models,
    evaluate,
    evaluate_dataset,
    load_truth,
    rank_clients,
)
from core.engine.evaluation.split import (
    DEFAULT_RELEVANT_EVENTS,
    PROTOCOLS,
    Split,
    global_time_split,
    last_n_split,
    make_split,
    seen_matrix,
    temporal_split,
)

__all__ = [
    "DEFAULT_RELEVANT_EVENTS",
    "PROTOCOLS",
    "SUMMARY_COLUMNS",
    "EvaluationReport",
    "Progress",
    "RecommenderFactory",
    "Split",
    "average_precision_at_k",
    "catalogue_coverage",
    "default_models",
    "evaluate",
    "evaluate_dataset",
    "global_time_split",
    "hit_rate_at_k",
    "last_n_split",
    "load_truth",
    "make_split",
    "metrics_from_hits",
    "ndcg_at_k",
    "novelty",
    "precision_at_k",
    "rank_clients",
    "recall_at_k",
    "seen_matrix",
    "temporal_split",
]
