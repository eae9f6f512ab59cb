"""Use cases of the logs domain: scan files and keep the findings as alerts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from renkei.core import audit, orgs
from renkei.core.db import Database
from renkei.core.progress import byte_progress
from renkei.core.time import Clock
from renkei.logs import store
from renkei.logs.model import FileSummary, LogFormat, ParseIssue, ScanResult, file_name
from renkei.logs.read import LogReadError
from renkei.logs.scan import FileScan, LogScanner


def scan_logs(
    paths: Sequence[Path],
    scanner: LogScanner,
    clock: Clock,
    *,
    database: Database | None = None,
    fmt: LogFormat | None = None,
    organisation: str | None = None,
    show_progress: bool = True,
) -> ScanResult:
    """Scan each file; with a database, keep each file's findings (``keep_scan``)."""
    result = ScanResult(started=clock.now())
    org_id = None
    if database is not None and organisation:
        with database.session() as session:
            org_id = orgs.require(session, organisation).id
    with byte_progress(show_progress) as progress:
        for path in paths:
            try:
                scanned = scanner.scan_file(path, fmt, progress)
                size = path.stat().st_size
            except (LogReadError, OSError) as exc:
                message = str(exc) if isinstance(exc, LogReadError) else f"{path}: {exc.strerror or exc}"
                result.files.append(FileSummary(str(path), "", error=message))
                result.add_issue(ParseIssue(str(path), 0, message, "", skipped=True))
                continue
            result.files.append(scanned.summary)
            result.findings.extend(scanned.findings)
            result.merge_issues(scanned.issues, scanned.issue_counts)
            result.requests_per_hour.update(scanned.requests_per_hour)
            if database is not None:
                with database.session() as session:
                    kept = keep_scan(session, clock, scanned, name=str(path), size=size,
                                     organisation_id=org_id)
                    result.stored += kept.new_alerts
    result.finished = clock.now()
    return result


@dataclass(frozen=True)
class Kept:
    """What keeping one scanned file did: the log it is part of, and the alerts it added."""

    log_id: int
    new_alerts: int


def keep_scan(session: Session, clock: Clock, scanned: FileScan, *, name: str, size: int,
              organisation_id: int | None, actor: str | None = None,
              source: str = "cli") -> Kept:
    """Store one scanned file's findings as alerts of its organisation's log (the hub's
    when None; see ``store.upsert_source``), each once, and audit the scan. The command
    line and the console's upload both keep a scan through here, so they cannot come to
    store or audit one differently."""
    at = clock.now()
    log = store.upsert_source(
        session, fingerprint=scanned.fingerprint, name=name, fmt=scanned.summary.format,
        lines=scanned.summary.lines, at=at, organisation_id=organisation_id)
    new = store.insert_alerts(session, log.id, scanned.findings, at)
    audit.record(session, clock, action="logs.scan", actor=actor, target=f"log_source:{log.id}",
                 source=source, organisation_id=organisation_id,
                 details={"file": name, "lines": scanned.summary.lines, "bytes": size,
                          "findings": len(scanned.findings), "new_alerts": new})
    return Kept(log.id, new)


def stored_alerts(database: Database, *, category: str | None = None, src: str | None = None,
                  limit: int = 50) -> list[dict[str, object]]:
    """The newest stored alerts as plain records, for the command line and the API."""
    with database.session() as session:
        return [{
            "line": a.line, "rule": a.rule, "category": a.category, "severity": a.severity,
            "src": a.src, "time": a.seen_at.isoformat() if a.seen_at else None,
            "target": a.target, "status": a.status, "succeeded": a.succeeded,
        } for a in store.list_alerts(session, category=category, src=src, limit=limit)]


@dataclass(frozen=True)
class AlertRecord:
    """One stored alert with the log it came from, for other domains (incidents) to read
    without knowing the logs tables. The log is named by its file name only: what is made
    of the record (an incident) reaches members, and where the file lay is the hub's."""

    id: int
    rule: str
    category: str
    severity: str
    src: str
    method: str
    target: str
    line: int
    reason: str
    succeeded: bool | None
    seen_at: datetime | None
    created_at: datetime
    log_name: str
    organisation_id: int | None


def alert_record(session: Session, alert_id: int) -> AlertRecord | None:
    """The stored alert ``alert_id`` and its log's name and member; None if there is none."""
    alert = session.get(store.LogAlert, alert_id)
    if alert is None:
        return None
    log = session.get(store.LogSource, alert.source_id)
    return AlertRecord(
        id=alert.id, rule=alert.rule, category=alert.category, severity=alert.severity,
        src=alert.src, method=alert.method, target=alert.target, line=alert.line,
        reason=alert.reason, succeeded=alert.succeeded, seen_at=alert.seen_at,
        created_at=alert.created_at, log_name=file_name(log.name) if log else "",
        organisation_id=log.organisation_id if log else None)
