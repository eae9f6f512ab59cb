"""Incident handling, the detect–decide–respond–report loop: open an incident by hand or
from a record, acknowledge, assign, move it through its statuses, add tasks, notes,
evidence and indicators; SLA deadlines and metrics derived from its events.

Who may do what (docs/incidents.md, "Access"): the hub's staff (and the local operator of
the CLI) see and change every incident. A member sees the incidents that affect it, and
nothing of any other (not in lists, not in counts, not in metrics): every read goes
through ``visible_clause``. A member with the submit scope may open an incident of its
own by hand and add notes, tasks, indicators and references to its incidents; moving an
incident, assigning it, changing its severity, notifying and sharing are the hub's.

Every change is an appended ``IncidentEvent`` and an audit record; a refused change
writes nothing but its audit record.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, select, true
from sqlalchemy.orm import Session

from renkei.core import audit, orgs
from renkei.core.members import Principal
from renkei.core.models import Organisation, Role, Scope, User
from renkei.core.text import has_control_characters, is_clean_line
from renkei.core.time import Clock
from renkei.core.tlp import Tlp
from renkei.core.tlp import parse as parse_tlp
from renkei.incidents.errors import IncidentError
from renkei.incidents.model import (
    MOVES,
    Category,
    EventKind,
    EvidenceKind,
    Severity,
    SourceKind,
    Status,
    needs_note,
    normalise_indicator,
)
from renkei.incidents.sources import SourceRecord, lookup, parse_source, unable_to_read
from renkei.incidents.store import (
    REF_MAX,
    TEXT_MAX,
    TITLE_MAX,
    Incident,
    IncidentEvent,
    IncidentIndicator,
    IncidentLink,
    IncidentOrganisation,
    IncidentTask,
)
from renkei.sharing.policy import Viewer

NOTE_MAX = 10_000
MAX_INDICATORS = 1_000
MAX_ORGANISATIONS = 200


@dataclass(frozen=True)
class Caller:
    """Who is asking: an API principal, or the CLI's local operator (the hub's staff)."""

    actor: str
    source: str
    organisation_id: int | None  # None: the local operator
    is_hub_staff: bool
    may_change: bool
    principal: Principal | None = None

    @classmethod
    def local(cls, actor: str | None = None) -> Caller:
        return cls(actor or audit.current_actor(), "cli", None, True, True)

    @classmethod
    def of(cls, principal: Principal, source: str = "api") -> Caller:
        return cls(principal.actor, source, principal.organisation_id,
                   Viewer.of(principal).is_hub_staff, Scope.SUBMIT in principal.scopes,
                   principal)

    def viewer(self, session: Session) -> Viewer:
        """The sharing policy's view of this caller (the local operator: hub staff)."""
        if self.principal is not None:
            return Viewer.of(self.principal)
        hub = orgs.hub(session)
        return Viewer(user_id=None, org_id=hub.id if hub else -1, role=Role.HUB_ADMIN,
                      is_hub=True)


# --- who sees what: the one clause ------------------------------------------------------


def visible_clause(caller: Caller) -> ColumnElement[bool]:
    """The incidents ``caller`` may see: all for the hub's staff, else those affecting the
    caller's organisation. Every read of incidents (lists, counts, metrics) uses it."""
    if caller.is_hub_staff:
        return true()
    return exists(select(IncidentOrganisation.incident_id).where(
        IncidentOrganisation.incident_id == Incident.id,
        IncidentOrganisation.organisation_id == caller.organisation_id))


def get(session: Session, caller: Caller, incident_id: int) -> Incident:
    """An incident ``caller`` may see; "no incident" (404) otherwise, whether it exists
    or not."""
    found = session.scalar(select(Incident).where(Incident.id == incident_id,
                                                  visible_clause(caller)))
    if found is None:
        raise IncidentError("no incident {id}", status=404, id=incident_id)
    return found


