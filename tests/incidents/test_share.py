"""Sharing an incident's indicators in one step, under its TLP, through the sharing module:
readers are exactly those the sharing policy allows."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from renkei.core.models import Role
from renkei.core.tlp import Tlp
from renkei.incidents import service
from renkei.incidents.errors import IncidentError
from renkei.incidents.service import Caller
from renkei.incidents.share import share_indicators
from renkei.sharing.policy import Viewer
from renkei.sharing.store import visible_objects
from tests.incidents.conftest import World


def shared_incident(db: Session, world: World, tlp: str) -> int:
    incident = service.create(db, world.clock, world.staff, title="C2 beaconing",
                              severity="high", category="malicious-code",
                              organisations=["Acme Bank"], tlp=tlp)
    service.add_indicator(db, world.clock, world.staff, incident.id, "ipv4", "203.0.113.9")
    service.add_indicator(db, world.clock, world.staff, incident.id, "domain", "c2.example")
    return incident.id


def readers(db: Session, world: World) -> dict[str, int]:
    from renkei.core import orgs

    seen = {}
    for name, org in (("hub", world.hub), ("acme", world.acme), ("loner", world.loner)):
        looking = Viewer(user_id=None, org_id=org.id,
                         role=Role.HUB_ANALYST if org is world.hub else Role.MEMBER_SUBMITTER,
                         is_hub=org is world.hub, communities=orgs.community_ids_of(db, org.id))
        seen[name] = len(visible_objects(db, looking, stix_type="indicator"))
    return seen


def test_amber_strict_indicators_reach_the_hub_staff_only(db_session: Session,
                                                          world: World) -> None:
    incident_id = shared_incident(db_session, world, "amber+strict")
    rows = share_indicators(db_session, world.clock, world.staff, incident_id)
    assert len(rows) == 2
    assert {r.marking for r in rows} == {"amber+strict"}
    assert {r.body["pattern"] for r in rows} == {"[ipv4-addr:value = '203.0.113.9']",
                                                 "[domain-name:value = 'c2.example']"}
    assert readers(db_session, world) == {"hub": 2, "acme": 0, "loner": 0}
    event = service.events(db_session, service.get(db_session, world.staff, incident_id))[-1]
    assert event.kind == "shared"
    assert event.details["published"] == 2


def test_green_indicators_reach_the_community_and_sharing_again_adds_nothing(
        db_session: Session, world: World) -> None:
    incident_id = shared_incident(db_session, world, "green")
    share_indicators(db_session, world.clock, world.staff, incident_id)
    assert readers(db_session, world) == {"hub": 2, "acme": 2, "loner": 0}
    assert share_indicators(db_session, world.clock, world.staff, incident_id) == []
    body = visible_objects(db_session, Viewer(user_id=None, org_id=world.hub.id,
                                              role=Role.HUB_ANALYST, is_hub=True))[0].body
    assert "C2 beaconing" not in str(body)  # the title may name the victim: not shared


def test_what_is_not_shared(db_session: Session, world: World) -> None:
    red = shared_incident(db_session, world, "red")
    with pytest.raises(IncidentError, match="TLP:RED"):
        share_indicators(db_session, world.clock, world.staff, red)
    empty = service.create(db_session, world.clock, world.staff, title="Nothing yet",
                           organisations=["Acme Bank"])
    with pytest.raises(IncidentError, match="no indicators"):
        share_indicators(db_session, world.clock, world.staff, empty.id)
    amber = shared_incident(db_session, world, "amber")
    with pytest.raises(IncidentError, match="only the hub's staff"):
        share_indicators(db_session, world.clock, world.member(world.acme), amber)
    with pytest.raises(IncidentError, match="RENKEI_TOKEN"):
        share_indicators(db_session, world.clock, Caller.local(), amber)


def test_amber_indicators_go_to_the_members_named_instead_of_the_community(
        db_session: Session, world: World) -> None:
    """Acme is affected, Loner (in no community) is named; Peer shares Acme's community but
    is neither, so it must not read them."""
    from renkei.core import orgs

    incident_id = shared_incident(db_session, world, "amber")
    rows = share_indicators(db_session, world.clock, world.staff, incident_id,
                            recipients=["Loner"], to_affected=True)
    assert len(rows) == 2
    peer = Viewer(user_id=None, org_id=world.peer.id, role=Role.MEMBER_SUBMITTER,
                  is_hub=False, communities=orgs.community_ids_of(db_session, world.peer.id))
    assert readers(db_session, world) == {"hub": 2, "acme": 2, "loner": 2}
    assert visible_objects(db_session, peer, stix_type="indicator") == []
    event = service.events(db_session, service.get(db_session, world.staff, incident_id))[-1]
    assert event.details["recipients"] == sorted([world.acme.id, world.loner.id])


def test_named_recipients_only_for_amber(db_session: Session, world: World) -> None:
    green = shared_incident(db_session, world, "green")
    with pytest.raises(IncidentError, match="only a TLP:AMBER"):
        share_indicators(db_session, world.clock, world.staff, green, to_affected=True)
    amber = shared_incident(db_session, world, "amber")
    with pytest.raises(IncidentError, match="no organisation named"):
        share_indicators(db_session, world.clock, world.staff, amber, recipients=["Nobody"])
    assert readers(db_session, world) == {"hub": 0, "acme": 0, "loner": 0}


def test_indicators_of_an_amber_record_stay_where_it_was_shared(db_session: Session,
                                                                world: World) -> None:
    """Its readers were chosen by who shared it: sharing its indicators again through the
    incident would choose them anew (the default collection's communities, say)."""
    from tests.incidents.test_sources import _publish_indicator

    for level, shared_again in ((Tlp.AMBER, False), (Tlp.AMBER_STRICT, False),
                                (Tlp.GREEN, True)):
        stix_id = _publish_indicator(db_session, world, level)
        incident = service.create(db_session, world.clock, world.staff,
                                  source=f"shared:{stix_id}", tlp="amber+strict")
        if shared_again:
            assert share_indicators(db_session, world.clock, world.staff, incident.id)
        else:
            with pytest.raises(IncidentError, match="not shared again") as refused:
                share_indicators(db_session, world.clock, world.staff, incident.id)
            assert refused.value.status == 409
