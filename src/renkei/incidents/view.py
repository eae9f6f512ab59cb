"""An incident as the API and the CLI show it: one shape for both, built from the
service's reads (what a member may not know, such as the other affected members, is
already left out there)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from renkei.incidents import metrics, service
from renkei.incidents.model import Sla
from renkei.incidents.service import Caller
from renkei.incidents.store import Incident


def summary(session: Session, caller: Caller, incident: Incident, sla: Sla,
            now: datetime) -> dict[str, Any]:
    names, others = service.affected(session, caller, incident)
    deadlines = metrics.sla_of(incident, sla, now)
    source = (f"{incident.source_kind}:{incident.source_ref}" if incident.source_ref
              else incident.source_kind)
    return {"id": incident.id, "title": incident.title, "description": incident.description,
            "severity": incident.severity, "category": incident.category,
            "status": incident.status, "tlp": incident.tlp, "source": source,
            "assignee": service.assignee_email(session, incident), "organisations": names,
            "other_organisations": others, "occurred_at": incident.occurred_at,
            "detected_at": incident.detected_at, "created_at": incident.created_at,
            "updated_at": incident.updated_at,
            "sla": {"acknowledge_by": deadlines.acknowledge_by,
                    "resolve_by": deadlines.resolve_by, "overdue": list(deadlines.late)}}


# What an event records of the other members an incident affects and of their contacts:
# which organisations, whom a notification went to, why it failed (a refused address).
STAFF_ONLY_DETAILS = frozenset({"organisations", "organisation", "recipients", "error",
                                "notification", "target"})


def event_details(caller: Caller, details: dict[str, Any]) -> dict[str, Any]:
    """An event's details as ``caller`` may read them: a member never learns which other
    members an incident affects, nor their addresses (docs/incidents.md)."""
    if caller.is_hub_staff:
        return details
    return {k: v for k, v in details.items() if k not in STAFF_ONLY_DETAILS}


def detail(session: Session, caller: Caller, incident: Incident, sla: Sla,
           now: datetime) -> dict[str, Any]:
    timing = metrics.timings_of(session, [incident])[incident.id]
    return {
        **summary(session, caller, incident, sla, now),
        "timings": {"detect": timing.detect, "acknowledge": timing.acknowledge,
                    "resolve": timing.resolve},
        "events": [{"id": e.id, "at": e.at, "kind": e.kind, "actor": e.actor,
                    "status": e.status, "note": e.note,
                    "details": event_details(caller, e.details)}
                   for e in service.events(session, incident)],
        "tasks": [{"id": t.id, "title": t.title, "created_at": t.created_at,
                   "done_at": t.done_at} for t in service.tasks(session, incident)],
        "indicators": [{"id": i.id, "type": i.type, "value": i.value, "added_at": i.added_at}
                       for i in service.indicators(session, incident)],
        "links": [{"kind": link.kind, "ref": link.ref, "origin": link.origin,
                   "linked_at": link.linked_at} for link in service.links(session, incident)],
    }


def as_json(value: Any) -> Any:
    """``value`` with datetimes as ISO 8601 text, for ``json.dumps``."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_json(v) for v in value]
    return value
