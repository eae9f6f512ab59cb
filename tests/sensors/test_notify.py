"""Each member's own addresses seen by the sensors, and the TLP:AMBER+STRICT report that
only that member (and the hub's staff) can read — through every sharing read path."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from renkei.core import orgs
from renkei.core.models import Role
from renkei.core.time import FixedClock
from renkei.sensors import notify, service
from renkei.sensors.geo import GeoInfo
from renkei.sensors.service import SensorCapture, SensorsError
from renkei.sharing import taxii
from renkei.sharing.policy import Viewer
from renkei.sharing.store import visible_objects
from tests.sensors.sample_captures import MIRAI_SRC, VICTIM, ZMAP_SRC, darknet_capture


class FakeGeo:
    """Stands in for sensors.geo.Geo: answers an AS for some addresses."""

    def __init__(self, asns: dict[str, int]) -> None:
        self.asns = asns

    def lookup_many(self, addresses: Sequence[str]) -> list[GeoInfo]:
        return [GeoInfo(asn=self.asns.get(a)) for a in addresses]


@pytest.fixture
def seen(db_session: Session, clock: FixedClock, write_file: Callable[..., Path]) -> Session:
    """A hub, a sensor, three members and one ingested capture."""
    s = db_session
    orgs.add(s, clock, "Hub", hub=True)
    for name, community in (("ISP", "telecom"), ("Bank", "finance"), ("Telco", "telecom")):
        orgs.add(s, clock, name, communities=[community])
    service.register_sensor(s, clock, "tokyo-1", site="", owner="Hub", blocks=["203.0.113.0/24"])
    service.add_member_range(s, clock, "ISP", "198.51.100.0/24")     # Mirai host and victim
    service.add_member_range(s, clock, "Bank", "198.51.100.192/26")  # nested: the victim
    service.add_member_range(s, clock, "Telco", "AS64511")           # the ZMap scanner's AS
    service.ingest(s, clock, [SensorCapture(write_file(darknet_capture()), "tokyo-1")])
    return s


def _by_org(notices: list[notify.Notice]) -> dict[str, notify.Notice]:
    return {n.organisation: n for n in notices}


def test_each_member_gets_its_own_addresses_with_evidence(seen: Session) -> None:
    found = _by_org(notify.notices(seen))
    isp = found["ISP"]
    (mirai,) = isp.addresses
    body = mirai.to_json()
    assert body["address"] == MIRAI_SRC
    assert body["matched"] == "198.51.100.0/24"
    assert body["kinds"] == ["scanner"]
    assert body["fingerprints"] == ["mirai"]
    assert (body["ports"], body["protocols"], body["packets"], body["sensors"]) == (
        [23], ["tcp"], 30, ["tokyo-1"])
    assert body["first"] == "2026-04-01T08:00:00+00:00"
    # the most specific range wins: the DoS victim is the bank's, not the ISP's
    assert [a.address for a in found["Bank"].addresses] == [VICTIM]
    assert found["Bank"].addresses[0].kinds == {"backscatter"}
    # no AS data: the AS is skipped, and the notice says so
    assert found["Telco"].addresses == []
    assert any("AS64511 not matched" in n for n in found["Telco"].notes)


def test_as_numbers_match_through_address_to_as_data(seen: Session) -> None:
    geo = FakeGeo({ZMAP_SRC: 64511, MIRAI_SRC: 64511})
    found = _by_org(notify.notices(seen, geo=geo))  # type: ignore[arg-type]
    assert [a.address for a in found["Telco"].addresses] == [ZMAP_SRC]
    assert found["Telco"].addresses[0].matched == "AS64511"
    assert [a.address for a in found["ISP"].addresses] == [MIRAI_SRC]  # a range beats an AS


def test_one_member_and_a_time_window(seen: Session) -> None:
    from datetime import UTC, datetime

    bank = orgs.require(seen, "Bank").id
    assert [n.organisation for n in notify.notices(seen, organisation_id=bank)] == ["Bank"]
    later = datetime(2026, 4, 2, tzinfo=UTC)
    assert all(not n.addresses for n in notify.notices(seen, since=later))
    lone = orgs.add(seen, FixedClock(later), "No Ranges Yet")
    assert [n.addresses for n in notify.notices(seen, organisation_id=lone.id)] == [[]]


def test_csv_has_one_line_per_address_and_no_formulas(seen: Session, clock: FixedClock) -> None:
    orgs.add(seen, clock, "=HYPERLINK(\"http://evil\")")
    service.add_member_range(seen, clock, "=HYPERLINK(\"http://evil\")", "192.0.2.0/24")
    text = notify.to_csv(notify.notices(seen))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["address"] for r in rows} == {MIRAI_SRC, VICTIM, ZMAP_SRC}
    evil = next(r for r in rows if r["address"] == ZMAP_SRC)
    assert evil["organisation"].startswith("'=")
    mirai = next(r for r in rows if r["address"] == MIRAI_SRC)
    assert (mirai["fingerprints"], mirai["ports"], mirai["kinds"]) == ("mirai", "23", "scanner")


def _viewer(session: Session, name: str, role: Role) -> Viewer:
    org = orgs.require(session, name)
    return Viewer(user_id=None, org_id=org.id, role=role, is_hub=org.is_hub,
                  communities=orgs.community_ids_of(session, org.id))


def test_the_shared_report_is_for_that_member_and_the_hub_only(seen: Session,
                                                               clock: FixedClock) -> None:
    isp = _by_org(notify.notices(seen))["ISP"]
    rows = notify.share_notice(seen, clock, isp)
    assert {r.stix_type for r in rows} == {"report", "indicator"}
    assert {r.marking for r in rows} == {"amber+strict"}
    report = next(r for r in rows if r.stix_type == "report")
    assert report.body["created_by_ref"].startswith("identity--")
    (indicator,) = [r for r in rows if r.stix_type == "indicator"]
    assert indicator.body["pattern"] == f"[ipv4-addr:value = '{MIRAI_SRC}']"
    assert "mirai" in indicator.body["labels"]

    def readers(viewer: Viewer) -> set[str]:
        return {o.stix_id for o in visible_objects(seen, viewer)} & {r.stix_id for r in rows}

    everything = {r.stix_id for r in rows}
    assert readers(_viewer(seen, "ISP", Role.MEMBER_READER)) == everything
    assert readers(_viewer(seen, "Hub", Role.HUB_ANALYST)) == everything
    # another member, even one in the same community, reads nothing of it
    assert readers(_viewer(seen, "Telco", Role.MEMBER_SUBMITTER)) == set()
    assert readers(_viewer(seen, "Bank", Role.MEMBER_SUBMITTER)) == set()
    # nor through TAXII: the hub's collection holds it, for the member alone
    collection = taxii.collection_id_for(taxii.DEFAULT_COLLECTION_ALIAS)
    filters = taxii.parse_filters({})
    telco_page = taxii.objects_page(seen, _viewer(seen, "Telco", Role.MEMBER_SUBMITTER),
                                    collection, filters)
    assert not any(r.stix_id in str(telco_page.items) for r in rows)
    isp_page = taxii.objects_page(seen, _viewer(seen, "ISP", Role.MEMBER_READER), collection,
                                  filters)
    assert all(r.stix_id in str(isp_page.items) for r in rows)
    with pytest.raises(taxii.TaxiiError):
        taxii.require_visible(seen, _viewer(seen, "Telco", Role.MEMBER_SUBMITTER), collection,
                              report.stix_id)


def test_sharing_again_is_a_new_version_of_the_same_report(seen: Session) -> None:
    from datetime import timedelta

    from tests.conftest import FIXED_NOW

    isp = _by_org(notify.notices(seen))["ISP"]
    first = notify.share_notice(seen, FixedClock(FIXED_NOW), isp)
    assert notify.share_notice(seen, FixedClock(FIXED_NOW), isp) == []   # same moment: held
    later = notify.share_notice(seen, FixedClock(FIXED_NOW + timedelta(days=1)), isp)
    assert {r.stix_id for r in later} == {r.stix_id for r in first}
    assert {r.version for r in later} != {r.version for r in first}


def test_nothing_to_share_and_no_hub(seen: Session, clock: FixedClock) -> None:
    telco = _by_org(notify.notices(seen))["Telco"]
    with pytest.raises(SensorsError, match="nothing to share"):
        notify.share_notice(seen, clock, telco)
    hub = _by_org([notify.Notice(orgs.require(seen, "Hub").id, "Hub")])["Hub"]
    with pytest.raises(SensorsError, match="member organisation"):
        notify.share_notice(seen, clock, hub)


def test_sharing_needs_a_hub(db_session: Session, clock: FixedClock,
                             write_file: Callable[..., Path]) -> None:
    from renkei.sharing.service import WorkflowError

    orgs.add(db_session, clock, "Lab")
    service.register_sensor(db_session, clock, "s1", site="", owner="Lab",
                            blocks=["203.0.113.0/24"])
    service.add_member_range(db_session, clock, "Lab", "198.51.100.0/24")
    service.ingest(db_session, clock, [SensorCapture(write_file(darknet_capture()), "s1")])
    (lab,) = notify.notices(db_session)
    with pytest.raises(WorkflowError, match="no hub"):
        notify.share_notice(db_session, clock, lab)
