"""Curation on the Client page: the working list and its actions.

The list the associate curates is a draft in the database. Until the first
action it is only the current suggestions; the first pin, removal, move,
note or addition saves it as a draft (so reopening the client shows it).

Every action runs in a button callback with the list version the associate
was looking at; if another tablet changed the list in between, the store
raises :class:`~core.store.ListConflictError`, nothing is written, and the
section shows who changed it and when, with a "Reload" button.

Session state holds ids and small values only (see :class:`Keys`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
import streamlit as st

from core.app.curation import REMOVAL_REASONS, CurationService
from core.app.lookbook import format_price
from core.exceptions import AtelierError, UnknownIdError
from core.store import ListConflictError, NewItem
from core.store.records import CuratedListRecord
from core.suggest.reasons import REASON_SEPARATOR
from core.suggest.request import SuggestRequest
from dashboard import state
from dashboard.components import plain, safe, safe_html
from dashboard.components.chips import chip_html
from dashboard.components.swatch import colour_css

STATUS_LABELS = {"draft": "Draft", "shared": "Shared", "archived": "Archived"}

CSS = """
<style>
.d2-card { display: flex; gap: 0.75rem; align-items: flex-start; min-height: 5.2rem; }
.d2-swatch {
  flex: 0 0 64px; height: 64px; border-radius: 8px; border: 1px solid #DDD5C8;
  display: flex; align-items: center; justify-content: center;
  font-weight: 600; font-size: 1.05rem; letter-spacing: 0.04em;
}
.d2-body { min-width: 0; flex: 1 1 auto; }
.d2-body .d2-name { font-weight: 600; font-size: 1.02rem; line-height: 1.3;
  overflow-wrap: anywhere; }
