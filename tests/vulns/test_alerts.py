"""Alerts: one per (member, asset or subscription, vulnerability), never twice; suppressions
with expiry; subscriptions before any CVE exists; each member sees its own."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from renkei.core import orgs
from renkei.core.time import FixedClock
from renkei.vulns.alerts import (
    VulnsError,
    alerts_of,
    assets_of,
    raise_alerts,
    register_asset,
    subscribe,
    suppress,
)
from renkei.vulns.ingest import import_records
from renkei.vulns.inventory import parse_inventory
from renkei.vulns.model import (
    Advisory,
    AffectedPackage,
    AffectedRange,
    CpeConfiguration,
    CpeMatch,
    CpeNode,
    EventKind,
    KevEntry,
    RangeEvent,
    Severity,
    Source,
)
from renkei.vulns.store import Alert

T0 = datetime(2026, 3, 1, tzinfo=UTC)
INVENTORY = (b"pkg:pypi/django@4.2.1\n"
             b"cpe:2.3:a:apache:http_server:2.4.49:*:*:*:*:*:*:*\n"
             b"pkg:pypi/requests@2.32.0\n")


def django(modified: datetime = T0) -> Advisory:
    return Advisory(
        source=Source.OSV, id="PYSEC-2026-1", modified=modified, aliases=("CVE-2026-0001",),
        summary="SQL injection in QuerySet",
        severities=(Severity("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),),
        packages=(AffectedPackage("PyPI", "Django", ranges=(AffectedRange("ECOSYSTEM", (
            RangeEvent(EventKind.INTRODUCED, "4.2"), RangeEvent(EventKind.FIXED, "4.2.8"))),)),))


def httpd() -> Advisory:
    return Advisory(
        source=Source.NVD, id="CVE-2026-0002", modified=T0, summary="path traversal",
        severities=(Severity("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N", 5.3),),
        configurations=(CpeConfiguration(nodes=(CpeNode("OR", (CpeMatch(
            "cpe:2.3:a:apache:http_server:*:*:*:*:*:*:*:*", version_start_including="2.4.0",
            version_end_excluding="2.4.50"),)),)),))


@pytest.fixture
def members(db_session: Session, clock: FixedClock) -> tuple[int, int]:
    acme = orgs.add(db_session, clock, "Acme Bank", communities=["finance"])
    other = orgs.add(db_session, clock, "Other Telecom", communities=["telecom"])
    return acme.id, other.id


def register(session: Session, clock: FixedClock, org: int, name: str = "web") -> int:
    inventory = parse_inventory(INVENTORY, "assets.txt")
    return register_asset(session, clock, org, name, inventory.components, inventory.format,
                          actor="test")[1]


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Alert)) or 0


def test_a_new_vulnerability_alerts_each_matching_asset_once(
        db_session: Session, clock: FixedClock, members: tuple[int, int]) -> None:
    acme, other = members
    assert register(db_session, clock, acme) == 0
    result = import_records(db_session, clock, [django(), httpd()])
    assert raise_alerts(db_session, clock, vulnerability_ids=result.touched) == 2
    assert raise_alerts(db_session, clock, vulnerability_ids=result.touched) == 0, "never twice"
    assert raise_alerts(db_session, clock) == 0
    mine = alerts_of(db_session, acme)
    assert [key for _, key in mine] == ["CVE-2026-0001", "CVE-2026-0002"], "by priority"
    assert mine[0][0].components == ["pkg:pypi/django@4.2.1"]
    assert mine[0][0].cvss == 9.8
    assert alerts_of(db_session, other) == [], "a member sees only its own alerts"


def test_registering_an_asset_alerts_on_what_is_held(
        db_session: Session, clock: FixedClock, members: tuple[int, int]) -> None:
    _, other = members
    import_records(db_session, clock, [django(), httpd(),
                                       KevEntry("CVE-2026-0002", "Apache", "httpd", "x", T0)])
    assert register(db_session, clock, other, "mail") == 2
    assert register(db_session, clock, other, "mail") == 0, "registering again adds nothing"
    alerts = alerts_of(db_session, other)
    assert alerts[0][1] == "CVE-2026-0002", "known exploitation first"
    assert alerts[0][0].kev
    assert [(a.name, n) for a, n in assets_of(db_session, other)] == [("mail", 3)]


def test_a_changed_vulnerability_updates_its_alert(
        db_session: Session, clock: FixedClock, members: tuple[int, int]) -> None:
    acme, _ = members
    register(db_session, clock, acme)
    raise_alerts(db_session, clock, vulnerability_ids=import_records(
        db_session, clock, [django()]).touched)
    later = FixedClock(T0 + timedelta(days=40))
    changed = dataclasses.replace(django(T0 + timedelta(days=1)), severities=())
    touched = import_records(db_session, later, [changed]).touched
    assert raise_alerts(db_session, later, vulnerability_ids=touched) == 0
    (alert, _), = alerts_of(db_session, acme)
    assert alert.cvss is None
    assert alert.updated_at == later.now()
    assert count(db_session) == 1


def test_suppressions_hide_until_they_expire(
        db_session: Session, clock: FixedClock, members: tuple[int, int]) -> None:
    acme, _ = members
    import_records(db_session, clock, [django(), httpd()])
    suppress(db_session, clock, acme, "CVE-2026-0001", "pkg:pypi/django@4.2.1", "false_positive",
             "we patched it ourselves", clock.now() + timedelta(days=30), actor="test")
    suppress(db_session, clock, acme, "CVE-2026-0002", "*", "accepted_risk",
             "behind the VPN", clock.now() + timedelta(days=1), actor="test")
    assert register(db_session, clock, acme) == 0
    later = FixedClock(clock.now() + timedelta(days=2))
    assert raise_alerts(db_session, later) == 1, "the accepted risk has expired"
    assert [key for _, key in alerts_of(db_session, acme)] == ["CVE-2026-0002"]
    with pytest.raises(VulnsError):
        suppress(db_session, clock, acme, "CVE-2026-0001", "*", "ignore", "why not",
                 clock.now() + timedelta(days=1), actor="test")
    with pytest.raises(VulnsError):
        suppress(db_session, clock, acme, "CVE-2026-0001", "*", "accepted_risk", " ",
                 clock.now() + timedelta(days=1), actor="test")
    with pytest.raises(VulnsError):
        suppress(db_session, clock, acme, "CVE-2026-0001", "*", "accepted_risk", "late",
                 clock.now() - timedelta(days=1), actor="test")


def test_subscriptions_alert_before_any_cve_exists(
        db_session: Session, clock: FixedClock, members: tuple[int, int]) -> None:
    acme, other = members
    early = Advisory(source=Source.JVN, id="JVNDB-2026-000002", modified=T0, language="ja",
                     title="サイボウズ Garoon におけるクロスサイトスクリプティングの脆弱性")
    assert subscribe(db_session, clock, acme, "keyword", "garoon", actor="test")[1] == 0
    subscribe(db_session, clock, other, "vendor", "Apache", actor="test")
    touched = import_records(db_session, clock, [early, httpd()]).touched
    assert raise_alerts(db_session, clock, vulnerability_ids=touched) == 2
    assert [key for _, key in alerts_of(db_session, acme)] == ["JVNDB-2026-000002"]
    assert [key for _, key in alerts_of(db_session, other)] == ["CVE-2026-0002"]
    assert raise_alerts(db_session, clock, vulnerability_ids=touched) == 0
    with pytest.raises(VulnsError):
        subscribe(db_session, clock, acme, "colour", "red", actor="test")
