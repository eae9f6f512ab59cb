"""SLA deadlines, overdue incidents, and time to detect, acknowledge and resolve.

Everything is derived: deadlines from the incident's severity, its opening and the SLA
settings; timings from its status events (``model.timings``). Only incidents the caller may
see are counted (``service.visible_clause``), so a member's figures say nothing of another
member's incidents.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from renkei.incidents.model import EventKind, Severity, Sla, Status, StatusChange, Timings, timings
from renkei.incidents.service import Caller, visible_clause
from renkei.incidents.store import Incident, IncidentEvent


@dataclass(frozen=True)
class SlaView:
    """One incident's deadlines and what of them is late now."""

    acknowledge_by: datetime
    resolve_by: datetime
    late: tuple[str, ...]


def sla_of(incident: Incident, sla: Sla, now: datetime) -> SlaView:
    severity, status = Severity(incident.severity), Status(incident.status)
    return SlaView(sla.acknowledge_by(severity, incident.created_at),
                   sla.resolve_by(severity, incident.created_at),
                   tuple(sla.overdue(severity, status, incident.created_at, now)))


def overdue(session: Session, caller: Caller, sla: Sla, now: datetime,
            *, limit: int = 5000) -> list[tuple[Incident, SlaView]]:
    """The open incidents ``caller`` may see that are past a deadline, most severe first."""
    stmt = (select(Incident).where(visible_clause(caller),
                                   Incident.status.in_([s.value for s in Status if s.is_open]))
            .order_by(Incident.id).limit(limit))
    late = [(i, sla_of(i, sla, now)) for i in session.scalars(stmt)]
    found = [(i, view) for i, view in late if view.late]
    return sorted(found, key=lambda pair: (Severity(pair[0].severity).rank, pair[0].id))


def _changes(session: Session, ids: Sequence[int]) -> dict[int, list[StatusChange]]:
    found: dict[int, list[StatusChange]] = defaultdict(list)
    for start in range(0, len(ids), 1000):
        rows = session.execute(select(IncidentEvent.incident_id, IncidentEvent.at,
                                      IncidentEvent.status).where(
            IncidentEvent.incident_id.in_(ids[start:start + 1000]),
            IncidentEvent.kind.in_([EventKind.CREATED.value, EventKind.STATUS.value])))
        for incident_id, at, status in rows:
            found[incident_id].append(StatusChange(at, Status(status)))
    return found


def timings_of(session: Session, incidents: Sequence[Incident]) -> dict[int, Timings]:
    """Each incident's timings, from its events."""
    changes = _changes(session, [i.id for i in incidents])
    return {i.id: timings(opened=i.created_at, occurred=i.occurred_at, detected=i.detected_at,
                          changes=changes.get(i.id, [])) for i in incidents}


def _summary(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"count": 0, "mean": None, "median": None}
    return {"count": len(values), "mean": round(statistics.fmean(values), 1),
            "median": round(statistics.median(values), 1)}


def metrics(session: Session, caller: Caller, sla: Sla, now: datetime, *,
            since: datetime | None = None) -> dict[str, Any]:
    """Counts and timings over the incidents ``caller`` may see (opened since ``since``):
    by status and severity, overdue ones, and time to detect, acknowledge and resolve in
    seconds (count, mean, median), with how many met their SLA."""
    stmt = select(Incident).where(visible_clause(caller))
    if since is not None:
        stmt = stmt.where(Incident.created_at >= since)
    incidents = list(session.scalars(stmt.order_by(Incident.id)))
    found = timings_of(session, incidents)
    detect, ack, resolve = [], [], []
    met = Counter[str]()
    late = Counter[str]()
    for incident in incidents:
        timing = found[incident.id]
        severity = Severity(incident.severity)
        deadlines = sla.deadlines[severity]
        if timing.detect is not None:
            detect.append(timing.detect)
        if timing.acknowledge is not None:
            ack.append(timing.acknowledge)
            met["acknowledge"] += timing.acknowledge <= deadlines.acknowledge.total_seconds()
        if timing.resolve is not None:
            resolve.append(timing.resolve)
            met["resolve"] += timing.resolve <= deadlines.resolve.total_seconds()
        for what in sla.overdue(severity, Status(incident.status), incident.created_at, now):
            late[what] += 1
    return {
        "incidents": len(incidents),
        "open": sum(Status(i.status).is_open for i in incidents),
        "by_status": {s.value: sum(i.status == s.value for i in incidents) for s in Status},
        "by_severity": {s.value: sum(i.severity == s.value for i in incidents)
                        for s in Severity},
        "overdue": {"acknowledge": late["acknowledge"], "resolve": late["resolve"]},
        "time_to_detect": _summary(detect),
        "time_to_acknowledge": {**_summary(ack), "within_sla": met["acknowledge"]},
        "time_to_resolve": {**_summary(resolve), "within_sla": met["resolve"]},
    }
