"""The tables Atelier writes: users, curated lists, removals, shares, consent, audit.

Enumerations are declared once here and enforced twice: by the services
(clear ``ValueError``) and by ``CHECK`` constraints (so raw SQL cannot store
nonsense either).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from core.data.schema import ROLES
from core.store.common import ID_MAX, NAME_MAX, TITLE_MAX, UTCDateTime

LIST_STATUSES: tuple[str, ...] = ("draft", "shared", "archived")
ITEM_SOURCES: tuple[str, ...] = ("model", "manual")
SHARE_CHANNELS: tuple[str, ...] = ("pdf", "message", "email", "sms", "whatsapp", "print")
CONSENT_FIELDS: tuple[str, ...] = ("consent_personalization", "consent_contact")
AUDIT_ACTIONS: tuple[str, ...] = (
    "view_client",
    "share",
    "export",
    "import",
    "consent_change",
    "retrain",
    "login",
    "login_failed",
    "logout",
    "list_create",
    "list_update",
    "removal",
    "erase_client",
    "user_create",
    "user_update",
    "password_reset",
    "password_change",
    "view_audit",
    "session_suggestions",
)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    """Declarative base of every Atelier table."""


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="ck_users_role"),)

    user_id: Mapped[str] = mapped_column(String(ID_MAX), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    role: Mapped[str] = mapped_column(String(16))
    store_id: Mapped[str | None] = mapped_column(String(ID_MAX))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)


class CuratedList(Base):
    __tablename__ = "curated_lists"
    __table_args__ = (
        CheckConstraint(_in("status", LIST_STATUSES), name="ck_curated_lists_status"),
        CheckConstraint("version >= 1", name="ck_curated_lists_version"),
        Index("ix_curated_lists_client", "client_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(ID_MAX))
    author_id: Mapped[str] = mapped_column(ForeignKey("users.user_id"), index=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="draft")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(ForeignKey("users.user_id"))

    items: Mapped[list[ListItem]] = relationship(
        back_populates="list", order_by="ListItem.position", cascade="all, delete-orphan"
    )


class ListItem(Base):
    __tablename__ = "list_items"
    __table_args__ = (
        UniqueConstraint("list_id", "product_id", name="uq_list_items_product"),
        CheckConstraint(_in("source", ITEM_SOURCES), name="ck_list_items_source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("curated_lists.id", ondelete="CASCADE"))
    product_id: Mapped[str] = mapped_column(String(ID_MAX))
    position: Mapped[int] = mapped_column(Integer)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    score: Mapped[float | None] = mapped_column(Float)
    added_by: Mapped[str] = mapped_column(ForeignKey("users.user_id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)

    list: Mapped[CuratedList] = relationship(back_populates="items")


class Removal(Base):
    __tablename__ = "removals"
    __table_args__ = (Index("ix_removals_client", "client_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int | None] = mapped_column(ForeignKey("curated_lists.id", ondelete="SET NULL"))
    client_id: Mapped[str] = mapped_column(String(ID_MAX))
    product_id: Mapped[str] = mapped_column(String(ID_MAX))
    category: Mapped[str | None] = mapped_column(String(NAME_MAX))
    reason: Mapped[str] = mapped_column(Text, default="")
    removed_by: Mapped[str] = mapped_column(ForeignKey("users.user_id"))
    removed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The reason the associate was shown for the item (schema version 3), so that
    # acceptance can be measured per reason type.
    reason_shown: Mapped[str] = mapped_column(Text, default="", server_default="")


class Share(Base):
    __tablename__ = "shares"
    __table_args__ = (
        CheckConstraint(_in("channel", SHARE_CHANNELS), name="ck_shares_channel"),
        Index("ix_shares_client", "client_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("curated_lists.id"))
    client_id: Mapped[str] = mapped_column(String(ID_MAX))
    channel: Mapped[str] = mapped_column(String(16))
    snapshot: Mapped[str] = mapped_column(Text)
    author_id: Mapped[str] = mapped_column(ForeignKey("users.user_id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ConsentChange(Base):
    __tablename__ = "consent_changes"
    __table_args__ = (
        CheckConstraint(_in("field", CONSENT_FIELDS), name="ck_consent_changes_field"),
        Index("ix_consent_changes_client", "client_id", "changed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(ID_MAX))
    field: Mapped[str] = mapped_column(String(32))
    old_value: Mapped[bool | None] = mapped_column(Boolean)
    new_value: Mapped[bool] = mapped_column(Boolean)
    changed_by: Mapped[str] = mapped_column(String(ID_MAX))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")


class AuditEntry(Base):
    """One audit-log row. Append-only: see :mod:`core.store.audit` for the guards."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_target", "target_type", "target_id"),
        Index("ix_audit_log_actor", "actor_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[str] = mapped_column(String(ID_MAX))
    action: Mapped[str] = mapped_column(String(32))
    target_type: Mapped[str] = mapped_column(String(32), default="")
    target_id: Mapped[str] = mapped_column(String(ID_MAX), default="")
    details: Mapped[str] = mapped_column(Text, default="{}")
