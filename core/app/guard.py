"""The access policy applied to real records: who acts, which client, which list.

:mod:`core.app.access` says what each role may do in each scope; this module
finds the scope of a concrete request and refuses it when the policy does:

- the acting user is read from the database by id (role and store are never
  taken from the caller), and an inactive account may do nothing;
- a client's home store and assigned associate come from the data;
- a list's author and client are read from the database, never from a record
  the caller hands in (a record can be edited on the way).

:class:`~core.app.curation.CurationService` calls :class:`AccessGuard` before
every read of a list by id and before every write, so the pages cannot reach a
list the policy hides, even with forged session state.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from core.app.access import ACTIONS, allows, list_scope, require
from core.data.dataset import Dataset
from core.exceptions import AccessDeniedError, UnknownIdError
from core.store import Store
from core.store.records import CuratedListRecord, UserRecord


class AccessGuard:
    """Checks of :data:`core.app.access.POLICY` against the store and the data.

    Parameters
    ----------
    dataset : Dataset
        Where clients' home stores and assigned associates come from.
    store : core.store.Store
        Where users and lists come from.
    """

    def __init__(self, dataset: Dataset, store: Store) -> None:
        self.dataset = dataset
        self.store = store

    def user(self, user_id: str) -> UserRecord:
        """The acting user as the database knows them.

        Raises
        ------
        AccessDeniedError
            Unknown or inactive account.
        """
        try:
            user = self.store.users.get_user(str(user_id))
        except (UnknownIdError, ValueError):
            user = None
        if user is None or not user.active:
            raise AccessDeniedError(
                "Your account is not active: sign in again or ask an administrator.",
                role="",
                action="",
                scope="",
            )
        return user

    def client_row(self, client_id: str) -> pd.Series | None:
        """The client's row, or ``None`` for a client no longer in the data."""
        try:
            return self.dataset.client(client_id)
        except UnknownIdError:
            return None

    def check_client(self, user_id: str, action: str, client_id: str) -> UserRecord:
        """Check a client action; returns the acting user.

        Raises
        ------
        UnknownIdError
            The client is not in the data.
        AccessDeniedError
            The policy refuses it.
        """
        user = self.user(user_id)
        require(user, action, self.dataset.client(client_id))
        return user

    def check_list(self, user_id: str, action: str, list_id: int) -> CuratedListRecord:
        """Check a list action; returns the list as stored now.

        Raises
        ------
        UnknownIdError
            No such list.
        AccessDeniedError
            The policy refuses it (the message names nothing of the list).
        """
        user = self.user(user_id)
        record = self.store.lists.get_list(list_id)
        require(user, action, self.client_row(record.client_id), author_id=record.author_id)
        return record

    def actions(self, user: UserRecord, author_id: str, client_id: str) -> frozenset[str]:
        """The list actions ``user`` may do to a list by ``author_id`` for ``client_id``."""
        scope = list_scope(user, author_id, self.client_row(client_id))
        return frozenset(
            a for a, act in ACTIONS.items() if act.target == "list" and allows(user.role, a, scope)
        )

    def allows(self, user: UserRecord, action: str, record: CuratedListRecord) -> bool:
        """Whether ``user`` may do list ``action`` to ``record`` (as stored)."""
        return action in self.actions(user, record.author_id, record.client_id)

    def visible(
        self, user_id: str, records: Iterable[CuratedListRecord]
    ) -> list[CuratedListRecord]:
        """The records ``user_id`` may view, in their order."""
        user = self.user(user_id)
        return [r for r in records if self.allows(user, "view_list", r)]
