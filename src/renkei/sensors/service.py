"""What the CLI and API ask of the sensors domain: sensors, members' address space,
ingesting captures, and reading back the series and findings.

``ingest`` hands the captures to ``sensors.pipeline`` and keeps what it returns; the
analysis never reads the database. Rises and campaigns are then judged on the stored
history (``sensors.history``), not on the run alone: a network's captures come an hour or
a day at a time, and a port's baseline is the week before. A capture already ingested for
the same sensor (same SHA-256) is skipped, so re-ingesting is idempotent; a file that is
not a capture is a problem of the run, never its end.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, insert, or_, select
from sqlalchemy.orm import Session

from renkei.core import audit, orgs
from renkei.core.errors import UserError
from renkei.core.text import has_control_characters
from renkei.core.time import Clock, as_utc
from renkei.sensors.analyse import Thresholds
from renkei.sensors.findings import Finding, FindingKind
from renkei.sensors.model import ReadStats
from renkei.sensors.read import CaptureError, detect_format
from renkei.sensors.research import ResearchScanners
from renkei.sensors.store import (
    NAME_MAX,
    SITE_MAX,
    FindingRow,
    IngestFile,
    IngestProblem,
    IngestRun,
    MemberRange,
    Sensor,
    SeriesRow,
)

NAME_PATTERN = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{NAME_MAX - 1}}}")
DEFAULT_THRESHOLDS = Thresholds()
MAX_BLOCKS = 1_000
MAX_QUERY_ROWS = 100_000
KEPT_PROBLEMS = 1_000
ASN_PATTERN = re.compile(r"AS(\d{1,10})", re.IGNORECASE)
HASH_CHUNK = 1 << 20
INSERT_ROWS = 5_000


class SensorsError(UserError):
    """Bad input to the sensors domain (name, block, range, capture list)."""


class NotFoundError(UserError):
    status = 404


# --- sensors -------------------------------------------------------------------------------


def parse_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """A CIDR block; host bits set (``192.0.2.1/24``) is refused as a likely mistake."""
    value = text.strip()
    try:
        return ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise SensorsError("{value} is not a CIDR block such as 192.0.2.0/24",
                           value=repr(value[:60])) from None


def ipv4_addresses(blocks: Sequence[str]) -> int:
    """IPv4 addresses the blocks cover, overlaps counted once."""
    v4 = [n for n in map(ipaddress.ip_network, blocks) if isinstance(n, ipaddress.IPv4Network)]
    return sum(n.num_addresses for n in ipaddress.collapse_addresses(v4))


def clean_sensor_name(name: str) -> str:
    clean = name.strip()
    if not NAME_PATTERN.fullmatch(clean):
        raise SensorsError("a sensor name is 1 to 100 of A-Z, a-z, 0-9, '.', '_' and '-', "
                           "starting with a letter or digit")
    return clean


def register_sensor(session: Session, clock: Clock, name: str, *, site: str, owner: str,
                    blocks: Sequence[str], actor: str | None = None,
                    source: str = "cli") -> Sensor:
    """Register a sensor with the blocks it watches; names are unique."""
    clean = clean_sensor_name(name)
    site = site.strip()
    if len(site) > SITE_MAX or has_control_characters(site):
        raise SensorsError("a site is at most 200 characters without control characters")
    if not blocks:
        raise SensorsError("a sensor watches at least one block (--block CIDR)")
    if len(blocks) > MAX_BLOCKS:
        raise SensorsError("a sensor watches at most {limit} blocks", limit=MAX_BLOCKS)
    networks = sorted({parse_network(b) for b in blocks},
                      key=lambda n: (n.version, int(n.network_address), n.prefixlen))
    organisation = orgs.require(session, owner)
    if session.scalar(select(Sensor.id).where(Sensor.name == clean)) is not None:
        raise SensorsError("sensor {name} already exists", name=clean)
    texts = [str(n) for n in networks]
    now = clock.now()
    sensor = Sensor(name=clean, site=site, owner_id=organisation.id, blocks=texts,
                    address_count=ipv4_addresses(texts), created_at=now, updated_at=now)
    session.add(sensor)
    session.flush()
    audit.record(session, clock, action="sensors.register", actor=actor, source=source,
                 target=f"sensor:{sensor.id}", organisation_id=organisation.id,
                 details={"name": clean, "site": site, "blocks": texts[:50],
                          "addresses": sensor.address_count})
    return sensor


def sensors_of(session: Session, owner_id: int | None = None) -> list[Sensor]:
    """Sensors by name; one owner's when ``owner_id`` is given."""
    stmt = select(Sensor).order_by(Sensor.name)
    if owner_id is not None:
        stmt = stmt.where(Sensor.owner_id == owner_id)
    return list(session.scalars(stmt))


