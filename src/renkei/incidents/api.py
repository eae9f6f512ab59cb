"""The incidents domain's REST API under ``/api/v1/incidents``.

The hub's staff see and handle every incident; a member sees the incidents that affect
it (and of the other affected members only how many there are), opens incidents of its
own by hand, and adds notes, tasks, indicators and references to them. What a caller may
not see answers 404, exactly as what does not exist. The rules live in
``incidents.service``; these routes only translate.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from renkei.core.config import SmtpSettings, load_config
from renkei.core.http import ERROR_RESPONSES, Body, Instant, RowId, work
from renkei.core.models import Scope
from renkei.incidents import metrics, notify_api, service, view
from renkei.incidents.model import Sla
from renkei.incidents.service import Caller

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"],
                   responses=ERROR_RESPONSES)
# contacts and webhooks first: the /{incident_id} routes would take "contacts" for an id
router.include_router(notify_api.router)
LOOSE = 4 * 20_000  # bodies are bounded here loosely; the service says what is allowed


def sla_of(request: Request) -> Sla:
    """The SLA settings, read once per application."""
    found: Sla | None = getattr(request.app.state, "incident_sla", None)
    if found is None:
        found = Sla.from_settings(load_config().incident_sla)
        request.app.state.incident_sla = found
    return found


class IncidentIn(Body):
    title: str | None = Field(None, max_length=LOOSE)
    severity: str | None = Field(None, max_length=40)
    category: str | None = Field(None, max_length=60)
    organisations: list[str] = Field(default_factory=list, max_length=service.MAX_ORGANISATIONS)
    description: str = Field("", max_length=LOOSE)
    tlp: str | None = Field(None, max_length=40)
    source: str | None = Field(None, max_length=600,
                               description="A record to open it from: logs-alert:ID, "
                                           "vulns-alert:ID, shared:STIX_ID, sensors-finding:ID")
    occurred_at: Instant | None = None
    detected_at: Instant | None = None


class SlaOut(BaseModel):
    acknowledge_by: datetime
    resolve_by: datetime
    overdue: list[str]


class IncidentOut(BaseModel):
    id: int
    title: str
    description: str
    severity: str
    category: str
    status: str
    tlp: str
    source: str
    assignee: str | None
    organisations: list[str]
    other_organisations: int
    occurred_at: datetime | None
    detected_at: datetime | None
    created_at: datetime
    updated_at: datetime
    sla: SlaOut


class EventOut(BaseModel):
    id: int
    at: datetime
    kind: str
    actor: str
    status: str
    note: str
    details: dict[str, Any]


class TaskOut(BaseModel):
    id: int
    title: str
    created_at: datetime
    done_at: datetime | None


class IndicatorOut(BaseModel):
    id: int
    type: str
    value: str
    added_at: datetime


class LinkOut(BaseModel):
    kind: str
    ref: str
    origin: bool
    linked_at: datetime


class TimingsOut(BaseModel):
    detect: float | None
    acknowledge: float | None
    resolve: float | None


class IncidentDetail(IncidentOut):
    timings: TimingsOut
    events: list[EventOut]
    tasks: list[TaskOut]
    indicators: list[IndicatorOut]
    links: list[LinkOut]


class TransitionIn(Body):
    status: str = Field(max_length=40)
    note: str = Field("", max_length=LOOSE)


class AssignIn(Body):
    user: str | None = Field(None, max_length=254, description="A hub user's e-mail; null: no one")


class SeverityIn(Body):
    severity: str = Field(max_length=40)
    note: str = Field("", max_length=LOOSE)


class TaskIn(Body):
    title: str = Field(max_length=LOOSE)


class NoteIn(Body):
    text: str = Field(max_length=LOOSE)


class IndicatorIn(Body):
    type: str = Field(max_length=40)
    value: str = Field(max_length=4096)


class EvidenceIn(Body):
    kind: str = Field(max_length=40)
    ref: str = Field(max_length=2000)


class ShareIn(Body):
    collection: str | None = Field(None, max_length=100)
    recipients: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list, max_length=100,
        description="TLP:AMBER only: members that read the indicators instead of the "
                    "collection's communities")
    to_affected: bool = Field(False, description="TLP:AMBER only: the members the incident "
                                                 "affects read the indicators")


@router.get("", summary="Incidents you may see, newest first", response_model=list[IncidentOut])
def list_incidents(request: Request, status: Annotated[str | None, Query(max_length=40)] = None,
                   overdue: bool = False,
                   limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> list[dict[str, Any]]:
    with work(request) as w:
        caller, sla, now = Caller.of(w.principal, w.source), sla_of(request), w.clock.now()
        if overdue:
            rows = [i for i, _ in metrics.overdue(w.session, caller, sla, now, limit=limit)]
        else:
            rows = service.list_incidents(w.session, caller, status=status, limit=limit)
        return [view.summary(w.session, caller, i, sla, now) for i in rows]


@router.post("", summary="Open an incident, by hand or from a record", status_code=201,
             response_model=IncidentDetail)
def create(body: IncidentIn, request: Request) -> IncidentDetail:
    with work(request, Scope.SUBMIT) as w:
        caller = Caller.of(w.principal, w.source)
        incident = service.create(
            w.session, w.clock, caller, title=body.title, severity=body.severity,
            category=body.category, organisations=body.organisations,
            description=body.description, tlp=body.tlp, source=body.source,
            occurred_at=body.occurred_at, detected_at=body.detected_at)
        return IncidentDetail(**view.detail(w.session, caller, incident, sla_of(request),
                                             w.clock.now()))


@router.get("/metrics", summary="Counts, SLA and time to detect, acknowledge and resolve "
            "over the incidents you may see")
def get_metrics(request: Request, since: Instant | None = None) -> dict[str, Any]:
    with work(request) as w:
        return metrics.metrics(w.session, Caller.of(w.principal, w.source), sla_of(request),
                               w.clock.now(), since=since)


@router.get("/{incident_id}", summary="An incident with its history, tasks, indicators and "
            "links", response_model=IncidentDetail)
def get_incident(incident_id: RowId, request: Request) -> IncidentDetail:
    with work(request) as w:
        caller = Caller.of(w.principal, w.source)
        incident = service.get(w.session, caller, incident_id)
        return IncidentDetail(**view.detail(w.session, caller, incident, sla_of(request),
                                             w.clock.now()))


@router.post("/{incident_id}/transition", summary="Move an incident to another status "
             "(the hub's staff)", response_model=IncidentOut)
def transition(incident_id: RowId, body: TransitionIn, request: Request) -> dict[str, Any]:
    with work(request, Scope.SUBMIT) as w:
        caller = Caller.of(w.principal, w.source)
        incident = service.transition(w.session, w.clock, caller, incident_id, body.status,
                                      note=body.note)
        return view.summary(w.session, caller, incident, sla_of(request), w.clock.now())


@router.post("/{incident_id}/assign", summary="Assign an incident to one of the hub's users",
             response_model=IncidentOut)
def assign(incident_id: RowId, body: AssignIn, request: Request) -> dict[str, Any]:
    with work(request, Scope.SUBMIT) as w:
        caller = Caller.of(w.principal, w.source)
        incident = service.assign(w.session, w.clock, caller, incident_id, body.user)
        return view.summary(w.session, caller, incident, sla_of(request), w.clock.now())


@router.post("/{incident_id}/severity", summary="Change an incident's severity",
             response_model=IncidentOut)
def severity(incident_id: RowId, body: SeverityIn, request: Request) -> dict[str, Any]:
    with work(request, Scope.SUBMIT) as w:
        caller = Caller.of(w.principal, w.source)
        incident = service.set_severity(w.session, w.clock, caller, incident_id, body.severity,
                                        note=body.note)
        return view.summary(w.session, caller, incident, sla_of(request), w.clock.now())


@router.post("/{incident_id}/tasks", summary="Add a task", status_code=201,
             response_model=TaskOut)
def add_task(incident_id: RowId, body: TaskIn, request: Request) -> TaskOut:
    with work(request, Scope.SUBMIT) as w:
        task = service.add_task(w.session, w.clock, Caller.of(w.principal, w.source),
                                incident_id, body.title)
        return TaskOut(id=task.id, title=task.title, created_at=task.created_at,
                       done_at=task.done_at)


@router.post("/{incident_id}/tasks/{task_id}/done", summary="Mark a task done",
             response_model=TaskOut)
def task_done(incident_id: RowId, task_id: RowId, request: Request) -> TaskOut:
    with work(request, Scope.SUBMIT) as w:
        task = service.complete_task(w.session, w.clock, Caller.of(w.principal, w.source),
                                     incident_id, task_id)
        return TaskOut(id=task.id, title=task.title, created_at=task.created_at,
                       done_at=task.done_at)


@router.post("/{incident_id}/notes", summary="Add a note", status_code=201,
             response_model=EventOut)
def add_note(incident_id: RowId, body: NoteIn, request: Request) -> EventOut:
    with work(request, Scope.SUBMIT) as w:
        event = service.add_note(w.session, w.clock, Caller.of(w.principal, w.source),
                                 incident_id, body.text)
        return EventOut(id=event.id, at=event.at, kind=event.kind, actor=event.actor,
                        status=event.status, note=event.note, details=event.details)


@router.post("/{incident_id}/indicators", summary="Add an indicator", status_code=201,
             response_model=IndicatorOut)
def add_indicator(incident_id: RowId, body: IndicatorIn, request: Request) -> IndicatorOut:
    with work(request, Scope.SUBMIT) as w:
        row = service.add_indicator(w.session, w.clock, Caller.of(w.principal, w.source),
                                    incident_id, body.type, body.value)
        return IndicatorOut(id=row.id, type=row.type, value=row.value, added_at=row.added_at)


@router.post("/{incident_id}/evidence", summary="Link a record or a reference as evidence",
             status_code=201, response_model=LinkOut)
def link_evidence(incident_id: RowId, body: EvidenceIn, request: Request) -> LinkOut:
    with work(request, Scope.SUBMIT) as w:
        link = service.link_evidence(w.session, w.clock, Caller.of(w.principal, w.source),
                                     incident_id, body.kind, body.ref)
        return LinkOut(kind=link.kind, ref=link.ref, origin=link.origin,
                       linked_at=link.linked_at)


class NotifyOut(BaseModel):
    sent: int = Field(description="Messages and webhook calls delivered")
    failed: int = Field(description="Recorded as failed; `renkei incidents notify-retry` "
                                    "tries them again")
    email_configured: bool = Field(description="False: no SMTP server, so no e-mail was sent")


def smtp_of(request: Request) -> SmtpSettings:
    """The app's SMTP settings (``create_app``'s configuration)."""
    found: SmtpSettings | None = getattr(request.app.state, "smtp", None)
    return found if found is not None else load_config().smtp


@router.post("/{incident_id}/notify", summary="Tell the affected members now: their contacts "
             "by e-mail, their webhooks signed (the hub's staff)", response_model=NotifyOut)
def notify_members(incident_id: RowId, request: Request) -> NotifyOut:
    from renkei.incidents import notify

    with work(request, Scope.SUBMIT) as w:
        result = notify.notify(w.session, w.clock, Caller.of(w.principal, w.source),
                               incident_id, smtp_of(request))
        return NotifyOut(sent=result.sent, failed=result.failed,
                         email_configured=result.email_configured)


@router.post("/{incident_id}/share", summary="Share the incident's indicators as STIX under "
             "its TLP (the hub's staff)")
def share(incident_id: RowId, body: ShareIn, request: Request) -> dict[str, Any]:
    from renkei.incidents.share import share_indicators

    with work(request, Scope.SUBMIT) as w:
        rows = share_indicators(w.session, w.clock, Caller.of(w.principal, w.source),
                                incident_id, collection=body.collection,
                                recipients=body.recipients, to_affected=body.to_affected)
        return {"published": [row.stix_id for row in rows]}
