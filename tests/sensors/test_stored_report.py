"""The darknet report of the store: the same report as of the whole series and findings,
from aggregate queries and the charted ports' series only; by range, sensor, port and
bucket width; and `renkei sensors report` as an operator runs it."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from renkei.cli import app
from renkei.core import orgs
from renkei.core.time import FixedClock
from renkei.sensors import report, service, stored_report
from renkei.sensors.findings import FindingKind
from renkei.sensors.service import SensorCapture
from renkei.sensors.stored_report import Scope
from tests.sensors.conftest import ether, ipv4, pcap, tcp
from tests.sensors.sample_captures import MIRAI_SRC, S, darknet_capture
from tests.sensors.test_history import BLOCKS, QUIET, SPIKE, START, hours

NOISE_PORTS = range(1000, 1040)     # one source each: more ports than any chart draws


def noise(sensor: str) -> bytes:
    """One probe to each noise port, an hour apart (in hours 0 … 39)."""
    block = ipaddress.IPv4Network(BLOCKS[sensor])
    frames = [(int((START + timedelta(hours=port % 40, minutes=30)).timestamp()) * S,
               ether(ipv4(f"100.65.0.{port % 250}", str(block.network_address + 7), 6,
                          tcp(50000, port, flags=0x02))))
              for port in NOISE_PORTS]
    return pcap(sorted(frames, key=lambda frame: frame[0]))


@pytest.fixture
def stored(db_session: Session, clock: FixedClock, write_file: Callable[..., Path]) -> Session:
    orgs.add(db_session, clock, "Hub", hub=True)
    for name, block in BLOCKS.items():
        service.register_sensor(db_session, clock, name, site=f"{name} site", owner="Hub",
                                blocks=[block])
    made = iter(range(1_000))

    def ingest(data: bytes, sensor: str) -> None:
        path = write_file(data, f"{next(made)}.pcap")
        service.ingest(db_session, clock, [SensorCapture(path, sensor)])

    start_ns = int((START + timedelta(hours=10)).timestamp()) * S
    ingest(darknet_capture(start=start_ns), "tokyo-1")
    for sensor, offset in (("tokyo-1", 0), ("osaka-1", 1)):
        ingest(hours(sensor, QUIET, first_source=50 * offset), sensor)
        ingest(hours(sensor, {SPIKE + offset: 15 + offset}, first_source=100 + 50 * offset),
               sensor)
        ingest(noise(sensor), sensor)
    return db_session


def whole(session: Session, scope: Scope) -> tuple[pl.DataFrame, list[report.SensorInfo]]:
    """The scope's whole series as one table, as a report of it in memory would take it."""
    chosen = sorted(service.sensors_of(session), key=lambda s: s.name)
    if scope.sensors:
        chosen = [s for s in chosen if s.name in scope.sensors]
    index = {s.name: i for i, s in enumerate(chosen)}
    points = [p for p in service.series(session, since=scope.since, until=scope.until,
                                        limit=100_000)
              if p.sensor in index and (not scope.ports or p.port in scope.ports)]
    frame = pl.DataFrame(
        [(p.bucket, index[p.sensor], p.proto, p.port, p.packets, p.sources,
          p.research_packets, p.research_sources, p.width) for p in points],
        schema={"bucket": pl.Datetime("us", "UTC"), "sensor": pl.Int64(), "proto": pl.Int64(),
                "port": pl.Int64(), "packets": pl.Int64(), "sources": pl.Int64(),
                "research_packets": pl.Int64(), "research_sources": pl.Int64(),
                "width": pl.Int64()}, orient="row")
    return frame, [(s.name, s.site, s.address_count) for s in chosen]


SCOPES = [Scope(), Scope(sensors=("osaka-1",)), Scope(ports=(23, 443)),
          Scope(since=START + timedelta(hours=20), until=START + timedelta(hours=35))]