def require_sensor(session: Session, name: str) -> Sensor:
    sensor = session.scalar(select(Sensor).where(Sensor.name == name.strip()))
    if sensor is None:
        raise NotFoundError("no sensor {name}", name=repr(name[:100]))
    return sensor


# --- members' address space ----------------------------------------------------------------


def parse_range(text: str) -> tuple[str, str]:
    """``("cidr", "192.0.2.0/24")`` or ``("asn", "AS64500")``."""
    value = text.strip()
    asn = ASN_PATTERN.fullmatch(value)
    if asn:
        number = int(asn.group(1))
        if not 0 < number < 2**32:
            raise SensorsError("{value} is not an AS number (1 to 4294967295)",
                               value=repr(value[:60]))
        return "asn", f"AS{number}"
    return "cidr", str(parse_network(value))


def add_member_range(session: Session, clock: Clock, organisation: str, value: str, *,
                     actor: str | None = None, source: str = "cli") -> tuple[MemberRange, bool]:
    """Register a range or AS number for a member. Returns the row and whether it is new;
    the same member registering it again changes nothing, another member's is refused."""
    kind, clean = parse_range(value)
    member = orgs.require(session, organisation)
    held = session.scalar(select(MemberRange).where(MemberRange.kind == kind,
                                                    MemberRange.value == clean))
    if held is not None:
        if held.organisation_id != member.id:
            raise SensorsError("{value} is already registered to another organisation",
                               value=clean)
        return held, False
    row = MemberRange(organisation_id=member.id, kind=kind, value=clean,
                      created_at=clock.now())
    session.add(row)
    session.flush()
    audit.record(session, clock, action="sensors.range.add", actor=actor, source=source,
                 target=f"range:{row.id}", organisation_id=member.id,
                 details={"kind": kind, "value": clean})
    return row, True


def ranges_of(session: Session, organisation_id: int | None = None) -> list[MemberRange]:
    stmt = select(MemberRange).order_by(MemberRange.organisation_id, MemberRange.kind,
                                        MemberRange.value)
    if organisation_id is not None:
        stmt = stmt.where(MemberRange.organisation_id == organisation_id)
    return list(session.scalars(stmt))


# --- ingest -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SensorCapture:
    """A capture file and the name of the sensor that recorded it."""

    path: Path
    sensor: str


@dataclass
class Problem:
    path: str
    reason: str
    offset: int | None = None
    record: int | None = None

    def __str__(self) -> str:
        if self.offset is None:
            return f"{self.path}: {self.reason}"
        return f"{self.path}: record {self.record} at byte {self.offset}: {self.reason}"


@dataclass
class IngestResult:
    """What a run read, skipped and kept; ``read`` lists (path, format, packets, skipped)."""

    run_id: int | None = None
    read: list[tuple[str, str, int, int]] = field(default_factory=list)
    already: list[str] = field(default_factory=list)      # ingested before for that sensor
    unreadable: list[str] = field(default_factory=list)   # not a capture, or missing
    problems: list[Problem] = field(default_factory=list)
    packets: int = 0
    findings: int = 0             # rows added: scanners, backscatter, new rises and campaigns
    findings_updated: int = 0     # stored rises and campaigns the new history changed
    findings_removed: int = 0     # stored rises and campaigns it no longer bears out
    series_rows: int = 0

    def counts(self) -> dict[str, int]:
        return {"read": len(self.read), "already": len(self.already),
                "unreadable": len(self.unreadable), "packets": self.packets,
                "skipped": sum(r[3] for r in self.read), "problems": len(self.problems),
                "findings": self.findings, "findings_updated": self.findings_updated,
                "findings_removed": self.findings_removed, "series_rows": self.series_rows}


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def finding_row(run_id: int, finding: Finding, ids: Sequence[int]) -> dict[str, Any]:
    """A finding as a ``FindingRow``'s values, its sensor indexes as the ids ``ids`` name
    (``sensors.history`` stores rises and campaigns the same way)."""
    def sensor_id(index: int | None) -> int | None:
        return ids[index] if index is not None and 0 <= index < len(ids) else None

    body = finding.to_json()
    details = {k: body[k] for k in ("packet_class", "bytes", "unique_dsts", "unique_srcs",
                                    "estimated_pps", "baseline", "threshold")}
    return {"run_id": run_id, "kind": str(finding.kind), "src": body["src"],
            "port": finding.ports[0] if finding.ports else None, "ports": list(finding.ports),
            "protocol": finding.protocol[:10], "fingerprints": list(finding.fingerprints),
            "labels": list(finding.labels), "packets": int(finding.packets),
            "first": finding.first, "last": finding.last,
            "sensor_id": sensor_id(finding.sensor),
            "sensors": [i for i in map(sensor_id, finding.sensors) if i is not None],
            "rate_pps": float(finding.rate_pps), "details": details}


