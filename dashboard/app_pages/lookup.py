"""Client lookup: one big search box, a few filters, results as big tappable cards."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import auth, resources, state
from dashboard.widgets.cards import client_card_label
from dashboard.widgets.limited_text import SEARCH_CHARS, limited_text
from dashboard.widgets.text import safe

RECENT_DAYS = 90
RESULTS = 30

user = auth.require_role("lookup")
bundle = resources.get_bundle()
dataset = bundle.dataset
index = resources.get_client_index(dataset)
stores = resources.store_names(dataset)

st.title("Client lookup", anchor=False)
st.page_link(
    state.page_path("tryon"),
    label="A walk-in, or no consent? Start a try-on session (nothing stored)",
    icon=":material/checkroom:",
)
query = limited_text(
    "Search clients",
    key="lookup_query",
    limit=SEARCH_CHARS,
    placeholder="Name, email, phone or client id — typos and missing accents are fine",
)

store_ids = sorted(stores, key=lambda s: stores[s])
cols = st.columns([3, 3, 2, 2], vertical_alignment="bottom")
store_choice = cols[0].selectbox(
    "Home store",
    ["all", *store_ids],
    format_func=lambda s: "All stores" if s == "all" else stores.get(s, s),
    key="lookup:store",
)
tier_choice = cols[1].multiselect(
    "Tier", ["vic", "loyal", "client", "prospect"], key="lookup:tier", placeholder="Any tier"
)
mine = cols[2].toggle("Assigned to me", key="lookup:mine")
recent = cols[3].toggle(f"Active in {RECENT_DAYS} days", key="lookup:recent")

filters = {
    # Email and phone match only clients whose contact this user may see.
    "viewer": user,
    "store_id": None if store_choice == "all" else store_choice,
    "tier": tier_choice or None,
    "assigned_to": user.user_id if mine else None,
    "recently_active_since": (dataset.as_of - pd.Timedelta(days=RECENT_DAYS) if recent else None),
    "prefer_store": user.store_id,
    "prefer_associate": user.user_id,
    "limit": RESULTS,
}
typed = bool(query and query.strip())
filtered = any(filters[k] is not None for k in ("store_id", "tier", "assigned_to"))
filtered = filtered or recent

if typed or filtered:
    results = index.search(query or "", **filters)
    heading = f"{len(results)} client{'s' if len(results) != 1 else ''}"
    if len(results) == RESULTS:
        heading = f"Best {RESULTS} matches"
else:
    # Before typing: the associate's own clients, else their store's.
    results = index.search("", **{**filters, "assigned_to": user.user_id})
    heading = "Your clients"
    if results.empty and user.store_id:
        results = index.search("", **{**filters, "store_id": user.store_id})
        heading = "Clients of your store"

if results.empty:
    if typed:
        st.info(
            f"No client matches '{safe(query.strip(), 80)}'. "
            "Check spelling or search by email/phone."
        )
    elif filtered:
        st.info("No client matches these filters. Clear a filter to see more.")
    else:
        st.info("Type a name, email, phone or client id to find a client.")
else:
    st.subheader(heading, anchor=False)
    with st.container(key="lookup_results"):
        grid = st.columns(2)
        for i, row in enumerate(results.itertuples(index=False)):
            label = client_card_label(
                row._asdict(), store_names=stores, as_of=dataset.as_of, own=bool(row.is_own)
            )
            with grid[i % 2]:
                if st.button(label, key=f"lookup_card_{row.client_id}", width="stretch", wrap=True):
                    state.open_client(str(row.client_id))
                    st.switch_page(state.page_path("client"))
