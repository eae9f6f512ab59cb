"""The sensors domain's REST API under ``/api/v1/sensors``.

Which address blocks a darknet watches is kept from those who do not run it (a scanner
that knows them steers around them): the hub's staff and the sensor's owner see the
blocks, other members see name, site and size. Series are aggregates without addresses:
any authenticated caller reads them. Findings that name an address (scanners, DoS victims)
are the hub's staff's; a member reads rises and campaigns, and its own addresses through
its notifications, which no other member can read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from renkei.core import orgs
from renkei.core.http import ERROR_RESPONSES, Instant, work
from renkei.core.members import Principal
from renkei.core.orgs import OrganisationError
from renkei.sensors import notify, service
from renkei.sensors.findings import FindingKind
from renkei.sharing.policy import Viewer

router = APIRouter(prefix="/api/v1/sensors", tags=["sensors"], responses=ERROR_RESPONSES)
MEMBER_KINDS = (FindingKind.RISE, FindingKind.CAMPAIGN)


class NoSuchMemberError(service.NotFoundError):
    pass


class SensorOut(BaseModel):
    name: str
    site: str
    addresses: int
    blocks: list[str] | None


class SeriesOut(BaseModel):
    bucket: datetime
    width: int
    sensor: str
    protocol: str
    port: int
    packets: int
    sources: int
    sources_exact: bool
    research_packets: int
    research_sources: int
    per_address: float | None


class NoticeOut(BaseModel):
    organisation: str
    addresses: list[dict[str, Any]]
    notes: list[str]


def _staff(principal: Principal) -> bool:
    return Viewer.of(principal).is_hub_staff


def whose(session: Any, principal: Principal, org: str | None) -> int | None:
    """The member whose notifications a caller reads: its own; the hub's staff may name one
    or none (every member's). A member naming another is answered as if it did not exist."""
    if _staff(principal):
        if not org:
            return None
        try:
            return orgs.require(session, org).id
        except OrganisationError:
            raise NoSuchMemberError("no organisation {name}", name=org[:100]) from None
    if org and org != principal.organisation_name:
        raise NoSuchMemberError("no organisation {name}", name=org[:100])
    return principal.organisation_id


@router.get("", summary="Sensors: name, site, size; blocks for the hub's staff and the owner",
            response_model=list[SensorOut])
def list_sensors(request: Request) -> list[SensorOut]:
    with work(request) as w:
        staff = _staff(w.principal)
        return [SensorOut(name=s.name, site=s.site, addresses=s.address_count,
                          blocks=s.blocks if staff or s.owner_id == w.principal.organisation_id
                          else None)
                for s in service.sensors_of(w.session)]


@router.get("/series", summary="Packets and unique sources per bucket, sensor, protocol and port",
            response_model=list[SeriesOut])
def series(request: Request,
           port: Annotated[int | None, Query(ge=0, le=65535)] = None,
           sensor: Annotated[str | None, Query(max_length=100)] = None,
           since: Instant | None = None, until: Instant | None = None,
           limit: Annotated[int, Query(ge=1, le=service.MAX_QUERY_ROWS)] = 10_000,
           ) -> list[SeriesOut]:
    with work(request) as w:
        points = service.series(w.session, port=port, sensor=sensor, since=since, until=until,
                                limit=limit)
        return [SeriesOut.model_validate(p.to_json()) for p in points]


@router.get("/findings", summary="Findings; scanners and DoS victims for the hub's staff only")
def findings(request: Request,
             kind: Annotated[list[FindingKind] | None, Query()] = None,
             port: Annotated[int | None, Query(ge=0, le=65535)] = None,
             sensor: Annotated[str | None, Query(max_length=100)] = None,
             since: Instant | None = None, until: Instant | None = None,
             limit: Annotated[int, Query(ge=1, le=service.MAX_QUERY_ROWS)] = 1_000,
             ) -> list[dict[str, Any]]:
    with work(request) as w:
        kinds = list(kind or [])
        if not _staff(w.principal):
            kinds = [k for k in kinds if k in MEMBER_KINDS] if kinds else list(MEMBER_KINDS)
            if not kinds:
                return []
        rows = service.findings(w.session, kinds=kinds, port=port, sensor=sensor,
                                since=since, until=until, limit=limit)
        return [row.to_json() for row in rows]


@router.get("/notifications",
            summary="Your own addresses the sensors saw; the hub's staff: any member's",
            response_model=list[NoticeOut])
def notifications(request: Request,
                  org: Annotated[str | None, Query(max_length=200)] = None,
                  since: Instant | None = None, until: Instant | None = None,
                  ) -> list[NoticeOut]:
    with work(request) as w:
        member = whose(w.session, w.principal, org)
        found = notify.notices(w.session, organisation_id=member, since=since, until=until)
        return [NoticeOut.model_validate(n.to_json()) for n in found]
