"""What the console reads of the stored alerts: pages of them, one alert, the logs, counts
over time, and a stored log rebuilt as a scan result for the report.

Who sees what: the hub's staff see every log; anyone else sees the logs of their own
organisation only (a log scanned without one is the hub's). The rule is ``scope_of``; every
read here takes its answer, so a page cannot forget it. The answer names a log too: the
hub's staff by the path it was scanned from (which machine's file it was), anyone else by
its file name only (``shown_name``), as the hub's server's folders are none of theirs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVarTuple

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from renkei.core.members import Principal
from renkei.core.models import Scope
from renkei.logs.model import Category, FileSummary, Finding, ScanResult, Severity, file_name
from renkei.logs.store import LogAlert, LogSource
from renkei.sharing.policy import Viewer

_Row = TypeVarTuple("_Row")

ALL = -1  # the scope of the hub's staff: every organisation's logs
PAGE_ROWS = 50
MAX_OFFSET = 100_000
REPORT_ALERTS = 50_000
TIMELINE_ROWS = 200_000
TIMELINE_DAYS = 30


def scope_of(principal: Principal) -> int:
    """The organisation whose logs ``principal`` reads, or ``ALL`` for the hub's staff."""
    return ALL if Viewer.of(principal).is_hub_staff else principal.organisation_id


def may_scan(principal: Principal) -> bool:
    """Scanning stores alerts: it needs the submit right (a member reader only reads)."""
    return Scope.SUBMIT in principal.scopes


def shown_name(name: str, scope: int) -> str:
    """A log's stored name as ``scope`` reads it: the whole path for the hub's staff, the
    file's name for anyone else."""
    return name if scope == ALL else file_name(name)


def _visible(stmt: Select[*_Row], scope: int) -> Select[*_Row]:
    stmt = stmt.join(LogSource, LogSource.id == LogAlert.source_id)
    return stmt if scope == ALL else stmt.where(LogSource.organisation_id == scope)


@dataclass(frozen=True)
class AlertFilter:
    """What the alerts list is narrowed to; None or "" is no narrowing."""

    category: str = ""
    src: str = ""
    succeeded: bool | None = None
    unknown_outcome: bool = False  # only alerts whose outcome could not be judged
    log: int | None = None


@dataclass(frozen=True)
class AlertView:
    """One stored alert as the console shows it, with the log it came from."""

    id: int
    log_id: int
    log_name: str
    organisation_id: int | None
    line: int
    rule: str
    category: str
    severity: str
    src: str
    seen_at: datetime | None
    method: str
    target: str
    status: int | None
    size: int | None
    fragment: str
    field: str
    engine: str
    succeeded: bool | None
    reason: str
    created_at: datetime


def _view(alert: LogAlert, log: LogSource, scope: int) -> AlertView:
    return AlertView(
        id=alert.id, log_id=log.id, log_name=shown_name(log.name, scope),
        organisation_id=log.organisation_id,
        line=alert.line, rule=alert.rule, category=alert.category, severity=alert.severity,
        src=alert.src, seen_at=alert.seen_at, method=alert.method, target=alert.target,
        status=alert.status, size=alert.size, fragment=alert.fragment, field=alert.field,
        engine=alert.engine, succeeded=alert.succeeded, reason=alert.reason,
        created_at=alert.created_at)


@dataclass(frozen=True)
class AlertPage:
    rows: list[AlertView]
    page: int
    more: bool  # a next page exists


