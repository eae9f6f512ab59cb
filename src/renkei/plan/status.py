"""Each measure's status per fiscal year, as events: set, shown as of any moment, carried
into a new year.

A status is never overwritten: every change appends a ``StatusEvent`` (with its evidence),
and the current status of a measure is its newest event — or, "as of" a moment, its newest
event recorded by then. A new fiscal year starts as a copy of the year before: each
measure of the new year's plan gets the last status it had, marked ``carried`` (same text),
``reworded`` (same id, other text) or ``new`` (planned; not in the year before).
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache, lru_cache
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from renkei.core import audit
from renkei.core.text import has_control_characters
from renkei.core.time import Clock
from renkei.plan.errors import PlanConflictError, PlanError, PlanNotFoundError
from renkei.plan.load import load_2015, parse_plan
from renkei.plan.model import Node, Plan, Status, parse_choice
from renkei.plan.store import Evidence, PlanYear, StatusEvent

SHIPPED_YEAR = 2015
MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_NOTE_CHARS = 5000
MAX_URL_CHARS = 2000
MAX_EVIDENCE_ITEMS = 20
MAX_EVIDENCE_BYTES = 4 * 1024 * 1024  # within the API's request bound
MAX_PLAN_BYTES = 16 * 1024 * 1024


class Change:
    """How a status relates to the year before (``StatusEvent.change``)."""

    SET = ""
    CARRIED = "carried"
    REWORDED = "reworded"
    NEW = "new"


@dataclass(frozen=True)
class EvidenceFile:
    """A file given as evidence: its name as the user gave it, and its bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class EvidenceView:
    id: int
    kind: str
    url: str
    filename: str
    size: int
    sha256: str
    evidence_date: date | None
    added_at: datetime

    def as_json(self) -> dict[str, object]:
        return {"id": self.id, "kind": self.kind, "url": self.url or None,
                "filename": self.filename or None, "size": self.size or None,
                "sha256": self.sha256 or None,
                "evidence_date": self.evidence_date.isoformat() if self.evidence_date else None,
                "added_at": self.added_at.isoformat()}


@dataclass(frozen=True)
class MeasureStatus:
    """A measure's status in a year as of some moment; ``status`` None: none recorded.
    ``mark`` says how it relates to the year before: carried, reworded, new, or changed
    (set since the year started from another); empty when the year was not started so."""

    measure: Node
    fiscal_year: int
    status: Status | None
    note: str = ""
    mark: str = ""
    recorded_at: datetime | None = None
    actor: str | None = None
    evidence: list[EvidenceView] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {"measure": self.measure.id, "fiscal_year": self.fiscal_year,
                "status": self.status.value if self.status else None, "note": self.note,
                "mark": self.mark, "owners": list(self.measure.owners),
                "recorded_at": self.recorded_at.isoformat() if self.recorded_at else None,
                "actor": self.actor, "evidence": [e.as_json() for e in self.evidence]}


# --- the plan each year follows ------------------------------------------------------------


@cache
def shipped_plan() -> Plan:
    return load_2015()[0]


@lru_cache(maxsize=8)
def _parsed(text: str) -> Plan:
    return parse_plan(text, "plan")


def check_year(year: int) -> int:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise PlanError("a fiscal year is between {low} and {high}", low=MIN_YEAR, high=MAX_YEAR)
    return year


def plan_for_year(session: Session, year: int) -> Plan:
    """The plan a fiscal year follows: the one it was started with, or the shipped 2015 plan."""
    row = session.get(PlanYear, check_year(year))
    if row is None:
        if year == SHIPPED_YEAR:
            return shipped_plan()
        raise PlanNotFoundError("fiscal year {year} has not been started (renkei plan year "
                                "start {year} --from …)", year=year)
    return shipped_plan() if row.plan_yaml is None else _parsed(row.plan_yaml)


def years(session: Session) -> list[tuple[int, str, int | None]]:
    """(fiscal year, plan title, the year it was started from), oldest first; 2015 is
    always followed."""
    found = {row.fiscal_year: (row.fiscal_year, row.title, row.started_from)
             for row in session.scalars(select(PlanYear))}
    found.setdefault(SHIPPED_YEAR, (SHIPPED_YEAR, shipped_plan().title, None))
    return [found[year] for year in sorted(found)]


def _measure(plan: Plan, measure_id: str, year: int) -> Node:
    node = plan.by_id.get(measure_id.strip())
    if node is None or node.kind.value != "measure":
        raise PlanNotFoundError("the plan of {year} has no measure {id}", year=year,
                                id=measure_id[:100])
    return node


def parse_status(text: str) -> Status:
    try:
        return parse_choice(Status, text)
    except ValueError:
        raise PlanError("unknown status {status}; use planned, in_progress, done, delayed or "
                        "dropped", status=text[:40]) from None


