"""Incidents opened by the hub's analyst from records and by hand, then taken through
their statuses with tasks, notes and indicators; one has its indicators shared."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from renkei.core.time import FixedClock
from renkei.demo.cast import ANALYST, member
from renkei.demo.data.incidents import HOURS, INCIDENTS, IncidentScript
from renkei.demo.seed.context import Context, principal
from renkei.incidents import service
from renkei.incidents.service import Caller
from renkei.incidents.share import share_indicators
from renkei.logs import store as logs_store
from renkei.sensors.findings import FindingKind
from renkei.sensors.service import findings
from renkei.sharing.policy import Viewer
from renkei.sharing.store import visible_objects
from renkei.vulns.alerts import alerts_of

CLOSED_UNRESOLVED = "Closed without an incident: see the notes."


class _Record:
    """The record an incident is opened from: its ``kind:ref``, when it was seen and
    detected (the incident opens after both)."""

    def __init__(self, ref: str, occurred: datetime | None, detected: datetime,
                 override: bool = False) -> None:
        self.ref, self.occurred, self.detected, self.override = ref, occurred, detected, override


def _closest(items: list[tuple[datetime, object]], target: datetime) -> object:
    before = [item for item in items if item[0] <= target] or items
    return min(before, key=lambda item: abs((item[0] - target).total_seconds()))[1]


def _record(session: Session, script: IncidentScript, target: datetime,
            viewer: Viewer) -> _Record | None:
    if script.source == "logs-alert":
        alerts = logs_store.list_alerts(session, category=script.hint, limit=5_000)
        if not alerts:
            return None
        alert = _closest([(a.created_at, a) for a in alerts], target)
        assert isinstance(alert, logs_store.LogAlert)
        return _Record(f"logs-alert:{alert.id}", alert.seen_at, alert.created_at)
    if script.source == "vulns-alert":
        rows = alerts_of(session, None, limit=500)
        known = [a for a, _ in rows if a.kev] or [a for a, _ in rows]
        if not known:
            return None
        return _Record(f"vulns-alert:{known[0].id}", None, known[0].created_at)
    if script.source == "shared":
        shared = visible_objects(session, viewer, stix_type="indicator", contains=script.hint,
                                 limit=1)
        if not shared:
            return None
        return _Record(f"shared:{shared[0].stix_id}", None, shared[0].date_added)
    kinds = [FindingKind.BACKSCATTER] if script.hint == "backscatter" else [FindingKind.SCANNER]
    found = [f for f in findings(session, kinds=kinds, limit=5_000)
             if script.hint != "mirai" or "mirai" in f.row.fingerprints]
    if not found:
        return None
    finding = _closest([(f.row.last, f) for f in found], target)
    row = finding.row  # type: ignore[attr-defined]
    return _Record(f"sensors-finding:{row.id}", row.first, row.last + timedelta(hours=2),
                   override=True)


@dataclass(frozen=True)
class _Step:
    hours: float  # after opening
    action: str  # assign, indicator, note, task, status, done, share
    text: str = ""
    value: str = ""
    index: int = 0


def _steps(script: IncidentScript) -> list[_Step]:
    """What happens to the incident after it is opened, in order."""
    steps = [_Step(0.3, "assign", ANALYST)] if script.status != "new" else []
    steps += [_Step(1.0 + 0.1 * i, "indicator", kind, value)
              for i, (kind, value) in enumerate(script.indicators)]
    steps += [_Step(1.5 + 0.1 * i, "note", note) for i, note in enumerate(script.notes)]
    steps += [_Step(1.8 + 0.1 * i, "task", title) for i, (title, _) in enumerate(script.tasks)]
    unresolved = script.status == "closed-unresolved"
    steps += [_Step(3.0 if unresolved else HOURS[status], "status", status)
              for status in script.path()]
    if "investigating" in script.path():
        steps += [_Step(12.0 + i, "done", index=i) for i, (_, done) in enumerate(script.tasks)
                  if done]
    if script.share:
        steps.append(_Step(31.0, "share"))
    return sorted(steps, key=lambda s: s.hours)


def _open(ctx: Context, session: Session, caller: Caller, script: IncidentScript) -> None:
    target = ctx.now - timedelta(days=script.days_ago)
    record = None
    if script.source != "manual":
        record = _record(session, script, target, caller.viewer(session))
        if record is None:
            return  # nothing of that kind was seeded: no incident from it
    opened = min(max(target, record.detected + timedelta(hours=1)) if record else target,
                 ctx.now)
    incident = service.create(
        session, FixedClock(opened), caller, title=script.title or None,
        severity=script.severity or None, category=script.category or None,
        organisations=[member(slug).name for slug in script.organisations],
        description=script.description, tlp=script.tlp or None,
        source=record.ref if record else None,
        occurred_at=record.occurred if record and record.override else None,
        detected_at=record.detected if record and record.override else None)
    tasks: list[int] = []
    for step in _steps(script):
        clock = FixedClock(min(opened + timedelta(hours=step.hours), ctx.now))
        _act(session, clock, caller, incident.id, step, tasks)


def _act(session: Session, clock: FixedClock, caller: Caller, incident_id: int, step: _Step,
         tasks: list[int]) -> None:
    if step.action == "assign":
        service.assign(session, clock, caller, incident_id, step.text)
    elif step.action == "indicator":
        service.add_indicator(session, clock, caller, incident_id, step.text, step.value)
    elif step.action == "note":
        service.add_note(session, clock, caller, incident_id, step.text)
    elif step.action == "task":
        tasks.append(service.add_task(session, clock, caller, incident_id, step.text).id)
    elif step.action == "done":
        service.complete_task(session, clock, caller, incident_id, tasks[step.index])
    elif step.action == "status":
        from_new = service.get(session, caller, incident_id).status == "new"
        note = CLOSED_UNRESOLVED if step.text == "closed" and from_new else ""
        service.transition(session, clock, caller, incident_id, step.text, note=note)
    elif step.action == "share":
        share_indicators(session, clock, caller, incident_id)


def seed_incidents(ctx: Context) -> int:
    """Every scripted incident; returns how many were opened."""
    with ctx.database.session() as session:
        caller = Caller.of(principal(session, ANALYST), source="demo")
        before = len(service.list_incidents(session, caller))
        for script in sorted(INCIDENTS, key=lambda s: -s.days_ago):
            _open(ctx, session, caller, script)
        return len(service.list_incidents(session, caller)) - before
