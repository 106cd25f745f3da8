"""Who may see and do what: the one access policy of Atelier, declared once.

Three tables, and functions that read them; everything else asks these
functions (pages, :class:`~core.app.curation.CurationService`, the client
search), so a rule changes here and nowhere else:

- :data:`POLICY`: role x action -> the scopes where the action is allowed. A
  *scope* is how a client or a list relates to the acting user
  (:data:`SCOPES`): a list they wrote, a client assigned to them, a client of
  their store, or a client of another store.
- :data:`PAGE_ROLES`: which roles may open each dashboard page, and
  :data:`PAGE_ACTIONS`: which actions each page offers.
- :data:`PERMISSIONS`: what each role holds regardless of scope (internal
  signals, aggregates, data and user management), plus every action it holds
  in some scope.

The rule (README, "Who may see and do what"):

- associates and stylists open any client (a client travels; every view is
  audited) but see and search contact details only of their own store's
  clients and the clients assigned to them;
- a list belongs to its author; colleagues of the client's home store and the
  client's assigned associate may view, edit, share and duplicate it too;
  other stores see nothing of it, not even the client's name;
- managers see aggregates only: no client, no contact, no list;
- admins open clients and view any list read-only (support), never see or
  search contact details, and neither edit, share nor record consent.

No Streamlit import: the dashboard, the CLI and the tests share these rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

from core.data.schema import ROLES
from core.exceptions import AccessDeniedError

#: How a client or a list relates to the acting user. A list takes the first that
#: holds: the user wrote it, else its client's scope.
SCOPES: Mapping[str, str] = MappingProxyType(
    {
        "own_list": "a list the user wrote",
        "own_client": "a client assigned to the user, or a list for one",
        "own_store": "a client of the user's store, or a list for one",
        "other_store": "a client of another store not assigned to the user, or a list for one",
    }
)
CLIENT_SCOPES: tuple[str, ...] = ("own_client", "own_store", "other_store")
LIST_SCOPES: tuple[str, ...] = ("own_list", *CLIENT_SCOPES)

#: A client's record as the policy reads it: a row of the clients table, or a
#: mapping of it (``None`` where accepted: a client no longer in the data).
ClientRow: TypeAlias = "pd.Series | Mapping[str, object]"


@dataclass(frozen=True)
class Action:
    """One thing a user does to a client or a list.

    Attributes
    ----------
    target : {"client", "list"}
        What the action is done to (decides which scopes apply).
    label : str
        The words after "You may not" in a refusal.
    """

    target: str
    label: str


#: Every action the policy rules on.
ACTIONS: Mapping[str, Action] = MappingProxyType(
    {
        "open_client": Action("client", "open this client"),
        "see_contact": Action("client", "see this client's email and phone"),
        "search_contact": Action("client", "find this client by email or phone"),
        "record_consent": Action("client", "record this client's consent"),
        "create_list": Action("client", "start a list for this client"),
        "view_list": Action("list", "open this list"),
        "edit_list": Action("list", "change this list"),
        "share_list": Action("list", "share this list with the client"),
        "duplicate_list": Action("list", "copy this list"),
    }
)

_ANY_CLIENT = frozenset(CLIENT_SCOPES)
_STORE_CLIENTS = frozenset({"own_client", "own_store"})
_STORE_LISTS = frozenset({"own_list", "own_client", "own_store"})
_CURATOR: Mapping[str, frozenset[str]] = {
    "open_client": _ANY_CLIENT,
    "see_contact": _STORE_CLIENTS,
    # Only where the contact may be seen: otherwise a phone number typed into the
    # search would name its owner.
    "search_contact": _STORE_CLIENTS,
    "record_consent": _ANY_CLIENT,
    "create_list": _ANY_CLIENT,
    "view_list": _STORE_LISTS,
    "edit_list": _STORE_LISTS,
    "share_list": _STORE_LISTS,
    "duplicate_list": _STORE_LISTS,
}
_DECLARED: Mapping[str, Mapping[str, frozenset[str]]] = {
    "associate": _CURATOR,
    "stylist": _CURATOR,
    "manager": {},
    "admin": {"open_client": _ANY_CLIENT, "view_list": frozenset(LIST_SCOPES)},
}

#: role -> action -> the scopes where the action is allowed (every action listed).
POLICY: Mapping[str, Mapping[str, frozenset[str]]] = MappingProxyType(
    {
        role: MappingProxyType({a: _DECLARED[role].get(a, frozenset()) for a in ACTIONS})
        for role in ROLES
    }
)

#: What each role holds regardless of scope.
_ROLE_WIDE: Mapping[str, frozenset[str]] = {
    "associate": frozenset({"view_internal"}),
    "stylist": frozenset({"view_internal"}),
    "manager": frozenset({"view_aggregates", "view_model_health"}),
    "admin": frozenset(
        {
            "view_aggregates",
            "view_model_health",
            "manage_data",
            "manage_users",
            "view_audit",
            "view_internal",
        }
    ),
}

#: Every permission a role holds: its role-wide ones and each action it holds in some scope.
PERMISSIONS: Mapping[str, frozenset[str]] = MappingProxyType(
    {role: _ROLE_WIDE[role] | {a for a, scopes in POLICY[role].items() if scopes} for role in ROLES}
)

#: Which roles may open each dashboard page (keys of ``dashboard.state.PAGES``).
PAGE_ROLES: Mapping[str, tuple[str, ...]] = {
    "lookup": ("associate", "stylist", "admin"),
    "client": ("associate", "stylist", "admin"),
    # A try-on session reads no client: for the shop floor, not for support.
    "tryon": ("associate", "stylist"),
    "lists": ("associate", "stylist"),
    "trends": ("manager", "admin"),
    "model_health": ("manager", "admin"),
    "data_users": ("admin",),
    "account": ROLES,
}

#: The actions on clients and lists each page offers (the others show no client data).
PAGE_ACTIONS: Mapping[str, tuple[str, ...]] = {
    "lookup": ("open_client", "search_contact"),
    "client": (
        "open_client",
        "see_contact",
        "record_consent",
        "create_list",
        "view_list",
        "edit_list",
        "share_list",
    ),
    "tryon": (),
    # The duplicate panel searches for the client to copy a list for.
    "lists": ("view_list", "edit_list", "duplicate_list", "search_contact"),
    "trends": (),
    "model_health": (),
    "data_users": (),
    "account": (),
}

HIDDEN = "hidden"
NOT_ON_FILE = "not on file"


class UserLike(Protocol):
    """What access checks need to know about a user (``UserRecord`` fits)."""

    @property
    def user_id(self) -> str: ...

    @property
    def role(self) -> str: ...

    @property
    def store_id(self) -> str | None: ...


def _check_role(role: str) -> str:
    if role not in PERMISSIONS:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    return role


def can(role: str, permission: str) -> bool:
    """Whether ``role`` holds ``permission`` (an action: in some scope; unknown roles raise)."""
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


def allows(role: str | None, action: str, scope: str) -> bool:
    """Whether :data:`POLICY` lets ``role`` do ``action`` in ``scope``.

    ``None`` and unknown roles may do nothing.

    Raises
    ------
    KeyError
        For an unknown action (a typo in the caller).
    ValueError
        For a scope the action does not have (a client action has no ``"own_list"``).
    """
    if action not in ACTIONS:
        raise KeyError(f"unknown action {action!r}; known actions: {', '.join(ACTIONS)}")
    scopes = LIST_SCOPES if ACTIONS[action].target == "list" else CLIENT_SCOPES
    if scope not in scopes:
        raise ValueError(f"{action} has the scopes {', '.join(scopes)}; got {scope!r}")
    return role is not None and role in POLICY and scope in POLICY[role][action]


def _missing(value: Any) -> bool:
    """None, NaN, NaT or pd.NA (an id column read with gaps)."""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # not a scalar
        return False


def as_id_text(values: npt.ArrayLike) -> np.ndarray:
    """Ids as a unicode array, missing ones as ``""`` (which matches no user or store)."""
    array = np.asarray(values)
    if array.dtype.kind == "U":
        return array
    series = pd.Series(array, dtype=object)
    return series.where(series.notna(), "").astype(str).to_numpy(dtype=str)


def _get(row: ClientRow | None, key: str) -> object:
    if row is None:
        return None
    try:
        value = row[key]
    except (KeyError, IndexError, TypeError):
        return None
    return None if _missing(value) else value


def is_own_client(user: UserLike, client_row: ClientRow | None) -> bool:
    """Whether ``client_row`` is assigned to ``user``."""
    assigned = _get(client_row, "assigned_associate_id")
    return assigned is not None and str(assigned) == str(user.user_id)


def is_own_store(user: UserLike, client_row: ClientRow | None) -> bool:
    """Whether ``client_row``'s home store is ``user``'s store."""
    home = _get(client_row, "home_store_id")
    return bool(user.store_id) and home is not None and str(home) == str(user.store_id)


def client_scope(user: UserLike, client_row: ClientRow | None) -> str:
    """How a client relates to ``user``: ``"own_client"``, ``"own_store"`` or ``"other_store"``.

    ``client_row`` may be ``None`` (a client no longer in the data): ``"other_store"``.
    """
    if client_row is None:
        return "other_store"
    if is_own_client(user, client_row):
        return "own_client"
    if is_own_store(user, client_row):
        return "own_store"
    return "other_store"


def list_scope(user: UserLike, author_id: str, client_row: ClientRow | None) -> str:
    """How a list relates to ``user``: ``"own_list"`` if they wrote it, else its client's scope."""
    if str(author_id) == str(user.user_id):
        return "own_list"
    return client_scope(user, client_row)


