"""The sensors service on the suite's database: sensors, members' ranges, ingest runs and
the queries by time, port and sensor; hostile names, blocks and captures."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from renkei.core import orgs
from renkei.core.models import AuditEvent
from renkei.core.orgs import OrganisationError
from renkei.core.time import FixedClock
from renkei.sensors import service
from renkei.sensors.findings import FindingKind
from renkei.sensors.service import SensorCapture, SensorsError
from renkei.sensors.store import FindingRow, IngestFile, IngestProblem, IngestRun, SeriesRow
from tests.sensors.sample_captures import (
    MIRAI_SRC,
    VICTIM,
    ZMAP_SRC,
    darknet_capture,
    truncated_capture,
)

T = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def site(db_session: Session, clock: FixedClock) -> Session:
    orgs.add(db_session, clock, "Hub", hub=True)
    orgs.add(db_session, clock, "NICT Lab", communities=["research"])
    service.register_sensor(db_session, clock, "tokyo-1", site="Koganei", owner="NICT Lab",
                            blocks=["203.0.113.0/24"])
    return db_session


def _ingest(session: Session, clock: FixedClock, *paths: Path,
            sensor: str = "tokyo-1") -> service.IngestResult:
    return service.ingest(session, clock, [SensorCapture(p, sensor) for p in paths])


# --- sensors ---------------------------------------------------------------------------------


def test_a_sensor_is_registered_with_its_size(site: Session, clock: FixedClock) -> None:
    sensor = service.register_sensor(
        site, clock, "osaka.2", site="Osaka", owner="NICT Lab",
        blocks=["198.18.0.0/16", "198.18.4.0/24", "2001:db8::/48", "192.0.2.0/25"])
    assert sensor.address_count == 65536 + 128           # the nested /24 counted once
    assert sensor.blocks == ["192.0.2.0/25", "198.18.0.0/16", "198.18.4.0/24", "2001:db8::/48"]
    assert [s.name for s in service.sensors_of(site)] == ["osaka.2", "tokyo-1"]
    audit = site.scalar(select(AuditEvent).where(AuditEvent.action == "sensors.register")
                        .order_by(AuditEvent.id.desc()))
    assert audit is not None
    assert audit.details["addresses"] == 65536 + 128


@pytest.mark.parametrize("block", ["not-a-cidr", "300.1.1.1/24", "10.0.0.0/33",
                                   "192.0.2.1/24", "", "10.0.0.0/8; DROP TABLE sensors"])
def test_a_bad_block_is_refused(site: Session, clock: FixedClock, block: str) -> None:
    with pytest.raises(SensorsError, match="not a CIDR block"):
        service.register_sensor(site, clock, "x", site="", owner="NICT Lab", blocks=[block])


@pytest.mark.parametrize("name", ["", " ", "a b", "x'; DROP TABLE sensors;--", "[bold]x[/]",
                                  "../etc", "-x", "=cmd|' /C calc'!A0", "名前", "a" * 101,
                                  "tab\there"])
def test_a_hostile_sensor_name_is_refused(site: Session, clock: FixedClock, name: str) -> None:
    with pytest.raises(SensorsError, match="sensor name"):
        service.register_sensor(site, clock, name, site="", owner="NICT Lab",
                                blocks=["198.18.0.0/24"])


def test_duplicates_unknown_owners_and_bad_sites_are_refused(site: Session,
                                                             clock: FixedClock) -> None:
    with pytest.raises(SensorsError, match="already exists"):
        service.register_sensor(site, clock, "tokyo-1", site="", owner="NICT Lab",
                                blocks=["198.18.0.0/24"])
    with pytest.raises(OrganisationError):
        service.register_sensor(site, clock, "y", site="", owner="Nobody",
                                blocks=["198.18.0.0/24"])
    with pytest.raises(SensorsError, match="site"):
        service.register_sensor(site, clock, "y", site="a\x1b[2Jb", owner="NICT Lab",
                                blocks=["198.18.0.0/24"])
    with pytest.raises(SensorsError, match="at least one block"):
        service.register_sensor(site, clock, "y", site="", owner="NICT Lab", blocks=[])
    with pytest.raises(service.NotFoundError, match="no sensor"):
        service.require_sensor(site, "nowhere")


# --- members' ranges -----------------------------------------------------------------------


def test_member_ranges_and_as_numbers(site: Session, clock: FixedClock) -> None:
    orgs.add(site, clock, "ISP")
    orgs.add(site, clock, "Bank")
    row, new = service.add_member_range(site, clock, "ISP", " 198.51.100.0/24 ")
    assert (row.kind, row.value, new) == ("cidr", "198.51.100.0/24", True)
    assert service.add_member_range(site, clock, "ISP", "198.51.100.0/24")[1] is False
    assert service.add_member_range(site, clock, "ISP", "as64500")[0].value == "AS64500"
    # nested ranges of different members are allowed: the most specific one is notified
    assert service.add_member_range(site, clock, "Bank", "198.51.100.0/28")[1] is True
    with pytest.raises(SensorsError, match="another organisation"):
        service.add_member_range(site, clock, "Bank", "198.51.100.0/24")
    with pytest.raises(SensorsError, match="another organisation"):
        service.add_member_range(site, clock, "Bank", "AS64500")
    for bad in ("AS0", "AS99999999999", "ASX", "198.51.100.1/24", "hello"):
        with pytest.raises(SensorsError):
            service.add_member_range(site, clock, "Bank", bad)
    isp = orgs.require(site, "ISP").id
    assert [r.value for r in service.ranges_of(site, isp)] == ["AS64500", "198.51.100.0/24"]


# --- ingest --------------------------------------------------------------------------------


def test_ingest_keeps_the_run_series_and_findings(
        site: Session, clock: FixedClock, write_file: Callable[..., Path]) -> None:
    path = write_file(darknet_capture(), "day.pcap")
    result = _ingest(site, clock, path)
    counts = result.counts()
    assert counts["read"] == 1
    assert counts["packets"] == 65
    assert counts["problems"] == 0
    assert result.findings == 3
    rows = site.scalars(select(FindingRow).where(FindingRow.run_id == result.run_id)).all()
    by_src = {r.src: r for r in rows}
    tokyo = service.require_sensor(site, "tokyo-1")
    mirai = by_src[MIRAI_SRC]
    assert (mirai.kind, mirai.ports, mirai.fingerprints, mirai.sensor_id, mirai.packets) == (
        "scanner", [23], ["mirai"], tokyo.id, 30)
    assert by_src[ZMAP_SRC].fingerprints == ["zmap"]
    assert by_src[VICTIM].kind == "backscatter"
    assert by_src[VICTIM].details["estimated_pps"] > 1e6      # scaled by the /24
    series = site.scalars(select(SeriesRow).where(SeriesRow.run_id == result.run_id)).all()
    assert {(r.port, r.packets, r.sources) for r in series} == {(23, 30, 1), (443, 15, 1)}
    run = site.get(IngestRun, result.run_id)
    assert run is not None
    assert run.counts["findings"] == 3
    assert run.finished_at == clock.now()
    details = site.scalar(select(AuditEvent.details).where(AuditEvent.action == "sensors.ingest")
                          .order_by(AuditEvent.id.desc()))
    assert details is not None
    assert details["packets"] == 65


def test_ingest_reports_progress_in_packets(
        site: Session, clock: FixedClock, write_file: Callable[..., Path]) -> None:
    seen: list[int] = []
    service.ingest(site, clock, [SensorCapture(write_file(darknet_capture()), "tokyo-1")],
                   on_packets=seen.append)
    assert sum(seen) == 65


def test_ingesting_the_same_capture_again_changes_nothing(
        site: Session, clock: FixedClock, write_file: Callable[..., Path]) -> None:
    path = write_file(darknet_capture(), "day.pcap")
    first = _ingest(site, clock, path)
    copy = write_file(path.read_bytes(), "copy-of-day.pcap")
    again = _ingest(site, clock, path, copy)
    assert again.already == [str(path), str(copy)]
    assert again.read == []
    assert again.findings == 0
    assert len(site.scalars(select(IngestFile)).all()) == 1
    points = service.series(site, port=23)
    assert [(p.packets, p.sources, p.sources_exact) for p in points] == [(30, 1, True)]
    assert first.run_id != again.run_id


def test_two_runs_over_one_bucket_add_packets_and_bound_sources(
        site: Session, clock: FixedClock, write_file: Callable[..., Path]) -> None:
    from tests.sensors.conftest import pcap
    from tests.sensors.sample_captures import T0, scanner_frames

    _ingest(site, clock, write_file(pcap(scanner_frames(start=T0)), "a.pcap"))
    _ingest(site, clock, write_file(pcap(scanner_frames(start=T0 + 60 * 10**9)), "b.pcap"))
    (point,) = service.series(site, port=23)
    # the same source in both runs: packets add up, sources are at least the larger count
    assert (point.packets, point.sources, point.sources_exact) == (60, 1, False)
    assert point.per_address == pytest.approx(60 / 256)


def test_a_capture_that_is_not_one_is_a_problem_not_the_end(
        site: Session, clock: FixedClock, write_file: Callable[..., Path]) -> None:
    junk = write_file(b"GET / HTTP/1.1\r\n\r\n" * 10, "junk.pcap")
    good = write_file(darknet_capture(), "good.pcap")
    missing = junk.with_name("missing.pcap")
    result = _ingest(site, clock, junk, good, missing)
    assert result.unreadable == [str(junk), str(missing)]
    assert [r[0] for r in result.read] == [str(good)]
    assert result.findings == 3
    reasons = site.scalars(select(IngestProblem.reason)
                           .where(IngestProblem.run_id == result.run_id)).all()
    assert any("not a capture" in r for r in reasons)
    assert any("cannot read" in r for r in reasons)


def test_a_truncated_capture_keeps_what_came_before_and_says_where(
        site: Session, clock: FixedClock, write_file: Callable[..., Path]) -> None:
    data, offset = truncated_capture()
    result = _ingest(site, clock, write_file(data, "cut.pcap"))
    (problem,) = result.problems
    assert problem.offset == offset
    assert problem.path.endswith("cut.pcap")
    assert result.packets == 64
    assert result.findings == 3
    row = site.scalar(select(IngestFile).where(IngestFile.run_id == result.run_id))
    assert row is not None
    assert row.truncated


def test_ingest_refuses_an_unknown_sensor_before_writing(
        site: Session, clock: FixedClock, write_file: Callable[..., Path]) -> None:
    path = write_file(darknet_capture())
    with pytest.raises(service.NotFoundError, match="no sensor"):
        _ingest(site, clock, path, sensor="nowhere")
    with pytest.raises(SensorsError, match="bucket"):
        service.ingest(site, clock, [SensorCapture(path, "tokyo-1")], bucket="7m")
    with pytest.raises(SensorsError, match="at least one capture"):
        service.ingest(site, clock, [])
    assert site.scalars(select(IngestRun)).all() == []


# --- queries -------------------------------------------------------------------------------


def test_findings_by_kind_port_sensor_source_and_time(
        site: Session, clock: FixedClock, write_file: Callable[..., Path]) -> None:
    service.register_sensor(site, clock, "osaka-1", site="", owner="NICT Lab",
                            blocks=["198.18.0.0/24"])
    _ingest(site, clock, write_file(darknet_capture()))

    def srcs(**query: object) -> list[str | None]:
        return sorted((f.row.src for f in service.findings(site, **query)),  # type: ignore[arg-type]
                      key=str)

    assert srcs() == [ZMAP_SRC, VICTIM, MIRAI_SRC]
    assert srcs(kinds=[FindingKind.BACKSCATTER]) == [VICTIM]
    assert srcs(port=23) == [MIRAI_SRC]
    assert srcs(sensor="tokyo-1", src=f" {ZMAP_SRC} ") == [ZMAP_SRC]
    assert srcs(sensor="osaka-1") == []
    assert srcs(since=T + timedelta(hours=1)) == []
    assert srcs(until=T) == []
    assert srcs(since=T.replace(tzinfo=None), until=T + timedelta(seconds=1)) == srcs()
    body = service.findings(site, port=23)[0].to_json()
    assert body["sensor"] == "tokyo-1"
    assert body["fingerprints"] == ["mirai"]
    with pytest.raises(SensorsError, match="not an IP address"):
        service.findings(site, src="1.2.3.4' OR 1=1 --")
    with pytest.raises(service.NotFoundError):
        service.findings(site, sensor="nowhere")
    with pytest.raises(SensorsError, match="kind"):
        service.parse_kind("worm")


def test_series_by_time_port_and_sensor(
        site: Session, clock: FixedClock, write_file: Callable[..., Path]) -> None:
    _ingest(site, clock, write_file(darknet_capture()))
    points = service.series(site, sensor="tokyo-1")
    assert [(p.port, p.sensor, p.bucket) for p in points] == [(23, "tokyo-1", T),
                                                             (443, "tokyo-1", T)]
    assert service.series(site, since=T + timedelta(hours=1)) == []
    assert service.series(site, until=T) == []
    assert service.series(site, port=443)[0].to_json()["protocol"] == "tcp"
    assert len(service.series(site, limit=1)) == 1
    with pytest.raises(SensorsError, match="limit"):
        service.series(site, limit=0)
