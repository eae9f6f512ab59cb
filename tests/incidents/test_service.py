"""Opening and handling incidents: the append-only event log, moves refused with a reason,
SLA, metrics from events, who may see and change what, and hostile input."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from renkei.core.models import AuditEvent
from renkei.core.time import FixedClock
from renkei.incidents import metrics, service
from renkei.incidents.errors import IncidentError
from renkei.incidents.model import Sla
from renkei.incidents.store import Incident, IncidentEvent
from tests.incidents.conftest import World


def open_incident(db: Session, world: World, *, severity: str = "high",
                  orgs: tuple[str, ...] = ("Acme Bank",), title: str = "Phishing wave") -> Incident:
    return service.create(db, world.clock, world.staff, title=title, severity=severity,
                          category="fraud", organisations=list(orgs))


def kinds(db: Session, incident: Incident) -> list[str]:
    return [e.kind for e in service.events(db, incident)]


def test_an_incident_is_opened_with_a_created_event(db_session: Session, world: World) -> None:
    incident = open_incident(db_session, world, orgs=("Acme Bank", "Peer Bank", "Acme Bank"))
    assert (incident.status, incident.severity, incident.tlp) == ("new", "high", "amber")
    assert incident.detected_at == world.clock.now()
    (created,) = service.events(db_session, incident)
    assert (created.kind, created.status, created.actor) == ("created", "new", world.staff.actor)
    assert service.affected(db_session, world.staff, incident) == (["Acme Bank", "Peer Bank"], 0)
    audit = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "incidents.created"))
    assert audit is not None
    assert audit.target == f"incident:{incident.id}"


def test_the_event_log_is_append_only(db_session: Session, world: World) -> None:
    incident = open_incident(db_session, world)
    (created,) = service.events(db_session, incident)
    created.note = "rewritten history"
    with pytest.raises(PermissionError, match="never changed"):
        db_session.flush()
    db_session.rollback()


def test_the_event_log_cannot_be_deleted_from(db_session: Session, world: World) -> None:
    incident = open_incident(db_session, world)
    db_session.delete(service.events(db_session, incident)[0])
    with pytest.raises(PermissionError):
        db_session.flush()
    db_session.rollback()


def test_a_whole_life_is_in_the_events(db_session: Session, world: World) -> None:
    clock = world.clock
    incident = open_incident(db_session, world)
    start = clock.at
    steps = [(10, "acknowledged"), (30, "investigating"), (90, "contained"), (240, "resolved"),
             (300, "closed")]
    for minutes, status in steps:
        clock.at = start + timedelta(minutes=minutes)
        service.transition(db_session, clock, world.staff, incident.id, status)
    service.assign(db_session, clock, world.staff, incident.id, "analyst@hub.example")
    assert kinds(db_session, incident) == ["created", *["status"] * 5, "assigned"]
    assert [e.status for e in service.events(db_session, incident)][1:6] == [s for _, s in steps]
    timing = metrics.timings_of(db_session, [incident])[incident.id]
    assert (timing.acknowledge, timing.resolve) == (600.0, 240 * 60.0)


def test_moves_not_allowed_are_refused_with_the_allowed_ones(db_session: Session,
                                                             world: World) -> None:
    incident = open_incident(db_session, world)
    with pytest.raises(IncidentError, match="it can move to acknowledged, closed, not resolved"):
        service.transition(db_session, world.clock, world.staff, incident.id, "resolved")
    with pytest.raises(IncidentError, match="already new"):
        service.transition(db_session, world.clock, world.staff, incident.id, "new")
    with pytest.raises(IncidentError, match="unknown status 'done'"):
        service.transition(db_session, world.clock, world.staff, incident.id, "done")
    with pytest.raises(IncidentError, match="needs one"):
        service.transition(db_session, world.clock, world.staff, incident.id, "closed")
    closed = service.transition(db_session, world.clock, world.staff, incident.id, "closed",
                                note="duplicate of #1")
    assert closed.status == "closed"
    with pytest.raises(IncidentError, match="needs one"):
        service.transition(db_session, world.clock, world.staff, incident.id, "investigating")
    assert kinds(db_session, incident) == ["created", "status"]


def test_only_hub_users_are_assigned(db_session: Session, world: World) -> None:
    from renkei.core import members
    from renkei.core.models import Role
    from tests.incidents.conftest import PASSWORD

    incident = open_incident(db_session, world)
    members.add_user(db_session, world.clock, organisation=world.acme,
                     email="it@acme.example", role=Role.MEMBER_SUBMITTER, password=PASSWORD)
    with pytest.raises(IncidentError, match="not one of them"):
        service.assign(db_session, world.clock, world.staff, incident.id, "it@acme.example")
    with pytest.raises(IncidentError, match="no active user"):
        service.assign(db_session, world.clock, world.staff, incident.id, "ghost@hub.example")
    service.assign(db_session, world.clock, world.staff, incident.id, "ANALYST@hub.example")
    service.assign(db_session, world.clock, world.staff, incident.id, "analyst@hub.example")
    assert service.assignee_email(db_session, incident) == "analyst@hub.example"
    assert kinds(db_session, incident).count("assigned") == 1  # the same again: no event


def test_tasks_notes_indicators_and_evidence(db_session: Session, world: World) -> None:
    incident = open_incident(db_session, world)
    staff, clock = world.staff, world.clock
    task = service.add_task(db_session, clock, staff, incident.id, "Reset the mail passwords")
    service.complete_task(db_session, clock, staff, incident.id, task.id)
    with pytest.raises(IncidentError, match="already done"):
        service.complete_task(db_session, clock, staff, incident.id, task.id)
    service.add_note(db_session, clock, staff, incident.id, "Called Acme's CSIRT.\nThey confirm.")
    service.add_indicator(db_session, clock, staff, incident.id, "domain", "Evil.Example")
    with pytest.raises(IncidentError, match=r"already has the indicator evil\.example"):
        service.add_indicator(db_session, clock, staff, incident.id, "domain", "evil.example")
    with pytest.raises(IncidentError, match="not a valid indicator"):
        service.add_indicator(db_session, clock, staff, incident.id, "ipv4", "999.1.1.1")
    service.link_evidence(db_session, clock, staff, incident.id, "reference", "ticket #4711")
    with pytest.raises(IncidentError, match="no logs-alert 999"):
        service.link_evidence(db_session, clock, staff, incident.id, "logs-alert", "999")
    assert kinds(db_session, incident) == ["created", "task_added", "task_done", "note",
                                           "indicator", "evidence"]


def test_overdue_and_metrics(db_session: Session, world: World) -> None:
    clock = world.clock
    start = clock.at
    critical = open_incident(db_session, world, severity="critical", title="Ransomware")
    low = open_incident(db_session, world, severity="low", title="Port scan")
    quick = open_incident(db_session, world, severity="high", title="Defacement")
    clock.at = start + timedelta(minutes=5)
    service.acknowledge(db_session, clock, world.staff, quick.id)
    clock.at = start + timedelta(minutes=50)
    service.transition(db_session, clock, world.staff, quick.id, "resolved")
    clock.at = start + timedelta(minutes=20)  # past critical's 15 minutes to acknowledge
    sla = Sla.default()
    late = metrics.overdue(db_session, world.staff, sla, clock.now())
    assert [(i.id, view.late) for i, view in late] == [(critical.id, ("acknowledge",))]
    clock.at = start + timedelta(hours=5)  # past critical's 4 hours to resolve too
    assert metrics.overdue(db_session, world.staff, sla, clock.now())[0][1].late == (
        "acknowledge", "resolve")
    found = metrics.metrics(db_session, world.staff, sla, clock.now())
    assert found["incidents"] == 3
    assert found["open"] == 2
    assert found["by_severity"] == {"critical": 1, "high": 1, "medium": 0, "low": 1}
    assert found["time_to_acknowledge"] == {"count": 1, "mean": 300.0, "median": 300.0,
                                            "within_sla": 1}
    assert found["time_to_resolve"]["median"] == 3000.0
    assert found["overdue"] == {"acknowledge": 1, "resolve": 1}
    assert low.id not in [i.id for i, _ in metrics.overdue(db_session, world.staff, sla,
                                                          clock.now())]


# --- who sees and changes what -------------------------------------------------------


def test_members_see_only_their_incidents_everywhere(db_session: Session, world: World) -> None:
    acme_only = open_incident(db_session, world, title="Acme only")
    both = open_incident(db_session, world, orgs=("Acme Bank", "Peer Bank"), title="Both")
    peer, acme = world.member(world.peer), world.member(world.acme)
    assert [i.title for i in service.list_incidents(db_session, peer)] == ["Both"]
    with pytest.raises(IncidentError, match=f"no incident {acme_only.id}") as refused:
        service.get(db_session, peer, acme_only.id)
    assert refused.value.status == 404
    assert service.affected(db_session, peer, both) == (["Peer Bank"], 1)
    assert metrics.metrics(db_session, peer, Sla.default(), world.clock.now())["incidents"] == 1
    assert metrics.metrics(db_session, acme, Sla.default(), world.clock.now())["incidents"] == 2
    loner = world.member(world.loner)
    assert service.list_incidents(db_session, loner) == []
    assert metrics.overdue(db_session, loner, Sla.default(),
                           world.clock.now() + timedelta(days=30)) == []


def test_a_member_cannot_change_another_members_incident(db_session: Session,
                                                         world: World) -> None:
    incident = open_incident(db_session, world)
    peer = world.member(world.peer)
    for change in (
        lambda: service.add_note(db_session, world.clock, peer, incident.id, "mine now"),
        lambda: service.transition(db_session, world.clock, peer, incident.id, "acknowledged"),
        lambda: service.add_indicator(db_session, world.clock, peer, incident.id, "ipv4",
                                      "192.0.2.1"),
    ):
        with pytest.raises(IncidentError, match="no incident") as refused:
            change()
        assert refused.value.status == 404
    assert kinds(db_session, incident) == ["created"]


def test_what_an_affected_member_may_do(db_session: Session, world: World) -> None:
    incident = open_incident(db_session, world)
    acme = world.member(world.acme)
    service.add_note(db_session, world.clock, acme, incident.id, "We isolated the host.")
    service.add_indicator(db_session, world.clock, acme, incident.id, "ipv4", "192.0.2.1")
    with pytest.raises(IncidentError, match="only the hub's staff") as refused:
        service.transition(db_session, world.clock, acme, incident.id, "acknowledged")
    assert refused.value.status == 403
    reader = world.member(world.acme, "read")
    with pytest.raises(IncidentError, match="submit scope"):
        service.add_note(db_session, world.clock, reader, incident.id, "hello")
    refusals = db_session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action.like("incidents.%.refused")))
    assert refusals == 2


def test_a_member_opens_incidents_for_itself_only(db_session: Session, world: World) -> None:
    acme = world.member(world.acme)
    own = service.create(db_session, world.clock, acme, title="Our web server was defaced",
                         severity="high", category="intrusions")
    assert service.affected(db_session, world.staff, own) == (["Acme Bank"], 0)
    with pytest.raises(IncidentError, match="of its own only"):
        service.create(db_session, world.clock, acme, title="x", organisations=["Peer Bank"])
    with pytest.raises(IncidentError, match="from records"):
        service.create(db_session, world.clock, acme, source="logs-alert:1")


# --- hostile input -------------------------------------------------------------------


@pytest.mark.parametrize(("fields", "message"), [
    ({"title": "x" * 301}, "1 to 300 characters"),
    ({"title": ""}, "1 to 300 characters"),
    ({"title": "evil\x1b[31m red"}, "without control characters"),
    ({"title": "ok", "description": "a\u202eb"}, "control characters"),
    ({"title": "ok", "description": "x" * 20_001}, "at most 20000"),
    ({"title": "ok", "organisations": ["Nobody Inc"]}, "no organisation named 'Nobody Inc'"),
    ({"title": "ok", "organisations": ["Hub"]}, "the hub is not a member"),
    ({"title": "ok", "severity": "apocalyptic"}, "unknown severity"),
    ({"title": "ok", "category": "spam"}, "unknown category"),
    ({"title": "ok", "tlp": "purple"}, "unknown TLP"),
    ({"title": "ok", "source": "logs-alert"}, "KIND:ID"),
    ({"title": "ok", "source": "logs-alert:1 OR 1=1"}, "numbered"),
])
def test_hostile_input_is_refused(db_session: Session, world: World, fields: dict[str, object],
                                  message: str) -> None:
    with pytest.raises(IncidentError, match=message):
        service.create(db_session, world.clock, world.staff, **fields)  # type: ignore[arg-type]
    assert db_session.scalar(select(func.count()).select_from(Incident)) == 0


def test_injection_text_is_kept_as_text(db_session: Session, world: World) -> None:
    title = "'); DROP TABLE incidents; -- <script>alert(1)</script> [bold]x[/bold]"
    incident = open_incident(db_session, world, title=title)
    db_session.expire_all()
    assert db_session.get_one(Incident, incident.id).title == title
    service.add_note(db_session, world.clock, world.staff, incident.id, "%s %(x)s {0} \\x00")
    assert service.events(db_session, incident)[-1].note == "%s %(x)s {0} \\x00"


def test_times_in_the_future_or_out_of_order_are_refused(db_session: Session,
                                                         world: World) -> None:
    now = world.clock.now()
    with pytest.raises(IncidentError, match="future"):
        service.create(db_session, world.clock, world.staff, title="x",
                       detected_at=now + timedelta(hours=1))
    with pytest.raises(IncidentError, match="before it occurred"):
        service.create(db_session, world.clock, world.staff, title="x",
                       occurred_at=now - timedelta(hours=1), detected_at=now - timedelta(hours=2))


def test_events_survive_in_order_across_sessions(db_session: Session, world: World) -> None:
    incident = open_incident(db_session, world)
    service.add_note(db_session, FixedClock(world.clock.now()), world.staff, incident.id, "one")
    db_session.expire_all()
    rows = db_session.scalars(select(IncidentEvent).where(
        IncidentEvent.incident_id == incident.id).order_by(IncidentEvent.id)).all()
    assert [r.kind for r in rows] == ["created", "note"]
