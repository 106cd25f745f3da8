"""Trends (managers, admins): taste clusters of the catalogue, momentum, assortment gaps.

Everything here is about products and clusters; no client data is read into
the page's frames (core.app.trend_view refuses client columns).
"""

from __future__ import annotations

import streamlit as st

from dashboard import auth, resources
from dashboard.sections import trends

user = auth.require_role("trends")
bundle = resources.get_bundle()
dataset, settings, services = bundle.dataset, bundle.settings, bundle.services
stores = resources.store_names(dataset)

st.title("Trends", anchor=False)
st.caption(
    f"Taste clusters of the catalogue, learnt from the model's product factors. Demand counts "
    f"purchases, and try-ons and wishlists at half weight; returns subtract. Data up to "
    f"{dataset.as_of:%d %b %Y}. No client data is shown on this page."
)

with st.spinner("Clustering the catalogue (once per model)…"):
    analyzer = resources.get_trend_analyzer(bundle.model, dataset, settings)

filters = trends.render_filters(stores)
view = resources.get_trend_view(
    analyzer,
    settings,
    store_id=filters.store_id,
    window_days=filters.window_days,
    recent_days=filters.recent_days,
    earlier_days=filters.earlier_days,
)
cluster = trends.selected(view)

trends.render_summary(view)
trends.render_map(view, analyzer, cluster)
trends.render_momentum(view, analyzer, cluster)
trends.render_gaps(view, stores, filters.window_label)
trends.render_all_clusters(view)
trends.render_export(view, dataset.as_of, services, user, filters.window_label)
