"""Retrain from the Model health and Data & users pages: start, follow, show the decision.

The retrain runs in the background (:class:`core.app.retrain.RetrainRunner`,
one per process, handed out by :mod:`dashboard.resources`); every session
follows the same job. Both pages show the one control, :func:`render_retrain`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core.app.retrain import (
    DEFAULT_TOLERANCE,
    RetrainBusyError,
    RetrainJob,
    RetrainResult,
    RetrainRunner,
)
from core.settings import Settings
from dashboard import resources
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


def render_retrain(settings: Settings, services: Any, user: Any, key: str) -> None:
    """The retrain control of the Data & users and Model health pages (``key``: widget prefix).

    Admins choose whether to tune first (within a budget), the tolerance of
    the check and whether baselines are compared, then start it; everyone
    sees the running retrain's progress. A dashboard serving per client does
    not fit (it never holds the event log): it says how to refit on Dask.
    """
    st.markdown("**Retrain**")
    if settings.serve == "per-client":
        st.info(
            "This dashboard serves each client from a product-side model and reads their "
            "events per request; it never holds the whole event log, so it does not fit "
            "here. Refit on Dask with `python -m core --data DIR fit --dask local:N` (or a "
            "scheduler address); the new model is loaded on the next page run."
        )
        return
    runner = resources.get_retrain_runner(settings)
    if user.role != "admin":
        if runner.job is None:
            st.caption("An admin can retrain the model from this page.")
        render_retrain_status(runner, key)
        return
    st.caption(
        "“Retrain now” fits the current configuration; “Tune, then fit” first searches the "
        "engine's parameters on a validation window of the data, within the budget. Either "
        "way the new model is evaluated on a temporal split and swapped in only if Recall@20 "
        "and NDCG@10 do not drop by more than the tolerance. Other sessions keep working."
    )
    job = runner.job
    busy = job is not None and job.running
    t1, t2 = st.columns(2, vertical_alignment="bottom")
    tune_first = t1.toggle("Tune, then fit", key=f"{key}:tune", disabled=busy)
    minutes = t2.number_input(
        "Tuning budget (minutes)",
        min_value=0.5,
        max_value=240.0,
        value=10.0,
        step=0.5,
        key=f"{key}:tune_minutes",
        disabled=busy or not tune_first,
    )
    r1, r2, r3 = st.columns(3, vertical_alignment="bottom")
    tolerance = r1.number_input(
        "Tolerance (%)",
        min_value=0.0,
        max_value=20.0,
        value=DEFAULT_TOLERANCE * 100,
        step=0.5,
        key=f"{key}:tolerance",
        disabled=busy,
    )
    baselines = r2.toggle(
        "Compare with baselines", value=True, key=f"{key}:baselines", disabled=busy
    )
    label = "Tune, then fit" if tune_first else "Retrain now"
    if r3.button(label, key=f"{key}:retrain", disabled=busy, type="primary", width="stretch"):
        try:
            start_retrain(
                runner,
                settings,
                services,
                user,
                tolerance=float(tolerance) / 100.0,
                include_baselines=bool(baselines),
                tune_budget_s=float(minutes) * 60.0 if tune_first else None,
            )
        except RetrainBusyError as err:
            st.warning(str(err))
        else:
            st.rerun()
    render_retrain_status(runner, key)
