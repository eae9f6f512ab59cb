"""Rises and campaigns judged on the stored history: captures that come an hour or a day at
a time, in runs of their own, out of order, again; two sensors ingested apart."""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from renkei.core import orgs
from renkei.core.db import Database
from renkei.core.time import FixedClock, as_utc
from renkei.sensors import history, service
from renkei.sensors.findings import FindingKind
from renkei.sensors.pipeline import Capture, analyse_captures
from renkei.sensors.service import SensorCapture
from renkei.sensors.store import FindingRow
from tests.sensors.conftest import ether, icmp, ipv4, pcap, tcp

S = 1_000_000_000
START = datetime(2026, 3, 1, tzinfo=UTC)
SPIKE = 30                      # the hour of the rise, after 30 quiet hours
BLOCKS = {"tokyo-1": "203.0.113.0/24", "osaka-1": "198.18.0.0/24"}


def hours(sensor: str, counts: dict[int, int], *, port: int = 23, first_source: int = 0,
          proto: str = "tcp") -> bytes:
    """A capture of ``counts[h]`` sources probing ``port`` in hour ``h`` (from ``START``),
    one packet each, sources numbered from ``first_source`` (distinct per number)."""
    block = ipaddress.IPv4Network(BLOCKS[sensor])
    frames = []
    for hour, count in sorted(counts.items()):
        for i in range(count):
            number = first_source + i
            src = str(ipaddress.IPv4Address("100.64.0.0") + number)
            dst = str(block.network_address + 1 + (number + hour) % 250)
            payload = (tcp(40000 + i, port, flags=0x02) if proto == "tcp" else icmp(8, 0))
            ts = int((START + timedelta(hours=hour)).timestamp()) * S + (i + 1) * 10 * S
            frames.append((ts, ether(ipv4(src, dst, 6 if proto == "tcp" else 1, payload))))
    return pcap(sorted(frames, key=lambda frame: frame[0]))


QUIET = dict.fromkeys(range(SPIKE), 2)          # two sources an hour for 30 hours


@pytest.fixture
def net(db_session: Session, clock: FixedClock) -> Session:
    orgs.add(db_session, clock, "Hub", hub=True)
    for name, block in BLOCKS.items():
        service.register_sensor(db_session, clock, name, site="", owner="Hub", blocks=[block])
    return db_session


Ingest = Callable[..., service.IngestResult]


@pytest.fixture
def ingest(net: Session, clock: FixedClock, write_file: Callable[..., Path]) -> Ingest:
    made = iter(range(1_000))

    def run(data: bytes, sensor: str = "tokyo-1") -> service.IngestResult:
        path = write_file(data, f"{sensor}-{next(made)}.pcap")
        return service.ingest(net, clock, [SensorCapture(path, sensor)])

    return run


def stored(session: Session, kind: FindingKind) -> list[FindingRow]:
    return list(session.scalars(select(FindingRow).where(FindingRow.kind == str(kind))
                                .order_by(FindingRow.first, FindingRow.id)))


def test_a_rise_is_judged_on_the_history_of_earlier_runs(net: Session, ingest: Ingest) -> None:
    first = ingest(hours("tokyo-1", QUIET))
    assert stored(net, FindingKind.RISE) == []
    assert first.counts()["findings"] == 0
    second = ingest(hours("tokyo-1", {SPIKE: 15}, first_source=100))
    (rise,) = stored(net, FindingKind.RISE)
    assert rise.run_id == second.run_id
    assert second.findings == 1
    tokyo = service.require_sensor(net, "tokyo-1")
    assert (rise.sensor_id, rise.protocol, rise.port, rise.ports) == (tokyo.id, "tcp", 23, [23])
    assert (rise.first, rise.last) == (START + timedelta(hours=SPIKE),
                                       START + timedelta(hours=SPIKE + 1))
    assert (rise.details["unique_srcs"], rise.details["baseline"], rise.packets) == (15, 2.0, 15)
    assert rise.details["width"] == 3600
    body = service.findings(net, kinds=[FindingKind.RISE])[0].to_json()
    assert (body["sensor"], body["sensors"], body["ports"]) == ("tokyo-1", ["tokyo-1"], [23])


def test_neither_file_alone_shows_the_rise_both_together_do(
        write_file: Callable[..., Path]) -> None:
    quiet = write_file(hours("tokyo-1", QUIET), "quiet.pcap")
    spike = write_file(hours("tokyo-1", {SPIKE: 15}, first_source=100), "spike.pcap")

    def risen(*paths: Path) -> list[tuple[datetime, int]]:
        found = analyse_captures([Capture(p) for p in paths]).findings
        return [(f.first, f.unique_srcs) for f in found if f.kind is FindingKind.RISE]

    assert risen(quiet) == risen(spike) == []
    assert risen(quiet, spike) == [(START + timedelta(hours=SPIKE), 15)]


