"""Organisations and the audit trail their changes leave."""

from __future__ import annotations

from datetime import UTC

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from renkei.core import audit, orgs
from renkei.core.models import AuditEvent, Organisation
from renkei.core.time import FixedClock

HOSTILE_NAMES = [
    "'; DROP TABLE organisations; --",
    'Robert"); DELETE FROM audit_events; --',
    "<script>alert(1)</script>",
    "{name} %s %(x)s \\x00 \\n",
    "内閣サイバーセキュリティセンター（NISC）",
    "🛡️ ＩＳＡＣ　全角",
    "a" * 200,
]


def test_add_writes_an_audit_event(db_session: Session, clock: FixedClock) -> None:
    org = orgs.add(db_session, clock, "JPCERT/CC")
    db_session.commit()

    events = audit.recent(db_session)
    assert len(events) == 1
    event = events[0]
    assert event.action == "orgs.add"
    assert event.target == f"organisation:{org.id}"
    assert event.details == {"name": "JPCERT/CC"}
    assert event.at.replace(tzinfo=event.at.tzinfo or UTC) == clock.now()
    assert event.actor.startswith("local:")
    assert event.source == "cli"


def test_add_trims_the_name(db_session: Session, clock: FixedClock) -> None:
    org = orgs.add(db_session, clock, "  IPA \t")
    assert org.name == "IPA"
    assert orgs.require(db_session, "IPA") is org


@pytest.mark.parametrize("name", ["", "   ", "\t\n", "a" * 201])
def test_empty_or_overlong_name_is_rejected(
    db_session: Session, clock: FixedClock, name: str
) -> None:
    with pytest.raises(orgs.OrganisationError, match="1 to 200 characters"):
        orgs.add(db_session, clock, name)
    assert db_session.scalar(select(func.count(AuditEvent.id))) == 0


@pytest.mark.parametrize("again", ["NICT", " NICT "])
def test_duplicate_name_is_rejected(db_session: Session, clock: FixedClock, again: str) -> None:
    orgs.add(db_session, clock, "NICT")
    with pytest.raises(orgs.OrganisationError, match="already exists"):
        orgs.add(db_session, clock, again)
    assert len(orgs.list_all(db_session)) == 1
    assert len(audit.recent(db_session)) == 1


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_are_stored_verbatim(
    db_session: Session, clock: FixedClock, name: str
) -> None:
    org = orgs.add(db_session, clock, name)
    db_session.commit()
    db_session.expire_all()

    stored = db_session.scalars(select(Organisation.name)).all()
    assert stored == [name]
    assert orgs.require(db_session, name).id == org.id
    assert audit.recent(db_session)[0].details == {"name": name}


def test_nul_in_a_name_is_rejected_on_every_database(
    db_session: Session, clock: FixedClock
) -> None:
    with pytest.raises(orgs.OrganisationError):
        orgs.add(db_session, clock, "evil\x00name")


def test_timestamps_come_back_timezone_aware(
    db_session: Session, clock: FixedClock, dialect: str, request: pytest.FixtureRequest
) -> None:
    org = orgs.add(db_session, clock, "CISA")
    db_session.commit()
    db_session.expire_all()
    assert org.created_at == clock.now()
    assert org.created_at.utcoffset() is not None


def test_require_explains_how_to_add(db_session: Session) -> None:
    with pytest.raises(orgs.OrganisationError, match="renkei orgs add"):
        orgs.require(db_session, "nobody")


def test_list_all_is_sorted_by_name(db_session: Session, clock: FixedClock) -> None:
    for name in ("b", "c", "a"):
        orgs.add(db_session, clock, name)
    assert [o.name for o in orgs.list_all(db_session)] == ["a", "b", "c"]


def test_recent_audit_events_newest_first_and_limited(
    db_session: Session, clock: FixedClock
) -> None:
    for n in range(5):
        audit.record(db_session, clock, action=f"test.{n}", actor="api:alice", source="api")
    db_session.flush()
    assert [e.action for e in audit.recent(db_session, limit=3)] == [
        "test.4", "test.3", "test.2"
    ]


def test_audit_event_may_name_an_organisation(db_session: Session, clock: FixedClock) -> None:
    org = orgs.add(db_session, clock, "MIC")
    event = audit.record(
        db_session, clock, action="orgs.note", organisation_id=org.id, details={"k": [1, "二"]}
    )
    db_session.commit()
    db_session.expire_all()
    stored = db_session.get_one(AuditEvent, event.id)
    assert stored.details == {"k": [1, "二"]}
    assert stored.organisation_id == org.id
