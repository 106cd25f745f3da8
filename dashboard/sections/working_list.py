"""The working list on the Client page: cards with their taps, the list tools, messages.

Every tap calls an action of :mod:`dashboard.sections.curation` (a callback
with the list version the associate saw); this module only draws. Text a
conflict refused (a note, the title) is drawn beside the box it was typed in,
with "Use my text" to apply it again over the reloaded version.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core.app.curation import REMOVAL_REASONS
from core.store.records import CuratedListRecord
from core.suggest.reasons import REASON_SEPARATOR
from dashboard.sections.curation import (
    Section,
    kept_fields,
    on_add,
    on_drop_kept,
    on_move,
    on_note,
    on_open_look,
    on_panel,
    on_pin,
    on_reload,
    on_remove,
    on_tool,
    on_use_kept,
)
from dashboard.widgets.limited_text import DETAIL_CHARS, NOTE_CHARS, TITLE_CHARS, limited_text
from dashboard.widgets.product_card import card_html
from dashboard.widgets.text import plain, safe


def render_messages(sec: Section) -> bool:
    """Show a pending conflict (with Reload), error or notice. ``True`` if a conflict blocks."""
    keys = sec.keys
    conflict = st.session_state.get(keys.conflict)
    if conflict:
        if kept_fields(sec):
            outcome = (
                "Your change was not saved, but the text you typed is kept: reload the list "
                "and it is shown beside the saved version, to apply again."
            )
        else:
            outcome = "Your change was not saved: reload the list and tap again."
        with st.container(border=True, key=keys.k("conflict_box").replace(":", "-")):
            st.error(f"{safe(conflict, 300)} {outcome}")
            st.button(
                "Reload the list",
                key=keys.k("reload"),
                type="primary",
                on_click=on_reload,
                args=(sec,),
            )
        return True
    error = st.session_state.get(keys.error)
    if error:
        st.error(safe(error, 400))
        st.session_state[keys.error] = None
    notice = st.session_state.get(keys.notice)
    if notice:
        st.success(safe(notice, 300))
        st.session_state[keys.notice] = None
    return False


def render_card_actions(
    sec: Section, row: pd.Series | dict[str, Any], *, first: bool, last: bool
) -> None:
    """Pin, remove (with a reason) and "More…": moving, the note and complete the look.

    One row of three taps per card; removing and "More…" open a small panel
    inside the card (one card at a time) rather than a popover per card: fewer
    elements on the page, so every tap reruns and redraws faster.
    """
    pid = str(row["product_id"])
    panel = st.session_state.get(sec.keys.panel)
    open_kind = panel[1] if isinstance(panel, tuple | list) and panel[0] == pid else None
    _card_buttons(sec, row, open_kind)
    if open_kind == "remove":
        _remove_form(sec, row)
    elif open_kind == "more":
        _more_panel(sec, row, first=first, last=last)


def _card_buttons(sec: Section, row: pd.Series | dict[str, Any], open_kind: str | None) -> None:
    """Pin, remove and the "More…" panel, side by side."""
    keys = sec.keys
    pid = str(row["product_id"])
    pinned = bool(row.get("pinned"))
    cols = st.columns(3, gap="small")
    cols[0].button(
        "Pinned" if pinned else "Pin",
        key=keys.k("pin", pid),
        type="primary" if pinned else "secondary",
        width="stretch",
        on_click=on_pin,
        args=(sec, pid, not pinned),
    )
    cols[1].button(
        "Remove",
        key=keys.k("rm", pid),
        width="stretch",
        type="primary" if open_kind == "remove" else "secondary",
        on_click=on_panel,
        args=(sec, None, None) if open_kind == "remove" else (sec, pid, "remove"),
    )
    cols[2].button(
        "More…",
        key=keys.k("more", pid),
        width="stretch",
        type="primary" if open_kind == "more" else "secondary",
        on_click=on_panel,
        args=(sec, None, None) if open_kind == "more" else (sec, pid, "more"),
    )


def _remove_form(sec: Section, row: pd.Series | dict[str, Any]) -> None:
    """Why the product goes (a reason, details, the whole category?), then remove it."""
    keys = sec.keys
    pid = str(row["product_id"])
    name = plain(row.get("name"), 120)
    with st.form(keys.k("rm_form", pid), border=True, enter_to_submit=False):
        st.markdown(f"Remove **{safe(name, 80)}**?")
        st.selectbox("Reason", REMOVAL_REASONS, key=keys.k("why", pid))
        limited_text(
            "Details (optional)",
            key=keys.k("why_text", pid),
            limit=DETAIL_CHARS,
            placeholder="e.g. prefers gold to silver",
        )
        category = plain(row.get("category"), 40)
        st.checkbox(
            f"Stop suggesting {safe(category, 40)} to this client"
            if category
            else "Stop suggesting this category",
            key=keys.k("why_cat", pid),
        )
        st.form_submit_button(
            "Remove from the selection",
            key=keys.k("rm_go", pid),
            type="primary",
            width="stretch",
            on_click=on_remove,
            args=(sec, pid, name),
        )


def render_kept(sec: Section, field: str, what: str) -> None:
    """Text typed into ``field`` that a conflict refused, with "Use my text" and "Discard"."""
    keys = sec.keys
    text = st.session_state.get(keys.kept(field))
    if text is None:
        return
    box = keys.k("kept_box", field).replace(":", "-")
    with st.container(border=True, key=box):
        st.warning(f"Your {what}, not saved because the list changed elsewhere:")
        st.text(plain(text, 2000, one_line=False) or "(empty)")
        cols = st.columns(2, gap="small")
        cols[0].button(
            "Use my text",
            key=keys.k("kept_use", field),
            type="primary",
            width="stretch",
            on_click=on_use_kept,
            args=(sec, field),
        )
        cols[1].button(
            "Discard my text",
            key=keys.k("kept_drop", field),
            width="stretch",
            on_click=on_drop_kept,
            args=(sec, field),
        )


def _seed(key: str, saved: object) -> None:
    """Start a text box from the saved text unless it already holds text (typed or kept)."""
    if key not in st.session_state:
        st.session_state[key] = str(saved or "")


def _more_panel(sec: Section, row: pd.Series | dict[str, Any], *, first: bool, last: bool) -> None:
    """Earlier / later in the list, the internal note, "Complete the look" and "Similar pieces".

    The panel stays open after a move, so a product is moved several places
    by tapping again.
    """
    keys = sec.keys
    pid = str(row["product_id"])
    moves = (("↑ Earlier", "up", first, -1), ("↓ Later", "down", last, 1))
    for col, (label, kind, at_end, step) in zip(st.columns(2, gap="small"), moves, strict=True):
        col.button(
            label,
            key=keys.k(kind, pid),
            width="stretch",
            disabled=at_end,
            on_click=on_move,
            args=(sec, pid, step),
        )
    render_kept(sec, f"note:{pid}", "note")
    _seed(keys.k("note", pid), row.get("note"))
    with st.form(keys.k("note_form", pid), border=True, enter_to_submit=False):
        limited_text(
            "Internal note (never shown to the client)",
            key=keys.k("note", pid),
            limit=NOTE_CHARS,
            kind="area",
            height=90,
        )
        st.form_submit_button(
            "Save note",
            key=keys.k("note_go", pid),
            width="stretch",
            type="primary",
            on_click=on_note,
            args=(sec, pid),
        )
    st.button(  # one per row: a card's width at 1024 px cannot hold both labels side by side
        "Complete the look",
        key=keys.k("look_go", pid),
        width="stretch",
        on_click=on_open_look,
        args=(sec, pid, "look"),
    )
    st.button(
        "Similar pieces",
        key=keys.k("similar_go", pid),
        width="stretch",
        on_click=on_open_look,
        args=(sec, pid, "similar"),
    )


def render_grid(
    sec: Section,
    items: pd.DataFrame,
    *,
    editable: bool,
    columns: int = 3,
    show_rank: bool = True,
) -> None:
    """Cards in ``columns`` columns, in list order; actions under each card when editable."""
    rows = items.to_dict("records")
    n = len(rows)
    for start in range(0, n, columns):
        cols = st.columns(columns, gap="small")
        for offset, row in enumerate(rows[start : start + columns]):
            i = start + offset
            with cols[offset].container(
                border=True, key=f"cur-card-{sec.client_id}-{row['product_id']}".replace(":", "-")
            ):
                st.markdown(card_html(row, i + 1 if show_rank else None), unsafe_allow_html=True)
                if editable:
                    render_card_actions(sec, row, first=i == 0, last=i == n - 1)


def render_list_tools(sec: Section, rec: CuratedListRecord | None) -> None:
    """Add any catalogue product by search, and the list's note: each in a panel opened by a tap.

    The catalogue select (every product) is only sent to the tablet while its
    panel is open, so taps on the cards stay fast.
    """
    keys = sec.keys
    tool = st.session_state.get(keys.k("tool"))
    cols = st.columns(2, gap="small")
    cols[0].button(
        "+ Add a product from the catalogue",
        key=keys.k("add_open"),
        width="stretch",
        type="primary" if tool == "add" else "secondary",
        on_click=on_tool,
        args=(sec, None if tool == "add" else "add"),
    )
    cols[1].button(
        "Title & note…",
        key=keys.k("list_note_open"),
        width="stretch",
        type="primary" if tool == "note" else "secondary",
        on_click=on_tool,
        args=(sec, None if tool == "note" else "note"),
    )
    if tool == "add":
        _add_panel(sec, rec)
    elif tool == "note":
        _list_note_panel(sec, rec)


def _add_panel(sec: Section, rec: CuratedListRecord | None) -> None:
    """Search the whole catalogue (minus what is in the list) and add the product picked."""
    keys = sec.keys
    in_list = set(rec.product_ids) if rec is not None else set()
    labels = sec.svc.product_labels
    add_key = keys.k("add_pick")
    row = st.columns([4, 1], vertical_alignment="bottom", gap="small")
    row[0].selectbox(
        "Search the catalogue",
        [p for p in labels if p not in in_list],
        index=None,
        key=add_key,
        format_func=labels.get,
        placeholder="Type a name, designer or category…",
    )
    row[1].button(
        "Add",
        key=keys.k("add_go"),
        type="primary",
        width="stretch",
        on_click=on_add,
        args=(sec, None, add_key),
    )


def _list_note_panel(sec: Section, rec: CuratedListRecord | None) -> None:
    """The list's title and its internal note on the whole list."""
    keys = sec.keys
    render_kept(sec, "title", "title")
    render_kept(sec, "note:list", "list note")
    _seed(keys.k("title"), rec.title if rec is not None else "")
    _seed(keys.k("note", "list"), rec.note if rec is not None else "")
    with st.form(keys.k("note_form", "list"), border=True, enter_to_submit=False):
        limited_text(
            "Title (never shown to the client)",
            key=keys.k("title"),
            limit=TITLE_CHARS,
            placeholder="Default: “Selection for” the client and today's date",
        )
        limited_text(
            "Internal note on the whole list (never shown to the client)",
            key=keys.k("note", "list"),
            limit=NOTE_CHARS,
            kind="area",
            height=110,
        )
        st.form_submit_button(
            "Save title and note",
            key=keys.k("note_go", "list"),
            width="stretch",
            type="primary",
            on_click=on_note,
            args=(sec, None),
        )


def items_for_display(sec: Section, rec: CuratedListRecord) -> pd.DataFrame:
    """The list's items with catalogue data, stock and the associate reason as chips."""
    items = sec.svc.items_frame(rec)
    items["reasons"] = [
        [r for r in str(reason or "").split(REASON_SEPARATOR) if r] for reason in items["reason"]
    ]
    return items
