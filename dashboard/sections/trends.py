"""The Trends page's parts: filters, summary, map and drill-down, momentum, gaps, export.

Everything here is about products and clusters; no client data is read into
the page's frames (:mod:`core.app.trend_view` refuses client columns). The
frames come from :func:`dashboard.resources.get_trend_view` (cached per data,
model and filters); the figures from :mod:`dashboard.charts.trends`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import pandas as pd
import streamlit as st

from core.app.lookbook import format_price
from core.app.trend_view import WINDOWS, TrendView, top_cluster
from core.data.export import to_safe_csv
from core.engine.trends import TrendAnalyzer, TrendParams
from dashboard.charts import trends as trend_charts
from dashboard.widgets.clusters import cluster_card_html, cluster_label, selected_cluster
from dashboard.widgets.numbers import percent
from dashboard.widgets.text import safe

MAP_KEY = "trends:map"
CLUSTER_KEY = "trends:cluster"
RECENT_OPTIONS = (14, 28, 42, 56)
EARLIER_OPTIONS = (56, 84, 120, 182)


@dataclass(frozen=True)
class TrendFilters:
    """What the manager chose: a store (or all) and the demand windows."""

    store_id: str | None
    window_label: str
    recent_days: int
    earlier_days: int

    @property
    def window_days(self) -> int | None:
        return WINDOWS[self.window_label]


def render_filters(stores: dict[str, str]) -> TrendFilters:
    """Store and gap window, and the two momentum windows, in one row."""
    defaults = TrendParams()
    f1, f2, f3, f4 = st.columns([3, 2, 2, 2], vertical_alignment="bottom")
    store_ids = sorted(stores, key=lambda s: stores[s])
    store_choice = f1.selectbox(
        "Store (gaps)",
        ["all", *store_ids],
        format_func=lambda s: "All stores" if s == "all" else stores.get(s, s),
        key="trends:store",
    )
    window_label = f2.selectbox("Demand window (gaps)", list(WINDOWS), index=4, key="trends:window")
    recent_days = f3.selectbox(
        "Recent window (days)",
        RECENT_OPTIONS,
        index=RECENT_OPTIONS.index(defaults.recent_days),
        key="trends:recent",
    )
    earlier_days = f4.selectbox(
        "Compared with (days before)",
        EARLIER_OPTIONS,
        index=EARLIER_OPTIONS.index(defaults.earlier_days),
        key="trends:earlier",
    )
    return TrendFilters(
        None if store_choice == "all" else store_choice,
        window_label,
        int(recent_days),
        int(earlier_days),
    )


def selected(view: TrendView) -> int:
    """The cluster open in the drill-down, kept in range when the model (and its clusters) change."""
    if st.session_state.get(CLUSTER_KEY) not in range(len(view.clusters)):
        st.session_state[CLUSTER_KEY] = top_cluster(view) or 0
    return int(st.session_state[CLUSTER_KEY])


def _on_map_select(n_clusters: int) -> None:
    cluster = selected_cluster(st.session_state.get(MAP_KEY))
    if cluster is not None and 0 <= cluster < n_clusters:
        st.session_state[CLUSTER_KEY] = cluster


def _rising(view: TrendView) -> pd.DataFrame:
    return view.momentum[view.momentum["rising"]]


def _momentum_of(view: TrendView, cluster: int) -> pd.Series | None:
    momentum_by_cluster = view.momentum.set_index("cluster")
    return momentum_by_cluster.loc[cluster] if cluster in momentum_by_cluster.index else None


def render_summary(view: TrendView) -> None:
    """Clusters, products, rising clusters and the highest momentum, as metrics."""
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(
        "Clusters", len(view.clusters), help="Chosen by the best silhouette score among 4-14."
    )
    m2.metric("Products", f"{len(view.product_map):,}")
    m3.metric("Rising clusters", len(_rising(view)))
    top = view.momentum.iloc[0] if len(view.momentum) else None
    m4.metric(
        "Highest momentum",
        f"#{int(top['cluster']) + 1}" if top is not None else "–",
        delta=str(top["change_label"]) if top is not None and bool(top["enough_data"]) else None,
        help=safe(str(top["name"]), 120) if top is not None else None,
    )
    if view.mixed_currencies:
        st.caption(
            f"Prices are in several currencies ({', '.join(view.currencies)}): every price is "
            "shown in its own, and a cluster that mixes them gets a price band per currency."
        )


def render_map(view: TrendView, analyzer: TrendAnalyzer, cluster: int) -> None:
    """The catalogue map (a tap opens a cluster) beside the open cluster's card and products."""
    st.subheader("Map of the catalogue", anchor=False)
    st.caption(
        "Each dot is a product; nearby products appeal to the same clients. "
        "Tap a dot to open its cluster."
    )
    left, right = st.columns([3, 2])
    with left:
        st.plotly_chart(
            trend_charts.product_map_figure(view.product_map, selected=cluster),
            key=MAP_KEY,
            on_select=partial(_on_map_select, len(view.clusters)),
            selection_mode="points",
            config={"displayModeBar": False, "scrollZoom": False},
        )
    with right:
        _render_drill_down(view, analyzer, cluster)


