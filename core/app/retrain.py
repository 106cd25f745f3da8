"""Retrain the hybrid model in the background and swap it in only if it does not regress.

:class:`RetrainJob` runs in a thread of the dashboard's process:

1. load the data folder as it is now (a fresh, validated load);
2. evaluate the candidate configuration on a temporal split
   (:func:`core.engine.evaluation.evaluate`, with the baselines unless told otherwise);
3. compare Recall@20 and NDCG@10 with the current model's last evaluation
   report (``model_dir/evaluation/report.json``): the candidate may lose at
   most ``tolerance`` of each, relatively (default 2%);
4. only then fit the candidate on all the data, save it into a temporary
   folder next to the model (:func:`core.engine.models.persistence.save_model`) with
   its report and a generation counter, and swap the folders by renaming.

When the candidate regresses, or anything fails, the old model's files are
not touched and the result says why. Progress (a fraction and a message) is
readable from any thread, so every session can draw the same bar. One job
runs at a time in a process (:class:`RetrainBusyError` otherwise).

The dashboard caches the loaded model; :func:`model_generation` changes with
every save, so a cache keyed by it loads the new model on the next run.
"""

from __future__ import annotations

import logging
import math
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from core.app.model_folder import (
    GENERATION_FILE,
    model_generation,
    read_report,
    report_path,
    retrain_count,
    swap_folder,
    write_report,
)
from core.data.dataset import Dataset, load_dataset
from core.engine.config import EngineConfig
from core.engine.evaluation import EvaluationReport, default_models, evaluate, load_truth
from core.exceptions import AtelierError
from core.settings import DEFAULT_MAX_FILE_MB

__all__ = [
    "DEFAULT_TOLERANCE",
    "GENERATION_FILE",
    "GUARDED_METRICS",
    "GUARDED_MODEL",
    "RetrainBusyError",
    "RetrainJob",
    "RetrainResult",
    "RetrainRunner",
    "RetrainStatus",
    "compare",
    "guarded_metrics",
    "model_generation",
    "no_retrain",
    "read_report",
    "report_path",
    "retrain_count",
    "swap_folder",
    "write_report",
]

#: Metrics a new model may not lose beyond the tolerance.
GUARDED_METRICS: tuple[str, ...] = ("Recall@20", "NDCG@10")
#: The evaluated model whose metrics are guarded (a row of the report).
GUARDED_MODEL = "hybrid"
#: Default relative tolerance: the new model may be at most 2% worse on each metric.
DEFAULT_TOLERANCE = 0.02

Decision = Literal["swapped", "kept", "failed"]
Progress = Callable[[str, float], None]
_log = logging.getLogger(__name__)


class RetrainBusyError(AtelierError):
    """A retrain is already running in this process."""


# ------------------------------------------------------------------ guard
def guarded_metrics(
    report: EvaluationReport | None,
    model: str = GUARDED_MODEL,
    metrics: Sequence[str] = GUARDED_METRICS,
) -> dict[str, float] | None:
    """``{metric: value}`` of ``model`` in ``report``; ``None`` when the report lacks them."""
    if report is None or model not in report.metrics.index:
        return None
    out: dict[str, float] = {}
    for m in metrics:
        if m not in report.metrics.columns:
            return None
        out[m] = float(report.metrics.at[model, m])  # type: ignore[arg-type]
    return out


def compare(
    before: Mapping[str, float] | None,
    after: Mapping[str, float],
    tolerance: float = DEFAULT_TOLERANCE,
) -> tuple[bool, str]:
    """Whether ``after`` may replace ``before``, and a sentence saying why.

    A metric regresses when ``after < before * (1 - tolerance)``. With no
    ``before`` (no earlier evaluation), the candidate is accepted.

    Raises
    ------
    ValueError
        When ``tolerance`` is outside [-1, 1].
    """
    if not -1.0 <= tolerance <= 1.0:
        raise ValueError(f"tolerance must be between -1 and 1 (a relative change), got {tolerance}")
    bad_values = [m for m, v in after.items() if not math.isfinite(float(v))]
    if bad_values:
        return False, f"the new model's {', '.join(bad_values)} could not be computed"
    if before is None:
        return True, "no earlier evaluation to compare with: the new model is used"
    worse = []
    for metric, old in before.items():
        new = float(after.get(metric, float("nan")))
        floor = float(old) * (1.0 - tolerance)
        if not math.isfinite(new) or new < floor:
            change = (new / old - 1.0) * 100.0 if old else float("nan")
            worse.append(f"{metric} {old:.4f} → {new:.4f} ({change:+.1f}%)")
    allowed = f"{tolerance * 100:g}%"
    if worse:
        return False, (
            f"the new model regresses beyond the {allowed} tolerance: "
            + "; ".join(worse)
            + ". The current model is kept."
        )
    shown = "; ".join(f"{m} {before[m]:.4f} → {float(after[m]):.4f}" for m in before if m in after)
    return True, f"no regression beyond the {allowed} tolerance ({shown}): the new model is used"


