"""The sensors domain's console pages: trends (top ports and unique sources over time, the
top ports), rises and campaigns, scanners and backscatter, the sensors, and notifications.

They answer what the API answers (see ``sensors.api``): series, rises and campaigns for
anyone signed in; findings that name an address for the hub's staff only; a sensor's
address blocks for the staff and its owner; a member's notifications for that member and
the staff alone.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from markupsafe import Markup

from renkei.console.panels import Panel
from renkei.console.web import Page, page
from renkei.core import orgs
from renkei.core.i18n import gettext_noop
from renkei.core.text import visible
from renkei.sensors import notify, plots, reads, service
from renkei.sensors.api import whose
from renkei.sensors.findings import FindingKind

router = APIRouter(prefix="/sensors", include_in_schema=False)

STAFF_KINDS = (FindingKind.SCANNER, FindingKind.BACKSCATTER)
MEMBER_KINDS = (FindingKind.RISE, FindingKind.CAMPAIGN)
FINDING_ROWS = 200
PANEL_RISES = 5
TOP_PORTS = 10
NOTICE_ADDRESSES = 200
PERIOD_NAMES = {"1d": gettext_noop("1 day"), "7d": gettext_noop("7 days"),
                "30d": gettext_noop("30 days")}
STAFF_ONLY = gettext_noop("findings that name addresses are for the hub's staff")


def _sensor_names(p: Page) -> list[str]:
    return [s.name for s in service.sensors_of(p.session)]


def _rows(found: list[service.StoredFinding]) -> list[dict[str, Any]]:
    """What a findings table shows of each finding: its JSON shape, as the API gives it,
    with the times as times."""
    return [f.to_json() | {"first": f.row.first, "last": f.row.last} for f in found]


@router.get("/")
def trends(request: Request, period: str = Query("7d", max_length=4),
           sensor: str = Query("", max_length=100)) -> Response:
    with page(request) as p:
        days = reads.PERIODS.get(period, 7)
        names = _sensor_names(p)
        chosen = sensor if sensor in names else ""
        span = reads.window(p.session, days)
        context: dict[str, Any] = {"packets": "", "sources": "", "ports": [], "truncated": False,
                                   "span": span}
        if span is not None:
            table = reads.series_table(p.session, span.since, span.until, chosen or None)
            context["truncated"] = table.truncated
            if not table.frame.is_empty():
                context["packets"] = plots.top_ports_svg(table.frame, lang=p.lang)
                context["sources"] = plots.top_ports_svg(table.frame, lang=p.lang,
                                                         measure="sources")
                total = max(1, int(table.frame["packets"].sum()))
                context["ports"] = [
                    (plots.port_label(r["proto"], r["port"]), int(r["packets"]),
                     100 * int(r["packets"]) / total, int(r["peak_sources"]), int(r["sensors"]))
                    for r in plots.top_ports(table.frame, TOP_PORTS).iter_rows(named=True)]
        rises = service.findings(p.session, kinds=[FindingKind.RISE], limit=PANEL_RISES)
        return p.render("sensors/trends.html", title=p.t("Sensor trends"), period=period
                        if period in reads.PERIODS else "7d", periods=list(PERIOD_NAMES.items()),
                        sensors=names, sensor=chosen, rises=_rows(rises), staff=_staff(p),
                        visible=visible, **context)


def _staff(p: Page) -> bool:
    return reads.is_staff(p.principal)


@router.get("/rises")
def rises(request: Request) -> Response:
    with page(request) as p:
        found = service.findings(p.session, kinds=list(MEMBER_KINDS), limit=FINDING_ROWS)
        return p.render(
            "sensors/rises.html", title=p.t("Rises and campaigns"), staff=_staff(p),
            rises=_rows([f for f in found if f.row.kind == FindingKind.RISE]),
            campaigns=_rows([f for f in found if f.row.kind == FindingKind.CAMPAIGN]),
            limit=FINDING_ROWS, visible=visible)


@router.get("/findings")
def findings(request: Request, kind: str = Query("scanner", max_length=20),
             port: int | None = Query(None, ge=0, le=65535),
             sensor: str = Query("", max_length=100),
             src: str = Query("", max_length=60)) -> Response:
    with page(request) as p:
        if not _staff(p):
            raise p.forbid(STAFF_ONLY)
        chosen = FindingKind.BACKSCATTER if kind == "backscatter" else FindingKind.SCANNER
        names = _sensor_names(p)
        found = service.findings(p.session, kinds=[chosen], port=port,
                                 sensor=sensor if sensor in names else None,
                                 src=src.strip() or None, limit=FINDING_ROWS)
        return p.render("sensors/findings.html", title=p.t("Scanners and backscatter"),
                        kind=chosen.value, port=port, sensor=sensor if sensor in names else "",
                        src=src.strip(), sensors=names, rows=_rows(found), limit=FINDING_ROWS,
                        staff=True, visible=visible)


@router.get("/list")
def sensors(request: Request) -> Response:
    with page(request) as p:
        staff = _staff(p)
        names = {o.id: o.name for o in orgs.list_all(p.session)} if staff else {}
        rows = [(s.name, s.site, s.address_count,
                 s.blocks if staff or s.owner_id == p.principal.organisation_id else None,
                 names.get(s.owner_id, ""))
                for s in service.sensors_of(p.session)]
        return p.render("sensors/list.html", title=p.t("Sensors"), rows=rows, staff=staff,
                        visible=visible)


@router.get("/notifications")
def notifications(request: Request, org: str = Query("", max_length=200)) -> Response:
    with page(request) as p:
        staff = _staff(p)
        member = whose(p.session, p.principal, org or None)  # the API's rule, unchanged
        found = notify.notices(p.session, organisation_id=member)
        return p.render("sensors/notifications.html", title=p.t("Notifications"),
                        notices=found, staff=staff, org=org if staff else "",
                        members=[o.name for o in orgs.list_all(p.session) if not o.is_hub]
                        if staff else [], most=NOTICE_ADDRESSES, visible=visible)


def panel(p: Page) -> Markup | None:
    """A small chart of the busiest ports of the last week of data, and the newest rises."""
    span = reads.window(p.session, 7)
    if span is None:
        return None
    table = reads.series_table(p.session, span.since, span.until)
    svg = plots.top_ports_svg(table.frame, lang=p.lang, top=5) \
        if not table.frame.is_empty() else ""
    rises_ = service.findings(p.session, kinds=[FindingKind.RISE], limit=PANEL_RISES)
    return p.fragment("sensors/panel.html", svg=svg, rises=_rows(rises_), visible=visible)


PANELS = [Panel("sensors", gettext_noop("Sensor trends"), panel, order=30)]
