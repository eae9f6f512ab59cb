"""The logs domain's REST API under ``/api/v1/logs``: scan an uploaded access log, the logs,
the alerts (filtered, paged), one alert, and the totals and alerts per day.

The same rules as the console's pages, from the same services: who sees what is
``reads.scope_of`` (the hub's staff every log, anyone else their own organisation's; a log
scanned without one is the hub's), who may scan is the submit right (``reads.may_scan``,
which ``upload.scan_upload`` checks again), and an upload is bounded and checked by
``upload.scan_upload``. Another organisation's alert answers 404, exactly as one that does
not exist.
"""

from __future__ import annotations

import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from renkei.core import orgs
from renkei.core.http import ERROR_RESPONSES, MAX_ID, HttpError, RowId, work
from renkei.core.i18n import gettext_noop
from renkei.core.members import Principal
from renkei.core.models import Scope
from renkei.logs import reads, upload
from renkei.logs.model import Category

router = APIRouter(prefix="/api/v1/logs", tags=["logs"], responses=ERROR_RESPONSES)

OUTCOMES = {"yes": True, "no": False}
MAX_PAGE = reads.MAX_OFFSET // reads.PAGE_ROWS + 1  # alert_page goes no further
NOT_FOUND = gettext_noop("there is no such alert or log, or it is not yours to see")
NOT_A_FORM = gettext_noop("send the log itself as the request body (application/octet-stream "
                          "or text/plain), not as a form")


async def _raw_body(request: Request) -> bytes:
    """The request's body (the app's Guard bounds it), read before the route's thread runs."""
    return await request.body()


RawBody = Annotated[bytes, Depends(_raw_body)]


class ScanOut(BaseModel):
    """What one upload's scan kept."""

    id: int = Field(description="The log's id: the same log as an earlier scan when it starts "
                                "with the same record (it has grown, or is a copy)")
    name: str = Field(description="The log's name as you see it")
    format: str = Field(description="combined, common, iis or json")
    organisation: str | None = Field(description="The member it is kept for; null: the hub's")
    lines: int = Field(description="Lines read in this upload")
    findings: int = Field(description="Findings in this upload")
    new_alerts: int = Field(description="Findings not stored before: the log's new alerts")
    succeeded: int = Field(description="Findings whose attack may have succeeded")
    problems: int = Field(description="Lines that could not be used (not a log line, not UTF-8, "
                                      "too long …)")


class LogOut(BaseModel):
    id: int
    name: str = Field(description="The file's name; the hub's staff see the path it was "
                                  "scanned from")
    format: str
    organisation: str | None = Field(description="Whose log it is; null: the hub's")
    lines: int
    first_seen: datetime
    last_scanned: datetime
    alerts: int
    succeeded: int = Field(description="Alerts whose attack may have succeeded")


class AlertOut(BaseModel):
    id: int
    log_id: int
    log_name: str
    organisation: str | None = Field(description="Whose log it is; null: the hub's")
    line: int
    rule: str
    category: str
    severity: str
    src: str
    seen_at: datetime | None = Field(description="The time in the log")
    method: str
    target: str
    status: int | None
    size: int | None
    fragment: str = Field(description="What the rule matched, or a burst's evidence")
    field: str = Field(description="Where it matched: target, referer, ua")
    engine: str
    succeeded: bool | None = Field(description="May the attack have succeeded; null: unknown")
    reason: str
    created_at: datetime = Field(description="When the alert was stored")


class AlertPageOut(BaseModel):
    alerts: list[AlertOut]
    page: int
    more: bool = Field(description="A next page exists")


class DailyOut(BaseModel):
    """Alerts per day (UTC, of the log's time) over the days ending with the newest alert."""

    days: list[date]
    by_category: dict[str, list[int]] = Field(description="Per category, one count a day")
    succeeded: list[int] = Field(description="Alerts whose attack may have succeeded, a day")


class SummaryOut(BaseModel):
    alerts: int
    succeeded: int
    sources: int = Field(description="Distinct attacking addresses")
    logs: int
    daily: DailyOut


def _names(session: Session, principal: Principal, scope: int) -> dict[int, str]:
    """The organisations' names the caller may read: every one for the hub's staff."""
    if scope == reads.ALL:
        return {o.id: o.name for o in orgs.list_all(session)}
    return {principal.organisation_id: principal.organisation_name}


def _for_whom(session: Session, principal: Principal, organisation: str | None) -> int | None:
    """The member an upload is scanned for: the caller's own; the hub's staff may name one
    (none, or the hub: the hub's own log). A member naming another is answered as if that
    member did not exist."""
    if reads.scope_of(principal) != reads.ALL:
        if organisation and organisation != principal.organisation_name:
            raise HttpError(404, "no organisation {name}", name=organisation[:100])
        return principal.organisation_id
    if not organisation:
        return None
    found = orgs.get_by_name(session, organisation)
    if found is None:
        raise HttpError(404, "no organisation {name}", name=organisation[:100])
    return None if found.is_hub else found.id