def refuse(session: Session, clock: Clock, caller: Caller, action: str, incident_id: int | None,
            reason: str) -> IncidentError:
    audit.record(session, clock, action=f"incidents.{action}.refused", actor=caller.actor,
                 source=caller.source, target=f"incident:{incident_id}" if incident_id else "",
                 details={"reason": reason}, organisation_id=caller.organisation_id)
    session.flush()
    return IncidentError("not allowed: {reason}", status=403, reason=reason)


def _for_change(session: Session, clock: Clock, caller: Caller, incident_id: int, action: str,
                *, hub_only: bool) -> Incident:
    """The incident, if ``caller`` may make this change to it."""
    incident = get(session, caller, incident_id)
    if not caller.may_change:
        raise refuse(session, clock, caller, action, incident_id,
                      "this needs the submit scope")
    if hub_only and not caller.is_hub_staff:
        raise refuse(session, clock, caller, action, incident_id,
                      "only the hub's staff do this")
    return incident


def append_event(session: Session, clock: Clock, caller: Caller, incident: Incident, kind: EventKind,
           *, note: str = "", details: dict[str, Any] | None = None) -> IncidentEvent:
    now = clock.now()
    row = IncidentEvent(incident_id=incident.id, at=now, kind=kind.value, actor=caller.actor[:200],
                        status=incident.status, note=note, details=details or {})
    session.add(row)
    incident.updated_at = now
    audit.record(session, clock, action=f"incidents.{kind.value}", actor=caller.actor,
                 source=caller.source, target=f"incident:{incident.id}",
                 details={k: v for k, v in (details or {}).items()
                          if isinstance(v, str | int | bool | None)},
                 organisation_id=caller.organisation_id)
    session.flush()
    return row


# --- checks of what callers type ---------------------------------------------------------


def clean_title(title: str) -> str:
    clean = title.strip()
    if not is_clean_line(clean, min_chars=1, max_chars=TITLE_MAX):
        raise IncidentError("a title is 1 to {most} characters on one line, without control "
                            "characters", most=TITLE_MAX)
    return clean


def clean_text(text: str, most: int, what: str) -> str:
    """Free text (notes, descriptions): bounded; line breaks and tabs allowed, other
    control characters (escape sequences, NUL, bidi overrides) refused."""
    clean = text.strip()
    if len(clean) > most:
        raise IncidentError("{what} is at most {most} characters", what=what, most=most)
    if has_control_characters(clean.replace("\n", "").replace("\r", "").replace("\t", "")):
        raise IncidentError("{what} must not contain control characters", what=what)
    return clean


def parse_severity(text: str) -> Severity:
    try:
        return Severity(text.strip().lower())
    except ValueError:
        raise IncidentError("unknown severity {value}; use one of {allowed}",
                            value=repr(text[:40]),
                            allowed=", ".join(s.value for s in Severity)) from None


def parse_category(text: str) -> Category:
    try:
        return Category(text.strip().lower())
    except ValueError:
        raise IncidentError("unknown category {value}; use one of {allowed}",
                            value=repr(text[:40]),
                            allowed=", ".join(c.value for c in Category)) from None


def parse_status(text: str) -> Status:
    try:
        return Status(text.strip().lower())
    except ValueError:
        raise IncidentError("unknown status {value}; use one of {allowed}",
                            value=repr(text[:40]),
                            allowed=", ".join(s.value for s in Status)) from None


def _tlp(text: str) -> Tlp:
    try:
        return parse_tlp(text)
    except ValueError:
        raise IncidentError("unknown TLP {value}; use clear, green, amber, amber+strict or red",
                            value=repr(text[:40])) from None


