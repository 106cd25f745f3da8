"""Sign-in page (shown to everyone signed out, at every page URL).

With single sign-on configured (``[sso]`` and ``[auth]`` in the secrets), one
"Sign in with <provider>" button, and the password form only if ``[sso]``
allows passwords; otherwise user id and password.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.app.access import can_open_page
from core.app.bootstrap import is_demo
from core.exceptions import AuthenticationError
from dashboard import auth, resources, state
from dashboard.widgets.limited_text import ID_CHARS, PASSWORD_CHARS, limited_text
from dashboard.widgets.text import safe

st.title("Atelier", anchor=False)
st.write("Sign in to look up your clients.")

notice = st.session_state.get(state.AUTH_NOTICE)
if notice:
    st.info(notice)

sso = auth.sso_config()
left, _ = st.columns([2, 3])
if sso is not None:
    refused = st.session_state.get(state.SSO_REFUSED)
    if refused:
        left.error(safe(str(refused), 600))
        if left.button(f"Sign out of {sso.label}", key="auth:sso_logout", width="stretch"):
            st.session_state[state.SSO_REFUSED] = None
            st.logout()
    elif left.button(f"Sign in with {sso.label}", key="auth:sso", type="primary", width="stretch"):
        if sso.provider:
            st.login(sso.provider)
        else:
            st.login()
    if not sso.allow_passwords:
        st.stop()
    left.caption("Or, with an account created in Atelier:")

with left, st.form("auth:form", clear_on_submit=False, border=True):
    user_id = limited_text("User id", key="auth:user_id", limit=ID_CHARS, autocomplete="username")
    password = limited_text(
        "Password",
        key="auth:password",
        limit=PASSWORD_CHARS,
        type="password",
        autocomplete="current-password",
    )
    submitted = st.form_submit_button("Sign in", type="primary", width="stretch", key="auth:submit")

if submitted:
    try:
        user = auth.get_authenticator().sign_in(user_id, password)
    except AuthenticationError as err:
        st.error(str(err))
    else:
        # The URL stays the page asked for, which then opens, if the role may open it.
        requested = st.session_state.get(state.REQUESTED_PAGE)
        st.session_state[state.GO_HOME] = bool(requested) and not can_open_page(
            user.role, str(requested)
        )
        st.rerun()

if is_demo(Path(resources.get_settings().data_dir)):
    st.caption(
        "Demo data: the sign-ins were printed in the terminal that started Atelier "
        "(`python -m core credentials` shows them again)."
    )
