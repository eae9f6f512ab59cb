"""Coordinated disclosure: the steps a case may take, reminders, the unreachable-vendor
procedure, and publication as a hub advisory."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from renkei.core.models import AuditEvent
from renkei.core.time import FixedClock
from renkei.vulns import cvd
from renkei.vulns.cvd import State, Step
from renkei.vulns.store import Vulnerability, VulnRecord


def new_case(session: Session, clock: FixedClock) -> str:
    case = cvd.report(session, clock, title="XSS in the admin page", vendor="Example Corp",
                      product="Example CMS", description="Reflected XSS in /admin?q=",
                      finder_name="Hanako Yamada", finder_contact="hanako@example.jp",
                      actor="analyst")
    return case.reference


def later(clock: FixedClock, days: int) -> FixedClock:
    return FixedClock(clock.now() + timedelta(days=days))


def test_a_case_from_report_to_publication(db_session: Session, clock: FixedClock) -> None:
    ref = new_case(db_session, clock)
    assert ref == "RK-2026-0001"
    assert new_case(db_session, clock) == "RK-2026-0002"
    cvd.step(db_session, clock, ref, Step.TRIAGE, actor="analyst", note="reproduced")
    cvd.step(db_session, clock, ref, Step.CONTACT, actor="analyst",
             vendor_contact="psirt@example.com")
    cvd.step(db_session, later(clock, 3), ref, Step.VENDOR_REPLY, actor="analyst")
    agreed = clock.now() + timedelta(days=45)
    cvd.step(db_session, later(clock, 4), ref, Step.AGREE_DATE, actor="analyst",
             publication_date=agreed)
    with pytest.raises(cvd.CvdError, match="has not come"):
        cvd.step(db_session, later(clock, 10), ref, Step.PUBLISH, actor="analyst")
    case = cvd.step(db_session, later(clock, 45), ref, Step.PUBLISH, actor="analyst",
                    cve="CVE-2026-4242")
    assert case.state == State.PUBLISHED
    record = db_session.scalars(select(VulnRecord).where(VulnRecord.source == "hub")).one()
    assert record.record_id == ref
    assert db_session.scalars(select(Vulnerability.key)).all() == ["CVE-2026-4242"]
    kinds = [e.kind for e in cvd.history(db_session, ref)]
    assert kinds == ["report", "triage", "contact", "vendor_reply", "agree_date", "publish"]
    audited = db_session.scalars(select(AuditEvent.action)
                                 .where(AuditEvent.target == ref)).all()
    assert "vulns.cvd.publish" in audited


def test_steps_out_of_order_are_refused(db_session: Session, clock: FixedClock) -> None:
    ref = new_case(db_session, clock)
    for what in (Step.CONTACT, Step.AGREE_DATE, Step.PUBLISH, Step.DECLARE_UNREACHABLE,
                 Step.CLOSE):
        with pytest.raises(cvd.CvdError, match="cannot take the step"):
            cvd.step(db_session, clock, ref, what, actor="analyst")
    cvd.step(db_session, clock, ref, Step.REJECT, actor="analyst", note="a duplicate")
    cvd.step(db_session, clock, ref, Step.CLOSE, actor="analyst")
    with pytest.raises(cvd.CaseNotFoundError):
        cvd.step(db_session, clock, "RK-1999-0001", Step.TRIAGE, actor="analyst")
    with pytest.raises(cvd.CvdError, match="needs a title"):
        cvd.report(db_session, clock, title=" ", vendor="v", product="p", description="d",
                   finder_name="", finder_contact="", actor="analyst")


def test_an_unreachable_vendor_and_reminders(db_session: Session, clock: FixedClock) -> None:
    ref = new_case(db_session, clock)
    cvd.step(db_session, clock, ref, Step.TRIAGE, actor="analyst")
    assert [r.what.startswith("triaged") for r in cvd.reminders(db_session, clock.now())] == [
        True]
    cvd.step(db_session, clock, ref, Step.CONTACT, actor="analyst")
    assert cvd.reminders(db_session, later(clock, 13).now()) == []
    (due,) = cvd.reminders(db_session, later(clock, 14).now())
    assert due.reference == ref
    with pytest.raises(cvd.CvdError, match="after 3 contact attempts"):
        cvd.step(db_session, later(clock, 15), ref, Step.DECLARE_UNREACHABLE, actor="analyst")
    cvd.step(db_session, later(clock, 15), ref, Step.CONTACT, actor="analyst")
    cvd.step(db_session, later(clock, 30), ref, Step.CONTACT, actor="analyst")
    declared = later(clock, 45)
    cvd.step(db_session, declared, ref, Step.DECLARE_UNREACHABLE, actor="analyst")
    with pytest.raises(cvd.CvdError, match="90 days"):
        cvd.step(db_session, later(clock, 100), ref, Step.PUBLISH, actor="analyst")
    (due,) = cvd.reminders(db_session, later(clock, 135).now())
    assert "waiting period" in due.what
    case = cvd.step(db_session, later(clock, 135), ref, Step.PUBLISH, actor="analyst")
    assert case.state == State.PUBLISHED
    assert db_session.scalars(select(Vulnerability.key)).all() == [ref]
