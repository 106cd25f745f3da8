"""Sign-in behind a small interface, session expiry, and the role gate of every page.

:class:`PasswordAuthenticator` checks hashed passwords through
:class:`core.store.users.UserService` (failed-attempt limit, lockout) and signs
the user out after ``Settings.session_timeout_minutes`` without a run. Only the
user id and the time of the last run live in session state; the role and store
are re-read from the database on every run, so editing session state cannot
raise anyone's rights. docs/DASHBOARD.md says how to swap in
``st.login`` (OIDC).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, MutableMapping
from typing import Any, Protocol

import streamlit as st

from core.app.access import PAGE_ROLES, can_open_page
from core.exceptions import AuthenticationError, UnknownIdError
from dashboard import resources, state

Clock = Callable[[], float]


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
    """

    def __init__(
        self,
        users: Any,
        audit: Any,
        timeout_minutes: float,
        *,
        session: MutableMapping[str, Any] | None = None,
        clock: Clock = time.time,
    ) -> None:
        self.users = users
        self.audit = audit
        self.timeout_seconds = float(timeout_minutes) * 60.0
        self._session = session
        self._clock = clock

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
        return user

    def _end(self, notice: str | None, reason: str) -> None:
        user_id = self.session.get(state.USER_ID)
        if user_id:
            # An id the audit log refuses (not a valid id) was never a real user.
            with contextlib.suppress(ValueError):
                self.audit.append(str(user_id), "logout", "user", str(user_id), {"reason": reason})
        if self._session is None:
            state.reset_session()
        else:
            self.session.clear()
        self.session[state.AUTH_NOTICE] = notice

    def current_user(self) -> Any | None:
        user_id = self.session.get(state.USER_ID)
        if not user_id:
            return None
        now = self._clock()
        last = self.session.get(state.LAST_SEEN)
        if not isinstance(last, int | float) or now - float(last) > self.timeout_seconds:
            minutes = self.timeout_seconds / 60
            self._end(
                f"You were signed out after {minutes:g} minutes without activity. "
                "Sign in again to continue.",
                "inactivity",
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
        return user

    def sign_out(self) -> None:
        self._end("You are signed out.", "sign out")


def get_authenticator() -> PasswordAuthenticator:
    """The authenticator of this app (database passwords; see the contract for OIDC)."""
    settings = resources.get_settings()
    services = resources.get_services(settings)
    return PasswordAuthenticator(services.users, services.audit, settings.session_timeout_minutes)


def require_role(page_key: str) -> Any:
    """Stop the page unless the signed-in user's role may open ``page_key``; return the user.

    Call first thing in every page script: reaching a page by URL, by
    ``switch_page`` or after editing session state still goes through here.
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
    return user
