"""One stored sensors finding by its number, for other domains (incidents) to read without
the sensors tables.

Besides the finding, it says when the run that found it started (when the hub detected
it) and which member answers for its source address: the member with the most specific
registered CIDR range holding it, as the member notices decide (``sensors.notify``). AS
numbers are not consulted here: they need an address-to-AS file.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from renkei.sensors.store import FindingRow, IngestRun, MemberRange


@dataclass(frozen=True)
class FindingRecord:
    """What another domain may read of a stored finding."""

    id: int
    kind: str
    src: str | None
    protocol: str
    ports: tuple[int, ...]
    labels: tuple[str, ...]
    packets: int
    first: datetime
    last: datetime
    detected_at: datetime
    organisation_id: int | None


def finding_by_id(session: Session, finding_id: int) -> FindingRecord | None:
    """The stored finding ``finding_id``; None if there is none."""
    row = session.get(FindingRow, finding_id)
    if row is None:
        return None
    run = session.get(IngestRun, row.run_id)
    return FindingRecord(
        id=row.id, kind=row.kind, src=row.src, protocol=row.protocol,
        ports=tuple(int(p) for p in row.ports), labels=tuple(str(x) for x in row.labels),
        packets=int(row.packets), first=row.first, last=row.last,
        detected_at=run.started_at if run is not None else row.last,
        organisation_id=range_owner(session, row.src) if row.src else None)


def range_owner(session: Session, address: str) -> int | None:
    """The member whose most specific registered CIDR range holds ``address``; None for
    none (or for text that is not an address)."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    best: tuple[int, int] | None = None  # (prefix length, organisation)
    for organisation_id, value in session.execute(
            select(MemberRange.organisation_id, MemberRange.value)
            .where(MemberRange.kind == "cidr")):
        try:
            network = ipaddress.ip_network(value, strict=False)
        except ValueError:
            continue
        if ip.version == network.version and ip in network and (
                best is None or network.prefixlen > best[0]):
            best = (network.prefixlen, organisation_id)
    return best[1] if best is not None else None
