"""Helpers of the Trends, Model health and Data & users pages.

Helpers:

- pure helpers (cluster cards, the map's selection, labels), unit-tested;
- rendering helpers; their cached data comes from :mod:`dashboard.resources`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import streamlit as st

from core.app.lookbook import format_price
from core.app.retrain import RetrainJob, RetrainResult, RetrainRunner
from core.settings import Settings
from dashboard.components import plain, safe
from dashboard.components.cards import html_card


# ================================================================ pure helpers
def selected_cluster(selection: Any) -> int | None:
    """The cluster of the first point selected on the map, or ``None``.

    ``selection`` is the plotly chart's state in ``st.session_state`` (an
    object or dict with ``selection.points``); each point's ``customdata``
    holds ``[product_id, cluster, ...]`` (see
    :func:`dashboard.trend_charts.product_map_figure`).
    """
    if selection is None:
        return None
    sel = (
        selection.get("selection")
        if isinstance(selection, Mapping)
        else getattr(selection, "selection", None)
    )
    if sel is None:
        return None
    points = sel.get("points") if isinstance(sel, Mapping) else getattr(sel, "points", None)
    for point in points or []:
        custom = point.get("customdata") if isinstance(point, Mapping) else None
        if custom is not None and len(custom) > 1:
            try:
                return int(float(custom[1]))
            except (TypeError, ValueError):
                continue
    return None


def percent(value: Any, digits: int = 0) -> str:
    """``0.123`` -> ``"12%"``; missing -> ``"–"``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "–"
    if v != v:
        return "–"
    return f"{100 * v:.{digits}f}%"


def euros(value: Any) -> str:
    """``1234.5`` -> ``"€1,235"`` (:func:`core.app.lookbook.format_price`); "–" when unknown."""
    return format_price(value) or "–"


def cluster_label(cluster: int, name: str) -> str:
    """``"3. cashmere · camel · tailoring"`` (1-based, plain text)."""
    return f"{int(cluster) + 1}. {plain(name, 80)}"


def cluster_card_html(row: Mapping[str, Any], momentum: Mapping[str, Any] | None = None) -> str:
    """A cluster's card: name, size, demand share, price band, designers, top products.

    Every field is escaped by :func:`dashboard.components.cards.html_card`.
    """
    lines = [
        f"{int(row['n_products'])} products · {percent(row['catalogue_share'])} of the catalogue"
        f" · {percent(row['demand_share'])} of demand",
        f"Price band {euros(row['price_low'])}–{euros(row['price_high'])}"
        f" (median {euros(row['price_median'])})",
        f"Top designers: {plain(row['top_designers'], 160) or '–'}",
        f"Top products: {plain(row['top_products'], 300) or '–'}",
    ]
    if momentum is not None:
        label = str(momentum.get("change_label", "–"))
        if bool(momentum.get("rising")):
            label += " (rising)"
        elif bool(momentum.get("enough_data")) and label.endswith("%"):
            label += " (not significant)"
        lines.append(f"Momentum: {label}")
    return html_card(cluster_label(int(row["cluster"]), str(row["name"])), lines)


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
) -> RetrainJob:
    """Start a retrain for ``user`` (an admin) and audit its start and, later, its decision.

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
        started_by=actor,
        on_finish=finished,
    )
    runner.start(job)
    audit.append(
        actor, "retrain", "model", "start",
        {"tolerance": tolerance, "baselines": include_baselines},
    )  # fmt: skip
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
