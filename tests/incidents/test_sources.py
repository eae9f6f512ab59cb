"""Opening incidents from other domains' records, each made by its own domain's service (a
scanned log, imported advisories matched to a member's asset, an indicator the hub
published, an ingested darknet capture) and read through that domain's public functions."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from renkei.core import orgs
from renkei.core.db import Database
from renkei.core.models import Role
from renkei.core.time import FixedClock
from renkei.core.tlp import Tlp
from renkei.incidents import service
from renkei.incidents.errors import IncidentError
from renkei.incidents.service import Caller
from renkei.incidents.sources import pattern_indicator
from renkei.logs import store as logs_store
from renkei.logs.scan import LogScanner
from renkei.logs.service import scan_logs
from renkei.sensors import service as sensors
from renkei.sensors.findings import FindingKind
from renkei.sensors.service import SensorCapture
from renkei.sharing import service as sharing
from renkei.sharing import taxii
from renkei.vulns.alerts import alerts_of, raise_alerts, register_asset
from renkei.vulns.ingest import import_records
from renkei.vulns.inventory import parse_inventory
from renkei.vulns.model import (
    Advisory,
    AffectedPackage,
    AffectedRange,
    EventKind,
    RangeEvent,
    Severity,
    Source,
)
from tests.incidents.conftest import World
from tests.sensors.sample_captures import MIRAI_SRC, VICTIM, darknet_capture

SEEN = datetime(2026, 4, 1, 3, 0, tzinfo=UTC)  # 12:00 +09:00 in the log below
ANALYST = Caller.local("analyst@hub.example")


# --- logs alerts, from a scanned access log -------------------------------------------------


def _clf(src: str, minute: int, target: str, status: int, size: int) -> str:
    return (f'{src} - - [01/Apr/2026:{11 + minute // 60}:{minute % 60:02d}:00 +0900] '
            f'"GET {target} HTTP/1.1" {status} {size} "-" "Mozilla/5.0"')


@pytest.fixture
def scanned(empty_database_url: str, tmp_path: Path,
            clock: FixedClock) -> Iterator[tuple[Database, dict[str, int]]]:
    """A member's access log scanned by the logs service: a UNION injection that got a far
    larger answer than the page's usual (it worked) with an escape sequence in its target,
    and one that was answered 404; the alerts' ids by source address."""
    database = Database(empty_database_url)
    with database.session() as session:
        orgs.add(session, clock, "Acme Bank", communities=["finance"])
        orgs.add(session, clock, "Peer Bank", communities=["finance"])
    usual = [_clf(f"192.0.2.{i}", i, f"/login?id={i}", 200, 1000) for i in range(1, 30)]
    attacks = [_clf("198.51.100.23", 60, "/login?id=1%20UNION%20SELECT%20password\x1b[31m",
                    200, 52_000),
               _clf("198.51.100.24", 61, "/item?id=2%20union%20select%202", 404, 120)]
    log = tmp_path / "access.log"
    log.write_text("\n".join([*usual, *attacks]) + "\n")
    result = scan_logs([log], LogScanner(), clock, database=database,
                       organisation="Acme Bank", show_progress=False)
    assert result.stored == 2
    with database.session() as session:
        ids = {a.src: a.id for a in logs_store.list_alerts(session)}
    yield database, ids
    database.dispose()


def test_an_incident_from_a_logs_alert(scanned: tuple[Database, dict[str, int]],
                                       clock: FixedClock) -> None:
    database, ids = scanned
    with database.session() as session:
        incident = service.create(session, clock, ANALYST,
                                  source=f"logs-alert:{ids['198.51.100.23']}")
        assert incident.title.startswith("sqli from 198.51.100.23: GET /login?id=1")
        assert "\x1b" not in incident.title  # made visible: \x1b
        assert (incident.severity, incident.category) == ("high", "intrusions")
        assert (incident.occurred_at, incident.detected_at) == (SEEN, clock.now())
        assert "access.log" in incident.description
        assert service.affected(session, ANALYST, incident) == (["Acme Bank"], 0)
        assert [(i.type, i.value) for i in service.indicators(session, incident)] == [
            ("ipv4", "198.51.100.23")]
        with pytest.raises(IncidentError, match="already incident") as again:
            service.create(session, clock, ANALYST, source=f"logs-alert:{ids['198.51.100.23']}")
        assert again.value.status == 409


def test_an_analyst_overrides_what_the_record_suggests(
        scanned: tuple[Database, dict[str, int]], clock: FixedClock) -> None:
    database, ids = scanned
    with database.session() as session:
        incident = service.create(session, clock, ANALYST, title="SQLi on the portal",
                                  severity="critical", organisations=["Peer Bank"],
                                  source=f"logs-alert:{ids['198.51.100.24']}")
        assert (incident.title, incident.severity, incident.category) == (
            "SQLi on the portal", "critical", "intrusion-attempts")  # it was answered 404
        assert service.affected(session, ANALYST, incident)[0] == ["Acme Bank", "Peer Bank"]