@contextmanager
def no_retrain() -> Iterator[None]:
    """Hold the process's retrain lock: refuse while a retrain runs, and keep one from starting.

    For other changes to the saved model (an erasure), which a retrain
    finishing meanwhile would overwrite.

    Raises
    ------
    RetrainBusyError
        When a retrain is running in this process.
    """
    if not RetrainJob._process_lock.acquire(blocking=False):
        raise RetrainBusyError("a retrain is running; wait for it to finish, then try again")
    try:
        yield
    finally:
        RetrainJob._process_lock.release()


# ------------------------------------------------------------------ result
@dataclass(frozen=True)
class RetrainResult:
    """What a retrain decided and why.

    Attributes
    ----------
    decision : {"swapped", "kept", "failed"}
    reason : str
        One sentence for the admin.
    before, after : dict of str to float, or None
        Guarded metrics of the current model (from its last report) and of the candidate.
    tolerance : float
    report : EvaluationReport or None
        The candidate's evaluation (saved with the model when swapped).
    generation : str
        :func:`model_generation` after the job (changed only by a swap).
    started_at, finished_at : datetime
        Aware UTC.
    """

    decision: Decision
    reason: str
    before: dict[str, float] | None
    after: dict[str, float] | None
    tolerance: float
    report: EvaluationReport | None = field(default=None, repr=False)
    generation: str = "none"
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def seconds(self) -> float:
        if self.started_at is None or self.finished_at is None:
            return 0.0
        return (self.finished_at - self.started_at).total_seconds()

    def audit_details(self) -> dict[str, Any]:
        """Plain values for the audit log."""
        return {
            "decision": self.decision,
            "reason": self.reason[:500],
            "before": self.before,
            "after": self.after,
            "tolerance": self.tolerance,
            "seconds": round(self.seconds, 1),
        }


@dataclass(frozen=True)
class RetrainStatus:
    """A consistent snapshot of a job's progress (safe to read from any session)."""

    fraction: float
    message: str
    running: bool
    result: RetrainResult | None
    started_by: str | None


