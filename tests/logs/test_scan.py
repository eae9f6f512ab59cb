"""Whole-file scans: findings with their lines, aggregates and the success judgement."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from renkei.logs.aggregate import Thresholds
from renkei.logs.scan import LogScanner
from renkei.logs.synth import generate
from tests.logs.conftest import clf


def test_findings_point_at_their_lines(scanner: LogScanner, tmp_path: Path) -> None:
    path = tmp_path / "synthetic.log"
    path.write_text("".join(generate(4000, seed=3, attack_ratio=0.05)), encoding="utf-8")
    lines = path.read_text(encoding="utf-8").splitlines()
    result = scanner.scan_file(path)
    assert result.summary.lines == 4000
    assert result.summary.parsed == 4000
    signature = [f for f in result.findings if not f.rule.startswith("RK-AGG")]
    assert signature
    for finding in signature:
        line = lines[finding.line - 1]
        assert finding.target in line
        assert line.startswith(finding.src + " ")


def test_hyperscan_and_re_engines_agree(tmp_path: Path) -> None:
    path = tmp_path / "synthetic.log"
    path.write_text("".join(generate(3000, seed=5, attack_ratio=0.1)), encoding="utf-8")
    fast = LogScanner().scan_file(path).findings
    slow = LogScanner(use_hyperscan=False).scan_file(path).findings
    assert [(f.line, f.rule, f.fragment) for f in fast] == [(f.line, f.rule, f.fragment) for f in slow]


def test_success_judgement(scanner: LogScanner, write_log: Callable[..., Path]) -> None:
    usual = [clf("/item.php?id=7", size=6100 + i) for i in range(10)]
    lines = [
        *usual,
        clf("/item.php?id=7%20UNION%20SELECT%20user,pass%20FROM%20users", size=48000),
        clf("/item.php?id=7%20UNION%20SELECT%201,2", size=6105),
        clf("/item.php?id=7%20UNION%20SELECT%201,2", status=500, size=300),
        clf("/item.php?id=7%20UNION%20SELECT%201,2", status=403, size=200),
        clf("/new.php?id=7%20UNION%20SELECT%201,2", size=6105),
    ]
    result = scanner.scan_file(write_log(lines))
    verdicts = {f.line: f.succeeded for f in result.findings if f.category == "sqli"}
    assert verdicts == {11: True, 12: False, 13: True, 14: False, 15: None}


def test_brute_force_burst_is_one_finding(write_log: Callable[..., Path]) -> None:
    scanner = LogScanner(thresholds=Thresholds(login_attempts=5, login_window_s=60))
    lines = [clf("/wp-login.php", method="POST", src="198.51.100.9", size=3000,
                 when=f"10/Oct/2025:13:55:{i:02d} +0900") for i in range(12)]
    lines.append(clf("/wp-login.php", method="POST", src="198.51.100.9", status=302, size=0,
                     when="10/Oct/2025:13:55:30 +0900"))
    lines += [clf("/wp-login.php", method="POST", src="192.0.2.1") for _ in range(3)]
    result = scanner.scan_file(write_log(lines))
    brute = [f for f in result.findings if f.category == "brute-force"]
    assert len(brute) == 1
    assert brute[0].src == "198.51.100.9"
    assert brute[0].line == 1  # the burst's first attempt
    assert brute[0].time is not None
    assert brute[0].time.second == 0
    assert brute[0].count == 13
    assert brute[0].succeeded is True


def test_basic_auth_refusals_count_as_attempts(write_log: Callable[..., Path]) -> None:
    scanner = LogScanner(thresholds=Thresholds(login_attempts=5, login_window_s=60))
    lines = [clf("/private/", status=401, src="203.0.113.50") for _ in range(6)]
    result = scanner.scan_file(write_log(lines))
    assert [(f.category, f.succeeded) for f in result.findings] == [("brute-force", False)]


def test_error_rate_anomaly(write_log: Callable[..., Path]) -> None:
    scanner = LogScanner(thresholds=Thresholds(error_min_requests=10, error_min_errors=8))
    lines = [clf("/", src=f"10.0.0.{i}") for i in range(100)]
    lines += [clf(f"/guess{i}/", status=404, src="192.0.2.66") for i in range(12)]
    result = scanner.scan_file(write_log(lines))
    anomalies = [f for f in result.findings if f.category == "error-anomaly"]
    assert [(f.src, f.line, f.count) for f in anomalies] == [("192.0.2.66", 101, 12)]


def test_requests_per_hour(scanner: LogScanner, write_log: Callable[..., Path]) -> None:
    lines = [clf("/", when="10/Oct/2025:13:55:36 +0900"), clf("/", when="10/Oct/2025:14:05:00 +0900"),
             clf("/", when="10/Oct/2025:14:59:59 +0900")]
    result = scanner.scan_file(write_log(lines))
    assert sorted(result.requests_per_hour.values()) == [1, 2]


@pytest.mark.parametrize("block_bytes", [300, 4096])
def test_block_size_does_not_change_results(tmp_path: Path, block_bytes: int) -> None:
    path = tmp_path / "synthetic.log"
    path.write_text("".join(generate(800, seed=9, attack_ratio=0.2)), encoding="utf-8")
    whole = LogScanner().scan_file(path)
    pieces = LogScanner(max_line=1024, block_bytes=block_bytes).scan_file(path)
    key = Counter((f.line, f.rule) for f in whole.findings if f.rule != "RK-AGG-BRUTE-FORCE")
    assert Counter((f.line, f.rule) for f in pieces.findings if f.rule != "RK-AGG-BRUTE-FORCE") == key
    assert pieces.summary.lines == whole.summary.lines == 800


def test_finding_times_keep_the_logs_offset(scanner: LogScanner, write_log: Callable[..., Path]) -> None:
    lines = [clf("/a?id=1%20union%20select%201", when="10/Oct/2025:13:55:36 +0900"),
             clf("/a?id=1%20union%20select%201", when="10/Oct/2000:13:55:36 -0700"),
             clf("/a?id=1%20union%20select%201", when="10/Oct/2000:13:55:36 +0000")]
    times = [f.time for f in scanner.scan_file(write_log(lines)).findings]
    assert [t.isoformat() if t else None for t in times] == [
        "2025-10-10T13:55:36+09:00", "2000-10-10T13:55:36-07:00", "2000-10-10T13:55:36+00:00"]


def test_rules_limited_to_methods(scanner: LogScanner, write_log: Callable[..., Path]) -> None:
    lines = [clf("/wp-login.php"), clf("/wp-login.php", method="POST"), clf("/wp-login.php", method="head")]
    found = [(f.line, f.rule) for f in scanner.scan_file(write_log(lines)).findings]
    assert found == [(1, "RK-SENS-ADMIN-PANEL"), (3, "RK-SENS-ADMIN-PANEL")]


def test_a_success_inside_a_burst_stays_a_success(write_log: Callable[..., Path]) -> None:
    scanner = LogScanner(thresholds=Thresholds(login_attempts=5, login_window_s=60))
    codes = [401] * 10 + [200] + [401] * 5
    lines = [clf("/login", method="POST", src="198.51.100.7", status=code,
                 when=f"10/Oct/2025:13:55:{i:02d} +0900") for i, code in enumerate(codes)]
    brute = [f for f in scanner.scan_file(write_log(lines)).findings if f.category == "brute-force"]
    assert [(f.line, f.count, f.succeeded) for f in brute] == [(1, 16, True)]


def test_a_source_that_is_most_of_the_traffic_can_still_be_anomalous(
        write_log: Callable[..., Path]) -> None:
    scanner = LogScanner(thresholds=Thresholds(error_min_requests=10, error_min_errors=8))
    lines = [clf("/", src=f"10.0.0.{i % 50}") for i in range(300)]
    lines += [clf(f"/guess{i}/", status=404, src="192.0.2.66") for i in range(900)]
    anomalies = [f.src for f in scanner.scan_file(write_log(lines)).findings
                 if f.category == "error-anomaly"]
    assert anomalies == ["192.0.2.66"]


def test_year_zero_and_fractional_seconds(scanner: LogScanner, write_log: Callable[..., Path]) -> None:
    lines = [clf("/?id=1%27%20union%20select%201,2--", when="01/Jan/0000:00:00:00 +0000"),
             clf("/?id=1%27%20union%20select%201,2--", when="10/Oct/2000:13:55:36.123 +0900"),
             clf("/?id=1%27%20union%20select%201,2--", when="31/Dec/9999:23:59:59 -1200")]
    result = scanner.scan_file(write_log(lines))
    assert [(i.line, i.reason) for i in result.issues] == [(1, "unreadable timestamp")]
    times = {f.line: f.time for f in result.findings}
    assert times[2] is not None
    assert times[2].isoformat() == "2000-10-10T13:55:36+09:00"
    assert times[3] is None  # beyond what a datetime holds once the zone is applied