# --- vulns alerts, from an imported advisory and a member's asset ----------------------------


def _django_advisory() -> Advisory:
    return Advisory(
        source=Source.OSV, id="PYSEC-2026-1", modified=datetime(2026, 3, 1, tzinfo=UTC),
        aliases=("CVE-2026-0001",), summary="SQL injection in QuerySet",
        severities=(Severity("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),),
        packages=(AffectedPackage("PyPI", "Django", ranges=(AffectedRange("ECOSYSTEM", (
            RangeEvent(EventKind.INTRODUCED, "4.2"), RangeEvent(EventKind.FIXED, "4.2.8"))),)),))


def test_an_incident_from_a_vulns_alert(db_session: Session, world: World) -> None:
    inventory = parse_inventory(b"pkg:pypi/django@4.2.1\npkg:pypi/requests@2.32.0\n",
                                "assets.txt")
    register_asset(db_session, world.clock, world.acme.id, "portal", inventory.components,
                   inventory.format, actor="test")
    imported = import_records(db_session, world.clock, [_django_advisory()])
    assert raise_alerts(db_session, world.clock, vulnerability_ids=imported.touched) == 1
    ((alert, key),) = alerts_of(db_session, world.acme.id)
    incident = service.create(db_session, world.clock, world.staff,
                              source=f"vulns-alert:{alert.id}")
    assert incident.title.startswith(f"{key} affects ")
    assert "django" in incident.title.lower()
    assert (incident.severity, incident.category) == ("critical", "vulnerable")  # CVSS 9.8
    assert incident.detected_at == world.clock.now()
    assert service.affected(db_session, world.staff, incident) == (["Acme Bank"], 0)
    assert service.indicators(db_session, incident) == []
    with pytest.raises(IncidentError, match="only the hub's staff") as refused:
        service.create(db_session, world.clock, world.member(world.acme),
                       source=f"vulns-alert:{alert.id}")
    assert refused.value.status == 403


# --- shared objects, from an indicator the hub published ------------------------------------


def _publish_indicator(db: Session, world: World, level: Tlp) -> str:
    stix_id = f"indicator--{uuid.uuid4()}"
    bundle = {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": [{
        "type": "indicator", "spec_version": "2.1", "id": stix_id,
        "created": "2026-04-01T08:00:00.000Z", "modified": "2026-04-01T08:00:00.000Z",
        "name": "C2 server of the \x1b[2J campaign", "description": "Seen by three members.",
        "pattern": "[ipv4-addr:value = '203.0.113.77']", "pattern_type": "stix",
        "valid_from": "2026-04-01T08:00:00Z", "object_marking_refs": [level.marking_id]}]}
    staff = world.principal(world.hub, Role.HUB_ANALYST, user=world.analyst)
    sharing.publish_direct(db, world.clock, staff, bundle,
                           taxii.ensure_default_collection(db, world.clock))
    return stix_id


def test_an_incident_from_a_shared_indicator(db_session: Session, world: World) -> None:
    stix_id = _publish_indicator(db_session, world, Tlp.GREEN)
    incident = service.create(db_session, world.clock, world.staff, source=f"shared:{stix_id}")
    assert incident.title == "C2 server of the \\x1b[2J campaign"
    assert incident.description == "Seen by three members."
    assert incident.tlp == "green"  # the object's marking, not the default AMBER
    assert (incident.source_kind, incident.source_ref) == ("shared", stix_id)
    assert [(i.type, i.value) for i in service.indicators(db_session, incident)] == [
        ("ipv4", "203.0.113.77")]
    assert service.affected(db_session, world.staff, incident) == ([], 0)


def test_an_incident_is_marked_at_least_as_strictly_as_its_record(db_session: Session,
                                                                 world: World) -> None:
    stix_id = _publish_indicator(db_session, world, Tlp.AMBER)
    for looser in ("clear", "green"):
        with pytest.raises(IncidentError, match="at least as strictly"):
            service.create(db_session, world.clock, world.staff, source=f"shared:{stix_id}",
                           tlp=looser)
    stricter = service.create(db_session, world.clock, world.staff, source=f"shared:{stix_id}",
                              tlp="amber+strict")
    assert stricter.tlp == "amber+strict"


def test_a_member_cannot_open_incidents_from_records(db_session: Session, world: World) -> None:
    stix_id = _publish_indicator(db_session, world, Tlp.GREEN)  # one acme may read
    for caller in (world.member(world.acme), world.member(world.acme, "read")):
        with pytest.raises(IncidentError, match="not allowed") as refused:
            service.create(db_session, world.clock, caller, source=f"shared:{stix_id}")
        assert refused.value.status == 403
    assert service.list_incidents(db_session, world.staff) == []


# --- sensors findings, from an ingested darknet capture -------------------------------------


