"""The plan domain's REST API under ``/api/v1/plan``.

Any authenticated caller reads the plan, the statuses and their evidence, the frameworks
and published consultation results; a member reads the audit campaigns and assessments of
its own organisation only (another's is answered 404). Every change needs the submit
scope and a hub staff member (``plan.access``). Bodies are bounded by the HTTP guard; an
evidence file travels base64-encoded in the JSON body, within the same bound.
"""

from __future__ import annotations

import base64
import binascii
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import Field

from renkei.core.http import (
    ERROR_RESPONSES,
    Body,
    HttpError,
    Instant,
    RowId,
    Work,
    language,
    work,
)
from renkei.core.models import MAX_ID, Scope
from renkei.core.pdf import PdfUnavailableError
from renkei.plan import access, audits, consultation
from renkei.plan import status as statuses
from renkei.plan.cli import measure_record
from renkei.plan.errors import PlanNotFoundError
from renkei.plan.report import report_response

# a comment's number as printed: 0 is a number too (a consultation may start there)
CommentNumber = Annotated[int, Path(ge=0, le=MAX_ID)]

router = APIRouter(prefix="/api/v1/plan", tags=["plan"], responses=ERROR_RESPONSES)
YearQuery = Annotated[int, Query(ge=2000, le=2100, description="The fiscal year.")]


def _changing(request: Request) -> Any:
    """A unit of work for a change: the submit scope, and the hub's staff only."""
    return work(request, Scope.SUBMIT)


def _hub(w: Work) -> str:
    access.require_hub_staff(w.principal)
    return w.principal.actor


class FileIn(Body):
    name: str = Field(min_length=1, max_length=200)
    content_base64: str = Field(max_length=6 * 1024 * 1024)


class StatusIn(Body):
    measure: str = Field(max_length=100)
    year: int = Field(ge=2000, le=2100)
    status: str = Field(max_length=40)
    note: str = Field("", max_length=statuses.MAX_NOTE_CHARS)
    evidence: list[str] = Field(default_factory=list, max_length=statuses.MAX_EVIDENCE_ITEMS)
    files: list[FileIn] = Field(default_factory=list, max_length=statuses.MAX_EVIDENCE_ITEMS)
    evidence_date: date | None = None


class YearIn(Body):
    year: int = Field(ge=2000, le=2100)
    from_year: int = Field(ge=2000, le=2100)
    plan_yaml: str | None = Field(None, max_length=4 * 1024 * 1024)


class CampaignIn(Body):
    name: str = Field(max_length=100)
    framework: str = Field(max_length=100)
    version: str | None = Field(None, max_length=50)
    year: int = Field(ge=2000, le=2100)
    organisations: list[str] = Field(default_factory=list, max_length=1000)
    title: str = Field("", max_length=500)


class ResultIn(Body):
    requirement: str = Field(max_length=100)
    result: str = Field(max_length=40)
    evidence: str = Field("", max_length=audits.MAX_AUDIT_TEXT)
    findings: str = Field("", max_length=audits.MAX_AUDIT_TEXT)
    recommendations: str = Field("", max_length=audits.MAX_AUDIT_TEXT)


class ConsultationIn(Body):
    key: str = Field(max_length=100)
    title: str = Field("", max_length=500)
    year: int = Field(ge=2000, le=2100)


class CategoryIn(Body):
    category: str = Field(max_length=40)


class DraftIn(Body):
    answer: str = Field(max_length=consultation.MAX_ANSWER_CHARS)
    changed: bool = False