def organisations_named(session: Session, names: Iterable[str]) -> list[Organisation]:
    """The member organisations of these names; IncidentError names the first unknown."""
    found: dict[int, Organisation] = {}
    for name in names:
        org = session.scalar(select(Organisation).where(Organisation.name == name.strip()))
        if org is None:
            raise IncidentError("no organisation named {name}", status=404,
                                name=repr(name.strip()[:100]))
        if org.is_hub:
            raise IncidentError("the hub is not a member an incident can affect")
        found[org.id] = org
    if len(found) > MAX_ORGANISATIONS:
        raise IncidentError("an incident affects at most {most} organisations",
                            most=MAX_ORGANISATIONS)
    return list(found.values())


# --- opening an incident -----------------------------------------------------------------


def create(
    session: Session,
    clock: Clock,
    caller: Caller,
    *,
    title: str | None = None,
    severity: str | None = None,
    category: str | None = None,
    organisations: Sequence[str] = (),
    description: str = "",
    tlp: str | None = None,
    source: str | None = None,
    occurred_at: datetime | None = None,
    detected_at: datetime | None = None,
) -> Incident:
    """Open an incident by hand, or from a record (``source``: ``logs-alert:12``,
    ``vulns-alert:3``, ``shared:indicator--…``, ``sensors-finding:7``), whose title,
    severity, category, times, members and indicators are the defaults of the ones given.

    A member opens incidents by hand only, and only for itself."""
    if not caller.may_change:
        raise refuse(session, clock, caller, "create", None, "this needs the submit scope")
    record: SourceRecord | None = None
    if source:
        if not caller.is_hub_staff:
            raise refuse(session, clock, caller, "create", None,
                          "only the hub's staff open incidents from records")
        kind, ref = parse_source(source)
        record = lookup(session, kind, ref, caller.viewer(session))
        opened = session.scalar(select(IncidentLink.incident_id).where(
            IncidentLink.kind == kind.value, IncidentLink.ref == record.ref,
            IncidentLink.origin.is_(True)))
        if opened is not None:
            raise IncidentError("{source} is already incident {id}; link it as evidence "
                                "instead", status=409, source=f"{kind.value}:{record.ref}",
                                id=opened)
    chosen_title = clean_title(title if title is not None else record.title if record else "")
    chosen_severity = parse_severity(severity) if severity else (
        record.severity if record else Severity.MEDIUM)
    chosen_category = parse_category(category) if category else (
        record.category if record else Category.OTHER)
    chosen_tlp = _tlp(tlp) if tlp else (record.tlp if record and record.tlp else Tlp.AMBER)
    if record is not None and record.tlp is not None and chosen_tlp.rank < record.tlp.rank:
        raise IncidentError("{source} is TLP:{tlp}; an incident opened from it is marked at "
                            "least as strictly", source=f"{record.kind.value}:{record.ref}",
                            tlp=record.tlp.value.upper())
    text = clean_text(description or (record.description if record else ""), TEXT_MAX,
                      "a description")
    affected = organisations_named(session, organisations)
    if record is not None:
        known = {o.id for o in affected}
        affected += [session.get_one(Organisation, i) for i in record.organisation_ids
                     if i not in known]
    if record is not None and record.kind is SourceKind.SHARED:
        unable = unable_to_read(session, record.ref, affected)
        if unable:
            raise IncidentError("{names} may not read {source} under its TLP: an incident "
                                "opened from it cannot affect them", names=", ".join(unable),
                                source=f"shared:{record.ref}"[:120])
    if not caller.is_hub_staff:
        if any(o.id != caller.organisation_id for o in affected):
            raise refuse(session, clock, caller, "create", None,
                          "a member opens incidents of its own only")
        affected = [session.get_one(Organisation, caller.organisation_id)]
    now = clock.now()
    occurred = occurred_at or (record.occurred_at if record else None)
    detected = detected_at or (record.detected_at if record else None) or now
    if (occurred and occurred > now) or detected > now:
        raise IncidentError("an incident cannot have occurred or been detected in the future")
    if occurred and occurred > detected:
        raise IncidentError("an incident cannot be detected before it occurred")
    incident = Incident(
        title=chosen_title, description=text, severity=chosen_severity.value,
        category=chosen_category.value, status=Status.NEW.value, tlp=chosen_tlp.value,
        source_kind=record.kind.value if record else SourceKind.MANUAL.value,
        source_ref=record.ref if record else "", occurred_at=occurred, detected_at=detected,
        created_at=now, created_by=caller.actor[:200], updated_at=now)
    session.add(incident)
    session.flush()
    session.add_all([IncidentOrganisation(incident_id=incident.id, organisation_id=o.id)
                     for o in affected])
    append_event(session, clock, caller, incident, EventKind.CREATED, details={
        "title": chosen_title, "severity": chosen_severity.value,
        "category": chosen_category.value, "tlp": chosen_tlp.value,
        "source": f"{record.kind.value}:{record.ref}" if record else "manual",
        "organisations": sorted(o.id for o in affected)})
    if record is not None:
        session.add(IncidentLink(incident_id=incident.id, kind=record.kind.value, ref=record.ref,
                                 origin=True, linked_at=now, linked_by=caller.actor[:200]))
        for indicator_type, value in record.indicators:
            _add_indicator(session, clock, caller, incident, indicator_type, value, quiet=True)
    session.flush()
    return incident