# --- checks of what users give -------------------------------------------------------------


def clean_text(text: str, limit: int, what: str) -> str:
    """Free text (a note, a finding): trimmed, at most ``limit`` characters, and no control
    or formatting characters other than line breaks and tabs."""
    clean = text.strip().replace("\r\n", "\n")
    if len(clean) > limit:
        raise PlanError("{what} is longer than {limit} characters", what=what, limit=limit)
    if has_control_characters(clean.replace("\n", "").replace("\t", "")):
        raise PlanError("{what} must not contain control characters", what=what)
    return clean


def check_url(url: str) -> str:
    """An http(s) link with a host: nothing else may become a link in a report."""
    clean = url.strip()
    parts = urlsplit(clean) if len(clean) <= MAX_URL_CHARS else None
    if (parts is None or parts.scheme.lower() not in ("http", "https") or not parts.netloc
            or has_control_characters(clean) or any(ch.isspace() for ch in clean)):
        raise PlanError("evidence links are http or https URLs of at most {limit} characters: "
                        "{url}", limit=MAX_URL_CHARS, url=clean[:100])
    return clean


def _check_evidence_date(when: date | None, today: date) -> date | None:
    if when is not None and not date(MIN_YEAR, 1, 1) <= when <= today:
        raise PlanError("an evidence date lies between {low} and today",
                        low=date(MIN_YEAR, 1, 1).isoformat())
    return when


def _file_evidence(given: EvidenceFile) -> tuple[str, str, bytes]:
    name = PurePosixPath(given.name.replace("\\", "/")).name.strip()[:200]
    if not name or has_control_characters(name):
        raise PlanError("an evidence file needs a name without control characters")
    if not given.data:
        raise PlanError("evidence file {name} is empty", name=name)
    if len(given.data) > MAX_EVIDENCE_BYTES:
        raise PlanError("evidence file {name} is larger than {limit} bytes", name=name,
                        limit=MAX_EVIDENCE_BYTES)
    media = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return name, media[:100], given.data


# --- changing a status ---------------------------------------------------------------------


def set_status(session: Session, clock: Clock, measure_id: str, year: int, status: Status, *,
               note: str = "", links: Sequence[str] = (), files: Sequence[EvidenceFile] = (),
               evidence_date: date | None = None, actor: str, source: str = "cli",
               ) -> StatusEvent:
    """Record a measure's status for a year, with a note and evidence; checked whole before
    anything is written."""
    plan = plan_for_year(session, year)
    node = _measure(plan, measure_id, year)
    now = clock.now()
    clean_note = clean_text(note, MAX_NOTE_CHARS, "a note")
    urls = [check_url(url) for url in links]
    if len(urls) + len(files) > MAX_EVIDENCE_ITEMS:
        raise PlanError("at most {limit} pieces of evidence at a time", limit=MAX_EVIDENCE_ITEMS)
    checked_files = [_file_evidence(f) for f in files]
    when = _check_evidence_date(evidence_date, now.date())
    event = StatusEvent(fiscal_year=year, measure_id=node.id, status=status.value,
                        note=clean_note, change=Change.SET, recorded_at=now, actor=actor[:200])
    session.add(event)
    session.flush()
    for url in urls:
        session.add(Evidence(event_id=event.id, kind="link", url=url, evidence_date=when,
                             added_at=now))
    for name, media, data in checked_files:
        session.add(Evidence(event_id=event.id, kind="file", filename=name, media_type=media,
                             size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                             content=data, evidence_date=when, added_at=now))
    audit.record(session, clock, action="plan.status.set", actor=actor, source=source,
                 target=f"{year}:{node.id}",
                 details={"status": status.value, "links": len(urls), "files": len(files)})
    session.flush()
    return event


# --- reading statuses ----------------------------------------------------------------------


def _events(session: Session, year: int, as_of: datetime | None,
            measure_id: str | None = None) -> list[StatusEvent]:
    query = select(StatusEvent).where(StatusEvent.fiscal_year == year)
    if as_of is not None:
        query = query.where(StatusEvent.recorded_at <= as_of)
    if measure_id is not None:
        query = query.where(StatusEvent.measure_id == measure_id)
    return list(session.scalars(query.order_by(StatusEvent.id)))


def _evidence(session: Session, event_ids: Sequence[int]) -> dict[int, list[EvidenceView]]:
    found: dict[int, list[EvidenceView]] = {}
    for start in range(0, len(event_ids), 500):
        chunk = list(event_ids[start:start + 500])
        for row in session.scalars(select(Evidence).where(Evidence.event_id.in_(chunk))
                                   .order_by(Evidence.id)):
            found.setdefault(row.event_id, []).append(EvidenceView(
                row.id, row.kind, row.url, row.filename, row.size, row.sha256,
                row.evidence_date, row.added_at))
    return found


