"""The vulns domain's REST API under ``/api/v1/vulns``.

Vulnerability records come from public feeds: any authenticated caller may read them.
Assets, alerts, suppressions and subscriptions belong to one member: a member reads and
changes only its own; the hub's staff read every member's (``?org=``). Removing a
suppression raises at once the alerts it hid that still match. Every change is audited
(``vulns.asset.register``, ``vulns.suppress``, ``vulns.unsuppress``, ``vulns.subscribe``).
Bodies are bounded by the HTTP guard; an inventory is parsed by the same readers as the
CLI's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from renkei.core import orgs
from renkei.core.http import ERROR_RESPONSES, Body, HttpError, Instant, RowId, work
from renkei.core.models import Scope
from renkei.vulns import alerts, index, publish, reads, service

router = APIRouter(prefix="/api/v1/vulns", tags=["vulns"], responses=ERROR_RESPONSES)
MAX_INVENTORY_BYTES = 16 * 1024 * 1024


def _inventory(body: bytes) -> bytes:
    """The uploaded inventory, checked once the caller is known (401 before 400)."""
    if not body:
        raise HttpError(400, "send the inventory file as the request body")
    if len(body) > MAX_INVENTORY_BYTES:
        raise HttpError(413, "an inventory is at most {limit} bytes", limit=MAX_INVENTORY_BYTES)
    return body


class FindingOut(BaseModel):
    component: str
    version: str | None
    vulnerability: str
    aliases: list[str]
    cvss: dict[str, Any] | None
    kev: bool
    epss: float | None
    certain: bool
    why: list[str]
    sources: list[str]
    location: str


class AlertOut(BaseModel):
    id: int
    vulnerability: str
    asset_id: int | None
    subscription_id: int | None
    priority: float
    cvss: float | None
    kev: bool
    epss: float | None
    certain: bool
    components: list[str]
    why: list[str]
    created_at: datetime
    updated_at: datetime


class AssetOut(BaseModel):
    id: int
    name: str
    format: str
    components: int
    updated_at: datetime
    new_alerts: int | None = None


class SuppressionIn(Body):
    vulnerability: str = Field(max_length=200)
    component: str = Field("*", max_length=2000)
    kind: str = Field(pattern="^(false_positive|accepted_risk)$")
    reason: str = Field(min_length=1, max_length=2000)
    expires_at: Instant


class SuppressionOut(BaseModel):
    """A member's decision that a vulnerability does not concern a component ("*": any)."""

    id: int
    organisation: str
    vulnerability: str
    component: str
    kind: str = Field(description="false_positive or accepted_risk")
    reason: str
    expires_at: datetime
    live: bool = Field(description="not yet expired: it hides the matches it names")
    created_by: str
    created_at: datetime


class SuppressionMadeOut(BaseModel):
    id: int
    expires_at: str


class SuppressionRemovedOut(BaseModel):
    id: int
    vulnerability: str
    component: str
    new_alerts: int = Field(description="alerts raised again for matches it had hidden")


class SubscriptionIn(Body):
    kind: str = Field(pattern="^(product|vendor|keyword)$")
    value: str = Field(min_length=3, max_length=200)