def scope_of(
    user: UserLike, action: str, client_row: ClientRow | None, author_id: str | None = None
) -> str:
    """The scope ``action`` is judged in: a list's (``author_id`` given) or its client's."""
    if action not in ACTIONS:
        raise KeyError(f"unknown action {action!r}; known actions: {', '.join(ACTIONS)}")
    if ACTIONS[action].target == "list":
        if author_id is None:
            raise ValueError(f"{action} is about a list: pass the list's author_id")
        return list_scope(user, author_id, client_row)
    return client_scope(user, client_row)


def may(
    user: UserLike | None,
    action: str,
    client_row: ClientRow | None,
    *,
    author_id: str | None = None,
) -> bool:
    """Whether ``user`` may do ``action`` to this client (or to its list by ``author_id``)."""
    if user is None:
        return False
    return allows(user.role, action, scope_of(user, action, client_row, author_id))


def refusal(role: str, action: str, scope: str) -> str:
    """The sentence shown when ``role`` may not do ``action`` in ``scope`` (names no data)."""
    what = ACTIONS[action].label
    rules = POLICY.get(role, {})
    held = rules.get(action, frozenset())
    if not any(rules.values()):
        why = f"the {role} role sees aggregates only, never a client or a list"
    elif not held:
        allowed = [ACTIONS[a].label for a, scopes in rules.items() if scopes]
        listed = " and ".join(
            [", ".join(allowed[:-1]), allowed[-1]] if len(allowed) > 1 else allowed
        )
        why = f"the {role} role may only {listed}"
    elif scope == "other_store":
        why = (
            "it belongs to a client of another store who is not assigned to you; lists and "
            "contact details stay with the client's home store, their associate and the "
            "list's author"
        )
    else:
        why = f"only for {'; '.join(SCOPES[s] for s in LIST_SCOPES if s in held)}"
    return f"You may not {what}: {why}."