def ingest(session: Session, clock: Clock, captures: Sequence[SensorCapture], *,
           research: ResearchScanners | None = None, thresholds: Thresholds = DEFAULT_THRESHOLDS,
           bucket: str = "1h", on_packets: Callable[[int], None] | None = None,
           actor: str | None = None, source: str = "cli") -> IngestResult:
    """Analyse captures of registered sensors and keep the series, findings and the run;
    then judge rises and campaigns on the stored history of the buckets the run touched."""
    from renkei.sensors import history
    from renkei.sensors.pipeline import Capture, analyse_captures

    if not captures:
        raise SensorsError("give at least one capture")
    width = checked_bucket_seconds(bucket)
    known = {c.sensor: require_sensor(session, c.sensor) for c in captures}
    sensors = sorted(known.values(), key=lambda s: s.name)
    index = {s.id: i for i, s in enumerate(sensors)}
    result = IngestResult()
    wanted: list[tuple[Capture, Sensor, str, str]] = []
    seen: set[tuple[int, str]] = set()
    for capture in captures:
        sensor, path = known[capture.sensor], Path(capture.path)
        try:
            digest = file_digest(path)
            detected = detect_format(path).value
        except CaptureError as error:
            result.unreadable.append(str(path))
            result.problems.append(Problem(str(path), str(error).removeprefix(f"{path}: ")))
            continue
        except OSError as error:
            result.unreadable.append(str(path))
            result.problems.append(Problem(str(path), f"cannot read ({error.strerror or error})"))
            continue
        held = session.scalar(select(IngestFile.id).where(IngestFile.sensor_id == sensor.id,
                                                          IngestFile.digest == digest))
        if held is not None or (sensor.id, digest) in seen:
            result.already.append(str(path))
            continue
        seen.add((sensor.id, digest))
        wanted.append((Capture(path, sensor=index[sensor.id]), sensor, digest, detected))
    now = clock.now()
    run = IngestRun(started_at=now, actor=actor or audit.current_actor(),
                    bucket_s=width, paths=[str(c.path) for c in captures][:1000],
                    counts={})
    session.add(run)
    session.flush()
    result.run_id = run.id
    if wanted:
        analysis = analyse_captures([w[0] for w in wanted],
                                    sizes=[s.address_count for s in sensors]
                                    if any(s.address_count for s in sensors) else None,
                                    thresholds=thresholds, research=research, bucket=bucket,
                                    rise_bucket=bucket, on_packets=on_packets,
                                    find_rises=False)
        ids = [s.id for s in sensors]
        stats: list[ReadStats | None] = list(analysis.stats)  # one per capture, in order
        stats += [None] * (len(wanted) - len(stats))
        for (read, sensor, digest, fmt), stat in zip(wanted, stats, strict=False):
            packets = stat.packets if stat is not None else 0
            skipped = stat.skipped if stat is not None else 0
            result.read.append((str(read.path), fmt, packets, skipped))
            session.add(IngestFile(run_id=run.id, sensor_id=sensor.id, path=str(read.path),
                                   digest=digest, format=fmt, packets=packets, skipped=skipped,
                                   truncated=bool(stat and stat.truncated)))
            for problem in stat.problems if stat is not None else []:
                result.problems.append(Problem(problem.path, problem.reason, problem.offset,
                                               problem.record))
        result.packets = int(analysis.packets)
        result.series_rows = _keep_series(session, run.id, analysis.counts.frames(INSERT_ROWS),
                                          ids)
        result.findings = _keep_findings(session, run.id, analysis.findings, ids)
        span = history.touched(analysis.counts.starts_ns())
        if span is not None:
            kept = np.unique(analysis.counts.column("sensor"))
            judged = history.judge(session, run.id, [ids[int(i)] for i in kept if i < len(ids)],
                                   *span, width)
            result.findings += judged.inserted
            result.findings_updated = judged.updated
            result.findings_removed = judged.removed
    if result.problems:
        session.execute(insert(IngestProblem), [
            {"run_id": run.id, "path": p.path[:2000], "offset": p.offset, "record": p.record,
             "reason": p.reason[:2000]} for p in result.problems[:KEPT_PROBLEMS]])
    run.counts = result.counts()
    run.finished_at = clock.now()
    audit.record(session, clock, action="sensors.ingest", actor=actor, source=source,
                 target=f"run:{run.id}", details={**run.counts,
                                                  "sensors": [s.name for s in sensors][:50]})
    session.flush()
    return result


