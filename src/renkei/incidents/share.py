"""Share an incident's indicators through the sharing module, in one step, under the
incident's TLP.

Each indicator becomes a STIX 2.1 ``indicator`` marked with the incident's TLP 2.0 level
and published by the hub's staff with ``sharing.service.publish_direct`` to a TAXII
collection (the hub's general one unless another is named). From there the sharing policy
alone decides who reads it: the hub owns the objects, so TLP:CLEAR reaches everyone,
GREEN every member in a community, AMBER the collection's communities, and AMBER+STRICT
the hub's staff only (docs/incidents.md, "Sharing"). A TLP:RED incident's indicators are
not shared: RED names people, and a collection does not.

Only the indicators go out, never the incident's title, description or members: those may
name the victims. Ids are derived from the incident and the value, and versions from when
the indicator was added, so sharing again publishes only what is new.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from renkei.core.tlp import Tlp, marking_definition
from renkei.incidents.errors import IncidentError
from renkei.incidents.model import EventKind, SourceKind
from renkei.incidents.service import (
    Caller,
    affected_ids,
    append_event,
    get,
    indicators,
    organisations_named,
    refuse,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from renkei.core.time import Clock
    from renkei.incidents.store import Incident, IncidentIndicator
    from renkei.sharing.store import SharedObject

INDICATOR_NAMESPACE = uuid.UUID("4c1f0a2e-93d5-4b8e-a6f1-696e63696465")


def indicator_object(incident: Incident, row: IncidentIndicator) -> dict[str, Any]:
    """The STIX 2.1 indicator of one of the incident's indicators."""
    from renkei.sharing import stix

    stamp = stix.timestamp(row.added_at)
    return {
        "type": "indicator", "spec_version": "2.1",
        "id": f"indicator--{uuid.uuid5(INDICATOR_NAMESPACE, f'{incident.id}:{row.type}:{row.value}')}",
        "created": stamp, "modified": stamp, "name": f"{row.type} {row.value}"[:300],
        "indicator_types": ["malicious-activity"],
        "pattern": stix.indicator_pattern(row.type, row.value), "pattern_type": "stix",
        "valid_from": stamp, "object_marking_refs": [Tlp(incident.tlp).marking_id],
    }


def share_indicators(session: Session, clock: Clock, caller: Caller, incident_id: int, *,
                     collection: str | None = None, recipients: Sequence[str] = (),
                     to_affected: bool = False) -> list[SharedObject]:
    """Publish the incident's indicators under its TLP; returns the object versions newly
    published (none when all were shared before). The hub's staff only, with a principal
    (an API token or a user) that the sharing module audits.

    A TLP:AMBER incident's indicators may name who reads them instead of the collection's
    communities: ``recipients`` (member names) and, with ``to_affected``, the members the
    incident affects. Names are kept only on new versions: what was shared before keeps
    its readers."""
    from renkei.sharing import service as sharing
    from renkei.sharing import taxii

    incident = get(session, caller, incident_id)
    if not caller.is_hub_staff:
        raise refuse(session, clock, caller, "share", incident.id, "only the hub's staff do this")
    principal = caller.principal
    if principal is None:
        raise IncidentError("sharing acts as a user or token of the hub's staff: give --token "
                            "or set RENKEI_TOKEN")
    level = Tlp(incident.tlp)
    if level is Tlp.RED:
        raise IncidentError("a TLP:RED incident's indicators are not shared", status=409)
    _refuse_a_restricted_origin(session, caller, incident)
    named = _recipients(session, incident, level, recipients, to_affected)
    rows = indicators(session, incident)
    if not rows:
        raise IncidentError("incident {id} has no indicators to share", status=409,
                            id=incident.id)
    if collection:
        target = taxii.collection_for(session, principal, collection).collection
    else:
        target = taxii.ensure_default_collection(session, clock)
    objects = [indicator_object(incident, row) for row in rows]
    bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}",
              "objects": [marking_definition(level), *objects]}
    published = sharing.publish_direct(session, clock, principal, bundle, target,
                                       recipient_orgs=named, source=caller.source)
    append_event(session, clock, caller, incident, EventKind.SHARED, details={
        "tlp": level.value, "collection": target.alias, "indicators": len(objects),
        "recipients": named,
        "published": len(published), "objects": [o["id"] for o in objects][:1000]})
    return published


def _refuse_a_restricted_origin(session: Session, caller: Caller, incident: Incident) -> None:
    """An incident opened from a shared object holds that object's indicators: when it was
    shared under TLP:AMBER or stricter, its readers were chosen by who shared it, and
    publishing its indicators again would choose them anew (and may reach others). It
    stays where it was shared; CLEAR and GREEN objects' indicators go out again."""
    from renkei.sharing.store import visible_objects

    if incident.source_kind != SourceKind.SHARED.value:
        return
    newest = visible_objects(session, caller.viewer(session), stix_id=incident.source_ref,
                             newest_first=True, limit=1)
    marking = Tlp(newest[0].marking) if newest else None
    if marking is not None and marking.rank >= Tlp.AMBER.rank:
        raise IncidentError("incident {id} was opened from {ref}, shared under TLP:{tlp}: its "
                            "indicators are not shared again; its readers already have them",
                            status=409, id=incident.id, ref=incident.source_ref[:100],
                            tlp=marking.value.upper())


def _recipients(session: Session, incident: Incident, level: Tlp, names: Sequence[str],
                to_affected: bool) -> list[int]:
    """The organisations named to read a TLP:AMBER incident's indicators."""
    if not names and not to_affected:
        return []
    if level is not Tlp.AMBER:
        raise IncidentError("only a TLP:AMBER incident's indicators go to named members; this "
                            "one is TLP:{tlp}", tlp=level.value.upper())
    chosen = {o.id for o in organisations_named(session, names)}
    if to_affected:
        chosen.update(affected_ids(session, incident))
    if not chosen:
        raise IncidentError("incident {id} affects no member to share with", status=409,
                            id=incident.id)
    return sorted(chosen)
