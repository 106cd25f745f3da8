"""Retrain from the Model health and Data & users pages: start, follow, show the decision.

The retrain runs in the background (:class:`core.app.retrain.RetrainRunner`,
one per process, handed out by :mod:`dashboard.resources`); every session
follows the same job.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core.app.retrain import RetrainJob, RetrainResult, RetrainRunner
from core.settings import Settings
from dashboard.widgets.text import safe


def comparison_frame(result: RetrainResult) -> pd.DataFrame:
    """Guarded metrics before and after a retrain, with the relative change."""
    after = result.after or {}
    before = result.before or {}
    rows = []
    for metric in dict.fromkeys([*before, *after]):
        old, new = before.get(metric), after.get(metric)
        change = (new / old - 1.0) if old and new is not None else None
        rows.append({"metric": metric, "current model": old, "new model": new, "change": change})
    return pd.DataFrame(rows, columns=["metric", "current model", "new model", "change"])


# ================================================================ retrain widgets
DECISION_TEXT = {
    "swapped": "The new model passed the check and is now in use.",
    "kept": "The new model did not pass the check: the current model is kept.",
    "failed": "The retrain failed: the current model is kept.",
}


def start_retrain(
    runner: RetrainRunner,
    settings: Settings,
    services: Any,
    user: Any,
    *,
    tolerance: float,
    include_baselines: bool = True,
    tune_budget_s: float | None = None,
) -> RetrainJob:
    """Start a retrain for ``user`` (an admin) and audit its start and, later, its decision.

    With ``tune_budget_s``, the engine is tuned first within that many seconds
    (:class:`core.app.retrain.RetrainJob`), then fitted with the result.

    Raises
    ------
    RetrainBusyError
        When a retrain is already running in this process.
    """
    audit = services.audit
    actor = str(user.user_id)

    def finished(result: RetrainResult) -> None:
        audit.append(actor, "retrain", "model", result.decision, result.audit_details())

    job = RetrainJob(
        settings.data_dir,
        settings.resolved_model_dir,
        tolerance=tolerance,
        include_baselines=include_baselines,
        max_file_mb=settings.max_upload_mb,
        tune_budget_s=tune_budget_s,
        started_by=actor,
        on_finish=finished,
    )
    runner.start(job)
    audit.append(
        actor,
        "retrain",
        "model",
        "start",
        {"tolerance": tolerance, "baselines": include_baselines, "tune_budget_s": tune_budget_s},
    )
    return job


def render_retrain_result(result: RetrainResult) -> None:
    """The decision, its reason and the metrics before/after."""
    text = DECISION_TEXT[result.decision]
    show = {"swapped": st.success, "kept": st.warning, "failed": st.error}[result.decision]
    show(f"{text} {safe(result.reason[:1].upper() + result.reason[1:], 600)}")
    table = comparison_frame(result)
    if not table.empty:
        st.dataframe(
            table,
            hide_index=True,
            key="health:retrain_compare",
            column_config={
                "current model": st.column_config.NumberColumn(format="%.4f"),
                "new model": st.column_config.NumberColumn(format="%.4f"),
                "change": st.column_config.NumberColumn(format="percent"),
            },
        )
    st.caption(f"Finished in {result.seconds:.0f} s.")


def render_retrain_status(runner: RetrainRunner, key: str) -> None:
    """A progress bar that follows the process's retrain (polls every second while it runs).

    Any session sees the same job; when the job ends the whole page reruns
    once, so the model details show the new generation.
    """
    job = runner.job
    running = job is not None and job.running

    @st.fragment(run_every=1.0 if running else None)
    def _status() -> None:
        current = runner.job
        if current is None:
            return
        status = current.status()
        if status.running:
            st.progress(status.fraction, text=safe(status.message, 200))
            st.caption(
                f"Started by {safe(status.started_by or 'an admin', 60)}; other sessions keep "
                "working while it runs."
            )
            st.session_state[f"{key}:was_running"] = True
        else:
            if st.session_state.pop(f"{key}:was_running", False):
                st.rerun(scope="app")
            if status.result is not None:
                render_retrain_result(status.result)

    _status()
