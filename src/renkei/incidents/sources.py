"""The records an incident can be opened from or linked to, read from their own domains.

Only reads, each through its domain's public functions, never its tables: a logs alert
(``logs.service.alert_record``), a vulns alert (``vulns.alerts.alert_by_id``), a shared
STIX object (``sharing.store.visible_objects``, under the TLP policy of whoever asks) and a
sensors finding (``sensors.lookup.finding_by_id``, with the member whose registered range
holds its source). Each becomes a ``SourceRecord``: what an incident
opened from it starts with (title, severity, category, times, affected members,
indicators), every field of which the analyst may override. Text from a record is
untrusted: it is made one visible line and bounded before it becomes a title.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from renkei.core import orgs
from renkei.core.models import Organisation
from renkei.core.text import visible
from renkei.core.tlp import Tlp
from renkei.incidents.errors import IncidentError
from renkei.incidents.model import Category, Severity, SourceKind
from renkei.incidents.store import REF_MAX, TITLE_MAX
from renkei.sharing.policy import Viewer


class SourceError(IncidentError):
    """A source record is malformed or unknown."""


@dataclass(frozen=True)
class SourceRecord:
    kind: SourceKind
    ref: str
    title: str
    description: str = ""
    severity: Severity = Severity.MEDIUM
    category: Category = Category.OTHER
    occurred_at: datetime | None = None
    detected_at: datetime | None = None
    organisation_ids: tuple[int, ...] = ()
    tlp: Tlp | None = None
    indicators: tuple[tuple[str, str], ...] = field(default=())


def parse_source(text: str) -> tuple[SourceKind, str]:
    """``logs-alert:12`` → (LOGS_ALERT, "12"); the kind is one of the record kinds."""
    kind_text, sep, ref = text.strip().partition(":")
    try:
        kind = SourceKind(kind_text)
    except ValueError:
        kind = None
    if not sep or kind is None or kind is SourceKind.MANUAL or not ref.strip():
        raise SourceError("name a record as KIND:ID, KIND one of logs-alert, vulns-alert, "
                          "shared, sensors-finding; got {text}", text=repr(text[:80]))
    return kind, ref.strip()[:REF_MAX]


def _line(text: str, most: int = TITLE_MAX) -> str:
    one = " ".join(visible(text).split())
    return one if len(one) <= most else one[:most - 1] + "…"


def _number(kind: SourceKind, ref: str) -> int:
    if not (ref.isascii() and ref.isdigit()) or len(ref) > 12:  # "²" is a digit to isdigit()
        raise SourceError("{kind} records are numbered; got {ref}", kind=kind.value,
                          ref=repr(ref[:40]))
    return int(ref)


def _missing(kind: SourceKind, ref: str) -> SourceError:
    return SourceError("no {kind} {ref}", status=404, kind=kind.value, ref=ref[:100])


def _address_kind(value: str | None) -> tuple[tuple[str, str], ...]:
    if not value:
        return ()
    return (("ipv6" if ":" in value else "ipv4", value),)


def lookup(session: Session, kind: SourceKind, ref: str, viewer: Viewer) -> SourceRecord:
    """The record ``kind:ref`` as ``viewer`` may see it; SourceError (404) when there is
    none it may see."""
    if kind is SourceKind.LOGS_ALERT:
        return _logs_alert(session, _number(kind, ref), ref)
    if kind is SourceKind.VULNS_ALERT:
        return _vulns_alert(session, _number(kind, ref), ref)
    if kind is SourceKind.SHARED:
        return _shared(session, ref, viewer)
    if kind is SourceKind.SENSORS_FINDING:
        return _sensors_finding(session, _number(kind, ref), ref)
    raise _missing(kind, ref)


_LOGS_SEVERITY = {"critical": Severity.CRITICAL, "high": Severity.HIGH,
                  "medium": Severity.MEDIUM}


def _logs_alert(session: Session, number: int, ref: str) -> SourceRecord:
    from renkei.logs.service import alert_record

    alert = alert_record(session, number)
    if alert is None:
        raise _missing(SourceKind.LOGS_ALERT, ref)
    if alert.category == "scanner":
        category = Category.INFORMATION_GATHERING
    else:
        category = Category.INTRUSIONS if alert.succeeded else Category.INTRUSION_ATTEMPTS
    title = _line(f"{alert.category} from {alert.src}: {alert.method} {alert.target}")
    description = _line(f"rule {alert.rule}; {alert.reason}; line {alert.line} of "
                        f"{alert.log_name or '?'}", 2000)
    return SourceRecord(
        SourceKind.LOGS_ALERT, ref, title, description,
        _LOGS_SEVERITY.get(alert.severity, Severity.LOW), category,
        occurred_at=alert.seen_at, detected_at=alert.created_at,
        organisation_ids=(alert.organisation_id,) if alert.organisation_id else (),
        indicators=_address_kind(alert.src if _is_address(alert.src) else None))


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _vulns_alert(session: Session, number: int, ref: str) -> SourceRecord:
    from renkei.vulns.alerts import alert_by_id

    found = alert_by_id(session, number)
    if found is None:
        raise _missing(SourceKind.VULNS_ALERT, ref)
    alert, key = found
    score = alert.cvss or 0.0
    severity = (Severity.CRITICAL if alert.kev or score >= 9.0 else Severity.HIGH
                if score >= 7.0 else Severity.MEDIUM if score >= 4.0 else Severity.LOW)
    shown = ", ".join(alert.components[:3]) + (" …" if len(alert.components) > 3 else "")
    return SourceRecord(
        SourceKind.VULNS_ALERT, ref, _line(f"{key} affects {shown}"),
        _line("; ".join(alert.why), 2000), severity, Category.VULNERABLE,
        detected_at=alert.created_at, organisation_ids=(alert.organisation_id,))


# a STIX pattern naming one value: [ipv4-addr:value = '198.51.100.7']
_PATTERN = re.compile(
    r"\[(ipv4-addr|ipv6-addr|domain-name|url):value\s*=\s*'((?:[^'\\]|\\.){1,2048})'\]"
    r"|\[file:hashes\.('SHA-256'|MD5)\s*=\s*'([0-9a-fA-F]{32,64})'\]")
_PATTERN_TYPES = {"ipv4-addr": "ipv4", "ipv6-addr": "ipv6", "domain-name": "domain",
                  "url": "url", "'SHA-256'": "sha256", "MD5": "md5"}


def pattern_indicator(pattern: str) -> tuple[str, str] | None:
    """The (type, value) of a STIX pattern comparing one value; None for any other."""
    match = _PATTERN.fullmatch(pattern.strip())
    if match is None:
        return None
    if match.group(1):
        value = match.group(2).replace("\\'", "'").replace("\\\\", "\\")
        return _PATTERN_TYPES[match.group(1)], value
    return _PATTERN_TYPES[match.group(3)], match.group(4)


def _shared(session: Session, stix_id: str, viewer: Viewer) -> SourceRecord:
    from renkei.sharing.store import visible_objects

    rows = visible_objects(session, viewer, stix_id=stix_id[:100], newest_first=True, limit=1)
    if not rows:
        raise _missing(SourceKind.SHARED, stix_id)
    row = rows[0]
    body = row.body
    name = body.get("name") if isinstance(body.get("name"), str) else None
    description = body.get("description")
    pattern = body.get("pattern")
    found = pattern_indicator(pattern) if isinstance(pattern, str) else None
    return SourceRecord(
        SourceKind.SHARED, row.stix_id, _line(name or f"{row.stix_type} {row.stix_id}"),
        _line(description, 2000) if isinstance(description, str) else "",
        Severity.MEDIUM, Category.MALICIOUS_CODE if row.stix_type in ("malware", "indicator")
        else Category.OTHER, detected_at=row.date_added, tlp=Tlp(row.marking),
        indicators=(found,) if found else ())


def unable_to_read(session: Session, stix_id: str,
                   organisations: list[Organisation]) -> list[str]:
    """The organisations whose members the sharing policy does not let read the shared
    object: an incident opened from it must not tell them what it says. An organisation
    counts as its readers without a user, so an object named for certain people only is
    unreadable to every organisation."""
    from renkei.core.models import Role
    from renkei.sharing.store import visible_objects

    refused = []
    for organisation in organisations:
        viewer = Viewer(user_id=None, org_id=organisation.id, role=Role.MEMBER_READER,
                        communities=orgs.community_ids_of(session, organisation.id),
                        is_hub=False)
        if not visible_objects(session, viewer, stix_id=stix_id[:100], limit=1):
            refused.append(organisation.name)
    return refused


_SENSORS_CATEGORY = {"scanner": Category.INFORMATION_GATHERING,
                     "backscatter": Category.AVAILABILITY}


def _sensors_finding(session: Session, number: int, ref: str) -> SourceRecord:
    from renkei.sensors.lookup import finding_by_id

    finding = finding_by_id(session, number)
    if finding is None:
        raise _missing(SourceKind.SENSORS_FINDING, ref)
    ports = ", ".join(str(p) for p in finding.ports[:5])
    title = _line(f"sensors: {finding.kind} {finding.src or ''} {finding.protocol} {ports}")
    labels = ", ".join(finding.labels[:10])
    hub = orgs.hub(session)
    member = finding.organisation_id
    return SourceRecord(
        SourceKind.SENSORS_FINDING, ref, title,
        _line(f"{finding.packets} packets; {labels}", 2000),
        Severity.MEDIUM if finding.kind == "backscatter" else Severity.LOW,
        _SENSORS_CATEGORY.get(finding.kind, Category.INFORMATION_GATHERING),
        occurred_at=finding.first, detected_at=finding.detected_at,
        organisation_ids=(member,) if member and (hub is None or member != hub.id) else (),
        indicators=_address_kind(finding.src if finding.src and _is_address(finding.src)
                                 else None))
