"""Telling each member what the sensors saw of its own addresses (malware-infected-user
notification, 2.1(1)(コ)).

A member registers the CIDR ranges and AS numbers it answers for. Its notice lists every
address of its own that a stored finding names as a scanner (with the scanner's marks,
e.g. Mirai-like) or as the victim of a spoofed-source DoS (backscatter), with the evidence:
ports, protocols, packets, first and last seen, sensors. Ranges nest: an address belongs
to the member with the most specific registered range holding it. AS numbers need an
address-to-AS file (``sensors.geo``); without one they are skipped and the notice says so.

``share_notice`` publishes a notice as a STIX 2.1 report marked TLP:AMBER+STRICT, written
by the hub and owned by the member: under the sharing policy AMBER+STRICT is read by the
owning organisation and the hub's staff only, so the member reads it (TAXII, REST) and no
other member can, not even a named recipient. Owned by the hub instead, the member could
not read it at all.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy.orm import Session

from renkei.core import orgs
from renkei.core.models import Organisation
from renkei.core.time import Clock
from renkei.core.tlp import Tlp, marking_definition
from renkei.sensors.findings import FindingKind
from renkei.sensors.research import ResearchScanners
from renkei.sensors.service import SensorsError, findings, ranges_of

if TYPE_CHECKING:
    from renkei.sensors.geo import Geo
    from renkei.sharing.store import SharedObject

NOTIFIED_KINDS = (FindingKind.SCANNER, FindingKind.BACKSCATTER)
MAX_FINDINGS = 100_000
MAX_SHARED_ADDRESSES = 4_000
NOTICE_NAMESPACE = uuid.UUID("0f6b8f0e-5a39-4c1e-9d7a-73656e736f72")
CSV_FIELDS = ("organisation", "address", "matched", "kinds", "fingerprints", "labels",
              "protocols", "ports", "packets", "first", "last", "sensors", "findings")


@dataclass
class Evidence:
    """One of the member's addresses and what the sensors saw of it."""

    address: str
    matched: str                    # the registered range or AS number that holds it
    kinds: set[str] = field(default_factory=set)
    fingerprints: set[str] = field(default_factory=set)
    labels: set[str] = field(default_factory=set)
    protocols: set[str] = field(default_factory=set)
    ports: set[int] = field(default_factory=set)
    sensors: set[str] = field(default_factory=set)
    packets: int = 0
    findings: int = 0
    first: datetime | None = None
    last: datetime | None = None

    def to_json(self) -> dict[str, object]:
        return {"address": self.address, "matched": self.matched, "kinds": sorted(self.kinds),
                "fingerprints": sorted(self.fingerprints), "labels": sorted(self.labels),
                "protocols": sorted(self.protocols), "ports": sorted(self.ports),
                "packets": self.packets,
                "first": self.first.isoformat() if self.first else None,
                "last": self.last.isoformat() if self.last else None,
                "sensors": sorted(self.sensors), "findings": self.findings}


@dataclass
class Notice:
    """One member's notice: its addresses, most packets first, and what was left out."""

    organisation_id: int
    organisation: str
    addresses: list[Evidence] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {"organisation": self.organisation,
                "addresses": [e.to_json() for e in self.addresses], "notes": list(self.notes)}


def _halves(text: str) -> tuple[int, int]:
    address = ipaddress.ip_address(text)
    number = int(address) | (0xFFFF_0000_0000 if address.version == 4 else 0)
    return number >> 64, number & (2**64 - 1)


