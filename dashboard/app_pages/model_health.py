"""Model health (managers, admins): evaluation, outcomes, data freshness, rules, the model, tuning.

Admins also get a retrain button: the fit and evaluation run in the
background (other sessions keep working) and the new model is swapped in only
if it does not regress. Only aggregates are shown: no client appears here.
"""

from __future__ import annotations

import streamlit as st

from dashboard import auth, resources
from dashboard.sections import health
from dashboard.sections.retrain import render_retrain

user = auth.require_role("model_health")
bundle = resources.get_bundle()
dataset, settings, services = bundle.dataset, bundle.settings, bundle.services
model_dir = settings.resolved_model_dir

st.title("Model health", anchor=False)
st.caption(
    "How well the suggestions perform offline and in the stores, how fresh the data is, and "
    "which rules remove the most products. Aggregates only: no client is shown."
)

evaluation_tab, outcomes_tab, data_tab, model_tab = st.tabs(
    ["Evaluation", "Outcomes", "Data & rules", "Model & retrain"]
)
with evaluation_tab:
    health.render_evaluation(model_dir, is_admin=user.role == "admin")
with outcomes_tab:
    health.render_outcomes(dataset, settings, services)
with data_tab:
    health.render_data_and_rules(dataset, settings)
with model_tab:
    health.render_model(dataset, model_dir)
    health.render_tuning(settings.data_dir, is_admin=user.role == "admin")
    render_retrain(settings, services, user, "health")
