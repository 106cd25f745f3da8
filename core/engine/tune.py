"""Choose engine parameters on a validation window, never on the test window.

:func:`tune` splits the data in time (:func:`core.engine.evaluation.temporal_split`),
fits one model per trial on the events before the validation window (which
itself ends where the test window starts), scores it on the validation
window, and returns the best configuration with every trial::

    result = tune(dataset, EngineConfig(), n_trials=12, seed=0)
    result.best_config.to_toml("engine.toml")
    result.trials  # one row per trial: parameters, Recall@20, NDCG@10, seconds

The first trial is always the starting configuration, so the result is never
worse than it on the validation window.
"""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.data.dataset import Dataset
from core.engine.config import EngineConfig
from core.engine.evaluation import Progress, Split, evaluate, temporal_split
from core.engine.models.base import Recommender

ModelFactory = Callable[[EngineConfig], Recommender]

#: Scale of the non-purchase event weights relative to purchases (a pseudo-parameter).
EVENT_SCALE = "event_weight_scale"

#: The default search space: parameter -> candidate values.
DEFAULT_SPACE: dict[str, tuple[Any, ...]] = {
    "n_factors": (16, 32, 48, 64, 96),
    "half_life_days": (60.0, 120.0, 180.0, 365.0, 730.0),
    "blend_k": (2.0, 5.0, 10.0, 20.0, 50.0),
    "prior_weight": (0.0, 0.02, 0.05, 0.1, 0.2, 0.5),
    "item_normalization": ("none", "idf", "bm25"),
    EVENT_SCALE: (0.5, 1.0, 2.0),
    "ridge_alpha": (0.1, 1.0, 10.0, 100.0),
    "new_arrival_weight": (0.0, 0.1, 0.2, 0.3),
}


@dataclass(frozen=True)
class TuneResult:
    """What :func:`tune` found.

    Attributes
    ----------
    best_config : EngineConfig
        The configuration of the best trial (save it with ``to_toml``).
    trials : DataFrame
        One row per trial: ``trial``, each searched parameter, the metrics
        (``Recall@20``, ``NDCG@10``, ...), ``fit_s``; best first.
    objective : str
        The metric that chose the best trial.
    validation : dict
        The validation window (dates, sizes).
    """

    best_config: EngineConfig
    trials: pd.DataFrame
    objective: str
    validation: dict[str, Any]


def apply_params(base: EngineConfig, params: Mapping[str, Any]) -> EngineConfig:
    """``base`` with ``params`` applied (validated).

    ``event_weight_scale`` multiplies every non-purchase event weight of ``base``.

    Raises
    ------
    ConfigError
        For an unknown parameter or a value out of range.
    """
    changes = {k: v for k, v in params.items() if k != EVENT_SCALE}
    if EVENT_SCALE in params:
        scale = float(params[EVENT_SCALE])
        changes["event_weights"] = {
            t: w if t == "purchase" else min(100.0, w * scale)
            for t, w in base.event_weights.items()
        }
    return base.with_updates(**changes)


def _default_factory(config: EngineConfig) -> Recommender:
    from core.engine.models.hybrid import HybridRecommender

    return HybridRecommender(config=config)


def _candidates(
    space: Mapping[str, Sequence[Any]], n_trials: int, search: str, seed: int
) -> list[dict[str, Any]]:
    keys = list(space)
    if search == "grid":
        combos = [
            dict(zip(keys, values, strict=True)) for values in itertools.product(*space.values())
        ]
        return combos[:n_trials]
    rng = np.random.default_rng(seed)
    seen: set[tuple[Any, ...]] = set()
    out: list[dict[str, Any]] = []
    total = int(np.prod([len(v) for v in space.values()]))
    while len(out) < min(n_trials, total):
        combo = tuple(space[k][int(rng.integers(len(space[k])))] for k in keys)
        if combo not in seen:
            seen.add(combo)
            out.append(dict(zip(keys, combo, strict=True)))
    return out