def notices(session: Session, *, organisation_id: int | None = None,
            since: datetime | None = None, until: datetime | None = None,
            geo: Geo | None = None) -> list[Notice]:
    """Per member with registered address space (one member's when ``organisation_id``),
    its addresses named by scanner and backscatter findings in [since, until)."""
    ranges = ranges_of(session, organisation_id)
    names = {o.id: o.name for o in orgs.list_all(session)}
    members = sorted({r.organisation_id for r in ranges})
    if organisation_id is not None and organisation_id not in members:
        members.append(organisation_id)
    found = {m: Notice(m, names.get(m, str(m))) for m in members}
    cidrs: dict[str, list[str]] = {}
    asns: dict[int, tuple[int, str]] = {}
    for row in ranges:
        if row.kind == "cidr":
            cidrs.setdefault(f"{row.organisation_id}|{row.value}", []).append(row.value)
        else:
            asns[int(row.value[2:])] = (row.organisation_id, row.value)
    if asns and geo is None:
        for member, value in asns.values():
            found[member].notes.append(
                f"{value} not matched: no address-to-AS data given (--asn-data)")
    if not cidrs and (not asns or geo is None):
        return list(found.values())
    table = ResearchScanners.from_mapping(cidrs)
    rows = findings(session, kinds=NOTIFIED_KINDS, since=since, until=until,
                    limit=MAX_FINDINGS)
    rows = [r for r in rows if r.row.src]
    if len(rows) >= MAX_FINDINGS:
        for notice in found.values():
            notice.notes.append(f"only the newest {MAX_FINDINGS} findings were searched")
    sources = [str(r.row.src) for r in rows]
    pairs = [_halves(s) for s in sources]
    hits = table.lookup(np.array([p[0] for p in pairs], np.uint64),
                        np.array([p[1] for p in pairs], np.uint64)).tolist()
    owners: list[tuple[int, str] | None] = []
    for hit in hits:
        if hit < 0:
            owners.append(None)
            continue
        member, _, value = table.labels[hit][0].partition("|")
        owners.append((int(member), value))
    if asns and geo is not None:
        unowned = [i for i, owner in enumerate(owners) if owner is None]
        infos = geo.lookup_many([sources[i] for i in unowned])
        for i, info in zip(unowned, infos, strict=True):
            if info.asn is not None and info.asn in asns:
                owners[i] = asns[info.asn]
    evidence: dict[tuple[int, str], Evidence] = {}
    for stored, src, owner in zip(rows, sources, owners, strict=True):
        if owner is None or owner[0] not in found:
            continue
        item = evidence.get((owner[0], src))
        if item is None:
            item = evidence[(owner[0], src)] = Evidence(src, owner[1])
        seen = stored.row
        item.kinds.add(seen.kind)
        item.fingerprints.update(seen.fingerprints)
        item.labels.update(seen.labels)
        item.protocols.add(seen.protocol)
        item.ports.update(seen.ports)
        if stored.sensor:
            item.sensors.add(stored.sensor)
        item.packets += seen.packets
        item.findings += 1
        item.first = seen.first if item.first is None else min(item.first, seen.first)
        item.last = seen.last if item.last is None else max(item.last, seen.last)
    for (member, _), item in evidence.items():
        found[member].addresses.append(item)
    for notice in found.values():
        notice.addresses.sort(key=lambda e: (-e.packets, e.address))
    return list(found.values())


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet will not run as a formula; lists joined by spaces."""
    if isinstance(value, list):
        value = " ".join(str(v) for v in value)
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(notices_: Sequence[Notice]) -> str:
    """One line per (member, address); lists joined with spaces."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for notice in notices_:
        for item in notice.addresses:
            body = item.to_json()
            writer.writerow([_cell(notice.organisation), *(_cell(body[f]) for f in CSV_FIELDS[1:])])
    return out.getvalue()


# --- the member's report -----------------------------------------------------------------


def _stix_id(kind: str, *parts: object) -> str:
    return f"{kind}--{uuid.uuid5(NOTICE_NAMESPACE, ':'.join(map(str, parts)))}"


