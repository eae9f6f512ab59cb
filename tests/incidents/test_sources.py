"""Opening incidents from other domains' records, read through their stores."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from renkei.incidents import service
from renkei.incidents.errors import IncidentError
from renkei.incidents.sources import pattern_indicator
from renkei.logs.store import LogAlert, LogSource
from tests.incidents.conftest import World

SEEN = datetime(2026, 4, 1, 3, 0, tzinfo=UTC)


def logs_alert(db: Session, world: World, *, succeeded: bool = True) -> LogAlert:
    source = LogSource(fingerprint="f" * 64, name="/var/log/nginx/access.log", format="combined",
                       first_seen=SEEN, last_scanned=SEEN, lines=10,
                       organisation_id=world.acme.id)
    db.add(source)
    db.flush()
    alert = LogAlert(source_id=source.id, line=7, rule="sqli-union", category="sqli",
                     severity="high", src="198.51.100.23", seen_at=SEEN, method="GET",
                     target="/login?id=1 UNION SELECT \x1b[31mpassword", status=200, size=10,
                     fragment="UNION SELECT", field="query", engine="re", succeeded=succeeded,
                     reason="200 with a large body", created_at=world.clock.now())
    db.add(alert)
    db.flush()
    return alert


def test_an_incident_from_a_logs_alert(db_session: Session, world: World) -> None:
    alert = logs_alert(db_session, world)
    incident = service.create(db_session, world.clock, world.staff,
                              source=f"logs-alert:{alert.id}")
    assert incident.title.startswith("sqli from 198.51.100.23: GET /login")
    assert "\x1b" not in incident.title  # made visible: \x1b
    assert (incident.severity, incident.category) == ("high", "intrusions")
    assert (incident.occurred_at, incident.detected_at) == (SEEN, world.clock.now())
    assert service.affected(db_session, world.staff, incident) == (["Acme Bank"], 0)
    assert [(i.type, i.value) for i in service.indicators(db_session, incident)] == [
        ("ipv4", "198.51.100.23")]
    with pytest.raises(IncidentError, match="already incident") as again:
        service.create(db_session, world.clock, world.staff, source=f"logs-alert:{alert.id}")
    assert again.value.status == 409


def test_an_analyst_overrides_what_the_record_suggests(db_session: Session,
                                                       world: World) -> None:
    alert = logs_alert(db_session, world, succeeded=False)
    incident = service.create(db_session, world.clock, world.staff, title="SQLi on the portal",
                              severity="critical", organisations=["Peer Bank"],
                              source=f"logs-alert:{alert.id}")
    assert (incident.title, incident.severity, incident.category) == (
        "SQLi on the portal", "critical", "intrusion-attempts")
    assert service.affected(db_session, world.staff, incident)[0] == ["Acme Bank", "Peer Bank"]


def test_unknown_records(db_session: Session, world: World) -> None:
    for source in ("logs-alert:424242", "vulns-alert:424242", "sensors-finding:424242",
                   "shared:indicator--00000000-0000-4000-8000-000000000000"):
        with pytest.raises(IncidentError, match="no ") as missing:
            service.create(db_session, world.clock, world.staff, source=source)
        assert missing.value.status == 404


@pytest.mark.parametrize(("pattern", "found"), [
    ("[ipv4-addr:value = '203.0.113.9']", ("ipv4", "203.0.113.9")),
    ("[domain-name:value = 'it\\'s.example']", ("domain", "it's.example")),
    ("[file:hashes.'SHA-256' = '" + "a" * 64 + "']", ("sha256", "a" * 64)),
    ("[ipv4-addr:value = '1.2.3.4'] OR [ipv4-addr:value = '5.6.7.8']", None),
    ("[process:name = 'x']", None),
])
def test_simple_patterns_give_an_indicator(pattern: str, found: tuple[str, str] | None) -> None:
    assert pattern_indicator(pattern) == found
