"""Session-state keys, the page registry and the Client page context.

Session state holds ids (signed-in user, selected client, draft list), never
big objects; :func:`init_state` sets every key the app relies on, once per
session, from the entrypoint. See docs/DASHBOARD.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from core.app.access import PAGE_ROLES
from core.data.dataset import Dataset
from core.settings import Settings
from core.store import Store

DASHBOARD_DIR = Path(__file__).resolve().parent

# ---------------------------------------------------------------- session keys
USER_ID = "auth_user_id"
LAST_SEEN = "auth_last_seen"
AUTH_NOTICE = "auth_notice"
SESSION_ID = "auth_session_id"  # the signed-in session the cookie's token names
SESSION_TOKEN = "auth_session_token"  # the token the browser keeps in its cookie
TOKEN_SIGNED = "auth_token_signed"  # epoch seconds the token was (re)signed
REQUESTED_PAGE = "auth_requested_page"  # the page URL a signed-out visitor opened
GO_HOME = "auth_go_home"  # after sign-in: the requested page is not for this role
SSO_SESSION = "auth_sso"  # signed in through the identity provider (st.login)
SSO_REFUSED = "auth_sso_refused"  # why the provider's sign-in was refused, to show
ACCOUNT_NOTICE = "acct_notice"  # a message for the Account page's next run
SELECTED_CLIENT = "selected_client_id"
VIEWED_CLIENT = "viewed_client_id"
DRAFT_LIST = "draft_list_id"
TRYON = "tryon_session"  # a try-on session: {"store_id", "pieces": [[product_id, kind]], ...}

DEFAULTS: dict[str, Any] = {
    USER_ID: None,
    LAST_SEEN: None,
    AUTH_NOTICE: None,
    SESSION_ID: None,
    SESSION_TOKEN: None,
    TOKEN_SIGNED: None,
    REQUESTED_PAGE: None,
    GO_HOME: False,
    SSO_SESSION: False,
    SSO_REFUSED: None,
    ACCOUNT_NOTICE: None,
    SELECTED_CLIENT: None,
    VIEWED_CLIENT: None,
    DRAFT_LIST: None,
    TRYON: None,
}


def init_state() -> None:
    """Give every session key its default if it is not set yet (called each run)."""
    for key, value in DEFAULTS.items():
        if key not in st.session_state:
            st.session_state[key] = value


def reset_session() -> None:
    """Forget everything about the signed-in user (sign-out, expiry)."""
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    init_state()


def selected_client_id() -> str | None:
    """The client open on the Client page, if any."""
    value = st.session_state.get(SELECTED_CLIENT)
    return None if value is None else str(value)


def open_client(client_id: str) -> None:
    """Select ``client_id`` for the Client page; its next render audits one view."""
    if st.session_state.get(SELECTED_CLIENT) != client_id:
        st.session_state[DRAFT_LIST] = None
    st.session_state[SELECTED_CLIENT] = client_id
    st.session_state[VIEWED_CLIENT] = None


# The Client page's tabs; only the open one runs (see client_tab_key).
CLIENT_TABS = ("Suggestions", "Taste & preferences", "Activity")


def client_tab_key(client_id: str) -> str:
    """The widget key of the Client page's tabs for ``client_id``: its open tab's label.

    One key per client, so opening another client starts on Suggestions. Set
    ``st.session_state[client_tab_key(id)] = "Activity"`` to open that tab.
    """
    return ":".join(["client", client_id, "tab"])


def mark_viewed(client_id: str) -> bool:
    """Record that this open of ``client_id`` was audited; ``True`` the first time only."""
    if st.session_state.get(VIEWED_CLIENT) == client_id:
        return False
    st.session_state[VIEWED_CLIENT] = client_id
    return True


# ---------------------------------------------------------------- page registry
@dataclass(frozen=True)
class PageSpec:
    """One page of the app: ``path`` is relative to ``dashboard/``."""

    key: str
    path: str
    title: str
    icon: str
    roles: tuple[str, ...]

    @property
    def file(self) -> Path:
        return DASHBOARD_DIR / self.path


def _page(key: str, path: str, title: str, icon: str) -> PageSpec:
    return PageSpec(key, path, title, icon, tuple(PAGE_ROLES[key]))


#: Every page, in menu order; roles come from :data:`core.app.access.PAGE_ROLES`.
PAGES: tuple[PageSpec, ...] = (
    _page("lookup", "app_pages/lookup.py", "Client lookup", ":material/search:"),
    _page("client", "app_pages/client.py", "Client", ":material/person:"),
    _page("tryon", "app_pages/tryon.py", "Try-on session", ":material/checkroom:"),
    _page("lists", "app_pages/lists.py", "Lists", ":material/list_alt:"),
    _page("trends", "app_pages/trends.py", "Trends", ":material/trending_up:"),
    _page("model_health", "app_pages/model_health.py", "Model health", ":material/monitoring:"),
    _page("data_users", "app_pages/data_users.py", "Data & users", ":material/database:"),
    _page("account", "app_pages/account.py", "Account", ":material/account_circle:"),
)
SIGNIN_PATH = "app_pages/signin.py"


def page_spec(key: str) -> PageSpec:
    """The registered page ``key`` (``KeyError`` for a typo)."""
    for spec in PAGES:
        if spec.key == key:
            return spec
    raise KeyError(f"unknown page {key!r}; known pages: {', '.join(p.key for p in PAGES)}")


def page_path(key: str) -> str:
    """The page's path for ``st.switch_page`` / ``st.page_link``."""
    return page_spec(key).path


def pages_for(role: str | None) -> list[PageSpec]:
    """The pages ``role`` may open, in menu order."""
    if role is None:
        return []
    return [p for p in PAGES if role in p.roles]


# ---------------------------------------------------------------- client page context
@dataclass(frozen=True)
class ClientPageContext:
    """Everything a section of the Client page needs; rebuilt each run, cheap.

    Attributes
    ----------
    client_id : str
    client : Series
        The client's row of ``dataset.clients`` (read-only).
    user : UserRecord
        The signed-in user.
    dataset : Dataset
        Shared, cached: do not mutate.
    model : HybridRecommender
        Fitted, shared, cached: do not mutate.
    services : core.store.Store
        ``users``, ``lists``, ``shares``, ``consent``, ``clients``, ``audit`` services.
    settings : Settings
    can_see_contact : bool
        Whether ``user`` may see the client's email and phone.
    personalised : bool
        The client's ``consent_personalization``; ``False`` -> generic suggestions and a banner.
    recently_contacted : datetime or None
        When the client was last contacted, if within ``settings.contact_cooldown_days``.
    as_of : Timestamp
        The data's own "now" (latest event).
    """

    client_id: str
    client: pd.Series
    user: Any
    dataset: Dataset
    model: Any
    services: Store
    settings: Settings
    can_see_contact: bool
    personalised: bool
    recently_contacted: datetime | None
    as_of: pd.Timestamp

    def key(self, *parts: object) -> str:
        """A widget key unique to this client: ``client:<id>:<parts...>``."""
        return ":".join(["client", self.client_id, *(str(p) for p in parts)])
