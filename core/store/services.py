"""The service layer in one import: ``from core.store.services import UserService, ...``.

The services live in their own short modules; this module only gathers them.
Most callers want :class:`core.store.Store`, which builds all of them over one engine.
"""

from __future__ import annotations

from core.store.audit import AuditLog
from core.store.clients import ClientDataService
from core.store.consent import ConsentService
from core.store.lists import ListService
from core.store.shares import ShareService
from core.store.users import UserService, generate_password

__all__ = [
    "AuditLog",
    "ClientDataService",
    "ConsentService",
    "ListService",
    "ShareService",
    "UserService",
    "generate_password",
]