@pytest.mark.parametrize("scope", SCOPES)
def test_the_report_of_the_store_is_the_report_of_the_whole_series(
        stored: Session, scope: Scope) -> None:
    gathered = stored_report.gather(stored, scope)
    made = report.json_of(stored_report.summary(gathered, lang="en", geo=None),
                          gathered.series, lang="en")
    frame, sensors = whole(stored, scope)
    expected = report.render_json(frame, gathered.findings(), lang="en", sensors=sensors,
                                  geo=None, period=gathered.period)
    assert made == expected
    assert gathered.series.height <= frame.height


def test_only_the_charted_ports_are_read_and_the_rest_is_one_layer(stored: Session) -> None:
    gathered = stored_report.gather(stored, Scope())
    frame, sensors = whole(stored, Scope())
    charted = set(gathered.series.select("proto", "port").unique().rows())
    assert len(charted) < frame.select("proto", "port").n_unique()
    assert (6, 23) in charted                              # the top port, risen too
    summary = stored_report.summary(gathered, lang="en", geo=None)
    page = report.html_of(summary, gathered.series, lang="en",
                          totals=gathered.figures.bucket_packets)
    assert "Other ports" in page                           # the ports not read, as one layer
    assert page.count("<svg") == report.render_html(
        frame, gathered.findings(), lang="en", sensors=sensors, geo=None,
        period=gathered.period).count("<svg")


def test_the_scope_chooses_sensors_ports_time_and_width(stored: Session,
                                                       clock: FixedClock,
                                                       write_file: Callable[..., Path]) -> None:
    osaka = stored_report.gather(stored, Scope(sensors=("osaka-1",)))
    doc = report.json_of(stored_report.summary(osaka, lang="en", geo=None), osaka.series,
                         lang="en")
    assert [s["name"] for s in doc["sensors"]] == ["osaka-1"]  # type: ignore[index]
    assert doc["scanners"] == []                           # the scanners were at tokyo-1
    assert [r["sensor"] for r in doc["rises"]] == [0]      # type: ignore[index, union-attr]
    assert doc["campaigns"][0]["sensors"] == [0]           # type: ignore[index]
    telnet = stored_report.gather(stored, Scope(ports=(23,)))
    assert set(telnet.series["port"].unique()) == {23}
    scanners = {f.src for f in telnet.findings() if f.kind is FindingKind.SCANNER}
    assert {str(s) for s in scanners} == {MIRAI_SRC}
    late = stored_report.gather(stored, Scope(since=START + timedelta(hours=SPIKE + 3)))
    assert late.period is not None
    assert late.period[0] == START + timedelta(hours=SPIKE + 3)
    assert not late.series.is_empty()
    assert late.series["bucket"].min() >= START + timedelta(hours=SPIKE + 3)  # type: ignore[operator]
    assert [f.kind for f in late.findings()] == []          # all ended before
    assert stored_report.gather(stored, Scope(width=86_400)).width == 86_400
    assert stored_report.gather(stored, Scope(width=86_400)).series.is_empty()
    assert stored_report.gather(stored, Scope()).width == 3600
    with pytest.raises(service.NotFoundError):
        stored_report.gather(stored, Scope(sensors=("nowhere",)))


def test_an_empty_store_or_range_is_a_report_of_nothing(db_session: Session) -> None:
    gathered = stored_report.gather(db_session, Scope())
    assert (gathered.width, gathered.period, gathered.sensors) == (None, None, [])
    summary = stored_report.summary(gathered, lang="ja", geo=None)
    assert summary.packets == 0
    assert "この期間にはパケットが観測されていません。" in report.html_of(
        summary, gathered.series, lang="ja")
    since, until = START, START + timedelta(days=1)
    ranged = stored_report.gather(db_session, Scope(since=since, until=until))
    assert ranged.period == (since, until)


# ---------------------------------------------------------------- the command

runner = CliRunner()


