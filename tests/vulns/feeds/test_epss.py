"""FIRST's EPSS daily CSV."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from renkei.vulns.feeds import epss
from renkei.vulns.model import EpssScore, FeedProblem

HEAD = "#model_version:v2025.03.14,score_date:2025-06-01T00:00:00+0000\ncve,epss,percentile\n"


def test_happy_path() -> None:
    data = (HEAD + "CVE-1999-0001,0.01246,0.78541\nCVE-2025-12345,0.97000,0.99990\n").encode()
    assert epss.looks_like(data, "epss_scores-2025-06-01.csv")
    a, b = epss.read(data, "epss.csv")
    assert a == EpssScore("CVE-1999-0001", 0.01246, 0.78541, datetime(2025, 6, 1, tzinfo=UTC))
    assert isinstance(b, EpssScore)
    assert b.cve == "CVE-2025-12345"
    assert b.epss == 0.97


def test_without_comment_line() -> None:
    data = b"cve,epss,percentile\r\nCVE-2024-0001,0.5,0.5\r\n"
    assert epss.looks_like(data, "epss.csv")
    [s] = epss.read(data, "epss.csv")
    assert isinstance(s, EpssScore)
    assert s.date is None


def test_bad_rows_have_line_numbers_and_the_rest_goes_on() -> None:
    data = (
        HEAD
        + "CVE-2024-0001,0.5,0.5\n"  # line 3
        + "not-a-cve,0.5,0.5\n"  # line 4
        + "CVE-2024-0002,1.5,0.5\n"  # line 5
        + "CVE-2024-0003,abc,0.5\n"  # line 6
        + "CVE-2024-0004\n"  # line 7
        + "CVE-2024-0005,nan,0.5\n"  # line 8
        + "CVE-2024-0006,0.25,0.75\n"  # line 9
    ).encode()
    out = list(epss.read(data, "e.csv"))
    assert [r.cve for r in out if isinstance(r, EpssScore)] == ["CVE-2024-0001", "CVE-2024-0006"]
    problems = [r for r in out if isinstance(r, FeedProblem)]
    assert [p.location for p in problems] == ["e.csv:4", "e.csv:5", "e.csv:6", "e.csv:7", "e.csv:8"]
    assert problems[1].record_id == "CVE-2024-0002"


def test_garbage_is_reported_a_hundred_times_then_counted() -> None:
    data = (HEAD + "".join(f"junk{i},x,y\n" for i in range(5000)) + "CVE-2024-0001,0.1,0.2\n").encode()
    out = list(epss.read(data, "e.csv"))
    problems = [r for r in out if isinstance(r, FeedProblem)]
    assert len(problems) == 101
    assert "5000 bad rows" in problems[-1].message
    assert isinstance(out[-2], EpssScore) or any(isinstance(r, EpssScore) for r in out)


def test_many_rows() -> None:
    rows = "".join(f"CVE-2024-{i:05d},0.{i % 10}1,0.5\n" for i in range(50_000))
    out = list(epss.read((HEAD + rows).encode(), "e.csv"))
    assert len(out) == 50_000
    assert all(isinstance(r, EpssScore) for r in out)


@pytest.mark.parametrize(
    "data",
    [b"", b"#model_version:v1\n", b"cve;epss;percentile\nCVE-2024-0001;0.1;0.1\n", b"\x00\x01\x02", b"{}"],
)
def test_not_epss_is_a_problem(data: bytes) -> None:
    out = list(epss.read(data, "e.csv"))
    assert out
    assert all(isinstance(r, FeedProblem) for r in out)


def test_truncated_file() -> None:
    data = (HEAD + "CVE-2024-0001,0.5,0.5\nCVE-2024-0002,0.").encode()
    out = list(epss.read(data, "e.csv"))
    assert isinstance(out[0], EpssScore)
    assert len(out) == 2  # the cut row is either read as 0.0 or reported, never raised


def test_bad_score_date_leaves_date_empty() -> None:
    [s] = epss.read(b"#model_version:v1,score_date:yesterday\ncve,epss,percentile\nCVE-2024-0001,0.1,0.1\n", "e.csv")
    assert isinstance(s, EpssScore)
    assert s.date is None


def test_looks_like_refuses_others() -> None:
    assert not epss.looks_like(b"cveID,vendorProject\n", "kev.csv")
    assert not epss.looks_like(b"{}", "x.json")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=1500))
def test_fuzz_random_bytes(data: bytes) -> None:
    for blob in (data, HEAD.encode() + data):
        for r in epss.read(blob, "fuzz.csv"):
            assert isinstance(r, EpssScore | FeedProblem)
            if isinstance(r, EpssScore):
                assert 0 <= r.epss <= 1
                assert 0 <= r.percentile <= 1


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet="CVE-0123456789.,\n\"e ", max_size=300))
def test_fuzz_near_miss_rows(body: str) -> None:
    for r in epss.read((HEAD + body).encode(), "fuzz.csv"):
        assert isinstance(r, EpssScore | FeedProblem)
