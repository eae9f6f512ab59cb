"""Readers: formats, compression, and hostile input that must never crash a scan."""

from __future__ import annotations

import bz2
import gzip
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import zstandard

from renkei.logs.model import LogFormat, ParseIssue
from renkei.logs.read import LogReadError, detect_format
from renkei.logs.scan import LogScanner
from tests.logs.conftest import clf

GOOD = [clf("/index.html"), clf("/item.php?id=1%20UNION%20SELECT%201,2"), clf("/about/")]


def test_detects_each_format() -> None:
    assert detect_format("\n".join(GOOD).encode()) is LogFormat.COMBINED
    common = '1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 2326'
    assert detect_format(common.encode()) is LogFormat.COMMON
    assert detect_format(b"#Software: Microsoft IIS\n#Fields: date time\n") is LogFormat.IIS
    assert detect_format(b'{"remote_addr": "1.2.3.4"}\n') is LogFormat.JSON
    assert detect_format(b"\x00\x01binary\xff") is None


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress,
                                      lambda d: zstandard.ZstdCompressor().compress(d)])
def test_reads_compressed_files(scanner: LogScanner, tmp_path: Path,
                                compress: Callable[[bytes], bytes]) -> None:
    path = tmp_path / "access.log.x"
    path.write_bytes(compress(("\n".join(GOOD) + "\n").encode()))
    result = scanner.scan_file(path)
    assert result.summary.lines == 3
    assert result.summary.parsed == 3
    assert [f.line for f in result.findings if f.category == "sqli"] == [2]


def test_truncated_gzip_keeps_what_came_before(scanner: LogScanner, tmp_path: Path) -> None:
    lines = [clf(f"/page/{i}") for i in range(3000)] + [clf("/x?id=1%20union%20select%201")]
    data = gzip.compress(("\n".join(lines) + "\n").encode())
    path = tmp_path / "cut.log.gz"
    path.write_bytes(data[: len(data) - 40])
    result = scanner.scan_file(path)
    assert "compressed data broken" in result.summary.error
    assert "cut.log.gz" in result.summary.error
    assert result.summary.parsed >= 2850


def test_broken_lines_are_counted_and_the_rest_kept(scanner: LogScanner,
                                                    write_log: Callable[..., Path]) -> None:
    path = write_log([GOOD[0], "complete nonsense", GOOD[1],
                      '1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" xyz 1', GOOD[2]])
    result = scanner.scan_file(path)
    assert result.summary.parsed == 3
    assert result.summary.skipped == 2
    assert [(i.line, i.reason) for i in result.issues] == [
        (2, "no [timestamp] field"), (4, "no 3-digit status code")]
    assert result.issues[0].sample == "complete nonsense"
    assert [f.line for f in result.findings if f.category == "sqli"] == [3]


def test_binary_garbage_is_rejected_with_the_file_name(scanner: LogScanner,
                                                       write_log: Callable[..., Path]) -> None:
    path = write_log(bytes(range(256)) * 50, name="garbage.bin")
    with pytest.raises(LogReadError, match=r"garbage\.bin: not a recognised"):
        scanner.scan_file(path)


def test_binary_garbage_inside_a_log_is_skipped(scanner: LogScanner,
                                                write_log: Callable[..., Path]) -> None:
    data = ("\n".join(GOOD) + "\n").encode() + bytes(range(256)) * 20 + b"\n" + GOOD[1].encode() + b"\n"
    result = scanner.scan_file(write_log(data))
    assert result.summary.parsed == 4
    assert result.summary.skipped >= 1
    assert len([f for f in result.findings if f.category == "sqli"]) == 2


def test_megabyte_line_is_skipped_and_reported(write_log: Callable[..., Path]) -> None:
    scanner = LogScanner(max_line=64 * 1024)
    huge = clf("/a?" + "A" * 1_000_000)
    path = write_log([GOOD[0], huge, GOOD[1]])
    result = scanner.scan_file(path)
    assert result.summary.parsed == 2
    assert any(i.line == 2 and i.reason == "line too long" for i in result.issues)
    assert [f.line for f in result.findings if f.category == "sqli"] == [3]


def test_long_line_in_small_blocks_is_skipped_without_holding_it(write_log: Callable[..., Path]) -> None:
    from renkei.logs.read import BlockReader

    data = b"a\n" + b"x" * 5000 + b"\nb\n"
    issues: list[ParseIssue] = []
    reader = BlockReader("f", io.BytesIO(data), max_line=1024, report=issues.append, block_bytes=512)
    blocks = list(reader)
    assert b"".join(b.data for b in blocks) == b"a\nb\n"
    assert [b.first_line for b in blocks if b.data.strip()] == [1, 3]
    assert [(i.line, i.reason) for i in issues] == [(2, "line too long")]


def test_invalid_utf8_is_reported_but_still_analysed(scanner: LogScanner,
                                                     write_log: Callable[..., Path]) -> None:
    bad = clf("/x.php?id=1%20union%20select%201").encode().replace(b"Mozilla", b"Moz\xff\xfeilla")
    result = scanner.scan_file(write_log(GOOD[0].encode() + b"\n" + bad + b"\n"))
    assert [f.line for f in result.findings if f.category == "sqli"] == [2]
    assert [(i.line, i.skipped) for i in result.issues] == [(2, False)]
    assert "invalid UTF-8" in result.issues[0].reason