def renkei(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def filled(renkei_home: Path, write_file: Callable[..., Path]) -> Path:
    steps: list[tuple[str, ...]] = [
        ("orgs", "add", "Hub", "--hub"),
        *(("sensors", "register", name, "--site", "x", "--owner", "Hub", "--block", block)
          for name, block in BLOCKS.items())]
    start_ns = int((START + timedelta(hours=10)).timestamp()) * S
    files = [("tokyo-1", darknet_capture(start=start_ns)), ("tokyo-1", hours("tokyo-1", QUIET)),
             ("tokyo-1", hours("tokyo-1", {SPIKE: 15}, first_source=100))]
    for i, (sensor, data) in enumerate(files):
        steps.append(("sensors", "ingest", str(write_file(data, f"{i}.pcap")),
                      "--sensor", sensor))
    for args in steps:
        code, out, err = renkei(*args)
        assert code == 0, (args, out, err)
    return renkei_home


def test_report_writes_html_and_json_of_the_store(filled: Path, tmp_path: Path) -> None:
    page, doc = tmp_path / "report.html", tmp_path / "report.json"
    code, out, err = renkei("sensors", "report", "--html", str(page), "--json", str(doc),
                            "--lang", "ja", "--zone", "Asia/Tokyo", "--sensor", "tokyo-1")
    assert code == 0, err
    assert "report.html" in err
    assert "report.json" in err
    html = page.read_text(encoding="utf-8")
    assert '<html lang="ja">' in html
    assert "UTC+09:00" in html
    body = json.loads(doc.read_text(encoding="utf-8"))
    assert body["lang"] == "ja"
    assert body["summary"]["rises"] == 1
    assert {s["src"] for s in body["scanners"]} >= {MIRAI_SRC}
    code, out, err = renkei("sensors", "report", "--json", "-", "--port", "23",
                            "--since", "2026-03-02T00:00:00+09:00", "--until", "2026-03-03")
    assert code == 0, err
    body = json.loads(out)
    assert [p["label"] for p in body["top_ports"]] == ["23/tcp"]
    assert body["period"]["start"] == "2026-03-01T15:00:00+00:00"
    assert body["period"]["end"] == "2026-03-03T00:00:00+00:00"


@pytest.mark.parametrize(("args", "message"), [
    ((), "--html"),
    (("--json", "-", "--zone", "Mars/Olympus"), "time zone"),
    (("--json", "-", "--zone", "../../etc/passwd"), "time zone"),
    (("--json", "-", "--lang", "fr"), "en or ja"),
    (("--json", "-", "--since", "2026-03-02", "--until", "2026-03-01"), "before"),
    (("--json", "-", "--since", "yesterday"), "ISO 8601"),
    (("--json", "-", "--bucket", "7m"), "bucket"),
    (("--json", "-", "--sensor", "nowhere"), "no sensor"),
    (("--json", "-", "--port", "70000"), "65535"),
    (("--html", "/nonexistent-dir/r.html"), "cannot write"),
])
def test_report_refuses_bad_options(renkei_home: Path, args: tuple[str, ...], message: str) -> None:
    code, out, err = renkei("sensors", "report", *args)
    assert code == 2
    assert message in err + out


def test_report_of_an_empty_store(renkei_home: Path) -> None:
    code, out, err = renkei("sensors", "report", "--json", "-")
    assert code == 0, err
    assert json.loads(out)["summary"]["packets"] == 0


def test_report_times_are_utc_when_given_without_offset(filled: Path) -> None:
    code, out, _ = renkei("sensors", "report", "--json", "-", "--since", "2026-03-01T12:00",
                          "--until", "2026-03-01T13:00")
    assert code == 0
    period = json.loads(out)["period"]
    assert (period["start"], period["end"]) == ("2026-03-01T12:00:00+00:00",
                                                "2026-03-01T13:00:00+00:00")
    assert datetime.fromisoformat(period["start"]) == START + timedelta(hours=12)