# --------------------------------------------------------------------- job
class RetrainJob:
    """Fit, evaluate and (maybe) swap in a new hybrid model, in a background thread.

    Parameters
    ----------
    data_dir : path
        The data folder, loaded afresh when the job runs.
    model_dir : path
        The current model's folder (``Settings.resolved_model_dir``).
    config : EngineConfig, optional
        The candidate's configuration. Default: ``data_dir/engine.toml`` if
        present, else the current model's configuration, else the defaults.
    tolerance : float
        Largest relative loss allowed on each guarded metric (default 0.02);
        a negative value demands a gain.
    metrics : sequence of str
        The guarded metrics (default Recall@20 and NDCG@10).
    include_baselines : bool
        Also evaluate the baselines, so the report compares against them (slower).
    test_days : int
        Length of the evaluation's test window.
    max_clients : int, optional
        Evaluate on a seeded sample of this many test clients.
    max_file_mb : float
        Largest table file read.
    tune_budget_s : float, optional
        Tune the configuration first (:func:`core.engine.tune.tune`, from the
        candidate configuration, within this many seconds); the search is saved
        to ``data_dir/tune_trials.json`` and, when the new model is swapped in,
        its configuration to ``data_dir/engine.toml``.
    tune_trials : int
        Most trials of that search.
    started_by : str, optional
        Who started it (shown to other sessions).
    on_finish : callable, optional
        Called with the :class:`RetrainResult` when the job ends (in the job's
        thread), e.g. to audit the decision; its errors are logged, not raised.
    """

    _process_lock = threading.Lock()

    def __init__(
        self,
        data_dir: str | Path,
        model_dir: str | Path,
        *,
        config: EngineConfig | None = None,
        tolerance: float = DEFAULT_TOLERANCE,
        metrics: Sequence[str] = GUARDED_METRICS,
        include_baselines: bool = True,
        test_days: int = 28,
        max_clients: int | None = None,
        max_file_mb: float = DEFAULT_MAX_FILE_MB,
        tune_budget_s: float | None = None,
        tune_trials: int = 100,
        started_by: str | None = None,
        on_finish: Callable[[RetrainResult], None] | None = None,
    ) -> None:
        if not -1.0 <= tolerance <= 1.0:
            raise ValueError(f"tolerance must be between -1 and 1, got {tolerance}")
        if not metrics:
            raise ValueError("metrics is empty: guard at least one metric")
        self.data_dir = Path(data_dir)
        self.model_dir = Path(model_dir)
        self.config = config
        self.tolerance = float(tolerance)
        self.metrics = tuple(metrics)
        self.include_baselines = include_baselines
        self.test_days = test_days
        self.max_clients = max_clients
        self.max_file_mb = max_file_mb
        if tune_budget_s is not None and not tune_budget_s > 0:
            raise ValueError(
                f"tune_budget_s must be a positive number of seconds, got {tune_budget_s}"
            )
        self.tune_budget_s = tune_budget_s
        self.tune_trials = tune_trials
        self.started_by = started_by
        self.on_finish = on_finish
        self._lock = threading.Lock()
        self._fraction = 0.0
        self._message = "Waiting to start"
        self._running = False
        self._result: RetrainResult | None = None
        self._thread: threading.Thread | None = None
        self._done = threading.Event()

    # ------------------------------------------------------------ progress
    def _report(self, message: str, fraction: float) -> None:
        with self._lock:
            self._fraction = max(self._fraction, min(max(float(fraction), 0.0), 1.0))
            self._message = message

    def status(self) -> RetrainStatus:
        """A snapshot of progress, message and result."""
        with self._lock:
            return RetrainStatus(
                self._fraction, self._message, self._running, self._result, self.started_by
            )

    @property
    def progress(self) -> float:
        return self.status().fraction

    @property
    def message(self) -> str:
        return self.status().message

    @property
    def running(self) -> bool:
        return self.status().running

    @property
    def result(self) -> RetrainResult | None:
        return self.status().result

    def wait(self, timeout: float | None = None) -> RetrainResult | None:
        """Block until the job ends (or ``timeout`` seconds pass); its result or ``None``."""
        self._done.wait(timeout)
        return self.result

    # ----------------------------------------------------------------- run
    def start(self) -> RetrainJob:
        """Run :meth:`run` in a daemon thread and return at once.

        Raises
        ------
        RetrainBusyError
            When another job is running in this process.
        RuntimeError
            When this job was already started.
        """
        if self._thread is not None:
            raise RuntimeError("this retrain job was already started; create a new one")
        if not RetrainJob._process_lock.acquire(blocking=False):
            raise RetrainBusyError("a retrain is already running; wait for it to finish")
        with self._lock:
            self._running = True
            self._message = "Starting"
        self._thread = threading.Thread(
            target=self._run_locked, name="atelier-retrain", daemon=True
        )
        self._thread.start()
        return self

    def _run_locked(self) -> None:
        try:
            self._execute()
        finally:
            RetrainJob._process_lock.release()

    def run(self) -> RetrainResult:
        """Run the whole job in this thread and return its result.

        Raises
        ------
        RetrainBusyError
            When another job is running in this process.
        """
        if not RetrainJob._process_lock.acquire(blocking=False):
            raise RetrainBusyError("a retrain is already running; wait for it to finish")
        with self._lock:
            self._running = True
        try:
            return self._execute()
        finally:
            RetrainJob._process_lock.release()

    def _execute(self) -> RetrainResult:
        started = datetime.now(UTC)
        try:
            result = self._steps(started)
        except Exception as err:  # the thread must end with a result, never silently
            detail = str(err) if isinstance(err, AtelierError | ValueError) else repr(err)
            _log.exception("retrain failed")
            result = RetrainResult(
                "failed",
                f"the retrain failed and the current model is kept: {detail}",
                None,
                None,
                self.tolerance,
                generation=model_generation(self.model_dir),
                started_at=started,
                finished_at=datetime.now(UTC),
            )
        with self._lock:
            self._result = result
            self._running = False
            self._fraction = 1.0
            self._message = {
                "swapped": "Done: the new model is in use",
                "kept": "Done: the current model is kept",
                "failed": "Failed: the current model is kept",
            }[result.decision]
        if self.on_finish is not None:
            try:
                self.on_finish(result)
            except Exception:
                _log.exception("the retrain's on_finish callback failed")
        self._done.set()
        return result

    def _candidate_config(self) -> EngineConfig:
        if self.config is not None:
            return self.config
        toml = self.data_dir / "engine.toml"
        if toml.is_file():
            return EngineConfig.from_toml(toml)
        try:
            from core.engine.models.persistence import read_model_info

            return EngineConfig.from_dict(read_model_info(self.model_dir)["config"])
        except (AtelierError, OSError, KeyError):
            return EngineConfig()

    def _tune(self, dataset: Dataset, config: EngineConfig) -> tuple[EngineConfig, str]:
        """The tuned configuration (the search saved beside the data) and a sentence about it."""
        from core.engine.tune import trials_path, tune

        self._report("Tuning the configuration", 0.05)
        result = tune(
            dataset,
            config,
            budget_s=self.tune_budget_s,
            n_trials=self.tune_trials,
            max_clients=self.max_clients,
            progress=lambda msg, frac: self._report(f"Tuning: {msg}", 0.05 + 0.45 * frac),
        )
        result.save(trials_path(self.data_dir))
        return result.best_config, (
            f" Tuned first: {len(result.trials)} trials; {result.describe()} "
            f"(trial {result.best_trial})."
        )

    def _evaluate(self, dataset: Dataset, config: EngineConfig) -> EvaluationReport:
        if self.include_baselines:
            models = default_models(config)
        else:
            from core.engine.models.hybrid import HybridRecommender

            models = {GUARDED_MODEL: lambda: HybridRecommender(config=config)}
        truth = load_truth(self.data_dir / "truth")
        low = 0.5 if self.tune_budget_s is not None else 0.1
        report = evaluate(
            models,
            dataset,
            test_days=self.test_days,
            truth=truth,
            max_clients=self.max_clients,
            progress=lambda msg, frac: self._report(f"Evaluating: {msg}", low + (0.7 - low) * frac),
        )
        report.protocol["data_fingerprint"] = dataset.fingerprint
        report.protocol["config"] = config.to_dict()
        report.protocol["evaluated_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        return report

    def _steps(self, started: datetime) -> RetrainResult:
        from core.engine.models.hybrid import HybridRecommender
        from core.engine.models.persistence import save_model

        self._report("Loading the data", 0.02)
        dataset = load_dataset(self.data_dir, max_file_mb=self.max_file_mb)
        config, tuned = self._candidate_config(), ""
        if self.tune_budget_s is not None:
            config, tuned = self._tune(dataset, config)
        self._report("Evaluating the new model", 0.5 if tuned else 0.1)
        report = self._evaluate(dataset, config)
        after = guarded_metrics(report, metrics=self.metrics)
        if after is None:
            raise ValueError(f"the evaluation has no {GUARDED_MODEL} row with {self.metrics}")
        before = guarded_metrics(read_report(self.model_dir), metrics=self.metrics)
        self._report("Comparing with the current model", 0.72)
        accept, reason = compare(before, after, self.tolerance)
        if not accept:
            if tuned:
                reason += tuned + " The tuned configuration was not saved."
            return self._finished("kept", reason, before, after, report, started)
        self._report("Fitting the new model on all the data", 0.75)
        model = HybridRecommender(config=config).fit(dataset)
        self._report("Saving the new model", 0.92)
        tmp = self.model_dir.parent / f".{self.model_dir.name}.new-{uuid.uuid4().hex[:8]}"
        try:
            save_model(model, tmp)
            write_report(report, tmp)
            counter = retrain_count(self.model_dir) + 1
            (tmp / GENERATION_FILE).write_text(f"{counter}\n", encoding="utf-8")
            self._report("Swapping the new model in", 0.97)
            swap_folder(tmp, self.model_dir)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        if tuned:
            config.to_toml(self.data_dir / "engine.toml")
            reason += tuned + " Its configuration is saved to engine.toml."
        return self._finished("swapped", reason, before, after, report, started)

    def _finished(
        self,
        outcome: Decision,
        reason: str,
        before: dict[str, float] | None,
        after: dict[str, float],
        report: EvaluationReport,
        started: datetime,
    ) -> RetrainResult:
        """The finished job's result, dated now, with the model generation now in place."""
        return RetrainResult(
            outcome,
            reason,
            before,
            after,
            self.tolerance,
            report,
            model_generation(self.model_dir),
            started,
            datetime.now(UTC),
        )


class RetrainRunner:
    """The latest retrain job of a process, shared by every session.

    Keep one per process (the dashboard caches it with ``st.cache_resource``);
    :meth:`start` refuses a second job while one runs.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._job: RetrainJob | None = None

    @property
    def job(self) -> RetrainJob | None:
        """The running or last finished job, if any."""
        with self._lock:
            return self._job

    def start(self, job: RetrainJob) -> RetrainJob:
        """Start ``job`` and remember it.

        Raises
        ------
        RetrainBusyError
            When a job is running (here or elsewhere in the process).
        """
        with self._lock:
            if self._job is not None and self._job.running:
                raise RetrainBusyError("a retrain is already running; wait for it to finish")
            job.start()
            self._job = job
            return job
