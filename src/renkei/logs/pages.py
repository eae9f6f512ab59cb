"""The logs domain's console pages: upload and scan an access log, the alerts (filtered,
paged), one alert, a scanned log's report, and the overview's panel.

Who sees what is ``reads.scope_of`` (the hub's staff every log, anyone else their own
organisation's); who may scan is ``reads.may_scan`` (the submit right). Another
organisation's alert or log is answered as if it did not exist.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from starlette.datastructures import UploadFile

from renkei.console.panels import Panel
from renkei.console.web import Form, Page, page
from renkei.core import orgs
from renkei.core.errors import UserError
from renkei.core.http import MAX_ID, RowId
from renkei.core.i18n import Translate, gettext_noop
from renkei.core.text import visible
from renkei.logs import page_charts, reads, report, upload
from renkei.logs.aggregate import BURST_EVIDENCE, BURST_RULE
from renkei.logs.model import Category

router = APIRouter(prefix="/logs", include_in_schema=False)

OUTCOMES = {"yes": True, "no": False}
NOT_FOUND = gettext_noop("there is no such alert or log, or it is not yours to see")
NO_FILE = gettext_noop("choose a log file to upload")
NO_ORGANISATION = gettext_noop("choose one of the organisations offered")
RECENT_LOGS = 20
REPORT_ROWS = 20


def _not_found(p: Page) -> Response:
    return p.render("error.html", status=404, title=p.t("Not found"), text=p.t(NOT_FOUND))


def _names(p: Page) -> dict[int, str]:
    return {o.id: o.name for o in orgs.list_all(p.session)}


def _index(p: Page, *, error: str = "", status: int = 200) -> Response:
    scope = reads.scope_of(p.principal)
    counts = reads.daily_counts(p.session, scope)
    staff = scope == reads.ALL
    return p.render(
        "logs/index.html", status=status, title=p.t("Logs"), error=error,
        totals=reads.totals(p.session, scope), logs=reads.logs(p.session, scope, RECENT_LOGS),
        daily=page_charts.daily_svg(counts, p.t) if counts.by_category else "",
        may_scan=reads.may_scan(p.principal), staff=staff,
        names=_names(p) if staff else {},
        members=[o for o in orgs.list_all(p.session) if not o.is_hub] if staff else [],
        max_mib=upload.MAX_UPLOAD_BYTES // (1024 * 1024), visible=visible)


@router.get("/")
def index(request: Request) -> Response:
    with page(request) as p:
        return _index(p)


def _organisation(p: Page, form: Form) -> int | None:
    """The member a hub's staff scans for ("" is the hub's own log); others: their own."""
    if reads.scope_of(p.principal) != reads.ALL:
        return p.principal.organisation_id
    chosen = form.get("organisation")
    if not chosen:
        return None
    wanted = {str(o.id): o.id for o in orgs.list_all(p.session) if not o.is_hub}
    if not isinstance(chosen, str) or chosen not in wanted:
        raise UserError(NO_ORGANISATION)
    return wanted[chosen]


@router.post("/scan")
def scan(request: Request, form: Form) -> Response:
    with page(request, form) as p:
        sent = form.get("file")
        try:
            if not isinstance(sent, UploadFile) or not sent.filename:
                raise UserError(NO_FILE)
            organisation_id = _organisation(p, form)
            with tempfile.TemporaryDirectory(prefix="renkei-upload-") as folder:
                path = Path(folder) / "upload.log"
                with path.open("wb") as out:  # the app's Guard already bounds the body
                    shutil.copyfileobj(sent.file, out)
                done = upload.scan_upload(p.session, p.clock, p.principal, path, sent.filename,
                                          organisation_id=organisation_id, source=p.source)
        except UserError as error:
            return _index(p, error=p.message(error), status=400)
        return p.redirect(f"/logs/sources/{done.log_id}")


def _filter(category: str, src: str, outcome: str, log: int | None) -> reads.AlertFilter:
    return reads.AlertFilter(
        category=category if category in {c.value for c in Category} else "",
        src=src.strip()[:100], succeeded=OUTCOMES.get(outcome),
        unknown_outcome=outcome == "unknown", log=log)


@router.get("/alerts")
def alerts(request: Request, category: str = Query("", max_length=40),
           src: str = Query("", max_length=100), outcome: str = Query("", max_length=10),
           log: int | None = Query(None, ge=1, le=MAX_ID),
           page_number: int = Query(1, alias="page", ge=1, le=10_000)) -> Response:
    with page(request) as p:
        wanted = _filter(category, src, outcome, log)
        found = reads.alert_page(p.session, reads.scope_of(p.principal), wanted, page_number)
        kept = {k: v for k, v in (("category", wanted.category), ("src", wanted.src),
                                  ("outcome", outcome if outcome in (*OUTCOMES, "unknown")
                                   else ""), ("log", log or "")) if v}

        def link(number: int) -> str:
            return "/logs/alerts?" + urlencode({**kept, "page": number})

        return p.render(
            "logs/alerts.html", title=p.t("Alerts"), found=found, wanted=wanted,
            outcome=kept.get("outcome", ""),
            categories=[(c.value, page_charts.category_name(c.value, p.t)) for c in Category],
            category_name=lambda c: page_charts.category_name(c, p.t),
            severity_name=lambda s: page_charts.severity_name(s, p.t),
            outcome_name=lambda v: p.t(report.OUTCOME_NAMES[v]),
            previous=link(found.page - 1) if found.page > 1 else "",
            following=link(found.page + 1) if found.more else "", visible=visible)


# Where in a request a rule matched, as the alert records it.
FIELD_NAMES = {"target": gettext_noop("request target"), "referer": gettext_noop("referer"),
               "ua": gettext_noop("user agent")}
_BURST = re.compile(r"(\d+) login attempts, the first (\d+) within (\d+) s")


def evidence_text(t: Translate, rule: str, fragment: str) -> str:
    """A burst's evidence (``aggregate.BURST_EVIDENCE``) in the reader's language; what a
    rule matched is the request's own text, shown as it is."""
    burst = _BURST.fullmatch(fragment) if rule == BURST_RULE else None
    if burst is None:
        return fragment
    count, first, window = burst.groups()
    return t(BURST_EVIDENCE).format(count=count, first=first, window=window)


