"""The darknet report of what the store holds, for a time range, some sensors and ports.

``sensors.report`` draws a series table and findings; a month of a national darknet's
stored series is tens of millions of (bucket, sensor, port) rows, so the table is not read
whole. The figures of the whole range (totals, each sensor's packets and busiest port, the
top ports, packets per bucket) are aggregate queries (``Figures``), and the series read is
that of the charted ports only: the top ports, each sensor's busiest ports (its heat map)
and the risen ones. Findings are read as a stream in one pass (``report.summarise``).

Every run's counts of a bucket are taken together as ``service.series`` does: packets add
up, unique sources are the largest run's count. One bucket width is reported (the charts
draw one time axis): the one asked for, else the one with most rows in the range.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import distinct, func, or_, select
from sqlalchemy.orm import Session

from renkei.core.time import as_utc
from renkei.sensors import plots, report, service
from renkei.sensors.findings import PROTOCOL_NAMES, Finding, FindingKind
from renkei.sensors.geo import Geo
from renkei.sensors.store import FindingRow, SeriesRow

#: Ports per ``IN (...)`` list when reading the charted ports' series.
PORTS_PER_QUERY = 500
FINDINGS_PER_READ = 2_000
_PROTOCOLS = {name: number for number, name in enumerate(PROTOCOL_NAMES)}
_SERIES_SCHEMA: dict[str, pl.DataType] = {
    "bucket": pl.Datetime("us", "UTC"), "sensor": pl.Int64(), "proto": pl.Int64(),
    "port": pl.Int64(), "packets": pl.Int64(), "sources": pl.Int64(),
    "research_packets": pl.Int64(), "research_sources": pl.Int64()}


@dataclass(frozen=True)
class Scope:
    """What a report covers: buckets in [since, until), these sensors (every one when
    empty) and these ports (every one when empty)."""

    since: datetime | None = None
    until: datetime | None = None
    sensors: tuple[str, ...] = ()
    ports: tuple[int, ...] = ()
    width: int | None = None


@dataclass(frozen=True)
class Gathered:
    """What ``report.summarise`` and the outputs take, read from the store."""

    series: pl.DataFrame            # the charted ports' series (sensors as report indexes)
    figures: report.Figures
    sensors: list[report.SensorInfo]
    period: tuple[datetime, datetime] | None
    width: int | None               # None: no series in the scope
    session: Session
    scope: Scope
    ids: list[int]                  # sensor id per report index

    def findings(self) -> Iterator[Finding]:
        """The stored findings in the scope, as a stream (one read)."""
        return _findings(self.session, self.scope, self.ids)


def gather(session: Session, scope: Scope) -> Gathered:
    """Read what a report of ``scope`` needs; unknown sensors are refused."""
    chosen = ([service.require_sensor(session, name) for name in dict.fromkeys(scope.sensors)]
              if scope.sensors else service.sensors_of(session))
    chosen = sorted(chosen, key=lambda s: s.name)
    ids = [s.id for s in chosen]
    infos: list[report.SensorInfo] = [(s.name, s.site, s.address_count) for s in chosen]
    since = as_utc(scope.since) if scope.since is not None else None
    until = as_utc(scope.until) if scope.until is not None else None
    scope = Scope(since, until, scope.sensors, scope.ports, scope.width)
    width = scope.width if scope.width is not None else _commonest_width(session, scope, ids)
    period = _period(session, scope, ids, width)
    if width is None:
        empty = _frame([], scope.width or 3600)
        return Gathered(empty, report.Figures.of(empty), infos, period, None, session, scope,
                        ids)
    index = {sensor_id: i for i, sensor_id in enumerate(ids)}
    base = _where(scope, ids, width)
    figures, shown = _figures(session, base, index)
    shown |= _risen_ports(session, scope, ids)
    series = _series(session, base, index, sorted(shown), width)
    return Gathered(series, figures, infos, period, width, session, scope, ids)


def _where(scope: Scope, ids: Sequence[int], width: int) -> list[Any]:
    conditions: list[Any] = [SeriesRow.width == width, SeriesRow.sensor_id.in_(ids)]
    if scope.since is not None:
        conditions.append(SeriesRow.bucket >= scope.since)
    if scope.until is not None:
        conditions.append(SeriesRow.bucket < scope.until)
    if scope.ports:
        conditions.append(SeriesRow.port.in_(sorted(set(scope.ports))))
    return conditions


def _commonest_width(session: Session, scope: Scope, ids: Sequence[int]) -> int | None:
    """The bucket width with most stored rows in the scope; None for no rows."""
    conditions = _where(scope, ids, 0)[1:]
    counts = session.execute(select(SeriesRow.width, func.count())
                             .where(*conditions).group_by(SeriesRow.width)).all()
    if not counts:
        return None
    return int(Counter({int(w): int(n) for w, n in counts}).most_common(1)[0][0])


def _figures(session: Session, base: list[Any], index: dict[int, int],
             ) -> tuple[report.Figures, set[tuple[int, int]]]:
    """The figures of the whole scope, and the ports the charts draw: the top ports and
    each sensor's busiest (its heat map's rows)."""
    packets = func.sum(SeriesRow.packets)
    per_sensor = session.execute(
        select(SeriesRow.sensor_id, packets, func.sum(SeriesRow.research_packets),
               func.max(SeriesRow.sources)).where(*base).group_by(SeriesRow.sensor_id)).all()
    rank = func.row_number().over(partition_by=SeriesRow.sensor_id,
                                  order_by=(packets.desc(), SeriesRow.proto, SeriesRow.port))
    ranked = (select(SeriesRow.sensor_id, SeriesRow.proto, SeriesRow.port, rank.label("rank"))
              .where(*base).group_by(SeriesRow.sensor_id, SeriesRow.proto, SeriesRow.port)
              .subquery())
    busy = session.execute(select(ranked.c.sensor_id, ranked.c.proto, ranked.c.port,
                                  ranked.c.rank)
                           .where(ranked.c.rank <= report.TOP_PORTS)).all()
    top = session.execute(
        select(SeriesRow.proto, SeriesRow.port, packets, func.sum(SeriesRow.research_packets),
               func.max(SeriesRow.sources), func.count(distinct(SeriesRow.sensor_id)))
        .where(*base).group_by(SeriesRow.proto, SeriesRow.port)
        .order_by(packets.desc(), SeriesRow.proto, SeriesRow.port)
        .limit(report.TOP_PORTS)).all()
    per_bucket = session.execute(select(SeriesRow.bucket, packets).where(*base)
                                 .group_by(SeriesRow.bucket).order_by(SeriesRow.bucket)).all()
    ports = pl.DataFrame(
        [(int(p), int(port), int(n), int(r), int(peak), int(k)) for p, port, n, r, peak, k in top],
        schema={"proto": pl.Int64(), "port": pl.Int64(), "packets": pl.Int64(),
                "research_packets": pl.Int64(), "peak_sources": pl.Int64(),
                "sensors": pl.Int64()}, orient="row")
    totals = pl.DataFrame([(as_utc(b), int(n)) for b, n in per_bucket],
                          schema={"bucket": pl.Datetime("us", "UTC"), "packets": pl.Int64()},
                          orient="row")
    figures = report.Figures(
        packets=sum(int(n) for _, n, _, _ in per_sensor),
        research_packets=sum(int(r) for _, _, r, _ in per_sensor),
        peak_sources=max((int(peak) for _, _, _, peak in per_sensor), default=0),
        sensor_packets={index[s]: int(n) for s, n, _, _ in per_sensor},
        busiest={index[s]: plots.port_label(p, port) for s, p, port, rank in busy if rank == 1},
        ports=ports, bucket_packets=totals)
    shown = {(int(p), int(port)) for _, p, port, _ in busy}
    shown |= {(int(p), int(port)) for p, port, *_ in top}
    return figures, shown


def _finding_filter(scope: Scope, ids: Sequence[int]) -> list[Any]:
    """Findings of the sensors (campaigns checked when read) that overlap the range."""
    conditions: list[Any] = [or_(FindingRow.sensor_id.in_(ids), FindingRow.sensor_id.is_(None))]
    if scope.since is not None:
        conditions.append(FindingRow.last >= scope.since)
    if scope.until is not None:
        conditions.append(FindingRow.first < scope.until)
    return conditions


def _risen_ports(session: Session, scope: Scope, ids: Sequence[int]) -> set[tuple[int, int]]:
    """The (proto, port) of the rises in the scope: the rising-ports chart draws them."""
    stmt = (select(FindingRow.protocol, FindingRow.port).distinct()
            .where(FindingRow.kind == str(FindingKind.RISE), *_finding_filter(scope, ids)))
    return {(_PROTOCOLS.get(protocol, 0), port or 0) for protocol, port in session.execute(stmt)
            if not scope.ports or (port or 0) in scope.ports}


def _series(session: Session, base: list[Any], index: dict[int, int],
            shown: Sequence[tuple[int, int]], width: int) -> pl.DataFrame:
    """The series of the ``shown`` ports, every run's counts of a bucket together."""
    rows: list[tuple[Any, ...]] = []
    wanted = set(shown)
    ports = sorted({port for _, port in shown})
    for start in range(0, len(ports), PORTS_PER_QUERY):
        stmt = (select(SeriesRow.bucket, SeriesRow.sensor_id, SeriesRow.proto, SeriesRow.port,
                       func.sum(SeriesRow.packets), func.max(SeriesRow.sources),
                       func.sum(SeriesRow.research_packets),
                       func.max(SeriesRow.research_sources))
                .where(*base, SeriesRow.port.in_(ports[start:start + PORTS_PER_QUERY]))
                .group_by(SeriesRow.bucket, SeriesRow.sensor_id, SeriesRow.proto,
                          SeriesRow.port))
        rows += [(as_utc(bucket), index[sensor], proto, port, int(packets), int(sources),
                  int(research_packets), int(research_sources))
                 for bucket, sensor, proto, port, packets, sources, research_packets,
                 research_sources in session.execute(stmt) if (proto, port) in wanted]
    return _frame(rows, width)


