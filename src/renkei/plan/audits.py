"""Audits of organisations against a framework (2.3(2)(ア)): frameworks, campaigns, one
assessment per organisation, a result per requirement, and the comparison of two years.

Every result given is an appended ``AuditResult``; an assessment's current result for a
requirement is its newest, and a requirement without one is ``not_assessed``.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from renkei.core import audit, orgs
from renkei.core.models import Organisation
from renkei.core.text import is_clean_line
from renkei.core.time import Clock
from renkei.plan.errors import PlanConflictError, PlanError, PlanNotFoundError
from renkei.plan.frameworks import parse_framework
from renkei.plan.model import AuditOutcome, parse_choice
from renkei.plan.status import check_year, clean_text
from renkei.plan.store import Assessment, AuditResult, Campaign, Framework, Requirement

MAX_AUDIT_TEXT = 10_000


def parse_outcome(text: str) -> AuditOutcome:
    try:
        return parse_choice(AuditOutcome, text)
    except ValueError:
        raise PlanError("unknown result {result}; use compliant, partially_compliant, "
                        "non_compliant, not_applicable or not_assessed",
                        result=text[:40]) from None


# --- frameworks ----------------------------------------------------------------------------


def load_framework(session: Session, clock: Clock, data: bytes, name: str, *, actor: str,
                   source: str = "cli") -> tuple[Framework, bool]:
    """Load a framework file; True when it was new. The same file again changes nothing;
    other content under a key and version already loaded is refused."""
    document = parse_framework(data, name)
    digest = hashlib.sha256(data).hexdigest()
    held = session.scalar(select(Framework).where(Framework.key == document.key,
                                                  Framework.version == document.version))
    if held is not None:
        if held.digest == digest:
            return held, False
        raise PlanConflictError("framework {key} version {version} is already loaded with "
                                "other content; give the changed framework a new version",
                                key=document.key, version=document.version)
    framework = Framework(key=document.key, version=document.version, title=document.title,
                          digest=digest, source=data.decode("utf-8-sig"),
                          loaded_at=clock.now(), loaded_by=actor[:200])
    session.add(framework)
    session.flush()
    session.add_all(Requirement(framework_id=framework.id, ref=node.ref, parent_ref=node.parent,
                                is_group=node.is_group, title=node.title, text=node.text,
                                position=index)
                    for index, node in enumerate(document.nodes))
    audit.record(session, clock, action="plan.audits.framework", actor=actor, source=source,
                 target=f"{document.key}/{document.version}",
                 details={"requirements": len(document.requirements())})
    session.flush()
    return framework, True


def frameworks(session: Session) -> list[Framework]:
    return list(session.scalars(select(Framework).order_by(Framework.key, Framework.id)))


def get_framework(session: Session, key: str, version: str | None = None) -> Framework:
    """A framework by key, and version (default: the one loaded last)."""
    query = select(Framework).where(Framework.key == key)
    if version is not None:
        query = query.where(Framework.version == version)
    found = session.scalar(query.order_by(Framework.id.desc()).limit(1))
    if found is None:
        raise PlanNotFoundError("no framework {key}", key=f"{key} {version or ''}".strip()[:150])
    return found


def requirements(session: Session, framework_id: int) -> list[Requirement]:
    return list(session.scalars(select(Requirement).where(
        Requirement.framework_id == framework_id).order_by(Requirement.position)))


# --- campaigns and assessments -------------------------------------------------------------


def create_campaign(session: Session, clock: Clock, name: str, framework_key: str, year: int, *,
                    version: str | None = None, organisations: Sequence[str] = (),
                    title: str = "", actor: str, source: str = "cli") -> Campaign:
    """A campaign with one assessment per organisation named (default: every member)."""
    clean = name.strip()
    if not is_clean_line(clean, min_chars=1, max_chars=100):
        raise PlanError("a campaign name is 1 to 100 characters without control characters")
    if session.scalar(select(Campaign).where(Campaign.name == clean)) is not None:
        raise PlanConflictError("campaign {name} already exists", name=clean)
    framework = get_framework(session, framework_key, version)
    chosen = ([orgs.require(session, org) for org in organisations] if organisations else
              [o for o in orgs.list_all(session) if not o.is_hub])
    if not chosen:
        raise PlanError("a campaign needs organisations to assess; none are registered")
    now = clock.now()
    campaign = Campaign(name=clean, title=clean_text(title, 500, "a title"),
                        framework_id=framework.id, fiscal_year=check_year(year),
                        created_at=now, created_by=actor[:200])
    session.add(campaign)
    session.flush()
    for org in {o.id: o for o in chosen}.values():
        session.add(Assessment(campaign_id=campaign.id, organisation_id=org.id, created_at=now))
    audit.record(session, clock, action="plan.audits.campaign", actor=actor, source=source,
                 target=clean, details={"framework": f"{framework.key}/{framework.version}",
                                        "year": year, "organisations": len(chosen)})
    session.flush()
    return campaign


def get_campaign(session: Session, name: str) -> Campaign:
    found = session.scalar(select(Campaign).where(Campaign.name == name))
    if found is None:
        raise PlanNotFoundError("no campaign {name}", name=name[:100])
    return found


def campaigns(session: Session, organisation_id: int | None = None,
              year: int | None = None) -> list[Campaign]:
    """Campaigns, oldest first: all of them, or those assessing one organisation."""
    query = select(Campaign)
    if organisation_id is not None:
        query = query.where(Campaign.id.in_(select(Assessment.campaign_id).where(
            Assessment.organisation_id == organisation_id)))
    if year is not None:
        query = query.where(Campaign.fiscal_year == year)
    return list(session.scalars(query.order_by(Campaign.id)))


def assessments(session: Session, campaign: Campaign,
                organisation_id: int | None = None) -> list[tuple[Assessment, Organisation]]:
    query = (select(Assessment, Organisation)
             .join(Organisation, Organisation.id == Assessment.organisation_id)
             .where(Assessment.campaign_id == campaign.id))
    if organisation_id is not None:
        query = query.where(Assessment.organisation_id == organisation_id)
    return [(a, o) for a, o in session.execute(query.order_by(Organisation.name))]


def get_assessment(session: Session, campaign_name: str, organisation: str,
                   readable: int | None = None) -> Assessment:
    """One organisation's assessment in a campaign; with ``readable`` (an organisation id),
    another organisation's is answered as if it did not exist."""
    campaign = get_campaign(session, campaign_name)
    org = orgs.get_by_name(session, organisation)
    assessment = None if org is None else session.scalar(select(Assessment).where(
        Assessment.campaign_id == campaign.id, Assessment.organisation_id == org.id))
    if assessment is None or (readable is not None and assessment.organisation_id != readable):
        raise PlanNotFoundError("no assessment of {organisation} in {campaign}",
                                organisation=organisation[:100], campaign=campaign_name[:100])
    return assessment