@router.get("/alerts/{alert_id}")
def alert(request: Request, alert_id: RowId) -> Response:
    with page(request) as p:
        scope = reads.scope_of(p.principal)
        found = reads.alert(p.session, scope, alert_id)
        if found is None:
            return _not_found(p)
        return p.render(
            "logs/alert.html", title=p.t("Alert"), a=found,
            request_text=report.highlight(f"{found.method} {found.target}", found.fragment,
                                          2000),
            category=page_charts.category_name(found.category, p.t),
            severity=page_charts.severity_name(found.severity, p.t),
            outcome=p.t(report.OUTCOME_NAMES[found.succeeded]), visible=visible,
            field_name=p.t(FIELD_NAMES[found.field]) if found.field in FIELD_NAMES
            else found.field, evidence=evidence_text(p.t, found.rule, found.fragment),
            organisation=_names(p).get(found.organisation_id or 0, "")
            if scope == reads.ALL else "")


@router.get("/sources/{log_id}")
def log_report(request: Request, log_id: RowId) -> Response:
    with page(request) as p:
        scope = reads.scope_of(p.principal)
        view = reads.log(p.session, scope, log_id)
        result = reads.scan_result(p.session, scope, log_id)
        if view is None or result is None:
            return _not_found(p)
        summary = report.summarise(result)
        return p.render(
            "logs/log.html", title=p.t("Report"), log=view, s=summary,
            charts=page_charts.report_charts(result, p.t),
            succeeded=summary.succeeded_findings[:REPORT_ROWS],
            category_name=lambda c: page_charts.category_name(str(c), p.t),
            visible=visible, truncated=len(result.findings) >= reads.REPORT_ALERTS)


@router.get("/sources/{log_id}/report.html")
def download_report(request: Request, log_id: RowId) -> Response:
    """The web-log report as one self-contained HTML file, to keep or send to the site."""
    with page(request) as p:
        result = reads.scan_result(p.session, reads.scope_of(p.principal), log_id)
        if result is None:
            return _not_found(p)
        return HTMLResponse(report.render_html(result, p.lang), headers={
            "Content-Disposition": f'attachment; filename="renkei-log-{log_id}-report.html"'})


def panel(p: Page) -> Markup | None:
    """Alerts per day and the possibly successful attacks, of the logs the user may see."""
    scope = reads.scope_of(p.principal)
    totals = reads.totals(p.session, scope)
    if totals.logs == 0 and not reads.may_scan(p.principal):
        return None
    counts = reads.daily_counts(p.session, scope)
    return p.fragment("logs/panel.html", totals=totals, may_scan=reads.may_scan(p.principal),
                      daily=page_charts.daily_svg(counts, p.t) if counts.by_category else "")


PANELS = [Panel("logs", gettext_noop("Web-log alerts"), panel, order=20)]
