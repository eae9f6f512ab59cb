"""FIRST's EPSS daily CSV read into ``EpssScore``.

The file is ~300,000 rows a day, so rows go through the ``csv`` module with plain string
checks; the first 100 bad rows are reported one by one and the rest only counted, so a
garbage file yields a hundred problems, not a million.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime

from renkei.vulns.model import EpssScore, FeedProblem, Record

MAX_REPORTED = 100
MAX_ROWS = 5_000_000


def looks_like(head: bytes, name: str) -> bool:
    """The model-version comment or the ``cve,epss,percentile`` header."""
    h = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if h.startswith((b"#model_version", b"#score_date")):
        return True
    return h.startswith(b"cve,epss,percentile")


def _score_date(comment: str) -> datetime | None:
    """``#model_version:v2025.03.14,score_date:2025-06-01T00:00:00+0000`` → the date."""
    for part in comment.lstrip("#").split(","):
        key, _, value = part.partition(":")
        if key.strip() == "score_date":
            try:
                d = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            except ValueError:
                return None
            return d if d.tzinfo is not None else d.replace(tzinfo=UTC)
    return None


def _is_cve(s: str) -> bool:
    # CVE-YYYY-NNNN…: plain string tests, cheaper than a regex on 300k rows
    return (
        13 <= len(s) <= 30
        and s.startswith("CVE-")
        and s[4:8].isdigit()
        and s[8] == "-"
        and s[9:].isdigit()
        and s.isascii()
    )


def read(data: bytes, location: str) -> Iterator[Record]:
    """Every row as an EpssScore; bad rows become FeedProblems (the first 100) and a count."""
    text = data.decode("utf-8-sig", errors="replace")
    lines = io.StringIO(text, newline="")
    date: datetime | None = None
    line_no = 0
    first = lines.readline()
    line_no += 1
    if first.startswith("#"):
        date = _score_date(first.strip())
        header_line = lines.readline()
        line_no += 1
    else:
        header_line = first
    header = [h.strip().lower() for h in header_line.strip().split(",")]
    try:
        i_cve, i_epss, i_pct = header.index("cve"), header.index("epss"), header.index("percentile")
    except ValueError:
        yield FeedProblem(f"{location}:{line_no}", None, "no 'cve,epss,percentile' header: not an EPSS file")
        return
    width = max(i_cve, i_epss, i_pct) + 1
    bad = 0
    reader = csv.reader(lines)
    try:
        for n, row in enumerate(reader):
            if n >= MAX_ROWS:
                break
            if not row:
                continue
            problem: str | None = None
            cve = ""
            if len(row) < width:
                problem = f"{len(row)} fields, expected {width}"
            else:
                cve = row[i_cve].strip()
                if not _is_cve(cve):
                    problem = f"{cve[:40]!r} is not a CVE id"
                else:
                    try:
                        epss = float(row[i_epss])
                        pct = float(row[i_pct])
                    except ValueError:
                        problem = "epss or percentile is not a number"
                    else:
                        if 0.0 <= epss <= 1.0 and 0.0 <= pct <= 1.0:
                            yield EpssScore(cve, epss, pct, date)
                            continue
                        problem = "epss or percentile outside [0, 1]"
            bad += 1
            if bad <= MAX_REPORTED:
                yield FeedProblem(f"{location}:{line_no + reader.line_num}", cve[:200] or None, problem)
    except csv.Error as e:
        bad += 1
        yield FeedProblem(f"{location}:{line_no + reader.line_num}", None, f"unreadable CSV: {e}"[:500])
    if bad > MAX_REPORTED:
        yield FeedProblem(location, None, f"{bad} bad rows in all; only the first {MAX_REPORTED} reported")
