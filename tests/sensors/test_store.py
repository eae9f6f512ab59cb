"""The sensors tables on both databases: what the constraints promise, and that aware
times and 64-bit counts come back as they went in."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from renkei.core import orgs
from renkei.core.registry import all_metadata
from renkei.core.time import FixedClock
from renkei.sensors.store import (
    FindingRow,
    IngestFile,
    IngestRun,
    MemberRange,
    Sensor,
    SeriesRow,
)

T = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def run(db_session: Session, clock: FixedClock) -> tuple[Session, Sensor, IngestRun]:
    lab = orgs.add(db_session, clock, "Lab")
    sensor = Sensor(name="s1", site="", owner_id=lab.id, blocks=["203.0.113.0/24"],
                    address_count=256, created_at=T, updated_at=T)
    ingest = IngestRun(started_at=T, actor="test", bucket_s=3600, paths=[], counts={})
    db_session.add_all([sensor, ingest])
    db_session.flush()
    return db_session, sensor, ingest


def test_every_sensors_table_is_registered() -> None:
    assert {"sensors", "sensor_member_ranges", "sensor_ingest_runs", "sensor_ingest_files",
            "sensor_ingest_problems", "sensor_series", "sensor_findings"} <= set(
        all_metadata().tables)


def test_a_sensor_name_is_unique(run: tuple[Session, Sensor, IngestRun]) -> None:
    session, sensor, _ = run
    session.add(Sensor(name="s1", site="", owner_id=sensor.owner_id, blocks=[],
                       address_count=0, created_at=T, updated_at=T))
    with pytest.raises(IntegrityError), session.begin_nested():
        session.flush()


def test_a_range_has_one_owner(run: tuple[Session, Sensor, IngestRun],
                               clock: FixedClock) -> None:
    session, sensor, _ = run
    other = orgs.add(session, clock, "Other")
    session.add(MemberRange(organisation_id=sensor.owner_id, kind="cidr",
                            value="198.51.100.0/24", created_at=T))
    session.flush()
    session.add(MemberRange(organisation_id=other.id, kind="cidr", value="198.51.100.0/24",
                            created_at=T))
    with pytest.raises(IntegrityError), session.begin_nested():
        session.flush()


def test_a_file_is_held_once_per_sensor(run: tuple[Session, Sensor, IngestRun]) -> None:
    session, sensor, ingest = run
    for _ in range(2):
        session.add(IngestFile(run_id=ingest.id, sensor_id=sensor.id, path="a.pcap",
                               digest="0" * 64, format="pcap", packets=1, skipped=0,
                               truncated=False))
    with pytest.raises(IntegrityError), session.begin_nested():
        session.flush()


def test_series_rows_are_keyed_by_bucket_sensor_port_and_run(
        run: tuple[Session, Sensor, IngestRun]) -> None:
    session, sensor, ingest = run
    big = 2**40  # a national darknet's month of packets
    session.add(SeriesRow(bucket=T, width=3600, sensor_id=sensor.id, proto=6, port=23,
                          run_id=ingest.id, packets=big, sources=5, research_packets=0,
                          research_sources=0))
    session.flush()
    row = session.scalar(select(SeriesRow))
    assert row is not None
    assert row.packets == big
    assert row.bucket == T
    with pytest.raises(IntegrityError), session.begin_nested():
        session.execute(insert(SeriesRow), [{
            "bucket": T, "width": 3600, "sensor_id": sensor.id, "proto": 6, "port": 23,
            "run_id": ingest.id, "packets": 1, "sources": 1, "research_packets": 0,
            "research_sources": 0}])


def test_findings_keep_lists_and_details(run: tuple[Session, Sensor, IngestRun]) -> None:
    session, sensor, ingest = run
    session.add(FindingRow(run_id=ingest.id, kind="campaign", src=None, port=23, ports=[23],
                           protocol="tcp", fingerprints=[], labels=[], packets=10, first=T,
                           last=T, sensor_id=None, sensors=[sensor.id], rate_pps=0.0,
                           details={"unique_srcs": 40, "baseline": None}))
    session.flush()
    session.expunge_all()
    row = session.scalar(select(FindingRow))
    assert row is not None
    assert row.sensors == [sensor.id]
    assert row.details["unique_srcs"] == 40
    assert row.first.tzinfo is not None
