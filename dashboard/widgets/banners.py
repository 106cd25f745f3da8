"""Banners for what Atelier works around: a damaged model, invalid data, a database down or full.

Shown on every page (and the sign-in form) by the entrypoint, so that nobody is
left guessing why suggestions are older than expected or why nothing loads.
"""

from __future__ import annotations

import streamlit as st
from sqlalchemy.engine import make_url

from core.settings import Settings
from core.store import StoreFullError
from dashboard import resources
from dashboard.widgets.text import plain, safe

#: The text that opens the page shown while the database cannot be reached.
DATABASE_DOWN = "Atelier cannot reach its database right now"


def show_faults(settings: Settings) -> None:
    """One warning per damaged folder, with the reason and a background refit's progress."""
    for fault in resources.faults(settings):
        st.warning(f"{safe(fault.message)}  \nReason: {safe(fault.detail, 300)}", icon="⚠️")
        if fault.fraction is not None:
            st.progress(min(max(fault.fraction, 0.0), 1.0), text=plain(fault.step, 120))


def show_database_down(url: str, err: Exception) -> None:
    """The page shown when the database does not answer: what happened, and that nothing is lost."""
    where = make_url(url).render_as_string(hide_password=True)
    first_line = str(getattr(err, "orig", None) or err).strip().splitlines()[0:1]
    st.error(
        f"{DATABASE_DOWN}, so nothing can be shown or saved for the moment. Everything "
        "saved before is kept in the database and will be there when it is back: reload "
        "this page in a minute. If this lasts, tell your administrator."
    )
    with st.expander("Details for the administrator"):
        st.code(f"database: {where}\nerror: {' '.join(first_line)}", language=None)


def show_database_full(err: StoreFullError) -> None:
    """What a page shows when a write it needed found the database full: nothing saved, nothing lost.

    Saves the associate asked for are refused where they were made (with the typed
    text kept); this is for the writes a page makes by itself (a client's view in the
    audit log, an export's record), which it will not do without.
    """
    st.error(
        f"{err} What was saved before is kept, and pages that only show data still work; "
        "this one needs to record something first."
    )
    with st.expander("Details for the administrator"):
        st.code(f"error: {err.detail}", language=None)