def _file(item: FileIn) -> statuses.EvidenceFile:
    try:
        data = base64.b64decode(item.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise HttpError(400, "evidence file {name} is not base64", name=item.name[:100]) from None
    return statuses.EvidenceFile(item.name, data)


_RAW_BODY = {"requestBody": {"required": True, "content": {
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}}


# --- plan, years, statuses -----------------------------------------------------------------


@router.get("/years", summary="The fiscal years followed")
def list_years(request: Request) -> list[dict[str, Any]]:
    with work(request) as w:
        return [{"fiscal_year": y, "title": t, "started_from": f}
                for y, t, f in statuses.years(w.session)]


@router.post("/years", summary="Start a fiscal year as a copy of an earlier one (hub staff)",
             status_code=201)
def start_year(body: YearIn, request: Request) -> dict[str, object]:
    with _changing(request) as w:
        started = statuses.start_year(w.session, w.clock, body.year, body.from_year,
                                      plan_text=body.plan_yaml, actor=_hub(w), source=w.source)
        return started.as_json()


@router.get("/measures", summary="The measures of a year's plan")
def list_measures(request: Request, year: YearQuery = 2015) -> list[dict[str, Any]]:
    with work(request) as w:
        plan = statuses.plan_for_year(w.session, year)
        return [measure_record(plan, node) for node in plan.measures()]


@router.get("/status", summary="Every measure's status in a year, now or as of a moment")
def list_status(request: Request, year: YearQuery = 2015,
                as_of: Instant | None = None) -> list[dict[str, object]]:
    if as_of is not None and as_of.tzinfo is None:
        raise HttpError(400, "as_of needs a time zone offset (Z or +09:00)")
    with work(request) as w:
        return [s.as_json() for s in statuses.statuses(w.session, year, as_of)]


@router.get("/status/history", summary="Every status a measure was given in a year")
def status_history(request: Request, measure: Annotated[str, Query(max_length=100)],
                   year: YearQuery = 2015) -> list[dict[str, object]]:
    with work(request) as w:
        return [{"status": e.status, "note": e.note, "change": e.change, "actor": e.actor,
                 "recorded_at": e.recorded_at.isoformat(),
                 "evidence": [item.as_json() for item in evidence]}
                for e, evidence in statuses.history(w.session, year, measure)]


@router.post("/status", summary="Record a measure's status with a note and evidence (hub staff)",
             status_code=201)
def set_status(body: StatusIn, request: Request) -> dict[str, object]:
    with _changing(request) as w:
        actor = _hub(w)
        event = statuses.set_status(
            w.session, w.clock, body.measure, body.year, statuses.parse_status(body.status),
            note=body.note, links=body.evidence, files=[_file(f) for f in body.files],
            evidence_date=body.evidence_date, actor=actor, source=w.source)
        return {"id": event.id, "measure": event.measure_id, "fiscal_year": event.fiscal_year,
                "status": event.status, "recorded_at": event.recorded_at.isoformat()}


@router.get("/evidence/{evidence_id}", summary="An evidence file, as an attachment",
            response_class=Response, responses={200: {"description": "The file", "content": {
                "application/octet-stream": {"schema": {"type": "string",
                                                        "format": "binary"}}}}})
def evidence_file(evidence_id: RowId, request: Request) -> Response:
    with work(request) as w:
        row = statuses.evidence_file(w.session, evidence_id)
        content = row.content or b""
        name = quote(row.filename)
    return Response(content, media_type="application/octet-stream", headers={
        "content-disposition": f"attachment; filename*=UTF-8''{name}"})


# --- audits --------------------------------------------------------------------------------


@router.get("/frameworks", summary="The audit frameworks loaded")
def list_frameworks(request: Request) -> list[dict[str, Any]]:
    with work(request) as w:
        return [{"key": f.key, "version": f.version, "title": f.title,
                 "requirements": [{"ref": r.ref, "parent": r.parent_ref, "group": r.is_group,
                                   "title": r.title, "text": r.text}
                                  for r in audits.requirements(w.session, f.id)]}
                for f in audits.frameworks(w.session)]


@router.post("/frameworks", summary="Load a framework file (YAML; hub staff)", status_code=201,
             openapi_extra=_RAW_BODY)
async def load_framework(request: Request,
                         name: Annotated[str, Query(max_length=200)] = "framework.yaml",
                         ) -> dict[str, Any]:
    body = await request.body()
    with _changing(request) as w:
        framework, new = audits.load_framework(w.session, w.clock, body, name, actor=_hub(w),
                                               source=w.source)
        return {"key": framework.key, "version": framework.version, "new": new}


def _campaign_json(c: Any) -> dict[str, Any]:
    return {"name": c.name, "title": c.title, "fiscal_year": c.fiscal_year,
            "created_at": c.created_at.isoformat()}


@router.get("/campaigns", summary="Audit campaigns (a member: those assessing it)")
def list_campaigns(request: Request, year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
                   ) -> list[dict[str, Any]]:
    with work(request) as w:
        readable = access.readable_organisation(w.principal)
        return [_campaign_json(c) for c in audits.campaigns(w.session, readable, year)]


@router.post("/campaigns", summary="Create a campaign: one assessment per organisation "
             "(hub staff)", status_code=201)
def create_campaign(body: CampaignIn, request: Request) -> dict[str, Any]:
    with _changing(request) as w:
        campaign = audits.create_campaign(
            w.session, w.clock, body.name, body.framework, body.year, version=body.version,
            organisations=body.organisations, title=body.title, actor=_hub(w), source=w.source)
        made = _campaign_json(campaign)
        made["assessments"] = [{"id": a.id, "organisation": o.name}
                               for a, o in audits.assessments(w.session, campaign)]
        return made


@router.get("/campaigns/{name}/assessments",
            summary="A campaign's assessments (a member: its own)")
def list_assessments(name: str, request: Request) -> list[dict[str, Any]]:
    with work(request) as w:
        readable = access.readable_organisation(w.principal)
        campaign = audits.get_campaign(w.session, name)
        found = audits.assessments(w.session, campaign, readable)
        if readable is not None and not found:
            raise PlanNotFoundError("no campaign {name}", name=name[:100])
        return [{"id": a.id, "organisation": o.name,
                 "counts": audits.counts(w.session, a.id, campaign.framework_id)}
                for a, o in found]


@router.get("/assessments/{assessment_id}",
            summary="An assessment with every requirement's result (a member: its own)")
def get_assessment(assessment_id: RowId, request: Request) -> dict[str, Any]:
    with work(request) as w:
        assessment = audits.assessment_by_id(w.session, assessment_id,
                                             access.readable_organisation(w.principal))
        return audits.describe(w.session, assessment)


@router.post("/assessments/{assessment_id}/results",
             summary="Give a requirement its result (hub staff)", status_code=201)
def record_result(assessment_id: RowId, body: ResultIn, request: Request) -> dict[str, Any]:
    with _changing(request) as w:
        actor = _hub(w)
        assessment = audits.assessment_by_id(w.session, assessment_id)
        row = audits.record_result(
            w.session, w.clock, assessment, body.requirement, audits.parse_outcome(body.result),
            evidence=body.evidence, findings=body.findings,
            recommendations=body.recommendations, actor=actor, source=w.source)
        return {"id": row.id, "requirement": row.requirement_ref, "result": row.result}


@router.get("/audits/compare", summary="An organisation's results in two campaigns "
            "(a member: its own)")
def compare(request: Request, earlier: Annotated[str, Query(max_length=100)],
            later: Annotated[str, Query(max_length=100)],
            org: Annotated[str | None, Query(max_length=200)] = None) -> list[dict[str, object]]:
    with work(request) as w:
        readable = access.readable_organisation(w.principal)
        organisation = org or w.principal.organisation_name
        return [row.as_json() for row in audits.compare(w.session, earlier, later,
                                                         organisation, readable)]


# --- consultations -------------------------------------------------------------------------


def _consultation_json(c: Any) -> dict[str, Any]:
    return {"key": c.key, "title": c.title, "fiscal_year": c.fiscal_year, "state": c.state,
            "published_at": c.published_at.isoformat() if c.published_at else None}


@router.get("/consultations", summary="Consultations (a member: the published ones)")
def list_consultations(request: Request) -> list[dict[str, Any]]:
    with work(request) as w:
        hub = access.is_hub_staff(w.principal)
        return [_consultation_json(c)
                for c in consultation.consultations(w.session, published_only=not hub)]


@router.post("/consultations", summary="Open a consultation (hub staff)", status_code=201)
def create_consultation(body: ConsultationIn, request: Request) -> dict[str, Any]:
    with _changing(request) as w:
        made = consultation.create(w.session, w.clock, body.key, body.title, body.year,
                                   actor=_hub(w), source=w.source)
        return _consultation_json(made)


@router.post("/consultations/{key}/comments",
             summary="Import received comments (YAML or CSV by ?name=; hub staff)",
             openapi_extra=_RAW_BODY)
async def import_comments(key: str, request: Request,
                          name: Annotated[str, Query(max_length=200)] = "comments.yaml",
                          ) -> dict[str, int]:
    body = await request.body()
    with _changing(request) as w:
        done = consultation.import_comments(w.session, w.clock, key, body, name,
                                            actor=_hub(w), source=w.source)
        return {"added": done.added, "unchanged": done.unchanged}


@router.get("/consultations/{key}/comments",
            summary="The comments with category, answer and state (hub staff)")
def list_comments(key: str, request: Request) -> list[dict[str, Any]]:
    with work(request) as w:
        access.require_hub_staff(w.principal)
        return [consultation.describe(row) for row in consultation.comments(w.session, key)]


@router.post("/consultations/{key}/comments/{number}/category",
             summary="Categorise a comment (hub staff)")
def categorise(key: str, number: CommentNumber, body: CategoryIn, request: Request) -> dict[str, Any]:
    with _changing(request) as w:
        _hub(w)
        row = consultation.categorise(w.session, w.clock, key, number,
                                      consultation.parse_category(body.category),
                                      actor=access.person(w.principal), source=w.source)
        return consultation.describe(row)


@router.post("/consultations/{key}/comments/{number}/draft",
             summary="Draft a comment's answer (hub staff)")
def draft(key: str, number: CommentNumber, body: DraftIn, request: Request) -> dict[str, Any]:
    with _changing(request) as w:
        _hub(w)
        row = consultation.draft(w.session, w.clock, key, number, body.answer,
                                 changed=body.changed, actor=access.person(w.principal),
                                 source=w.source)
        return consultation.describe(row)


@router.post("/consultations/{key}/comments/{number}/approve",
             summary="Approve a drafted answer: not its drafter (hub staff)")
def approve(key: str, number: CommentNumber, request: Request) -> dict[str, Any]:
    with _changing(request) as w:
        _hub(w)
        row = consultation.approve(w.session, w.clock, key, number,
                                   actor=access.person(w.principal), source=w.source)
        return consultation.describe(row)


@router.post("/consultations/{key}/publish", summary="Publish the results (hub staff)")
def publish(key: str, request: Request) -> dict[str, Any]:
    with _changing(request) as w:
        made = consultation.publish(w.session, w.clock, key, actor=_hub(w), source=w.source)
        return _consultation_json(made)


@router.get("/consultations/{key}/results",
            summary="A published consultation's comments and answers, and their figures")
def results(key: str, request: Request) -> dict[str, Any]:
    from renkei.plan.load import comment_record

    with work(request) as w:
        made, published, summary = consultation.results(w.session, key)
        return {"consultation": _consultation_json(made), "summary": summary.as_json(),
                "comments": [comment_record(c) for c in published]}


# --- the report ----------------------------------------------------------------------------


@router.get("/report", summary="The yearly evaluation report as HTML or PDF (hub staff)",
            response_class=Response, responses={200: {"description": "The report", "content": {
                "text/html": {"schema": {"type": "string"}},
                "application/pdf": {"schema": {"type": "string", "format": "binary"}}}}})
def report(request: Request, year: YearQuery = 2015,
           lang: Annotated[str | None, Query(pattern="^(ja|en)$")] = None,
           as_of: Instant | None = None,
           fmt: Annotated[str, Query(alias="format", pattern="^(html|pdf)$")] = "html",
           ) -> Response:
    from renkei.plan.report import render_html

    if as_of is not None and as_of.tzinfo is None:
        raise HttpError(400, "as_of needs a time zone offset (Z or +09:00)")
    with work(request) as w:
        access.require_hub_staff(w.principal)
        html = render_html(w.session, year, lang or language(request), now=w.clock.now(),
                           as_of=as_of)
    try:
        return report_response(html, year, fmt)
    except PdfUnavailableError as error:
        raise HttpError.of(error, error.status) from None
