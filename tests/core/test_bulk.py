"""Bulk writes (COPY on PostgreSQL, executemany on SQLite) store exactly what an ORM insert
would, hostile text included, in binary and in text form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Boolean, Column, Float, Integer, MetaData, String, Table, Text, select
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from renkei.core.bulk import _defaults_given, insert_many, insert_plain, reserve_ids
from renkei.core.models import AuditEvent, Organisation

TOKYO = timezone(timedelta(hours=9))
HOSTILE = ["tab\there", "new\nline\r\n", "back\\slash \\N \\.", "'quote\" ;--", "日本語 🛡",
           "", " ", "x" * 200]


def test_rows_with_typed_values_go_in_as_the_orm_would_write_them(db_session: Session) -> None:
    """Organisations: integers, strings, an aware time, a boolean (COPY's binary form)."""
    at = datetime(2026, 4, 1, 18, 30, 15, 123456, tzinfo=TOKYO)
    insert_many(db_session, Organisation, [
        {"name": name, "created_at": at, "is_hub": False} for name in HOSTILE])
    rows = db_session.execute(select(Organisation.name, Organisation.created_at)
                              .where(Organisation.name.in_(HOSTILE))).all()
    assert sorted(name for name, _ in rows) == sorted(HOSTILE)
    assert {when for _, when in rows} == {at.astimezone(UTC)}


def test_json_columns_go_in_as_json(db_session: Session) -> None:
    """Audit events have a JSON column: COPY's text form, the values bound by their types."""
    at = datetime(2026, 4, 1, 9, tzinfo=UTC)
    details = [{"k": text, "n": [1, 2.5, None], "nested": {"b": True}} for text in HOSTILE]
    insert_many(db_session, AuditEvent, [
        {"at": at, "actor": "bulk-test", "action": "test.bulk", "target": text, "source": "t",
         "details": d} for text, d in zip(HOSTILE, details, strict=True)])
    rows = db_session.execute(select(AuditEvent.target, AuditEvent.details)
                              .where(AuditEvent.actor == "bulk-test")).all()
    assert sorted(rows, key=lambda r: r[0]) == sorted(zip(HOSTILE, details, strict=True),
                                                      key=lambda r: r[0])


def test_a_naive_time_is_refused_as_by_the_orm(db_session: Session) -> None:
    with pytest.raises(StatementError, match="naive"):
        insert_many(db_session, Organisation, [
            {"name": "naive", "created_at": datetime(2026, 4, 1), "is_hub": False}])


def test_a_broken_constraint_is_sqlalchemys_error(db_session: Session) -> None:
    at = datetime(2026, 4, 1, tzinfo=UTC)
    insert_many(db_session, Organisation, [{"name": "plain-org", "created_at": at,
                                            "is_hub": False}])
    org = db_session.scalars(select(Organisation.id).where(Organisation.name == "plain-org")).one()
    with pytest.raises(IntegrityError), db_session.begin_nested():
        insert_many(db_session, Organisation, [{"name": "plain-org", "created_at": at,
                                                "is_hub": False}])
    assert db_session.scalars(select(Organisation.id)
                              .where(Organisation.name == "plain-org")).all() == [org]


PLAIN = Table("bulk_test_plain", MetaData(), Column("id", Integer, primary_key=True),
              Column("n", Integer), Column("x", Float), Column("s", String(200)),
              Column("t", Text, nullable=True), Column("b", Boolean))


def test_plain_rows(db_session: Session) -> None:
    """Plain values (ints, floats, strings, None, booleans), as the driver takes them."""
    PLAIN.metadata.create_all(db_session.connection())  # in the test's transaction
    rows = [(k, -(2**31) + k, 0.1 * k, text, None if k % 2 else text, bool(k % 2))
            for k, text in enumerate(HOSTILE, start=1)]
    insert_plain(db_session, PLAIN, ("id", "n", "x", "s", "t", "b"), rows)
    insert_plain(db_session, PLAIN, ("id",), [])
    assert [tuple(r) for r in db_session.execute(select(PLAIN).order_by(PLAIN.c.id))] == rows


def test_ids_reserved_from_the_sequence(db_session: Session, dialect: str) -> None:
    if dialect != "postgresql":
        pytest.skip("ids are reserved from a sequence on PostgreSQL only")
    ids = reserve_ids(db_session, Organisation, 5)
    assert len(set(ids)) == 5
    assert ids == sorted(ids)
    assert reserve_ids(db_session, Organisation, 0) == []
    at = datetime(2026, 4, 1, tzinfo=UTC)
    insert_many(db_session, Organisation, [
        {"id": i, "name": f"reserved-{i}", "created_at": at, "is_hub": False} for i in ids])
    later = Organisation(name="after-reserved", created_at=at)
    db_session.add(later)
    db_session.flush()
    assert later.id > ids[-1], "the sequence moved past the reserved ids"
    assert db_session.scalars(select(Organisation.id).where(
        Organisation.name.startswith("reserved-")).order_by(Organisation.id)).all() == ids


def test_rows_that_leave_out_a_python_default_are_refused() -> None:
    """COPY would store NULL (or fail) where SQLite's INSERT applies the default."""
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True),
                  Column("n", Integer, default=7), Column("m", Integer))
    _defaults_given(table, ["n", "m"])
    with pytest.raises(ValueError, match="must give n"):
        _defaults_given(table, ["m"])
