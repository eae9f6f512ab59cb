"""Rises and campaigns judged on the stored history of each port, after every ingest.

A sensor network delivers its captures an hour or a day at a time, each ingested in a run
of its own, while a port's baseline is the week of buckets before (``rises``): judged
within one run, a day's file would never have the history it needs. So the store judges
them. After a run keeps its series, ``judge`` takes the sensors the run touched and the
buckets from its first to its last one plus the ``window`` buckets after (their baseline
now holds the new counts), reads the stored series of the ports that could rise there
(``min_sources`` in some bucket) together with the ``window`` buckets before as baseline,
and calls the same ``rises`` as ``analyse``. Each sensor's buckets are known from its first
stored bucket on, so captures ingested in several runs give the rises the same captures
give analysed at once, when no bucket is split between runs.

What it finds is reconciled with the stored rise findings of that span: a rise found again
is updated in place (same id: an incident that cites it still does), a new one inserted, one
no longer found removed (only a capture ingested out of time order can make a baseline
rise under a stored rise). Re-ingesting a file is skipped before this; judging the same
history again changes nothing. Then the campaigns of each port whose rises changed are
recomputed from that port's stored rises at every sensor (the chains of rises closer than
a day that touch the span, followed as far as they go) and reconciled the same way.

A bucket that several runs counted has as its sources the largest run's count, as
``service.series`` shows it: a lower bound, so a rise there is never overstated. The
sensors' rows are locked first (PostgreSQL), so that two ingests do not judge the same
port at once and store a rise or a campaign twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from renkei.core.time import as_utc
from renkei.sensors import rises as judge_rises
from renkei.sensors.events import NS
from renkei.sensors.findings import PROTOCOL_NAMES, Finding, FindingKind, utc
from renkei.sensors.store import FindingRow, Sensor, SeriesRow

#: Ports per ``IN (...)`` list when reading a sensor's series.
PORTS_PER_QUERY = 500
_PROTOCOLS = {name: number for number, name in enumerate(PROTOCOL_NAMES)}
_UPDATED = ("last", "packets", "ports", "port", "sensors", "details")
Group = tuple[int, int, int]            # (sensor id, proto, port)


@dataclass
class Judged:
    """What judging changed among the stored rise and campaign findings."""

    inserted: int = 0
    updated: int = 0
    removed: int = 0

    def add(self, other: Judged) -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.removed += other.removed


def _ns(moment: datetime) -> int:
    return int(as_utc(moment).timestamp()) * NS


def _port_key(row: FindingRow) -> tuple[str, int | None]:
    return row.protocol, row.port


def _of_width(row: FindingRow, width: int) -> bool:
    """Whether a stored rise or campaign was judged on buckets of ``width`` seconds. Rows
    kept before the width was noted in ``details`` (judged within one run) tell it by
    their span if a rise, and are taken as of any width if a campaign, to be replaced."""
    noted = row.details.get("width")
    if isinstance(noted, int):
        return noted == width
    if row.kind == FindingKind.RISE:
        return (as_utc(row.last) - as_utc(row.first)).total_seconds() == width
    return True


def judge(session: Session, run_id: int, sensor_ids: Iterable[int], first: datetime,
          last: datetime, width: int) -> Judged:
    """Re-judge the rises of the sensors ``sensor_ids`` from bucket ``first`` to bucket
    ``last`` (starts, width ``width`` seconds) and the ``rises.WINDOW`` buckets after,
    then the campaigns of the ports whose rises changed. New rows are the run's."""
    ids = sorted(set(sensor_ids))
    if not ids:
        return Judged()
    # one judge at a time (a no-op on SQLite, whose writers take turns anyway). NO KEY
    # UPDATE: it waits for another judge, not for the key-share locks that the run's own
    # series rows took on their sensors (FOR UPDATE would deadlock two ingests there)
    session.execute(select(Sensor.id).order_by(Sensor.id).with_for_update(key_share=True)).all()
    step = timedelta(seconds=width)
    since = as_utc(first)
    until = as_utc(last) + (judge_rises.WINDOW + 1) * step
    history = since - judge_rises.WINDOW * step
    held = [row for row in session.scalars(
        select(FindingRow).where(FindingRow.kind == str(FindingKind.RISE),
                                 FindingRow.sensor_id.in_(ids),
                                 FindingRow.first >= since, FindingRow.first < until))
            if _of_width(row, width)]
    groups = _hot_groups(session, ids, since, until, width) | {
        (row.sensor_id, _PROTOCOLS.get(row.protocol, 0), row.port or 0)
        for row in held if row.sensor_id is not None}
    found = _rises(session, sorted(groups), history, since, until, width)
    judged, changed = _reconcile(session, run_id, held, found, width, _rise_key)
    for protocol, port in sorted(changed, key=lambda key: (key[0], key[1] or 0)):
        judged.add(_judge_campaigns(session, run_id, protocol, port, since, until, width))
    return judged


