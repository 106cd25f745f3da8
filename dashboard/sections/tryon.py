"""The Try-on session page's parts: what is kept, recording pieces, the session's suggestions.

The session lives in this browser session's state only (:data:`dashboard.state.TRYON`:
the store id and ``(product_id, kind)`` pairs, never a client id); "End the
session" forgets it. The one thing written anywhere is the audit entry
"session suggestions shown" (store and piece count, no product), once per session.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core.app.tryon import TryOnService
from core.suggest.catalogue import Catalogue
from core.suggest.request import SuggestRequest
from core.suggest.session import KIND_LABELS, TryOnSession
from dashboard import state
from dashboard.widgets.product_card import card_html, inject_css
from dashboard.widgets.text import safe

K_CHOICES = (6, 9, 12, 15, 18)
PICK = "tryon:pick"
NOTICE = "tryon:notice"
PRIVACY = (
    "**Nothing of this visit is kept.** What you record here stays on this tablet until you "
    "end the session, then it is gone: it is saved to no client and no list, and the audit "
    "log notes only that session suggestions were shown, without the pieces. No client's "
    "history is read: suggestions come from this visit alone."
)


# ------------------------------------------------------------------ state
def current(svc: TryOnService, user: Any) -> TryOnSession:
    """The session in progress (a new one at the user's store when there is none)."""
    held = st.session_state.get(state.TRYON)
    if not isinstance(held, dict):
        session = svc.start(getattr(user, "store_id", None))
        _keep(session, audited=False)
        return session
    return svc.restore(held.get("store_id"), held.get("pieces"))


def _keep(session: TryOnSession, *, audited: bool | None = None) -> None:
    held = st.session_state.get(state.TRYON) or {}
    st.session_state[state.TRYON] = {
        "store_id": session.store_id,
        "pieces": [list(p) for p in session.pairs()],
        "audited": bool(held.get("audited")) if audited is None else audited,
    }


def start_new() -> None:
    """Forget any session in progress: the page starts a new one (a button's callback)."""
    st.session_state[state.TRYON] = None
    st.session_state.pop(PICK, None)


def _on_record(svc: TryOnService, user: Any, product_id: str | None, kind: str) -> None:
    pid = product_id or st.session_state.get(PICK)
    if not pid:
        st.session_state[NOTICE] = "Choose a piece first: type its name in the search box."
        return
    _keep(current(svc, user).record(str(pid), kind))
    st.session_state[PICK] = None


def _on_remove(svc: TryOnService, user: Any, product_id: str) -> None:
    _keep(current(svc, user).remove(product_id))


def _on_end() -> None:
    start_new()
    st.session_state[NOTICE] = "Session ended: nothing of it was kept."


def _on_store(svc: TryOnService, user: Any) -> None:
    chosen = st.session_state.get("tryon:store")
    session = current(svc, user)
    _keep(TryOnSession(str(chosen), session.events) if chosen else session)


# ------------------------------------------------------------------ parts
def render_header(svc: TryOnService, user: Any, session: TryOnSession) -> None:
    """Title, what is kept (nothing), the store of the visit, and "End the session"."""
    inject_css()
    st.title("Try-on session", anchor=False)
    st.info(PRIVACY, icon=":material/lock:")
    notice = st.session_state.pop(NOTICE, None)
    if notice:
        st.success(safe(notice, 200))
    stores = svc.stores()
    cols = st.columns([3, 2], vertical_alignment="bottom")
    if getattr(user, "store_id", None) in stores:
        cols[0].markdown(f"At **{safe(stores[session.store_id], 80)}** (stock shown for it)")
    else:
        ids = sorted(stores, key=stores.__getitem__)
        cols[0].selectbox(
            "Store of the visit",
            ids,
            index=ids.index(session.store_id),
            key="tryon:store",
            format_func=stores.get,
            on_change=_on_store,
            args=(svc, user),
        )
    cols[1].button(
        "End the session",
        key="tryon:end",
        width="stretch",
        on_click=_on_end,
        disabled=not session.events,
    )


def render_recorder(
    svc: TryOnService, user: Any, session: TryOnSession, labels: dict[str, str]
) -> None:
    """Search the catalogue and record a piece as tried on or asked about."""
    st.subheader("What the client tries on or asks about", anchor=False)
    there = set(session.product_ids)
    row = st.columns([4, 1.3, 1.3], vertical_alignment="bottom", gap="small")
    row[0].selectbox(
        "Search the catalogue",
        [p for p in labels if p not in there],
        index=None,
        key=PICK,
        format_func=labels.get,
        placeholder="Type a name, designer or category…",
    )
    for col, kind in zip(row[1:], KIND_LABELS, strict=True):
        col.button(
            KIND_LABELS[kind],
            key=f"tryon:add:{kind}",
            width="stretch",
            type="primary" if kind == "tried_on" else "secondary",
            on_click=_on_record,
            args=(svc, user, None, kind),
        )


def render_pieces(svc: TryOnService, user: Any, session: TryOnSession) -> None:
    """The pieces recorded so far, each with its kind and a Remove button."""
    pieces = svc.pieces(session)
    if pieces.empty:
        st.caption("Nothing recorded yet.")
        return
    pieces["reasons"] = [[f"{k} during this visit"] for k in pieces["kind"]]
    _grid(pieces, lambda pid: _remove_button(svc, user, pid), "piece")


def _remove_button(svc: TryOnService, user: Any, pid: str) -> None:
    st.button(
        "Remove",
        key=f"tryon:remove:{pid}",
        width="stretch",
        on_click=_on_remove,
        args=(svc, user, pid),
    )


def render_suggestions(svc: TryOnService, user: Any, session: TryOnSession) -> None:
    """The session's suggestions with their reasons; one tap records a suggestion as tried on."""
    heading = "Suggestions from this visit" if session.events else "Suggestions to start with"
    st.subheader(heading, anchor=False)
    categories = sorted(Catalogue.of(svc.dataset).category_codes[1])
    row = st.columns([1, 3], gap="medium")
    k = row[0].selectbox("How many", K_CHOICES, index=2, key="tryon:k")
    cats = row[1].multiselect(
        "Categories", categories, key="tryon:cats", placeholder="All categories"
    )
    found = svc.suggestions(session, SuggestRequest(k=int(k), categories=tuple(cats)))
    if found.banner:
        st.caption(safe(found.banner, 300))
    if session.events and not (st.session_state.get(state.TRYON) or {}).get("audited"):
        svc.record_shown(user.user_id, session)
        _keep(session, audited=True)
    if found.items.empty:
        st.info("Nothing to suggest with these settings: clear the categories.")
        return
    _grid(found.items, lambda pid: _tried_button(svc, user, pid), "sugg", ranked=True)


def _tried_button(svc: TryOnService, user: Any, pid: str) -> None:
    st.button(
        "+ Tried on",
        key=f"tryon:tried:{pid}",
        width="stretch",
        on_click=_on_record,
        args=(svc, user, pid, "tried_on"),
    )


def _grid(items: pd.DataFrame, action: Any, where: str, *, ranked: bool = False) -> None:
    """Product cards three to a row, each with one action under it."""
    rows = items.to_dict("records")
    for start in range(0, len(rows), 3):
        cols = st.columns(3, gap="small")
        for offset, row in enumerate(rows[start : start + 3]):
            pid = str(row["product_id"])
            with cols[offset].container(border=True, key=f"tryon-{where}-{pid}"):
                rank = start + offset + 1 if ranked else None
                st.markdown(card_html(row, rank), unsafe_allow_html=True)
                action(pid)
