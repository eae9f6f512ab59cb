"""The hub's darknet sensors, members' address space, and a month of captures."""

from __future__ import annotations

from datetime import datetime, timedelta

from renkei.core.time import FixedClock
from renkei.demo.cast import HUB, MEMBERS, SENSORS
from renkei.demo.data.captures import DAYS, Capture, day_captures
from renkei.demo.seed.context import Context
from renkei.demo.seed.orgs import ACTOR, SOURCE
from renkei.sensors import service
from renkei.sensors.service import SensorCapture

#: a day's captures are ingested this long after its midnight (its last packets are in)
INGESTED_AFTER = timedelta(hours=26)


def register(ctx: Context) -> None:
    clock = ctx.at(30)
    with ctx.database.session() as session:
        for sensor in SENSORS:
            service.register_sensor(session, clock, sensor.name, site=sensor.site, owner=HUB,
                                    blocks=[sensor.block], actor=ACTOR, source=SOURCE)
        for member in MEMBERS:
            for network in member.networks:
                service.add_member_range(session, clock, member.name, network, actor=ACTOR,
                                         source=SOURCE)


def ingest(ctx: Context, captures: list[Capture], at: datetime, *, keep: bool = True) -> int:
    """Write the captures and ingest them as one run; returns the packets read."""
    paths = []
    for capture in captures:
        path = ctx.folder("captures") / capture.name
        path.write_bytes(capture.data)
        paths.append(SensorCapture(path, capture.sensor.name))
    try:
        with ctx.database.session() as session:
            result = service.ingest(session, FixedClock(min(at, ctx.now)), paths, actor=ACTOR,
                                    source=SOURCE)
    finally:
        if not keep:
            for item in paths:
                item.path.unlink(missing_ok=True)
    return result.packets


def seed_sensors(ctx: Context) -> int:
    """Sensors, ranges and a run a day; returns the packets read."""
    register(ctx)
    total = 0
    for day in range(DAYS):
        midnight = (ctx.now - timedelta(days=DAYS - 1 - day)).replace(
            hour=0, minute=0, second=0, microsecond=0)
        total += ingest(ctx, day_captures(ctx.now, day), midnight + INGESTED_AFTER)
    return total
