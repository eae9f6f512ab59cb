"""The incidents pages (/incidents/…): the list (by status, or the overdue ones), one
incident with its timeline, tasks, notes, indicators, evidence, SLA deadlines and times
to detect, acknowledge and resolve, the actions on it, and opening one by hand.

Pages call what ``incidents.api`` calls, as the signed-in user's ``Caller``, with the same
scope checks; the service decides the rest (a member sees and adds to its own incidents
only; moving, assigning, severity and sharing are the hub's staff's), and what the user
may not see is "not found", as through the API.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup
from starlette.datastructures import FormData

from renkei.console.forms import field, line, lines_of, record_id, row_id, when_of
from renkei.console.panels import Panel
from renkei.console.web import Form, Page, answered, page
from renkei.core import members, orgs
from renkei.core.errors import UserError
from renkei.core.i18n import Translate, gettext_noop
from renkei.core.models import Scope
from renkei.core.tlp import Tlp
from renkei.incidents import metrics, reads, service, view
from renkei.incidents.api import sla_of, smtp_of
from renkei.incidents.model import (
    INDICATOR_TYPES,
    MOVES,
    Category,
    EventKind,
    EvidenceKind,
    Severity,
    Status,
    needs_note,
)
from renkei.incidents.service import Caller
from renkei.incidents.share import share_indicators
from renkei.logs import charts
from renkei.sharing import taxii

router = APIRouter(prefix="/incidents", include_in_schema=False)

PAGE_ROWS = 50
PANEL_ROWS = 8
SEVERITY_COLOURS = {"on time": "#4c72b0", "overdue": "#d62728"}
MINUTES = gettext_noop("{minutes} min")
HOURS = gettext_noop("{hours} h {minutes} min")
DAYS = gettext_noop("{days} d {hours} h")


def duration(t: Translate, seconds: float | None) -> str:
    """Seconds as a person reads them: minutes, hours and minutes, or days and hours."""
    if seconds is None:
        return "-"
    minutes = int(max(0.0, seconds) // 60)
    if minutes < 60:
        return t(MINUTES).format(minutes=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return t(HOURS).format(hours=hours, minutes=minutes)
    days, hours = divmod(hours, 24)
    return t(DAYS).format(days=days, hours=hours)


def describe(t: Translate, kind: str, details: dict[str, Any]) -> str:
    """An event's details in a line: ``new → acknowledged``, a task's title, an indicator."""
    if kind in (EventKind.STATUS, EventKind.SEVERITY):
        return f"{t(str(details.get('from', '')))} → {t(str(details.get('to', '')))}"
    if kind == EventKind.ASSIGNED:
        return str(details.get("user") or "-")
    if kind in (EventKind.TASK_ADDED, EventKind.TASK_DONE):
        return str(details.get("title", ""))
    if kind == EventKind.INDICATOR:
        return f"{details.get('type', '')} {details.get('value', '')}"
    if kind == EventKind.EVIDENCE:
        return f"{details.get('kind', '')}:{details.get('ref', '')}"
    if kind == EventKind.CREATED:
        return (f"{t(str(details.get('severity', '')))}, {t(str(details.get('category', '')))}, "
                f"TLP:{str(details.get('tlp', '')).upper()}, {details.get('source', '')}")
    shown = [f"{key}: {value}" for key, value in details.items()
             if isinstance(value, str | int | bool) and key != "objects"]
    return ", ".join(shown)[:300]


def _caller(p: Page) -> Caller:
    return Caller.of(p.principal, p.source)


# --- the list ---------------------------------------------------------------------------------


def _status(text: str | None) -> Status | None:
    try:
        return Status((text or "")[:20])
    except ValueError:
        return None


@router.get("/")
def incidents(request: Request) -> Response:
    """The incidents the user may see, newest first; or the overdue ones, most severe first."""
    with page(request) as p:
        caller, sla, now = _caller(p), sla_of(request), p.clock.now()
        query = request.query_params
        status = _status(query.get("status"))
        overdue = query.get("overdue") == "1"
        if overdue:
            found = [i for i, _ in metrics.overdue(p.session, caller, sla, now,
                                                   limit=reads.PAGE_MAX)]
        else:
            found = reads.incidents(p.session, caller, status=status,
                                    before=row_id(query.get("before")), limit=PAGE_ROWS)
        rows = [view.summary(p.session, caller, i, sla, now) for i in found]
        return p.render("incidents/list.html", title=p.t("Incidents"), rows=rows,
                        statuses=list(Status), chosen=status, overdue=overdue,
                        more=not overdue and len(found) == PAGE_ROWS,
                        may_open=Scope.SUBMIT in p.principal.scopes)


# --- opening one by hand ------------------------------------------------------------------------


def _new_form(p: Page, *, error: str = "", values: dict[str, Any] | None = None,
              status: int = 200) -> Response:
    caller = _caller(p)
    return p.render(
        "incidents/new.html", status=status, title=p.t("Open an incident"), error=error,
        staff=caller.is_hub_staff, severities=list(Severity), categories=list(Category),
        levels=list(Tlp), values=values or {"organisations": []},
        members=[o.name for o in orgs.list_all(p.session) if not o.is_hub]
        if caller.is_hub_staff else [])


@router.get("/new")
def new_form(request: Request) -> Response:
    with page(request) as p:
        p.require_scope(Scope.SUBMIT)
        source = line(request.query_params.get("source"), 600)  # the records' "open" links
        return _new_form(p, values={"organisations": [], "source": source} if source else None)


@router.post("/new")
def create(request: Request, form: Form) -> Response:
    """An incident reported by phone or mail (or, for the hub's staff, from a record)."""
    with page(request, form) as p:
        p.require_scope(Scope.SUBMIT)
        caller = _caller(p)
        chosen = [v[:200] for v in form.getlist("organisations") if isinstance(v, str)][:200]
        values: dict[str, Any] = {k: field(form, k, 20_000) for k in (
            "title", "severity", "category", "tlp", "description", "source", "occurred_at",
            "detected_at")} | {"organisations": chosen}
        try:
            incident = service.create(
                p.session, p.clock, caller, title=values["title"] or None,
                severity=values["severity"] or None, category=values["category"] or None,
                organisations=chosen, description=values["description"],
                tlp=values["tlp"] or None, source=values["source"][:600] or None,
                occurred_at=when_of(values["occurred_at"]),
                detected_at=when_of(values["detected_at"]))
        except UserError as error:
            return _new_form(p, error=p.message(error), values=values, status=400)
        return p.redirect(f"/incidents/{incident.id}")


# --- one incident -------------------------------------------------------------------------------


def _detail(p: Page, incident_id: int, *, error: str = "", status: int = 200) -> Response:
    caller, sla, now = _caller(p), sla_of(p.request), p.clock.now()
    incident = service.get(p.session, caller, record_id(incident_id))
    shown = view.detail(p.session, caller, incident, sla, now)
    current = Status(incident.status)
    staff = caller.is_hub_staff
    hub = orgs.hub(p.session) if staff else None
    return p.render(
        "incidents/detail.html", status=status, title=incident.title, i=shown, error=error,
        staff=staff, may_change=caller.may_change,
        moves=[(s, needs_note(current, s)) for s in sorted(MOVES[current])],
        severities=list(Severity), types=INDICATOR_TYPES,
        evidence_kinds=[k.value for k in EvidenceKind] if staff else
        [EvidenceKind.REFERENCE.value],
        staff_users=[u.email for u in members.list_users(p.session, hub)
                     if u.disabled_at is None and u.role.is_hub_role] if hub else [],
        collections=[v.collection for v in taxii.collections_for(p.session, p.principal)
                     if v.can_write] if staff else [],
        timings={k: duration(p.t, v) for k, v in shown["timings"].items()},
        describe=lambda kind, details: describe(p.t, kind, details),
        is_new=current is Status.NEW)


@router.get("/{incident_id}")
def incident(request: Request, incident_id: int) -> Response:
    with page(request) as p, answered(p):
        return _detail(p, incident_id)


def _act(request: Request, form: FormData, incident_id: int, anchor: str,
         action: Callable[[Page, Caller, int], object]) -> Response:
    """Run one change as the API route does (the submit scope first); a mistake in the
    form shows the incident again with the service's reason, a refusal its own page."""
    with page(request, form) as p, answered(p):
        p.require_scope(Scope.SUBMIT)
        found = record_id(incident_id)
        try:
            action(p, _caller(p), found)
        except UserError as error:
            if getattr(error, "status", 400) in (403, 404):
                raise
            return _detail(p, found, error=p.message(error), status=400)
        return p.redirect(f"/incidents/{found}#{anchor}")


@router.post("/{incident_id}/acknowledge")
def acknowledge(request: Request, incident_id: int, form: Form) -> Response:
    return _act(request, form, incident_id, "status", lambda p, c, n: service.acknowledge(
        p.session, p.clock, c, n))


@router.post("/{incident_id}/transition")
def transition(request: Request, incident_id: int, form: Form) -> Response:
    return _act(request, form, incident_id, "status", lambda p, c, n: service.transition(
        p.session, p.clock, c, n, field(form, "status", 40), note=field(form, "note", 20_000)))


@router.post("/{incident_id}/assign")
def assign(request: Request, incident_id: int, form: Form) -> Response:
    return _act(request, form, incident_id, "status", lambda p, c, n: service.assign(
        p.session, p.clock, c, n, field(form, "user", 254) or None))


@router.post("/{incident_id}/severity")
def severity(request: Request, incident_id: int, form: Form) -> Response:
    return _act(request, form, incident_id, "status", lambda p, c, n: service.set_severity(
        p.session, p.clock, c, n, field(form, "severity", 40), note=field(form, "note", 20_000)))


@router.post("/{incident_id}/notes")
def add_note(request: Request, incident_id: int, form: Form) -> Response:
    return _act(request, form, incident_id, "timeline", lambda p, c, n: service.add_note(
        p.session, p.clock, c, n, field(form, "text", 20_000)))


@router.post("/{incident_id}/tasks")
def add_task(request: Request, incident_id: int, form: Form) -> Response:
    return _act(request, form, incident_id, "tasks", lambda p, c, n: service.add_task(
        p.session, p.clock, c, n, field(form, "title", 1_000)))


@router.post("/{incident_id}/tasks/{task_id}/done")
def task_done(request: Request, incident_id: int, task_id: int, form: Form) -> Response:
    return _act(request, form, incident_id, "tasks", lambda p, c, n: service.complete_task(
        p.session, p.clock, c, n, record_id(task_id)))


@router.post("/{incident_id}/indicators")
def add_indicator(request: Request, incident_id: int, form: Form) -> Response:
    return _act(request, form, incident_id, "indicators", lambda p, c, n: service.add_indicator(
        p.session, p.clock, c, n, field(form, "type", 40), field(form, "value", 4_096)))


@router.post("/{incident_id}/evidence")
def link_evidence(request: Request, incident_id: int, form: Form) -> Response:
    return _act(request, form, incident_id, "links", lambda p, c, n: service.link_evidence(
        p.session, p.clock, c, n, field(form, "kind", 40), field(form, "ref", 2_000)))


@router.post("/{incident_id}/notify")
def notify_members(request: Request, incident_id: int, form: Form) -> Response:
    """E-mail and signed webhooks to the affected members now (the hub's staff); each
    delivery is on the timeline as notified or notify_failed."""
    from renkei.incidents import notify

    return _act(request, form, incident_id, "timeline", lambda p, c, n: notify.notify(
        p.session, p.clock, c, n, smtp_of(request)))


@router.post("/{incident_id}/share")
def share(request: Request, incident_id: int, form: Form) -> Response:
    """The incident's indicators, shared under its TLP in one step (the hub's staff)."""
    return _act(request, form, incident_id, "indicators", lambda p, c, n: share_indicators(
        p.session, p.clock, c, n, collection=field(form, "collection", 100) or None,
        recipients=lines_of(form, "recipients", 100), to_affected=bool(form.get("to_affected"))))


# --- the overview's panel ----------------------------------------------------------------------


def _severity_chart(p: Page, late: Counter[str], on_time: Counter[str]) -> str:
    labels = [s.value for s in Severity]
    return charts.stacked_bars_svg(
        [p.t(s) for s in labels],
        [charts.Series(p.t("on time"), SEVERITY_COLOURS["on time"], [on_time[s] for s in labels]),
         charts.Series(p.t("overdue"), SEVERITY_COLOURS["overdue"], [late[s] for s in labels])],
        xlabel=p.t("Open incidents"))


def open_incidents(p: Page) -> Markup:
    """The open incidents the user may see with their next deadline, the overdue first."""
    caller, sla, now = _caller(p), sla_of(p.request), p.clock.now()
    found = service.list_incidents(p.session, caller, open_only=True, limit=500)
    rows = []
    late: Counter[str] = Counter()
    on_time: Counter[str] = Counter()
    for incident in found:
        deadlines = metrics.sla_of(incident, sla, now)
        due = deadlines.acknowledge_by if incident.status == Status.NEW.value \
            else deadlines.resolve_by
        (late if deadlines.late else on_time)[incident.severity] += 1
        rows.append((not deadlines.late, due, incident, deadlines))
    rows.sort(key=lambda row: (row[0], row[1], row[2].id))
    svg = _severity_chart(p, late, on_time) if rows else None
    return p.fragment("incidents/panel.html", rows=[(i, d, due) for _, due, i, d in
                                                    rows[:PANEL_ROWS]],
                      total=len(rows), overdue=sum(late.values()), svg=svg)


PANELS = [Panel("incidents-open", gettext_noop("Open incidents"), open_incidents, order=45)]