def require(
    user: UserLike | None,
    action: str,
    client_row: ClientRow | None,
    *,
    author_id: str | None = None,
) -> str:
    """Return the scope ``user`` does ``action`` in, or refuse.

    Raises
    ------
    AccessDeniedError
        The policy does not allow it (the message names no client or list data).
    """
    if user is None:
        raise AccessDeniedError(
            "Sign in first: nobody is signed in.", role="", action=action, scope=""
        )
    scope = scope_of(user, action, client_row, author_id)
    if not allows(user.role, action, scope):
        raise AccessDeniedError(
            refusal(user.role, action, scope), role=user.role, action=action, scope=scope
        )
    return scope


def client_scopes(user: UserLike, home_stores: np.ndarray, assigned: np.ndarray) -> np.ndarray:
    """:func:`client_scope` of many clients at once (object array of scope names).

    Parameters
    ----------
    home_stores, assigned : ndarray, shape (n_clients,)
        Each client's ``home_store_id`` and ``assigned_associate_id`` (missing: None/NaN,
        or ``""`` in a unicode array from :func:`as_id_text`, the fast path).
    """
    own = as_id_text(assigned) == str(user.user_id)
    if user.store_id:
        same = as_id_text(home_stores) == str(user.store_id)
    else:
        same = np.zeros(len(own), dtype=bool)
    return np.where(own, "own_client", np.where(same, "own_store", "other_store")).astype(object)


def allowed_mask(
    user: UserLike | None, action: str, home_stores: np.ndarray, assigned: np.ndarray
) -> np.ndarray:
    """Where ``user`` may do client ``action`` (bool array), e.g. match contact data in a search."""
    if user is None:
        return np.zeros(len(home_stores), dtype=bool)
    scopes = client_scopes(user, home_stores, assigned)
    wanted = [s for s in CLIENT_SCOPES if allows(user.role, action, s)]
    return np.isin(scopes.astype(str), wanted)


def can_see_contact(user: UserLike | None, client_row: ClientRow | None) -> bool:
    """Whether ``user`` may see ``client_row``'s email and phone (:data:`POLICY`, ``see_contact``).

    Only an associate or stylist of the client's home store, or the associate
    assigned to the client. Managers never; admins not on screen.
    """
    return may(user, "see_contact", client_row)


def mask_contact(value: object, kind: str = "email") -> str:
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


def contact_for(user: UserLike | None, client_row: ClientRow | None) -> dict[str, str]:
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
