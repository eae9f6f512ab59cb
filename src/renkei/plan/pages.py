"""The console's plan pages (/plan/…): the measures board, a measure with its status
history and evidence, changing a status, the fiscal years and starting a new one, the
yearly report, and the overview's progress panel. The audits (``pages_audits``) and the
public comments and consultations (``pages_comments``) are routers of their own, included
in this one.

Each route checks what the API checks (``plan.api``, ``plan.access``): any signed-in user
reads the plan, statuses, evidence and published consultations; a member reads its own
audit assessments only; every change needs the submit scope and the hub's staff, as do a
consultation's unpublished comments and the yearly report.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup
from starlette.datastructures import FormData, UploadFile

from renkei.console.forms import line, page_number, text
from renkei.console.panels import Panel
from renkei.console.web import Form, Page, page
from renkei.core.errors import UserError
from renkei.core.http import RowId
from renkei.core.i18n import gettext_noop
from renkei.core.pdf import PdfUnavailableError
from renkei.logs import charts
from renkei.plan import access, board, pages_audits, pages_comments
from renkei.plan import status as statuses
from renkei.plan.comments import select as comments_about
from renkei.plan.errors import PlanError, PlanNotFoundError
from renkei.plan.load import decode
from renkei.plan.model import Status
from renkei.plan.pages_common import (
    may_change,
    not_found,
    require_changer,
    require_staff,
    status_of,
    upload,
)
from renkei.plan.report import STATUS_COLORS, STATUS_NAMES, report_response

router = APIRouter(prefix="/plan", include_in_schema=False)
router.include_router(pages_audits.router)
router.include_router(pages_comments.router)

DELAYED_SHOWN = 10
REMOVED_SHOWN = 50
MAX_PLAN_UPLOAD_BYTES = 4 * 1024 * 1024  # the console's request bound, not the CLI's 16 MiB
STATUS_BY_KEY = {board.status_key(s): s for s in board.STATUS_ORDER}
BAD_DATE = gettext_noop("an evidence date is written as YYYY-MM-DD")


def _year(p: Page) -> int:
    """The year asked for, or the newest followed."""
    followed = [y for y, _title, _from in statuses.years(p.session)]
    return page_number(p.request.query_params.get("year"), followed[-1], statuses.MIN_YEAR,
                   statuses.MAX_YEAR)


def _status_words(p: Page) -> dict[str, str]:
    return {board.status_key(s): p.t(STATUS_NAMES[s]) for s in board.STATUS_ORDER}


def _chart(p: Page, counts: dict[str, int]) -> str:
    layers = [charts.Series(p.t(STATUS_NAMES[s]), STATUS_COLORS[s], [counts[board.status_key(s)]])
              for s in board.STATUS_ORDER if counts[board.status_key(s)]]
    return charts.stacked_bars_svg([p.t("all measures")], layers, xlabel=p.t("Measures"))


# --- the board and a measure ---------------------------------------------------------------


@router.get("/")
def measures_board(request: Request) -> Response:
    with page(request) as p:
        year = _year(p)
        try:
            plan = statuses.plan_for_year(p.session, year)
        except PlanNotFoundError as error:
            return not_found(p, error)
        every = statuses.statuses(p.session, year)
        owner = line(request.query_params.get("owner"))
        wanted = line(request.query_params.get("status"), 20)
        wanted = wanted if wanted in STATUS_BY_KEY else ""
        shown = board.narrow(every, owner, wanted)
        counts = board.counts(shown)
        return p.render("plan/board.html", title=p.t("Measures board"), year=year,
                        years=statuses.years(p.session), plan=plan,
                        lines=board.lines(plan, shown), owners=board.owners(plan), owner=owner,
                        wanted=wanted, counts=counts, words=_status_words(p),
                        status_key=board.status_key, shown=len(shown), total=len(every),
                        svg=_chart(p, counts) if shown else None,
                        staff=access.is_hub_staff(p.principal))


def _measure_page(p: Page, measure_id: str, year: int, *, error: str = "",
                  status: int = 200) -> Response:
    try:
        plan = statuses.plan_for_year(p.session, year)
        events = statuses.history(p.session, year, measure_id)
    except PlanNotFoundError as failure:
        return not_found(p, failure)
    node = plan.by_id[measure_id.strip()]
    current = next(s for s in statuses.statuses(p.session, year) if s.measure.id == node.id)
    return p.render("plan/measure.html", status=status, title=node.id, node=node, year=year,
                    path_nodes=board.ancestors(plan, node), current=current, events=events,
                    words=_status_words(p), status_key=board.status_key,
                    choices=[s for s in board.STATUS_ORDER if s is not None],
                    comments=comments_about(board.shipped_comments().comments,
                                            measure_id=node.id),
                    may_change=may_change(p), error=error, today=p.clock.now().date(),
                    staff=access.is_hub_staff(p.principal))


@router.get("/measure")
def measure(request: Request) -> Response:
    with page(request) as p:
        return _measure_page(p, line(request.query_params.get("id"), 100), _year(p))


def _files(form: FormData) -> list[statuses.EvidenceFile]:
    found = []
    for sent in form.getlist("files"):
        if isinstance(sent, UploadFile) and sent.filename:
            data = sent.file.read(statuses.MAX_EVIDENCE_BYTES + 1)
            found.append(statuses.EvidenceFile(line(sent.filename), data))
    return found


def _evidence_date(given: str) -> date | None:
    if not given.strip():
        return None
    try:
        return date.fromisoformat(given.strip())
    except ValueError:
        raise PlanError(BAD_DATE) from None


@router.post("/measure/status")
def set_status(request: Request, form: Form) -> Response:
    with page(request, form) as p:
        require_changer(p)
        measure_id = line(form.get("id"), 100)
        year = page_number(line(form.get("year"), 10), 0, statuses.MIN_YEAR, statuses.MAX_YEAR)
        try:
            links = [row.strip() for row in text(form.get("links"), 50_000).splitlines()
                     if row.strip()]
            statuses.set_status(
                p.session, p.clock, measure_id, year,
                statuses.parse_status(line(form.get("status"), 40)),
                note=text(form.get("note"), statuses.MAX_NOTE_CHARS + 100), links=links,
                files=_files(form), evidence_date=_evidence_date(line(form.get("date"), 20)),
                actor=p.principal.actor, source=p.source)
        except UserError as error:  # nothing was written: the form again, with why
            return _measure_page(p, measure_id, year or statuses.SHIPPED_YEAR,
                                 error=p.message(error), status=400)
        return p.redirect("/plan/measure?" + urlencode({"id": measure_id, "year": year}))


@router.get("/evidence/{evidence_id}")
def evidence(request: Request, evidence_id: RowId) -> Response:
    with page(request) as p:
        try:
            row = statuses.evidence_file(p.session, evidence_id)
        except PlanNotFoundError as error:
            return not_found(p, error)
        content, name = row.content or b"", quote(row.filename)
    return Response(content, media_type="application/octet-stream", headers={
        "content-disposition": f"attachment; filename*=UTF-8''{name}"})


# --- fiscal years --------------------------------------------------------------------------


def _years_page(p: Page, *, error: str = "", started: statuses.YearStarted | None = None,
                values: dict[str, str] | None = None, status: int = 200) -> Response:
    followed = statuses.years(p.session)
    newest = followed[-1][0]
    return p.render("plan/years.html", status=status, title=p.t("Fiscal years"),
                    years=followed, may_change=may_change(p), error=error, started=started,
                    removed=started.removed[:REMOVED_SHOWN] if started else [],
                    values=values or {"year": str(min(newest + 1, statuses.MAX_YEAR)),
                                      "from": str(newest)},
                    limit=MAX_PLAN_UPLOAD_BYTES)


@router.get("/years")
def fiscal_years(request: Request) -> Response:
    with page(request) as p:
        return _years_page(p)


def _plan_text(form: FormData) -> str | None:
    """The new year's plan file as text, or None to keep the plan of the year before."""
    sent = upload(form, "plan", MAX_PLAN_UPLOAD_BYTES, required=False)
    return None if sent is None else decode(sent[1], sent[0], MAX_PLAN_UPLOAD_BYTES)


