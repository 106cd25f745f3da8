"""Choose engine parameters on a validation window, never on the test window.

:func:`tune` splits the data (by time, :func:`core.engine.evaluation.temporal_split`,
or by each client's last interactions, :func:`core.engine.evaluation.last_n_split`),
and searches with Optuna's TPE sampler (seeded): each trial fits one model on
the validation split's training part and scores the validation clients in a
few chunks, reporting the running metric after each so that a median pruner
stops a trial that trails the others. The search ends after ``n_trials`` or
when ``budget_s`` seconds have passed (a running trial is finished first)::

    result = tune(dataset, EngineConfig(), budget_s=600, n_trials=100, seed=0)
    result.best_config.to_toml("engine.toml")
    result.trials  # one row per trial: parameters, state, Recall@20, NDCG@10, seconds
    result.save(trials_path(data_dir))  # read back by the Model health page

The first trial is always the starting configuration, so the result is never
worse than it on the validation window; the next third of the trials move
one telling knob at a time from it (:func:`probe_params`), so that a short
search explores around the start before TPE models the whole space. Before the first fit,
:func:`assert_unseen` checks that nothing the search reads (training events,
validation window) comes from the test part, and raises otherwise.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.distributions import (
    BaseDistribution,
    CategoricalChoiceType,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from core.data.dataset import Dataset
from core.data.schema import COLS
from core.engine.config import EngineConfig
from core.engine.evaluation import Progress, Split, last_n_split, metrics_from_hits, temporal_split
from core.engine.evaluation.runner import rank_clients
from core.engine.evaluation.scoring import EvalData, gather, prepare
from core.engine.models.base import Recommender
from core.engine.tune_result import (
    DEFAULT_OBJECTIVE,
    TRIALS_FILE,
    TuneResult,
    read_tune_result,
    trials_path,
)

__all__ = [
    "DEFAULT_OBJECTIVE",
    "DEFAULT_SPACE",
    "EVENT_SCALE",
    "TRIALS_FILE",
    "TUNE_PROTOCOLS",
    "TuneResult",
    "apply_params",
    "assert_unseen",
    "check_space",
    "parse_duration",
    "read_tune_result",
    "probe_params",
    "start_params",
    "trials_path",
    "tune",
    "tuning_split",
]

ModelFactory = Callable[[EngineConfig], Recommender]

#: Scale of the non-purchase event weights relative to purchases (a pseudo-parameter).
EVENT_SCALE = "event_weight_scale"
#: How the validation window is carved: by time, or each client's last interactions.
TUNE_PROTOCOLS: tuple[str, ...] = ("time", "last_n")
#: Metrics recorded for every complete trial (the objective is added).
TRIAL_METRICS: tuple[str, ...] = ("Recall@10", "Recall@20", "NDCG@10", "MAP@10")

#: The default search space, as Optuna distributions (within :class:`EngineConfig`'s ranges).
DEFAULT_SPACE: dict[str, BaseDistribution] = {
    "item_normalization": CategoricalDistribution(("none", "idf", "bm25")),
    "popularity_exponent": FloatDistribution(0.0, 1.0),
    "n_factors": IntDistribution(4, 128, log=True),
    "half_life_days": FloatDistribution(30.0, 1500.0, log=True),
    "recency": CategoricalDistribution(("client", "calendar")),
    EVENT_SCALE: FloatDistribution(0.25, 4.0, log=True),
    "blend_k": FloatDistribution(0.5, 100.0, log=True),
    "cf_weight": FloatDistribution(0.0, 4.0),
    "item_weight": FloatDistribution(0.0, 4.0),
    "sequence_weight": FloatDistribution(0.0, 4.0),
    "content_weight": FloatDistribution(0.0, 4.0),
    "text_weight": FloatDistribution(0.0, 5.0),
    "visual_weight": FloatDistribution(0.0, 4.0),
    "prior_weight": FloatDistribution(0.0, 3.0),
    "new_arrival_weight": FloatDistribution(0.0, 4.0),
    "item_neighbours": IntDistribution(20, 1000, log=True),
    "item_shrinkage": FloatDistribution(1.0, 1000.0, log=True),
    "factor_shrinkage": FloatDistribution(1.0, 1000.0, log=True),
}

_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Seconds in a duration such as ``"90s"``, ``"10m"``, ``"1.5h"`` or ``"120"`` (seconds).

    Raises
    ------
    ValueError
        Naming the text and the expected form.
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", str(text).lower())
    seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"] if match else 0.0
    if not match or seconds <= 0:
        raise ValueError(
            f"a duration must be a positive number with s, m or h (e.g. 90s, 10m, 1h), got {text!r}"
        )
    return seconds


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


def start_params(base: EngineConfig, space: Mapping[str, BaseDistribution]) -> dict[str, Any]:
    """The values ``base`` holds for the searched keys (scale 1.0 for the event scale)."""
    return {k: 1.0 if k == EVENT_SCALE else getattr(base, k) for k in space}


#: The knobs a search first moves one at a time from the start, most telling
#: first (on the quality benchmark's validation windows these moved cells most).
PROBE_ORDER: tuple[str, ...] = (
    "content_weight",
    "prior_weight",
    "factor_shrinkage",
    "item_weight",
    "cf_weight",
    "half_life_days",
    "n_factors",
    "blend_k",
)


def probe_params(
    start: Mapping[str, Any], space: Mapping[str, BaseDistribution], n: int
) -> list[dict[str, Any]]:
    """Up to ``n`` configurations, each ``start`` with one knob of :data:`PROBE_ORDER` moved.

    Each knob is tried up, then down: a log-scaled range doubles or halves
    it, a linear one moves it a quarter of its range; a move is clipped to
    the range and skipped when it lands on the start. These trials run right
    after the start, so that a short search still learns which way each knob
    that matters goes before TPE models the rest (TPE counts them among its
    first trials).
    """
    out: list[dict[str, Any]] = []
    for key in PROBE_ORDER:
        dist = space.get(key)
        if not isinstance(dist, FloatDistribution | IntDistribution) or key not in start:
            continue
        value = float(start[key])
        for up in (True, False):
            if dist.log:
                moved = value * 2.0 if up else value / 2.0
            else:
                step = 0.25 * (dist.high - dist.low)
                moved = value + step if up else value - step
            moved = min(max(moved, dist.low), dist.high)
            if isinstance(dist, IntDistribution):
                moved = int(round(moved))
            if moved == value:
                continue
            out.append({**start, key: moved})
            if len(out) >= n:
                return out
    return out


def check_space(space: Mapping[str, object], base: EngineConfig) -> dict[str, BaseDistribution]:
    """``space`` checked: Optuna distributions whose ends lie in the engine's declared ranges.

    Raises
    ------
    ValueError
        For a value that is not a distribution, or a categorical without the
        starting value.
    ConfigError
        For an unknown key or an end outside its parameter's range.
    """
    out: dict[str, BaseDistribution] = {}
    for key, dist in space.items():
        if not isinstance(dist, BaseDistribution):
            raise ValueError(
                f"space[{key!r}] must be an Optuna distribution (e.g. FloatDistribution(0, 1)), "
                f"got {dist!r}"
            )
        if isinstance(dist, CategoricalDistribution):
            ends = list(dist.choices)
            start = start_params(base, {key: dist})[key]
            if start not in ends:
                raise ValueError(
                    f"space[{key!r}] must include the starting value {start!r}, got {ends}"
                )
        else:
            ends = [dist.low, dist.high]  # type: ignore[attr-defined]
        for value in ends:
            apply_params(base, {key: value})
        out[str(key)] = dist
    return out


# ----------------------------------------------------------------- the split
def _hashes(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    return pd.util.hash_pandas_object(frame[columns], index=False).to_numpy()


def assert_unseen(split: Split) -> None:
    """Check that nothing of ``split``'s test part reaches its validation split.

    Every event the tuner fits on and every validation pair must come from
    ``split.train``; under a time split every such event is before the test
    cutoff and the validation window ends by it; under ``last_n`` no test
    pair appears in them.

    Raises
    ------
    RuntimeError
        When any of that fails (a leak), naming what leaked.
    """
    val = split.validation
    if val is None:
        raise RuntimeError("the split has no validation window to tune on")
    event_keys = [COLS.client_id, COLS.product_id, "event_type", "timestamp"]
    fitted = np.isin(_hashes(val.train.events, event_keys), _hashes(split.train.events, event_keys))
    if not fitted.all():
        raise RuntimeError(
            f"{int((~fitted).sum())} events fitted while tuning are not training events"
        )
    pair = [COLS.client_id, COLS.product_id]
    if not np.isin(_hashes(val.test, pair), _hashes(split.train.events, pair)).all():
        raise RuntimeError("validation pairs come from outside the training part")
    if split.protocol == "last_n":
        seen = np.concatenate([_hashes(val.train.events, pair), _hashes(val.test, pair)])
        if np.isin(_hashes(split.test, pair), seen).any():
            raise RuntimeError("test pairs appear in the data the tuner reads")
        return
    last = val.train.events["timestamp"].max()
    if (pd.notna(last) and last >= split.cutoff) or val.end > split.cutoff:
        raise RuntimeError(
            f"the tuner would read events from {min(last, val.end)} on, past the test cutoff "
            f"{split.cutoff}"
        )


def tuning_split(
    dataset: Dataset,
    protocol: str = "time",
    *,
    test_days: int = 28,
    val_days: int = 28,
    n_test: int = 3,
    n_val: int | None = None,
) -> Split:
    """The split :func:`tune` searches on: ``"time"`` or ``"last_n"`` (validation carved from training).

    Raises
    ------
    ValueError
        For an unknown protocol or windows that leave nothing.
    """
    if protocol == "time":
        if val_days < 1:
            raise ValueError("tuning needs a validation window: val_days must be at least 1")
        return temporal_split(dataset, test_days, val_days)
    if protocol == "last_n":
        return last_n_split(dataset, n_test, n_val)
    raise ValueError(f"protocol must be one of {', '.join(TUNE_PROTOCOLS)}, got {protocol!r}")


# ------------------------------------------------------------------ scoring
@dataclass
class _Scorer:
    """Scores a fitted model on the validation clients, chunk by chunk.

    A composite objective such as ``"Recall@20+NDCG@10"`` is the mean of its
    metrics each divided by the starting configuration's (trial 0's) value on
    the same clients, so the start scores 1 and a trial that gains 5 % on one
    metric and loses 5 % on the other scores 1 too. Its running values (what
    the pruner compares) divide by the start's running values on the same
    chunks.
    """

    split: Split  # the validation split
    data: EvalData
    objective: str
    n_chunks: int
    order: np.ndarray = field(init=False)
    parts: tuple[str, ...] = field(init=False)
    start: dict[int, np.ndarray] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        rng = np.random.default_rng(0)
        self.order = rng.permutation(len(self.data.client_ids))  # chunks alike, not by id
        self.parts = tuple(self.objective.split("+"))

    def _value(self, values: np.ndarray, step: int) -> float:
        """The objective from the parts' ``values`` at ``step`` (-1: the whole set)."""
        if len(self.parts) == 1:
            return float(values[0])
        if step not in self.start:  # the start itself: its values are the unit
            self.start[step] = values
            return 1.0
        base = self.start[step]
        ratios = np.where(base > 0, values / np.where(base > 0, base, 1.0), 1.0 + values)
        return float(np.mean(ratios))

    def score(self, model: Recommender, trial: optuna.Trial) -> dict[str, float]:
        metric_k = [(name, int(k)) for name, _, k in (p.partition("@") for p in self.parts)]
        k_max = max(20, *(k for _, k in metric_k))
        tops, hits = [], []
        for step, rows in enumerate(np.array_split(self.order, self.n_chunks)):
            if rows.size == 0:
                continue
            top = rank_clients(
                model, self.data.client_ids[rows].tolist(), k_max, self.data.known[rows]
            )
            tops.append(top)
            hits.append(gather(self.data.relevant[rows], top))
            done = self.order[: sum(len(t) for t in tops)]  # chunks are consecutive
            running = np.array(
                [
                    np.nanmean(
                        metrics_from_hits(np.vstack(hits), self.data.n_relevant[done], k)[name]
                    )
                    for name, k in metric_k
                ]
            )
            trial.report(self._value(running, step), step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return self._row(np.vstack(tops), np.vstack(hits))

    def _row(self, top: np.ndarray, hits: np.ndarray) -> dict[str, float]:
        n_rel = self.data.n_relevant[self.order]
        row: dict[str, float] = {}
        for metric in dict.fromkeys((*TRIAL_METRICS, *self.parts)):
            name, _, k = metric.partition("@")
            row[metric] = float(np.nanmean(metrics_from_hits(hits, n_rel, int(k))[name]))
        row[self.objective] = self._value(np.array([row[p] for p in self.parts]), -1)
        top20 = top[:, :20]
        row["Coverage@20"] = np.unique(top20[top20 >= 0]).size / self.data.relevant.shape[1]
        return row


# ------------------------------------------------------------------- search
def _default_factory(config: EngineConfig) -> Recommender:
    from core.engine.models.hybrid import HybridRecommender

    return HybridRecommender(config=config)


def _suggest(trial: optuna.Trial, key: str, dist: BaseDistribution) -> CategoricalChoiceType:
    if isinstance(dist, CategoricalDistribution):
        return trial.suggest_categorical(key, dist.choices)
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(key, dist.low, dist.high, step=dist.step, log=dist.log)
    if isinstance(dist, FloatDistribution):
        return trial.suggest_float(key, dist.low, dist.high, step=dist.step, log=dist.log)
    raise ValueError(f"unsupported distribution for {key!r}: {dist!r}")


def _check_args(n_trials: object, budget_s: object, objective: str, n_chunks: object) -> None:
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or not 1 <= n_trials <= 10_000:
        raise ValueError(f"n_trials must be a whole number between 1 and 10000, got {n_trials!r}")
    if budget_s is not None and not (
        isinstance(budget_s, int | float) and math.isfinite(budget_s) and budget_s > 0
    ):
        raise ValueError(f"budget_s must be a positive number of seconds, got {budget_s!r}")
    parts = objective.split("+")
    for part in parts:
        name, _, k_text = part.partition("@")
        if name not in ("Recall", "NDCG", "Precision", "MAP", "HitRate") or not k_text.isdigit():
            raise ValueError(
                "objective must look like 'Recall@20', 'NDCG@10' or 'Recall@20+NDCG@10', "
                f"got {objective!r}"
            )
    if len(set(parts)) != len(parts):
        raise ValueError(f"objective names a metric twice: {objective!r}")
    if isinstance(n_chunks, bool) or not isinstance(n_chunks, int) or not 1 <= n_chunks <= 100:
        raise ValueError(f"n_chunks must be a whole number between 1 and 100, got {n_chunks!r}")


_STATES = {optuna.trial.TrialState.COMPLETE: "complete", optuna.trial.TrialState.PRUNED: "pruned"}


def _trials_frame(
    study: optuna.Study, rows: Mapping[int, dict[str, float]], keys: list[str], objective: str
) -> pd.DataFrame:
    """One row per trial, complete ones best first (ties: the earlier), then the others."""
    records = []
    for t in study.trials:
        if t.state == optuna.trial.TrialState.WAITING:
            continue  # enqueued (a probe), never started: the budget ran out first
        state = _STATES.get(t.state, "fail")
        value = t.value if state == "complete" else None
        if value is None and t.intermediate_values:
            value = t.intermediate_values[max(t.intermediate_values)]
        seconds = (
            (t.datetime_complete - t.datetime_start).total_seconds()
            if t.datetime_complete is not None and t.datetime_start is not None
            else float("nan")
        )
        metrics = rows.get(t.number, {})
        records.append(
            {
                "trial": t.number,
                "state": state,
                **{k: t.params.get(k) for k in keys},
                objective: float("nan") if value is None else float(value),
                **{
                    m: metrics.get(m, float("nan"))
                    for m in (*TRIAL_METRICS, "Coverage@20")
                    if m != objective
                },
                "seconds": seconds,
            }
        )
    frame = pd.DataFrame(records)
    rank = np.where(frame["state"] == "complete", frame[objective].fillna(-np.inf), -np.inf)
    order = np.lexsort((frame["trial"].to_numpy(), -rank))
    return frame.iloc[order].reset_index(drop=True)


def _importance(study: optuna.Study, seed: int) -> dict[str, float]:
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if len(complete) < 4:
        return {}
    try:
        evaluator = optuna.importance.FanovaImportanceEvaluator(seed=seed)
        found = optuna.importance.get_param_importances(study, evaluator=evaluator)
    except (RuntimeError, ValueError, ZeroDivisionError):
        return {}
    return {str(k): float(v) for k, v in found.items()}


def _progress_callback(
    progress: Progress | None, n_trials: int, budget_s: float | None, objective: str
) -> Callable[[optuna.Study, optuna.trial.FrozenTrial], None]:
    start = time.perf_counter()

    def after(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if progress is None:
            return
        started = [t for t in study.trials if t.state != optuna.trial.TrialState.WAITING]
        fraction = len(started) / n_trials
        if budget_s is not None:
            fraction = max(fraction, (time.perf_counter() - start) / budget_s)
        done = [t.value for t in study.trials if t.value is not None and t.state.name == "COMPLETE"]
        best = f"; best {objective} {max(done):.4f}" if done else ""
        state = _STATES.get(trial.state, "failed")
        progress(f"trial {trial.number + 1} {state}{best}", min(fraction, 0.99))

    return after


@dataclass
class _Study:
    """One Optuna search over ``space`` on a scorer's validation split."""

    scorer: _Scorer
    base: EngineConfig
    space: dict[str, BaseDistribution]
    factory: ModelFactory
    rows: dict[int, dict[str, float]] = field(default_factory=dict)
    errors: dict[int, BaseException] = field(default_factory=dict)

    def objective(self, trial: optuna.Trial) -> float:
        params = {k: _suggest(trial, k, d) for k, d in self.space.items()}
        train = self.scorer.split.train
        try:
            model = self.factory(apply_params(self.base, params)).fit(train)
            if getattr(model, "dataset_", train) is not train:
                raise RuntimeError(
                    "a trial's model was fitted on other data than the validation split's training part"
                )
            row = self.scorer.score(model, trial)
        except optuna.TrialPruned:
            raise
        except Exception as err:
            self.errors[trial.number] = err
            raise
        self.rows[trial.number] = row
        return row[self.scorer.objective]

    def run(
        self, n_trials: int, budget_s: float | None, seed: int, progress: Progress | None
    ) -> optuna.Study:
        callback = _progress_callback(progress, n_trials, budget_s, self.scorer.objective)
        verbosity = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        try:
            study = optuna.create_study(
                direction="maximize",
                sampler=optuna.samplers.TPESampler(seed=seed),
                pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0),
            )
            start = start_params(self.base, self.space)
            study.enqueue_trial(start)  # trial 0: the start
            for probe in probe_params(start, self.space, n_trials // 3):
                study.enqueue_trial(probe)  # then one knob at a time
            study.optimize(
                self.objective,
                n_trials=n_trials,
                timeout=budget_s,
                callbacks=[callback],
                catch=(ValueError, ArithmeticError, np.linalg.LinAlgError),
            )
        finally:
            optuna.logging.set_verbosity(verbosity)
        if study.trials[0].state != optuna.trial.TrialState.COMPLETE:
            raise self.errors.get(0) or RuntimeError(
                "the starting configuration could not be scored"
            )
        return study


def tune(
    dataset: Dataset,
    base_config: EngineConfig | None = None,
    *,
    space: Mapping[str, BaseDistribution] | None = None,
    n_trials: int = 100,
    budget_s: float | None = None,
    seed: int = 0,
    objective: str = DEFAULT_OBJECTIVE,
    protocol: str = "time",
    test_days: int = 28,
    val_days: int = 28,
    n_test: int = 3,
    n_val: int | None = None,
    split: Split | None = None,
    model_factory: ModelFactory | None = None,
    max_clients: int | None = None,
    n_chunks: int = 4,
    progress: Progress | None = None,
) -> TuneResult:
    """Search engine parameters with Optuna (TPE, median pruning) on the validation window.

    Parameters
    ----------
    dataset : Dataset
    base_config : EngineConfig, optional
        The starting point (default settings otherwise); trial 0 evaluates it
        unchanged and every other trial changes only the searched parameters.
    space : mapping of str to optuna distribution, optional
        Default :data:`DEFAULT_SPACE`. Keys are :class:`EngineConfig` fields,
        plus ``event_weight_scale`` (multiplies every non-purchase event weight).
    n_trials : int
        Most trials, the starting configuration included (1 to 10,000).
    budget_s : float, optional
        Start no trial after this many seconds (the running one is finished).
    seed : int
        Seed of the TPE sampler and of the client sample.
    objective : str
        Metric to maximise, e.g. ``"Recall@20"`` or ``"NDCG@10"``; or several
        joined by ``+``: the mean of each relative to the starting
        configuration's value. Default :data:`DEFAULT_OBJECTIVE`
        (``"Recall@20+NDCG@10"``).
    protocol : {"time", "last_n"}
        ``time``: the last ``test_days`` are test, the ``val_days`` before
        them validation. ``last_n``: each client's last ``n_test``
        interactions are test, the ``n_val`` before them validation.
    split : Split, optional
        A precomputed split with a validation split (``protocol`` is then unused).
    model_factory : callable, optional
        ``EngineConfig -> Recommender`` (default: the hybrid).
    max_clients : int, optional
        Score a seeded sample of the validation clients (faster).
    n_chunks : int
        Chunks the validation clients are scored in; the running metric is
        reported to the pruner after each.
    progress : callable, optional
        ``progress(message, fraction)``.

    Raises
    ------
    ValueError
        For a bad argument or space, or no validation pair.
    ConfigError
        For a searched range outside an engine parameter's range.
    RuntimeError
        When the validation data would include anything of the test part.

    Longer than 60 lines for its signature and the documentation of its
    eighteen parameters; the steps are helpers (:func:`tuning_split`,
    :func:`assert_unseen`, the study's ``run``, ``_trials_frame``).
    """
    _check_args(n_trials, budget_s, objective, n_chunks)
    base = base_config if base_config is not None else EngineConfig()
    dists = check_space(DEFAULT_SPACE if space is None else space, base)
    if split is None:
        split = tuning_split(
            dataset, protocol, test_days=test_days, val_days=val_days, n_test=n_test, n_val=n_val
        )
    val = _checked_validation(split)
    scorer = _Scorer(val, prepare(val, None, max_clients, seed), objective, n_chunks)
    search = _Study(scorer, base, dists, model_factory or _default_factory)
    t0 = time.perf_counter()
    study = search.run(n_trials, budget_s, seed, progress)
    trials = _trials_frame(study, search.rows, list(dists), objective)
    best = int(trials["trial"].iloc[0])
    states = trials["state"].value_counts()
    return TuneResult(
        best_config=apply_params(base, study.trials[best].params),
        trials=trials,
        objective=objective,
        validation={**val.summary(), "test_cutoff": split.cutoff.isoformat()},
        best_trial=best,
        importance=_importance(study, seed),
        search={
            "sampler": f"TPE (seed {seed})",
            "pruner": f"median, after each of {n_chunks} chunks of validation clients",
            "params": list(dists),
            "n_trials": n_trials,
            "budget_s": budget_s,
            "seconds": round(time.perf_counter() - t0, 1),
            "complete": int(states.get("complete", 0)),
            "pruned": int(states.get("pruned", 0)),
            "failed": int(states.get("fail", 0)),
        },
    )


def _checked_validation(split: Split) -> Split:
    """``split``'s validation split, once :func:`assert_unseen` passed and it holds a pair.

    Raises
    ------
    ValueError
        When the validation window holds no relevant pair.
    """
    assert_unseen(split)
    val = split.validation
    assert val is not None  # assert_unseen raised otherwise
    if val.test.empty:
        raise ValueError("the validation window holds no relevant pair: use a longer window")
    return val