def _frame(rows: list[tuple[Any, ...]], width: int) -> pl.DataFrame:
    """The series table ``plots`` and ``report`` take."""
    frame = pl.DataFrame(rows, schema=_SERIES_SCHEMA, orient="row")
    return frame.sort(["bucket", "sensor", "proto", "port"]).with_columns(
        width=pl.lit(width, dtype=pl.Int64))


def _period(session: Session, scope: Scope, ids: Sequence[int],
            width: int | None) -> tuple[datetime, datetime] | None:
    """[since, until) as asked, an open end closed by the stored buckets and findings;
    None when there is neither."""
    moments: list[datetime] = []
    if width is not None:
        first, last = session.execute(select(func.min(SeriesRow.bucket),
                                             func.max(SeriesRow.bucket))
                                      .where(*_where(scope, ids, width))).one()
        if first is not None:
            moments += [as_utc(first), as_utc(last) + timedelta(seconds=width)]
    first, last = session.execute(select(func.min(FindingRow.first), func.max(FindingRow.last))
                                  .where(*_finding_filter(scope, ids))).one()
    if first is not None:
        moments += [as_utc(first), as_utc(last)]
    if not moments and (scope.since is None or scope.until is None):
        return None
    start = scope.since if scope.since is not None else min(moments)
    end = scope.until if scope.until is not None else max(moments)
    return start, end


