"""The console's plan pages (/plan/…): the measures board, a measure with its status
history and evidence, changing a status, audits compared year on year, the public
comments and consultations, the yearly report; and the overview's progress panel.

Each route checks what the API checks (``plan.api``, ``plan.access``): any signed-in user
reads the plan, statuses, evidence and published consultations; a member reads its own
audit assessments only; changing a status needs the submit scope and the hub's staff, as
do a consultation's unpublished comments and the yearly report.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup
from starlette.datastructures import FormData, UploadFile

from renkei.console.panels import Panel
from renkei.console.web import Form, Page, PageExit, page
from renkei.core import audit, orgs
from renkei.core.errors import UserError
from renkei.core.http import RowId
from renkei.core.i18n import gettext_noop
from renkei.core.models import Scope
from renkei.logs import charts
from renkei.plan import access, audits, board, consultation
from renkei.plan import status as statuses
from renkei.plan.comments import select as comments_about
from renkei.plan.errors import PlanError, PlanNotFoundError
from renkei.plan.model import AuditOutcome, Category, Status
from renkei.plan.report import OUTCOME_NAMES, STATUS_COLORS, STATUS_NAMES

router = APIRouter(prefix="/plan", include_in_schema=False)

COMMENTS_PER_PAGE = 25
MAX_PAGES = 200
DELAYED_SHOWN = 10
STATUS_BY_KEY = {board.status_key(s): s for s in board.STATUS_ORDER}
HUB_ONLY = gettext_noop("only the hub's staff may do this")
NEEDS_SUBMIT = gettext_noop("your role may read but not change this")
BAD_DATE = gettext_noop("an evidence date is written as YYYY-MM-DD")
TREND_NAMES = {"improved": gettext_noop("improved"), "worsened": gettext_noop("worsened"),
               "same": gettext_noop("same"), "changed": gettext_noop("changed"),
               "added": gettext_noop("added"), "removed": gettext_noop("removed")}


def _text(value: object, most: int = 200) -> str:
    """A free-text field, cut at ``most`` characters (the services check the rest)."""
    return value[:most] if isinstance(value, str) else ""


def _line(value: object, most: int = 200) -> str:
    """A name, id or query parameter, its control characters dropped (PostgreSQL refuses
    a NUL; nothing one-line needs the others)."""
    return "".join(ch for ch in _text(value, most) if ch.isprintable())


def _number(text: str | None, default: int, low: int = 1, high: int = MAX_PAGES) -> int:
    try:
        value = int(text or "")
    except ValueError:
        return default
    return value if low <= value <= high else default


def _forbid(p: Page, text: str) -> PageExit:
    """403, audited as the administration pages' refusals are."""
    audit.record(p.session, p.clock, action="console.forbidden", actor=p.principal.actor,
                 target=p.request.url.path[:200], source=p.source,
                 organisation_id=p.principal.organisation_id)
    p.session.commit()
    return PageExit(p.render("error.html", status=403, title=p.t("Forbidden"), text=p.t(text)))


def _require_changer(p: Page) -> None:
    """The API's ``_changing`` and ``_hub``: the submit scope and the hub's staff."""
    if not access.is_hub_staff(p.principal):
        raise _forbid(p, HUB_ONLY)
    if Scope.SUBMIT not in p.principal.scopes:
        raise _forbid(p, NEEDS_SUBMIT)


def _may_change(p: Page) -> bool:
    return access.is_hub_staff(p.principal) and Scope.SUBMIT in p.principal.scopes


def _year(p: Page) -> int:
    """The year asked for, or the newest followed."""
    followed = [y for y, _title, _from in statuses.years(p.session)]
    return _number(p.request.query_params.get("year"), followed[-1], statuses.MIN_YEAR,
                   statuses.MAX_YEAR)


def _status_words(p: Page) -> dict[str, str]:
    return {board.status_key(s): p.t(STATUS_NAMES[s]) for s in board.STATUS_ORDER}