def _hot_groups(session: Session, ids: Sequence[int], since: datetime, until: datetime,
                width: int) -> set[Group]:
    """The (sensor, proto, port) with ``min_sources`` in some bucket of [since, until)."""
    value = func.max(SeriesRow.sources) - func.max(SeriesRow.research_sources)
    # "sensor_id + 0": the time range is the narrow part; read by the primary key (bucket
    # first), not the lookup index, whose sensor_id would walk the sensor's whole history
    stmt = (select(SeriesRow.sensor_id, SeriesRow.proto, SeriesRow.port)
            .where(SeriesRow.width == width, (SeriesRow.sensor_id + 0).in_(ids),
                   SeriesRow.bucket >= since, SeriesRow.bucket < until)
            .group_by(SeriesRow.sensor_id, SeriesRow.proto, SeriesRow.port, SeriesRow.bucket)
            .having(value >= judge_rises.MIN_SOURCES))
    return {(int(s), int(p), int(port)) for s, p, port in session.execute(stmt)}


def _origin(session: Session, sensor_id: int, history: datetime, width: int) -> datetime:
    """Where the sensor's known buckets begin, as far as ``history`` matters: ``history``
    when it has a bucket before, else its first bucket."""
    before = session.scalar(select(SeriesRow.bucket)
                            .where(SeriesRow.sensor_id == sensor_id, SeriesRow.width == width,
                                   SeriesRow.bucket < history).limit(1))
    if before is not None:
        return history
    start = session.scalar(select(func.min(SeriesRow.bucket))
                           .where(SeriesRow.sensor_id == sensor_id, SeriesRow.width == width))
    return as_utc(start) if start is not None else history


_SERIES_SCHEMA = {"bucket": pl.Datetime("us", "UTC"), "sensor": pl.UInt16(), "proto": pl.UInt8(),
                  "port": pl.UInt16(), "packets": pl.UInt64(), "sources": pl.UInt64(),
                  "research_packets": pl.UInt64(), "research_sources": pl.UInt64()}


def _series(session: Session, groups: Sequence[Group], sensor_ids: Sequence[int],
            history: datetime, until: datetime, width: int) -> pl.DataFrame:
    """The stored series of ``groups`` in [history, until), every run's counts together
    (``service.series``'s rule), sensors as their index in ``sensor_ids``."""
    rows: list[tuple[Any, ...]] = []
    for index, sensor_id in enumerate(sensor_ids):
        wanted = {(proto, port) for s, proto, port in groups if s == sensor_id}
        ports = sorted({port for _, port in wanted})
        for start in range(0, len(ports), PORTS_PER_QUERY):
            stmt = (select(SeriesRow.bucket, SeriesRow.proto, SeriesRow.port,
                           func.sum(SeriesRow.packets), func.max(SeriesRow.sources),
                           func.sum(SeriesRow.research_packets),
                           func.max(SeriesRow.research_sources))
                    .where(SeriesRow.width == width, SeriesRow.sensor_id == sensor_id,
                           SeriesRow.port.in_(ports[start:start + PORTS_PER_QUERY]),
                           SeriesRow.bucket >= history, SeriesRow.bucket < until)
                    .group_by(SeriesRow.bucket, SeriesRow.proto, SeriesRow.port))
            rows += [(as_utc(bucket), index, proto, port, int(packets), int(sources),
                      int(research_packets), int(research_sources))
                     for bucket, proto, port, packets, sources, research_packets,
                     research_sources in session.execute(stmt) if (proto, port) in wanted]
    frame = pl.DataFrame(rows, schema=_SERIES_SCHEMA, orient="row")
    return frame.with_columns(pl.col("bucket").dt.cast_time_unit("ns"),
                              width=pl.lit(width, dtype=pl.Int32))


def _rises(session: Session, groups: Sequence[Group], history: datetime, since: datetime,
           until: datetime, width: int) -> list[tuple[Finding, list[int]]]:
    """The rises of ``groups`` with first bucket in [since, until), each with the sensor
    ids its indexes stand for."""
    sensor_ids = sorted({group[0] for group in groups})
    if not sensor_ids:
        return []
    table = _series(session, groups, sensor_ids, history, until, width)
    if table.is_empty():
        return []
    origins = {index: _ns(_origin(session, sensor_id, history, width))
               for index, sensor_id in enumerate(sensor_ids)}
    found = judge_rises.rises(table, origins=origins, since_ns=_ns(since))
    return [(finding, sensor_ids) for finding in judge_rises.rise_findings(found)]