def assessment_by_id(session: Session, assessment_id: int,
                     readable: int | None = None) -> Assessment:
    assessment = session.get(Assessment, assessment_id)
    if assessment is None or (readable is not None and assessment.organisation_id != readable):
        raise PlanNotFoundError("no assessment {id}", id=assessment_id)
    return assessment


def record_result(session: Session, clock: Clock, assessment: Assessment, requirement_ref: str,
                  outcome: AuditOutcome, *, evidence: str = "", findings: str = "",
                  recommendations: str = "", actor: str, source: str = "cli") -> AuditResult:
    """Give a requirement of an assessment its result (appended; the newest counts)."""
    campaign = session.get(Campaign, assessment.campaign_id)
    assert campaign is not None
    requirement = session.scalar(select(Requirement).where(
        Requirement.framework_id == campaign.framework_id,
        Requirement.ref == requirement_ref.strip()))
    if requirement is None or requirement.is_group:
        raise PlanNotFoundError("the framework has no requirement {ref}", ref=requirement_ref[:100])
    row = AuditResult(
        assessment_id=assessment.id, requirement_ref=requirement.ref, result=outcome.value,
        evidence=clean_text(evidence, MAX_AUDIT_TEXT, "evidence"),
        findings=clean_text(findings, MAX_AUDIT_TEXT, "findings"),
        recommendations=clean_text(recommendations, MAX_AUDIT_TEXT, "recommendations"),
        recorded_at=clock.now(), actor=actor[:200])
    session.add(row)
    audit.record(session, clock, action="plan.audits.result", actor=actor, source=source,
                 target=f"{campaign.name}:{assessment.organisation_id}:{requirement.ref}",
                 details={"result": outcome.value},
                 organisation_id=assessment.organisation_id)
    session.flush()
    return row


