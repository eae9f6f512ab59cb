"""Reads for a person browsing incidents (the console): a page of the incidents the caller
may see, continued by row id, through the service's one visibility rule
(``service.visible_clause``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from renkei.incidents.model import Status
from renkei.incidents.service import Caller, visible_clause
from renkei.incidents.store import Incident

PAGE_MAX = 200


def incidents(session: Session, caller: Caller, *, status: Status | None = None,
              before: int | None = None,
              limit: int = 50) -> list[Incident]:
    """The incidents ``caller`` may see, newest first; ``before`` an id continues a page."""
    stmt = select(Incident).where(visible_clause(caller))
    if status is not None:
        stmt = stmt.where(Incident.status == status.value)
    if before is not None:
        stmt = stmt.where(Incident.id < before)
    return list(session.scalars(stmt.order_by(Incident.id.desc())
                                .limit(max(1, min(limit, PAGE_MAX)))))