def checked_bucket_seconds(bucket: str) -> int:
    """A bucket name's width in seconds; a SensorsError (not a KeyError) naming a wrong one."""
    from renkei.sensors.series import bucket_seconds

    try:
        return bucket_seconds(bucket)
    except (KeyError, ValueError):
        raise SensorsError("a bucket is 5m, 1h or 1d, not {bucket}",
                           bucket=repr(bucket[:20])) from None


def _keep_series(session: Session, run_id: int, frames: Iterable[Any], ids: Sequence[int]) -> int:
    """Insert the series, slice by slice (a run's series can be millions of rows)."""
    columns = ["bucket", "width", "sensor", "proto", "port", "packets", "sources",
               "research_packets", "research_sources"]
    kept = 0
    for frame in frames:
        rows = [{"bucket": bucket, "width": int(width), "sensor_id": ids[int(sensor)],
                 "proto": int(proto), "port": int(port), "run_id": run_id,
                 "packets": int(packets), "sources": int(sources),
                 "research_packets": int(research_packets),
                 "research_sources": int(research_sources)}
                for bucket, width, sensor, proto, port, packets, sources, research_packets,
                research_sources in frame.select(columns).iter_rows()
                if int(sensor) < len(ids)]
        for start in range(0, len(rows), INSERT_ROWS):
            session.execute(insert(SeriesRow), rows[start:start + INSERT_ROWS])
        kept += len(rows)
    return kept


def _keep_findings(session: Session, run_id: int, findings: Iterable[Finding],
                   ids: Sequence[int]) -> int:
    """Insert the findings in batches, made as they are read (see ``LazyFindings``)."""
    kept = 0
    batch: list[dict[str, Any]] = []
    for finding in findings:
        batch.append(finding_row(run_id, finding, ids))
        if len(batch) == INSERT_ROWS:
            session.execute(insert(FindingRow), batch)
            kept += len(batch)
            batch = []
    if batch:
        session.execute(insert(FindingRow), batch)
        kept += len(batch)
    return kept


# --- queries -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeriesPoint:
    """One bucket of one sensor, protocol and port, every run's counts together."""

    bucket: datetime
    width: int
    sensor: str
    proto: int
    port: int
    packets: int
    sources: int
    sources_exact: bool     # False when several runs counted the bucket: a lower bound
    research_packets: int
    research_sources: int
    per_address: float | None

    def to_json(self) -> dict[str, object]:
        from renkei.sensors.findings import protocol_name

        return {"bucket": self.bucket.isoformat(), "width": self.width, "sensor": self.sensor,
                "protocol": protocol_name(self.proto), "port": self.port,
                "packets": self.packets, "sources": self.sources,
                "sources_exact": self.sources_exact, "research_packets": self.research_packets,
                "research_sources": self.research_sources, "per_address": self.per_address}


def _aware(moment: datetime | None) -> datetime | None:
    """UTC; a time without an offset is taken as UTC."""
    return as_utc(moment) if moment is not None else None


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_QUERY_ROWS:
        raise SensorsError("a limit is 1 to {most}", most=MAX_QUERY_ROWS)
    return limit


