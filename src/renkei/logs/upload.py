"""Scanning a log someone uploaded through the console, into the page's own transaction.

``service.scan_logs`` opens its own sessions (the command line's way); a page already holds
one, so this stores the one file through the same store functions in that session. The
upload is bounded (``MAX_UPLOAD_BYTES``) and must be plain text: a 4 MiB compressed file
could stand for gigabytes, which is the command line's job. A log is known by its first
record; an upload whose first record is already another organisation's log is kept as a log
of its own (its fingerprint scoped by the organisation), so one member's upload never adds
alerts to, or renames, another's log.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from renkei.core import audit
from renkei.core.errors import UserError
from renkei.core.members import Principal
from renkei.core.text import visible
from renkei.core.time import Clock
from renkei.logs import store
from renkei.logs.read import LogReadError
from renkei.logs.reads import may_scan, scope_of
from renkei.logs.scan import LogScanner

MAX_UPLOAD_BYTES = 4 * 1024 * 1024
NAME_MAX = 200
COMPRESSED = (b"\x1f\x8b", b"BZh", b"\x28\xb5\x2f\xfd")
_SCANNING = threading.Lock()  # one Hyperscan scratch per compiled database: one scan at once


class UploadError(UserError):
    """The upload cannot be scanned; the message says why."""


@cache
def scanner() -> LogScanner:
    """The bundled rules, compiled once per process (it takes seconds)."""
    return LogScanner()


@dataclass(frozen=True)
class Uploaded:
    log_id: int
    lines: int
    findings: int
    new_alerts: int
    succeeded: int
    problems: int


def clean_name(name: str) -> str:
    """The file's own name, without a client's path, controls made visible, bounded."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip() or "upload.log"
    return visible(base)[:NAME_MAX]


def _fingerprint(session: Session, found: str, organisation_id: int | None) -> str:
    taken = session.execute(select(store.LogSource.organisation_id)
                            .where(store.LogSource.fingerprint == found)).first()
    if taken is None or taken[0] == organisation_id:
        return found
    return hashlib.sha256(f"{organisation_id}:{found}".encode()).hexdigest()


def scan_upload(session: Session, clock: Clock, principal: Principal, path: Path, name: str,
                *, organisation_id: int | None = None, source: str = "console") -> Uploaded:
    """Scan the uploaded file at ``path`` and keep its findings as alerts of the caller's
    organisation (the hub's staff may name a member, or none: the hub's own)."""
    if not may_scan(principal):
        raise UploadError("your role may read alerts but not scan logs")
    if scope_of(principal) != -1:
        organisation_id = principal.organisation_id
    size = path.stat().st_size
    if size == 0:
        raise UploadError("the file is empty")
    if size > MAX_UPLOAD_BYTES:
        raise UploadError("a log uploaded here is at most {mib} MiB",
                          mib=MAX_UPLOAD_BYTES // (1024 * 1024))
    with path.open("rb") as fh:
        head = fh.read(4)
    if head.startswith(COMPRESSED):
        raise UploadError(
            "upload the plain log: compressed logs are scanned with renkei logs scan")
    label = clean_name(name)
    try:
        with _SCANNING:
            scanned = scanner().scan_file(path, name=label)
    except LogReadError:
        raise UploadError(
            "not a recognised access log (combined, common, IIS W3C or JSON lines)") from None
    at = clock.now()
    log = store.upsert_source(
        session, fingerprint=_fingerprint(session, scanned.fingerprint, organisation_id),
        name=label, fmt=scanned.summary.format, lines=scanned.summary.lines, at=at,
        organisation_id=organisation_id)
    new = store.insert_alerts(session, log.id, scanned.findings, at)
    problems = sum(scanned.issue_counts.values())
    audit.record(session, clock, action="logs.scan", actor=principal.actor,
                 target=f"log_source:{log.id}", source=source, organisation_id=organisation_id,
                 details={"file": label, "lines": scanned.summary.lines, "bytes": size,
                          "findings": len(scanned.findings), "new_alerts": new})
    return Uploaded(log.id, scanned.summary.lines, len(scanned.findings), new,
                    sum(1 for f in scanned.findings if f.succeeded is True), problems)
