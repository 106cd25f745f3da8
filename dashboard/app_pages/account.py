"""Account page: who is signed in, sign out, change password.

A user with a generated password is sent here first, and may open no other
page until they have chosen their own.
"""

from __future__ import annotations

import streamlit as st

from core.exceptions import AuthenticationError
from dashboard import auth, resources, state
from dashboard.widgets.limited_text import PASSWORD_CHARS, limited_text
from dashboard.widgets.text import safe

user = auth.require_role("account")
services = resources.get_services(resources.get_settings())
store_names = resources.store_names(resources.get_bundle().dataset)
forced = auth.must_change_password(user)

st.title("Account", anchor=False)
store = store_names.get(str(user.store_id), user.store_id) if user.store_id else "no store"
st.markdown(f"Signed in as **{safe(user.name, 120)}** ({safe(user.user_id, 60)})")
st.markdown(safe(f"Role: {user.role} · Store: {store}", 200))
notice = st.session_state.get(state.ACCOUNT_NOTICE)
if notice:
    st.session_state[state.ACCOUNT_NOTICE] = None
    st.success(notice)
if forced:
    st.warning(
        "You are using a generated password. Choose your own below: the other pages "
        "open once it is changed."
    )

if st.button("Sign out", key="acct:sign_out", type="primary"):
    auth.get_authenticator().sign_out()
    st.rerun()

st.subheader("Change password", anchor=False)
left, _ = st.columns([2, 3])
with left, st.form("acct:password_form", clear_on_submit=True):
    old = limited_text("Current password", key="acct:old", limit=PASSWORD_CHARS, type="password")
    new = limited_text(
        "New password (at least 10 characters)",
        key="acct:new",
        limit=PASSWORD_CHARS,
        type="password",
    )
    again = limited_text(
        "New password again", key="acct:again", limit=PASSWORD_CHARS, type="password"
    )
    changed = st.form_submit_button("Change password", width="stretch", key="acct:submit")
if changed:
    if new != again:
        st.error("The two new passwords differ; type the same one twice.")
    else:
        try:
            services.users.change_password(user.user_id, old, new)
        except AuthenticationError as err:
            locked = "locked" in str(err).lower()
            st.error(str(err) if locked else "The current password is not right.")
        except ValueError as err:
            st.error(str(err).capitalize())
        else:
            if forced:
                # Rerun so the menu shows every page of the role again.
                st.session_state[state.ACCOUNT_NOTICE] = "Your password is changed."
                st.rerun()
            st.success("Your password is changed.")
