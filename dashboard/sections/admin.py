"""The Data & users page's tabs: replace a table, retrain, manage users, read the audit log.

An upload is checked against the whole dataset before anything changes, and
applied atomically only if valid; every check, import and export is audited.
Generated passwords are shown once, on the run that created them.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pandas as pd
import streamlit as st

from core.app.health import table_files
from core.data.admin import (
    UPLOADABLE,
    apply_upload,
    check_upload,
    clean_staging,
    discard,
    load_check,
)
from core.data.dataset import Dataset
from core.data.embeddings import EMBEDDINGS_TABLE
from core.data.export import to_safe_csv
from core.data.schema import ROLES
from core.exceptions import AtelierError
from core.settings import Settings
from core.store import AUDIT_ACTIONS
from dashboard import state
from dashboard.sections.retrain import render_retrain
from dashboard.widgets.limited_text import ID_CHARS, NAME_CHARS, limited_text
from dashboard.widgets.text import plain, safe

CHECK_KEY = "data:check_id"
APPLIED_KEY = "data:applied"
AUDIT_SEEN_KEY = "data:audit_seen"
ANY = "(any)"


def _audit_export(services: Any, actor: str, target_type: str, target_id: str, rows: int) -> None:
    services.audit.append(actor, "export", target_type, target_id, {"rows": rows})


# ------------------------------------------------------------------ data
def render_data(settings: Settings, dataset: Dataset, services: Any, user: Any) -> None:
    """The tables in use, a checked upload that replaces one, and a retrain."""
    actor = str(user.user_id)
    st.caption(
        "Replace one table with a CSV (UTF-8) or Parquet file. The whole dataset is checked "
        "with the new file in place; nothing changes unless every check passes."
    )
    _render_tables(settings, dataset)
    applied = st.session_state.pop(APPLIED_KEY, None)
    if applied:
        st.success(
            f"{safe(applied, 80)} is in place. The app reloads the data on the next page; the "
            "model is refitted for the new data. Retrain below to evaluate it against the last "
            "report."
        )
    _render_upload(settings, services, actor)
    check = load_check(settings.data_dir, st.session_state.get(CHECK_KEY) or "")
    if check is not None:
        if check.ok:
            _render_valid_check(check, services, actor)
        else:
            _render_refused_check(check, services, actor)
    _render_retrain(settings, services, user)


def _render_tables(settings: Settings, dataset: Dataset) -> None:
    files = table_files(settings.data_dir)
    rows = pd.DataFrame(
        {"table": list(dataset.tables), "rows": [len(t) for t in dataset.tables.values()]}
    )
    st.dataframe(
        rows.merge(files, on="table", how="left"),
        hide_index=True,
        key="data:tables",
        column_config={
            "table": "Table",
            "rows": st.column_config.NumberColumn("Rows", format="%d"),
            "file": "File",
            "size_mb": st.column_config.NumberColumn("Size (MB)", format="%.2f"),
            "modified": st.column_config.DatetimeColumn("Changed", format="D MMM YYYY HH:mm"),
        },
    )


def _render_upload(settings: Settings, services: Any, actor: str) -> None:
    u1, u2 = st.columns([1, 2], vertical_alignment="bottom")
    table = u1.selectbox(
        "Table",
        list(UPLOADABLE),
        key="data:table",
        format_func=lambda t: (
            "product_embeddings (images, Parquet)" if t == EMBEDDINGS_TABLE else t
        ),
    )
    upload = u2.file_uploader(
        "File (CSV or Parquet)", type=["csv", "parquet", "pq"], key="data:upload"
    )
    if st.button("Check the file", key="data:check", disabled=upload is None, type="primary"):
        clean_staging(settings.data_dir)
        old = load_check(settings.data_dir, st.session_state.get(CHECK_KEY) or "")
        if old is not None:
            discard(old)
        check = check_upload(
            settings.data_dir, table, upload.name, upload.getvalue(), settings.max_upload_mb
        )
        services.audit.append(
            actor, "import", "table", table, {"stage": "check", **check.summary()}
        )
        st.session_state[CHECK_KEY] = check.check_id


def _render_valid_check(check: Any, services: Any, actor: str) -> None:
    name = safe(check.filename, 120)
    st.success(
        f"**{name}** is valid for the {check.table} table ({check.rows:,} rows) and the "
        "whole dataset still passes every check. Nothing has changed yet."
    )
    a1, a2, _ = st.columns([2, 2, 3])
    if a1.button("Apply", type="primary", key="data:apply", width="stretch"):
        try:
            apply_upload(check)
        except (AtelierError, ValueError, OSError) as err:
            st.error(safe(str(err), 500))
        else:
            services.audit.append(
                actor, "import", "table", check.table, {"stage": "apply", **check.summary()}
            )
            st.session_state[CHECK_KEY] = None
            st.session_state[APPLIED_KEY] = f"{check.filename} ({check.table})"
            st.rerun()
    if a2.button("Discard", key="data:discard", width="stretch"):
        discard(check)
        st.session_state[CHECK_KEY] = None
        st.rerun()


def _render_refused_check(check: Any, services: Any, actor: str) -> None:
    name = safe(check.filename, 120)
    n = len(check.problems)
    st.error(
        f"**{name}** was refused: {n} problem{'s' if n != 1 else ''} found. Nothing was changed."
    )
    st.dataframe(
        check.problems,
        hide_index=True,
        key="data:problems",
        column_config={
            "file": "File",
            "row": st.column_config.NumberColumn("Row", format="%d"),
            "column": "Column",
            "value": "Value",
            "expected": st.column_config.TextColumn("Expected", width="large"),
        },
    )
    st.download_button(
        "Download the report (CSV)",
        data=to_safe_csv(check.problems),
        file_name=f"atelier_validation_{check.table}.csv",
        mime="text/csv",
        key="data:problems_csv",
        on_click=_audit_export,
        args=(services, actor, "validation_report", check.table, n),
    )


def _render_retrain(settings: Settings, services: Any, user: Any) -> None:
    render_retrain(settings, services, user, "data")
    st.page_link(
        state.page_path("model_health"), label="Model health", icon=":material/monitoring:"
    )


# ------------------------------------------------------------------ users
def render_users(services: Any, stores: dict[str, str], actor: str) -> None:
    """Every user; create one (password shown once); change a user's role, store or access."""
    users = services.users.list_users()
    _render_user_table(users, stores)
    store_options = [None, *sorted(stores, key=lambda s: stores[s])]

    def store_label(s: str | None) -> str:
        return "No store (head office)" if s is None else plain(stores.get(s, s), 80)

    left, right = st.columns(2)
    _render_create_user(left, services, actor, store_options, store_label)
    with right:
        st.markdown("**Change a user**")
        by_id = {u.user_id: u for u in users}
        chosen = st.selectbox(
            "User",
            list(by_id),
            format_func=lambda uid: f"{plain(by_id[uid].name, 60)} ({plain(uid, 40)})",
            key="data:edit_user",
        )
        target = by_id.get(chosen)
        if target is not None:
            try:
                _render_change_user(target, services, actor, store_options, store_label)
            except (AtelierError, ValueError) as err:
                st.error(safe(str(err), 300))


