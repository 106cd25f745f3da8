"""Curation on the Client page: which list is open, and the actions on it (callbacks).

The list the associate curates is a draft in the database. Until the first
action it is only the current suggestions; the first pin, removal, move,
note or addition saves it as a draft (so reopening the client shows it).

Every action runs in a button callback with the list version the associate
was looking at; if another tablet changed the list in between, the store
raises :class:`~core.store.ListConflictError`, nothing is written, and the
section shows who changed it and when, with a "Reload" button. Text typed
into a note or the title that a conflict refused is kept in session state
(:meth:`Keys.kept`) and offered again beside the reloaded text, so it is not lost.

Every list is read and changed through the checked methods of
:class:`~core.app.curation.CurationService` with the signed-in user's id: a
list id forced into session state that the user may not open is refused
(:class:`~core.exceptions.AccessDeniedError`), shown as an error, and forgotten.

Session state holds ids and small values only (see :class:`Keys`). The cards
and tools that call these actions are drawn by :mod:`dashboard.sections.working_list`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from core.app.curation import REMOVAL_REASONS, CurationService
from core.exceptions import AccessDeniedError, AtelierError, UnknownIdError
from core.store import ListConflictError, NewItem, StoreFullError
from core.store.records import CuratedListRecord
from core.suggest.request import SuggestRequest
from dashboard import state
from dashboard.widgets.text import plain


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

    def kept(self, field: str) -> str:
        """Where text typed into ``field`` ("title", "note:list", "note:<product>") is kept
        after a conflict refused it."""
        return self.k("kept", field)

    def widget(self, field: str) -> str:
        """The key of the widget ``field`` is typed into."""
        return self.k("title") if field == "title" else self.k(*field.split(":", 1))

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
    """The list the section shows: the one opened, else the client's latest draft or share.

    Only a list the user may view: a forbidden id (e.g. forced into session
    state) is refused with an error and forgotten, showing nothing of it.
    """
    lid = current_list_id(sec)
    if lid is not None:
        try:
            rec: CuratedListRecord | None = sec.svc.get_list(lid, sec.user_id)
        except UnknownIdError:
            rec = None
        except AccessDeniedError as err:
            st.error(plain(str(err), 400))
            rec = None
        if rec is not None and rec.client_id == sec.client_id:
            return rec
        st.session_state[state.DRAFT_LIST] = None
    if st.session_state.get(sec.keys.fresh):
        return None
    rec = sec.svc.open_list_for(sec.client_id, sec.user_id)
    if rec is not None:
        st.session_state[state.DRAFT_LIST] = rec.list_id
    return rec


def can_edit(sec: Section, rec: CuratedListRecord | None) -> bool:
    """Whether the user may change ``rec`` (or, without one, start a list for the client)."""
    if rec is None:
        return sec.svc.may(sec.user_id, "create_list", client_id=sec.client_id)
    return sec.svc.may(sec.user_id, "edit_list", record=rec)


def remember(sec: Section, rec: CuratedListRecord) -> None:
    """The list (and version) the associate now looks at."""
    st.session_state[state.DRAFT_LIST] = rec.list_id
    st.session_state[sec.keys.version] = rec.version
    st.session_state[sec.keys.fresh] = False


def seen_record(sec: Section) -> CuratedListRecord | None:
    """The open list at the version the associate saw (stale if someone changed it since).

    Raises
    ------
    AccessDeniedError
        The open list id is one the user may not view (nothing of it is returned).
    """
    lid = current_list_id(sec)
    if lid is None:
        return None
    rec = sec.svc.get_list(lid, sec.user_id)
    if rec.client_id != sec.client_id:  # an id left from another client: not this one's list
        st.session_state[state.DRAFT_LIST] = None
        return None
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
    items = [
        NewItem(pid, reason=reason[:1000], score=score, source="model", pinned=pid == pinned)
        for pid, reason, score in shown
    ]
    rec = sec.svc.create_list(sec.client_id, sec.user_id, items)
    remember(sec, rec)
    return rec


def remember_shown(sec: Section, items: pd.DataFrame) -> None:
    """Keep the ids (and reasons) of unsaved suggestions on screen, to save them on first action."""
    shown = []
    for row in items[["product_id", "reason", "score"]].itertuples(index=False):
        score = None if pd.isna(row.score) else float(row.score)
        shown.append((str(row.product_id), str(row.reason or ""), score))
    st.session_state[sec.keys.shown] = shown


# ------------------------------------------------------------------ actions (callbacks)
def act(
    sec: Section,
    change: Callable[[CuratedListRecord], CuratedListRecord],
    done: str | None = None,
    *,
    ensure: Callable[[], CuratedListRecord] | None = None,
    typed: dict[str, str] | None = None,
) -> None:
    """Run one list change with the version seen; record a conflict or an error for display.

    ``typed``: text the change writes, by field ("title", "note:list",
    "note:<product>"); kept in session state if a conflict refuses the change,
    forgotten once it is saved. A full database refuses the change too: its box
    stays open with the typed text in it, to save again once there is room.
    """
    keys = sec.keys
    st.session_state[keys.error] = None
    try:
        rec = ensure() if ensure is not None else ensure_record(sec)
        new = change(rec)
    except ListConflictError as err:
        st.session_state[keys.conflict] = str(err)
        for field, text in (typed or {}).items():
            st.session_state[keys.kept(field)] = text
        return
    except StoreFullError as err:
        st.session_state[keys.error] = str(err)
        for field in typed or {}:
            reopen_box(sec, field)
        return
    except (AtelierError, ValueError) as err:
        st.session_state[keys.error] = str(err)
        return
    for field in typed or {}:
        st.session_state.pop(keys.kept(field), None)
    remember(sec, new)
    st.session_state[keys.notice] = done


def kept_fields(sec: Section) -> list[str]:
    """The fields whose typed text a conflict refused and that are kept to apply again."""
    prefix = sec.keys.kept("")
    return [
        key[len(prefix) :]
        for key in st.session_state
        if isinstance(key, str) and key.startswith(prefix) and st.session_state[key] is not None
    ]


def reopen_box(sec: Section, field: str) -> None:
    """Open the box ``field`` is typed into: the list's title and note, or an item's note."""
    if field in ("title", "note:list"):
        st.session_state[sec.keys.k("tool")] = "note"
    else:
        st.session_state[sec.keys.panel] = (field.split(":", 1)[1], "more")


def on_use_kept(sec: Section, field: str) -> None:
    """Put the kept text back into its box (over the reloaded text), to save it again."""
    text = st.session_state.pop(sec.keys.kept(field), None)
    if text is not None:
        st.session_state[sec.keys.widget(field)] = str(text)


def on_drop_kept(sec: Section, field: str) -> None:
    """Forget the kept text: the reloaded version stays."""
    st.session_state.pop(sec.keys.kept(field), None)


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
    """Save an item's note (or, with ``product_id=None``, the list's note and title)."""
    if product_id is None:
        on_list_details(sec)
        return
    field = f"note:{product_id}"
    note = str(st.session_state.get(sec.keys.widget(field)) or "")
    st.session_state[sec.keys.panel] = None
    act(
        sec,
        lambda r: sec.svc.set_note(r, product_id, note, sec.user_id),
        "Note saved.",
        typed={field: note},
    )


def on_list_details(sec: Section) -> None:
    """Save the list's title (when changed) and note, in one go; a conflict keeps both texts."""
    keys = sec.keys
    title = str(st.session_state.get(keys.widget("title")) or "")
    note = str(st.session_state.get(keys.widget("note:list")) or "")
    st.session_state[keys.k("tool")] = None

    def change(r: CuratedListRecord) -> CuratedListRecord:
        if title.strip() and title != r.title:
            r = sec.svc.set_title(r, title, sec.user_id)
        return sec.svc.set_note(r, None, note, sec.user_id)

    typed = {"note:list": note, **({"title": title} if title.strip() else {})}
    act(sec, change, "Note saved.", typed=typed)


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
    """Show the list as it is now; reopen the box whose typed text was kept, to apply it again."""
    keys = sec.keys
    st.session_state[keys.conflict] = None
    st.session_state[keys.version] = None
    for field in kept_fields(sec):
        st.session_state.pop(keys.widget(field), None)  # the box restarts from the saved text
        reopen_box(sec, field)


def on_open_look(sec: Section, product_id: str, kind: str = "look") -> None:
    """Open the dialog of ``product_id``: ``"look"`` (complete the look) or ``"similar"``."""
    st.session_state[sec.keys.panel] = None
    st.session_state[sec.keys.look] = (kind, product_id)


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


def on_panel(sec: Section, product_id: str | None, kind: str | None) -> None:
    """Open (or close) the inline panel of one card: ``"remove"`` or ``"more"``."""
    st.session_state[sec.keys.panel] = None if product_id is None else (product_id, kind)


def on_tool(sec: Section, tool: str | None) -> None:
    """Open (or close) a list-level panel: ``"add"`` (a catalogue product) or ``"note"``."""
    st.session_state[sec.keys.k("tool")] = tool