def notice_bundle(notice: Notice, *, hub_identity: dict[str, Any], now: datetime,
                  since: datetime | None = None,
                  until: datetime | None = None) -> dict[str, Any]:
    """The notice as a STIX 2.1 bundle: the hub's report and one indicator per address,
    every object TLP:AMBER+STRICT and created by the hub. Ids are fixed per member (and
    address), so each notice is a new version of the same report."""
    from renkei.sharing import stix

    stamp = stix.timestamp(now)
    marking = Tlp.AMBER_STRICT.marking_id
    author = hub_identity["id"]
    shown = notice.addresses[:MAX_SHARED_ADDRESSES]
    indicators = []
    for item in shown:
        version = ipaddress.ip_address(item.address).version
        kind = "ipv4-addr" if version == 4 else "ipv6-addr"
        marks = sorted(item.fingerprints)
        what = ", ".join(sorted(item.kinds)) + (f" ({', '.join(marks)})" if marks else "")
        ports = ", ".join(map(str, sorted(item.ports)[:50])) or "-"
        indicators.append({
            "type": "indicator", "spec_version": "2.1",
            "id": _stix_id("indicator", notice.organisation_id, item.address),
            "created": stamp, "modified": stamp, "created_by_ref": author,
            "name": f"{item.address}: {what}"[:300],
            "description": (f"Seen by the hub's sensors as {what}; protocols "
                            f"{', '.join(sorted(item.protocols))}; ports {ports}; "
                            f"{item.packets} packets in {item.findings} findings from "
                            f"{item.first.isoformat() if item.first else '-'} to "
                            f"{item.last.isoformat() if item.last else '-'}; sensors "
                            f"{', '.join(sorted(item.sensors)) or '-'}; within {item.matched}."),
            "indicator_types": ["compromised"],
            "pattern": f"[{kind}:value = '{item.address}']", "pattern_type": "stix",
            "valid_from": stamp, "labels": marks or ["sensor-observation"],
            "object_marking_refs": [marking]})
    period = (f"from {since.isoformat() if since else 'the first observation'} to "
              f"{until.isoformat() if until else stamp}")
    left_out = len(notice.addresses) - len(shown)
    report = {
        "type": "report", "spec_version": "2.1",
        "id": _stix_id("report", "sensors-notice", notice.organisation_id),
        "created": stamp, "modified": stamp, "created_by_ref": author,
        "name": f"Sensor observations of {notice.organisation}'s addresses"[:300],
        "description": (f"{len(notice.addresses)} of your addresses were seen by the hub's "
                        f"darknet sensors {period}."
                        + (f" {left_out} more are in the JSON/CSV notice." if left_out else "")
                        + "".join(f" Note: {n}." for n in notice.notes)),
        "published": stamp, "report_types": ["observed-data"],
        "object_refs": [i["id"] for i in indicators],
        "object_marking_refs": [marking]}
    return {"type": "bundle", "id": f"bundle--{uuid.uuid4()}",
            "objects": [marking_definition(Tlp.AMBER_STRICT), report, *indicators]}


def share_notice(session: Session, clock: Clock, notice: Notice, *,
                 since: datetime | None = None, until: datetime | None = None,
                 actor: str | None = None, source: str = "cli") -> list[SharedObject]:
    """Publish ``notice`` to its member alone (see the module text); a version already held
    (the same notice at the same moment) is not written twice. Needs a hub organisation."""
    from renkei.sharing import service as sharing

    member = session.get(Organisation, notice.organisation_id)
    if member is None or member.is_hub:
        raise SensorsError("a notice is shared with a member organisation, not the hub")
    if not notice.addresses:
        raise SensorsError("nothing to share: no address of {name} was seen",
                           name=notice.organisation)
    bundle = notice_bundle(notice, hub_identity=sharing.hub_identity(session), now=clock.now(),
                           since=since, until=until)
    try:
        rows = sharing.publish_to_member(session, clock, bundle, member, actor=actor,
                                         source=source, action="sensors.notify.share")
    except sharing.WorkflowError:
        raise SensorsError("a notice's id belongs to another organisation's object") from None
    return rows

