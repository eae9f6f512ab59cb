"""Coordinated disclosure of reported vulnerabilities (the 届出 scheme of IPA and JPCERT/CC).

A finder reports a flaw; the hub triages it, contacts the product's vendor, agrees a
publication date, and publishes an advisory. A vendor that cannot be reached is declared
unreachable after repeated contact attempts; after a waiting period the hub may publish
without it (the scheme's procedure for 連絡不能開発者). Every step is an appended event
carrying the state it leads to, so the case's history is its record; which steps may
follow which is written down once, in ``STEPS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from renkei.core import audit
from renkei.core.errors import UserError
from renkei.core.time import Clock
from renkei.vulns.model import Advisory, ProductVersions, Source
from renkei.vulns.store import CvdCase, CvdEvent

VENDOR_REPLY_DAYS = 14  # a contact unanswered this long is overdue for a reminder
UNREACHABLE_AFTER_ATTEMPTS = 3
UNREACHABLE_WAIT_DAYS = 90  # after the declaration, before publishing without the vendor


class CvdError(UserError):
    pass


class CaseNotFoundError(UserError):
    status = 404


class State(StrEnum):
    REPORTED = "reported"
    TRIAGED = "triaged"
    VENDOR_CONTACTED = "vendor_contacted"
    COORDINATING = "coordinating"  # the vendor answered
    DATE_AGREED = "date_agreed"
    UNREACHABLE = "vendor_unreachable"
    PUBLISHED = "published"
    REJECTED = "rejected"  # not a vulnerability, out of scope, a duplicate
    CLOSED = "closed"


class Step(StrEnum):
    REPORT = "report"
    TRIAGE = "triage"
    REJECT = "reject"
    CONTACT = "contact"
    VENDOR_REPLY = "vendor_reply"
    NOTE = "note"
    AGREE_DATE = "agree_date"
    DECLARE_UNREACHABLE = "declare_unreachable"
    PUBLISH = "publish"
    CLOSE = "close"


_OPEN = {State.TRIAGED, State.VENDOR_CONTACTED, State.COORDINATING, State.DATE_AGREED,
         State.UNREACHABLE}
#: step -> (the states it may follow, the state it leads to; None: the state stays)
STEPS: dict[Step, tuple[set[State], State | None]] = {
    Step.TRIAGE: ({State.REPORTED}, State.TRIAGED),
    Step.REJECT: ({State.REPORTED, State.TRIAGED}, State.REJECTED),
    Step.CONTACT: ({State.TRIAGED, State.VENDOR_CONTACTED, State.UNREACHABLE},
                   State.VENDOR_CONTACTED),
    Step.VENDOR_REPLY: ({State.VENDOR_CONTACTED, State.UNREACHABLE, State.COORDINATING,
                         State.DATE_AGREED}, State.COORDINATING),
    Step.NOTE: (set(State), None),
    Step.AGREE_DATE: ({State.COORDINATING, State.DATE_AGREED}, State.DATE_AGREED),
    Step.DECLARE_UNREACHABLE: ({State.VENDOR_CONTACTED}, State.UNREACHABLE),
    Step.PUBLISH: ({State.DATE_AGREED, State.UNREACHABLE}, State.PUBLISHED),
    Step.CLOSE: ({State.PUBLISHED, State.REJECTED}, State.CLOSED),
}


def report(session: Session, clock: Clock, *, title: str, vendor: str, product: str,
           description: str, finder_name: str, finder_contact: str, actor: str,
           source: str = "cli") -> CvdCase:
    """Take in a finder's report; returns the case (reference ``RK-<year>-<n>``)."""
    fields = {"title": title, "vendor": vendor, "product": product, "description": description}
    for name, value in fields.items():
        if not value.strip():
            raise CvdError("a report needs a {field}", field=name)
    now = clock.now()
    year = now.year
    count = session.scalar(select(func.count()).select_from(CvdCase)
                           .where(CvdCase.reference.like(f"RK-{year}-%"))) or 0
    case = CvdCase(reference=f"RK-{year}-{count + 1:04d}", title=title.strip()[:500],
                     vendor=vendor.strip()[:200], product=product.strip()[:200],
                     description=description.strip()[:20_000],
                     finder_name=finder_name.strip()[:200],
                     finder_contact=finder_contact.strip()[:200], state=State.REPORTED.value,
                     created_at=now, updated_at=now)
    session.add(case)
    session.flush()
    _event(session, clock, case, Step.REPORT, State.REPORTED, actor, "")
    audit.record(session, clock, action="vulns.cvd.report", actor=actor, source=source,
                 target=case.reference)
    return case


def get_case(session: Session, reference: str) -> CvdCase:
    case = session.scalar(select(CvdCase).where(CvdCase.reference == reference))
    if case is None:
        raise CaseNotFoundError("no case {reference}", reference=reference[:40])
    return case


