"""Client page: header, contact warning, then the open tab (suggestions, profile or activity)."""

from __future__ import annotations

import streamlit as st

from core.exceptions import AccessDeniedError, AtelierError, UnknownIdError
from dashboard import auth, resources, state
from dashboard.sections import profile
from dashboard.sections.suggestions import render_suggestions_section
from dashboard.widgets.text import safe

user = auth.require_role("client")
client_id = state.selected_client_id()
if client_id is None:
    st.title("Client", anchor=False)
    st.info("No client is open. Find one on the lookup page.")
    st.page_link(state.page_path("lookup"), label="Find a client", icon=":material/search:")
    st.stop()

bundle = resources.get_bundle()
try:
    ctx = profile.build_context(client_id, user, bundle)
except UnknownIdError:
    st.error(f"There is no client with id '{safe(client_id, 60)}' in the current data.")
    st.page_link(state.page_path("lookup"), label="Find a client", icon=":material/search:")
    st.stop()
except AccessDeniedError as err:  # e.g. a client id forced into session state
    st.error(safe(str(err), 400))
    st.page_link(state.page_path("lookup"), label="Find a client", icon=":material/search:")
    st.stop()

profile.audit_view(ctx)
st.page_link(state.page_path("lookup"), label="Back to lookup", icon=":material/arrow_back:")
profile.render_header(ctx)
profile.render_contact_warning(ctx)

# Only the open tab's body runs: switching tabs reruns the page (on_change="rerun"),
# so a tap on a client computes its suggestions without also building the taste
# chart and the activity tables nobody is looking at.
suggestions_tab, profile_tab, activity_tab = st.tabs(
    state.CLIENT_TABS, key=state.client_tab_key(client_id), on_change="rerun"
)
if suggestions_tab.open:
    with suggestions_tab:
        try:
            render_suggestions_section(ctx)
        except AtelierError as err:
            st.error(safe(str(err), 500))
elif profile_tab.open:
    with profile_tab:
        st.subheader("Taste profile", anchor=False)
        profile.render_taste(ctx)
        profile.render_preferences(ctx)
elif activity_tab.open:
    with activity_tab:
        st.subheader("Recent activity", anchor=False)
        profile.render_activity(ctx)