def _render_drill_down(view: TrendView, analyzer: TrendAnalyzer, cluster: int) -> None:
    st.selectbox(
        "Cluster",
        list(range(len(view.clusters))),
        format_func=lambda c: cluster_label(c, analyzer.names_[c]),
        key=CLUSTER_KEY,
    )
    row = view.clusters.set_index("cluster").loc[cluster]
    st.markdown(
        cluster_card_html({**row.to_dict(), "cluster": cluster}, _momentum_of(view, cluster)),
        unsafe_allow_html=True,
    )
    st.markdown(f"**Products in cluster {cluster + 1}**, most demanded first")
    products = analyzer.cluster_products(cluster, n=20)
    # Each price in its own currency, by the one price formatter (a cluster may mix them).
    prices = [
        format_price(p, c) for p, c in zip(products["price"], products["currency"], strict=True)
    ]
    st.dataframe(
        products[["name", "designer", "price", "demand"]].assign(price=prices),
        hide_index=True,
        height=300,
        key="trends:cluster_products",
        column_config={
            "name": st.column_config.TextColumn("Product", width=190),
            "designer": st.column_config.TextColumn("Designer", width=120),
            "price": st.column_config.TextColumn("Price", width=80),
            "demand": st.column_config.NumberColumn("Demand", format="%.1f", width=64),
        },
    )


def render_momentum(view: TrendView, analyzer: TrendAnalyzer, cluster: int) -> None:
    """Momentum bars, weekly demand, the momentum table and the products rising fastest."""
    st.subheader("Momentum", anchor=False)
    st.caption(
        f"Daily demand in the last {view.recent_days} days against the {view.earlier_days} days "
        f"before. A change is shown only with at least {analyzer.params_.min_events} events "
        "(otherwise “too few events”); “rising” needs a significant binomial test."
    )
    c1, c2 = st.columns(2)
    with c1:
        st.plotly_chart(
            trend_charts.momentum_figure(view.momentum),
            key="trends:momentum_chart",
            config={"displayModeBar": False},
        )
    with c2:
        st.plotly_chart(
            trend_charts.weekly_figure(
                view.weekly, highlight=set(_rising(view)["cluster"].astype(int)), selected=cluster
            ),
            key="trends:weekly_chart",
            config={"displayModeBar": False},
        )
    momentum_table = view.momentum.assign(cluster=view.momentum["cluster"] + 1)[
        ["cluster", "name", "recent", "earlier", "change_label", "rising"]
    ]
    st.dataframe(
        momentum_table,
        hide_index=True,
        key="trends:momentum_table",
        column_config={
            "cluster": st.column_config.NumberColumn("#", width="small"),
            "name": "Cluster",
            "recent": st.column_config.NumberColumn("Recent demand", format="%.0f"),
            "earlier": st.column_config.NumberColumn("Earlier demand", format="%.0f"),
            "change_label": "Change (daily rate)",
            "rising": st.column_config.CheckboxColumn("Rising"),
        },
    )
    _render_rising_products(view)


def _render_rising_products(view: TrendView) -> None:
    st.markdown("**Products rising fastest**")
    if view.rising.empty:
        st.info("No product has enough demand in these windows to measure its momentum.")
        return
    st.dataframe(
        view.rising.assign(cluster=view.rising["cluster"] + 1)[
            ["name", "cluster", "cluster_name", "recent", "earlier", "change_label", "rising"]
        ],
        hide_index=True,
        key="trends:rising_table",
        column_config={
            "name": "Product",
            "cluster": st.column_config.NumberColumn("#", width="small"),
            "cluster_name": "Cluster",
            "recent": st.column_config.NumberColumn("Recent demand", format="%.0f"),
            "earlier": st.column_config.NumberColumn("Earlier demand", format="%.0f"),
            "change_label": "Change",
            "rising": st.column_config.CheckboxColumn("Rising"),
        },
    )


