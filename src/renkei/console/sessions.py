"""Console sessions: opened, found again from the cookie, and ended.

A session ends when it is signed out or revoked, when it has been idle for ``IDLE``, at
``ABSOLUTE`` after it began whatever its use, when its user is disabled (by any means:
the audit log's ``users.disable`` after the session began counts, so enabling the user
again revives nothing), and when the user's password or second factor changes
(``credential_tag``, see ``store``). A session
waiting for a second factor lives ``PENDING`` at most. ``resolve`` answers None for each
of these alike; the caller sends the browser to the sign-in page.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from renkei.console.store import SOURCE_MAX, USER_AGENT_MAX, ConsoleSession, Stage
from renkei.core import audit
from renkei.core.members import TOKEN_HASHER
from renkei.core.models import User
from renkei.core.text import has_control_characters
from renkei.core.time import Clock

IDLE = timedelta(minutes=30)
ABSOLUTE = timedelta(hours=12)
PENDING = timedelta(minutes=5)
SEEN_PRECISION = timedelta(minutes=1)  # last_seen_at is written at most once a minute
COOKIE_PATTERN = re.compile(r"([0-9a-f]{16})\.([A-Za-z0-9_-]{43})")
COOKIE_MAX_CHARS = 100


@dataclass(frozen=True)
class Opened:
    """A new session: ``cookie`` is the only copy of its secret; set it and forget it."""

    cookie: str
    row: ConsoleSession


def credential_tag(user: User) -> str:
    """A fingerprint of what the user signed in with; it changes when either changes."""
    material = f"{user.password_hash}\0{user.totp_secret or ''}".encode()
    return hashlib.sha256(material).hexdigest()


def _clean(text: str, most: int) -> str:
    cut = text[:most]
    return "" if has_control_characters(cut) else cut


def open_session(session: Session, clock: Clock, user: User, stage: Stage, *, source: str,
                 user_agent: str, pending_totp_secret: str | None = None) -> Opened:
    now = clock.now()
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    row = ConsoleSession(
        key_id=key_id, secret_hash=TOKEN_HASHER.hash(secret), user_id=user.id,
        stage=stage.value, csrf_token=secrets.token_urlsafe(32),
        credential_tag=credential_tag(user), pending_totp_secret=pending_totp_secret,
        created_at=now, last_seen_at=now,
        expires_at=now + (ABSOLUTE if stage is Stage.ACTIVE else PENDING),
        source=_clean(source, SOURCE_MAX), user_agent=_clean(user_agent, USER_AGENT_MAX))
    session.add(row)
    session.flush()
    return Opened(cookie=f"{key_id}.{secret}", row=row)


def _secret_matches(stored: str, secret: str) -> bool:
    try:
        return TOKEN_HASHER.verify(stored, secret)
    except (VerificationError, InvalidHashError):
        return False


def resolve(session: Session, clock: Clock, cookie: str,
            stages: Iterable[Stage] = (Stage.ACTIVE,)) -> tuple[ConsoleSession, User] | None:
    """The live session the cookie stands for, at one of ``stages``, and its user."""
    match = COOKIE_PATTERN.fullmatch(cookie) if len(cookie) <= COOKIE_MAX_CHARS else None
    if match is None:
        return None
    row = session.scalar(select(ConsoleSession).where(ConsoleSession.key_id == match.group(1)))
    if row is None or not _secret_matches(row.secret_hash, match.group(2)):
        return None
    now = clock.now()
    user = session.get(User, row.user_id)
    if (row.revoked_at is not None or row.expires_at <= now or now - row.last_seen_at > IDLE
            or row.stage not in {s.value for s in stages} or user is None):
        return None
    if (user.disabled_at is not None or row.credential_tag != credential_tag(user)
            or audit.happened_since(session, "users.disable", f"user:{user.id}",
                                    row.created_at)):
        revoke(session, clock, row)  # for good: enabling the user again revives nothing
        return None
    if now - row.last_seen_at >= SEEN_PRECISION:
        row.last_seen_at = now  # not on every request: each page would become a write
        session.flush()
    return row, user


def revoke(session: Session, clock: Clock, row: ConsoleSession) -> None:
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        session.flush()


def revoke_all_of(session: Session, clock: Clock, user_id: int) -> int:
    """End every live session of a user; how many there were."""
    result = session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.user_id == user_id, ConsoleSession.revoked_at.is_(None))
        .values(revoked_at=clock.now()))
    return int(getattr(result, "rowcount", 0) or 0)