@router.post("/years")
def start_year(request: Request, form: Form) -> Response:
    """A new fiscal year as a copy of an earlier one, every measure's status marked."""
    with page(request, form) as p:
        require_changer(p)
        values = {"year": line(form.get("year"), 10), "from": line(form.get("from"), 10)}
        try:
            started = statuses.start_year(
                p.session, p.clock, page_number(values["year"], 0, 0, statuses.MAX_YEAR),
                page_number(values["from"], 0, 0, statuses.MAX_YEAR), plan_text=_plan_text(form),
                actor=p.principal.actor, source=p.source)
        except UserError as error:  # checked whole before anything is written
            return _years_page(p, error=p.message(error), values=values,
                               status=status_of(error))
        return _years_page(p, started=started)


# --- the yearly report ---------------------------------------------------------------------


@router.get("/report")
def report(request: Request) -> Response:
    from renkei.plan.report import render_html

    with page(request) as p:
        require_staff(p)
        year = _year(p)
        lang = line(request.query_params.get("lang"), 2)
        fmt = "pdf" if request.query_params.get("format") == "pdf" else "html"
        try:
            html = render_html(p.session, year, lang if lang in ("en", "ja") else p.lang,
                               now=p.clock.now())
            return report_response(html, year, fmt)
        except PlanNotFoundError as error:
            return not_found(p, error)
        except PdfUnavailableError as error:
            return p.render("error.html", status=error.status, title=p.t("PDF"),
                            text=p.message(error))


# --- the overview's panel ------------------------------------------------------------------


def progress(p: Page) -> Markup | None:
    """The newest followed year's progress by status, and its delayed measures."""
    year = statuses.years(p.session)[-1][0]
    every = statuses.statuses(p.session, year)
    counts = board.counts(every)
    delayed = [s for s in every if s.status is Status.DELAYED]
    return p.fragment("plan/panel.html", year=year, counts=counts, words=_status_words(p),
                      svg=_chart(p, counts), delayed=delayed[:DELAYED_SHOWN],
                      more=max(0, len(delayed) - DELAYED_SHOWN), total=len(every))


PANELS = [Panel("plan-progress", gettext_noop("Plan progress"), progress, order=70)]