def _rise_key(row: dict[str, Any]) -> tuple[Any, ...]:
    return row["sensor_id"], row["protocol"], row["port"], as_utc(row["first"])


def _campaign_key(row: dict[str, Any]) -> tuple[Any, ...]:
    return row["protocol"], row["port"], as_utc(row["first"])


def _reconcile(session: Session, run_id: int, held: Sequence[FindingRow],
               found: Sequence[tuple[Finding, list[int]]], width: int,
               key: Any) -> tuple[Judged, set[tuple[str, int | None]]]:
    """Make the stored ``held`` rows the ``found`` findings: update, insert, remove.
    Returns the counts and the (protocol, port) of every row that changed."""
    from renkei.sensors.service import finding_row

    judged = Judged()
    changed: set[tuple[str, int | None]] = set()
    stored = {key(_as_dict(row)): row for row in held}
    new: list[dict[str, Any]] = []
    for finding, ids in found:
        body = finding_row(run_id, finding, ids)
        body["details"] = {**body["details"], "width": width}
        row = stored.pop(key(body), None)
        if row is None:
            new.append(body)
            changed.add((body["protocol"], body["port"]))
            continue
        if any(getattr(row, name) != body[name] for name in _UPDATED):
            for name in _UPDATED:
                setattr(row, name, body[name])
            judged.updated += 1
            changed.add(_port_key(row))
    if new:
        session.execute(insert(FindingRow), new)
        judged.inserted = len(new)
    if stored:
        changed.update(_port_key(row) for row in stored.values())
        session.execute(delete(FindingRow).where(
            FindingRow.id.in_([row.id for row in stored.values()])))
        judged.removed = len(stored)
    session.flush()
    return judged, changed


def _as_dict(row: FindingRow) -> dict[str, Any]:
    return {"sensor_id": row.sensor_id, "protocol": row.protocol, "port": row.port,
            "first": row.first}


def _port_rows(session: Session, kind: FindingKind, protocol: str, port: int | None,
               low: datetime, high: datetime, width: int) -> list[FindingRow]:
    """Stored findings of ``kind`` on one port that start in [low, high], of one width."""
    stmt = select(FindingRow).where(FindingRow.kind == str(kind), FindingRow.protocol == protocol,
                                    FindingRow.port == port if port is not None
                                    else FindingRow.port.is_(None),
                                    FindingRow.first >= low, FindingRow.first <= high)
    return [row for row in session.scalars(stmt) if _of_width(row, width)]


def _judge_campaigns(session: Session, run_id: int, protocol: str, port: int | None,
                     since: datetime, until: datetime, width: int) -> Judged:
    """Recompute the campaigns of one port from its stored rises at every sensor."""
    gap = timedelta(seconds=judge_rises.CAMPAIGN_GAP_S)
    low, high = since, until
    while True:     # follow the chains that touch [since, until) to their ends
        risen = _port_rows(session, FindingKind.RISE, protocol, port, low - gap, high + gap,
                           width)
        starts = [as_utc(row.first) for row in risen]
        if not starts or (min(starts) >= low and max(starts) <= high):
            break
        low, high = min(low, *starts), max(high, *starts)
    held = _port_rows(session, FindingKind.CAMPAIGN, protocol, port, low, high, width)
    found = _campaigns(risen, protocol, port, width)
    judged, _ = _reconcile(session, run_id, held, found, width, _campaign_key)
    return judged


def _campaigns(risen: Sequence[FindingRow], protocol: str, port: int | None,
               width: int) -> list[tuple[Finding, list[int]]]:
    sensor_ids = sorted({row.sensor_id for row in risen if row.sensor_id is not None})
    if len(sensor_ids) < judge_rises.MIN_SENSORS:
        return []
    index = {sensor_id: i for i, sensor_id in enumerate(sensor_ids)}
    table = pl.DataFrame(
        [(as_utc(row.first), index[row.sensor_id], _PROTOCOLS.get(protocol, 0), port or 0,
          int(row.details.get("unique_srcs") or 0), int(row.packets), width)
         for row in risen if row.sensor_id is not None],
        schema={"bucket": pl.Datetime("us", "UTC"), "sensor": pl.UInt16(), "proto": pl.UInt8(),
                "port": pl.UInt16(), "sources": pl.Int64(), "packets": pl.UInt64(),
                "width": pl.Int32()}, orient="row")
    found = judge_rises.campaigns(table.with_columns(pl.col("bucket").dt.cast_time_unit("ns")))
    return [(finding, sensor_ids) for finding in judge_rises.campaign_findings(found)]


def touched(starts_ns: np.ndarray) -> tuple[datetime, datetime] | None:
    """The first and last bucket start among ``starts_ns``; None for none."""
    if not len(starts_ns):
        return None
    return utc(int(starts_ns.min())), utc(int(starts_ns.max()))