def tune(
    dataset: Dataset,
    base_config: EngineConfig | None = None,
    *,
    space: Mapping[str, Sequence[Any]] | None = None,
    n_trials: int = 12,
    search: str = "random",
    seed: int = 0,
    objective: str = "Recall@20",
    test_days: int = 28,
    val_days: int = 28,
    split: Split | None = None,
    model_factory: ModelFactory | None = None,
    max_clients: int | None = None,
    progress: Progress | None = None,
) -> TuneResult:
    """Search engine parameters on the validation window.

    Parameters
    ----------
    dataset : Dataset
    base_config : EngineConfig, optional
        The starting point (default settings otherwise); trial 0 evaluates it
        unchanged and every other trial changes only the searched parameters.
    space : mapping, optional
        Parameter -> candidate values (default :data:`DEFAULT_SPACE`). Keys
        are :class:`~core.engine.config.EngineConfig` fields, plus
        ``event_weight_scale`` (multiplies every non-purchase event weight).
    n_trials : int
        Trials including the starting configuration (1 to 500).
    search : {"random", "grid"}
        Random combinations (seeded, without repeats), or the grid in order
        (truncated to ``n_trials - 1``).
    seed : int
    objective : str
        Metric to maximise, e.g. ``"Recall@20"`` or ``"NDCG@10"``.
    test_days, val_days : int
        The windows: the test window is left untouched; models are fitted on
        events before the validation window and scored on it.
    split : Split, optional
        A precomputed split with a validation window.
    model_factory : callable, optional
        ``EngineConfig -> Recommender`` (default: the hybrid).
    max_clients : int, optional
        Score a seeded sample of the validation clients (faster).
    progress : callable, optional
        ``progress(message, fraction)``.

    Returns
    -------
    TuneResult

    Raises
    ------
    ValueError
        For a bad ``n_trials``, ``search`` or ``objective``, or no validation window.
    ConfigError
        For a searched value out of an engine parameter's range.
    """
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or not 1 <= n_trials <= 500:
        raise ValueError(f"n_trials must be a whole number between 1 and 500, got {n_trials!r}")
    if search not in ("random", "grid"):
        raise ValueError(f"search must be 'random' or 'grid', got {search!r}")
    name, _, k_text = objective.partition("@")
    if name not in ("Recall", "NDCG", "Precision", "MAP", "HitRate") or not k_text.isdigit():
        raise ValueError(f"objective must look like 'Recall@20' or 'NDCG@10', got {objective!r}")
    base = base_config if base_config is not None else EngineConfig()
    space = dict(DEFAULT_SPACE if space is None else space)
    factory = model_factory or _default_factory
    if split is None:
        if val_days < 1:
            raise ValueError("tuning needs a validation window: val_days must be at least 1")
        split = temporal_split(dataset, test_days, val_days)
    if split.validation is None:
        raise ValueError("the split has no validation window: build it with val_days >= 1")

    params: list[dict[str, Any]] = [{}] + _candidates(space, n_trials - 1, search, seed)
    configs = [apply_params(base, p) for p in params]  # validate every trial up front
    k_list = sorted({10, 20, int(k_text)})
    rows = []
    for i, (p, config) in enumerate(zip(params, configs, strict=True)):
        if progress is not None:
            progress(f"trial {i + 1}/{len(params)}", i / len(params))
        t0 = time.perf_counter()
        report = evaluate(
            {f"trial_{i}": functools.partial(factory, config)},
            split=split,
            on_validation=True,
            k_list=k_list,
            max_clients=max_clients,
            seed=seed,
        )
        metrics = report.metrics.iloc[0]
        rows.append(
            {
                "trial": i,
                **{k: p.get(k, _current(base, k)) for k in space},
                **{m: float(metrics[m]) for m in ("Recall@10", "Recall@20", "NDCG@10", "MAP@10")},
                objective: float(metrics[objective]),
                "Coverage@20": float(metrics["Coverage@20"]),
                "fit_s": float(metrics["fit_s"]),
                "total_s": time.perf_counter() - t0,
            }
        )
    if progress is not None:
        progress("done", 1.0)
    trials = pd.DataFrame(rows)
    trials = trials.loc[:, ~trials.columns.duplicated()]
    # Ties go to the earlier trial (the starting configuration first).
    order = trials.sort_values([objective, "trial"], ascending=[False, True], kind="stable")
    best = int(order["trial"].iloc[0])
    return TuneResult(
        best_config=configs[best],
        trials=order.reset_index(drop=True),
        objective=objective,
        validation=split.validation.summary(),
    )


def _current(config: EngineConfig, key: str) -> Any:
    """The value ``config`` holds for a searched key (scale 1.0 for the event scale)."""
    if key == EVENT_SCALE:
        return 1.0
    return getattr(config, key)
