"""The compared models, their grids, and the search on the validation split.

Every peer is tuned the same way: each point of its grid is fitted on the
validation split's training part and scored on the validation split (both
carved from the training part of the test split, by the same protocol); the
best point by Recall@20 (ties: the earlier point) is then fitted on the whole
training part and scored once on the test part. Atelier is measured twice:
``atelier`` with the default :class:`~core.engine.config.EngineConfig`, and
``atelier_tuned`` after :func:`core.engine.tune.tune` on the same validation
split; on request, its parts alone (``atelier_cf``: the SVD part,
``atelier_content``: the content part, default configuration).
"""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from core.engine.config import EngineConfig
from core.engine.evaluation import Split, evaluate
from core.engine.models.base import Recommender
from core.engine.models.baselines import ItemKNNRecommender, PopularityRecommender
from core.engine.tune import DEFAULT_SPACE, EVENT_SCALE, TuneResult, tune
from quality.peers import (
    EASEPeer,
    IALSPeer,
    PureSVDPeer,
    SVDContentBlendPeer,
    TfidfContentPeer,
)

OBJECTIVE = "Recall@20"
ENGINE_MATRIX = "engine interaction matrix (default EngineConfig: weighted, decayed, idf)"
BINARY_MATRIX = "binary seen matrix (core.engine.evaluation.seen_matrix)"


@dataclass(frozen=True)
class PeerSpec:
    """One peer: how to build it from parameters, its grid, what it reads."""

    name: str
    make: Callable[..., Recommender]
    grid: Mapping[str, tuple[Any, ...]]
    reads: str

    def points(self, quick: bool = False) -> list[dict[str, Any]]:
        """Every combination of the grid (with ``quick``, each axis's first and last value)."""
        axes = {k: (v[0], v[-1]) if quick and len(v) > 2 else v for k, v in self.grid.items()}
        keys = list(axes)
        return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*axes.values())]


def peer_specs(seed: int) -> dict[str, PeerSpec]:
    """The peers, in table order."""
    return {
        s.name: s
        for s in (
            PeerSpec(
                "popularity",
                lambda **p: PopularityRecommender(**p),
                {"half_life_days": (30.0, 90.0, 365.0, 3650.0)},
                ENGINE_MATRIX + ", every event",
            ),
            PeerSpec(
                "item_knn",
                lambda **p: ItemKNNRecommender(**p),
                {
                    "k_neighbors": (50, 200),
                    "shrinkage": (10.0, 50.0, 200.0),
                    "popularity_weight": (0.02, 0.1),
                },
                ENGINE_MATRIX,
            ),
            PeerSpec(
                "ease",
                lambda **p: EASEPeer(**p),
                {"lambda_": (50.0, 200.0, 1000.0, 5000.0)},
                BINARY_MATRIX,
            ),
            PeerSpec(
                "puresvd",
                lambda **p: PureSVDPeer(seed=seed, **p),
                {"n_factors": (16, 32, 64, 128)},
                BINARY_MATRIX,
            ),
            PeerSpec(
                "ials",
                lambda **p: IALSPeer(seed=seed, iterations=15, **p),
                {"factors": (32, 64), "regularization": (0.05, 0.5), "alpha": (2.0, 10.0)},
                BINARY_MATRIX,
            ),
            PeerSpec(
                "tfidf_content",
                lambda **p: TfidfContentPeer(**p),
                {"min_df": (1, 2, 5)},
                BINARY_MATRIX + " (which products a client has) + product text",
            ),
            PeerSpec(
                "svd_content",
                lambda **p: SVDContentBlendPeer(seed=seed, **p),
                {"n_factors": (32, 64), "content_weight": (0.2, 0.4, 0.6)},
                BINARY_MATRIX + " + product text",
            ),
        )
    }


@dataclass(frozen=True)
class Tuned:
    """A tuned model: its factory for the test run, and how it was chosen."""

    name: str
    factory: Callable[[], Recommender]
    params: dict[str, Any]
    validation: float
    trials: pd.DataFrame
    seconds: float


