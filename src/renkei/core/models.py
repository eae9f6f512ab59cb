"""Declarative base and the shared kernel's tables: organisations, their communities,
users, API tokens and the audit log."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    DateTime,
    Dialect,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

MAX_ID = 2**31 - 1  # ids are INTEGER columns: 32 bits on PostgreSQL; none is larger

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes on every database: stored as UTC, read back with UTC attached.

    SQLite keeps no offset, so without this a value would come back naive."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware one is required")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON, datetime: UTCDateTime()}


class Role(StrEnum):
    """What a user may do; the hub roles belong to the hub's users, the others to members'."""

    HUB_ADMIN = "hub-admin"
    HUB_ANALYST = "hub-analyst"
    MEMBER_SUBMITTER = "member-submitter"
    MEMBER_READER = "member-reader"

    @property
    def is_hub_role(self) -> bool:
        return self in (Role.HUB_ADMIN, Role.HUB_ANALYST)


class Scope(StrEnum):
    """What an API token may be used for; scopes are independent (admin does not imply read)."""

    READ = "read"
    SUBMIT = "submit"
    ADMIN = "admin"


def _enum_values(enum: type[StrEnum]) -> list[str]:
    return [member.value for member in enum]


class Organisation(Base):
    """A member organisation, or the hub itself (``is_hub``; at most one, by a partial index)."""

    __tablename__ = "organisations"
    __table_args__ = (
        Index("uq_organisations_hub", "is_hub", unique=True,
              sqlite_where=text("is_hub"), postgresql_where=text("is_hub")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime]
    is_hub: Mapped[bool] = mapped_column(default=False, server_default=false())


class Community(Base):
    """A sector or group of members ("finance", "telecom", "government"): the reach of
    TLP:GREEN and the default audience of TLP:AMBER."""

    __tablename__ = "communities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime]


class CommunityMember(Base):
    """An organisation's membership of a community; an organisation may be in several."""

    __tablename__ = "community_members"

    community_id: Mapped[int] = mapped_column(
        ForeignKey("communities.id", ondelete="CASCADE"), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True, index=True)
    joined_at: Mapped[datetime]


class User(Base):
    """A person who signs in: one organisation, one role, an argon2 password hash."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True)
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=30, values_callable=_enum_values,
             validate_strings=True))
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None] = mapped_column(nullable=True)
    #: the console's second factor: a base32 TOTP secret (kept as given: checking a code
    #: needs it), when it was confirmed, and the last time step a code was accepted for
    #: (a code is never accepted twice)
    totp_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    totp_enabled_at: Mapped[datetime | None] = mapped_column(nullable=True)
    totp_last_step: Mapped[int | None] = mapped_column(nullable=True)
    #: the language the console speaks to this user: en or ja
    locale: Mapped[str] = mapped_column(String(5), default="en", server_default="en")


class ApiToken(Base):
    """An API token: ``rk_<key_id>_<secret>``, of which only an argon2 hash of the secret is
    kept. The key id is random (it tells nothing of how many tokens exist) and finds the
    one row whose hash is checked."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(200))
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True)
    scopes: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(nullable=True)

    @property
    def scope_set(self) -> frozenset[Scope]:
        return frozenset(Scope(s) for s in self.scopes.split(",") if s)


class AuditEvent(Base):
    """Append-only record of every state-changing call: who, what, when, from where."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100), index=True)
    target: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(200), default="cli")
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), nullable=True
    )
