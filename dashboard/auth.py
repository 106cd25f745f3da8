"""Sign-in behind a small interface, session expiry, and the role gate of every page.

:class:`PasswordAuthenticator` checks hashed passwords through
:class:`core.store.users.UserService` (failed-attempt limit, lockout) and signs
the user out after ``Settings.session_timeout_minutes`` without a run. Only the
user id, the time of the last run and the session's token live in session
state; the role and store are re-read from the database on every run, so
editing session state cannot raise anyone's rights.

A house with single sign-on configures ``st.login`` (OIDC) in the secrets
(``[auth]`` for Streamlit, ``[sso]`` for how claims map to users:
:mod:`core.app.sso`): a session the provider vouched for signs in from its
claims, creating or updating the user in the database; signing out also signs
out of the provider's cookie.

A reload keeps the user signed in: the browser keeps a signed, expiring token
in a cookie (:mod:`dashboard.session_cookie`), and a new session signs back in
from it. Signing out, or being signed out, revokes the token.

Until a user has replaced a generated password (``must_change_password``),
:func:`require_role` stops every page but the Account page, and the entrypoint
sends them there.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import streamlit as st

from core.app.access import PAGE_ROLES, can_open_page
from core.app.sso import SsoConfig, map_claims
from core.exceptions import AuthenticationError, ConfigError, UnknownIdError
from core.store import StoreFullError
from dashboard import resources, session_cookie, state
from dashboard.session_cookie import COOKIE_NAME, CookieJar, SessionTokens

Clock = Callable[[], float]

PASSWORD_PAGE = "account"
"""Where a user with a generated password must go first (to choose their own)."""
REFRESH_SECONDS = 60.0
"""Re-sign the cookie's token at most this often while the user is active."""


#: Added to the sign-out notice when the database was too full to record it.
UNRECORDED_SIGN_OUT = (
    "The database is full, so this sign-out is not in the audit log; tell your administrator."
)


class Authenticator(Protocol):
    """How the dashboard signs users in and knows who is signed in."""

    def sign_in(self, user_id: str, password: str) -> Any:
        """Check credentials, remember the user in this session, return their record.

        Raises :class:`~core.exceptions.AuthenticationError` with a message to show.
        """
        ...

    def current_user(self) -> Any | None:
        """The signed-in user's record, or ``None`` (signed out or expired)."""
        ...

    def sign_out(self) -> None:
        """Forget the user in this session."""
        ...

    def sync_cookie(self) -> None:
        """Keep the browser's sign-in cookie in step with the session (once per run)."""
        ...


