"""The incidents domain's types: severity, category, status and the moves between them,
where an incident comes from, SLA deadlines, and the timings derived from its events.

Nothing here touches the database: ``timings`` and ``Sla`` are pure, so metrics can be
computed and tested from a list of events.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit


class Severity(StrEnum):
    """How bad it is; each severity has its own SLA (``Sla``)."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """0 for critical up to 3 for low: sort by it for the most urgent first."""
        return list(Severity).index(self)


class Category(StrEnum):
    """The top-level classes of the Reference Security Incident Taxonomy (ENISA RSIT),
    which CSIRTs use to count and exchange incidents alike."""

    ABUSIVE_CONTENT = "abusive-content"
    MALICIOUS_CODE = "malicious-code"
    INFORMATION_GATHERING = "information-gathering"
    INTRUSION_ATTEMPTS = "intrusion-attempts"
    INTRUSIONS = "intrusions"
    AVAILABILITY = "availability"
    INFORMATION_CONTENT_SECURITY = "information-content-security"
    FRAUD = "fraud"
    VULNERABLE = "vulnerable"
    OTHER = "other"
    TEST = "test"


class Status(StrEnum):
    """new → acknowledged → investigating → contained → resolved → closed; see ``MOVES``."""

    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    INVESTIGATING = "investigating"
    CONTAINED = "contained"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def is_open(self) -> bool:
        return self not in (Status.RESOLVED, Status.CLOSED)


#: status -> the statuses it may move to. Closing an incident that was never resolved (a
#: false positive, a duplicate) and reopening one (resolved or closed → investigating) need
#: a note saying why (``NEEDS_NOTE``).
MOVES: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.ACKNOWLEDGED, Status.CLOSED}),
    Status.ACKNOWLEDGED: frozenset({Status.INVESTIGATING, Status.RESOLVED, Status.CLOSED}),
    Status.INVESTIGATING: frozenset({Status.CONTAINED, Status.RESOLVED, Status.CLOSED}),
    Status.CONTAINED: frozenset({Status.INVESTIGATING, Status.RESOLVED}),
    Status.RESOLVED: frozenset({Status.CLOSED, Status.INVESTIGATING}),
    Status.CLOSED: frozenset({Status.INVESTIGATING}),
}


def needs_note(before: Status, after: Status) -> bool:
    """Closing what was never resolved, or reopening, must say why."""
    reopening = not before.is_open and after.is_open
    return reopening or (after is Status.CLOSED and before is not Status.RESOLVED)


class SourceKind(StrEnum):
    """Where an incident came from; a source record is named ``kind:id`` (``logs-alert:12``)."""

    LOGS_ALERT = "logs-alert"
    VULNS_ALERT = "vulns-alert"
    SHARED = "shared"  # a shared STIX object, by its STIX id
    SENSORS_FINDING = "sensors-finding"
    MANUAL = "manual"  # a phone call or a mail to the hub


class EvidenceKind(StrEnum):
    """What may be linked to an incident as evidence: a source record, or a free reference
    (a ticket number, a file's name and hash, a mail's Message-ID)."""

    LOGS_ALERT = "logs-alert"
    VULNS_ALERT = "vulns-alert"
    SHARED = "shared"
    SENSORS_FINDING = "sensors-finding"
    REFERENCE = "reference"


class EventKind(StrEnum):
    """What an incident event records; the events are the incident's history."""

    CREATED = "created"
    STATUS = "status"
    ASSIGNED = "assigned"
    SEVERITY = "severity"
    NOTE = "note"
    TASK_ADDED = "task_added"
    TASK_DONE = "task_done"
    EVIDENCE = "evidence"
    INDICATOR = "indicator"
    NOTIFIED = "notified"
    NOTIFY_FAILED = "notify_failed"
    SHARED = "shared"


# --- indicators --------------------------------------------------------------------------

#: the indicator types the sharing module turns into STIX patterns (sharing.stix)
INDICATOR_TYPES = ("ipv4", "ipv6", "domain", "url", "sha256", "md5", "email-sender")
INDICATOR_VALUE_MAX = 2_048
_DOMAIN = re.compile(r"(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]", re.I)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,63}")
_HEX = {"sha256": re.compile(r"[0-9a-fA-F]{64}"), "md5": re.compile(r"[0-9a-fA-F]{32}")}


