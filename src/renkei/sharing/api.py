"""The sharing domain's REST API under ``/api/v1``: search shared objects, sightings, and
members' reports from submission to publication.

Every read goes through the TLP policy (``store.visible_objects``) or the workflow's own
checks (``service.get_submission``); an object or submission the caller may not see is
"not found", exactly as one that does not exist. Published objects are shown with their
STIX body, marking and date added, never with the organisation or person behind them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from renkei.core.http import (
    ERROR_RESPONSES,
    Body,
    HttpError,
    IdValue,
    Instant,
    RowId,
    ZonedInstant,
    work,
)
from renkei.core.models import Scope
from renkei.core.tlp import Tlp
from renkei.sharing import exchange, service, sightings
from renkei.sharing.policy import Viewer
from renkei.sharing.store import (
    SharedObject,
    Submission,
    SubmissionState,
    visible_objects,
)

router = APIRouter(prefix="/api/v1", tags=["sharing"], responses=ERROR_RESPONSES)

_JSON_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"type": "object", "description":
                                    "A STIX 2.1 bundle, or a simple report: title, "
                                    "description, tlp, indicators [{type, value}]"}}}}}


async def json_body(request: Request) -> bytes:
    """The raw JSON body (415 for another media type); parsed, bounded, by the service."""
    kind = request.headers.get("content-type", "")[:200].split(";")[0].strip().lower()
    if kind not in ("application/json", "application/stix+json", "application/taxii+json"):
        raise HttpError(415, "send {media_type}", media_type="application/json")
    return await request.body()


class PrincipalOut(BaseModel):
    organisation: str
    is_hub: bool
    role: str
    scopes: list[str]
    user_id: int | None


class SharedObjectOut(BaseModel):
    id: str
    type: str
    version: datetime
    date_added: datetime
    marking: str
    object: dict[str, Any]


class SightingIn(Body):
    count: int = Field(1, ge=1, le=sightings.MAX_COUNT)
    first_seen: ZonedInstant | None = None
    last_seen: ZonedInstant | None = None


class SightingsOut(BaseModel):
    stix_id: str
    count: int
    organisations: int
    first_seen: datetime | None
    last_seen: datetime | None
    yours: int


class SubmissionOut(BaseModel):
    id: int
    state: str
    marking: str
    submitted_at: datetime
    objects: int


class EventOut(BaseModel):
    at: datetime
    action: str
    state: str


class SubmissionDetail(SubmissionOut):
    original: dict[str, Any]
    sanitised: dict[str, Any] | None
    diff: str
    events: list[EventOut]


class SanitiseIn(Body):
    own_domains: list[Annotated[str, Field(max_length=253)]] = Field(default=[], max_length=200)
    own_networks: list[Annotated[str, Field(max_length=50)]] = Field(default=[], max_length=200)
    staff_names: list[Annotated[str, Field(max_length=200)]] = Field(default=[], max_length=500)


class RejectIn(Body):
    reason: str = Field("", max_length=500)


def _object_out(row: SharedObject) -> SharedObjectOut:
    return SharedObjectOut(id=row.stix_id, type=row.stix_type, version=row.version,
                           date_added=row.date_added, marking=row.marking, object=row.body)


def _submission_out(row: Submission) -> SubmissionOut:
    return SubmissionOut(id=row.id, state=row.state.value, marking=row.marking,
                         submitted_at=row.submitted_at,
                         objects=len(row.original.get("objects", [])))


@router.get("/whoami", response_model=PrincipalOut, tags=["members"])
def whoami(request: Request) -> PrincipalOut:
    with work(request) as w:
        p = w.principal
        return PrincipalOut(organisation=p.organisation_name, is_hub=p.is_hub,
                            role=p.role.value, scopes=sorted(s.value for s in p.scopes),
                            user_id=p.user_id)


@router.get("/sharing/objects", response_model=list[SharedObjectOut])
def search_objects(request: Request,
                   type: Annotated[str | None, Query(max_length=100)] = None,
                   contains: Annotated[str | None, Query(max_length=500)] = None,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[SharedObjectOut]:
    """The newest shared object versions the caller may read, optionally by type or text."""
    with work(request) as w:
        rows = visible_objects(w.session, Viewer.of(w.principal), stix_type=type,
                               contains=contains, newest_first=True, limit=limit)
        return [_object_out(r) for r in rows]


@router.get("/sharing/objects/{stix_id}", response_model=list[SharedObjectOut])
def get_object(stix_id: str, request: Request) -> list[SharedObjectOut]:
    """Every version of one object that the caller may read."""
    with work(request) as w:
        rows = visible_objects(w.session, Viewer.of(w.principal), stix_id=stix_id[:100])
        if not rows:
            raise HttpError(404, "no shared object {id}", id=stix_id[:100])
        return [_object_out(r) for r in rows]


@router.get("/sharing/objects/{stix_id}/sightings", response_model=SightingsOut)
def get_sightings(stix_id: str, request: Request) -> SightingsOut:
    """How often the object was seen and by how many organisations (never which)."""
    with work(request) as w:
        found = sightings.summary(w.session, w.principal, stix_id)
        return SightingsOut(**found.__dict__)


@router.post("/sharing/objects/{stix_id}/sightings", response_model=SightingsOut,
             status_code=201)
def report_sighting(stix_id: str, sighting: SightingIn, request: Request) -> SightingsOut:
    with work(request, Scope.SUBMIT) as w:
        sightings.report(w.session, w.clock, w.principal, stix_id, count=sighting.count,
                         first_seen=sighting.first_seen, last_seen=sighting.last_seen,
                         source=w.source)
        found = sightings.summary(w.session, w.principal, stix_id)
        return SightingsOut(**found.__dict__)


@router.post("/sharing/submissions", response_model=SubmissionOut, status_code=201,
             openapi_extra=_JSON_BODY)
def submit(request: Request, body: Annotated[bytes, Depends(json_body)],
           recipient_org: Annotated[list[IdValue] | None, Query(max_length=100)] = None,
           recipient_org_name: Annotated[list[Annotated[str, Field(max_length=200)]] | None,
                                         Query(max_length=100)] = None,
           recipient_user: Annotated[list[IdValue] | None, Query(max_length=100)] = None,
           recipient_email: Annotated[list[Annotated[str, Field(max_length=254)]] | None,
                                      Query(max_length=100)] = None,
           ) -> SubmissionOut:
    """A member's report (a STIX 2.1 bundle or a simple report), kept for sanitisation.

    ``recipient_org`` (an organisation's id) and ``recipient_org_name`` name the
    organisations that may read a TLP:AMBER report, ``recipient_user`` (a user's id) and
    ``recipient_email`` the people who may read a TLP:RED one. None is looked up until the
    hub publishes, so the answer is the same whether or not each exists (one that does
    not reads nothing)."""
    with work(request, Scope.SUBMIT) as w:
        row = service.submit(w.session, w.clock, w.principal, body,
                             recipient_orgs=recipient_org or (),
                             recipient_org_names=recipient_org_name or (),
                             recipient_users=recipient_user or (),
                             recipient_emails=recipient_email or (), source=w.source)
        return _submission_out(row)


@router.get("/sharing/submissions", response_model=list[SubmissionOut])
def list_submissions(request: Request,
                     state: Annotated[SubmissionState | None, Query()] = None,
                     ) -> list[SubmissionOut]:
    """The caller's organisation's submissions; every submission for the hub's staff."""
    with work(request) as w:
        return [_submission_out(r) for r in service.list_submissions(
            w.session, w.principal, state=state)]


@router.get("/sharing/submissions/{submission_id}", response_model=SubmissionDetail)
def get_submission(submission_id: RowId, request: Request) -> SubmissionDetail:
    """A submission with its sanitised version, the diff and its history."""
    with work(request) as w:
        row = service.get_submission(w.session, w.principal, submission_id)
        events = service.submission_events(w.session, w.principal, submission_id)
        out = _submission_out(row)
        return SubmissionDetail(**out.model_dump(), original=row.original,
                                sanitised=row.sanitised, diff=row.diff,
                                events=[EventOut(at=e.at, action=e.action, state=e.state.value)
                                        for e in events])


@router.post("/sharing/submissions/{submission_id}/sanitise", response_model=SubmissionOut)
def sanitise(submission_id: RowId, own: SanitiseIn, request: Request) -> SubmissionOut:
    with work(request, Scope.SUBMIT) as w:
        row = service.sanitise(w.session, w.clock, w.principal, submission_id,
                               own_domains=own.own_domains, own_networks=own.own_networks,
                               staff_names=own.staff_names, source=w.source)
        return _submission_out(row)


@router.post("/sharing/submissions/{submission_id}/approve", response_model=SubmissionOut)
def approve(submission_id: RowId, request: Request) -> SubmissionOut:
    """The submitter's consent to publish the sanitised version."""
    with work(request, Scope.SUBMIT) as w:
        return _submission_out(service.approve(w.session, w.clock, w.principal, submission_id,
                                               source=w.source))


@router.post("/sharing/submissions/{submission_id}/reject", response_model=SubmissionOut)
def reject(submission_id: RowId, body: RejectIn, request: Request) -> SubmissionOut:
    with work(request, Scope.SUBMIT) as w:
        return _submission_out(service.reject(w.session, w.clock, w.principal, submission_id,
                                              body.reason, source=w.source))


@router.post("/sharing/submissions/{submission_id}/publish",
             response_model=list[SharedObjectOut])
def publish(submission_id: RowId, request: Request) -> list[SharedObjectOut]:
    with work(request, Scope.SUBMIT) as w:
        rows = service.publish(w.session, w.clock, w.principal, submission_id, source=w.source)
        return [_object_out(r) for r in rows]


class MispImportOut(BaseModel):
    submission: SubmissionOut
    dropped: list[str]


_MISP_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"type": "object",
                                    "description": "A MISP event in MISP core JSON format"}}}}}


@router.get("/sharing/misp/events", tags=["MISP"])
def export_misp_events(request: Request, since: Instant | None = None,
                       limit: Annotated[int, Query(ge=1, le=20_000)] = 5_000,
                       ) -> list[dict[str, Any]]:
    """What the caller may read, as MISP events (MISP core JSON, TLP tags), one per report."""
    with work(request) as w:
        return exchange.export_misp_events(w.session, w.clock, w.principal, since=since,
                                           limit=limit, source=w.source)


@router.post("/sharing/misp/events", response_model=MispImportOut, status_code=201,
             tags=["MISP"], openapi_extra=_MISP_BODY)
def import_misp_event(request: Request, body: Annotated[bytes, Depends(json_body)],
                      default_tlp: Annotated[Tlp, Query()] = Tlp.AMBER) -> MispImportOut:
    """A MISP event submitted as a report: sanitised and consented to like any other."""
    with work(request, Scope.SUBMIT) as w:
        taken = exchange.import_misp_event(w.session, w.clock, w.principal, body,
                                           default_tlp=default_tlp, source=w.source)
        return MispImportOut(submission=_submission_out(taken.submission),
                             dropped=taken.dropped)
