"""Who may see and do what: one table of role permissions, one of page access.

Contact details (email, phone) are shown only to the client's own store and
to the associate assigned to the client; managers see aggregates and never
client PII; admins manage data and users but do not browse client contact
details on screen (they export through the audited CLI instead).

No Streamlit import: the dashboard, the CLI and the tests share these rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from core.data.schema import ROLES

#: Every permission a role holds. Declared once; everything else asks :func:`can`.
PERMISSIONS: Mapping[str, frozenset[str]] = {
    "associate": frozenset(
        {"view_clients", "view_contact_own", "curate", "share", "view_lists", "view_internal"}
    ),
    "stylist": frozenset(
        {"view_clients", "view_contact_own", "curate", "share", "view_lists", "view_internal"}
    ),
    "manager": frozenset({"view_aggregates", "view_model_health"}),
    "admin": frozenset(
        {
            "view_clients",
            "view_aggregates",
            "view_model_health",
            "manage_data",
            "manage_users",
            "view_audit",
            "view_internal",
        }
    ),
}

#: Which roles may open each dashboard page (keys of ``dashboard.state.PAGES``).
PAGE_ROLES: Mapping[str, tuple[str, ...]] = {
    "lookup": ("associate", "stylist", "admin"),
    "client": ("associate", "stylist", "admin"),
    "lists": ("associate", "stylist"),
    "trends": ("manager", "admin"),
    "model_health": ("manager", "admin"),
    "data_users": ("admin",),
    "account": ROLES,
}

HIDDEN = "hidden"
NOT_ON_FILE = "not on file"


class UserLike(Protocol):
    """What access checks need to know about a user (``UserRecord`` fits)."""

    user_id: str
    role: str
    store_id: str | None


def _check_role(role: str) -> str:
    if role not in PERMISSIONS:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    return role


def can(role: str, permission: str) -> bool:
    """Whether ``role`` holds ``permission`` (unknown roles raise ``ValueError``)."""
    return permission in PERMISSIONS[_check_role(role)]


def can_open_page(role: str | None, page: str) -> bool:
    """Whether ``role`` may open the page ``page`` (a key of :data:`PAGE_ROLES`).

    ``None`` (nobody signed in) and unknown roles may open nothing.

    Raises
    ------
    KeyError
        If ``page`` is not a known page key (a typo in a page script).
    """
    if page not in PAGE_ROLES:
        raise KeyError(f"unknown page {page!r}; known pages: {', '.join(PAGE_ROLES)}")
    return role is not None and role in PAGE_ROLES[page]


def _get(row: Any, key: str) -> Any:
    try:
        value = row[key]
    except (KeyError, IndexError, TypeError):
        return None
    if value is None:
        return None
    try:
        if value != value:  # NaN
            return None
    except (TypeError, ValueError):
        pass
    return value


def is_own_client(user: UserLike, client_row: Any) -> bool:
    """Whether ``client_row`` is assigned to ``user``."""
    assigned = _get(client_row, "assigned_associate_id")
    return assigned is not None and str(assigned) == str(user.user_id)


def is_own_store(user: UserLike, client_row: Any) -> bool:
    """Whether ``client_row``'s home store is ``user``'s store."""
    home = _get(client_row, "home_store_id")
    return user.store_id is not None and home is not None and str(home) == str(user.store_id)


def can_see_contact(user: UserLike | None, client_row: Any) -> bool:
    """Whether ``user`` may see ``client_row``'s email and phone.

    Only an associate or stylist of the client's home store, or the associate
    assigned to the client. Managers never; admins not on screen.
    """
    if user is None or not can(user.role, "view_contact_own"):
        return False
    return is_own_client(user, client_row) or is_own_store(user, client_row)


def mask_contact(value: Any, kind: str = "email") -> str:
    """A placeholder for a contact detail the viewer may not see.

    Reveals only whether something is on file, not a single character of it
    (a partial email or the last digits of a phone are still personal data).

    Parameters
    ----------
    value : str or None
        The real email or phone.
    kind : {"email", "phone"}
        Used in the wording only.
    """
    if kind not in ("email", "phone"):
        raise ValueError(f"kind must be 'email' or 'phone', got {kind!r}")
    text = "" if value is None else str(value).strip()
    if not text or text.lower() == "nan":
        return NOT_ON_FILE
    return f"{kind} on file ({HIDDEN})"


def contact_for(user: UserLike | None, client_row: Any) -> dict[str, str]:
    """``{"email": ..., "phone": ...}`` as ``user`` may see them (masked otherwise)."""
    allowed = can_see_contact(user, client_row)
    out: dict[str, str] = {}
    for kind in ("email", "phone"):
        value = _get(client_row, kind)
        text = "" if value is None else str(value).strip()
        if allowed:
            out[kind] = text or NOT_ON_FILE
        else:
            out[kind] = mask_contact(value, kind)
    return out