# --- moving, assigning, severity ---------------------------------------------------------


def transition(session: Session, clock: Clock, caller: Caller, incident_id: int, status: str,
               *, note: str = "") -> Incident:
    """Move an incident to ``status`` if ``MOVES`` allows it from where it is."""
    incident = _for_change(session, clock, caller, incident_id, "status", hub_only=True)
    after = parse_status(status)
    before = Status(incident.status)
    text = clean_text(note, NOTE_MAX, "a note")
    if after is before:
        raise IncidentError("incident {id} is already {state}", status=409, id=incident.id,
                            state=before.value)
    if after not in MOVES[before]:
        allowed = ", ".join(sorted(s.value for s in MOVES[before]))
        raise IncidentError("incident {id} is {before}: it can move to {allowed}, not "
                            "{after}", status=409, id=incident.id, before=before.value,
                            allowed=allowed, after=after.value)
    if needs_note(before, after) and not text:
        raise IncidentError("say why in a note: moving from {before} to {after} needs one",
                            before=before.value, after=after.value)
    incident.status = after.value
    append_event(session, clock, caller, incident, EventKind.STATUS, note=text,
           details={"from": before.value, "to": after.value})
    return incident


def acknowledge(session: Session, clock: Clock, caller: Caller, incident_id: int) -> Incident:
    return transition(session, clock, caller, incident_id, Status.ACKNOWLEDGED.value)


def assign(session: Session, clock: Clock, caller: Caller, incident_id: int,
           email: str | None) -> Incident:
    """Give the incident to one of the hub's users (``None``: to no one)."""
    incident = _for_change(session, clock, caller, incident_id, "assign", hub_only=True)
    user: User | None = None
    if email:
        user = session.scalar(select(User).where(User.email == email.strip().lower()[:254]))
        if user is None or user.disabled_at is not None:
            raise IncidentError("no active user with the e-mail address {email}", status=404,
                                email=repr(email.strip()[:80]))
        if not user.role.is_hub_role:
            raise IncidentError("incidents are assigned to the hub's staff, and {email} is "
                                "not one of them", email=repr(user.email))
    new_id = user.id if user else None
    if new_id == incident.assignee_id:
        return incident
    incident.assignee_id = new_id
    append_event(session, clock, caller, incident, EventKind.ASSIGNED,
           details={"user_id": new_id, "user": user.email if user else None})
    return incident


def set_severity(session: Session, clock: Clock, caller: Caller, incident_id: int,
                 severity: str, *, note: str = "") -> Incident:
    incident = _for_change(session, clock, caller, incident_id, "severity", hub_only=True)
    after = parse_severity(severity)
    before = incident.severity
    if after.value == before:
        return incident
    incident.severity = after.value
    append_event(session, clock, caller, incident, EventKind.SEVERITY,
           note=clean_text(note, NOTE_MAX, "a note"), details={"from": before, "to": after.value})
    return incident


