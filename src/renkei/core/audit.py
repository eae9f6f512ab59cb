"""Writing the audit log; every state-changing service call goes through ``record``."""

from __future__ import annotations

import getpass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from renkei.core.models import AuditEvent
from renkei.core.time import Clock


def current_actor() -> str:
    """The local user running a CLI command; the API will pass its authenticated user."""
    try:
        return f"local:{getpass.getuser()}"
    except (KeyError, OSError):
        return "local:unknown"


def record(
    session: Session,
    clock: Clock,
    *,
    action: str,
    actor: str | None = None,
    target: str = "",
    source: str = "cli",
    details: dict[str, Any] | None = None,
    organisation_id: int | None = None,
) -> AuditEvent:
    event = AuditEvent(
        at=clock.now(),
        actor=actor or current_actor(),
        action=action,
        target=target,
        source=source,
        details=details or {},
        organisation_id=organisation_id,
    )
    session.add(event)
    return event


def recent(session: Session, limit: int = 50) -> list[AuditEvent]:
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    return list(session.scalars(stmt))


def search(
    session: Session,
    *,
    actor: str = "",
    action: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[AuditEvent]:
    """Events newest first: of ``actor`` exactly, whose action starts with ``action``
    (``users.`` for every change to users), at or after ``since`` and before ``until``;
    ``before_id`` pages on (the last id of the page before)."""
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(max(1, min(limit, 500)))
    if actor:
        stmt = stmt.where(AuditEvent.actor == actor)
    if action:
        stmt = stmt.where(AuditEvent.action.startswith(action, autoescape=True))
    if since is not None:
        stmt = stmt.where(AuditEvent.at >= since)
    if until is not None:
        stmt = stmt.where(AuditEvent.at < until)
    if before_id is not None:
        stmt = stmt.where(AuditEvent.id < before_id)
    return list(session.scalars(stmt))


def happened_since(session: Session, action: str, target: str, since: datetime) -> bool:
    """Whether ``action`` was done to ``target`` at or after ``since`` (e.g. a user was
    disabled after a console session began: enabling them again must not revive it)."""
    stmt = (select(AuditEvent.id).where(AuditEvent.action == action,
                                        AuditEvent.target == target, AuditEvent.at >= since)
            .limit(1))
    return session.scalar(stmt) is not None
