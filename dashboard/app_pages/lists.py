"""Lists: every curated list with its client, author, status and last change.

Search and filter them, open one on the Client page, duplicate one for
another client (re-checked against that client's rules and stock: what the
rules exclude is dropped and reported), or archive it. Associates and
stylists only (managers see no client data).
"""

from __future__ import annotations

import streamlit as st

from core.app.curation import CurationService
from core.app.list_views import filter_lists
from core.store.models import LIST_STATUSES
from dashboard import auth, resources, state
from dashboard.components.curation import (
    LISTS_PAGE_SIZE,
    list_card_html,
    on_archive,
    on_duplicate,
    render_lists_notice,
)

user = auth.require_role("lists")
bundle = resources.get_bundle()
svc = CurationService(
    bundle.dataset, bundle.model, bundle.services, holdout_share=bundle.settings.holdout_share
)

st.title("Lists", anchor=False)
cols = st.columns([4, 3, 2], vertical_alignment="bottom")
query = cols[0].text_input("Search lists", key="lists:query", placeholder="Client, title or author")
statuses = cols[1].multiselect(
    "Status",
    list(LIST_STATUSES),
    default=["draft", "shared"],
    key="lists:status",
    format_func=str.capitalize,
    placeholder="Any status",
)
whose = cols[2].radio("Whose", ["Mine", "Everyone's"], key="lists:whose", horizontal=True)

frame = svc.lists_frame(svc.all_lists(include_archived=True))
shown = filter_lists(
    frame,
    query=query,
    statuses=statuses,
    author_id=user.user_id if whose == "Mine" else None,
)
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
for row in shown.head(LISTS_PAGE_SIZE).to_dict("records"):
    lid = int(row["list_id"])
    with st.container(border=True, key=f"lists-row-{lid}"):
        info, actions = st.columns([3, 2], vertical_alignment="center")
        info.markdown(list_card_html(row), unsafe_allow_html=True)
        a = actions.columns(3, gap="small")
        if a[0].button("Open", key=f"lists:open:{lid}", type="primary", width="stretch",
                       disabled=row["status"] == "archived"):  # fmt: skip
            state.open_client(str(row["client_id"]))
            st.session_state[state.DRAFT_LIST] = lid
            st.switch_page(state.page_path("client"))
        with a[1].popover("Duplicate", width="stretch", key=f"lists:dup_pop:{lid}"):
            st.markdown("Copy this list for another client; their rules and stock are re-checked.")
            q = st.text_input("Find the client", key=f"lists:dup_q:{lid}", placeholder="Name or id")
            matches = index.search(q or "", limit=8, prefer_associate=user.user_id,
                                   prefer_store=user.store_id) if q else None  # fmt: skip
            options = [] if matches is None else list(matches["client_id"])
            names = {} if matches is None else {
                str(r.client_id): f"{r.first_name} {r.last_name} ({r.client_id})"
                for r in matches.itertuples()
            }  # fmt: skip
            st.selectbox(
                "Client", options, key=f"lists:dup_to:{lid}", index=0 if options else None,
                format_func=lambda c, names=names: names.get(c, c),
                placeholder="Search first",
            )  # fmt: skip
            st.button(
                "Duplicate for this client", key=f"lists:dup_go:{lid}", type="primary",
                width="stretch", disabled=not options, on_click=on_duplicate,
                args=(svc, lid, user.user_id),
            )  # fmt: skip
        with a[2].popover("Archive", width="stretch", key=f"lists:arch_pop:{lid}",
                          disabled=row["status"] == "archived"):  # fmt: skip
            st.markdown("Archive this list? It becomes read-only (you can still duplicate it).")
            st.button(
                "Archive the list", key=f"lists:arch_go:{lid}", width="stretch",
                on_click=on_archive, args=(svc, lid, int(row["version"]), user.user_id),
            )  # fmt: skip