# --- notes, tasks, evidence, indicators --------------------------------------------------


def add_note(session: Session, clock: Clock, caller: Caller, incident_id: int,
             text: str) -> IncidentEvent:
    incident = _for_change(session, clock, caller, incident_id, "note", hub_only=False)
    clean = clean_text(text, NOTE_MAX, "a note")
    if not clean:
        raise IncidentError("a note needs some text")
    return append_event(session, clock, caller, incident, EventKind.NOTE, note=clean)


def add_task(session: Session, clock: Clock, caller: Caller, incident_id: int,
             title: str) -> IncidentTask:
    incident = _for_change(session, clock, caller, incident_id, "task", hub_only=False)
    task = IncidentTask(incident_id=incident.id, title=clean_title(title),
                        created_at=clock.now(), created_by=caller.actor[:200])
    session.add(task)
    session.flush()
    append_event(session, clock, caller, incident, EventKind.TASK_ADDED,
           details={"task": task.id, "title": task.title})
    return task


def complete_task(session: Session, clock: Clock, caller: Caller, incident_id: int,
                  task_id: int) -> IncidentTask:
    incident = _for_change(session, clock, caller, incident_id, "task", hub_only=False)
    task = session.get(IncidentTask, task_id)
    if task is None or task.incident_id != incident.id:
        raise IncidentError("incident {id} has no task {task}", status=404, id=incident.id,
                            task=task_id)
    if task.done_at is not None:
        raise IncidentError("task {task} is already done", status=409, task=task_id)
    task.done_at, task.done_by = clock.now(), caller.actor[:200]
    append_event(session, clock, caller, incident, EventKind.TASK_DONE,
           details={"task": task.id, "title": task.title})
    return task


def _add_indicator(session: Session, clock: Clock, caller: Caller, incident: Incident,
                   kind: str, value: str, *, quiet: bool = False) -> IncidentIndicator | None:
    try:
        clean = normalise_indicator(kind.strip().lower(), value)
    except ValueError as error:
        if quiet:
            return None
        raise IncidentError("not a valid indicator: {reason}", reason=str(error)) from None
    held = session.scalar(select(IncidentIndicator).where(
        IncidentIndicator.incident_id == incident.id, IncidentIndicator.type == kind.lower(),
        IncidentIndicator.value == clean))
    if held is not None:
        if quiet:
            return held
        raise IncidentError("incident {id} already has the indicator {value}", status=409,
                            id=incident.id, value=clean[:200])
    count = len(indicators(session, incident))
    if count >= MAX_INDICATORS:
        raise IncidentError("an incident holds at most {most} indicators", most=MAX_INDICATORS)
    row = IncidentIndicator(incident_id=incident.id, type=kind.strip().lower(), value=clean,
                            added_at=clock.now(), added_by=caller.actor[:200])
    session.add(row)
    session.flush()
    append_event(session, clock, caller, incident, EventKind.INDICATOR,
           details={"type": row.type, "value": clean[:500]})
    return row


def add_indicator(session: Session, clock: Clock, caller: Caller, incident_id: int, kind: str,
                  value: str) -> IncidentIndicator:
    incident = _for_change(session, clock, caller, incident_id, "indicator", hub_only=False)
    row = _add_indicator(session, clock, caller, incident, kind, value)
    assert row is not None  # not quiet: a bad one raised
    return row