@router.post("/match", summary="Match an inventory (not stored) against the held vulnerabilities",
             response_model=list[FindingOut],
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
async def match(request: Request,
                name: Annotated[str, Query(max_length=200, description="The file's name, for "
                                           "format detection (requirements.txt, …)")] = "inventory.txt",
                ) -> list[dict[str, Any]]:
    from renkei.vulns.inventory import parse_inventory

    body = await request.body()
    with work(request) as w:
        read = parse_inventory(_inventory(body), name)
        findings = index.match_components(request.app.state.vuln_index, w.session,
                                          read.components)
        return [f.as_json() for f in findings]


@router.get("/alerts", summary="Alerts: your own; the hub's staff: every member's or one's",
            response_model=list[AlertOut])
def list_alerts(request: Request, org: str | None = None,
                limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> list[AlertOut]:
    with work(request) as w:
        rows = alerts.alerts_of(w.session, alerts.whose(w.session, w.principal, org),
                                limit=limit)
        return [AlertOut(id=a.id, vulnerability=key, asset_id=a.asset_id or None,
                         subscription_id=a.subscription_id or None, priority=a.priority,
                         cvss=a.cvss, kev=a.kev, epss=a.epss, certain=a.certain,
                         components=a.components, why=a.why, created_at=a.created_at,
                         updated_at=a.updated_at) for a, key in rows]


@router.get("/feed.{fmt}", summary="Your alerts as a feed: atom, rss or json",
            response_class=Response, responses={200: {"description": "The feed", "content": {
                "application/atom+xml": {"schema": {"type": "string"}},
                "application/rss+xml": {"schema": {"type": "string"}},
                "application/feed+json": {"schema": {"type": "object"}}}}})
def feed(fmt: str, request: Request) -> Response:
    if fmt not in publish.FEED_FORMATS:
        raise HttpError(404, "no feed format {format}", format=fmt[:20])
    with work(request) as w:
        rows = alerts.alerts_of(w.session, w.principal.organisation_id, limit=200)
        base = str(request.base_url).rstrip("/")
        body, media = publish.alert_feed(rows, organisation=w.principal.organisation_name,
                                         base_url=base, fmt=fmt, now=w.clock.now())
        return Response(body, media_type=media)


@router.get("/assets", summary="Registered assets", response_model=list[AssetOut])
def list_assets(request: Request, org: str | None = None) -> list[AssetOut]:
    with work(request) as w:
        rows = alerts.assets_of(w.session, alerts.whose(w.session, w.principal, org))
        return [AssetOut(id=a.id, name=a.name, format=a.format, components=n,
                         updated_at=a.updated_at) for a, n in rows]


@router.put("/assets/{name}", summary="Register (or replace) one of your assets",
            response_model=AssetOut,
            openapi_extra={"requestBody": {"required": True, "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
async def put_asset(name: str, request: Request,
                    filename: Annotated[str, Query(max_length=200)] = "inventory.txt",
                    ) -> AssetOut:
    from renkei.vulns.inventory import parse_inventory

    body = await request.body()
    with work(request, Scope.SUBMIT) as w:
        read = parse_inventory(_inventory(body), filename)
        asset, raised = alerts.register_asset(
            w.session, w.clock, w.principal.organisation_id, name, read.components,
            read.format, actor=w.principal.actor, source=w.source)
        return AssetOut(id=asset.id, name=asset.name, format=asset.format,
                        components=len(read.components), updated_at=asset.updated_at,
                        new_alerts=raised)


@router.get("/suppressions", response_model=list[SuppressionOut],
            summary="Suppressions: your own; the hub's staff: every member's or one's "
                    "(the last to expire first, at most 2,000)")
def list_suppressions(request: Request, org: Annotated[str | None, Query(max_length=200)] = None,
                      ) -> list[SuppressionOut]:
    with work(request) as w:
        whose = alerts.whose(w.session, w.principal, org)
        names = {o.id: o.name for o in orgs.list_all(w.session)}
        now = w.clock.now()
        return [SuppressionOut(
            id=s.id, organisation=names.get(s.organisation_id, ""), vulnerability=s.vulnerability,
            component=s.component, kind=s.kind, reason=s.reason, expires_at=s.expires_at,
            live=s.expires_at > now, created_by=s.created_by, created_at=s.created_at)
            for s in reads.suppressions_of(w.session, whose)]


@router.post("/suppressions", summary="Suppress a vulnerability for one of your components",
             status_code=201, response_model=SuppressionMadeOut)
def add_suppression(body: SuppressionIn, request: Request) -> SuppressionMadeOut:
    with work(request, Scope.SUBMIT) as w:
        row = alerts.suppress(w.session, w.clock, w.principal.organisation_id,
                              body.vulnerability, body.component, body.kind, body.reason,
                              body.expires_at, actor=w.principal.actor, source=w.source)
        return SuppressionMadeOut(id=row.id, expires_at=row.expires_at.isoformat())


@router.delete("/suppressions/{suppression_id}", response_model=SuppressionRemovedOut,
               summary="Remove one of your suppressions; the alerts it hid come back")
def remove_suppression(suppression_id: RowId, request: Request) -> SuppressionRemovedOut:
    with work(request, Scope.SUBMIT) as w:
        row, raised = alerts.unsuppress(w.session, w.clock, w.principal.organisation_id,
                                        suppression_id, actor=w.principal.actor,
                                        source=w.source)
        return SuppressionRemovedOut(id=suppression_id, vulnerability=row.vulnerability,
                                     component=row.component, new_alerts=raised)


@router.post("/subscriptions", summary="Follow a product, vendor or keyword", status_code=201)
def add_subscription(body: SubscriptionIn, request: Request) -> dict[str, Any]:
    with work(request, Scope.SUBMIT) as w:
        row, raised = alerts.subscribe(w.session, w.clock, w.principal.organisation_id,
                                       body.kind, body.value, actor=w.principal.actor,
                                       source=w.source)
        return {"id": row.id, "new_alerts": raised}


@router.get("/{key}/osv", summary="The hub's OSV record of a vulnerability")
def osv(key: str, request: Request) -> dict[str, Any]:
    with work(request) as w:
        return publish.advisory(w.session, key, "osv", w.clock.now())


@router.get("/{key}/csaf", summary="The hub's CSAF 2.0 advisory of a vulnerability")
def csaf(key: str, request: Request) -> dict[str, Any]:
    with work(request) as w:
        return publish.advisory(w.session, key, "csaf", w.clock.now())


@router.get("/{key}", summary="A vulnerability: each source's record, KEV and EPSS")
def vulnerability(key: str, request: Request) -> dict[str, Any]:
    with work(request) as w:
        return service.describe(w.session, key)
