"""The share dialog: preview the client's lookbook, then share it as a PDF or a message.

What the client sees is built by :meth:`core.app.curation.CurationService.lookbook`
(client wording only: no scores, no internal notes, no sensitive product the
associate did not add by hand). Sharing records the share with its snapshot
(exactly what the client saw), audits it and marks the list shared; the PDF
and the message text offered afterwards are rebuilt from that snapshot.
Without contact consent sharing is blocked, with a way to record consent.
"""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from core.app.lookbook import Lookbook, lookbook_message
from core.app.lookbook_pdf import render_lookbook_pdf
from core.exceptions import AtelierError, ConsentError
from core.store import ListConflictError
from core.suggest.safe_text import client_text
from dashboard.sections.curation import Section, remember, seen_record
from dashboard.state import ClientPageContext
from dashboard.widgets.limited_text import CONSENT_NOTE_CHARS, MESSAGE_CHARS, limited_text
from dashboard.widgets.text import plain, safe

CHANNEL_LABELS = {"pdf": "PDF lookbook", "message": "Message text"}


def _k(sec: Section, *parts: object) -> str:
    return ":".join(["share", sec.client_id, *(str(p) for p in parts)])


def on_close(sec: Section) -> None:
    st.session_state[sec.keys.share_open] = False
    st.session_state[sec.keys.share_done] = None


def on_record_contact_consent(sec: Section) -> None:
    try:
        sec.svc.record_consent(
            sec.client_id,
            "consent_contact",
            sec.user_id,
            str(st.session_state.get(_k(sec, "consent_note")) or "Given in store"),
        )
        st.session_state[_k(sec, "error")] = None
    except (AtelierError, ValueError) as err:
        st.session_state[_k(sec, "error")] = str(err)


def on_share(sec: Section) -> None:
    """Record the share with its snapshot (audited; the list becomes shared)."""
    st.session_state[_k(sec, "error")] = None
    channel = st.session_state.get(_k(sec, "channel")) or "pdf"
    message = str(st.session_state.get(_k(sec, "message")) or "")
    try:
        rec = seen_record(sec)
        if rec is None:
            raise ValueError("There is no saved selection to share.")
        book = sec.svc.lookbook(rec, sec.user_name, personalised=sec.personalised, message=message)
        outcome = sec.svc.share(rec, book, channel, sec.user_id)
    except ListConflictError as err:
        st.session_state[_k(sec, "error")] = f"{err} Close this window and reload the list."
        return
    except ConsentError as err:
        st.session_state[_k(sec, "error")] = str(err)
        return
    except (AtelierError, ValueError) as err:
        st.session_state[_k(sec, "error")] = str(err)
        return
    st.session_state[sec.keys.share_done] = outcome.share.id
    remember(sec, sec.svc.get_list(outcome.share.list_id, sec.user_id))


def preview_markdown(book: Lookbook) -> list[str]:
    """The lookbook as the client will read it, as Markdown blocks (every field escaped).

    Each field goes through :func:`core.suggest.reasons.client_text` (the one
    cleaning of client-facing text) and then :func:`dashboard.widgets.text.safe`,
    so it shows literally. The first block is the house name (a caption).
    """

    def field(text: str, max_len: int, *, one_line: bool = True) -> str:
        return safe(client_text(text), max_len, one_line=one_line)

    blocks = [
        field(book.house_name, 120),
        f"#### {field(book.title, 160)}",
        field(book.greeting, 200),
        field(book.message, 2000, one_line=False),
    ]
    for n, item in enumerate(book.items, start=1):
        meta = " · ".join(p for p in (item.designer, item.price_text) if p)
        blocks.append(
            f"**{n}. {field(item.name, 160)}**  \n{field(meta, 120)}  \n*{field(item.text, 300)}*"
        )
    blocks.append(f"{field(book.closing, 80)}  \n**{field(book.signature, 200, one_line=False)}**")
    return blocks


def render_preview(book: Lookbook) -> None:
    """The lookbook as the client will read it (:func:`preview_markdown`)."""
    caption, *blocks = preview_markdown(book)
    with st.container(border=True):
        st.caption(caption)
        for block in blocks:
            st.markdown(block)


def _slug(text: str) -> str:
    keep = "".join(ch if ch.isalnum() else "-" for ch in plain(text, 60).lower())
    return "-".join(p for p in keep.split("-") if p) or "lookbook"


