"""The Data & users page's client tab: export a client's data, or erase it after a confirmation.

Two steps, so nothing is erased by one click: "Check" shows what an erasure
would remove (counts only); "Erase for good" is enabled once the client id is
typed again. The erasure itself is :func:`core.app.erasure.erase_client`, the
same the command line runs; its audit entry holds the id and counts only.
"Export (JSON)" prepares everything kept about the client
(:func:`core.app.erasure.export_client`, audited) for one download.
"""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from core.app.erasure import client_rows, erase_client, export_client
from core.data.dataset import Dataset
from core.exceptions import AtelierError
from core.settings import Settings
from dashboard import resources
from dashboard.widgets.limited_text import ID_CHARS, limited_text
from dashboard.widgets.text import safe

PENDING_KEY = "erase:pending"
DONE_KEY = "erase:done"


def render_erasure(settings: Settings, dataset: Dataset, services: Any, actor: str) -> None:
    """Find a client by id, show what erasing them removes, and erase after confirmation."""
    done = st.session_state.pop(DONE_KEY, None)
    if done:
        st.success(done)
    st.caption(
        "Erasing a client removes their profile and events from the data tables, their row "
        "from the saved model (a model fitted per product holds none) and their lists, shares, "
        "removals and consent changes from the database. Suggestions, trends and outcomes stop "
        "counting them at once. It cannot be undone; the audit log keeps the client id and "
        "counts only."
    )
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    typed = limited_text("Client id", key="erase:client_id", limit=ID_CHARS, where=c1).strip()
    if c2.button("Check", key="erase:check", disabled=not typed, width="stretch"):
        # Counted once (it reads the tables), kept for the runs until the erasure.
        try:
            st.session_state[PENDING_KEY] = {"id": typed, "rows": client_rows(settings, typed)}
        except (AtelierError, ValueError, OSError) as err:
            st.session_state[PENDING_KEY] = None
            st.error(safe(str(err), 300))
    pending = st.session_state.get(PENDING_KEY)
    if isinstance(pending, dict):
        _render_export(dataset, services, actor, str(pending["id"]))
        _render_confirmation(settings, services, actor, str(pending["id"]), pending["rows"])


def _render_export(dataset: Dataset, services: Any, actor: str, client_id: str) -> None:
    if not st.button("Export their data (JSON)", key="erase:export"):
        return
    try:
        data = export_client(
            dataset,
            services,
            client_id,
            actor_id=actor,
            events=resources.served_events(dataset),
        )
    except (AtelierError, ValueError) as err:
        st.error(safe(str(err), 300))
        return
    st.download_button(
        "Download the export",
        data=json.dumps(data, ensure_ascii=False, indent=1, default=str).encode("utf-8"),
        file_name="atelier_client_export.json",
        mime="application/json",
        key="erase:export_file",
    )


def _render_confirmation(
    settings: Settings, services: Any, actor: str, client_id: str, rows: dict[str, int]
) -> None:
    shown = safe(client_id, 80)
    st.warning(
        f"Erasing **{shown}** removes their profile, {rows['events']:,} event(s) and everything "
        "the database holds about them. Type the client id again to confirm."
    )
    c1, c2, c3 = st.columns([3, 2, 2], vertical_alignment="bottom")
    again = limited_text("Client id, again", key="erase:confirm", limit=ID_CHARS, where=c1)
    confirmed = again.strip() == client_id
    if c2.button(
        "Erase for good", key="erase:go", type="primary", disabled=not confirmed, width="stretch"
    ):
        try:
            result = erase_client(settings, services, client_id, actor_id=actor)
        except (AtelierError, ValueError, OSError) as err:
            st.error(f"Nothing was erased: {safe(str(err), 500)}")
            return
        st.session_state[PENDING_KEY] = None
        st.session_state[DONE_KEY] = (
            f"Erased {shown}: their profile, {result.data_rows['events']:,} event(s) and "
            f"{sum(result.database_rows.values()):,} database row(s)."
        )
        st.rerun()
    if c3.button("Cancel", key="erase:cancel", width="stretch"):
        st.session_state[PENDING_KEY] = None
        st.rerun()
