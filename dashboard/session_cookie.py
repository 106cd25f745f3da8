"""A sign-in that survives a page reload: a signed, expiring, revocable token in a cookie.

A reload opens a new Streamlit session with empty session state; the browser
still sends its cookies with the new connection (``st.context.cookies``). The
cookie holds a token signed with :mod:`itsdangerous` (never the password):
the user id and a random session id, with the time it was signed. A token is
accepted only when

- its signature is valid (the signing key: ``session_secret`` in
  ``.streamlit/secrets.toml``, else a key generated once into the data folder
  with 0600 permissions, :func:`signing_key`);
- it is younger than the session timeout (``ATELIER_SESSION_TIMEOUT_MINUTES``);
  the token is re-signed while the user is active, so the timeout counts from
  the last activity, as the in-session expiry does;
- its session id is still registered in the data folder: signing out, or
  being signed out (inactivity, deactivated account), removes it, so a copied
  token is worthless from then on.

Streamlit can only write a cookie from the browser: :class:`BrowserCookies`
does it with a small script in a hidden element (``st.html``). A cookie set by
a script cannot be ``HttpOnly``; it is ``SameSite=Strict`` (``Secure`` over
HTTPS), holds no secret but the token, and the token is bound to a
server-side session that can be revoked.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

COOKIE_NAME = "atelier_session"
KEY_FILE = ".session_key"
SESSIONS_DIR = ".sessions"
SECRET_NAME = "session_secret"
_SALT = "atelier.session"
_SESSION_ID = re.compile(r"[A-Za-z0-9_-]{32}")

Clock = Callable[[], float]
Failure = Literal["missing", "invalid", "expired", "revoked"]


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to a new file readable by its owner only (0600), atomically.

    Raises ``FileExistsError`` when ``path`` exists (another process was first).
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.link(tmp, path)  # fails if it exists: never a half-written key
    finally:
        tmp.unlink(missing_ok=True)


def signing_key(data_dir: Path, configured: str | None = None) -> str:
    """The key that signs session tokens.

    Parameters
    ----------
    data_dir : Path
        The data folder; the key file :data:`KEY_FILE` lives there.
    configured : str, optional
        A secret from the deployment (``session_secret`` in Streamlit
        secrets); used as is when given.

    Returns
    -------
    str
        ``configured``, else the key file's content, generated once (64 hex
        characters, mode 0600) by whichever process needs it first.
    """
    if configured:
        return configured
    path = Path(data_dir) / KEY_FILE
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            _write_private(path, secrets.token_hex(32))
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)  # a key others can read signs their sessions too
    return path.read_text(encoding="utf-8").strip()


@dataclass(frozen=True)
class Session:
    """A valid token's content: who, which session, when it was signed (epoch seconds)."""

    user_id: str
    session_id: str
    signed_at: float