def test_ingesting_again_or_judging_again_adds_nothing(net: Session, ingest: Ingest,
                                                      write_file: Callable[..., Path],
                                                      clock: FixedClock) -> None:
    ingest(hours("tokyo-1", QUIET))
    spike = write_file(hours("tokyo-1", {SPIKE: 15}, first_source=100), "spike.pcap")
    service.ingest(net, clock, [SensorCapture(spike, "tokyo-1")])
    again = service.ingest(net, clock, [SensorCapture(spike, "tokyo-1")])
    assert again.already == [str(spike)]
    tokyo = service.require_sensor(net, "tokyo-1")
    for _ in range(2):
        judged = history.judge(net, again.run_id or 0, [tokyo.id], START,
                               START + timedelta(hours=SPIKE), 3600)
        assert judged == history.Judged()
    (rise,) = stored(net, FindingKind.RISE)
    assert rise.run_id != again.run_id


def test_a_later_file_for_the_same_bucket_updates_the_rise_in_place(
        net: Session, ingest: Ingest) -> None:
    ingest(hours("tokyo-1", QUIET))
    ingest(hours("tokyo-1", {SPIKE: 15}, first_source=100))
    (before,) = stored(net, FindingKind.RISE)
    rise_id, run_id = before.id, before.run_id
    later = ingest(hours("tokyo-1", {SPIKE: 20}, first_source=200))
    assert (later.findings, later.findings_updated, later.findings_removed) == (0, 1, 0)
    (after,) = stored(net, FindingKind.RISE)
    # same row, so an incident that cites it still does; sources are the larger run's
    # count (a lower bound), packets add up
    assert (after.id, after.run_id) == (rise_id, run_id)
    assert (after.details["unique_srcs"], after.packets) == (20, 35)


def test_a_capture_of_the_past_judges_the_buckets_after_it(net: Session,
                                                           ingest: Ingest) -> None:
    ingest(hours("tokyo-1", {SPIKE: 15}, first_source=100))
    assert stored(net, FindingKind.RISE) == []          # no history yet
    late = ingest(hours("tokyo-1", QUIET))
    (rise,) = stored(net, FindingKind.RISE)
    assert (rise.first, rise.run_id) == (START + timedelta(hours=SPIKE), late.run_id)
    # more of the past comes: the port was busy all along, so the rise was none
    busy = ingest(hours("tokyo-1", dict.fromkeys(range(SPIKE), 14), first_source=300))
    assert (busy.findings_removed, stored(net, FindingKind.RISE)) == (1, [])


def test_a_sensor_that_joins_later_has_no_history_of_zeros(net: Session,
                                                           ingest: Ingest) -> None:
    ingest(hours("tokyo-1", QUIET))
    ingest(hours("osaka-1", {SPIKE: 15}, first_source=100), "osaka-1")
    assert stored(net, FindingKind.RISE) == []


def test_a_campaign_across_sensors_ingested_apart(net: Session, ingest: Ingest) -> None:
    ingest(hours("tokyo-1", QUIET))
    ingest(hours("osaka-1", QUIET, first_source=50), "osaka-1")
    ingest(hours("tokyo-1", {SPIKE: 15}, first_source=100))
    assert stored(net, FindingKind.CAMPAIGN) == []       # one sensor so far
    last = ingest(hours("osaka-1", {SPIKE + 2: 18}, first_source=400), "osaka-1")
    (campaign,) = stored(net, FindingKind.CAMPAIGN)
    ids = sorted(service.require_sensor(net, name).id for name in BLOCKS)
    assert (campaign.sensor_id, sorted(campaign.sensors), campaign.port) == (None, ids, 23)
    assert (campaign.first, campaign.last) == (START + timedelta(hours=SPIKE),
                                               START + timedelta(hours=SPIKE + 3))
    assert (campaign.details["unique_srcs"], campaign.packets) == (18, 33)
    assert (campaign.run_id, last.findings) == (last.run_id, 2)     # a rise and a campaign
    body = service.findings(net, kinds=[FindingKind.CAMPAIGN], sensor="osaka-1")[0].to_json()
    assert sorted(body["sensors"]) == ["osaka-1", "tokyo-1"]
    # a third rise within the day joins the campaign: updated, not a second one
    grown = ingest(hours("tokyo-1", {SPIKE + 5: 25}, first_source=600))
    (campaign,) = stored(net, FindingKind.CAMPAIGN)
    assert campaign.last == START + timedelta(hours=SPIKE + 6)
    assert campaign.details["unique_srcs"] == 25
    assert (grown.findings, grown.findings_updated) == (1, 1)


