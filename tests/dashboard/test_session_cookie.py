"""The sign-in cookie: signed, expiring, revocable tokens, and the key that signs them."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest

from dashboard.session_cookie import (
    KEY_FILE,
    BrowserCookies,
    Session,
    SessionTokens,
    cookie_script,
    secret_from,
    signing_key,
)

pytestmark = pytest.mark.security


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def tokens(
    tmp_path: Path, clock: Clock, key: str = "k" * 64, max_age: float = 1800
) -> SessionTokens:
    return SessionTokens(key, tmp_path / ".sessions", max_age, clock=clock)


def test_key_is_generated_once_and_private(tmp_path: Path) -> None:
    key = signing_key(tmp_path)
    path = tmp_path / KEY_FILE
    assert len(key) == 64 and path.read_text() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert signing_key(tmp_path) == key  # the same key for every process and run
    path.chmod(0o644)
    assert signing_key(tmp_path) == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # a readable key is made private again
    assert signing_key(tmp_path / "other", configured="from-secrets") == "from-secrets"
    assert not (tmp_path / "other" / KEY_FILE).exists()


def test_secret_from_streamlit_secrets() -> None:
    class NoFile:
        def load_if_toml_exists(self) -> bool:
            return False

        def get(self, name: str) -> str:
            raise FileNotFoundError(name)

    assert secret_from(NoFile()) is None
    assert secret_from({"session_secret": "s3cret"}) == "s3cret"
    assert secret_from({}) is None


def test_a_token_names_the_session_and_never_the_password(tmp_path: Path) -> None:
    clock = Clock()
    signer = tokens(tmp_path, clock)
    token, session_id = signer.issue("u1")
    found = signer.verify(token)
    assert found == Session("u1", session_id, clock.now)
    payload = token.split(".")[0]
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert data == {"u": "u1", "s": session_id}
    entry = tmp_path / ".sessions" / session_id
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600


def test_tampered_or_foreign_tokens_are_invalid(tmp_path: Path) -> None:
    clock = Clock()
    signer = tokens(tmp_path, clock)
    token, _ = signer.issue("u1")
    assert signer.verify(None) == "missing"
    assert signer.verify("") == "missing"
    assert signer.verify(token[:-3] + "abc") == "invalid"
    # Another user's id in the payload, the signature kept: refused.
    payload, rest = token.split(".", 1)
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps({**data, "u": "admin"}).encode()).rstrip(b"=")
    assert signer.verify(forged.decode() + "." + rest) == "invalid"
    # Signed with another key (another installation): refused.
    other = tokens(tmp_path, clock, key="z" * 64)
    assert other.verify(token) == "invalid"


def test_expiry_counts_from_the_last_signature(tmp_path: Path) -> None:
    clock = Clock()
    signer = tokens(tmp_path, clock, max_age=1800)
    token, session_id = signer.issue("u1")
    clock.now += 1700
    renewed, same = signer.issue("u1", session_id)
    assert same == session_id and renewed != token
    clock.now += 1700  # 3,400 s after sign-in, 1,700 s after the renewal
    assert isinstance(signer.verify(renewed), Session)
    assert signer.verify(token) == "expired"
    assert signer.active_user(session_id) is None  # an expired token ends its session


def test_revoked_session_refuses_its_tokens(tmp_path: Path) -> None:
    clock = Clock()
    signer = tokens(tmp_path, clock)
    token, session_id = signer.issue("u1")
    signer.revoke(session_id)
    assert signer.verify(token) == "revoked"
    signer.revoke("../../etc/passwd")  # not a session id: nothing happens
    assert signer.active_user("../x") is None


def test_idle_sessions_are_pruned(tmp_path: Path) -> None:
    clock = Clock()
    signer = tokens(tmp_path, clock, max_age=60)
    _, old = signer.issue("u1")
    entry = tmp_path / ".sessions" / old
    import os

    os.utime(entry, (clock.now - 120, clock.now - 120))
    _, new = signer.issue("u2")
    assert not entry.exists() and (tmp_path / ".sessions" / new).exists()


def test_cookie_script_cannot_break_out() -> None:
    script = cookie_script("atelier_session", 'a"</script><script>alert(1)</script>', 1800)
    assert script.count("<script>") == 1 and script.count("</script>") == 1
    assert "Max-Age=1800" in script and "SameSite=Strict" in script
    assert "Max-Age=0" in cookie_script("atelier_session", None)


def test_browser_cookies_read_what_the_browser_sent() -> None:
    assert BrowserCookies({"atelier_session": "t"}).get("atelier_session") == "t"
    assert BrowserCookies({}).get("atelier_session") is None