def alert_page(session: Session, scope: int, wanted: AlertFilter, page: int = 1,
               rows: int = PAGE_ROWS) -> AlertPage:
    """One page of the alerts ``scope`` may see, newest first."""
    page = max(1, min(page, MAX_OFFSET // rows + 1))
    stmt = _visible(select(LogAlert, LogSource), scope)
    if wanted.category:
        stmt = stmt.where(LogAlert.category == wanted.category)
    if wanted.src:
        stmt = stmt.where(LogAlert.src == wanted.src)
    if wanted.unknown_outcome:
        stmt = stmt.where(LogAlert.succeeded.is_(None))
    elif wanted.succeeded is not None:
        stmt = stmt.where(LogAlert.succeeded.is_(wanted.succeeded))
    if wanted.log is not None:
        stmt = stmt.where(LogAlert.source_id == wanted.log)
    stmt = (stmt.order_by(LogAlert.seen_at.desc(), LogAlert.id.desc())
            .offset((page - 1) * rows).limit(rows + 1))
    found = [_view(alert, log, scope) for alert, log in session.execute(stmt)]
    return AlertPage(found[:rows], page, len(found) > rows)


def alert(session: Session, scope: int, alert_id: int) -> AlertView | None:
    """The alert, or None when there is none that ``scope`` may see (the same answer)."""
    stmt = _visible(select(LogAlert, LogSource), scope).where(
        LogAlert.id == alert_id)
    row = session.execute(stmt).first()
    return _view(*row, scope) if row else None


@dataclass(frozen=True)
class LogView:
    """A scanned log: its name (``shown_name``), format, size, when, whose, and its
    alerts."""

    id: int
    name: str
    format: str
    lines: int
    first_seen: datetime
    last_scanned: datetime
    organisation_id: int | None
    alerts: int
    succeeded: int


def logs(session: Session, scope: int, limit: int = 200) -> list[LogView]:
    """The logs ``scope`` may see, the last scanned first, with their alert counts."""
    counts = (select(LogAlert.source_id, func.count(LogAlert.id).label("n"),
                     func.count(LogAlert.id).filter(LogAlert.succeeded.is_(True)).label("ok"))
              .group_by(LogAlert.source_id).subquery())
    stmt = (select(LogSource, counts.c.n, counts.c.ok)
            .outerjoin(counts, counts.c.source_id == LogSource.id)
            .order_by(LogSource.last_scanned.desc(), LogSource.id.desc()).limit(limit))
    if scope != ALL:
        stmt = stmt.where(LogSource.organisation_id == scope)
    return [LogView(s.id, shown_name(s.name, scope), s.format, s.lines, s.first_seen,
                    s.last_scanned, s.organisation_id, int(n or 0), int(ok or 0))
            for s, n, ok in session.execute(stmt)]


def log(session: Session, scope: int, log_id: int) -> LogView | None:
    """One log ``scope`` may see, or None."""
    source = session.get(LogSource, log_id)
    if source is None or (scope != ALL and source.organisation_id != scope):
        return None
    alerts, succeeded = session.execute(
        select(func.count(LogAlert.id), func.count(LogAlert.id).filter(LogAlert.succeeded.is_(True)))
        .where(LogAlert.source_id == log_id)).one()
    return LogView(source.id, shown_name(source.name, scope), source.format, source.lines,
                   source.first_seen, source.last_scanned, source.organisation_id, int(alerts),
                   int(succeeded))


@dataclass(frozen=True)
class Totals:
    alerts: int
    succeeded: int
    sources: int  # distinct source addresses
    logs: int


def totals(session: Session, scope: int) -> Totals:
    """How many alerts, possibly successful attacks, attacking addresses and logs."""
    stmt = _visible(select(func.count(LogAlert.id),
                           func.count(LogAlert.id).filter(LogAlert.succeeded.is_(True)),
                           func.count(func.distinct(LogAlert.src))).select_from(LogAlert), scope)
    alerts, succeeded, sources = session.execute(stmt).one()
    count_logs = select(func.count(LogSource.id))
    if scope != ALL:
        count_logs = count_logs.where(LogSource.organisation_id == scope)
    return Totals(int(alerts), int(succeeded), int(sources), int(session.scalar(count_logs) or 0))


@dataclass(frozen=True)
class DailyCounts:
    """Alerts per day (of the log's time, UTC) by category, and the possibly successful."""

    days: list[datetime]
    by_category: dict[str, list[int]]
    succeeded: list[int]


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def daily_counts(session: Session, scope: int, days: int = TIMELINE_DAYS) -> DailyCounts:
    """The last ``days`` days that end with the newest alert (logs are often old)."""
    newest = session.scalar(_visible(select(func.max(LogAlert.seen_at)), scope))
    if newest is None:
        return DailyCounts([], {}, [])
    end = _utc(newest).replace(hour=0, minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days - 1)
    stmt = _visible(select(LogAlert.seen_at, LogAlert.category,
                           LogAlert.succeeded), scope).where(LogAlert.seen_at >= start)
    rows = session.execute(stmt.limit(TIMELINE_ROWS)).all()
    order = {c.value: i for i, c in enumerate(Category)}
    by_category: dict[str, list[int]] = {}
    succeeded = [0] * days
    for seen, category, ok in sorted(rows, key=lambda r: order.get(r[1], len(order))):
        if seen is None:
            continue
        index = (_utc(seen) - start).days
        if not 0 <= index < days:
            continue
        by_category.setdefault(category, [0] * days)[index] += 1
        if ok:
            succeeded[index] += 1
    return DailyCounts([start + timedelta(days=i) for i in range(days)], by_category, succeeded)


def scan_result(session: Session, scope: int, log_id: int,
                limit: int = REPORT_ALERTS) -> ScanResult | None:
    """A stored log's alerts as the scan result the report is made from (None when the log
    is not one ``scope`` may see). Requests per hour and the user agent are not stored, so
    the report has no traffic context."""
    view = log(session, scope, log_id)
    if view is None:
        return None
    stmt = (select(LogAlert).where(LogAlert.source_id == log_id)
            .order_by(LogAlert.line, LogAlert.rule).limit(limit))
    findings = [_finding(a, view.name) for a in session.scalars(stmt)]
    summary = FileSummary(view.name, view.format, lines=view.lines, parsed=view.lines)
    return ScanResult(files=[summary], findings=findings, started=view.last_scanned,
                      finished=view.last_scanned, stored=len(findings),
                      issue_counts=Counter())


def _finding(alert: LogAlert, name: str) -> Finding:
    try:
        category = Category(alert.category)
    except ValueError:
        category = Category.SCANNER
    try:
        severity = Severity(alert.severity)
    except ValueError:
        severity = Severity.MEDIUM
    return Finding(file=name, line=alert.line, category=category, rule=alert.rule,
                   severity=severity, src=alert.src, time=alert.seen_at, method=alert.method,
                   target=alert.target, status=alert.status, size=alert.size, user_agent="",
                   field=alert.field, fragment=alert.fragment, engine=alert.engine,
                   succeeded=alert.succeeded, reason=alert.reason)
