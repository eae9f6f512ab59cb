"""What the console reads of the sensors beyond ``service``'s queries: the newest stored
bucket (charts end where the data ends, not at today), the stored series as the table the
plots take, and who counts as the hub's staff here (the API's rule)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from renkei.core.members import Principal
from renkei.core.time import as_utc
from renkei.sensors import service
from renkei.sensors.store import SeriesRow
from renkei.sharing.policy import Viewer

PERIODS = {"1d": 1, "7d": 7, "30d": 30}
SERIES_ROWS = service.MAX_QUERY_ROWS
_SCHEMA: dict[str, pl.DataType] = {"bucket": pl.Datetime("us", "UTC"), "width": pl.Int64(), "sensor": pl.Int64(),
           "proto": pl.Int64(), "port": pl.Int64(), "packets": pl.Int64(), "sources": pl.Int64(),
           "research_packets": pl.Int64(), "research_sources": pl.Int64()}


def is_staff(principal: Principal) -> bool:
    """The hub's staff read findings that name addresses and every member's notices."""
    return Viewer.of(principal).is_hub_staff


def latest_bucket(session: Session) -> datetime | None:
    """The start of the newest stored bucket, or None when nothing is stored."""
    newest = session.scalar(select(func.max(SeriesRow.bucket)))
    return as_utc(newest) if newest is not None else None


@dataclass(frozen=True)
class Window:
    since: datetime
    until: datetime


def window(session: Session, days: int) -> Window | None:
    """The ``days`` days that end with the newest bucket; None when there is no series."""
    newest = latest_bucket(session)
    if newest is None:
        return None
    until = newest + timedelta(days=1)
    until = until.replace(hour=0, minute=0, second=0, microsecond=0)
    return Window(until - timedelta(days=days), until)


@dataclass(frozen=True)
class SeriesTable:
    """The series as ``plots`` takes it (sensors as numbers), their names, and whether the
    row bound cut it short."""

    frame: pl.DataFrame
    names: dict[int, str]
    truncated: bool


def series_table(session: Session, since: datetime, until: datetime,
                 sensor: str | None = None, limit: int = SERIES_ROWS) -> SeriesTable:
    """The stored series in [since, until), of one bucket width (the most common one:
    the plots draw one time axis)."""
    points = service.series(session, sensor=sensor, since=since, until=until, limit=limit)
    ids = {s.name: s.id for s in service.sensors_of(session)}
    width = Counter(p.width for p in points).most_common(1)[0][0] if points else 3600
    rows = [(p.bucket, p.width, ids.get(p.sensor, 0), p.proto, p.port, p.packets, p.sources,
             p.research_packets, p.research_sources) for p in points if p.width == width]
    frame = pl.DataFrame(rows, schema=_SCHEMA, orient="row")
    return SeriesTable(frame, {i: name for name, i in ids.items()}, len(points) >= limit)