class PasswordAuthenticator:
    """User id + password against the database, with inactivity expiry.

    Parameters
    ----------
    users : UserService
    audit : AuditLog
    timeout_minutes : float
        Sign out after this long without a run.
    session : mutable mapping, optional
        Where the user id and last-run time live (default ``st.session_state``).
    clock : callable, optional
        Seconds since the epoch (default :func:`time.time`).
    tokens : SessionTokens, optional
        Signs the token kept in the browser's cookie; without it (and
        ``cookies``) a reload signs the user out.
    cookies : CookieJar, optional
        The browser's cookies (:class:`dashboard.session_cookie.BrowserCookies`).
    sso : SingleSignOn, optional
        The house's identity provider (``st.login``): a session without a user
        signs in from the provider's claims when it has them.
    """

    def __init__(
        self,
        users: Any,
        audit: Any,
        timeout_minutes: float,
        *,
        session: MutableMapping[str, Any] | None = None,
        clock: Clock = time.time,
        tokens: SessionTokens | None = None,
        cookies: CookieJar | None = None,
        sso: SingleSignOn | None = None,
    ) -> None:
        self.users = users
        self.audit = audit
        self.timeout_seconds = float(timeout_minutes) * 60.0
        self._session = session
        self._clock = clock
        self.tokens = tokens
        self.cookies = cookies
        self.sso = sso

    @property
    def session(self) -> MutableMapping[str, Any]:
        return self._session if self._session is not None else st.session_state

    def sign_in(self, user_id: str, password: str) -> Any:
        user_id = (user_id or "").strip()
        if not user_id or not password:
            raise AuthenticationError("Enter your user id and password.")
        user = self.users.authenticate(user_id, password)
        self.session[state.USER_ID] = user.user_id
        self.session[state.LAST_SEEN] = self._clock()
        self.session[state.AUTH_NOTICE] = None
        self._remember(user.user_id, None)
        return user

    # -- the cookie's token ----------------------------------------------------------
    def _remember(self, user_id: str, session_id: str | None) -> None:
        """Sign a token for the cookie: a new session, or ``session_id`` renewed."""
        if self.tokens is None:
            return
        try:
            token, session_id = self.tokens.issue(user_id, session_id)
        except OSError:  # a read-only data folder: the sign-in holds until a reload
            return
        self.session[state.SESSION_ID] = session_id
        self.session[state.SESSION_TOKEN] = token
        self.session[state.TOKEN_SIGNED] = self._clock()

    def _restore(self) -> str | None:
        """After a reload: sign back in from the cookie's token; the user id, or ``None``."""
        if self.tokens is None or self.cookies is None:
            return None
        token = self.cookies.get(COOKIE_NAME)
        found = self.tokens.verify(token)
        if found == "expired":
            self.session[state.AUTH_NOTICE] = self._inactivity_notice()
        if isinstance(found, str):
            return None
        self.session[state.USER_ID] = found.user_id
        self.session[state.LAST_SEEN] = self._clock()
        self.session[state.SESSION_ID] = found.session_id
        self.session[state.SESSION_TOKEN] = token
        self.session[state.TOKEN_SIGNED] = found.signed_at
        return found.user_id

    def sync_cookie(self) -> None:
        """Write the session's token into the browser's cookie, or delete a stale one.

        Call once per run, from the entrypoint. Writing the same token again
        does nothing in the browser (the script is unchanged).
        """
        if self.cookies is None:
            return
        token = self.session.get(state.SESSION_TOKEN)
        if self.session.get(state.USER_ID) and token:
            self.cookies.set(COOKIE_NAME, str(token), int(self.timeout_seconds))
        elif self.cookies.get(COOKIE_NAME):
            # Sent when this session connected; it is already revoked, but the browser
            # should not keep it either.
            self.cookies.delete(COOKIE_NAME)

    # -- session lifecycle -----------------------------------------------------------
    def _inactivity_notice(self) -> str:
        return (
            f"You were signed out after {self.timeout_seconds / 60:g} minutes without "
            "activity. Sign in again to continue."
        )

    def _end(self, notice: str | None, reason: str, *, audit: bool = True) -> None:
        user_id = self.session.get(state.USER_ID)
        session_id = self.session.get(state.SESSION_ID)
        if self.session.get(state.SSO_SESSION) and self.sso is not None:
            self.sso.logout()  # or the provider's cookie would sign them straight back in
        if session_id and self.tokens is not None:
            self.tokens.revoke(str(session_id))  # the cookie's token is worthless from now
        if user_id and audit:
            try:
                self.audit.append(str(user_id), "logout", "user", str(user_id), {"reason": reason})
            except ValueError:
                pass  # an id the audit log refuses (not a valid id) was never a real user
            except StoreFullError:
                # Signing out never waits for room in the database: it is done, and said.
                notice = f"{notice or 'You are signed out.'} {UNRECORDED_SIGN_OUT}"
        if self._session is None:
            state.reset_session()
        else:
            self.session.clear()
        self.session[state.AUTH_NOTICE] = notice

    def _sso_sign_in(self) -> str | None:
        """Sign in from the identity provider's claims, if it has vouched for someone."""
        sso = self.sso
        claims = sso.claims() if sso is not None else None
        if sso is None or not claims:
            return None
        try:
            who = map_claims(claims, sso.config, known_stores=sso.known_stores())
            user = self.users.sign_in_external(
                who.user_id,
                who.name,
                who.role,
                who.store_id,
                via=sso.config.provider or "sso",
                set_store=who.store_from_claim,
            )
        except (AuthenticationError, ValueError) as err:
            self.session[state.SSO_REFUSED] = str(err)
            return None
        self.session[state.USER_ID] = user.user_id
        self.session[state.LAST_SEEN] = self._clock()
        self.session[state.SSO_SESSION] = True
        self.session[state.SSO_REFUSED] = None
        self.session[state.AUTH_NOTICE] = None
        return str(user.user_id)

    def current_user(self) -> Any | None:
        user_id = self.session.get(state.USER_ID) or self._restore() or self._sso_sign_in()
        if not user_id:
            return None
        now = self._clock()
        last = self.session.get(state.LAST_SEEN)
        if not isinstance(last, int | float) or now - float(last) > self.timeout_seconds:
            self._end(self._inactivity_notice(), "inactivity")
            return None
        session_id = self.session.get(state.SESSION_ID)
        tokens = self.tokens
        if session_id and tokens is not None and tokens.active_user(str(session_id)) != user_id:
            # Signed out in another tab of the same browser: that sign-out was audited.
            self._end(
                "You were signed out (in another tab or window). Sign in again to continue.",
                "revoked",
                audit=False,
            )
            return None
        try:
            user = self.users.get_user(str(user_id))
        except UnknownIdError:
            self._end("Your account no longer exists. Ask an administrator.", "unknown user")
            return None
        if not user.active:
            self._end(
                "Your account was deactivated; ask an administrator to reactivate it.",
                "deactivated",
            )
            return None
        self.session[state.LAST_SEEN] = now
        signed = self.session.get(state.TOKEN_SIGNED)
        if session_id and (not isinstance(signed, int | float) or now - signed > self._refresh):
            self._remember(str(user_id), str(session_id))  # the timeout counts from now
        return user

    @property
    def _refresh(self) -> float:
        return min(REFRESH_SECONDS, self.timeout_seconds / 4)

    def sign_out(self) -> None:
        self._end("You are signed out.", "sign out")


