"""The Model health page's tabs: evaluation, outcomes, data and rules, the model, its tuning and retrain.

Only aggregates are shown: no client appears here. Cached frames come from
:mod:`dashboard.resources`; the figures from :mod:`dashboard.charts.health`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from core.app.health import (
    acceptance_frame,
    acceptance_tables,
    config_frame,
    config_hash,
    data_freshness,
    measure_outcomes,
    metrics_table,
    slices_pivot,
    slices_table,
    table_files,
    tuned_changes,
)
from core.app.model_folder import read_report, retrain_count
from core.app.outcomes import DEFAULT_WINDOW_DAYS
from core.data.dataset import Dataset
from core.engine.models.fit_report import report_frame
from core.engine.models.persistence import read_model_info
from core.engine.tune_result import read_tune_result, trials_path
from core.exceptions import AtelierError
from core.settings import Settings
from dashboard import resources
from dashboard.charts import health as health_charts
from dashboard.widgets.numbers import percent
from dashboard.widgets.text import safe


# ------------------------------------------------------------------ evaluation
def render_evaluation(model_dir: Path, *, is_admin: bool) -> None:
    """The last evaluation report: protocol, metrics per model, cold-start slices, taste."""
    report = read_report(model_dir)
    if report is None:
        st.info(
            "There is no evaluation report for the current model yet. "
            + (
                "Run a retrain (Model & retrain tab): it evaluates before swapping."
                if is_admin
                else "An admin can run one from this page."
            )
        )
        return
    p = report.protocol
    st.markdown(
        safe(
            f"Temporal split at {str(p.get('cutoff', '?'))[:10]}: the last "
            f"{p.get('test_days', '?')} days are held out; {p.get('n_clients', '?')} clients "
            f"bought {p.get('test_pairs', '?')} products there. Every model ranks the whole "
            "catalogue minus what the client already bought.",
            600,
        )
    )
    _render_metrics(metrics_table(report))
    _render_slices(report)


def _render_metrics(table: pd.DataFrame) -> None:
    left, right = st.columns([2, 3])
    with left:
        st.plotly_chart(
            health_charts.metrics_figure(table),
            key="health:metrics_chart",
            config={"displayModeBar": False},
        )
    with right:
        st.dataframe(
            table,
            hide_index=True,
            key="health:metrics_table",
            column_config={
                "model": "Model",
                **{
                    c: st.column_config.NumberColumn(format="%.3f")
                    for c in table.columns
                    if c not in ("model", "vs best baseline")
                },
                "vs best baseline": st.column_config.NumberColumn(
                    "Recall@20 vs best baseline", format="percent"
                ),
            },
        )


#: Below this many clients a slice's recall is noted as unreliable.
SMALL_SLICE_CLIENTS = 50


def _render_slices(report: Any) -> None:
    st.markdown(
        "**Cold-start slices**: clients with no history before the cutoff, products "
        "with no interaction before it."
    )
    slices = slices_table(report)
    if slices.empty:
        st.info("The report has no slices.")
    else:
        metric = "Recall@20" if "Recall@20" in slices.columns else slices.columns[-1]
        pivot = slices_pivot(slices, metric)
        st.dataframe(
            pivot,
            hide_index=True,
            key="health:slices",
            column_config={
                "slice": f"Slice ({metric})",
                "n_clients": st.column_config.NumberColumn("Clients", format="%d"),
                "n_pairs": st.column_config.NumberColumn("Purchases", format="%d"),
            },
        )
        if "n_clients" in pivot.columns and len(pivot):
            small = pivot.loc[pivot["n_clients"].idxmin()]
            if int(small["n_clients"]) < SMALL_SLICE_CLIENTS:
                st.caption(
                    f"The {safe(str(small['slice']), 40)} slice holds "
                    f"{int(small['n_clients'])} clients: one more or one fewer hit moves its "
                    "recall by several points, so it says little on its own."
                )
    if report.taste is not None and len(report.taste):
        st.markdown(
            "**Planted taste recovery** (generated data only): share of suggestions in the "
            "client's true taste segments, against the catalogue's share (chance)."
        )
        st.dataframe(report.taste, hide_index=True, key="health:taste")


# ------------------------------------------------------------------ outcomes
def render_outcomes(dataset: Dataset, settings: Settings, services: Any) -> None:
    """Conversion of shared lookbooks, lift against the holdout, acceptance by associates."""
    window = st.slider(
        "Attribution window (days after a share)",
        1,
        60,
        DEFAULT_WINDOW_DAYS,
        key="health:window",
        help="A shared product counts as sold when the client buys it, or a close variant "
        "(same designer and subcategory), within this many days.",
    )
    shares = services.shares.all_shares()
    if not shares:
        st.info(
            "No lookbook has been shared with a client yet, so there is nothing to measure. "
            "Conversion appears here after the first shares."
        )
    else:
        outcomes = measure_outcomes(
            shares,
            dataset,
            window_days=int(window),
            holdout_share=settings.holdout_share,
            clients_events=resources.served_clients_events(dataset),
        )
        _render_conversion(outcomes, int(window))
        _render_returns(outcomes.returns)
        _render_lift(outcomes.lift)
    _render_acceptance(dataset, services)


def _render_conversion(outcomes: Any, window: int) -> None:
    conv = outcomes.conversion
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Shares", f"{outcomes.n_shares:,}")
    c2.metric("Products sent", f"{outcomes.n_items:,}")
    lo, hi = conv["item_ci"]
    c3.metric(
        "Products bought",
        percent(conv["item_rate"], 1),
        help=f"95% interval {percent(lo, 1)}–{percent(hi, 1)}",
    )
    lo, hi = conv["share_ci"]
    c4.metric(
        "Shares with a purchase",
        percent(conv["share_rate"], 1),
        help=f"95% interval {percent(lo, 1)}–{percent(hi, 1)}",
    )
    st.caption(
        f"Item conversion {percent(conv['item_rate'], 1)} (95% interval "
        f"{percent(conv['item_ci'][0], 1)}–{percent(conv['item_ci'][1], 1)}) over "
        f"{conv['items']} products; purchases of the exact product or a close variant within "
        f"{window} days."
    )
    if len(outcomes.by_channel):
        st.dataframe(
            outcomes.by_channel,
            hide_index=True,
            key="health:by_channel",
            column_config={"rate": st.column_config.NumberColumn(format="percent")},
        )


def _render_returns(returns: pd.DataFrame) -> None:
    """Return rates of suggested-then-bought pieces against other purchases."""
    st.markdown("**Returns of suggested pieces**")
    shown = returns.assign(
        return_ci=[f"{percent(lo, 1)}–{percent(hi, 1)}" for lo, hi in returns["return_ci"]]
    )
    st.dataframe(
        shown,
        hide_index=True,
        key="health:returns",
        column_config={
            "return_rate": st.column_config.NumberColumn("returned", format="percent"),
            "return_ci": st.column_config.TextColumn("95% interval"),
            "fit_return_rate": st.column_config.NumberColumn("returned for fit", format="percent"),
            "returned": st.column_config.NumberColumn("returns"),
            "returned_for_fit": st.column_config.NumberColumn("fit returns"),
        },
    )
    st.caption(
        "A purchase of a shared suggestion (same product, within the window) against every "
        "other purchase: how many came back, and how many for fit."
    )


def _render_lift(lift: Any) -> None:
    st.markdown("**Lift against the holdout group**")
    if lift is None:
        st.info(
            "No holdout group is configured, so lift is not measured: every contacted client "
            "received model suggestions. Set a holdout share to compare against clients who "
            "get generic suggestions."
        )
        return
    st.plotly_chart(
        health_charts.lift_figure(lift.to_frame()),
        key="health:lift_chart",
        config={"displayModeBar": False},
    )
    lo, hi = lift.difference_ci
    st.markdown(
        f"Difference {lift.difference * 100:+.1f} points (95% interval "
        f"{lo * 100:+.1f} to {hi * 100:+.1f}); "
        + ("not significant." if lo <= 0 <= hi else "significant at 95%.")
    )


def _render_acceptance(dataset: Dataset, services: Any) -> None:
    st.markdown("**Acceptance of suggestions by associates**")
    acc = acceptance_tables(
        acceptance_frame(services.lists.all_lists(), services.lists.all_removals())
    )
    if not acc:
        st.info("No associate has kept or removed a model suggestion yet.")
        return
    overall = acc["overall"].iloc[0]
    st.markdown(
        f"{int(overall['kept'])} of {int(overall['suggested'])} suggestions acted on were kept "
        f"({percent(overall['acceptance'])}, 95% interval {percent(overall['ci_low'])}–"
        f"{percent(overall['ci_high'])})."
    )
    names = resources.associate_names(dataset)
    staff = {u.user_id: u.name for u in services.users.list_users()}
    by_assoc = (
        acc["associate"]
        .assign(
            associate_id=lambda d: d["associate_id"].map(lambda a: staff.get(a, names.get(a, a)))
        )
        .rename(columns={"associate_id": "associate"})
    )
    fmt = {
        "acceptance": st.column_config.NumberColumn(format="percent"),
        "ci_low": st.column_config.NumberColumn("95% low", format="percent"),
        "ci_high": st.column_config.NumberColumn("95% high", format="percent"),
    }
    a1, a2 = st.columns(2)
    a1.dataframe(by_assoc, hide_index=True, key="health:acc_assoc", column_config=fmt)
    a2.dataframe(acc["reason_type"], hide_index=True, key="health:acc_reason", column_config=fmt)
    st.caption(
        "Kept items carry the reason the associate saw; the reason is not kept with a "
        "removal, so removed items count as “not recorded”."
    )
    st.dataframe(acc["removal_reasons"], hide_index=True, key="health:removal_reasons")


# ------------------------------------------------------------------ data & rules
def render_data_and_rules(dataset: Dataset, settings: Settings) -> None:
    """How fresh each table is, and which rules remove the most products."""
    served = resources.served_of(dataset)
    event_log = None if served is None else served.event_log()
    fresh = data_freshness(dataset, event_log)
    n_events = int(fresh.loc[fresh["table"] == "events", "rows"].sum())
    d1, d2, d3 = st.columns(3)
    d1.metric("Latest event", f"{dataset.as_of:%d %b %Y}")
    d2.metric("Events", f"{n_events:,}")
    d3.metric("Products", f"{len(dataset.products):,}")
    files = table_files(settings.data_dir)
    fresh["latest"] = fresh["latest"].map(lambda t: "" if pd.isna(t) else f"{t:%d %b %Y}")
    st.dataframe(
        fresh.merge(files, on="table", how="left"),
        hide_index=True,
        key="health:freshness",
        column_config={
            "table": "Table",
            "rows": st.column_config.NumberColumn("Rows", format="%d"),
            "latest": "Latest date",
            "file": "File",
            "size_mb": st.column_config.NumberColumn("Size (MB)", format="%.1f"),
            "modified": st.column_config.DatetimeColumn("File changed", format="D MMM YYYY HH:mm"),
        },
    )
    st.markdown("**Rules that remove the most products** (over a sample of 100 clients)")
    with st.spinner("Applying the rules to a sample of clients…"):
        drops = resources.get_rule_drops(dataset)
    if drops.empty:
        st.info("No rule removed any product for the sampled clients.")
        return
    st.dataframe(
        drops,
        hide_index=True,
        key="health:rule_drops",
        column_config={
            "rule": "Rule",
            "products_dropped": st.column_config.NumberColumn("Products removed"),
            "first_rule_drops": st.column_config.NumberColumn(
                "…first by this rule", help="Removed by this rule before any other"
            ),
            "clients_affected": st.column_config.NumberColumn("Clients affected"),
            "mean_per_client": st.column_config.NumberColumn("Per client", format="%.1f"),
            "catalogue_share": st.column_config.NumberColumn(
                "Share of catalogue", format="percent"
            ),
        },
    )


# ------------------------------------------------------------------ model & retrain
def render_model(dataset: Dataset, model_dir: Path) -> None:
    """The model in use: data fingerprint, configuration, when and how it was made."""
    try:
        info = read_model_info(model_dir)
    except (AtelierError, OSError):
        info = None
    if info is None:
        st.info("The model in use has not been saved to disk yet.")
        return
    config = info.get("config", {})
    k1, k2, k3 = st.columns(3)
    k1.metric("Data fingerprint", str(info.get("fingerprint", "?")))
    k2.metric("Configuration", config_hash(config))
    k3.metric("Saved", str(info.get("created_at", "?"))[:16].replace("T", " "))
    matches = info.get("fingerprint") == dataset.fingerprint
    swaps = retrain_count(model_dir)
    origin = f"swapped in by retrain #{swaps}" if swaps else "fitted when the data was loaded"
    st.caption(
        f"{safe(str(info.get('class', 'model')), 60)}, {origin}; "
        + ("fitted on the data in use." if matches else "fitted on OTHER data: retrain.")
    )
    report = info.get("state", {}).get("report")
    if report:
        st.markdown("**What the fit derived from the data**")
        st.caption(
            "Each block's weight is divided by its spread for the client (median shown), so "
            "blocks meet on one scale; an event as old as the data keeps the weight shown."
        )
        st.dataframe(report_frame(report), hide_index=True, key="health:fit_report")
    with st.expander("Configuration"):
        st.dataframe(config_frame(config), hide_index=True, key="health:config")


def render_tuning(data_dir: Path, *, is_admin: bool) -> None:
    """The tuner's last search on this data: how it went, the best configuration, every trial."""
    st.markdown("**Tuning**")
    result = read_tune_result(trials_path(data_dir))
    if result is None or result.trials.empty:
        st.info(
            "The engine has not been tuned on this data yet. Run `python -m core tune --budget "
            "10m` on the server: it searches on a validation window carved from the training "
            "data, writes the best configuration to engine.toml and the trials shown here"
            + (", or choose “Tune, then fit” on the Data & users page." if is_admin else ".")
        )
        return
    trials, objective, search = result.trials, result.objective, result.search
    parts = [g for g in result.gains() if "+" not in g[0]]  # each metric the search weighed
    t1, *middle, t4 = st.columns(2 + len(parts))
    t1.metric(
        "Trials",
        f"{len(trials)}",
        help=f"{search.get('complete', '?')} complete, {search.get('pruned', '?')} stopped early",
    )
    for column, (name, first, best) in zip(middle, parts, strict=True):
        column.metric(
            f"Best {name}",
            f"{best:.4f}",
            delta=f"{best - first:+.4f}",
            help=f"{name} on validation at the start (trial 0): {first:.4f}",
        )
    t4.metric("Search time", f"{float(search.get('seconds', 0)):.0f} s")
    v = result.validation
    st.caption(
        safe(
            f"Validation ({v.get('protocol', '?')}) before the test window starting "
            f"{str(v.get('test_cutoff', '?'))[:10]}: {v.get('test_clients', '?')} clients, "
            f"{v.get('test_pairs', '?')} purchases; the test window was never read. "
            f"{search.get('sampler', 'TPE')}, pruning: {search.get('pruner', 'median')}.",
            600,
        )
    )
    left, right = st.columns([3, 2])
    left.plotly_chart(
        health_charts.tuning_figure(trials, objective),
        key="health:tuning_chart",
        config={"displayModeBar": False},
    )
    right.plotly_chart(
        health_charts.importance_figure(result.importance),
        key="health:tuning_importance",
        config={"displayModeBar": False},
    )
    params = [p for p in search.get("params", []) if p in trials.columns]
    st.dataframe(
        tuned_changes(trials, params, result.best_trial), hide_index=True, key="health:tuning_best"
    )
    with st.expander("Every trial"):
        st.dataframe(trials, hide_index=True, key="health:tuning_trials")
