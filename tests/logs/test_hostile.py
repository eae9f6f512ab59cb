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
