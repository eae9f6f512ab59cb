"""The plan's audit pages (/plan/audits, /plan/assessments/…, /plan/frameworks,
/plan/campaigns): campaigns and their assessments, two campaigns compared; and for the hub's
staff, loading a framework file, creating a campaign and giving a requirement its result.

A member reads the campaigns and assessments of its own organisation only (another's is
answered 404, as the API does); every change needs the hub's staff and the submit scope.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from renkei.console.forms import line, page_number, text
from renkei.console.web import Form, Page, page
from renkei.core import orgs
from renkei.core.errors import UserError
from renkei.core.http import RowId
from renkei.core.i18n import gettext_noop
from renkei.plan import access, audits, frameworks
from renkei.plan import status as statuses
from renkei.plan.errors import PlanNotFoundError
from renkei.plan.model import AuditOutcome
from renkei.plan.pages_common import (
    may_change,
    not_found,
    require_changer,
    status_of,
    upload,
)
from renkei.plan.report import OUTCOME_NAMES

router = APIRouter(include_in_schema=False)

TREND_NAMES = {"improved": gettext_noop("improved"), "worsened": gettext_noop("worsened"),
               "same": gettext_noop("same"), "changed": gettext_noop("changed"),
               "added": gettext_noop("added"), "removed": gettext_noop("removed")}
LOADED = gettext_noop("Framework {key} version {version} loaded: {count} requirements.")
UNCHANGED = gettext_noop("Framework {key} version {version} was already loaded; nothing changed.")


def _members(p: Page) -> list[str]:
    """The organisations a user may name: every member for the hub's staff, else its own."""
    if access.is_hub_staff(p.principal):
        return [o.name for o in orgs.list_all(p.session) if not o.is_hub]
    return [p.principal.organisation_name]


def _frameworks(p: Page) -> list[tuple[str, str, str, int]]:
    """(key, version, title, requirements) of every framework loaded."""
    return [(f.key, f.version, f.title,
             sum(1 for r in audits.requirements(p.session, f.id) if not r.is_group))
            for f in audits.frameworks(p.session)]


def _audits_page(p: Page, *, error: str = "", notice: str = "",
                 values: dict[str, object] | None = None, status: int = 200) -> Response:
    readable = access.readable_organisation(p.principal)
    asked = p.request.query_params.get("year")
    year = page_number(asked, 0, statuses.MIN_YEAR, statuses.MAX_YEAR) or None
    found = []
    for campaign in audits.campaigns(p.session, readable, year):
        rows = [(a, o, audits.counts(p.session, a.id, campaign.framework_id))
                for a, o in audits.assessments(p.session, campaign, readable)]
        found.append((campaign, rows))
    every = audits.campaigns(p.session, readable)
    changer = may_change(p)
    return p.render("plan/audits.html", status=status, title=p.t("Audits"), campaigns=found,
                    names=[c.name for c in every], members=_members(p), year=year or "",
                    outcomes=list(AuditOutcome), outcome_names=OUTCOME_NAMES,
                    staff=access.is_hub_staff(p.principal), may_change=changer,
                    frameworks=_frameworks(p) if changer else [], error=error, notice=notice,
                    values=values or {"year": str(p.clock.now().year), "orgs": []},
                    limit=frameworks.MAX_FRAMEWORK_BYTES)


@router.get("/audits")
def audit_list(request: Request) -> Response:
    with page(request) as p:
        return _audits_page(p)


@router.post("/frameworks")
def load_framework(request: Request, form: Form) -> Response:
    """A framework file (YAML), checked whole; the same file again changes nothing."""
    with page(request, form) as p:
        require_changer(p)
        try:
            name, data = upload(form, "file", frameworks.MAX_FRAMEWORK_BYTES) or ("", b"")
            framework, new = audits.load_framework(p.session, p.clock, data, name,
                                                   actor=p.principal.actor, source=p.source)
        except UserError as error:  # refused before anything is written
            return _audits_page(p, error=p.message(error), status=status_of(error))
        count = sum(1 for r in audits.requirements(p.session, framework.id) if not r.is_group)
        notice = p.t(LOADED if new else UNCHANGED).format(
            key=framework.key, version=framework.version, count=count)
        return _audits_page(p, notice=notice)