def series(session: Session, *, port: int | None = None, sensor: str | None = None,
           proto: int | None = None, since: datetime | None = None,
           until: datetime | None = None, limit: int = 10_000) -> list[SeriesPoint]:
    """The stored series by time range (bucket start in [since, until)), port and sensor."""
    since, until = _aware(since), _aware(until)

    stmt = (select(SeriesRow.bucket, SeriesRow.width, Sensor.name, Sensor.address_count,
                   SeriesRow.proto, SeriesRow.port, func.sum(SeriesRow.packets),
                   func.max(SeriesRow.sources), func.count(SeriesRow.run_id),
                   func.sum(SeriesRow.research_packets), func.max(SeriesRow.research_sources))
            .join(Sensor, Sensor.id == SeriesRow.sensor_id)
            .group_by(SeriesRow.bucket, SeriesRow.width, Sensor.name, Sensor.address_count,
                      SeriesRow.proto, SeriesRow.port)
            .order_by(SeriesRow.bucket, Sensor.name, SeriesRow.proto, SeriesRow.port)
            .limit(_limit(limit)))
    if sensor is not None:
        stmt = stmt.where(SeriesRow.sensor_id == require_sensor(session, sensor).id)
    if port is not None:
        stmt = stmt.where(SeriesRow.port == port)
    if proto is not None:
        stmt = stmt.where(SeriesRow.proto == proto)
    if since is not None:
        stmt = stmt.where(SeriesRow.bucket >= since)
    if until is not None:
        stmt = stmt.where(SeriesRow.bucket < until)
    return [SeriesPoint(as_utc(bucket), width, name, proto_, port_, int(packets), int(sources),
                        runs == 1, int(rp), int(rs),
                        int(packets) / count if count else None)
            for bucket, width, name, count, proto_, port_, packets, sources, runs, rp, rs
            in session.execute(stmt)]


@dataclass(frozen=True)
class StoredFinding:
    row: FindingRow
    sensor: str | None
    sensors: list[str]

    def to_json(self) -> dict[str, Any]:
        """The shape of ``sensors analyse --json``, sensors by name, plus id and run."""
        row = self.row
        return {"kind": row.kind, "src": row.src, "ports": list(row.ports),
                "protocol": row.protocol, "packet_class": row.details.get("packet_class", ""),
                "fingerprints": list(row.fingerprints), "labels": list(row.labels),
                "packets": row.packets, "bytes": row.details.get("bytes", 0),
                "first": row.first.isoformat(), "last": row.last.isoformat(),
                "sensor": self.sensor, "sensors": self.sensors,
                "unique_dsts": row.details.get("unique_dsts", 0),
                "unique_srcs": row.details.get("unique_srcs", 0), "rate_pps": row.rate_pps,
                "estimated_pps": row.details.get("estimated_pps"),
                "baseline": row.details.get("baseline"),
                "threshold": row.details.get("threshold"), "id": row.id, "run": row.run_id}


def parse_kind(kind: str) -> FindingKind:
    try:
        return FindingKind(kind.strip().lower())
    except ValueError:
        raise SensorsError("a finding kind is one of {kinds}",
                           kinds=", ".join(k.value for k in FindingKind)) from None


def findings(session: Session, *, kinds: Sequence[FindingKind] = (), port: int | None = None,
             sensor: str | None = None, src: str | None = None,
             since: datetime | None = None, until: datetime | None = None,
             limit: int = 10_000) -> list[StoredFinding]:
    """Stored findings overlapping [since, until), newest first; by kind, port, sensor
    (a campaign matches each of its sensors) and source address."""
    since, until = _aware(since), _aware(until)
    stmt = select(FindingRow).order_by(FindingRow.last.desc(), FindingRow.id.desc())
    if kinds:
        stmt = stmt.where(FindingRow.kind.in_([str(k) for k in kinds]))
    if port is not None:
        stmt = stmt.where(FindingRow.port == port)
    if src is not None:
        try:
            stmt = stmt.where(FindingRow.src == str(ipaddress.ip_address(src.strip())))
        except ValueError:
            raise SensorsError("{value} is not an IP address", value=repr(src[:60])) from None
    if since is not None:
        stmt = stmt.where(FindingRow.last >= since)
    if until is not None:
        stmt = stmt.where(FindingRow.first < until)
    wanted = require_sensor(session, sensor).id if sensor is not None else None
    if wanted is not None:  # a campaign (no single sensor) is checked below
        stmt = stmt.where(or_(FindingRow.sensor_id == wanted, FindingRow.sensor_id.is_(None)))
    names: dict[int, str] = dict(session.execute(select(Sensor.id, Sensor.name)).all())
    out: list[StoredFinding] = []
    limit = _limit(limit)
    for chunk in session.scalars(stmt.execution_options(yield_per=2_000)).partitions():
        for row in chunk:
            if wanted is not None and row.sensor_id != wanted and wanted not in row.sensors:
                continue
            out.append(StoredFinding(row, names.get(row.sensor_id) if row.sensor_id else None,
                                     [names.get(i, str(i)) for i in row.sensors]))
            if len(out) >= limit:
                return out
    return out