def render_gaps(view: TrendView, stores: dict[str, str], window_label: str) -> None:
    """Each cluster's share of demand against its share of stock and catalogue."""
    where = "all stores" if view.store_id is None else stores.get(view.store_id, view.store_id)
    when = window_label.lower()
    st.subheader("Assortment gaps", anchor=False)
    st.caption(
        safe(
            f"{where}, demand over {when}: each cluster's share of demand against its share of "
            "the stock and of the catalogue. A positive gap means demand outruns stock.",
            300,
        )
    )
    if view.gaps["demand"].sum() <= 0:
        st.info("No demand in this store and window: widen the window or pick another store.")
    g1, g2 = st.columns([1, 1])
    with g1:
        st.plotly_chart(
            trend_charts.gaps_figure(view.gaps),
            key="trends:gaps_chart",
            config={"displayModeBar": False},
        )
    with g2:
        _render_gaps_table(view)


def _render_gaps_table(view: TrendView) -> None:
    gaps_table = view.gaps.assign(cluster=view.gaps["cluster"] + 1)[
        ["cluster", "name", "demand_share", "stock_share", "catalogue_share", "gap"]
    ]
    st.dataframe(
        gaps_table.assign(
            **{
                c: 100 * gaps_table[c]
                for c in ("demand_share", "stock_share", "catalogue_share", "gap")
            }
        ),
        hide_index=True,
        key="trends:gaps_table",
        column_config={
            "cluster": st.column_config.NumberColumn("#", width=36),
            "name": st.column_config.TextColumn("Cluster", width="medium"),
            "demand_share": st.column_config.NumberColumn("Demand", format="%.1f%%", width=72),
            "stock_share": st.column_config.NumberColumn("Stock", format="%.1f%%", width=66),
            "catalogue_share": st.column_config.NumberColumn("Catal.", format="%.1f%%", width=66),
            "gap": st.column_config.NumberColumn("Gap", format="%+.1f", width=60),
        },
    )


def render_all_clusters(view: TrendView) -> None:
    """Every cluster's card, two per row."""
    st.subheader("All clusters", anchor=False)
    grid = st.columns(2)
    for i, r in enumerate(view.clusters.itertuples(index=False)):
        with grid[i % 2]:
            st.markdown(
                cluster_card_html(r._asdict(), _momentum_of(view, int(r.cluster))),
                unsafe_allow_html=True,
            )


def _audit_export(
    services: Any, user_id: str, view: TrendView, window_label: str, name: str, rows: int
) -> None:
    services.audit.append(
        user_id,
        "export",
        "trends",
        name,
        {"rows": rows, "store": view.store_id or "all", "window": window_label},
    )


def render_export(
    view: TrendView, as_of: pd.Timestamp, services: Any, user: Any, window_label: str
) -> None:
    """CSV downloads of the page's frames (each audited), and the rising clusters' share."""
    st.subheader("Export", anchor=False)
    st.caption(
        "CSV files open safely in a spreadsheet (cells that look like formulas are neutralised)."
    )
    exports = {
        "clusters": view.clusters.drop(columns=["top_product_ids"]),
        "momentum": view.momentum,
        "gaps": view.gaps,
        "rising_products": view.rising,
    }
    cols = st.columns(len(exports))
    for col, (name, frame) in zip(cols, exports.items(), strict=True):
        col.download_button(
            f"{name.replace('_', ' ').capitalize()} (CSV)",
            data=to_safe_csv(frame),
            file_name=f"atelier_{name}_{as_of:%Y%m%d}.csv",
            mime="text/csv",
            key=f"trends:export:{name}",
            on_click=_audit_export,
            args=(services, user.user_id, view, window_label, name, len(frame)),
            width="stretch",
        )
    share = _rising(view)["recent"].sum() / max(view.momentum["recent"].sum(), 1e-9)
    st.caption(f"Share of demand in rising clusters: {percent(share)}")
