"""The authenticator's sign-in that survives a reload, with fakes for users, audit and cookies."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from core.exceptions import AuthenticationError, UnknownIdError
from dashboard import state
from dashboard.auth import PasswordAuthenticator, must_change_password
from dashboard.session_cookie import COOKIE_NAME, SessionTokens

pytestmark = pytest.mark.security

TIMEOUT_MINUTES = 30


@dataclass
class User:
    user_id: str
    role: str = "associate"
    active: bool = True
    must_change_password: bool = False


class Users:
    def __init__(self) -> None:
        self.users = {"u1": User("u1"), "u2": User("u2", "manager")}

    def authenticate(self, user_id: str, password: str) -> User:
        if user_id not in self.users or password != "right-password":
            raise AuthenticationError("Wrong user id or password.")
        return self.users[user_id]

    def get_user(self, user_id: str) -> User:
        if user_id not in self.users:
            raise UnknownIdError(user_id)
        return self.users[user_id]


class Audit:
    def __init__(self) -> None:
        self.entries: list[tuple[Any, ...]] = []

    def append(self, *entry: Any) -> None:
        self.entries.append(entry)


class Jar:
    """A browser: what it sent at connection (``sent``) and what the app wrote since."""

    def __init__(self, sent: dict[str, str] | None = None) -> None:
        self.sent = dict(sent or {})
        self.kept = dict(self.sent)
        self.writes: list[tuple[str, str | None, int]] = []

    def get(self, name: str) -> str | None:
        return self.sent.get(name)

    def set(self, name: str, value: str, max_age_seconds: int) -> None:
        self.kept[name] = value
        self.writes.append((name, value, max_age_seconds))

    def delete(self, name: str) -> None:
        self.kept.pop(name, None)
        self.writes.append((name, None, 0))

    def reload(self) -> Jar:
        """The browser reloads the page: a new session, sent what the browser keeps."""
        return Jar(self.kept)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Any]:
    clock = Clock()
    return {
        "users": Users(),
        "audit": Audit(),
        "clock": clock,
        "tokens": SessionTokens(
            "k" * 64, tmp_path / ".sessions", TIMEOUT_MINUTES * 60, clock=clock
        ),
    }


def authenticator(world: dict[str, Any], jar: Jar, session: dict[str, Any] | None = None):
    return PasswordAuthenticator(
        world["users"], world["audit"], TIMEOUT_MINUTES,
        session={} if session is None else session, clock=world["clock"],
        tokens=world["tokens"], cookies=jar,
    )  # fmt: skip


def signed_in(world: dict[str, Any]) -> tuple[PasswordAuthenticator, Jar]:
    jar = Jar()
    auth = authenticator(world, jar)
    auth.sign_in("u1", "right-password")
    auth.sync_cookie()
    return auth, jar


def test_a_reload_keeps_the_user_signed_in(world: dict[str, Any]) -> None:
    auth, jar = signed_in(world)
    name, token, max_age = jar.writes[-1]
    assert name == COOKIE_NAME and token and max_age == TIMEOUT_MINUTES * 60
    assert "right-password" not in str(token)
    world["clock"].now += 600
    again = authenticator(world, jar.reload())  # a new session: empty session state
    user = again.current_user()
    assert user is not None and user.user_id == "u1"
    assert again.session[state.USER_ID] == "u1"
    assert again.session[state.SESSION_ID] == auth.session[state.SESSION_ID]


def test_no_cookie_no_sign_in(world: dict[str, Any]) -> None:
    fresh = authenticator(world, Jar())
    assert fresh.current_user() is None
    fresh.sync_cookie()
    assert fresh.cookies.writes == []  # type: ignore[union-attr]


def test_signing_out_revokes_the_cookie(world: dict[str, Any]) -> None:
    auth, jar = signed_in(world)
    copied = jar.kept[COOKIE_NAME]
    auth.sign_out()
    assert world["audit"].entries[-1][1] == "logout"
    # The session that signed out still holds the cookie it connected with: it is refused.
    stale = authenticator(world, Jar({COOKIE_NAME: copied}))
    assert stale.current_user() is None
    stale.sync_cookie()
    assert stale.cookies.writes == [(COOKIE_NAME, None, 0)]  # type: ignore[union-attr]
    assert stale.session.get(state.AUTH_NOTICE) is None  # no "expired" message: signed out


def test_a_copied_cookie_is_worthless_after_sign_out_in_another_tab(world: dict[str, Any]) -> None:
    auth, jar = signed_in(world)
    other_tab = authenticator(world, jar.reload())
    assert other_tab.current_user() is not None
    auth.sign_out()
    assert other_tab.current_user() is None
    assert "another tab" in str(other_tab.session[state.AUTH_NOTICE])


def test_an_idle_cookie_expires(world: dict[str, Any]) -> None:
    _, jar = signed_in(world)
    world["clock"].now += TIMEOUT_MINUTES * 60 + 1
    later = authenticator(world, jar.reload())
    assert later.current_user() is None
    assert "signed out after 30 minutes without activity" in later.session[state.AUTH_NOTICE]


def test_activity_renews_the_cookie(world: dict[str, Any]) -> None:
    auth, jar = signed_in(world)
    first = jar.kept[COOKIE_NAME]
    for _ in range(4):  # 40 minutes of activity, a run every 10 minutes
        world["clock"].now += 600
        assert auth.current_user() is not None
        auth.sync_cookie()
    assert jar.kept[COOKIE_NAME] != first
    world["clock"].now += 600
    assert authenticator(world, jar.reload()).current_user() is not None
    assert authenticator(world, Jar({COOKIE_NAME: first})).current_user() is None


def test_a_forged_or_foreign_cookie_signs_nobody_in(world: dict[str, Any], tmp_path: Path) -> None:
    foreign = SessionTokens("z" * 64, tmp_path / "elsewhere", 1800, clock=world["clock"])
    token, _ = foreign.issue("u1")
    assert authenticator(world, Jar({COOKIE_NAME: token})).current_user() is None
    assert authenticator(world, Jar({COOKIE_NAME: "u1"})).current_user() is None


def test_a_deactivated_user_is_not_signed_back_in(world: dict[str, Any]) -> None:
    _, jar = signed_in(world)
    world["users"].users["u1"].active = False
    later = authenticator(world, jar.reload())
    assert later.current_user() is None
    assert "deactivated" in later.session[state.AUTH_NOTICE]
    world["users"].users["u1"].active = True
    assert authenticator(world, jar.reload()).current_user() is None  # that session is over


def test_without_tokens_a_sign_in_lasts_one_session(world: dict[str, Any]) -> None:
    plain = PasswordAuthenticator(
        world["users"], world["audit"], TIMEOUT_MINUTES, session={}, clock=world["clock"]
    )
    plain.sign_in("u1", "right-password")
    plain.sync_cookie()  # no cookie jar: nothing to write
    assert plain.current_user() is not None


def test_must_change_password() -> None:
    assert must_change_password(User("u", must_change_password=True))
    assert not must_change_password(User("u"))
    assert not must_change_password(object())
