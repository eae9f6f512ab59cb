"""Writing the audit log; every state-changing service call goes through ``record``."""

from __future__ import annotations

import getpass
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
