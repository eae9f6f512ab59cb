"""The history tables refuse UPDATE and DELETE in the database itself (migration 0012), for
code that goes round the models too: raw SQL, a cascade from a deleted parent."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from renkei.core import audit
from renkei.core.time import FixedClock

HISTORY = ("audit_events", "submission_events", "incident_events", "plan_status_events",
           "plan_consultation_events", "vuln_cvd_events")


def test_an_audit_event_is_never_changed_nor_deleted(db_session: Session,
                                                     clock: FixedClock) -> None:
    audit.record(db_session, clock, action="test.recorded", actor="local:test")
    db_session.flush()
    for statement in ("UPDATE audit_events SET actor = 'someone else'",
                      "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="history"), db_session.begin_nested():
            db_session.execute(text(statement))
    assert db_session.scalar(text("SELECT count(*) FROM audit_events")) == 1


@pytest.mark.parametrize("table", HISTORY)
def test_every_history_table_has_its_guard(db_session: Session, table: str) -> None:
    """An empty table's guard shows only in the catalogue: each table names its trigger."""
    if db_session.get_bind().dialect.name == "postgresql":
        found = db_session.scalars(text(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = CAST(:table AS regclass)"),
            {"table": table}).all()
        assert f"{table}_append_only" in found
    else:
        found = db_session.scalars(text(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :table"),
            {"table": table}).all()
        assert {f"{table}_no_update", f"{table}_no_delete"} <= set(found)


def test_deleting_an_incident_cannot_take_its_events_along(db_session: Session,
                                                           clock: FixedClock) -> None:
    from renkei.core import orgs
    from renkei.incidents import service
    from renkei.incidents.service import Caller

    orgs.add(db_session, clock, "Hub", hub=True)
    orgs.add(db_session, clock, "Acme Bank")
    incident = service.create(db_session, clock, Caller.local("local:test"), title="Phishing",
                              organisations=["Acme Bank"])
    db_session.flush()
    with pytest.raises(DBAPIError, match="history"), db_session.begin_nested():
        db_session.execute(text("DELETE FROM incidents WHERE id = :id"), {"id": incident.id})
    assert db_session.scalar(text("SELECT count(*) FROM incident_events")) == 1