.d2-body .d2-meta { color: #5F574D; font-size: 0.92rem; overflow-wrap: anywhere; }
.d2-rank { color: #8A7F72; font-size: 0.85rem; margin-right: 0.25rem; }
.d2-chips { margin-top: 0.3rem; }
.d2-reason { margin-top: 0.25rem; font-size: 0.92rem; line-height: 1.35; color: #1F1B16;
  padding-left: 0.9rem; text-indent: -0.9rem; overflow-wrap: anywhere; }
.d2-reason::before { content: "›"; color: #6B4F3A; font-weight: 700; margin-right: 0.45rem; }
.d2-note { margin-top: 0.3rem; color: #4B3F6B; font-size: 0.88rem; overflow-wrap: anywhere; }
[class*="st-key-cur-card-"] [data-testid="stVerticalBlock"] { gap: 0.45rem; }
[class*="st-key-cur-card-"] .stButton button p,
[class*="st-key-cur-card-"] [data-testid="stPopover"] button p { font-size: 0.95rem; }
</style>
"""


# ------------------------------------------------------------------ session keys
@dataclass(frozen=True)
class Keys:
    """Session-state and widget keys of one client's section (client id inside)."""

    client_id: str

    def k(self, *parts: object) -> str:
        return ":".join(["cur", self.client_id, *(str(p) for p in parts)])

    @property
    def version(self) -> str:
        return self.k("version")

    @property
    def conflict(self) -> str:
        return self.k("conflict")

    @property
    def notice(self) -> str:
        return self.k("notice")

    @property
    def error(self) -> str:
        return self.k("error")

    @property
    def shown(self) -> str:
        return self.k("shown")

    @property
    def fresh(self) -> str:
        return self.k("fresh")

    @property
    def panel(self) -> str:
        return self.k("panel")

    @property
    def look(self) -> str:
        return self.k("look")

    @property
    def share_open(self) -> str:
        return ":".join(["share", self.client_id, "open"])

    @property
    def share_done(self) -> str:
        return ":".join(["share", self.client_id, "done"])


@dataclass(frozen=True)
class Section:
    """What callbacks need: the service, the client, the signed-in user."""

    svc: CurationService
    client_id: str
    user_id: str
    user_name: str
    personalised: bool

    @property
    def keys(self) -> Keys:
        return Keys(self.client_id)


# ------------------------------------------------------------------ which list
def current_list_id(sec: Section) -> int | None:
    value = st.session_state.get(state.DRAFT_LIST)
    return int(value) if isinstance(value, int) else None


def resolve_list(sec: Section) -> CuratedListRecord | None:
    """The list the section shows: the one opened, else the client's latest draft or share."""
    lid = current_list_id(sec)
    if lid is not None:
        try:
            rec = sec.svc.lists.get_list(lid)
        except UnknownIdError:
            rec = None
        if rec is not None and rec.client_id == sec.client_id:
            return rec
        st.session_state[state.DRAFT_LIST] = None
    if st.session_state.get(sec.keys.fresh):
        return None
    rec = sec.svc.open_list_for(sec.client_id)
    if rec is not None:
        st.session_state[state.DRAFT_LIST] = rec.list_id
    return rec


def remember(sec: Section, rec: CuratedListRecord) -> None:
    """The list (and version) the associate now looks at."""
    st.session_state[state.DRAFT_LIST] = rec.list_id
    st.session_state[sec.keys.version] = rec.version
    st.session_state[sec.keys.fresh] = False


def seen_record(sec: Section) -> CuratedListRecord | None:
    """The open list at the version the associate saw (stale if someone changed it since)."""
    lid = current_list_id(sec)
    if lid is None:
        return None
    rec = sec.svc.lists.get_list(lid)
    seen = st.session_state.get(sec.keys.version)
    if isinstance(seen, int) and seen != rec.version:
        rec = dataclasses.replace(rec, version=seen)
    return rec


def ensure_record(sec: Section, *, pinned: str | None = None) -> CuratedListRecord:
    """The open list; the shown suggestions are saved as a new draft first if there is none.

    ``pinned``: a product to save already pinned (a first pin is then one write, not two).
    """
    rec = seen_record(sec)
    if rec is not None:
        return rec
    shown = st.session_state.get(sec.keys.shown) or []
    items = [NewItem(pid, reason=reason[:1000], score=score, source="model",
                     pinned=pid == pinned)
             for pid, reason, score in shown]  # fmt: skip
    rec = sec.svc.lists.create_list(
        sec.client_id, sec.user_id, sec.svc._default_title(sec.client_id), items=items
    )
    remember(sec, rec)
    return rec


def remember_shown(sec: Section, items: pd.DataFrame) -> None:
    """Keep the ids (and reasons) of unsaved suggestions on screen, to save them on first action."""
    shown = []
    for row in items[["product_id", "reason", "score"]].itertuples(index=False):
        score = None if pd.isna(row.score) else float(row.score)
        shown.append((str(row.product_id), str(row.reason or ""), score))
    st.session_state[sec.keys.shown] = shown


# ------------------------------------------------------------------ actions
def act(
    sec: Section,
    change: Callable[[CuratedListRecord], CuratedListRecord],
    done: str | None = None,
    *,
    ensure: Callable[[], CuratedListRecord] | None = None,
) -> None:
    """Run one list change with the version seen; record a conflict or an error for display."""
    keys = sec.keys
    st.session_state[keys.error] = None
    try:
        rec = ensure() if ensure is not None else ensure_record(sec)
        new = change(rec)
    except ListConflictError as err:
        st.session_state[keys.conflict] = str(err)
        return
    except (AtelierError, ValueError) as err:
        st.session_state[keys.error] = str(err)
        return
    remember(sec, new)
    st.session_state[keys.notice] = done


def on_pin(sec: Section, product_id: str, pinned: bool) -> None:
    if pinned and current_list_id(sec) is None:
        # First action on unsaved suggestions: save them with this one pinned, in one write.
        shown = {pid for pid, _, _ in st.session_state.get(sec.keys.shown) or []}
        if product_id in shown:
            act(sec, lambda r: r, ensure=lambda: ensure_record(sec, pinned=product_id))
            return
    act(sec, lambda r: sec.svc.set_pinned(r, product_id, pinned, sec.user_id))


def on_move(sec: Section, product_id: str, step: int) -> None:
    act(sec, lambda r: sec.svc.move(r, product_id, step, sec.user_id))


def on_remove(sec: Section, product_id: str, name: str) -> None:
    k = sec.keys
    st.session_state[k.panel] = None
    choice = st.session_state.get(k.k("why", product_id)) or REMOVAL_REASONS[0]
    detail = str(st.session_state.get(k.k("why_text", product_id)) or "").strip()
    whole = bool(st.session_state.get(k.k("why_cat", product_id)))
    reason = f"{choice}: {detail}" if detail else str(choice)
    act(
        sec,
        lambda r: sec.svc.remove(r, product_id, reason[:1000], sec.user_id, whole_category=whole),
        f"Removed “{plain(name, 80)}”: it will not be suggested to this client again.",
    )


def on_note(sec: Section, product_id: str | None) -> None:
    key = sec.keys.k("note", product_id or "list")
    note = str(st.session_state.get(key) or "")
    if product_id is not None:
        st.session_state[sec.keys.panel] = None
    else:
        st.session_state[sec.keys.k("tool")] = None
    act(sec, lambda r: sec.svc.set_note(r, product_id, note, sec.user_id), "Note saved.")


def on_add(sec: Section, product_id: str | None, source_key: str | None = None) -> None:
    if product_id is None and source_key is not None:
        product_id = st.session_state.get(source_key)
    if not product_id:
        st.session_state[sec.keys.error] = "Choose a product to add first."
        return

    def change(r: CuratedListRecord) -> CuratedListRecord:
        if product_id in r.product_ids:
            raise ValueError("This product is already in the selection.")
        return sec.svc.add_product(r, str(product_id), sec.user_id)

    name = sec.svc.product_label(str(product_id))
    act(sec, change, f"Added “{plain(name, 80)}” to the selection.")


def on_regenerate(sec: Section, params: SuggestRequest) -> None:
    act(
        sec,
        lambda r: sec.svc.regenerate(r, sec.user_id, params, personalised=sec.personalised),
        "Regenerated: pinned and hand-picked items kept; removed items never come back.",
    )
    st.session_state[sec.keys.k("params_used")] = params.as_dict()


def on_save(sec: Section) -> None:
    act(sec, lambda r: r, "Saved as a draft: reopening this client shows it.")


def on_new_selection(sec: Section) -> None:
    st.session_state[state.DRAFT_LIST] = None
    st.session_state[sec.keys.fresh] = True
    st.session_state[sec.keys.version] = None


def on_reload(sec: Section) -> None:
    st.session_state[sec.keys.conflict] = None
    st.session_state[sec.keys.version] = None


def on_open_look(sec: Section, product_id: str) -> None:
    st.session_state[sec.keys.panel] = None
    st.session_state[sec.keys.look] = product_id


def on_open_share(sec: Section) -> None:
    st.session_state[sec.keys.error] = None
    try:
        rec = ensure_record(sec)
    except (AtelierError, ValueError) as err:
        st.session_state[sec.keys.error] = str(err)
        return
    if not rec.items:
        st.session_state[sec.keys.error] = "The selection is empty: add a product before sharing."
        return
    st.session_state[sec.keys.share_open] = True
    st.session_state[sec.keys.share_done] = None


# ------------------------------------------------------------------ rendering
def inject_css() -> None:
    """The section's own CSS (a constant, no user data)."""
    st.markdown(CSS, unsafe_allow_html=True)


def _initials(category: Any) -> str:
    words = [w for w in plain(category, 40).replace("-", " ").split() if w[:1].isalpha()]
    return "".join(w[0] for w in words[:2]).upper() or "•"


def _text_colour(css: str) -> str:
    if not css.startswith("#") or len(css) != 7:
        return "#FFFFFF"
    r, g, b = (int(css[i : i + 2], 16) for i in (1, 3, 5))
    return "#1F1B16" if (0.299 * r + 0.587 * g + 0.114 * b) > 150 else "#FFFFFF"


def stock_text(here: Any, online: Any) -> tuple[str, str]:
    """(text, chip tone) of the stock line: in the client's store and online."""
    h = int(here or 0) if pd.notna(here) else 0
    o = int(online or 0) if pd.notna(online) else 0
    if h > 0:
        return f"{h} in store · {o} online", "good"
    if o > 0:
        return f"Online only · {o} online", "warn"
    return "Out of stock", "muted"


def card_html(row: pd.Series | dict[str, Any], rank: int | None = None) -> str:
    """The HTML of a product card: swatch, name, designer and price, stock, reasons, note.

    Every field is escaped (:func:`safe_html`); only associate wording is shown here.
    """
    get = row.get
    colour = colour_css(get("color"))
    prop = "background" if colour.startswith("linear-gradient") else "background-color"
    swatch = (
        f'<div class="d2-swatch" style="{prop}:{colour};color:{_text_colour(colour)}" '
        f'title="{safe_html(get("color"), 40)}">{safe_html(_initials(get("category")), 4)}</div>'
    )
    price = format_price(get("price"), get("currency"))
    meta = " · ".join(p for p in (plain(get("designer"), 60), price) if p)
    sub = " · ".join(p for p in (plain(get("category"), 40), plain(get("color"), 40)) if p)
    stock, tone = stock_text(get("stock_here"), get("stock_online"))
    chips = [chip_html(stock, tone)]  # type: ignore[arg-type]
    if bool(get("pinned")):
        chips.insert(0, chip_html("Pinned", "good"))
    if str(get("source") or "") == "manual":
        chips.append(chip_html("Added by hand", "muted"))
    if bool(get("sensitive")):
        chips.append(chip_html("Sensitive: not volunteered", "warn"))
    reasons = get("reasons") or []
    if isinstance(reasons, str):
        reasons = [r for r in reasons.split(REASON_SEPARATOR) if r]
    reason_lines = "".join(
        f'<div class="d2-reason">{safe_html(r, 160)}</div>' for r in list(reasons)[:2]
    )
    note = plain(get("note"), 200)
    note_html = f'<div class="d2-note">Note: {safe_html(note, 200)}</div>' if note else ""
    rank_html = f'<span class="d2-rank">#{int(rank)}</span>' if rank is not None else ""
    return (
        f'<div class="d2-card">{swatch}<div class="d2-body">'
        f'<div class="d2-name">{rank_html}{safe_html(get("name"), 160)}</div>'
        f'<div class="d2-meta">{safe_html(meta, 140)}</div>'
        f'<div class="d2-meta">{safe_html(sub, 100)}</div>'
        f'<div class="d2-chips">{"".join(chips)}</div></div></div>'
        f"{reason_lines}{note_html}"
    )


def render_messages(sec: Section) -> bool:
    """Show a pending conflict (with Reload), error or notice. ``True`` if a conflict blocks."""
    keys = sec.keys
    conflict = st.session_state.get(keys.conflict)
    if conflict:
        with st.container(border=True, key=keys.k("conflict_box").replace(":", "-")):
            st.error(
                f"{safe(conflict, 300)} Your change was not saved, so nothing was lost.",
            )
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


def on_panel(sec: Section, product_id: str | None, kind: str | None) -> None:
    """Open (or close) the inline panel of one card: ``"remove"`` or ``"more"``."""
    st.session_state[sec.keys.panel] = None if product_id is None else (product_id, kind)


def render_card_actions(
    sec: Section, row: pd.Series | dict[str, Any], *, first: bool, last: bool
) -> None:
    """Pin, remove (with a reason), move up/down, note and complete the look: all taps.

    Removing and the note open a small panel inside the card (one card at a
    time) rather than a popover per card: fewer elements, so every tap reruns faster.
    """
    keys = sec.keys
    pid = str(row["product_id"])
    name = plain(row.get("name"), 120)
    pinned = bool(row.get("pinned"))
    panel = st.session_state.get(keys.panel)
    open_kind = panel[1] if isinstance(panel, tuple | list) and panel[0] == pid else None
    top = st.columns(2, gap="small")
    top[0].button(
        "Pinned" if pinned else "Pin",
        key=keys.k("pin", pid),
        type="primary" if pinned else "secondary",
        width="stretch",
        on_click=on_pin,
        args=(sec, pid, not pinned),
    )
    top[1].button(
        "✕ Remove",
        key=keys.k("rm", pid),
        width="stretch",
        type="primary" if open_kind == "remove" else "secondary",
        on_click=on_panel,
        args=(sec, None, None) if open_kind == "remove" else (sec, pid, "remove"),
    )
    bottom = st.columns(3, gap="small")
    bottom[0].button(
        "↑", key=keys.k("up", pid), width="stretch", disabled=first,
        on_click=on_move, args=(sec, pid, -1),
    )  # fmt: skip
    bottom[1].button(
        "↓", key=keys.k("down", pid), width="stretch", disabled=last,
        on_click=on_move, args=(sec, pid, 1),
    )  # fmt: skip
    bottom[2].button(
        "Note…",
        key=keys.k("more", pid),
        width="stretch",
        type="primary" if open_kind == "more" else "secondary",
        on_click=on_panel,
        args=(sec, None, None) if open_kind == "more" else (sec, pid, "more"),
    )
    if open_kind == "remove":
        with st.form(keys.k("rm_form", pid), border=True, enter_to_submit=False):
            st.markdown(f"Remove **{safe(name, 80)}**?")
            st.selectbox("Reason", REMOVAL_REASONS, key=keys.k("why", pid))
            st.text_input(
                "Details (optional)", key=keys.k("why_text", pid), max_chars=500,
                placeholder="e.g. prefers gold to silver",
            )  # fmt: skip
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
    elif open_kind == "more":
        with st.form(keys.k("note_form", pid), border=True, enter_to_submit=False):
            st.text_area(
                "Internal note (never shown to the client)",
                value=str(row.get("note") or ""),
                key=keys.k("note", pid),
                max_chars=2000,
                height=90,
            )
            st.form_submit_button(
                "Save note", key=keys.k("note_go", pid), width="stretch", type="primary",
                on_click=on_note, args=(sec, pid),
            )  # fmt: skip
        st.button(
            "Complete the look", key=keys.k("look_go", pid), width="stretch",
            on_click=on_open_look, args=(sec, pid),
        )  # fmt: skip


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


def local_time(value: Any) -> str:
    """A stored (UTC) time as "23 Nov 2026, 14:02" in the server's time zone ('' if missing)."""
    if value is None or (not isinstance(value, datetime) and pd.isna(value)):
        return ""
    moment = pd.Timestamp(value).to_pydatetime()
    return moment.astimezone().strftime("%d %b %Y, %H:%M")


def status_line(rec: CuratedListRecord | None) -> str:
    """One line about the list: status, items, last change (escaped Markdown)."""
    if rec is None:
        return "Not saved yet: the first pin, removal or note saves it as a draft."
    when = local_time(rec.updated_at)
    status = STATUS_LABELS.get(rec.status, rec.status)
    n = len(rec.items)
    pinned = len(rec.pinned_ids)
    return (
        f"**{status}** · {n} item{'s' if n != 1 else ''} ({pinned} pinned) · "
        f"last change by {safe(rec.updated_by_name, 60)}, {when}"
    )


def on_tool(sec: Section, tool: str | None) -> None:
    """Open (or close) a list-level panel: ``"add"`` (a catalogue product) or ``"note"``."""
    st.session_state[sec.keys.k("tool")] = tool


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
        "List note…",
        key=keys.k("list_note_open"),
        width="stretch",
        type="primary" if tool == "note" else "secondary",
        on_click=on_tool,
        args=(sec, None if tool == "note" else "note"),
    )
    if tool == "add":
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
            "Add", key=keys.k("add_go"), type="primary", width="stretch",
            on_click=on_add, args=(sec, None, add_key),
        )  # fmt: skip
    elif tool == "note":
        with st.form(keys.k("note_form", "list"), border=True, enter_to_submit=False):
            st.text_area(
                "Internal note on the whole list (never shown to the client)",
                value=rec.note if rec is not None else "",
                key=keys.k("note", "list"),
                max_chars=2000,
                height=110,
            )
            st.form_submit_button(
                "Save list note", key=keys.k("note_go", "list"), width="stretch",
                type="primary", on_click=on_note, args=(sec, None),
            )  # fmt: skip


def items_for_display(sec: Section, rec: CuratedListRecord) -> pd.DataFrame:
    """The list's items with catalogue data, stock and the associate reason as chips."""
    items = sec.svc.items_frame(rec)
    items["reasons"] = [
        [r for r in str(reason or "").split(REASON_SEPARATOR) if r] for reason in items["reason"]
    ]
    return items


# ------------------------------------------------------------------ lists page
LISTS_PAGE_SIZE = 25
LISTS_NOTICE = "lists:notice"
LISTS_ERROR = "lists:error"
STATUS_TONES = {"draft": "", "shared": "good", "archived": "muted"}


def list_card_html(row: dict[str, Any]) -> str:
    """One list on the Lists page: client, title, status, author, items, last change."""
    status = str(row.get("status") or "")
    when = row.get("updated_at")
    when_text = local_time(when)
    n = int(row.get("items") or 0)
    meta = f"by {plain(row.get('author'), 60)} · {n} item{'s' if n != 1 else ''}"
    meta += f" · last change {when_text} by {plain(row.get('updated_by'), 60)}"
    return (
        f'<div class="d2-name">{safe_html(row.get("client_name"), 120)} '
        f"{chip_html(STATUS_LABELS.get(status, status), STATUS_TONES.get(status, ''))}</div>"  # type: ignore[arg-type]
        f'<div class="d2-meta">{safe_html(row.get("title"), 200)}</div>'
        f'<div class="d2-meta">{safe_html(meta, 300)}</div>'
    )


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
        rec = dataclasses.replace(svc.lists.get_list(list_id), version=version)
        svc.archive(rec, user_id)
    except ListConflictError as err:
        st.session_state[LISTS_ERROR] = f"{err} Nothing was archived."
        return
    except (AtelierError, ValueError) as err:
        st.session_state[LISTS_ERROR] = str(err)
        return
    st.session_state[LISTS_NOTICE] = "List archived."