def _alert_out(view: reads.AlertView, names: dict[int, str]) -> AlertOut:
    return AlertOut(
        id=view.id, log_id=view.log_id, log_name=view.log_name,
        organisation=names.get(view.organisation_id) if view.organisation_id else None,
        line=view.line, rule=view.rule, category=view.category, severity=view.severity,
        src=view.src, seen_at=view.seen_at, method=view.method, target=view.target,
        status=view.status, size=view.size, fragment=view.fragment, field=view.field,
        engine=view.engine, succeeded=view.succeeded, reason=view.reason,
        created_at=view.created_at)


def _log_out(view: reads.LogView, names: dict[int, str]) -> LogOut:
    return LogOut(
        id=view.id, name=view.name, format=view.format,
        organisation=names.get(view.organisation_id) if view.organisation_id else None,
        lines=view.lines, first_seen=view.first_seen, last_scanned=view.last_scanned,
        alerts=view.alerts, succeeded=view.succeeded)


@router.post("/scan", summary="Scan an access log sent as the body and keep its findings as "
             "alerts (submit scope)", status_code=201, response_model=ScanOut,
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                 "text/plain": {"schema": {"type": "string"}}}}})
def scan(request: Request, body: RawBody,
         name: Annotated[str, Query(max_length=1000, description="The file's name; a path is "
                                    "cut to its last part")] = "upload.log",
         organisation: Annotated[str | None, Query(
             max_length=200, description="The hub's staff: the member it is scanned for "
                                         "(none: the hub's own log)")] = None,
         ) -> ScanOut:
    with work(request, Scope.SUBMIT) as w:
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media == "multipart/form-data":
            raise HttpError(415, NOT_A_FORM)
        organisation_id = _for_whom(w.session, w.principal, organisation)
        with tempfile.TemporaryDirectory(prefix="renkei-upload-") as folder:
            path = Path(folder) / "upload.log"
            path.write_bytes(body)
            done = upload.scan_upload(w.session, w.clock, w.principal, path, name,
                                      organisation_id=organisation_id, source=w.source)
        scope = reads.scope_of(w.principal)
        kept = reads.log(w.session, scope, done.log_id)
        assert kept is not None  # the caller's own log, or the hub's for its staff
        return ScanOut(
            id=done.log_id, name=kept.name, format=kept.format,
            organisation=_names(w.session, w.principal, scope).get(kept.organisation_id)
            if kept.organisation_id else None,
            lines=done.lines, findings=done.findings, new_alerts=done.new_alerts,
            succeeded=done.succeeded, problems=done.problems)


@router.get("/logs", summary="The logs you may see, the last scanned first",
            response_model=list[LogOut])
def list_logs(request: Request,
              limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[LogOut]:
    with work(request) as w:
        scope = reads.scope_of(w.principal)
        names = _names(w.session, w.principal, scope)
        return [_log_out(v, names) for v in reads.logs(w.session, scope, limit)]


@router.get("/alerts", summary=f"The alerts you may see, newest first, {reads.PAGE_ROWS} a page",
            response_model=AlertPageOut)
def list_alerts(request: Request,
                category: Category | None = None,
                src: Annotated[str, Query(max_length=100,
                                          description="The source address")] = "",
                outcome: Annotated[Literal["yes", "no", "unknown"] | None, Query(
                    description="May the attack have succeeded: yes, no, or unknown (could not "
                                "be judged)")] = None,
                log: Annotated[int | None, Query(ge=1, le=MAX_ID,
                                                 description="A log's id")] = None,
                page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1) -> AlertPageOut:
    with work(request) as w:
        scope = reads.scope_of(w.principal)
        wanted = reads.AlertFilter(
            category=category.value if category else "", src=src.strip(),
            succeeded=OUTCOMES.get(outcome or ""), unknown_outcome=outcome == "unknown",
            log=log)
        found = reads.alert_page(w.session, scope, wanted, page)
        names = _names(w.session, w.principal, scope)
        return AlertPageOut(alerts=[_alert_out(a, names) for a in found.rows], page=found.page,
                            more=found.more)


@router.get("/alerts/{alert_id}", summary="One alert", response_model=AlertOut)
def get_alert(alert_id: RowId, request: Request) -> AlertOut:
    with work(request) as w:
        scope = reads.scope_of(w.principal)
        found = reads.alert(w.session, scope, alert_id)
        if found is None:
            raise HttpError(404, NOT_FOUND)
        return _alert_out(found, _names(w.session, w.principal, scope))


@router.get("/summary", summary="Alerts, possibly successful attacks, attacking addresses and "
            "logs you may see, and alerts per day", response_model=SummaryOut)
def summary(request: Request,
            days: Annotated[int, Query(ge=1, le=366)] = reads.TIMELINE_DAYS) -> SummaryOut:
    with work(request) as w:
        scope = reads.scope_of(w.principal)
        totals = reads.totals(w.session, scope)
        counts = reads.daily_counts(w.session, scope, days)
        return SummaryOut(
            alerts=totals.alerts, succeeded=totals.succeeded, sources=totals.sources,
            logs=totals.logs,
            daily=DailyOut(days=[d.date() for d in counts.days],
                           by_category=counts.by_category, succeeded=counts.succeeded))
