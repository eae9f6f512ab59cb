"""Tables of the plan domain; only the plan's service modules write them.

Three histories, each an append-only event table with the current state derived from it
(or, where a row holds the current state for convenience, written in the same step as
its event):

- a measure's status per fiscal year: ``plan_status_events``, their ``plan_evidence``,
  and ``plan_years`` naming the plan each year follows;
- audits: frameworks and their requirements, campaigns, one assessment per organisation,
  and ``plan_audit_results`` (each result given is an event);
- consultations (public comments): the consultation, its comments with their current
  category, answer and approval, and ``plan_consultation_events``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column

from renkei.core.models import Base

MEASURE_ID_LENGTH = 100
ACTOR_LENGTH = 200


# --- fiscal years and statuses -------------------------------------------------------------


class PlanYear(Base):
    """A fiscal year the hub follows, and its plan: the YAML text of a plan file, or none
    for the shipped 2015 plan. ``started_from`` is the year its statuses were copied from."""

    __tablename__ = "plan_years"

    fiscal_year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    title: Mapped[str] = mapped_column(Text)
    plan_yaml: Mapped[str | None] = mapped_column(Text, nullable=True)
    started_from: Mapped[int | None] = mapped_column(Integer, nullable=True)
    started_at: Mapped[datetime]
    started_by: Mapped[str] = mapped_column(String(ACTOR_LENGTH))


class StatusEvent(Base):
    """One status given to a measure for a fiscal year, appended and never changed.
    ``change`` is empty for a status someone set, and says how a new year's copy relates
    to the year before: ``carried``, ``reworded`` (same id, other text) or ``new``."""

    __tablename__ = "plan_status_events"
    __table_args__ = (
        Index("ix_plan_status_events_measure", "fiscal_year", "measure_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fiscal_year: Mapped[int] = mapped_column(Integer)
    measure_id: Mapped[str] = mapped_column(String(MEASURE_ID_LENGTH))
    status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    change: Mapped[str] = mapped_column(String(20), default="")
    recorded_at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(ACTOR_LENGTH))


class Evidence(Base):
    """A link or a file given with a status event. ``evidence_date`` is the date the
    evidence is from (a meeting, a published document); ``added_at`` is when it was given."""

    __tablename__ = "plan_evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("plan_status_events.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # link | file
    url: Mapped[str] = mapped_column(Text, default="")
    filename: Mapped[str] = mapped_column(String(200), default="")
    media_type: Mapped[str] = mapped_column(String(100), default="")
    size: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    content: Mapped[bytes | None] = deferred(mapped_column(LargeBinary, nullable=True))
    evidence_date: Mapped[date | None] = mapped_column(nullable=True)
    added_at: Mapped[datetime]


# --- audits --------------------------------------------------------------------------------


class Framework(Base):
    """A requirement framework as loaded from its YAML file (kept as ``source``); a key and
    version are loaded once, and loading the same file again changes nothing."""

    __tablename__ = "plan_frameworks"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(50))
    title: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[datetime]
    loaded_by: Mapped[str] = mapped_column(String(ACTOR_LENGTH))


class Requirement(Base):
    """A group or a requirement of a framework; only requirements (not groups) get results."""

    __tablename__ = "plan_requirements"
    __table_args__ = (UniqueConstraint("framework_id", "ref"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    framework_id: Mapped[int] = mapped_column(
        ForeignKey("plan_frameworks.id", ondelete="CASCADE"), index=True)
    ref: Mapped[str] = mapped_column(String(100))
    parent_ref: Mapped[str | None] = mapped_column(String(100), nullable=True)
    is_group: Mapped[bool] = mapped_column(Boolean, default=False)
    title: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer)


class Campaign(Base):
    """An audit campaign: one framework, one fiscal year, several organisations."""

    __tablename__ = "plan_audit_campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(Text, default="")
    framework_id: Mapped[int] = mapped_column(
        ForeignKey("plan_frameworks.id", ondelete="RESTRICT"), index=True)
    fiscal_year: Mapped[int] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(ACTOR_LENGTH))


class Assessment(Base):
    """One organisation's assessment within a campaign."""

    __tablename__ = "plan_audit_assessments"
    __table_args__ = (UniqueConstraint("campaign_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("plan_audit_campaigns.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True)
    created_at: Mapped[datetime]


class AuditResult(Base):
    """A result given to one requirement of an assessment, appended and never changed; the
    newest per requirement is the assessment's current result."""

    __tablename__ = "plan_audit_results"
    __table_args__ = (
        Index("ix_plan_audit_results_requirement", "assessment_id", "requirement_ref", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("plan_audit_assessments.id", ondelete="CASCADE"))
    requirement_ref: Mapped[str] = mapped_column(String(100))
    result: Mapped[str] = mapped_column(String(30))
    evidence: Mapped[str] = mapped_column(Text, default="")
    findings: Mapped[str] = mapped_column(Text, default="")
    recommendations: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(ACTOR_LENGTH))


# --- consultations -------------------------------------------------------------------------


class Consultation(Base):
    """A public consultation (意見募集) on a plan: ``open`` until its results are published."""

    __tablename__ = "plan_consultations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(Text)
    fiscal_year: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(ACTOR_LENGTH))
    published_at: Mapped[datetime | None] = mapped_column(nullable=True)


class ConsultationComment(Base):
    """A comment received, with its current category, answer and approval; each change is
    also a ``ConsultationEvent``."""

    __tablename__ = "plan_consultation_comments"
    __table_args__ = (UniqueConstraint("consultation_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("plan_consultations.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    submitter: Mapped[str] = mapped_column(String(200))
    submitter_kind: Mapped[str] = mapped_column(String(20))
    branch: Mapped[int | None] = mapped_column(Integer, nullable=True)
    page: Mapped[str] = mapped_column(String(100), default="")
    section: Mapped[str] = mapped_column(Text, default="")
    refs: Mapped[list[str]] = mapped_column(JSON)
    summary: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str | None] = mapped_column(String(30), nullable=True)
    answer: Mapped[str] = mapped_column(Text, default="")
    changed: Mapped[bool] = mapped_column(Boolean, default=False)
    drafted_by: Mapped[str | None] = mapped_column(String(ACTOR_LENGTH), nullable=True)
    approved_by: Mapped[str | None] = mapped_column(String(ACTOR_LENGTH), nullable=True)


class ConsultationEvent(Base):
    """One step of a consultation (import, publish) or of a comment (categorise, draft,
    approve), appended and never changed."""

    __tablename__ = "plan_consultation_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("plan_consultations.id", ondelete="CASCADE"), index=True)
    comment_id: Mapped[int | None] = mapped_column(
        ForeignKey("plan_consultation_comments.id", ondelete="CASCADE"), nullable=True,
        index=True)
    kind: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(ACTOR_LENGTH))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
