"""Fuzzing the whole scan: whatever the bytes, no crash, and every good line is kept."""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from renkei.logs.read import LogReadError
from renkei.logs.scan import LogScanner
from tests.logs.conftest import clf

SCANNER = LogScanner(max_line=4096)
GOOD = clf("/p.php?id=1%20union%20select%201")

junk_line = st.binary(max_size=300).map(lambda b: b.replace(b"\n", b" "))
mangled = st.builds(lambda cut, extra: GOOD.encode()[:cut] + extra,
                    st.integers(0, len(GOOD)), st.binary(max_size=20).map(lambda b: b.replace(b"\n", b"")))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(junk_line, mangled, st.just(GOOD.encode())), min_size=1, max_size=40))
def test_any_lines_after_a_good_first_line(lines: list[bytes]) -> None:
    data = GOOD.encode() + b"\n" + b"\n".join(lines) + b"\n"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.log"
        path.write_bytes(data)
        result = SCANNER.scan_file(path)
    good = 1 + sum(1 for line in lines if line == GOOD.encode())
    assert result.summary.parsed >= good
    hits = {f.line for f in result.findings if f.category == "sqli"}
    expected = {1} | {i + 2 for i, line in enumerate(lines) if line == GOOD.encode()}
    assert expected <= hits
    assert result.summary.skipped <= len(lines)


@settings(max_examples=30, deadline=None)
@given(st.binary(max_size=2000))
def test_any_compressed_garbage(tail: bytes) -> None:
    data = gzip.compress((GOOD + "\n").encode() * 50)[:40] + tail
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.log.gz"
        path.write_bytes(data)
        try:
            result = SCANNER.scan_file(path)
        except LogReadError as exc:  # nothing readable: said with the file name
            message = str(exc)
        else:
            message = "fuzz.log.gz"
            assert result.summary.parsed <= 50
        assert "fuzz.log.gz" in message


json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8)
ecs_like = st.fixed_dictionaries({}, optional={
    "@timestamp": st.one_of(st.text(max_size=30), st.integers(-10**12, 10**12), st.floats()),
    "msec": st.text(max_size=20), "status": json_value, "request": json_value,
    "url": st.dictionaries(st.sampled_from(["original", "path", "query"]), json_value, max_size=3),
    "remote_addr": json_value, "http_user_agent": json_value, "body_bytes_sent": json_value,
})


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ecs_like, min_size=1, max_size=20))
def test_any_json_records(records: list[dict[str, object]]) -> None:
    import json

    good = {"@timestamp": "2025-10-10T04:55:37Z", "remote_addr": "192.0.2.1", "status": 200,
            "request": "GET /?q=%3Cscript%3Ealert(1)%3C/script%3E HTTP/1.1"}
    lines = [json.dumps(good)] + [json.dumps(r, default=str) for r in records]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.json"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        result = SCANNER.scan_file(path)
    assert result.summary.format == "json"
    assert 1 in {f.line for f in result.findings if f.category == "xss"}
    assert result.summary.parsed + result.summary.skipped <= len(lines)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80),
                min_size=1, max_size=20))
def test_any_iis_records(records: list[str]) -> None:
    head = "#Software: IIS\n#Fields: date time c-ip cs-method cs-uri-stem cs-uri-query sc-status\n"
    good = "2025-10-10 04:00:04 203.0.113.6 GET /../../windows/win.ini - 404"
    body = "\n".join([good] + [r.replace("\n", " ").replace("\r", " ") for r in records])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "u_ex.log"
        path.write_text(head + body + "\n", encoding="utf-8")
        result = SCANNER.scan_file(path)
    assert result.summary.format == "iis"
    assert 3 in {f.line for f in result.findings if f.category == "traversal"}


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=3000), st.integers(16, 600), st.integers(64, 1200))
def test_blocks_rebuild_every_short_line(data: bytes, block: int, limit: int) -> None:
    import io

    from renkei.logs.model import ParseIssue
    from renkei.logs.read import BlockReader

    issues: list[ParseIssue] = []
    blocks = list(BlockReader("f", io.BytesIO(data), max_line=limit, report=issues.append,
                              block_bytes=block))
    kept = b"".join(b.data for b in blocks).split(b"\n")
    lines = data.removeprefix(b"\xef\xbb\xbf").split(b"\n")  # a leading BOM is dropped
    long_lines = {i + 1 for i, line in enumerate(lines) if len(line) > limit}
    assert {i.line for i in issues} <= long_lines  # only overlong lines are ever dropped
    dropped = {i.line for i in issues}
    expected = [line for number, line in enumerate(lines, 1) if number not in dropped]
    # what comes through is every line not reported, whole and in order
    assert b"\n".join(expected).rstrip(b"\n") == b"\n".join(kept).rstrip(b"\n")
    for b in blocks:  # and each block knows the number of its first line
        own = b.data.split(b"\n")
        if b.data.endswith(b"\n"):
            own = own[:-1]
        assert lines[b.first_line - 1 : b.first_line - 1 + len(own)] == own
