"""Members' sightings of shared objects: each member reports what it saw; everyone who may
read the object sees how often and by how many organisations, never which ones.

A sighting of an object the caller may not read is refused exactly as one of an object
that does not exist, so reporting reveals nothing either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from renkei.core import audit
from renkei.core.members import Principal, require_scope
from renkei.core.models import Scope
from renkei.core.time import Clock, as_utc
from renkei.sharing.policy import Viewer
from renkei.sharing.service import WorkflowError
from renkei.sharing.store import Sighting, visible_objects

MAX_COUNT = 1_000_000_000


@dataclass(frozen=True)
class SightingSummary:
    """What anyone who may read the object learns: totals, and the caller's own share."""

    stix_id: str
    count: int
    organisations: int
    first_seen: datetime | None
    last_seen: datetime | None
    yours: int

    def as_dict(self) -> dict[str, object]:
        return {"stix_id": self.stix_id, "count": self.count,
                "organisations": self.organisations,
                "first_seen": self.first_seen.isoformat() if self.first_seen else None,
                "last_seen": self.last_seen.isoformat() if self.last_seen else None,
                "yours": self.yours}


def _require_readable(session: Session, principal: Principal, stix_id: str) -> None:
    if not visible_objects(session, Viewer.of(principal), stix_id=stix_id[:100]):
        raise WorkflowError("no shared object {id}", status=404, id=stix_id[:100])


def report(session: Session, clock: Clock, principal: Principal, stix_id: str, *,
           count: int = 1, first_seen: datetime | None = None,
           last_seen: datetime | None = None, source: str = "api") -> Sighting:
    """Record that the caller's organisation saw ``stix_id`` ``count`` times."""
    require_scope(principal, Scope.SUBMIT)
    _require_readable(session, principal, stix_id)
    if not 1 <= count <= MAX_COUNT:
        raise WorkflowError("a sighting's count is 1 to {most}", status=400, most=MAX_COUNT)
    for value in (first_seen, last_seen):
        if value is not None and value.tzinfo is None:
            raise WorkflowError("a sighting's times need a time zone (Z)", status=400)
    now = clock.now()
    first, last = first_seen or now, last_seen or first_seen or now
    if last < first:
        raise WorkflowError("last_seen is before first_seen", status=400)
    row = Sighting(stix_id=stix_id, organisation_id=principal.organisation_id,
                   user_id=principal.user_id, count=count, first_seen=first, last_seen=last,
                   reported_at=now)
    session.add(row)
    audit.record(session, clock, action="sharing.sighting", actor=principal.actor,
                 target=stix_id, source=source, organisation_id=principal.organisation_id,
                 details={"count": count})
    session.flush()
    return row


def summary(session: Session, principal: Principal, stix_id: str) -> SightingSummary:
    """Totals of the sightings of an object the caller may read."""
    _require_readable(session, principal, stix_id)
    total, organisations, first, last = session.execute(
        select(func.coalesce(func.sum(Sighting.count), 0),
               func.count(func.distinct(Sighting.organisation_id)),
               func.min(Sighting.first_seen), func.max(Sighting.last_seen))
        .where(Sighting.stix_id == stix_id)).one()
    yours = session.scalar(select(func.coalesce(func.sum(Sighting.count), 0)).where(
        Sighting.stix_id == stix_id, Sighting.organisation_id == principal.organisation_id))
    return SightingSummary(stix_id=stix_id, count=int(total), organisations=int(organisations),
                           first_seen=_aware(first), last_seen=_aware(last),
                           yours=int(yours or 0))


def _aware(value: datetime | str | None) -> datetime | None:
    """min()/max() come back as text on SQLite."""
    if value is None:
        return None
    return as_utc(datetime.fromisoformat(value) if isinstance(value, str) else value)