def _chart(p: Page, counts: dict[str, int]) -> str:
    layers = [charts.Series(p.t(STATUS_NAMES[s]), STATUS_COLORS[s], [counts[board.status_key(s)]])
              for s in board.STATUS_ORDER if counts[board.status_key(s)]]
    return charts.stacked_bars_svg([p.t("all measures")], layers, xlabel=p.t("Measures"))


def _not_found(p: Page, error: UserError) -> Response:
    return p.render("error.html", status=404, title=p.t("Not found"), text=p.message(error))


# --- the board and a measure ---------------------------------------------------------------


@router.get("/")
def measures_board(request: Request) -> Response:
    with page(request) as p:
        year = _year(p)
        try:
            plan = statuses.plan_for_year(p.session, year)
        except PlanNotFoundError as error:
            return _not_found(p, error)
        every = statuses.statuses(p.session, year)
        owner = _line(request.query_params.get("owner"))
        wanted = _line(request.query_params.get("status"), 20)
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
        return _not_found(p, failure)
    node = plan.by_id[measure_id.strip()]
    current = next(s for s in statuses.statuses(p.session, year) if s.measure.id == node.id)
    return p.render("plan/measure.html", status=status, title=node.id, node=node, year=year,
                    path_nodes=board.ancestors(plan, node), current=current, events=events,
                    words=_status_words(p), status_key=board.status_key,
                    choices=[s for s in board.STATUS_ORDER if s is not None],
                    comments=comments_about(board.shipped_comments().comments,
                                            measure_id=node.id),
                    may_change=_may_change(p), error=error, today=p.clock.now().date(),
                    staff=access.is_hub_staff(p.principal))


@router.get("/measure")
def measure(request: Request) -> Response:
    with page(request) as p:
        return _measure_page(p, _line(request.query_params.get("id"), 100), _year(p))


def _files(form: FormData) -> list[statuses.EvidenceFile]:
    found = []
    for sent in form.getlist("files"):
        if isinstance(sent, UploadFile) and sent.filename:
            data = sent.file.read(statuses.MAX_EVIDENCE_BYTES + 1)
            found.append(statuses.EvidenceFile(_line(sent.filename), data))
    return found