def render_done(sec: Section, share_id: int) -> None:
    try:  # checked: a share id forced into session state shows nothing the user may not see
        share = sec.svc.share_record(share_id, sec.user_id)
    except AtelierError:
        share = None
    if share is None or share.client_id != sec.client_id:
        st.error("The share could not be found; close this window and try again.")
        return
    book = Lookbook.from_snapshot(share.snapshot)
    when = share.created_at.astimezone().strftime("%d %b %Y at %H:%M")
    st.success(
        f"Shared on {when}. The list is marked shared and exactly what the client sees "
        "was saved with the share."
    )
    pdf = render_lookbook_pdf(book)
    st.download_button(
        "Download the PDF lookbook",
        data=pdf.data,
        file_name=f"{_slug(book.title)}.pdf",
        mime="application/pdf",
        key=_k(sec, "download"),
        type="primary",
        width="stretch",
        on_click="ignore",
    )
    if pdf.note:
        st.caption(pdf.note)
    st.markdown("**Message to copy** (tap the copy icon at the top right of the box):")
    st.code(lookbook_message(book), language=None, wrap_lines=True)
    st.button("Done", key=_k(sec, "close"), width="stretch", on_click=on_close, args=(sec,))


def render_share(sec: Section, ctx: ClientPageContext) -> None:
    """The body of the share dialog."""
    error = st.session_state.get(_k(sec, "error"))
    if error:
        st.error(safe(error, 400))
    done = st.session_state.get(sec.keys.share_done)
    if done:
        render_done(sec, int(done))
        return
    rec = seen_record(sec)
    if rec is None or not rec.items:
        st.info("The selection is empty: add a product before sharing.")
        return
    if not sec.svc.contact_allowed(sec.client_id):
        render_consent_needed(sec)
        return
    warning = _contact_warning(sec, ctx)
    if warning:
        st.warning(f"{safe(warning, 300)} Consider waiting before sending more.")
    limited_text(
        "Personal message (shown to the client)",
        key=_k(sec, "message"),
        limit=MESSAGE_CHARS,
        kind="area",
        height=90,
        placeholder="Optional: a few words from you. Leave empty for the standard greeting.",
    )
    book = sec.svc.lookbook(
        rec,
        sec.user_name,
        personalised=sec.personalised,
        message=str(st.session_state.get(_k(sec, "message")) or ""),
    )
    if book.dropped:
        n = len(book.dropped)
        st.info(
            f"{n} sensitive item{'s are' if n != 1 else ' is'} left out: sensitive products are "
            "shared only when you added them yourself."
        )
    st.markdown("**Preview: what the client will see**")
    render_preview(book)
    st.radio(
        "Send as",
        list(CHANNEL_LABELS),
        format_func=CHANNEL_LABELS.get,
        key=_k(sec, "channel"),
        horizontal=True,
    )
    st.button(
        "Share with the client",
        key=_k(sec, "go"),
        type="primary",
        width="stretch",
        on_click=on_share,
        args=(sec,),
    )
    st.caption("Sharing saves exactly what the client sees and marks the list as shared.")


def render_consent_needed(sec: Section) -> None:
    """Sharing is blocked without contact consent: say so, and offer to record it (audited)."""
    st.error(
        "Sharing is blocked: this client has not agreed to be contacted. "
        "Ask the client; if they agree, record their consent below (it is audited)."
    )
    limited_text(
        "How was consent given?",
        value="Given in store",
        key=_k(sec, "consent_note"),
        limit=CONSENT_NOTE_CHARS,
    )
    st.button(
        "The client agrees to be contacted: record consent",
        key=_k(sec, "consent_go"),
        on_click=on_record_contact_consent,
        args=(sec,),
        width="stretch",
    )


def _contact_warning(sec: Section, ctx: ClientPageContext) -> str | None:
    """The store's contact warning, else how many days ago the client was contacted."""
    warning = sec.svc.contact_warning(sec.client_id)
    if warning is None and ctx.recently_contacted is not None:
        last = ctx.recently_contacted
        days = max((datetime.now(UTC) - last).days, 0)
        warning = f"This client was contacted {days} day{'s' if days != 1 else ''} ago."
    return warning


def _dismiss_all() -> None:
    """Closing the dialog with its X: forget every open share dialog of this session."""
    for key in list(st.session_state.keys()):
        if isinstance(key, str) and key.startswith("share:") and key.endswith((":open", ":done")):
            st.session_state[key] = None


@st.dialog("Share a lookbook", width="large", on_dismiss=_dismiss_all)
def _share_dialog(sec: Section, ctx: ClientPageContext) -> None:
    if not st.session_state.get(sec.keys.share_open):
        st.rerun()
    render_share(sec, ctx)


def open_share_dialog(sec: Section, ctx: ClientPageContext) -> None:
    """Show the share dialog (call while ``share:<client>:open`` is set)."""
    _share_dialog(sec, ctx)
