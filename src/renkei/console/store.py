"""Tables of the console: signed-in sessions and failed sign-ins; only console modules
write them.

A session cookie reads ``<key id>.<secret>``: the key id finds one row, and only an argon2
hash of the secret is kept (as for API tokens), so a copy of the table opens no session.
A row passes through stages: ``totp`` or ``enrol`` (the password was right; only the
second-factor pages accept it, for a few minutes) and then ``active``, on a new row with a
new secret. ``credential_tag`` fingerprints the user's password hash and TOTP secret when
the session began: a changed password or a reset second factor ends every session.

Failed sign-ins are rows of their own, counted per e-mail address and per source address
over a window, so the limit holds across several server processes; an attempt is written
as one before it is judged and deleted if it proves right (``throttle``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from renkei.core.models import Base

USER_AGENT_MAX = 200
SOURCE_MAX = 200


class Stage(StrEnum):
    """How far a session has come: only ``active`` opens pages."""

    TOTP = "totp"  # password accepted; waiting for a code
    ENROL = "enrol"  # password accepted; the user has no second factor yet and makes one
    ACTIVE = "active"


class ConsoleSession(Base):
    """One browser's sign-in (see the module docstring)."""

    __tablename__ = "console_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(String(10))
    csrf_token: Mapped[str] = mapped_column(String(64))
    credential_tag: Mapped[str] = mapped_column(String(64))
    #: the secret being enrolled (stage ``enrol`` only); moved to the user once confirmed
    pending_totp_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)
    source: Mapped[str] = mapped_column(String(SOURCE_MAX), default="")
    user_agent: Mapped[str] = mapped_column(String(USER_AGENT_MAX), default="")


class SignInFailure(Base):
    """A refused password or code (or one being judged): who was tried, from where, when
    (for throttling)."""

    __tablename__ = "console_sign_in_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    source: Mapped[str] = mapped_column(String(SOURCE_MAX), index=True)
