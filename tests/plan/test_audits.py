"""Audit frameworks, campaigns, results and year-on-year comparison."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from renkei.core import orgs
from renkei.core.time import FixedClock
from renkei.plan import audits
from renkei.plan.errors import PlanConflictError, PlanError, PlanNotFoundError
from renkei.plan.frameworks import MAX_DEPTH, parse_framework, shipped_frameworks
from renkei.plan.load import PlanDataError
from renkei.plan.model import AuditOutcome
from renkei.plan.store import AuditResult, Framework

CLOCK = FixedClock(datetime(2016, 3, 1, tzinfo=UTC))
SHIPPED = shipped_frameworks()[0]


def _framework(session: Session) -> Framework:
    framework, _ = audits.load_framework(session, CLOCK, SHIPPED.read_bytes(), SHIPPED.name,
                                         actor="a")
    return framework


@pytest.fixture
def members(db_session: Session) -> list[str]:
    orgs.add(db_session, CLOCK, "Hub", hub=True)
    names = ["総務省", "経済産業省"]
    for name in names:
        orgs.add(db_session, CLOCK, name)
    return names


def test_the_shipped_framework_is_a_tree_of_groups_and_requirements() -> None:
    document = parse_framework(SHIPPED.read_bytes(), SHIPPED.name)
    groups = [n for n in document.nodes if n.is_group]
    assert len(groups) == 5
    assert all(n.parent in {g.ref for g in groups} for n in document.requirements())


def test_loading_again_is_idempotent_and_other_content_is_refused(db_session: Session) -> None:
    first = _framework(db_session)
    again, new = audits.load_framework(db_session, CLOCK, SHIPPED.read_bytes(), SHIPPED.name,
                                       actor="a")
    assert (again.id, new) == (first.id, False)
    changed = SHIPPED.read_bytes().replace("責任者の指名".encode(), "責任者".encode())
    with pytest.raises(PlanConflictError, match="new version"):
        audits.load_framework(db_session, CLOCK, changed, "x.yaml", actor="a")


@pytest.mark.parametrize(("text", "message"), [
    ("format: renkei-framework/1\nkey: k\nversion: '1'\ntitle: t\nrequirements: [\n", "not YAML"),
    ("- just a list\n", "expected a mapping"),
    ("format: renkei-framework/1\nkey: k\nversion: '1'\ntitle: t\nrequirements: []\n", "no requirements"),
    ("format: renkei-framework/1\nkey: k\nversion: '1'\ntitle: t\nrequirements:\n- ref: A\n  title: a\n- ref: A\n  title: b\n", "duplicate id A"),
    ("format: renkei-framework/1\nkey: k\nversion: '1'\ntitle: t\nrequirements:\n- ref: A\n", "missing title"),
    ("format: renkei-framework/1\nkey: k\nversion: '1'\ntitle: t\nrequirements:\n- ref: A\n  title: a\n  requirements: []\n", "a group needs"),
    ("format: renkei-framework/1\nkey: '../x'\nversion: '1'\ntitle: t\nrequirements:\n- {ref: A, title: a}\n", "key must be"),
    ("format: renkei-framework/1\nkey: k\nversion: '1'\ntitle: t\nrequirements:\n- {ref: 'A B', title: a}\n", "without spaces"),
    ("format: renkei-framework/1\nkey: k\nversion: '1'\ntitle: t\nrequirements: " + "[" * 5000 + "]" * 5000 + "\n", "not YAML|expected a mapping"),
    ("format: renkei-framework/1\nkey: k\nversion: '1'\ntitle: t\nrequirements:\n- {ref: A, title: a, text: " + "x" * 20_001 + "}\n", "text is longer than 20000"),
    ("format: renkei-framework/1\nkey: k\nversion: '1'\ntitle: " + "t" * 1001 + "\nrequirements:\n- {ref: A, title: a}\n", "title is longer than 1000"),
])
def test_bad_framework_files_are_refused_whole(text: str, message: str) -> None:
    with pytest.raises(PlanDataError, match=message):
        parse_framework(text.encode(), "bad.yaml")


def test_too_deep_or_too_big_frameworks_are_refused() -> None:
    nested = "{ref: L0, title: t}"
    for level in range(1, MAX_DEPTH + 2):
        nested = f"{{ref: L{level}, title: t, requirements: [{nested}]}}"
    text = f"format: renkei-framework/1\nkey: k\nversion: '1'\ntitle: t\nrequirements: [{nested}]\n"
    with pytest.raises(PlanDataError, match="deeper than"):
        parse_framework(text.encode(), "deep.yaml")
    with pytest.raises(PlanDataError, match="more than"):
        parse_framework(b"x" * (3 * 1024 * 1024), "big.yaml")
    with pytest.raises(PlanDataError, match="not UTF-8"):
        parse_framework("format: é".encode("latin-1"), "latin.yaml")


def test_a_campaign_assesses_each_member_and_results_are_events(
        db_session: Session, members: list[str]) -> None:
    framework = _framework(db_session)
    campaign = audits.create_campaign(db_session, CLOCK, "fy2015", framework.key, 2015,
                                      actor="a")
    assert sorted(o.name for _, o in audits.assessments(db_session, campaign)) == sorted(members)
    assessment = audits.get_assessment(db_session, "fy2015", "総務省")
    audits.record_result(db_session, CLOCK, assessment, "G3.1", AuditOutcome.NON_COMPLIANT,
                         findings="<b>patches late</b>", recommendations="30 days", actor="a")
    audits.record_result(db_session, CLOCK, assessment, "G3.1", AuditOutcome.PARTIAL, actor="b")
    described = audits.describe(db_session, assessment)
    (g31,) = [r for r in described["requirements"] if r["ref"] == "G3.1"]
    assert g31["result"] == "partially_compliant"
    assert described["counts"]["not_assessed"] == 13
    assert db_session.scalar(select(func.count()).select_from(AuditResult)) == 2
    with pytest.raises(PlanNotFoundError, match="no requirement G3"):
        audits.record_result(db_session, CLOCK, assessment, "G3", AuditOutcome.COMPLIANT,
                             actor="a")  # a group is not assessed
    with pytest.raises(PlanError, match="unknown result"):
        audits.parse_outcome("ok")
    with pytest.raises(PlanConflictError):
        audits.create_campaign(db_session, CLOCK, "fy2015", framework.key, 2015, actor="a")


def test_another_organisations_assessment_reads_as_missing(
        db_session: Session, members: list[str]) -> None:
    framework = _framework(db_session)
    audits.create_campaign(db_session, CLOCK, "fy2015", framework.key, 2015, actor="a")
    meti = orgs.require(db_session, "経済産業省")
    assert audits.get_assessment(db_session, "fy2015", "経済産業省", meti.id)
    with pytest.raises(PlanNotFoundError):
        audits.get_assessment(db_session, "fy2015", "総務省", meti.id)


def test_results_compare_year_on_year(db_session: Session, members: list[str]) -> None:
    framework = _framework(db_session)
    for year in (2015, 2016):
        audits.create_campaign(db_session, CLOCK, f"fy{year}", framework.key, year,
                               organisations=["総務省"], actor="a")
    before = audits.get_assessment(db_session, "fy2015", "総務省")
    after = audits.get_assessment(db_session, "fy2016", "総務省")
    for assessment, ref, outcome in (
            (before, "G1.1", AuditOutcome.PARTIAL), (after, "G1.1", AuditOutcome.COMPLIANT),
            (before, "G3.1", AuditOutcome.COMPLIANT), (after, "G3.1", AuditOutcome.NON_COMPLIANT),
            (before, "G4.2", AuditOutcome.NOT_APPLICABLE), (after, "G4.2", AuditOutcome.PARTIAL)):
        audits.record_result(db_session, CLOCK, assessment, ref, outcome, actor="a")
    trends = {c.ref: c.trend for c in audits.compare(db_session, "fy2015", "fy2016", "総務省")}
    assert (trends["G1.1"], trends["G3.1"], trends["G4.2"], trends["G5.1"]) == (
        "improved", "worsened", "changed", "same")
