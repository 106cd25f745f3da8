"""Lists: the curated lists the user may see, with client, author, status and last change.

Only the lists the user may see (their own, their store's, their assigned
clients'). Search and filter them, open one on the Client page, duplicate one
for another client (re-checked against that client's rules and stock: what
the rules exclude is dropped and reported), or archive it. Associates and
stylists only (managers see no client data).
"""

from __future__ import annotations

import streamlit as st

from dashboard import auth, resources
from dashboard.sections.lists import (
    LISTS_PAGE_SIZE,
    render_filters,
    render_list_row,
    render_lists_notice,
)

user = auth.require_role("lists")
bundle = resources.get_bundle()
svc = resources.get_curation(bundle)

st.title("Lists", anchor=False)
shown = render_filters(svc, user)
render_lists_notice()
total = len(shown)
more = f" (the first {LISTS_PAGE_SIZE} are shown)" if total > LISTS_PAGE_SIZE else ""
st.caption(f"{total} list{'s' if total != 1 else ''}{more}")
if shown.empty:
    st.info(
        "No list matches. Lists are created on a client's page when you pin, remove or save "
        "suggestions."
    )

index = resources.get_client_index(bundle.dataset)
page = shown.head(LISTS_PAGE_SIZE)
allowed = svc.list_actions(user.user_id, page)
for row in page.to_dict("records"):
    render_list_row(svc, index, user, row, allowed[int(row["list_id"])])
