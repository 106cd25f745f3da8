"""The errors Atelier raises.

The core raises these; only the dashboard turns them into messages on screen.
Every message says what was wrong, where, and what to do about it.
"""

from __future__ import annotations

from dataclasses import dataclass


class AtelierError(Exception):
    """Base class of every error Atelier raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One problem found while validating a table.

    Attributes
    ----------
    file : str
        The file (or table name, for in-memory data) the problem is in.
    row : int | None
        1-based data row (the header is row 0), or ``None`` for file-level problems.
    column : str | None
        The column, or ``None`` when the problem is not tied to one column.
    value : str | None
        The offending value, as text (truncated).
    expected : str
        What was expected instead.
    """

    file: str
    row: int | None
    column: str | None
    value: str | None
    expected: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column '{self.column}'"
        got = "" if self.value is None else f": got {self.value!r}"
        return f"{where}{got}; expected {self.expected}"


class DataValidationError(AtelierError):
    """A dataset failed validation; nothing was loaded.

    Parameters
    ----------
    problems : list of Problem
        Every problem found (the message shows the first ``shown``).
    shown : int
        How many problems the message lists before summarising the rest.
    """

    def __init__(self, problems: list[Problem], shown: int = 20) -> None:
        self.problems = list(problems)
        self.shown = shown
        super().__init__(self.report())

    def report(self) -> str:
        n = len(self.problems)
        lines = [f"{n} problem{'s' if n != 1 else ''} found; nothing was loaded:"]
        lines += [f"  - {p}" for p in self.problems[: self.shown]]
        if n > self.shown:
            lines.append(f"  ... and {n - self.shown} more")
        return "\n".join(lines)


class ConfigError(AtelierError, ValueError):
    """A configuration value or file is invalid."""


class NotFittedError(AtelierError, RuntimeError):
    """A model was used before ``fit`` (or ``load``)."""


class UnknownIdError(AtelierError, KeyError):
    """A client, product, store, user or list id is not known."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class ModelMismatchError(AtelierError):
    """A saved model does not belong to the data it is loaded with."""


class ConflictError(AtelierError):
    """Someone else changed the record since it was read (stale version)."""


class PermissionDenied(AtelierError):
    """The signed-in user may not do this."""


class AccessDeniedError(PermissionDenied):
    """The access policy (:mod:`core.app.access`) refuses this action on this record.

    The message says what was refused and why, and names no data of the record
    (no client name, list title or note): it is shown to the person refused.

    Attributes
    ----------
    role : str
        The acting user's role.
    action : str
        The refused action (a key of ``core.app.access.ACTIONS``).
    scope : str
        How the record relates to the user (a key of ``core.app.access.SCOPES``).
    """

    def __init__(self, message: str, *, role: str, action: str, scope: str) -> None:
        self.role = role
        self.action = action
        self.scope = scope
        super().__init__(message)


class AuthenticationError(AtelierError):
    """Sign-in failed (wrong credentials, locked or inactive account)."""


class ConsentError(AtelierError):
    """The client has not given the consent this action needs."""
