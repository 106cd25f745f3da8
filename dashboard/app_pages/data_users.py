"""Data & users (admins): import a table, erase a client, manage users, read the audit log.

An upload is checked against the whole dataset before anything changes, and
applied atomically only if valid; every check, import and export is audited.
Generated passwords are shown once, on the run that created them.
"""

from __future__ import annotations

import streamlit as st

from dashboard import auth, resources
from dashboard.sections import admin, erasure

user = auth.require_role("data_users")
settings = resources.get_settings()
services = resources.get_services(settings)
dataset = resources.get_dataset(settings)
stores = resources.store_names(dataset)
actor = str(user.user_id)

st.title("Data & users", anchor=False)
data_tab, client_tab, users_tab, audit_tab = st.tabs(["Data", "Client data", "Users", "Audit log"])
with data_tab:
    admin.render_data(settings, dataset, services, user)
with client_tab:
    erasure.render_erasure(settings, dataset, services, actor)
with users_tab:
    admin.render_users(services, stores, actor)
with audit_tab:
    admin.render_audit(services, actor)