def test_a_port_without_a_number_rises_and_is_reconciled(net: Session,
                                                         ingest: Ingest) -> None:
    ingest(hours("tokyo-1", QUIET, proto="icmp"))
    run = ingest(hours("tokyo-1", {SPIKE: 15}, first_source=100, proto="icmp")).run_id or 0
    tokyo = service.require_sensor(net, "tokyo-1")
    assert history.judge(net, run, [tokyo.id], START, START + timedelta(hours=SPIKE),
                         3600) == history.Judged()
    (rise,) = stored(net, FindingKind.RISE)
    assert (rise.protocol, rise.port, rise.ports) == ("icmp", None, [])


def test_rises_judged_per_bucket_width(net: Session, clock: FixedClock,
                                      write_file: Callable[..., Path]) -> None:
    quiet = write_file(hours("tokyo-1", QUIET), "quiet.pcap")
    spike = write_file(hours("tokyo-1", {SPIKE: 15}, first_source=100), "spike.pcap")
    for path in (quiet, spike):
        service.ingest(net, clock, [SensorCapture(path, "tokyo-1")], bucket="1d")
    # two daily buckets are no history: nothing rises
    assert stored(net, FindingKind.RISE) == []
    assert len(service.series(net, port=23)) == 2


def test_nothing_touched_is_nothing_judged(net: Session) -> None:
    assert history.judge(net, 1, [], START, START, 3600) == history.Judged()
    assert history.touched(np.zeros(0, np.int64)) is None


def test_the_demo_captures_a_day_at_a_time_show_the_telnet_wave(
        net: Session, clock: FixedClock, tmp_path: Path) -> None:
    from renkei.demo.cast import SENSORS
    from renkei.demo.data.captures import DAYS, WAVE_HOUR, day_captures

    for sensor in SENSORS:
        service.register_sensor(net, clock, sensor.name, site=sensor.site, owner="Hub",
                                blocks=[sensor.block])
    now = clock.now()
    for day in range(DAYS):
        paths = []
        for capture in day_captures(now, day):
            path = tmp_path / capture.name
            path.write_bytes(capture.data)
            paths.append(SensorCapture(path, capture.sensor.name))
        service.ingest(net, clock, paths)
    risen = stored(net, FindingKind.RISE)
    assert risen
    assert {(row.port, as_utc(row.first).hour) for row in risen} <= {
        (23, WAVE_HOUR), (23, WAVE_HOUR + 1), (2323, WAVE_HOUR), (2323, WAVE_HOUR + 1)}
    assert {row.sensor_id for row in risen} == {
        service.require_sensor(net, s.name).id for s in SENSORS}
    assert any(row.port == 23 for row in stored(net, FindingKind.CAMPAIGN))


def test_two_ingests_at_once_judge_in_turn(empty_database_url: str, dialect: str,
                                           tmp_path: Path, clock: FixedClock,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Both runs have written their series (PostgreSQL: key-share locks on their sensors)
    before either judges: they judge in turn, without a deadlock, and the campaign that
    the second one finds is stored once."""
    if dialect != "postgresql":
        pytest.skip("SQLite's writers take turns at the first write already")
    database = Database(empty_database_url)
    try:
        with database.session() as session:
            orgs.add(session, clock, "Hub", hub=True)
            for name, block in BLOCKS.items():
                service.register_sensor(session, clock, name, site="", owner="Hub",
                                        blocks=[block])
        for offset, name in enumerate(BLOCKS):
            path = tmp_path / f"quiet-{name}.pcap"
            path.write_bytes(hours(name, QUIET, first_source=50 * offset))
            with database.session() as session:
                service.ingest(session, clock, [SensorCapture(path, name)])
        barrier = threading.Barrier(2, timeout=30)
        judge = history.judge

        def meet_then_judge(*args: Any) -> history.Judged:
            barrier.wait()
            return judge(*args)

        monkeypatch.setattr(history, "judge", meet_then_judge)
        errors: list[BaseException] = []

        def spike(offset: int, name: str) -> None:
            path = tmp_path / f"spike-{name}.pcap"
            path.write_bytes(hours(name, {SPIKE + offset: 15}, first_source=100 + 50 * offset))
            try:
                with database.session() as session:
                    service.ingest(session, clock, [SensorCapture(path, name)])
            except BaseException as error:  # reported below, in the test's thread
                errors.append(error)

        threads = [threading.Thread(target=spike, args=(offset, name))
                   for offset, name in enumerate(BLOCKS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []
        with database.session() as session:
            assert len(stored(session, FindingKind.RISE)) == 2
            assert len(stored(session, FindingKind.CAMPAIGN)) == 1
    finally:
        database.dispose()