def _render_user_table(users: list[Any], stores: dict[str, str]) -> None:
    user_rows = pd.DataFrame(
        [
            {
                "user_id": u.user_id,
                "name": plain(u.name, 120),
                "role": u.role,
                "store": stores.get(u.store_id, u.store_id) if u.store_id else "",
                "active": u.active,
                "locked": u.locked_until is not None and u.locked_until > datetime.now(UTC),
                "must change password": u.must_change_password,
                "last sign-in": u.last_login_at,
            }
            for u in users
        ]
    )
    st.dataframe(
        user_rows,
        hide_index=True,
        key="data:users",
        column_config={
            "user_id": "User id",
            "name": "Name",
            "role": "Role",
            "store": "Store",
            "active": st.column_config.CheckboxColumn("Active"),
            "locked": st.column_config.CheckboxColumn("Locked"),
            "must change password": st.column_config.CheckboxColumn("New password due"),
            "last sign-in": st.column_config.DatetimeColumn(
                "Last sign-in (UTC)", format="D MMM YYYY HH:mm"
            ),
        },
    )


def _render_create_user(
    left: Any, services: Any, actor: str, store_options: list[Any], store_label: Any
) -> None:
    with left, st.form("data:create_user", clear_on_submit=True):
        st.markdown("**Create a user**")
        new_id = limited_text("User id", key="data:new_id", limit=ID_CHARS)
        new_name = limited_text("Name", key="data:new_name", limit=NAME_CHARS)
        new_role = st.selectbox("Role", list(ROLES), key="data:new_role")
        new_store = st.selectbox(
            "Store", store_options, format_func=store_label, key="data:new_store"
        )
        create = st.form_submit_button("Create user", type="primary", width="stretch")
    if create:
        try:
            record, password = services.users.create_user(
                new_id.strip(), new_name.strip(), new_role, new_store, actor_id=actor
            )
        except (AtelierError, ValueError) as err:
            left.error(safe(str(err), 300))
        else:
            left.success(
                f"Created {safe(record.name, 80)} ({safe(record.user_id, 60)}). Give them this "
                "password now: it is shown only once and must be changed at first sign-in."
            )
            left.code(password, language=None)


