"""The Lists page's parts: filters, one row per list with open / duplicate / archive.

Only the lists the signed-in user may view are listed (their own, their
store's clients', their assigned clients'; never another store's, not even
its clients' names), each with the actions the access policy allows them.
Duplicating re-checks the list against the new client's rules and stock
(what the rules exclude is dropped and reported); archiving is done at the
version shown, so a concurrent change is reported instead of overwritten.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd
import streamlit as st

from core.app.curation import CurationService
from core.app.list_views import filter_lists
from core.app.search import ClientIndex
from core.exceptions import AtelierError
from core.store import ListConflictError
from core.store.models import LIST_STATUSES
from dashboard import state
from dashboard.widgets.limited_text import SEARCH_CHARS, limited_text
from dashboard.widgets.list_card import list_card_html
from dashboard.widgets.text import plain, safe

LISTS_PAGE_SIZE = 25
LISTS_NOTICE = "lists:notice"
LISTS_ERROR = "lists:error"
#: The "Whose" choices: the user's own lists, or every list they may see.
WHOSE = ("Mine", "My store's")


def render_lists_notice() -> None:
    """The outcome of the last duplicate/archive on the Lists page."""
    error = st.session_state.get(LISTS_ERROR)
    if error:
        st.error(safe(error, 400))
        st.session_state[LISTS_ERROR] = None
    notice = st.session_state.get(LISTS_NOTICE)
    if notice:
        st.success(safe(notice, 1500, one_line=False))
        st.session_state[LISTS_NOTICE] = None


def on_duplicate(svc: CurationService, list_id: int, user_id: str) -> None:
    """Duplicate a list for the chosen client; report what their rules dropped."""
    target = st.session_state.get(f"lists:dup_to:{list_id}")
    st.session_state[LISTS_ERROR] = None
    if not target:
        st.session_state[LISTS_ERROR] = "Choose the client to copy the list for."
        return
    try:
        result = svc.duplicate(list_id, str(target), user_id)
    except (AtelierError, ValueError) as err:
        st.session_state[LISTS_ERROR] = str(err)
        return
    name = plain(svc.lists_frame([result.record])["client_name"].iloc[0], 80)
    kept = len(result.record.items)
    text = f"Copied for {name}: {kept} item{'s' if kept != 1 else ''} in a new draft."
    if not result.dropped.empty:
        lines = [
            f"- {plain(r.name, 80)}: {plain(r.rule, 40).replace('_', ' ')} ({plain(r.detail, 120)})"
            for r in result.dropped.itertuples()
        ]
        text += (
            f"\n{len(lines)} item{'s were' if len(lines) != 1 else ' was'} left out by "
            f"{name}'s rules:\n" + "\n".join(lines)
        )
    st.session_state[LISTS_NOTICE] = text


def on_archive(svc: CurationService, list_id: int, version: int, user_id: str) -> None:
    """Archive a list at the version shown (a conflict is reported, nothing written)."""
    st.session_state[LISTS_ERROR] = None
    try:
        rec = dataclasses.replace(svc.get_list(list_id, user_id), version=version)
        svc.archive(rec, user_id)
    except ListConflictError as err:
        st.session_state[LISTS_ERROR] = f"{err} Nothing was archived."
        return
    except (AtelierError, ValueError) as err:
        st.session_state[LISTS_ERROR] = str(err)
        return
    st.session_state[LISTS_NOTICE] = "List archived."


def render_filters(svc: CurationService, user: Any) -> pd.DataFrame:
    """Search, status and "whose" filters; returns the lists that match, newest first."""
    cols = st.columns([4, 3, 2], vertical_alignment="bottom")
    query = limited_text(
        "Search lists",
        key="lists:query",
        limit=SEARCH_CHARS,
        where=cols[0],
        placeholder="Client, title or author",
    )
    statuses = cols[1].multiselect(
        "Status",
        list(LIST_STATUSES),
        default=["draft", "shared"],
        key="lists:status",
        format_func=str.capitalize,
        placeholder="Any status",
    )
    whose = cols[2].radio(
        "Whose",
        WHOSE,
        key="lists:whose",
        horizontal=True,
        help="My store's: every list for your store's clients and the clients assigned to "
        "you, whoever wrote it. Other stores' lists are not shown.",
    )
    frame = svc.lists_frame(svc.visible_lists(user.user_id, include_archived=True))
    return filter_lists(
        frame,
        query=query,
        statuses=statuses,
        author_id=user.user_id if whose == WHOSE[0] else None,
    )


def render_list_row(
    svc: CurationService,
    index: ClientIndex,
    user: Any,
    row: dict[str, Any],
    allowed: frozenset[str] = frozenset({"edit_list", "duplicate_list"}),
) -> None:
    """One list as a card, with Open, Duplicate (for a client found by search) and Archive.

    ``allowed``: the list actions the user may do to this list (others are not offered).
    """
    lid = int(row["list_id"])
    archived = row["status"] == "archived"
    with st.container(border=True, key=f"lists-row-{lid}"):
        info, actions = st.columns([3, 2], vertical_alignment="center")
        info.markdown(list_card_html(row), unsafe_allow_html=True)
        a = actions.columns(3, gap="small")
        if a[0].button(
            "Open", key=f"lists:open:{lid}", type="primary", width="stretch", disabled=archived
        ):
            state.open_client(str(row["client_id"]))
            st.session_state[state.DRAFT_LIST] = lid
            st.switch_page(state.page_path("client"))
        if "duplicate_list" in allowed:
            with a[1].popover("Duplicate", width="stretch", key=f"lists:dup_pop:{lid}"):
                _duplicate_panel(svc, index, user, lid)
        if "edit_list" not in allowed:
            return
        with a[2].popover(
            "Archive", width="stretch", key=f"lists:arch_pop:{lid}", disabled=archived
        ):
            st.markdown("Archive this list? It becomes read-only (you can still duplicate it).")
            st.button(
                "Archive the list",
                key=f"lists:arch_go:{lid}",
                width="stretch",
                on_click=on_archive,
                args=(svc, lid, int(row["version"]), user.user_id),
            )


def _duplicate_panel(svc: CurationService, index: ClientIndex, user: Any, lid: int) -> None:
    """Find the client to copy list ``lid`` for, then duplicate it (a callback)."""
    st.markdown("Copy this list for another client; their rules and stock are re-checked.")
    q = limited_text(
        "Find the client", key=f"lists:dup_q:{lid}", limit=SEARCH_CHARS, placeholder="Name or id"
    )
    matches = (
        index.search(
            q or "", viewer=user, limit=8, prefer_associate=user.user_id, prefer_store=user.store_id
        )
        if q
        else None
    )
    options = [] if matches is None else list(matches["client_id"])
    names = (
        {}
        if matches is None
        else {
            str(r.client_id): f"{r.first_name} {r.last_name} ({r.client_id})"
            for r in matches.itertuples()
        }
    )
    st.selectbox(
        "Client",
        options,
        key=f"lists:dup_to:{lid}",
        index=0 if options else None,
        format_func=lambda c, names=names: names.get(c, c),
        placeholder="Search first",
    )
    st.button(
        "Duplicate for this client",
        key=f"lists:dup_go:{lid}",
        type="primary",
        width="stretch",
        disabled=not options,
        on_click=on_duplicate,
        args=(svc, lid, user.user_id),
    )
