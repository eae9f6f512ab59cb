"""Scanning a log someone uploaded through the console, into the page's own transaction.

What is the console's own is here: who may scan, for which organisation, and what an upload
may be, bounded (``MAX_UPLOAD_BYTES``) and plain text (a 4 MiB compressed file could stand
for gigabytes, which is the command line's job). The scan is kept as the command line's is,
by ``service.keep_scan`` in the page's session: the same log matching (per organisation, so
one member's upload never adds alerts to, or renames, another's log), storing and audit.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sqlalchemy.orm import Session

from renkei.core.errors import UserError
from renkei.core.members import Principal
from renkei.core.text import visible
from renkei.core.time import Clock
from renkei.logs import service
from renkei.logs.model import file_name
from renkei.logs.read import LogReadError
from renkei.logs.reads import may_scan, scope_of
from renkei.logs.scan import FileScan, LogScanner
from renkei.logs.synth import generate

MAX_UPLOAD_BYTES = 4 * 1024 * 1024
NAME_MAX = 200
COMPRESSED = (b"\x1f\x8b", b"BZh", b"\x28\xb5\x2f\xfd")
_SCANNING = threading.Lock()  # one Hyperscan scratch per compiled database: one scan at once
WARM_UP_LINES = 200
_WARMING = threading.Lock()
_warm_ups: dict[int, threading.Thread] = {}  # process id -> the warm-up it started


class UploadError(UserError):
    """The upload cannot be scanned; the message says why."""


@cache
def scanner() -> LogScanner:
    """The bundled rules, compiled once per process (seconds), or loaded from the disk
    cache of compiled rules (milliseconds)."""
    return LogScanner()


def warm_up() -> FileScan:
    """Load (or compile) the rules and the scan's kernels by scanning a small synthetic log, so
    that the first upload of a process does not wait seconds for them; the sample's scan."""
    with tempfile.TemporaryDirectory(prefix="renkei-warm-up-") as folder:
        path = Path(folder) / "warm-up.log"
        lines = "".join(generate(WARM_UP_LINES, seed=1, attack_ratio=0.2))  # each ends in \n
        path.write_bytes(lines.encode() + b"\xff not utf-8 nor a log line\n")
        with _SCANNING:
            return scanner().scan_file(path, name="warm-up.log")


def _warm_up_quietly() -> None:
    with contextlib.suppress(AttributeError, OSError):  # Linux: this thread alone, nice 10,
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)  # yields the CPU
    try:
        warm_up()
    except Exception:  # the first upload meets the same problem and reports it
        logging.getLogger(__name__).warning("warming the log scanner up failed", exc_info=True)


def _start_warm_up() -> threading.Thread:
    thread = threading.Thread(target=_warm_up_quietly, name="renkei-logs-warm-up", daemon=True)
    _warm_ups[os.getpid()] = thread
    thread.start()
    return thread


def warm_up_in_background() -> threading.Thread:
    """``warm_up`` in a daemon thread (``renkei serve`` starts one), at a low priority so
    that requests and the STIX validation workers starting beside it are not slowed; an
    upload that comes first waits for it on the scan lock rather than compiling the same
    things again."""
    with _WARMING:
        return _start_warm_up()


def warm_up_in_this_process() -> threading.Thread:
    """``warm_up_in_background`` unless this process has started one already. Each app
    that is served starts one (with ``--workers`` every worker is a process of its own, and
    would otherwise load the kernels and rules at its first upload), and ``renkei serve``
    may have started one before its app: a second is not needed."""
    with _WARMING:
        started = _warm_ups.get(os.getpid())
        return started if started is not None else _start_warm_up()


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
    base = file_name(name).strip() or "upload.log"
    return visible(base)[:NAME_MAX]


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
    kept = service.keep_scan(session, clock, scanned, name=label, size=size,
                             organisation_id=organisation_id, actor=principal.actor,
                             source=source)
    return Uploaded(kept.log_id, scanned.summary.lines, len(scanned.findings), kept.new_alerts,
                    sum(1 for f in scanned.findings if f.succeeded is True),
                    sum(scanned.issue_counts.values()))