def link_evidence(session: Session, clock: Clock, caller: Caller, incident_id: int, kind: str,
                  ref: str) -> IncidentLink:
    """Link a record (the hub's staff) or a free reference (anyone who may change it)."""
    try:
        what = EvidenceKind(kind.strip().lower())
    except ValueError:
        raise IncidentError("unknown evidence kind {value}; use one of {allowed}",
                            value=repr(kind[:40]),
                            allowed=", ".join(k.value for k in EvidenceKind)) from None
    incident = _for_change(session, clock, caller, incident_id, "evidence",
                           hub_only=what is not EvidenceKind.REFERENCE)
    if what is EvidenceKind.REFERENCE:
        clean = ref.strip()
        if not is_clean_line(clean, min_chars=1, max_chars=REF_MAX):
            raise IncidentError("a reference is 1 to {most} characters on one line",
                                most=REF_MAX)
    else:
        clean = lookup(session, SourceKind(what.value), ref.strip()[:REF_MAX],
                       caller.viewer(session)).ref
    if session.scalar(select(IncidentLink.id).where(
            IncidentLink.incident_id == incident.id, IncidentLink.kind == what.value,
            IncidentLink.ref == clean)) is not None:
        raise IncidentError("incident {id} already links {kind}:{ref}", status=409,
                            id=incident.id, kind=what.value, ref=clean[:200])
    link = IncidentLink(incident_id=incident.id, kind=what.value, ref=clean, origin=False,
                        linked_at=clock.now(), linked_by=caller.actor[:200])
    session.add(link)
    session.flush()
    append_event(session, clock, caller, incident, EventKind.EVIDENCE,
           details={"kind": what.value, "ref": clean})
    return link


# --- reading -----------------------------------------------------------------------------


def list_incidents(session: Session, caller: Caller, *, status: str | None = None,
                   open_only: bool = False, limit: int = 500) -> list[Incident]:
    """The incidents ``caller`` may see, newest first."""
    stmt = select(Incident).where(visible_clause(caller))
    if status:
        stmt = stmt.where(Incident.status == parse_status(status).value)
    if open_only:
        stmt = stmt.where(Incident.status.in_([s.value for s in Status if s.is_open]))
    return list(session.scalars(stmt.order_by(Incident.id.desc()).limit(max(1, min(limit, 5000)))))


def events(session: Session, incident: Incident) -> list[IncidentEvent]:
    return list(session.scalars(select(IncidentEvent).where(
        IncidentEvent.incident_id == incident.id).order_by(IncidentEvent.id)))


def tasks(session: Session, incident: Incident) -> list[IncidentTask]:
    return list(session.scalars(select(IncidentTask).where(
        IncidentTask.incident_id == incident.id).order_by(IncidentTask.id)))


def indicators(session: Session, incident: Incident) -> list[IncidentIndicator]:
    return list(session.scalars(select(IncidentIndicator).where(
        IncidentIndicator.incident_id == incident.id).order_by(IncidentIndicator.id)))


def links(session: Session, incident: Incident) -> list[IncidentLink]:
    return list(session.scalars(select(IncidentLink).where(
        IncidentLink.incident_id == incident.id).order_by(IncidentLink.id)))


def affected(session: Session, caller: Caller, incident: Incident) -> tuple[list[str], int]:
    """The affected organisations' names ``caller`` may know, and how many others there
    are: a member learns only of itself, never which other members are affected."""
    rows = list(session.execute(
        select(Organisation.id, Organisation.name).join(
            IncidentOrganisation, IncidentOrganisation.organisation_id == Organisation.id)
        .where(IncidentOrganisation.incident_id == incident.id).order_by(Organisation.name)))
    if caller.is_hub_staff:
        return [name for _, name in rows], 0
    own = [name for org_id, name in rows if org_id == caller.organisation_id]
    return own, len(rows) - len(own)


def affected_ids(session: Session, incident: Incident) -> list[int]:
    return list(session.scalars(select(IncidentOrganisation.organisation_id).where(
        IncidentOrganisation.incident_id == incident.id).order_by(
        IncidentOrganisation.organisation_id)))


def assignee_email(session: Session, incident: Incident) -> str | None:
    if incident.assignee_id is None:
        return None
    user = session.get(User, incident.assignee_id)
    return user.email if user else None
