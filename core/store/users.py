"""Users: accounts, argon2 passwords, sign-in with lockout, seeding from the associates table."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.data.schema import ROLES
from core.exceptions import AuthenticationError, PermissionDenied, UnknownIdError
from core.store.audit import append_entry
from core.store.common import (
    NAME_MAX,
    SYSTEM_ACTOR,
    Clock,
    SessionFactory,
    as_utc,
    check_choice,
    check_id,
    check_text,
    unit_of_work,
    utcnow,
)
from core.store.models import User
from core.store.records import UserRecord

PASSWORD_MIN = 10
PASSWORD_MAX = 256
# No 0/o, 1/l/i: generated passwords are read aloud and typed on a tablet.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def generate_password(groups: int = 4, group_len: int = 4) -> str:
    """Return a random, readable password such as ``"k7dm-x2qa-9fhw-tn3e"`` (~79 bits).

    Parameters
    ----------
    groups, group_len : int
        Number of dash-separated groups and characters per group.

    Returns
    -------
    str
    """
    return "-".join(
        "".join(secrets.choice(_ALPHABET) for _ in range(group_len)) for _ in range(groups)
    )


def _record(user: User) -> UserRecord:
    return UserRecord(
        user_id=user.user_id,
        name=user.name,
        role=user.role,
        store_id=user.store_id,
        active=user.active,
        failed_attempts=user.failed_attempts,
        locked_until=user.locked_until,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
        must_change_password=user.must_change_password,
    )


def _loggable_id(user_id: object) -> str:
    try:
        return check_id(user_id, "user id")
    except ValueError:
        return "(invalid user id)"


def _check_password(password: str) -> str:
    check_text(password, "password", max_len=PASSWORD_MAX)
    if len(password) < PASSWORD_MIN:
        raise ValueError(f"a password needs at least {PASSWORD_MIN} characters")
    return password


def require_user(session: Session, user_id: str) -> User:
    """Return the user row or raise :class:`UnknownIdError` naming the id."""
    user = session.get(User, user_id)
    if user is None:
        raise UnknownIdError(f"Unknown user id {user_id!r}")
    return user


def require_role(session: Session, actor_id: str, roles: tuple[str, ...], doing: str) -> None:
    """Raise :class:`PermissionDenied` unless ``actor_id`` is an active user with one of ``roles``.

    The CLI acts as :data:`~core.store.common.SYSTEM_ACTOR`, which is always allowed.
    """
    if actor_id == SYSTEM_ACTOR:
        return
    actor = session.get(User, actor_id)
    if actor is None or not actor.active:
        raise PermissionDenied(f"{actor_id!r} is not an active user and cannot {doing}")
    if actor.role not in roles:
        raise PermissionDenied(
            f"{actor.name} is {actor.role}; only {' or '.join(roles)} can {doing}"
        )


def _bring_in_step(
    session: Session, user: User, wanted: dict[str, str | None], via: str, now: datetime
) -> None:
    """Set what differs of ``wanted`` on ``user``, audited as a ``user_update`` by the provider ``via``."""
    change = {k: v for k, v in wanted.items() if getattr(user, k) != v}
    for key, value in change.items():
        setattr(user, key, value)
    if change:
        append_entry(
            session,
            SYSTEM_ACTOR,
            "user_update",
            "user",
            user.user_id,
            {**change, "via": via},
            at=now,
        )


def _refuse_deactivated(session: Session, user_id: str, via: str, now: datetime) -> NoReturn:
    """Record (committed) and refuse a single sign-on of a user deactivated in Atelier."""
    append_entry(
        session,
        user_id,
        "login_failed",
        "user",
        user_id,
        {"reason": "deactivated", "via": via},
        at=now,
    )
    session.commit()
    raise AuthenticationError(
        "This account is deactivated in Atelier; ask an administrator to reactivate it."
    )


@dataclass(frozen=True)
class _Check:
    """What the lock-free part of a sign-in found (see :meth:`UserService.authenticate`)."""

    seen_hash: str | None  # the hash checked; None: no such user
    refusal: str | None  # deactivated or locked when read: refused unchecked
    verified: bool  # the password matched ``seen_hash``
    new_hash: str | None  # ``seen_hash`` redone with the current parameters


class UserService:
    """Create and manage users, and sign them in.

    Parameters
    ----------
    sessions : sessionmaker
        From :func:`core.store.db.session_factory`.
    max_failed_logins : int
        Wrong passwords in a row before the account locks.
    lockout_minutes : float
        How long a locked account stays locked.
    hasher : argon2.PasswordHasher, optional
        Defaults to argon2-cffi's recommended parameters; hashes made with other
        parameters are upgraded at the next successful sign-in.
    clock : callable, optional
        Returns the current time (aware UTC).
    """

    def __init__(
        self,
        sessions: SessionFactory,
        *,
        max_failed_logins: int = 5,
        lockout_minutes: float = 15.0,
        hasher: PasswordHasher | None = None,
        clock: Clock = utcnow,
    ) -> None:
        if max_failed_logins < 1 or lockout_minutes <= 0:
            raise ValueError("max_failed_logins must be >= 1 and lockout_minutes > 0")
        self._sessions = sessions
        self.max_failed_logins = max_failed_logins
        self.lockout = timedelta(minutes=lockout_minutes)
        self._hasher = hasher or PasswordHasher()
        self._clock = clock
        self._dummy_hash: str | None = None

    # -- administration -------------------------------------------------------------

    def create_user(
        self,
        user_id: str,
        name: str,
        role: str,
        store_id: str | None = None,
        *,
        actor_id: str,
        password: str | None = None,
    ) -> tuple[UserRecord, str]:
        """Create a user; with no ``password`` a random one is generated.

        Parameters
        ----------
        user_id, name : str
        role : {'associate', 'stylist', 'manager', 'admin'}
        store_id : str, optional
        actor_id : str
            The admin doing it, or ``"system"`` for the command line.
        password : str, optional
            At least 10 characters; default: a generated one.

        Returns
        -------
        (UserRecord, str)
            The user and the password, to hand over once (it is not stored).
            The user must change it at first sign-in.

        Raises
        ------
        ValueError
            Invalid id, name, role or password, or the user id is taken.
        PermissionDenied
            ``actor_id`` is not an admin.
        """
        check_id(user_id, "user id")
        if user_id == SYSTEM_ACTOR:
            raise ValueError(f"{SYSTEM_ACTOR!r} is reserved; choose another user id")
        check_text(name, "name", max_len=NAME_MAX, required=True)
        check_choice(role, "role", ROLES)
        if store_id is not None:
            check_id(store_id, "store id")
        password = generate_password() if password is None else _check_password(password)
        now = self._clock()
        with unit_of_work(self._sessions, write=True) as session:
            require_role(session, actor_id, ("admin",), "create users")
            if session.get(User, user_id) is not None:
                raise ValueError(f"user id {user_id!r} is already taken")
            user = self._new_user(user_id, name, role, store_id, password, now)
            session.add(user)
            append_entry(session, actor_id, "user_create", "user", user_id, {"role": role}, at=now)
            session.flush()
            return _record(user), password

    def _new_user(
        self,
        user_id: str,
        name: str,
        role: str,
        store_id: str | None,
        password: str,
        now: datetime,
        *,
        must_change_password: bool = True,
    ) -> User:
        """A new active user row, ``password`` hashed (the caller has checked the fields)."""
        return User(
            user_id=user_id,
            name=name,
            role=role,
            store_id=store_id,
            password_hash=self._hasher.hash(password),
            active=True,
            failed_attempts=0,
            created_at=now,
            must_change_password=must_change_password,
        )

    def seed_users_from_associates(
        self, associates: pd.DataFrame, *, actor_id: str
    ) -> list[tuple[str, str, str, str]]:
        """Create a user for every associates row that has none yet.

        Parameters
        ----------
        associates : DataFrame
            Columns ``user_id``, ``name``, ``role`` and optionally ``store_id``.
        actor_id : str
            The admin doing it, or ``"system"`` for the command line.

        Returns
        -------
        list of (user_id, name, role, password)
            One per created user, each with its own random password; show them
            once and let each user change theirs. Existing users are left alone.

        Raises
        ------
        ValueError
            A row is invalid (the message names the row); nothing is created.
        """
        missing = {"user_id", "name", "role"} - set(associates.columns)
        if missing:
            raise ValueError(f"associates is missing column(s) {', '.join(sorted(missing))}")
        now = self._clock()
        created: list[tuple[str, str, str, str]] = []
        with unit_of_work(self._sessions, write=True) as session:
            require_role(session, actor_id, ("admin",), "create users")
            existing = set(session.scalars(select(User.user_id)))
            for row_number, row in enumerate(associates.to_dict("records"), start=1):
                user_id, name, role = row["user_id"], row["name"], row["role"]
                store_id = row.get("store_id")
                store_id = None if store_id is None or pd.isna(store_id) else str(store_id)
                if user_id in existing:
                    continue
                try:
                    check_id(user_id, "user_id")
                    check_text(name, "name", max_len=NAME_MAX, required=True)
                    check_choice(role, "role", ROLES)
                    if user_id == SYSTEM_ACTOR:
                        raise ValueError(f"{SYSTEM_ACTOR!r} is a reserved user id")
                except ValueError as err:
                    raise ValueError(f"associates, row {row_number}: {err}") from None
                password = generate_password()
                session.add(self._new_user(user_id, name, role, store_id, password, now))
                existing.add(user_id)
                created.append((user_id, name, role, password))
                append_entry(
                    session, actor_id, "user_create", "user", user_id, {"role": role}, at=now
                )
        return created

    def _update(self, user_id: str, actor_id: str, change: dict[str, object]) -> UserRecord:
        now = self._clock()
        with unit_of_work(self._sessions, write=True) as session:
            require_role(session, actor_id, ("admin",), "manage users")
            user = require_user(session, user_id)
            demotes = change.get("role", "admin") != "admin" or change.get("active") is False
            if user.role == "admin" and user.active and demotes:
                admins = session.scalar(
                    select(func.count()).where(User.role == "admin", User.active.is_(True))
                )
                if admins == 1:
                    raise PermissionDenied(
                        f"{user.name} is the last active admin; make another admin first"
                    )
            for key, value in change.items():
                setattr(user, key, value)
            shown = {k: v for k, v in change.items() if k != "password_hash"}
            action = "password_reset" if "password_hash" in change else "user_update"
            append_entry(session, actor_id, action, "user", user_id, shown, at=now)
            session.flush()
            return _record(user)

    def set_role(self, user_id: str, role: str, *, actor_id: str) -> UserRecord:
        """Change a user's role (admins only; the last active admin cannot be demoted)."""
        return self._update(user_id, actor_id, {"role": check_choice(role, "role", ROLES)})

    def set_store(self, user_id: str, store_id: str | None, *, actor_id: str) -> UserRecord:
        """Change a user's store (``None``: no store, e.g. head office)."""
        if store_id is not None:
            check_id(store_id, "store id")
        return self._update(user_id, actor_id, {"store_id": store_id})

    def deactivate(self, user_id: str, *, actor_id: str) -> UserRecord:
        """Stop a user from signing in or editing (their history stays)."""
        return self._update(user_id, actor_id, {"active": False})

    def activate(self, user_id: str, *, actor_id: str) -> UserRecord:
        """Let a deactivated user sign in again."""
        return self._update(user_id, actor_id, {"active": True})

    def reset_password(self, user_id: str, *, actor_id: str) -> str:
        """Give a user a new random password (and unlock them); returns it, once.

        Raises
        ------
        UnknownIdError
            No such user.
        PermissionDenied
            ``actor_id`` is not an admin.
        """
        password = generate_password()
        change: dict[str, object] = {
            "password_hash": self._hasher.hash(password),
            "must_change_password": True,
            "failed_attempts": 0,
            "locked_until": None,
        }
        self._update(user_id, actor_id, change)
        return password

    def change_password(self, user_id: str, old_password: str, new_password: str) -> UserRecord:
        """Let a signed-in user choose their own password.

        Raises
        ------
        AuthenticationError
            ``old_password`` is wrong (counts as a failed sign-in).
        ValueError
            ``new_password`` is too short, too long or the same as the old one.
        """
        _check_password(new_password)
        if new_password == old_password:
            raise ValueError("the new password must differ from the current one")
        self.authenticate(user_id, old_password)
        with unit_of_work(self._sessions, write=True) as session:
            user = require_user(session, user_id)
            user.password_hash = self._hasher.hash(new_password)
            user.must_change_password = False
            append_entry(session, user_id, "password_change", "user", user_id, at=self._clock())
            session.flush()
            return _record(user)

    def sign_in_external(
        self,
        user_id: str,
        name: str,
        role: str,
        store_id: str | None,
        *,
        via: str,
        set_store: bool = True,
    ) -> UserRecord:
        """Sign in a user the house's identity provider vouched for (single sign-on).

        The first sign-in creates the user (with an unusable random password:
        the provider signs them in); later ones bring name, role and store in
        step with what the provider says, audited as a ``user_update``. A user
        deactivated in Atelier stays out.

        Parameters
        ----------
        user_id, name, role : str
        store_id : str or None
        via : str
            The provider's name, for the audit log.
        set_store : bool
            ``False`` keeps the store set in Atelier (the provider sends none).

        Raises
        ------
        AuthenticationError
            The user is deactivated in Atelier.
        ValueError
            An invalid id, name or role.
        """
        check_id(user_id, "user id")
        if user_id == SYSTEM_ACTOR:
            raise ValueError(f"{SYSTEM_ACTOR!r} is reserved; it cannot sign in")
        check_text(name, "name", max_len=NAME_MAX, required=True)
        check_choice(role, "role", ROLES)
        now = self._clock()
        with unit_of_work(self._sessions, write=True) as session:
            user = session.get(User, user_id)
            if user is None:
                user = self._new_user(
                    user_id,
                    name,
                    role,
                    store_id if set_store else None,
                    secrets.token_urlsafe(32),
                    now,
                    must_change_password=False,
                )
                session.add(user)
                details = {"role": role, "via": via}
                append_entry(session, SYSTEM_ACTOR, "user_create", "user", user_id, details, at=now)
            elif not user.active:
                _refuse_deactivated(session, user_id, via, now)
            else:
                wanted: dict[str, str | None] = {"name": name, "role": role}
                if set_store:
                    wanted["store_id"] = store_id
                _bring_in_step(session, user, wanted, via, now)
            user.last_login_at = now
            append_entry(session, user_id, "login", "user", user_id, {"via": via}, at=now)
            session.flush()
            return _record(user)

    # -- reading ------------------------------------------------------------------------

    def get_user(self, user_id: str) -> UserRecord:
        """Return one user.

        Raises
        ------
        UnknownIdError
            No such user.
        """
        with unit_of_work(self._sessions) as session:
            return _record(require_user(session, user_id))

    def list_users(self, *, include_inactive: bool = True) -> list[UserRecord]:
        """Return users sorted by name."""
        stmt = select(User).order_by(User.name, User.user_id)
        if not include_inactive:
            stmt = stmt.where(User.active.is_(True))
        with unit_of_work(self._sessions) as session:
            return [_record(u) for u in session.scalars(stmt)]

    # -- sign-in ------------------------------------------------------------------------

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def authenticate(self, user_id: str, password: str, now: datetime | None = None) -> UserRecord:
        """Check a user id and password; count failures and lock after too many.

        The argon2 check (deliberately slow) runs outside any transaction, so
        sign-ins on several tablets hash in parallel instead of queueing behind
        SQLite's write lock: a short read takes the user's hash and state, the
        password is checked (and an outdated hash rehashed) with no lock held,
        then a short write re-reads the user and records the outcome. If the
        password changed in between, the check was made against a hash that is
        no longer the user's: the attempt counts as a wrong password (the user
        simply tries again) rather than being checked again under the lock.

        Parameters
        ----------
        user_id, password : str
        now : datetime, optional
            The time of the attempt (for tests); defaults to the service clock.

        Returns
        -------
        UserRecord
            The signed-in user (``must_change_password`` tells the UI to ask for a new one).

        Raises
        ------
        AuthenticationError
            Wrong id or password, account locked, or account deactivated; the
            message says which and what to do.
        """
        at = as_utc(now) if now is not None else self._clock()
        check = self._check_unlocked(user_id, str(password), at)
        with unit_of_work(self._sessions, write=True) as session:
            user = None
            if check.seen_hash is not None:
                user = session.get(User, user_id, with_for_update=True)
            error = "Wrong user id or password." if user is None else self._settle(user, check, at)
            actor = _loggable_id(user_id)
            action = "login" if error is None else "login_failed"
            details = {} if error is None else {"reason": error}
            append_entry(session, actor, action, "user", actor, details, at=at)
            session.flush()
            result = _record(user) if user is not None else None
        if error is not None or result is None:
            raise AuthenticationError(error)
        return result

    def _check_unlocked(self, user_id: object, password: str, at: datetime) -> _Check:
        """The slow part of a sign-in, holding no lock: read the user, check the password.

        An unknown user is checked against a dummy hash (the same time as a real
        check); a deactivated or locked one is refused without a check.
        """
        seen: str | None = None
        refusal: str | None = None
        with unit_of_work(self._sessions) as session:
            user = session.get(User, user_id) if isinstance(user_id, str) else None
            if user is not None:
                seen, refusal = user.password_hash, self._refusal(user, at)
        if seen is None:
            if self._dummy_hash is None:
                self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))
            self._verify(self._dummy_hash, password)  # same time as a real check
            return _Check(None, None, False, None)
        if refusal is not None:
            return _Check(seen, refusal, False, None)
        if not self._verify(seen, password):
            return _Check(seen, None, False, None)
        rehashed = self._hasher.hash(password) if self._hasher.check_needs_rehash(seen) else None
        return _Check(seen, None, True, rehashed)

    def _refusal(self, user: User, at: datetime) -> str | None:
        """Why ``user`` cannot sign in at ``at`` whatever the password, or ``None``."""
        if not user.active:
            return "This account is deactivated; ask an administrator to reactivate it."
        if user.locked_until is not None and at < user.locked_until:
            return (
                "This account is locked after too many failed sign-ins; try again after "
                f"{user.locked_until:%H:%M} UTC or ask an administrator to reset it."
            )
        return None

    def _settle(self, user: User, check: _Check, at: datetime) -> str | None:
        """Record one sign-in attempt on the re-read ``user``: ``None`` when it succeeds, else why not.

        Counts a wrong password (locking the account after too many) and, on
        success, resets the count, notes the sign-in and stores the rehashed
        hash. Refusals use the user's state now (deactivated or locked in the
        meantime) and, failing that, the state when the attempt was read.
        """
        refusal = self._refusal(user, at) or check.refusal
        if refusal is not None:
            return refusal
        if not check.verified or user.password_hash != check.seen_hash:
            user.failed_attempts += 1
            error = "Wrong user id or password."
            if user.failed_attempts >= self.max_failed_logins:
                user.failed_attempts = 0
                user.locked_until = at + self.lockout
                error += (
                    f" Too many failed sign-ins: the account is locked until "
                    f"{user.locked_until:%H:%M} UTC."
                )
            return error
        user.failed_attempts = 0
        user.locked_until = None
        user.last_login_at = at
        if check.new_hash is not None:
            user.password_hash = check.new_hash
        return None