@pytest.fixture
def ingested(db_session: Session, world: World, tmp_path: Path) -> dict[str, int]:
    """A darknet capture ingested by the sensors service, with Acme answering for the
    scanner's and the DoS victim's addresses; the findings' ids by source address."""
    sensors.register_sensor(db_session, world.clock, "tokyo-1", site="Koganei", owner="Hub",
                            blocks=["203.0.113.0/24"])
    sensors.add_member_range(db_session, world.clock, "Acme Bank", "198.51.100.0/24")
    capture = tmp_path / "darknet.pcap"
    capture.write_bytes(darknet_capture())
    result = sensors.ingest(db_session, world.clock, [SensorCapture(capture, "tokyo-1")])
    assert result.findings >= 2
    kinds = [FindingKind.SCANNER, FindingKind.BACKSCATTER]
    return {f.row.src: f.row.id for f in sensors.findings(db_session, kinds=kinds)
            if f.row.src in (MIRAI_SRC, VICTIM)}


def test_an_incident_from_a_sensors_finding(db_session: Session, world: World,
                                            ingested: dict[str, int]) -> None:
    incident = service.create(db_session, world.clock, world.staff,
                              source=f"sensors-finding:{ingested[MIRAI_SRC]}")
    assert incident.title.startswith(f"sensors: scanner {MIRAI_SRC} tcp 23")
    assert (incident.severity, incident.category) == ("low", "information-gathering")
    assert incident.occurred_at == datetime(2026, 4, 1, 8, 0, tzinfo=UTC)
    assert incident.detected_at == world.clock.now()  # when the run started
    assert service.affected(db_session, world.staff, incident) == (["Acme Bank"], 0)
    assert [(i.type, i.value) for i in service.indicators(db_session, incident)] == [
        ("ipv4", MIRAI_SRC)]
    victim = service.create(db_session, world.clock, world.staff,
                            source=f"sensors-finding:{ingested[VICTIM]}")
    assert (victim.severity, victim.category) == ("medium", "availability")


def test_the_most_specific_range_names_the_member(db_session: Session, world: World,
                                                  ingested: dict[str, int]) -> None:
    sensors.add_member_range(db_session, world.clock, "Peer Bank", f"{MIRAI_SRC}/32")
    sensors.add_member_range(db_session, world.clock, "Hub", "198.51.100.192/26")
    scanner = service.create(db_session, world.clock, world.staff,
                             source=f"sensors-finding:{ingested[MIRAI_SRC]}")
    assert service.affected(db_session, world.staff, scanner) == (["Peer Bank"], 0)
    victim = service.create(db_session, world.clock, world.staff,  # the hub is no member
                            source=f"sensors-finding:{ingested[VICTIM]}")
    assert service.affected(db_session, world.staff, victim) == ([], 0)


# --- what every kind shares ------------------------------------------------------------------


def test_unknown_records(db_session: Session, world: World) -> None:
    for source in ("logs-alert:424242", "vulns-alert:424242", "sensors-finding:424242",
                   "shared:indicator--00000000-0000-4000-8000-000000000000"):
        with pytest.raises(IncidentError, match="no ") as missing:
            service.create(db_session, world.clock, world.staff, source=source)
        assert missing.value.status == 404


@pytest.mark.parametrize("source", ["logs-alert:x", "vulns-alert:-1", "sensors-finding:1e3",
                                    "sensors-finding:" + "9" * 13, "nothing:1", "shared:",
                                    "manual:1", "logs-alert"])
def test_malformed_sources_are_refused(db_session: Session, world: World, source: str) -> None:
    with pytest.raises(IncidentError) as refused:
        service.create(db_session, world.clock, world.staff, source=source)
    assert refused.value.status == 400


@pytest.mark.parametrize(("pattern", "found"), [
    ("[ipv4-addr:value = '203.0.113.9']", ("ipv4", "203.0.113.9")),
    ("[domain-name:value = 'it\\'s.example']", ("domain", "it's.example")),
    ("[file:hashes.'SHA-256' = '" + "a" * 64 + "']", ("sha256", "a" * 64)),
    ("[ipv4-addr:value = '1.2.3.4'] OR [ipv4-addr:value = '5.6.7.8']", None),
    ("[process:name = 'x']", None),
])
def test_simple_patterns_give_an_indicator(pattern: str, found: tuple[str, str] | None) -> None:
    assert pattern_indicator(pattern) == found


def test_an_incident_from_a_shared_object_affects_only_its_readers(db_session: Session,
                                                                   world: World) -> None:
    """A TLP:AMBER+STRICT object is the hub's staff's only: naming a member as affected
    would show that member what the object says."""
    stix_id = _publish_indicator(db_session, world, Tlp.AMBER_STRICT)
    with pytest.raises(IncidentError, match="may not read") as refused:
        service.create(db_session, world.clock, world.staff, source=f"shared:{stix_id}",
                       organisations=["Acme Bank"])
    assert "Acme Bank" in str(refused.value)
    green = _publish_indicator(db_session, world, Tlp.GREEN)  # one Acme reads
    opened = service.create(db_session, world.clock, world.staff, source=f"shared:{green}",
                            organisations=["Acme Bank"])
    assert service.affected(db_session, world.staff, opened)[0] == ["Acme Bank"]