def _evidence_date(text: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise PlanError(BAD_DATE) from None


@router.post("/measure/status")
def set_status(request: Request, form: Form) -> Response:
    with page(request, form) as p:
        _require_changer(p)
        measure_id = _line(form.get("id"), 100)
        year = _number(_line(form.get("year"), 10), 0, statuses.MIN_YEAR, statuses.MAX_YEAR)
        try:
            links = [line.strip() for line in _text(form.get("links"), 50_000).splitlines()
                     if line.strip()]
            statuses.set_status(
                p.session, p.clock, measure_id, year,
                statuses.parse_status(_line(form.get("status"), 40)),
                note=_text(form.get("note"), statuses.MAX_NOTE_CHARS + 100), links=links,
                files=_files(form), evidence_date=_evidence_date(_line(form.get("date"), 20)),
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
            return _not_found(p, error)
        content, name = row.content or b"", quote(row.filename)
    return Response(content, media_type="application/octet-stream", headers={
        "content-disposition": f"attachment; filename*=UTF-8''{name}"})


# --- audits --------------------------------------------------------------------------------


@router.get("/audits")
def audit_list(request: Request) -> Response:
    with page(request) as p:
        readable = access.readable_organisation(p.principal)
        asked = request.query_params.get("year")
        year = _number(asked, 0, statuses.MIN_YEAR, statuses.MAX_YEAR) or None
        found = []
        for campaign in audits.campaigns(p.session, readable, year):
            rows = [(a, o, audits.counts(p.session, a.id, campaign.framework_id))
                    for a, o in audits.assessments(p.session, campaign, readable)]
            found.append((campaign, rows))
        every = audits.campaigns(p.session, readable)
        staff = access.is_hub_staff(p.principal)
        members = [o.name for o in orgs.list_all(p.session) if not o.is_hub] if staff \
            else [p.principal.organisation_name]
        return p.render("plan/audits.html", title=p.t("Audits"), campaigns=found,
                        names=[c.name for c in every], members=members, year=year or "",
                        outcomes=list(AuditOutcome), outcome_names=OUTCOME_NAMES, staff=staff)


@router.get("/assessments/{assessment_id}")
def assessment(request: Request, assessment_id: RowId) -> Response:
    with page(request) as p:
        try:
            found = audits.assessment_by_id(p.session, assessment_id,
                                            access.readable_organisation(p.principal))
        except PlanNotFoundError as error:
            return _not_found(p, error)
        described = audits.describe(p.session, found)
        return p.render("plan/assessment.html", title=p.t("Assessment"), a=described,
                        outcome_names=OUTCOME_NAMES, outcomes=list(AuditOutcome),
                        staff=access.is_hub_staff(p.principal))


@router.get("/audits/compare")
def compare(request: Request) -> Response:
    with page(request) as p:
        readable = access.readable_organisation(p.principal)
        earlier = _line(request.query_params.get("earlier"), 100)
        later = _line(request.query_params.get("later"), 100)
        organisation = _line(request.query_params.get("org")) or p.principal.organisation_name
        try:
            rows = audits.compare(p.session, earlier, later, organisation, readable)
        except PlanNotFoundError as error:
            return _not_found(p, error)
        return p.render("plan/compare.html", title=p.t("Audit results year on year"),
                        rows=rows, earlier=earlier, later=later, organisation=organisation,
                        outcome_names=OUTCOME_NAMES, trends=TREND_NAMES,
                        staff=access.is_hub_staff(p.principal))


# --- public comments and consultations -----------------------------------------------------


def _category(text: str) -> Category | None:
    return next((c for c in Category if c.key == text), None)


@router.get("/comments")
def comments(request: Request) -> Response:
    with page(request) as p:
        shipped = board.shipped_comments()
        category = _category(_line(request.query_params.get("category"), 20))
        chosen = comments_about(shipped.comments, category)
        number = _number(request.query_params.get("page"), 1)
        start = (number - 1) * COMMENTS_PER_PAGE
        staff = access.is_hub_staff(p.principal)
        return p.render("plan/comments.html", title=p.t("Public comments"), shipped=shipped,
                        rows=chosen[start:start + COMMENTS_PER_PAGE], number=number,
                        more=len(chosen) > start + COMMENTS_PER_PAGE, count=len(chosen),
                        category=category, categories=list(Category),
                        consultations=consultation.consultations(p.session,
                                                                 published_only=not staff),
                        staff=staff)


@router.get("/consultations/{key}")
def consultation_page(request: Request, key: str) -> Response:
    with page(request) as p:
        staff = access.is_hub_staff(p.principal)
        try:
            key = _line(key, 100)
            made = consultation.get(p.session, key)
            assert made is not None
            if staff:  # every comment, whatever its state (the API's list_comments)
                rows = [consultation.describe(r) for r in consultation.comments(p.session, key)]
                summary = consultation.results(p.session, key, unpublished_ok=True)[2]
            else:  # a published consultation's results only (the API's results)
                _made, published, summary = consultation.results(p.session, key)
                rows = [{"number": c.number, "submitter": c.submitter, "section": c.section,
                         "summary": c.summary, "category": c.category.key, "answer": c.answer,
                         "changed": c.changed, "state": "approved"} for c in published]
        except PlanNotFoundError as error:
            return _not_found(p, error)
        return p.render("plan/consultation.html", title=made.title, c=made, rows=rows,
                        summary=summary, staff=staff)


# --- the yearly report ---------------------------------------------------------------------


@router.get("/report")
def report(request: Request) -> Response:
    from renkei.plan.report import render_html

    with page(request) as p:
        if not access.is_hub_staff(p.principal):
            raise _forbid(p, HUB_ONLY)
        year = _year(p)
        lang = _line(request.query_params.get("lang"), 2)
        try:
            html = render_html(p.session, year, lang if lang in ("en", "ja") else p.lang,
                               now=p.clock.now())
        except PlanNotFoundError as error:
            return _not_found(p, error)
    return Response(html, media_type="text/html; charset=utf-8", headers={
        "content-disposition": f'attachment; filename="plan-report-{year}.html"'})


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