def test_iis_w3c_follows_its_fields_line(scanner: LogScanner, write_log: Callable[..., Path]) -> None:
    lines = [
        "#Software: Microsoft Internet Information Services 10.0",
        "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken",
        "2025-10-10 04:00:01 10.0.0.1 GET /default.aspx - 443 - 203.0.113.5 Mozilla/5.0+(Windows+NT+10.0) - 200 0 0 12",
        "2025-10-10 04:00:02 10.0.0.1 GET /search.aspx q=1'+or+'1'='1 443 - 203.0.113.5 sqlmap/1.8 - 500 0 0 40",
        "2025-10-10 04:00:03 10.0.0.1 GET /too few",
        "#Fields: date time c-ip cs-method cs-uri-stem sc-status",
        "2025-10-10 04:00:04 203.0.113.6 GET /../../windows/win.ini 404",
    ]
    result = scanner.scan_file(write_log(lines))
    assert result.summary.format == "iis"
    found = {(f.line, f.category) for f in result.findings}
    assert (4, "sqli") in found
    assert (4, "scanner") in found
    assert (7, "traversal") in found
    sqli = next(f for f in result.findings if f.line == 4 and f.category == "sqli")
    assert sqli.src == "203.0.113.5"
    assert sqli.status == 500
    assert sqli.succeeded is True
    assert [i.line for i in result.issues] == [5]


def test_json_lines_nginx_and_ecs(scanner: LogScanner, write_log: Callable[..., Path]) -> None:
    nginx = {"time_local": "10/Oct/2025:13:55:36 +0900", "remote_addr": "198.51.100.1",
             "request": "GET /index.php?page=../../../etc/passwd HTTP/1.1", "status": "200",
             "body_bytes_sent": "512", "http_referer": "-", "http_user_agent": "curl/8.0"}
    ecs = {"@timestamp": "2025-10-10T04:55:37Z", "source": {"ip": "198.51.100.2"},
           "http": {"request": {"method": "GET"}, "response": {"status_code": 404}},
           "url": {"original": "/q?x=<script>alert(1)</script>"},
           "user_agent": {"original": "Mozilla/5.0"}}
    lines = [json.dumps(nginx), json.dumps(ecs), "{not json", json.dumps([1, 2]),
             json.dumps({"remote_addr": "1.1.1.1", "time_local": "10/Oct/2025:13:55:36 +0900"})]
    result = scanner.scan_file(write_log(lines))
    assert result.summary.format == "json"
    found = {(f.line, f.category, f.src) for f in result.findings}
    assert (1, "traversal", "198.51.100.1") in found
    assert (2, "xss", "198.51.100.2") in found
    assert sorted(i.line for i in result.issues) == [3, 4, 5]


def test_crlf_line_endings(scanner: LogScanner, write_log: Callable[..., Path]) -> None:
    result = scanner.scan_file(write_log(("\r\n".join(GOOD) + "\r\n").encode()))
    assert result.summary.parsed == 3
    assert [f.target for f in result.findings if f.category == "sqli"] == [
        "/item.php?id=1%20UNION%20SELECT%201,2"]


def test_missing_file_names_itself(scanner: LogScanner, tmp_path: Path) -> None:
    with pytest.raises(LogReadError, match=r"nope\.log: no such file"):
        scanner.scan_file(tmp_path / "nope.log")


def test_every_parse_problem_reads_in_japanese() -> None:
    from renkei.core.i18n import translator
    from renkei.logs.read import PARSE_ERRORS

    ja = translator("ja")
    for message in [*PARSE_ERRORS.values(), "invalid UTF-8 (analysed with the bytes escaped)"]:
        assert ja(message) != message


def test_nginx_msec_as_a_quoted_string(scanner: LogScanner, write_log: Callable[..., Path]) -> None:
    record = {"msec": "1760072136.123", "remote_addr": "198.51.100.3", "status": 200,
              "request": "GET /?q=%3Cscript%3Ealert(1)%3C/script%3E HTTP/1.1"}
    result = scanner.scan_file(write_log([json.dumps(record)]))
    assert result.issues == []
    assert [f.category for f in result.findings if f.category == "xss"] == ["xss"]
    assert result.findings[0].time is not None
    assert result.findings[0].time.year == 2025


def test_byte_order_mark_is_ignored(scanner: LogScanner, write_log: Callable[..., Path]) -> None:
    result = scanner.scan_file(write_log(b"\xef\xbb\xbf" + ("\n".join(GOOD) + "\n").encode()))
    assert result.summary.parsed == 3
    assert result.findings[0].src == "192.0.2.10"
    iis = b"\xef\xbb\xbf#Software: IIS\n#Fields: date time c-ip cs-method cs-uri-stem sc-status\n" \
          b"2025-10-10 04:00:04 203.0.113.6 GET /../../windows/win.ini 404\n"
    result = scanner.scan_file(write_log(iis, name="u_ex.log"))
    assert result.summary.format == "iis"
    assert [f.category for f in result.findings] == ["traversal"]


def test_a_file_of_broken_lines_keeps_a_bounded_sample(scanner: LogScanner,
                                                       write_log: Callable[..., Path]) -> None:
    lines = [GOOD[0]] + ["x" * 50] * 5000
    result = scanner.scan_file(write_log(lines))
    assert result.summary.skipped == 5000
    assert sum(result.issue_counts.values()) == 5000
    assert len(result.issues) == 1000