@dataclass(frozen=True)
class SingleSignOn:
    """The identity provider as the authenticator sees it (``st.user``, ``st.logout``).

    Attributes
    ----------
    config : SsoConfig
        The ``[sso]`` section: how claims map to a user.
    claims : callable
        The provider's claims for this session, or ``None`` when it vouched for nobody.
    logout : callable
        Forget the provider's sign-in in this browser.
    known_stores : callable
        Store ids of the data (a store claim must name one).
    """

    config: SsoConfig
    claims: Callable[[], Mapping[str, Any] | None]
    logout: Callable[[], None]
    known_stores: Callable[[], Collection[str]]


def _streamlit_claims() -> Mapping[str, Any] | None:
    return st.user.to_dict() if st.user.is_logged_in else None


def sso_config() -> SsoConfig | None:
    """The ``[sso]`` section of the secrets, when single sign-on is configured.

    It needs Streamlit's ``[auth]`` section beside it. ``None`` without ``[sso]``.

    Raises
    ------
    ConfigError
        ``[sso]`` is invalid, or there is no ``[auth]`` section for ``st.login``.
    """
    if not st.secrets.load_if_toml_exists() or "sso" not in st.secrets:
        return None
    config = SsoConfig.from_mapping(st.secrets["sso"])
    auth_section = st.secrets.get("auth")
    if not isinstance(auth_section, Mapping) or (
        config.provider is not None and config.provider not in auth_section
    ):
        where = f"[auth.{config.provider}]" if config.provider else "[auth]"
        raise ConfigError(
            f"[sso] is set but {where} is missing from .streamlit/secrets.toml: st.login needs "
            "redirect_uri, cookie_secret and the provider's client_id, client_secret and "
            "server_metadata_url (see the README, Single sign-on)"
        )
    return config


def get_authenticator() -> PasswordAuthenticator:
    """The authenticator of this app (database passwords; see the contract for OIDC).

    The cookie's tokens are signed with ``session_secret`` from Streamlit
    secrets, else with a key generated once into the data folder.
    """
    settings = resources.get_settings()
    services = resources.get_services(settings)
    data_dir = Path(settings.data_dir)
    timeout_minutes = settings.session_timeout_minutes
    tokens = None
    try:
        key = session_cookie.signing_key(data_dir, session_cookie.secret_from(st.secrets))
        tokens = SessionTokens(key, data_dir / session_cookie.SESSIONS_DIR, timeout_minutes * 60)
    except OSError:  # no key and a read-only data folder: sign-ins last one session
        tokens = None
    config = sso_config()
    sso = None
    if config is not None:
        sso = SingleSignOn(
            config,
            _streamlit_claims,
            st.logout,
            lambda: resources.store_names(resources.get_dataset(settings)),
        )
    return PasswordAuthenticator(
        services.users,
        services.audit,
        timeout_minutes,
        tokens=tokens,
        cookies=session_cookie.BrowserCookies(),
        sso=sso,
    )


def must_change_password(user: Any) -> bool:
    """Whether ``user`` still has a generated password (and may open only the Account page)."""
    return bool(getattr(user, "must_change_password", False))


def require_role(page_key: str) -> Any:
    """Stop the page unless the signed-in user's role may open ``page_key``; return the user.

    Call first thing in every page script: reaching a page by URL, by
    ``switch_page`` or after editing session state still goes through here.
    A user who must still change a generated password may open only the
    Account page.
    """
    if page_key not in PAGE_ROLES:
        raise KeyError(f"unknown page {page_key!r}")
    user = get_authenticator().current_user()
    if user is None:
        notice = st.session_state.get(state.AUTH_NOTICE)
        st.warning(notice or "Please sign in to use Atelier.")
        st.stop()
    if not can_open_page(user.role, page_key):
        title = state.page_spec(page_key).title
        st.error(
            f"{title} is not available for your role ({user.role}). "
            "Use the menu to open a page you have access to."
        )
        st.stop()
    if must_change_password(user) and page_key != PASSWORD_PAGE:
        # The entrypoint redirects; a page reached any other way stops here.
        st.warning(
            "You are using a generated password: choose your own on the Account page "
            "before you continue."
        )
        st.stop()
    return user