def _findings(session: Session, scope: Scope, ids: Sequence[int]) -> Iterator[Finding]:
    index = {sensor_id: i for i, sensor_id in enumerate(ids)}
    wanted = set(ids)
    stmt = (
        select(FindingRow).where(*_finding_filter(scope, ids))
        .order_by(FindingRow.first, FindingRow.id)
        .execution_options(yield_per=FINDINGS_PER_READ))
    ports = set(scope.ports)
    for row in session.scalars(stmt):
        if row.sensor_id is None and not wanted & set(row.sensors):
            continue    # a campaign at none of the chosen sensors
        if ports and not ports & set(row.ports or [0]):
            continue    # a port without a number (ICMP) is port 0, as in the series
        yield _finding(row, index)


def _finding(row: FindingRow, index: dict[int, int]) -> Finding:
    details = row.details
    return Finding(
        kind=FindingKind(row.kind), first=as_utc(row.first), last=as_utc(row.last),
        protocol=row.protocol, ports=[int(p) for p in row.ports],
        src=ipaddress.ip_address(row.src) if row.src else None,
        sensor=index.get(row.sensor_id) if row.sensor_id is not None else None,
        sensors=sorted(index[i] for i in row.sensors if i in index),
        packet_class=str(details.get("packet_class") or ""),
        fingerprints=list(row.fingerprints), labels=list(row.labels), packets=int(row.packets),
        bytes=int(details.get("bytes") or 0), unique_dsts=int(details.get("unique_dsts") or 0),
        unique_srcs=int(details.get("unique_srcs") or 0), rate_pps=float(row.rate_pps),
        estimated_pps=details.get("estimated_pps"), baseline=details.get("baseline"),
        threshold=details.get("threshold"))


def summary(gathered: Gathered, *, lang: str, geo: Geo | None) -> report.Summary:
    """``report.summarise`` of what was gathered (the findings read once)."""
    return report.summarise(gathered.series, gathered.findings(), lang=lang,
                            sensors=gathered.sensors, geo=geo, period=gathered.period,
                            figures=gathered.figures)
