"""Sign-in page: user id and password (shown to everyone signed out)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.app.bootstrap import is_demo
from core.exceptions import AuthenticationError
from dashboard import auth, resources, state

st.title("Atelier", anchor=False)
st.write("Sign in to look up your clients.")

notice = st.session_state.get(state.AUTH_NOTICE)
if notice:
    st.info(notice)

left, _ = st.columns([2, 3])
with left, st.form("auth:form", clear_on_submit=False, border=True):
    user_id = st.text_input("User id", key="auth:user_id", autocomplete="username")
    password = st.text_input(
        "Password", type="password", key="auth:password", autocomplete="current-password"
    )
    submitted = st.form_submit_button("Sign in", type="primary", width="stretch", key="auth:submit")

if submitted:
    try:
        auth.get_authenticator().sign_in(user_id, password)
    except AuthenticationError as err:
        st.error(str(err))
    else:
        st.rerun()

if is_demo(Path(resources.get_settings().data_dir)):
    st.caption(
        "Demo data: the sign-ins were printed in the terminal that started Atelier "
        "(`python -m core credentials` shows them again)."
    )