def current_results(session: Session, assessment_id: int) -> dict[str, AuditResult]:
    latest: dict[str, AuditResult] = {}
    for row in session.scalars(select(AuditResult).where(
            AuditResult.assessment_id == assessment_id).order_by(AuditResult.id)):
        latest[row.requirement_ref] = row
    return latest


def result_history(session: Session, assessment_id: int) -> list[AuditResult]:
    return list(session.scalars(select(AuditResult).where(
        AuditResult.assessment_id == assessment_id).order_by(AuditResult.id)))


def describe(session: Session, assessment: Assessment) -> dict[str, Any]:
    """An assessment as JSON: campaign, organisation, and every requirement's result."""
    campaign = session.get(Campaign, assessment.campaign_id)
    org = session.get(Organisation, assessment.organisation_id)
    assert campaign is not None
    assert org is not None
    framework = session.get(Framework, campaign.framework_id)
    assert framework is not None
    results = current_results(session, assessment.id)
    items = []
    for requirement in requirements(session, framework.id):
        row = results.get(requirement.ref)
        item: dict[str, Any] = {"ref": requirement.ref, "parent": requirement.parent_ref,
                                "group": requirement.is_group, "title": requirement.title}
        if not requirement.is_group:
            item.update({
                "result": row.result if row else AuditOutcome.NOT_ASSESSED.value,
                "evidence": row.evidence if row else "", "findings": row.findings if row else "",
                "recommendations": row.recommendations if row else "",
                "recorded_at": row.recorded_at.isoformat() if row else None})
        items.append(item)
    return {"id": assessment.id, "campaign": campaign.name, "fiscal_year": campaign.fiscal_year,
            "framework": {"key": framework.key, "version": framework.version,
                          "title": framework.title},
            "organisation": org.name, "counts": counts(session, assessment.id, framework.id),
            "requirements": items}


def counts(session: Session, assessment_id: int, framework_id: int) -> dict[str, int]:
    """Requirements per result (every result named, zero or not)."""
    results = current_results(session, assessment_id)
    found = Counter(results[r.ref].result if r.ref in results else AuditOutcome.NOT_ASSESSED.value
                    for r in requirements(session, framework_id) if not r.is_group)
    return {outcome.value: found.get(outcome.value, 0) for outcome in AuditOutcome}


# --- year on year --------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    ref: str
    title: str
    before: str | None  # None: the requirement was not in the earlier framework
    after: str | None
    trend: str  # improved | worsened | same | changed | added | removed

    def as_json(self) -> dict[str, object]:
        return {"ref": self.ref, "title": self.title, "before": self.before,
                "after": self.after, "trend": self.trend}


def _trend(before: str | None, after: str | None) -> str:
    if before is None:
        return "added"
    if after is None:
        return "removed"
    if before == after:
        return "same"
    ranks = AuditOutcome(before).rank, AuditOutcome(after).rank
    if ranks[0] is None or ranks[1] is None:
        return "changed"
    return "improved" if ranks[1] < ranks[0] else "worsened"


def compare(session: Session, earlier: str, later: str, organisation: str,
            readable: int | None = None) -> list[Comparison]:
    """One organisation's results in two campaigns, requirement by requirement (matched by
    ref): improved, worsened, same, changed (to or from not applicable / not assessed),
    added or removed."""
    rows: dict[str, list[Any]] = {}
    for index, name in enumerate((earlier, later)):
        assessment = get_assessment(session, name, organisation, readable)
        campaign = session.get(Campaign, assessment.campaign_id)
        assert campaign is not None
        results = current_results(session, assessment.id)
        for requirement in requirements(session, campaign.framework_id):
            if requirement.is_group:
                continue
            row = rows.setdefault(requirement.ref, [requirement.title, None, None])
            held = results.get(requirement.ref)
            row[1 + index] = held.result if held else AuditOutcome.NOT_ASSESSED.value
    return [Comparison(ref, title, before, after, _trend(before, after))
            for ref, (title, before, after) in rows.items()]