class SessionTokens:
    """Sign, check and revoke session tokens.

    Parameters
    ----------
    key : str
        The signing key (:func:`signing_key`).
    folder : Path
        Where the live session ids are registered (one small 0600 file each).
    max_age_seconds : float
        A token older than this is expired (the session timeout).
    clock : callable, optional
        Seconds since the epoch (default :func:`time.time`).
    """

    def __init__(
        self, key: str, folder: Path, max_age_seconds: float, *, clock: Clock = time.time
    ) -> None:
        self.folder = Path(folder)
        self.max_age_seconds = float(max_age_seconds)
        self._clock = clock
        # itsdangerous reads the time through its signer: give it ours (tests move it).
        signer = type(
            "ClockSigner", (TimestampSigner,), {"get_timestamp": lambda _s: int(self._clock())}
        )
        self._serializer = URLSafeTimedSerializer(key, salt=_SALT, signer=signer)

    def _entry(self, session_id: str) -> Path:
        if not _SESSION_ID.fullmatch(session_id):
            raise ValueError("not a session id")
        return self.folder / session_id

    def issue(self, user_id: str, session_id: str | None = None) -> tuple[str, str]:
        """A token for ``user_id``: a new session, or ``session_id`` renewed.

        Returns
        -------
        (token, session_id)
            The token to store in the cookie, and the session it names.

        Raises
        ------
        OSError
            The session could not be registered (a read-only data folder).
        """
        if session_id is None:
            session_id = secrets.token_urlsafe(24)
            self.folder.mkdir(parents=True, exist_ok=True)
            self.prune()
            _write_private(self._entry(session_id), json.dumps({"user_id": user_id}))
        else:
            os.utime(self._entry(session_id))  # seen now: pruned only after a timeout idle
        token = self._serializer.dumps({"u": user_id, "s": session_id})
        return token, session_id

    def verify(self, token: str | None) -> Session | Failure:
        """The session a token names, or why it is refused.

        Returns
        -------
        Session or str
            ``"missing"`` (no token), ``"invalid"`` (not ours, tampered with),
            ``"expired"`` (older than the timeout; its session is revoked) or
            ``"revoked"`` (signed out); else the :class:`Session`.
        """
        if not token:
            return "missing"
        try:
            data, signed = self._serializer.loads(
                token, max_age=self.max_age_seconds, return_timestamp=True
            )
        except SignatureExpired as err:
            payload = err.payload
            if payload is not None:
                with contextlib.suppress(BadSignature, ValueError, TypeError, KeyError):
                    self.revoke(str(self._serializer.load_payload(payload)["s"]))
            return "expired"
        except BadSignature:
            return "invalid"
        if not isinstance(data, dict) or not {"u", "s"} <= set(data):
            return "invalid"
        user_id, session_id = str(data["u"]), str(data["s"])
        if self.active_user(session_id) != user_id:
            return "revoked"
        return Session(user_id, session_id, signed.timestamp())

    def active_user(self, session_id: str) -> str | None:
        """Who the registered session ``session_id`` belongs to; ``None`` once revoked."""
        try:
            entry = self._entry(session_id)
            return str(json.loads(entry.read_text(encoding="utf-8"))["user_id"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def revoke(self, session_id: str) -> None:
        """End ``session_id``: no token naming it is accepted any more."""
        with contextlib.suppress(ValueError):
            self._entry(session_id).unlink(missing_ok=True)

    def prune(self) -> int:
        """Forget sessions idle for longer than the timeout; returns how many."""
        if not self.folder.is_dir():
            return 0
        cutoff = self._clock() - self.max_age_seconds
        removed = 0
        for entry in self.folder.iterdir():
            with contextlib.suppress(OSError):
                if _SESSION_ID.fullmatch(entry.name) and entry.stat().st_mtime < cutoff:
                    entry.unlink()
                    removed += 1
        return removed


class CookieJar(Protocol):
    """The browser's cookies, as far as the sign-in needs them."""

    def get(self, name: str) -> str | None:
        """The cookie sent when this session connected, if any."""
        ...

    def set(self, name: str, value: str, max_age_seconds: int) -> None:
        """Ask the browser to keep ``name=value`` for ``max_age_seconds``."""
        ...

    def delete(self, name: str) -> None:
        """Ask the browser to forget ``name``."""
        ...


SCRIPTS_KEY = "atelier-scripts"
"""Key of the hidden container the cookie scripts are drawn in (see ``widgets.styles``)."""


def _js_string(text: str) -> str:
    """``text`` as a JavaScript string literal that cannot close the ``<script>`` around it."""
    return json.dumps(text).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def cookie_script(name: str, value: str | None, max_age_seconds: int = 0) -> str:
    """A ``<script>`` that sets (or, with ``value=None``, deletes) one cookie.

    The name and value are encoded as JavaScript strings, so no value can
    break out of the string or the script.
    """
    age = max(int(max_age_seconds), 0) if value is not None else 0
    return (
        "<script>(function(){"
        f"var name={_js_string(name)},value={_js_string(value or '')};"
        "var secure=location.protocol==='https:'?';Secure':'';"
        f"document.cookie=name+'='+encodeURIComponent(value)+';Max-Age={age};Path=/;"
        "SameSite=Strict'+secure;"
        "})();</script>"
    )


class BrowserCookies:
    """:class:`CookieJar` of the running Streamlit session.

    Reads ``st.context.cookies`` (what the browser sent when this session
    connected; a cookie written since shows up after the next reload) and
    writes with a script in the hidden container :data:`SCRIPTS_KEY`.

    Parameters
    ----------
    cookies : mapping, optional
        The cookies to read (default: ``st.context.cookies``).
    """

    def __init__(self, cookies: Mapping[str, str] | None = None) -> None:
        self._cookies = cookies

    def _sent(self) -> Mapping[str, str]:
        if self._cookies is not None:
            return self._cookies
        import streamlit as st

        try:
            return st.context.cookies
        except Exception:  # no browser behind this run (AppTest, bare script)
            return {}

    def get(self, name: str) -> str | None:
        return self._sent().get(name)

    def _run(self, script: str) -> None:
        import streamlit as st

        with st.container(key=SCRIPTS_KEY):
            st.html(script, unsafe_allow_javascript=True)

    def set(self, name: str, value: str, max_age_seconds: int) -> None:
        self._run(cookie_script(name, value, max_age_seconds))

    def delete(self, name: str) -> None:
        self._run(cookie_script(name, None))


def secret_from(secrets_store: Any) -> str | None:
    """``session_secret`` from Streamlit secrets (``st.secrets``), or ``None`` when unset.

    Probes for a secrets file first: reading ``st.secrets`` without one raises.
    """
    probe = getattr(secrets_store, "load_if_toml_exists", None)
    if probe is not None and not probe():
        return None
    try:
        value = secrets_store.get(SECRET_NAME)
    except (FileNotFoundError, KeyError):
        return None
    return str(value) if value else None
