"""Tables of the logs domain and the queries on them; only this module writes them."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from renkei.core.models import Base
from renkei.logs.model import Finding


class LogSource(Base):
    """A log file as renkei knows it: identified by its organisation and its first line, so
    a grown or copied file is recognised and its old lines are not stored again."""

    __tablename__ = "log_sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(Text)
    format: Mapped[str] = mapped_column(String(20))
    first_seen: Mapped[datetime]
    last_scanned: Mapped[datetime]
    lines: Mapped[int] = mapped_column(Integer, default=0)
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"), nullable=True
    )


class LogAlert(Base):
    """A stored finding; (source, line, rule) is unique, so re-scans add nothing twice."""

    __tablename__ = "log_alerts"
    __table_args__ = (UniqueConstraint("source_id", "line", "rule", name="uq_log_alerts_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("log_sources.id", ondelete="CASCADE"))
    line: Mapped[int] = mapped_column(Integer)
    rule: Mapped[str] = mapped_column(String(120))
    category: Mapped[str] = mapped_column(String(40), index=True)
    severity: Mapped[str] = mapped_column(String(20))
    src: Mapped[str] = mapped_column(String(100), index=True)
    seen_at: Mapped[datetime | None] = mapped_column(index=True, nullable=True)
    method: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(Text)
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    fragment: Mapped[str] = mapped_column(Text)
    field: Mapped[str] = mapped_column(String(20))
    engine: Mapped[str] = mapped_column(String(20))
    succeeded: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]


def upsert_source(
    session: Session, *, fingerprint: str, name: str, fmt: str, lines: int, at: datetime,
    organisation_id: int | None, retried: bool = False,
) -> LogSource:
    """The organisation's log that begins with ``fingerprint`` (see ``read.fingerprint``),
    made if it has none. Only that organisation's logs are matched: two members' logs may
    well begin alike, and one's scan must never add alerts to, or rename, the other's.

    ``fingerprint`` is unique across organisations, so the first log to begin so keeps it
    as it is, and another organisation's is stored under ``scoped_fingerprint``."""
    scoped = scoped_fingerprint(fingerprint, organisation_id)
    source = session.scalar(
        select(LogSource)
        .where(LogSource.fingerprint.in_((fingerprint, scoped)),
               LogSource.organisation_id == organisation_id)  # IS NULL for None
        .order_by(LogSource.id).limit(1))
    if source is None:
        taken = session.scalar(select(LogSource.id).where(LogSource.fingerprint == fingerprint))
        source = LogSource(fingerprint=fingerprint if taken is None else scoped,
                           name=_text(name, MAX_TEXT), format=fmt, first_seen=at,
                           last_scanned=at, lines=lines, organisation_id=organisation_id)
        try:
            with session.begin_nested():
                session.add(source)
                session.flush()
        except IntegrityError:
            if retried:
                raise
            # a parallel first scan of a log that begins alike took the key first: look again
            return upsert_source(session, fingerprint=fingerprint, name=name, fmt=fmt,
                                 lines=lines, at=at, organisation_id=organisation_id,
                                 retried=True)
    else:
        source.name = _text(name, MAX_TEXT)
        source.last_scanned = at
        source.lines = max(source.lines, lines)
    return source


def scoped_fingerprint(fingerprint: str, organisation_id: int | None) -> str:
    """The key of a log whose plain fingerprint another organisation's log holds already:
    a hash of the organisation and the fingerprint (the console's uploads have keyed such
    logs so from the start, so the logs they stored keep matching)."""
    return hashlib.sha256(f"{organisation_id}:{fingerprint}".encode()).hexdigest()


MAX_TEXT = 4096


def _text(value: str, limit: int) -> str:
    """Bounded, and without NUL, which PostgreSQL's text type refuses."""
    return value[:limit].replace("\x00", "\\x00")


def insert_alerts(session: Session, source_id: int, findings: list[Finding], at: datetime) -> int:
    """Insert findings, skipping those already stored; returns how many were new."""
    if not findings:
        return 0
    rows = [
        {
            "source_id": source_id,
            "line": f.line,
            "rule": _text(f.rule, 120),
            "category": str(f.category),
            "severity": str(f.severity),
            "src": _text(f.src, 100),
            "seen_at": f.time,
            "method": _text(f.method, 40),
            "target": _text(f.target, MAX_TEXT),
            "status": f.status,
            "size": f.size if f.size is None or f.size < 2**31 else 2**31 - 1,
            "fragment": _text(f.fragment, MAX_TEXT),
            "field": _text(f.field, 20),
            "engine": _text(f.engine, 20),
            "succeeded": f.succeeded,
            "reason": _text(f.reason_text, MAX_TEXT),
            "created_at": at,
        }
        for f in findings
    ]
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    before = count_alerts(session, source_id)
    for start in range(0, len(rows), 2000):
        stmt = insert(LogAlert).values(rows[start : start + 2000])
        session.execute(stmt.on_conflict_do_nothing(index_elements=["source_id", "line", "rule"]))
    return count_alerts(session, source_id) - before


def count_alerts(session: Session, source_id: int | None = None) -> int:
    stmt = select(func.count(LogAlert.id))
    if source_id is not None:
        stmt = stmt.where(LogAlert.source_id == source_id)
    return int(session.scalar(stmt) or 0)


def list_alerts(
    session: Session, *, category: str | None = None, src: str | None = None, limit: int = 100
) -> list[LogAlert]:
    stmt = select(LogAlert).order_by(LogAlert.seen_at.desc(), LogAlert.id.desc()).limit(limit)
    if category:
        stmt = stmt.where(LogAlert.category == category)
    if src:
        stmt = stmt.where(LogAlert.src == src)
    return list(session.scalars(stmt))