def statuses(session: Session, year: int, as_of: datetime | None = None) -> list[MeasureStatus]:
    """Every measure of the year's plan with its status as of ``as_of`` (default: now), in
    plan order; the evidence is every piece given for it that year by then."""
    plan = plan_for_year(session, year)
    events = _events(session, year, as_of)
    evidence = _evidence(session, [e.id for e in events])
    latest: dict[str, StatusEvent] = {}
    started_marks: set[str] = set()
    gathered: dict[str, list[EvidenceView]] = {}
    for event in events:
        latest[event.measure_id] = event
        if event.change:
            started_marks.add(event.measure_id)
        gathered.setdefault(event.measure_id, []).extend(evidence.get(event.id, []))
    shown = []
    for node in plan.measures():
        last = latest.get(node.id)
        if last is None:
            shown.append(MeasureStatus(node, year, None))
            continue
        mark = last.change or ("changed" if node.id in started_marks else "")
        shown.append(MeasureStatus(node, year, Status(last.status), last.note, mark,
                                   last.recorded_at, last.actor, gathered.get(node.id, [])))
    return shown


def history(session: Session, year: int, measure_id: str,
            ) -> list[tuple[StatusEvent, list[EvidenceView]]]:
    """A measure's events in a year, oldest first, each with the evidence given with it."""
    node = _measure(plan_for_year(session, year), measure_id, year)
    events = _events(session, year, None, node.id)
    evidence = _evidence(session, [e.id for e in events])
    return [(event, evidence.get(event.id, [])) for event in events]


def evidence_file(session: Session, evidence_id: int) -> Evidence:
    """An evidence file, with its content."""
    row = session.get(Evidence, evidence_id)
    if row is None or row.kind != "file":
        raise PlanNotFoundError("no evidence file {id}", id=evidence_id)
    return row


# --- a new fiscal year ---------------------------------------------------------------------


@dataclass(frozen=True)
class YearStarted:
    fiscal_year: int
    title: str
    carried: int
    reworded: int
    new: int
    removed: list[str]

    def as_json(self) -> dict[str, object]:
        return {"fiscal_year": self.fiscal_year, "title": self.title, "carried": self.carried,
                "reworded": self.reworded, "new": self.new, "removed": self.removed}


def start_year(session: Session, clock: Clock, year: int, from_year: int, *,
               plan_text: str | None = None, actor: str, source: str = "cli") -> YearStarted:
    """Start ``year`` as a copy of ``from_year``: the new plan (a plan file's text, or the
    same plan as before) and every measure's last status, marked as it relates."""
    check_year(year)
    if year <= from_year:
        raise PlanError("a new fiscal year comes after the one it starts from")
    if session.get(PlanYear, year) is not None or year == SHIPPED_YEAR:
        raise PlanConflictError("fiscal year {year} has already been started", year=year)
    before = plan_for_year(session, from_year)
    previous = {s.measure.id: s for s in statuses(session, from_year)}
    if plan_text is None:
        row = session.get(PlanYear, from_year)
        stored = row.plan_yaml if row is not None else None
        plan = before
    else:
        if len(plan_text.encode("utf-8")) > MAX_PLAN_BYTES:
            raise PlanError("a plan file is at most {limit} bytes", limit=MAX_PLAN_BYTES)
        plan = _parsed(plan_text)  # a PlanDataError as it is: its message translates whole
        if plan.year != year:
            raise PlanError("the plan file is for {plan_year}, not {year}", plan_year=plan.year,
                            year=year)
        stored = plan_text
    now = clock.now()
    session.add(PlanYear(fiscal_year=year, title=plan.title, plan_yaml=stored,
                         started_from=from_year, started_at=now, started_by=actor[:200]))
    counts = {Change.CARRIED: 0, Change.REWORDED: 0, Change.NEW: 0}
    for node in plan.measures():
        old = previous.get(node.id)
        if old is None:
            change, status, note = Change.NEW, Status.PLANNED, ""
        else:
            change = Change.CARRIED if old.measure.text == node.text else Change.REWORDED
            status, note = old.status or Status.PLANNED, old.note
        counts[change] += 1
        session.add(StatusEvent(fiscal_year=year, measure_id=node.id, status=status.value,
                                note=note, change=change, recorded_at=now, actor=actor[:200]))
    removed = [m.id for m in before.measures() if m.id not in plan.by_id]
    audit.record(session, clock, action="plan.year.start", actor=actor, source=source,
                 target=str(year), details={"from": from_year, **counts,
                                            "removed": len(removed)})
    session.flush()
    return YearStarted(year, plan.title, counts[Change.CARRIED], counts[Change.REWORDED],
                       counts[Change.NEW], removed)