@router.post("/campaigns")
def create_campaign(request: Request, form: Form) -> Response:
    """A campaign: one assessment per organisation chosen (none chosen: every member)."""
    with page(request, form) as p:
        require_changer(p)
        key, _slash, version = line(form.get("framework")).partition("/")
        chosen = [line(o) for o in form.getlist("orgs") if line(o)]
        values: dict[str, object] = {
            "name": line(form.get("name"), 100), "title": text(form.get("title"), 500),
            "framework": f"{key}/{version}", "year": line(form.get("year"), 10),
            "orgs": chosen}
        try:
            audits.create_campaign(
                p.session, p.clock, str(values["name"]), key,
                page_number(str(values["year"]), 0, 0, statuses.MAX_YEAR), version=version or None,
                organisations=chosen, title=str(values["title"]), actor=p.principal.actor,
                source=p.source)
        except UserError as error:  # refused before anything is written
            return _audits_page(p, error=p.message(error), values=values,
                                status=status_of(error))
        return p.redirect("/plan/audits")


def _assessment_page(p: Page, assessment_id: int, *, error: str = "",
                     values: dict[str, str] | None = None, status: int = 200) -> Response:
    try:
        found = audits.assessment_by_id(p.session, assessment_id,
                                        access.readable_organisation(p.principal))
    except PlanNotFoundError as failure:
        return not_found(p, failure)
    described = audits.describe(p.session, found)
    return p.render("plan/assessment.html", status=status, title=p.t("Assessment"),
                    a=described, outcome_names=OUTCOME_NAMES, outcomes=list(AuditOutcome),
                    staff=access.is_hub_staff(p.principal), may_change=may_change(p),
                    error=error, values=values or {}, most=audits.MAX_AUDIT_TEXT)


@router.get("/assessments/{assessment_id}")
def assessment(request: Request, assessment_id: RowId) -> Response:
    with page(request) as p:
        return _assessment_page(p, assessment_id)


@router.post("/assessments/{assessment_id}/results")
def record_result(request: Request, assessment_id: RowId, form: Form) -> Response:
    """A requirement's result (appended: the newest counts)."""
    with page(request, form) as p:
        require_changer(p)
        most = audits.MAX_AUDIT_TEXT + 100  # past the bound: the service says so
        values = {"requirement": line(form.get("requirement"), 100),
                  "result": line(form.get("result"), 40),
                  "evidence": text(form.get("evidence"), most),
                  "findings": text(form.get("findings"), most),
                  "recommendations": text(form.get("recommendations"), most)}
        try:
            found = audits.assessment_by_id(p.session, assessment_id)
        except PlanNotFoundError as error:
            return not_found(p, error)
        try:
            audits.record_result(
                p.session, p.clock, found, values["requirement"],
                audits.parse_outcome(values["result"]), evidence=values["evidence"],
                findings=values["findings"], recommendations=values["recommendations"],
                actor=p.principal.actor, source=p.source)
        except UserError as error:  # refused before anything is written
            return _assessment_page(p, assessment_id, error=p.message(error), values=values,
                                    status=status_of(error))
        return p.redirect(f"/plan/assessments/{assessment_id}")


@router.get("/audits/compare")
def compare(request: Request) -> Response:
    with page(request) as p:
        readable = access.readable_organisation(p.principal)
        earlier = line(request.query_params.get("earlier"), 100)
        later = line(request.query_params.get("later"), 100)
        organisation = line(request.query_params.get("org")) or p.principal.organisation_name
        try:
            rows = audits.compare(p.session, earlier, later, organisation, readable)
        except PlanNotFoundError as error:
            return not_found(p, error)
        return p.render("plan/compare.html", title=p.t("Audit results year on year"),
                        rows=rows, earlier=earlier, later=later, organisation=organisation,
                        outcome_names=OUTCOME_NAMES, trends=TREND_NAMES,
                        staff=access.is_hub_staff(p.principal))