def _render_change_user(
    target: Any, services: Any, actor: str, store_options: list[Any], store_label: Any
) -> None:
    if target.user_id == actor:
        st.caption("This is you: another admin must change your role or deactivate you.")
    r1, r2 = st.columns(2, vertical_alignment="bottom")
    role = r1.selectbox(
        "Role",
        list(ROLES),
        index=list(ROLES).index(target.role),
        key=f"data:role:{target.user_id}",
    )
    if r2.button("Save role", key=f"data:save_role:{target.user_id}", width="stretch"):
        services.users.set_role(target.user_id, role, actor_id=actor)
        st.rerun()
    s1, s2 = st.columns(2, vertical_alignment="bottom")
    store = s1.selectbox(
        "Store",
        store_options,
        format_func=store_label,
        index=store_options.index(target.store_id) if target.store_id in store_options else 0,
        key=f"data:store:{target.user_id}",
    )
    if s2.button("Save store", key=f"data:save_store:{target.user_id}", width="stretch"):
        services.users.set_store(target.user_id, store, actor_id=actor)
        st.rerun()
    _render_access_buttons(target, services, actor)


def _render_access_buttons(target: Any, services: Any, actor: str) -> None:
    b1, b2 = st.columns(2)
    if b1.button("Reset password", key=f"data:reset:{target.user_id}", width="stretch"):
        password = services.users.reset_password(target.user_id, actor_id=actor)
        st.success(
            f"New password for {safe(target.name, 80)}, shown only once "
            "(they must change it at sign-in):"
        )
        st.code(password, language=None)
    if target.active:
        if b2.button("Deactivate", key=f"data:deactivate:{target.user_id}", width="stretch"):
            services.users.deactivate(target.user_id, actor_id=actor)
            st.rerun()
    elif b2.button("Reactivate", key=f"data:activate:{target.user_id}", width="stretch"):
        services.users.activate(target.user_id, actor_id=actor)
        st.rerun()


# ------------------------------------------------------------------ audit log
def _audit_filters(services: Any, today: date) -> dict[str, Any]:
    f1, f2, f3, f4 = st.columns(4)
    actors = [ANY, "system", *sorted(u.user_id for u in services.users.list_users())]
    who = f1.selectbox("Actor", actors, key="data:audit_actor")
    action = f2.selectbox("Action", [ANY, *AUDIT_ACTIONS], key="data:audit_action")
    target_type = limited_text(
        "Target type",
        key="data:audit_target_type",
        limit=ID_CHARS,
        where=f3,
        placeholder="client, user, table…",
    )
    target_id = limited_text("Target id", key="data:audit_target_id", limit=ID_CHARS, where=f4)
    period = st.date_input(
        "Dates", value=(today - timedelta(days=30), today), key="data:audit_dates", max_value=today
    )
    dates = list(period) if isinstance(period, tuple | list) else [period]
    start, end = (dates[0], dates[-1]) if dates else (None, None)
    return {
        "actor": None if who == ANY else who,
        "action": None if action == ANY else action,
        "target_type": target_type.strip() or None,
        "target_id": target_id.strip() or None,
        "since": datetime.combine(start, time.min, tzinfo=UTC) if start else None,
        "until": datetime.combine(end, time.min, tzinfo=UTC) + timedelta(days=1) if end else None,
    }


def render_audit(services: Any, actor: str) -> None:
    """The audit log under filters (viewing it is audited once per filter set), and its export."""
    today = date.today()
    filters = _audit_filters(services, today)
    log = services.audit.frame(**filters, limit=1000)
    signature = json.dumps(filters, default=str, sort_keys=True)
    if st.session_state.get(AUDIT_SEEN_KEY) != signature:
        services.audit.append(actor, "view_audit", "audit_log", "", {"filters": signature[:900]})
        st.session_state[AUDIT_SEEN_KEY] = signature
    log = log.assign(details=log["details"].map(lambda d: json.dumps(d, ensure_ascii=False)))
    st.caption(f"{len(log):,} entries (newest first, at most 1,000).")
    st.dataframe(
        log,
        hide_index=True,
        key="data:audit_table",
        column_config={
            "id": st.column_config.NumberColumn("#", width=56),
            "at": st.column_config.DatetimeColumn("When (UTC)", format="D MMM YYYY HH:mm:ss"),
            "actor_id": "Actor",
            "action": "Action",
            "target_type": "Target type",
            "target_id": "Target id",
            "details": st.column_config.TextColumn("Details", width="large"),
        },
    )
    st.download_button(
        "Export these entries (CSV)",
        data=to_safe_csv(log),
        file_name=f"atelier_audit_{today:%Y%m%d}.csv",
        mime="text/csv",
        key="data:audit_csv",
        on_click=_audit_export,
        args=(services, actor, "audit_log", "", len(log)),
        disabled=log.empty,
    )
