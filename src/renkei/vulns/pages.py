"""The console's vulnerability pages (/vulns/…): search, a vulnerability's records, the
member's assets (with an inventory upload), its alerts, suppressions and subscriptions,
and the feed imports for the hub's staff; and the overview's panel of new matches.

Each route checks what the API checks (``vulns.api``): any signed-in user reads the
vulnerability records; assets, alerts, suppressions and subscriptions are read through
``alerts.whose`` (a member its own, the hub's staff every member's or one's), and changing
them needs the submit scope. A suppression is a member's own decision about its
components: the hub's staff read them all but make or remove none. The feed history has
no API: it is the hub's staff's alone.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup
from starlette.datastructures import UploadFile

from renkei.console.forms import line, page_number
from renkei.console.panels import Panel
from renkei.console.web import Form, Page, page
from renkei.core import orgs
from renkei.core.errors import UserError
from renkei.core.http import MAX_ID, RowId
from renkei.core.i18n import gettext_noop
from renkei.core.models import Scope
from renkei.logs import charts
from renkei.sharing.policy import Viewer
from renkei.vulns import alerts, reads, service
from renkei.vulns.inventory import FORMATS, parse_inventory
from renkei.vulns.publish import NotFoundError, records_of
from renkei.vulns.store import ID_LENGTH, Alert

router = APIRouter(prefix="/vulns", include_in_schema=False)

PAGE_SIZE = 50
#: the console's forms are bounded by the HTTP guard at 4 MiB (the API takes 16 MiB)
MAX_UPLOAD_BYTES = 4 * 1024 * 1024
NEW_FOR = timedelta(days=7)
SHOWN_PROBLEMS = 20
BAND_NAMES = {
    "kev": gettext_noop("known exploited (KEV)"),
    "critical": gettext_noop("critical (CVSS 9.0+)"),
    "high": gettext_noop("high (CVSS 7.0+)"),
    "medium": gettext_noop("medium (CVSS 4.0+)"),
    "low": gettext_noop("low"),
    "unscored": gettext_noop("no CVSS"),
}
BAND_COLORS = {"kev": "#8b1a1a", "critical": "#d9480f", "high": "#f08c00",
               "medium": "#fcc419", "low": "#74b816", "unscored": "#adb5bd"}
SEARCH_KIND_NAMES = {"any": gettext_noop("anything"), "id": gettext_noop("id or CVE"),
                     "keyword": gettext_noop("keyword in the title"),
                     "product": gettext_noop("product or package")}
HUB_ONLY = gettext_noop("this page is for the hub's staff")
NEEDS_SUBMIT = gettext_noop("your role may read but not change this")
NO_FILE = gettext_noop("choose an inventory file to upload")
TOO_LARGE = gettext_noop("an inventory uploaded here is at most {limit} bytes; larger ones go "
                         "through the API or the command line")
SUPPRESSION_KIND_NAMES = {"false_positive": gettext_noop("false positive"),
                          "accepted_risk": gettext_noop("accepted risk")}
MEMBERS_DECIDE = gettext_noop("a member suppresses its own matches; the hub's staff read them")
BAD_DAYS = gettext_noop("a suppression expires in 1 to {most} days")
DEFAULT_SUPPRESSION_DAYS = 90
MAX_SUPPRESSION_DAYS = 3650
UNKNOWN_FORMAT = gettext_noop("the file is not an inventory format renkei reads; accepted: "
                              "{formats}")


def _is_staff(p: Page) -> bool:
    return Viewer.of(p.principal).is_hub_staff


def _require_submit(p: Page) -> None:
    """The API's ``work(request, Scope.SUBMIT)``: a reader's role may not change anything."""
    if Scope.SUBMIT not in p.principal.scopes:
        raise p.forbid(NEEDS_SUBMIT)


def _whose(p: Page) -> tuple[int | None, str]:
    """The organisation read (``alerts.whose``, as the API) and the ``org`` asked for."""
    asked = line(p.request.query_params.get("org")) or None
    return alerts.whose(p.session, p.principal, asked), asked or ""


def _common(p: Page, chosen: str) -> dict[str, Any]:
    staff = _is_staff(p)
    return {"staff": staff, "chosen": chosen,
            "organisations": [o for o in orgs.list_all(p.session) if not o.is_hub] if staff
            else [], "names": {o.id: o.name for o in orgs.list_all(p.session)} if staff else {}}


# --- vulnerabilities -----------------------------------------------------------------------


@router.get("/")
def search(request: Request) -> Response:
    with page(request) as p:
        query = line(request.query_params.get("q"), reads.MAX_QUERY_CHARS).strip()
        kind = line(request.query_params.get("kind"), 20)
        kind = kind if kind in reads.SEARCH_KINDS else "any"
        number = page_number(request.query_params.get("page"))
        found = reads.search(p.session, query, kind, limit=PAGE_SIZE + 1,
                             offset=(number - 1) * PAGE_SIZE) if query else []
        return p.render("vulns/search.html", title=p.t("Vulnerabilities"), query=query,
                        kind=kind, kinds=SEARCH_KIND_NAMES, found=found[:PAGE_SIZE],
                        number=number, more=len(found) > PAGE_SIZE, staff=_is_staff(p),
                        min_chars=reads.MIN_WORD_CHARS)


@router.get("/v/{key}")
def vulnerability(request: Request, key: str) -> Response:
    with page(request) as p:
        try:
            described = service.describe(p.session, line(key))
            _key, records = records_of(p.session, line(key))
        except NotFoundError as error:
            return p.render("error.html", status=404, title=p.t("Not found"),
                            text=p.message(error))
        return p.render("vulns/detail.html", title=str(described["vulnerability"]),
                        v=described, affected=reads.affected_of(records), staff=_is_staff(p))


# --- assets --------------------------------------------------------------------------------


def _assets(p: Page, *, error: str = "", done: dict[str, object] | None = None,
            status: int = 200) -> Response:
    whose, chosen = _whose(p)
    return p.render("vulns/assets.html", status=status, title=p.t("Assets"),
                    assets=alerts.assets_of(p.session, whose), error=error, done=done,
                    may_upload=Scope.SUBMIT in p.principal.scopes, formats=FORMATS,
                    limit=MAX_UPLOAD_BYTES, **_common(p, chosen))


@router.get("/assets")
def assets(request: Request) -> Response:
    with page(request) as p:
        return _assets(p)


@router.post("/assets")
def upload(request: Request, form: Form) -> Response:
    with page(request, form) as p:
        _require_submit(p)
        sent = form.get("file")
        if not isinstance(sent, UploadFile) or not sent.filename:
            return _assets(p, error=p.t(NO_FILE), status=400)
        data = sent.file.read(MAX_UPLOAD_BYTES + 1)
        if not data:
            return _assets(p, error=p.t(NO_FILE), status=400)
        if len(data) > MAX_UPLOAD_BYTES:
            return _assets(p, error=p.t(TOO_LARGE).format(limit=MAX_UPLOAD_BYTES), status=413)
        filename = line(sent.filename) or "inventory"
        read = parse_inventory(data, filename)
        if read.format == "unknown":  # nothing read: never replace an asset with nothing
            return _assets(p, error=p.t(UNKNOWN_FORMAT).format(formats=", ".join(FORMATS)),
                           status=400)
        name = line(form.get("name")).strip() or filename
        try:
            asset, raised = alerts.register_asset(
                p.session, p.clock, p.principal.organisation_id, name, read.components,
                read.format, actor=p.principal.actor, source=p.source)
        except UserError as error:
            return _assets(p, error=p.message(error), status=400)
        return _assets(p, done={"name": asset.name, "format": read.format,
                                "components": len(read.components), "alerts": raised,
                                "problems": read.problems[:SHOWN_PROBLEMS],
                                "more_problems": max(0, len(read.problems) - SHOWN_PROBLEMS)})


# --- alerts and subscriptions --------------------------------------------------------------


@router.get("/alerts")
def alert_list(request: Request) -> Response:
    with page(request) as p:
        whose, chosen = _whose(p)
        number = page_number(request.query_params.get("page"))
        rows = reads.alerts_page(p.session, whose, limit=PAGE_SIZE + 1,
                                 offset=(number - 1) * PAGE_SIZE)
        asset_names = {a.id: a.name for a, _n in alerts.assets_of(p.session, whose)}
        subscribed = {s.id: f"{s.kind}: {s.value}"
                      for s in reads.subscriptions_of(p.session, whose)}
        return p.render("vulns/alerts.html", title=p.t("Matches"), rows=rows[:PAGE_SIZE],
                        more=len(rows) > PAGE_SIZE, number=number, asset_names=asset_names,
                        subscribed=subscribed, band_of=reads.band_of, band_names=BAND_NAMES,
                        suppressed=_suppressed(p, whose, rows[:PAGE_SIZE]),
                        may_suppress=_may_suppress(p), **_common(p, chosen))


# --- suppressions --------------------------------------------------------------------------


def _may_suppress(p: Page) -> bool:
    return not _is_staff(p) and Scope.SUBMIT in p.principal.scopes


def _require_suppress(p: Page) -> None:
    if _is_staff(p):
        raise p.forbid(MEMBERS_DECIDE)
    _require_submit(p)


def _suppressed(p: Page, whose: int | None, rows: list[tuple[Alert, str]]) -> set[int]:
    """The alerts a live suppression covers: for every component, or for each of its own
    (an alert stays listed; it is marked)."""
    now = p.clock.now()
    live = {(s.organisation_id, s.vulnerability, s.component)
            for s in reads.suppressions_of(p.session, whose) if s.expires_at > now}
    return {a.id for a, key in rows
            if (a.organisation_id, key, "*") in live
            or (a.components and all((a.organisation_id, key, c) in live
                                     for c in a.components))}


def _prefill(p: Page) -> dict[str, Any]:
    """What the add form starts with, from ``?alert=`` (one of the member's own matches:
    its vulnerability and components)."""
    alert_id = page_number(p.request.query_params.get("alert"), default=0, high=MAX_ID)
    found = alerts.alert_by_id(p.session, alert_id) if alert_id else None
    if found is None or found[0].organisation_id != p.principal.organisation_id:
        return {"vulnerability": "", "components": []}
    alert, key = found
    return {"vulnerability": key, "components": list(alert.components)}


def _suppressions(p: Page, *, error: str = "", status: int = 200) -> Response:
    whose, chosen = _whose(p)
    return p.render("vulns/suppressions.html", status=status, title=p.t("Suppressions"),
                    rows=reads.suppressions_of(p.session, whose), now=p.clock.now(),
                    kinds=SUPPRESSION_KIND_NAMES, may_change=_may_suppress(p),
                    prefill=_prefill(p), default_days=DEFAULT_SUPPRESSION_DAYS,
                    max_days=MAX_SUPPRESSION_DAYS, error=error, **_common(p, chosen))


@router.get("/suppressions")
def suppressions(request: Request) -> Response:
    with page(request) as p:
        return _suppressions(p)


@router.post("/suppressions")
def suppress(request: Request, form: Form) -> Response:
    with page(request, form) as p:
        _require_suppress(p)
        days = line(form.get("days"), 10).strip()
        if not (days.isascii() and days.isdigit()) or not 1 <= int(days) <= MAX_SUPPRESSION_DAYS:
            return _suppressions(p, error=p.t(BAD_DAYS).format(most=MAX_SUPPRESSION_DAYS),
                                 status=400)
        try:
            alerts.suppress(p.session, p.clock, p.principal.organisation_id,
                            line(form.get("vulnerability"), ID_LENGTH).strip(),
                            line(form.get("component"), 2000).strip(),
                            line(form.get("kind"), 20), line(form.get("reason"), 2000).strip(),
                            p.clock.now() + timedelta(days=int(days)), actor=p.principal.actor,
                            source=p.source)
        except UserError as error:
            return _suppressions(p, error=p.message(error), status=400)
        return p.redirect("/vulns/suppressions")


@router.post("/suppressions/{suppression_id}/remove")
def unsuppress(request: Request, suppression_id: RowId, form: Form) -> Response:
    with page(request, form) as p:
        _require_suppress(p)
        try:
            alerts.unsuppress(p.session, p.clock, p.principal.organisation_id, suppression_id,
                              actor=p.principal.actor, source=p.source)
        except alerts.NoSuchSuppressionError as error:
            return p.render("error.html", status=404, title=p.t("Not found"),
                            text=p.message(error))
        return p.redirect("/vulns/suppressions")


def _subscriptions(p: Page, *, error: str = "", status: int = 200) -> Response:
    whose, chosen = _whose(p)
    return p.render("vulns/subscriptions.html", status=status, title=p.t("Subscriptions"),
                    rows=reads.subscriptions_of(p.session, whose), error=error,
                    kinds=alerts.SUBSCRIPTION_KINDS,
                    may_change=Scope.SUBMIT in p.principal.scopes, **_common(p, chosen))


@router.get("/subscriptions")
def subscriptions(request: Request) -> Response:
    with page(request) as p:
        return _subscriptions(p)


@router.post("/subscriptions")
def subscribe(request: Request, form: Form) -> Response:
    with page(request, form) as p:
        _require_submit(p)
        try:
            alerts.subscribe(p.session, p.clock, p.principal.organisation_id,
                             line(form.get("kind"), 20), line(form.get("value"), 300),
                             actor=p.principal.actor, source=p.source)
        except UserError as error:
            return _subscriptions(p, error=p.message(error), status=400)
        return p.redirect("/vulns/subscriptions")


# --- feeds (the hub's staff) ---------------------------------------------------------------


@router.get("/feeds")
def feeds(request: Request) -> Response:
    with page(request) as p:
        if not _is_staff(p):
            raise p.forbid(HUB_ONLY)
        number = page_number(request.query_params.get("page"))
        runs = reads.feed_imports(p.session, limit=PAGE_SIZE + 1,
                                  offset=(number - 1) * PAGE_SIZE)
        return p.render("vulns/feeds.html", title=p.t("Feed imports"), runs=runs[:PAGE_SIZE],
                        more=len(runs) > PAGE_SIZE, number=number, staff=True)


@router.get("/feeds/{import_id}")
def feed_problems(request: Request, import_id: RowId) -> Response:
    with page(request) as p:
        if not _is_staff(p):
            raise p.forbid(HUB_ONLY)
        return p.render("vulns/problems.html", title=p.t("Feed imports"), import_id=import_id,
                        problems=reads.feed_problems(p.session, import_id), staff=True)


# --- the overview's panel ------------------------------------------------------------------


def _bands_chart(p: Page, counts: dict[str, int]) -> str:
    labels = [p.t(BAND_NAMES[band]) for band in reads.BANDS]
    layers = [charts.Series(p.t(BAND_NAMES[band]), BAND_COLORS[band],
                            [counts[band] if other == band else 0 for other in reads.BANDS])
              for band in reads.BANDS if counts[band]]
    return charts.stacked_bars_svg(labels, layers, xlabel=p.t("Matches"))


def new_matches(p: Page) -> Markup | None:
    """New matches of the last week by band, known exploited first: a member's own, every
    member's for the hub's staff."""
    whose = alerts.whose(p.session, p.principal, None)
    counts = reads.alert_bands(p.session, whose, since=p.clock.now() - NEW_FOR)
    total = sum(counts.values())
    return p.fragment("vulns/panel.html", counts=counts, bands=reads.BANDS,
                      band_names=BAND_NAMES, total=total,
                      svg=_bands_chart(p, counts) if total else None)


PANELS = [Panel("vulns-matches", gettext_noop("New vulnerability matches"), new_matches,
                order=40)]