def step(session: Session, clock: Clock, reference: str, what: Step, *, actor: str,
         note: str = "", publication_date: datetime | None = None, vendor_contact: str = "",
         cve: str | None = None, source: str = "cli") -> CvdCase:
    """Take one step on a case, if its state allows it; the step is appended and audited."""
    case = get_case(session, reference)
    allowed, after = STEPS[what]
    state = State(case.state)
    if state not in allowed:
        raise CvdError("a case that is {state} cannot take the step {step}", state=state.value,
                       step=what.value)
    now = clock.now()
    if what is Step.AGREE_DATE:
        if publication_date is None or publication_date <= now:
            raise CvdError("an agreed publication date must lie in the future")
        case.publication_date = publication_date
    if what is Step.CONTACT and vendor_contact:
        case.vendor_contact = vendor_contact.strip()[:200]
    if what is Step.DECLARE_UNREACHABLE:
        attempts = _count(session, case, Step.CONTACT)
        if attempts < UNREACHABLE_AFTER_ATTEMPTS:
            raise CvdError("a vendor is declared unreachable after {n} contact attempts, not "
                           "{attempts}", n=UNREACHABLE_AFTER_ATTEMPTS, attempts=attempts)
    if what is Step.PUBLISH:
        _check_publishable(session, case, state, now)
        if cve:
            case.cve = cve.strip()[:40]
    new_state = after or state
    case.state = new_state.value
    case.updated_at = now
    _event(session, clock, case, what, new_state, actor, note)
    audit.record(session, clock, action=f"vulns.cvd.{what.value}", actor=actor, source=source,
                 target=case.reference, details={"state": new_state.value})
    if what is Step.PUBLISH:
        _publish(session, clock, case)
    return case


def _check_publishable(session: Session, case: CvdCase, state: State, now: datetime) -> None:
    if state is State.DATE_AGREED:
        date = case.publication_date
        if date is not None and now < date:
            raise CvdError("the agreed publication date {date} has not come",
                           date=date.date().isoformat())
        return
    declared = _last(session, case, Step.DECLARE_UNREACHABLE)
    if declared is None or now < declared + timedelta(days=UNREACHABLE_WAIT_DAYS):
        raise CvdError("an unreachable vendor's case may be published {days} days after the "
                       "declaration", days=UNREACHABLE_WAIT_DAYS)


def _publish(session: Session, clock: Clock, case: CvdCase) -> None:
    """The advisory as a hub record: stored, linked by CVE, and alerting members as any
    imported record does."""
    from renkei.vulns.alerts import raise_alerts
    from renkei.vulns.ingest import import_records

    now = clock.now()
    cve = case.cve
    advisory = Advisory(
        source=Source.HUB, id=case.reference, modified=now, published=now,
        aliases=(cve,) if cve else (), title=case.title,
        summary=case.title, details=case.description,
        products=(ProductVersions(case.vendor, case.product, parsed=False,
                                  text="see the advisory"),))
    result = import_records(session, clock, [advisory])
    raise_alerts(session, clock, vulnerability_ids=result.touched)


def _event(session: Session, clock: Clock, case: CvdCase, what: Step, state: State, actor: str,
           note: str) -> None:
    session.add(CvdEvent(case_id=case.id, at=clock.now(), kind=what.value,
                           actor=actor[:200], note=note[:5000], state=state.value))
    session.flush()


def _count(session: Session, case: CvdCase, what: Step) -> int:
    return session.scalar(select(func.count()).select_from(CvdEvent).where(
        CvdEvent.case_id == case.id, CvdEvent.kind == what.value)) or 0


def _last(session: Session, case: CvdCase, what: Step) -> datetime | None:
    return session.scalar(select(func.max(CvdEvent.at)).where(
        CvdEvent.case_id == case.id, CvdEvent.kind == what.value))


@dataclass(frozen=True)
class Reminder:
    reference: str
    state: str
    due: datetime
    what: str


def reminders(session: Session, now: datetime) -> list[Reminder]:
    """Overdue steps: a vendor contact unanswered for VENDOR_REPLY_DAYS, an agreed date
    passed without publication, an unreachable vendor's waiting period over."""
    found: list[Reminder] = []
    for case in session.scalars(select(CvdCase).where(
            CvdCase.state.in_([s.value for s in _OPEN])).order_by(CvdCase.id)):
        state = State(case.state)
        if state is State.VENDOR_CONTACTED:
            contacted = _last(session, case, Step.CONTACT)
            if contacted is not None and now >= contacted + timedelta(days=VENDOR_REPLY_DAYS):
                found.append(Reminder(case.reference, state.value,
                                      contacted + timedelta(days=VENDOR_REPLY_DAYS),
                                      "no answer from the vendor: contact again or declare "
                                      "it unreachable"))
        elif state is State.DATE_AGREED and case.publication_date is not None \
                and now >= case.publication_date:
            found.append(Reminder(case.reference, state.value, case.publication_date,
                                  "the agreed publication date has come: publish"))
        elif state is State.UNREACHABLE:
            declared = _last(session, case, Step.DECLARE_UNREACHABLE)
            if declared is not None:
                due = declared + timedelta(days=UNREACHABLE_WAIT_DAYS)
                if now >= due:
                    found.append(Reminder(case.reference, state.value, due,
                                          "the waiting period is over: publish without the "
                                          "vendor"))
        elif state is State.TRIAGED:
            found.append(Reminder(case.reference, state.value, case.updated_at,
                                  "triaged: contact the vendor"))
    return found


def history(session: Session, reference: str) -> list[CvdEvent]:
    """The case's events, oldest first."""
    case = get_case(session, reference)
    return list(session.scalars(select(CvdEvent).where(CvdEvent.case_id == case.id)
                                .order_by(CvdEvent.id)))