def grid_search(
    spec: PeerSpec, split: Split, *, max_clients: int | None, seed: int, quick: bool = False
) -> Tuned:
    """Every grid point on the validation split; the best one by :data:`OBJECTIVE`."""
    t0 = time.perf_counter()
    points = spec.points(quick)
    rows = []
    for i, point in enumerate(points):
        report = evaluate(
            {spec.name: functools.partial(spec.make, **point)},
            split=split,
            on_validation=True,
            k_list=(10, 20),
            max_clients=max_clients,
            seed=seed,
        )
        metrics = report.metrics.iloc[0]
        rows.append(
            {"point": i, **point, OBJECTIVE: float(metrics[OBJECTIVE]), "fit_s": metrics["fit_s"]}
        )
    trials = pd.DataFrame(rows)
    best = trials.sort_values([OBJECTIVE, "point"], ascending=[False, True], kind="stable").iloc[0]
    params = points[int(best["point"])]
    return Tuned(
        name=spec.name,
        factory=functools.partial(spec.make, **params),
        params=params,
        validation=float(best[OBJECTIVE]),
        trials=trials,
        seconds=time.perf_counter() - t0,
    )


def _plain(value: Any) -> Any:
    """numpy scalars as Python numbers (for printing and JSON)."""
    return value.item() if hasattr(value, "item") else value


def atelier_default() -> Tuned:
    """The hybrid with the default configuration (nothing chosen)."""
    from core.engine.models.hybrid import HybridRecommender

    return Tuned("atelier", HybridRecommender, {}, float("nan"), pd.DataFrame(), 0.0)


def atelier_part(name: str) -> Tuned:
    """The hybrid without a part, or one part alone, default configuration otherwise.

    ``atelier_order_blind``: without the next-step block (in the default
    model list); ``atelier_cf`` or ``atelier_content``: the SVD or content
    part alone (on request), for reading where the hybrid gains or loses.
    """
    from core.engine.config import EngineConfig
    from core.engine.models.content import ContentRecommender
    from core.engine.models.hybrid import HybridRecommender
    from core.engine.models.svd import SVDRecommender

    factories: dict[str, Callable[[], Recommender]] = {
        "atelier_order_blind": lambda: HybridRecommender(EngineConfig(sequence_weight=0.0)),
        "atelier_cf": SVDRecommender,
        "atelier_content": ContentRecommender,
    }
    return Tuned(name, factories[name], {}, float("nan"), pd.DataFrame(), 0.0)


def atelier_tuned(
    split: Split,
    *,
    n_trials: int,
    max_clients: int | None,
    seed: int,
    budget_s: float | None = None,
    objective: str = OBJECTIVE,
) -> tuple[Tuned, TuneResult]:
    """The hybrid after :func:`core.engine.tune.tune` on the split's validation part.

    ``objective``: what the tuner maximises (the peers' grids maximise
    :data:`OBJECTIVE`); the validation figure reported is :data:`OBJECTIVE`.
    """
    from core.engine.models.hybrid import HybridRecommender

    t0 = time.perf_counter()
    result = tune(
        split.train,
        EngineConfig(),
        split=split,
        n_trials=n_trials,
        budget_s=budget_s,
        seed=seed,
        max_clients=max_clients,
        objective=objective,
    )
    best = result.trials.iloc[0]
    tuned = Tuned(
        name="atelier_tuned",
        factory=functools.partial(HybridRecommender, config=result.best_config),
        params=changed_knobs(result),
        validation=float(best[OBJECTIVE]),
        trials=result.trials,
        seconds=time.perf_counter() - t0,
    )
    return tuned, result


def changed_knobs(result: TuneResult) -> dict[str, Any]:
    """The searched :class:`EngineConfig` knobs the tuner moved away from the defaults."""
    best = result.trials.iloc[0]
    default = EngineConfig()
    out: dict[str, Any] = {}
    for key in DEFAULT_SPACE:
        value = _plain(best[key])
        start = 1.0 if key == EVENT_SCALE else getattr(default, key)
        if value != start:
            out[key] = value
    return out