def normalise_indicator(kind: str, value: str) -> str:
    """The value as kept (addresses and networks canonical, names and hashes lower-case);
    ValueError with the reason when ``value`` is not a ``kind``."""
    value = value.strip()
    if kind not in INDICATOR_TYPES:
        raise ValueError("unknown indicator type; use one of " + ", ".join(INDICATOR_TYPES))
    if not value or len(value) > INDICATOR_VALUE_MAX:
        raise ValueError(f"an indicator is 1 to {INDICATOR_VALUE_MAX} characters")
    if kind in ("ipv4", "ipv6"):
        network = (ipaddress.IPv4Network if kind == "ipv4" else ipaddress.IPv6Network)(
            value, strict=True)
        single = network.prefixlen == network.max_prefixlen
        return str(network.network_address) if single else str(network)
    if kind == "domain":
        if not _DOMAIN.fullmatch(value):
            raise ValueError("not a domain name")
        return value.lower()
    if kind == "url":
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https", "ftp") or not parts.hostname or " " in value:
            raise ValueError("not an http, https or ftp URL")
        return value
    if kind in _HEX:
        if not _HEX[kind].fullmatch(value):
            raise ValueError(f"not a {kind} hash")
        return value.lower()
    if not _EMAIL.fullmatch(value):
        raise ValueError("not an e-mail address")
    return value


# --- SLA ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deadlines:
    acknowledge: timedelta
    resolve: timedelta


DEFAULT_SLA: Mapping[Severity, Deadlines] = {
    Severity.CRITICAL: Deadlines(timedelta(minutes=15), timedelta(hours=4)),
    Severity.HIGH: Deadlines(timedelta(hours=1), timedelta(hours=24)),
    Severity.MEDIUM: Deadlines(timedelta(hours=4), timedelta(days=3)),
    Severity.LOW: Deadlines(timedelta(days=1), timedelta(days=10)),
}


@dataclass(frozen=True)
class Sla:
    """How soon an incident of each severity must be acknowledged and resolved, counted
    from when it was opened at the hub (its ``created`` event)."""

    deadlines: Mapping[Severity, Deadlines]

    @classmethod
    def default(cls) -> Sla:
        return cls(dict(DEFAULT_SLA))

    @classmethod
    def from_settings(cls, settings: Mapping[str, tuple[timedelta, timedelta]]) -> Sla:
        """From ``Config.incident_sla`` ({"critical": (acknowledge, resolve), …})."""
        found = dict(DEFAULT_SLA)
        for name, (ack, resolve) in settings.items():
            found[Severity(name)] = Deadlines(ack, resolve)
        return cls(found)

    def acknowledge_by(self, severity: Severity, opened: datetime) -> datetime:
        return opened + self.deadlines[severity].acknowledge

    def resolve_by(self, severity: Severity, opened: datetime) -> datetime:
        return opened + self.deadlines[severity].resolve

    def overdue(self, severity: Severity, status: Status, opened: datetime,
                now: datetime) -> list[str]:
        """What is late: ``acknowledge`` (still new past its deadline), ``resolve`` (still
        open past its deadline); empty when nothing is."""
        late = []
        if status is Status.NEW and now > self.acknowledge_by(severity, opened):
            late.append("acknowledge")
        if status.is_open and now > self.resolve_by(severity, opened):
            late.append("resolve")
        return late


# --- timings -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusChange:
    """One status event: when, and the status it led to."""

    at: datetime
    status: Status


@dataclass(frozen=True)
class Timings:
    """Seconds from occurrence to detection, and from opening to acknowledgement and to
    resolution; None when it has not happened (or the occurrence is unknown)."""

    detect: float | None
    acknowledge: float | None
    resolve: float | None
    acknowledged_at: datetime | None
    resolved_at: datetime | None


def timings(*, opened: datetime, occurred: datetime | None, detected: datetime | None,
            changes: Iterable[StatusChange]) -> Timings:
    """Derive the timings from an incident's status events (in any order).

    Acknowledged: the first move out of ``new``. Resolved: the last move to resolved or
    closed, provided the incident has not been reopened since; a reopened incident is
    unresolved again and its clock keeps running from the opening.
    """
    ordered = sorted(changes, key=lambda c: c.at)
    acknowledged = next((c.at for c in ordered if c.status is not Status.NEW), None)
    resolved: datetime | None = None
    for change in ordered:
        if change.status.is_open:
            resolved = None
        elif resolved is None:
            resolved = change.at
    detect = None
    if occurred is not None and detected is not None:
        detect = max(0.0, (detected - occurred).total_seconds())
    return Timings(
        detect=detect,
        acknowledge=None if acknowledged is None else (acknowledged - opened).total_seconds(),
        resolve=None if resolved is None else (resolved - opened).total_seconds(),
        acknowledged_at=acknowledged, resolved_at=resolved)
