"""The demo's content before it is stored: each piece reads back as its domain expects
(captures analyse, feeds import without problems, reports are valid), and the same call
gives the same data."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from renkei.demo.cast import MEMBERS, SENSORS
from renkei.demo.data import captures, feeds, logs, reports
from renkei.sensors.pipeline import Capture, analyse_captures
from renkei.sharing.stix import report_to_bundle, validate_bundle
from renkei.vulns.feeds import read_bytes
from renkei.vulns.model import FeedProblem
from tests.conftest import FIXED_NOW


def test_a_backscatter_day_shows_scanners_and_the_flooded_member(tmp_path: Path) -> None:
    day = captures.BACKSCATTER_DAYS[-1]
    made = captures.day_captures(FIXED_NOW, day)
    assert [c.sensor for c in made] == list(SENSORS)
    paths = []
    for index, capture in enumerate(made):
        path = tmp_path / capture.name
        path.write_bytes(capture.data)
        paths.append(Capture(path, sensor=index))
    analysis = analyse_captures(paths, sizes=[4096, 4096])
    assert not [p for stat in analysis.stats for p in stat.problems]
    kinds = {(str(f.kind), str(f.src)) for f in analysis.findings}
    assert ("backscatter", captures.VICTIM) in kinds
    assert any("mirai" in f.fingerprints for f in analysis.findings)
    assert max(float(f.last.timestamp()) for f in analysis.findings) <= FIXED_NOW.timestamp()


def test_the_living_capture_is_of_the_last_minute() -> None:
    capture = captures.living_capture(FIXED_NOW, 3)
    assert capture.data == captures.living_capture(FIXED_NOW, 3).data
    assert capture.data != captures.living_capture(FIXED_NOW, 4).data


def test_feeds_read_without_problems() -> None:
    made = feeds.batches(FIXED_NOW)
    assert made == feeds.batches(FIXED_NOW)
    records = [r for batch in made for name, data in batch.files.items()
               for r in read_bytes(data, name, name)]
    problems = [r for r in records if isinstance(r, FeedProblem)]
    assert not problems, problems[:3]
    advisories = sum(len(b.cves) for b in made)
    assert 300 <= advisories <= 400
    assert all(b.published <= FIXED_NOW for b in made)


def test_logs_stay_in_the_past_and_attacks_rise() -> None:
    first = logs.day_logs(FIXED_NOW, 0)
    last = logs.day_logs(FIXED_NOW, logs.DAYS - 1)
    assert {log.member for log in first} == {m for m in MEMBERS if m.web_logs}
    for log in [*first, *last, logs.living_log(FIXED_NOW, 1)]:
        times = [datetime.strptime(line.split("[", 1)[1].split("]", 1)[0],
                                   "%d/%b/%Y:%H:%M:%S %z")
                 for line in log.text.splitlines()]
        assert max(times) <= log.ends <= FIXED_NOW
    assert logs.attack_ratio(logs.DAYS - 1) > logs.attack_ratio(0)
    assert first[0].ends < FIXED_NOW - timedelta(days=logs.DAYS - 2)


def test_every_report_is_a_valid_bundle() -> None:
    scripts = [*reports.REPORTS, reports.living_report(7)]
    assert {s.until for s in reports.REPORTS} == set(reports.STAGES)
    for script in scripts:
        validate_bundle(report_to_bundle(script.payload(), now=FIXED_NOW))
