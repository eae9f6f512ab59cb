"""Seeding the demo hub: something in every domain, read back through the services; once
only; never into another hub's database."""

from __future__ import annotations

from pathlib import Path

import pytest

from renkei.core import members, orgs
from renkei.core.db import Database
from renkei.core.time import FixedClock
from renkei.demo.cast import ADMIN, ANALYST, HUB, MEMBERS, USERS, submitter
from renkei.demo.data.plan import CAMPAIGN, CONSULTATION, fiscal_year
from renkei.demo.seed.context import principal
from renkei.demo.seed.run import DemoError, SeedResult, is_seeded, seed
from renkei.incidents import service as incidents
from renkei.incidents.service import Caller
from renkei.logs.service import stored_alerts
from renkei.plan import audits, consultation, status
from renkei.sensors import service as sensors
from renkei.sensors.findings import FindingKind
from renkei.sharing import service as sharing
from renkei.sharing import sightings
from renkei.sharing.policy import Viewer
from renkei.sharing.store import SubmissionState, visible_objects
from renkei.vulns.alerts import alerts_of, assets_of
from renkei.vulns.reads import suppressions_of
from tests.conftest import FIXED_NOW

Seeded = tuple[Database, SeedResult, Path]


def test_every_step_ran(seeded: Seeded) -> None:
    _, result, _ = seeded
    assert not result.already
    assert len(result.steps) == 7
    assert all(outcome for _, outcome, _ in result.steps)


def test_organisations_and_a_user_per_role(seeded: Seeded) -> None:
    database, _, _ = seeded
    with database.session() as session:
        hub = orgs.hub(session)
        assert hub is not None
        assert hub.name == HUB
        assert {o.name for o in orgs.list_all(session)} == {HUB, *(m.name for m in MEMBERS)}
        communities = {c for names in orgs.community_names_by_org(session).values()
                       for c in names}
        assert communities == {"finance", "telecom", "government"}
        users = members.list_users(session)
        assert {u.email for u in users} == {u.email for u in USERS}
        assert {u.role for u in users} == {u.role for u in USERS}
        assert len({u.role for u in users}) == 4


def test_demo_users_sign_in_with_the_printed_password(seeded: Seeded) -> None:
    from renkei.demo.cast import PASSWORD

    database, _, _ = seeded
    with database.session() as session:
        who = members.authenticate_password(session, FixedClock(FIXED_NOW), ANALYST, PASSWORD)
    assert who.is_hub


def test_logs_alerts_over_the_month(seeded: Seeded) -> None:
    database, _, _ = seeded
    alerts = stored_alerts(database, limit=5_000)
    days = {str(a["time"])[:10] for a in alerts}
    assert len(days) >= 25  # a trend, not one burst
    assert {"sqli", "brute-force", "scanner"} <= {a["category"] for a in alerts}


def test_sensors_series_and_findings(seeded: Seeded) -> None:
    database, _, _ = seeded
    with database.session() as session:
        assert len(sensors.sensors_of(session)) == 2
        assert sensors.ranges_of(session)
        points = sensors.series(session)
        found = sensors.findings(session)
    assert len({p.bucket.date() for p in points}) >= 25
    kinds = {f.row.kind for f in found}
    assert {FindingKind.SCANNER.value, FindingKind.BACKSCATTER.value} <= kinds
    assert any("mirai" in f.row.fingerprints for f in found)


def test_vulns_matches_with_kev_and_epss(seeded: Seeded) -> None:
    database, _, _ = seeded
    with database.session() as session:
        assert len(assets_of(session, None)) == len(MEMBERS)
        alerts = [a for a, _ in alerts_of(session, None, limit=5_000)]
    assert len({a.organisation_id for a in alerts}) == len(MEMBERS)
    assert any(a.kev for a in alerts)
    assert any(a.epss is not None for a in alerts)
    assert len({a.created_at.date() for a in alerts}) >= 3  # matches arrive over the month


def test_a_member_has_accepted_one_risk(seeded: Seeded) -> None:
    database, _, _ = seeded
    with database.session() as session:
        first = orgs.require(session, MEMBERS[0].name)
        kept = suppressions_of(session, first.id)
        others = [s for m in MEMBERS[1:]
                  for s in suppressions_of(session, orgs.require(session, m.name).id)]
        author = principal(session, submitter(MEMBERS[0])).actor
    assert [(s.kind, s.created_by) for s in kept] == [("accepted_risk", author)]
    assert others == []


def test_sharing_workflow_states_and_sightings(seeded: Seeded) -> None:
    database, _, _ = seeded
    with database.session() as session:
        staff = principal(session, ANALYST)
        states = {s.state for s in sharing.list_submissions(session, staff)}
        assert states == set(SubmissionState)
        reader = principal(session, submitter(MEMBERS[1]))
        shared = visible_objects(session, Viewer.of(reader), stix_type="indicator")
        assert shared
        totals = [sightings.summary(session, staff, row.stix_id).count
                  for row in visible_objects(session, Viewer.of(staff), stix_type="indicator")]
    assert sum(totals) > 0


def test_incidents_from_every_source_in_every_state(seeded: Seeded) -> None:
    database, _, _ = seeded
    with database.session() as session:
        caller = Caller.of(principal(session, ADMIN))
        found = incidents.list_incidents(session, caller)
        assert {i.source_kind for i in found} == {
            "logs-alert", "vulns-alert", "shared", "sensors-finding", "manual"}
        assert {i.status for i in found} == {
            "new", "acknowledged", "investigating", "contained", "resolved", "closed"}
        assert any(incidents.tasks(session, i) for i in found)
        assert all(i.created_at <= FIXED_NOW for i in found)


def test_plan_year_audit_and_consultation(seeded: Seeded) -> None:
    database, _, _ = seeded
    year = fiscal_year(FIXED_NOW)
    with database.session() as session:
        kept = [s for s in status.statuses(session, year, as_of=FIXED_NOW)
                if s.status is not None and s.status.value != "planned"]
        assert len({s.status for s in kept}) >= 4
        campaign = audits.get_campaign(session, CAMPAIGN.format(year=year))
        assert len(audits.assessments(session, campaign)) == len(MEMBERS)
        compared = audits.compare(session, CAMPAIGN.format(year=year - 1),
                                  CAMPAIGN.format(year=year), MEMBERS[0].name)
        trends = {row.trend for row in compared}
        assert {"improved", "worsened"} <= trends, "last year's campaign differs"
        assert consultation.comments(session, CONSULTATION.format(year=year))


def test_seeding_again_changes_nothing(seeded: Seeded) -> None:
    database, _, folder = seeded
    before = stored_alerts(database, limit=10_000)
    again = seed(database, FixedClock(FIXED_NOW), folder)
    assert again.already
    assert stored_alerts(database, limit=10_000) == before


def test_another_hub_is_never_seeded(empty_database_url: str, tmp_path: Path) -> None:
    database = Database(empty_database_url)
    try:
        with database.session() as session:
            orgs.add(session, FixedClock(FIXED_NOW), "Our real CSIRT", hub=True)
        assert not (tmp_path / "files").exists()
        with pytest.raises(DemoError, match="not the demo"):
            seed(database, FixedClock(FIXED_NOW), tmp_path / "files")
        with pytest.raises(DemoError):
            is_seeded(database)
        with database.session() as session:
            assert [o.name for o in orgs.list_all(session)] == ["Our real CSIRT"]
    finally:
        database.dispose()
