"""CISA's Known Exploited Vulnerabilities catalogue, JSON or CSV, read into ``KevEntry``.

Dates are calendar days (``2025-08-25``) and become aware UTC midnights. An entry whose
``cveID`` or ``dateAdded`` cannot be read is a FeedProblem; an unreadable ``dueDate`` keeps
the entry (a known-exploited flaw is too important to drop) without it, and is reported.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any

import orjson

from renkei.vulns.model import FeedProblem, KevEntry, Record

MAX_TEXT = 64 * 1024
MAX_FIELD = 1024
MAX_ENTRIES = 1_000_000
_CVE = re.compile(r"CVE-\d{4}-\d{4,}")
_CSV_HEADER = b"cveID,vendorProject"


def looks_like(head: bytes, name: str) -> bool:
    """The catalogue's own keys (JSON) or its CSV header."""
    h = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if h.startswith(b"{"):
        return b'"catalogVersion"' in h or (b'"cveID"' in h and b'"vendorProject"' in h)
    return h.startswith((_CSV_HEADER, b'"cveID","vendorProject"'))


def read(data: bytes, location: str) -> Iterator[Record]:
    """Each catalogue entry as a KevEntry; a bad entry is a FeedProblem and the rest go on."""
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{"):
        yield from _read_json(data, location)
    else:
        yield from _read_csv(data, location)


def _read_json(data: bytes, location: str) -> Iterator[Record]:
    try:
        doc: Any = orjson.loads(data)
    except Exception as e:  # orjson.JSONDecodeError and anything else: never raise
        yield FeedProblem(location, None, f"not JSON: {e}"[:500])
        return
    vulns = doc.get("vulnerabilities") if isinstance(doc, dict) else None
    if not isinstance(vulns, list):
        yield FeedProblem(location, None, "no 'vulnerabilities' list: not a KEV catalogue")
        return
    for i, v in enumerate(vulns[:MAX_ENTRIES]):
        yield from _entry(v, f"{location}#vulnerabilities[{i}]")


def _read_csv(data: bytes, location: str) -> Iterator[Record]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        yield FeedProblem(location, None, f"not UTF-8: {e}"[:500])
        return
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        fields = reader.fieldnames or []
        if "cveID" not in fields or "dateAdded" not in fields:
            yield FeedProblem(f"{location}:1", None, "no KEV CSV header (cveID, dateAdded …)")
            return
        for n, row in enumerate(reader):
            if n >= MAX_ENTRIES:
                break
            yield from _entry(row, f"{location}:{reader.line_num}")
    except csv.Error as e:  # NUL bytes, field too large …
        yield FeedProblem(f"{location}:{reader.line_num}", None, f"unreadable CSV: {e}"[:500])


def _entry(v: Any, where: str) -> Iterable[Record]:
    if not isinstance(v, Mapping):
        return [FeedProblem(where, None, "entry is not an object")]
    cve = _s(v.get("cveID")).strip()
    rid = cve[:200] or None
    if not _CVE.fullmatch(cve):
        return [FeedProblem(where, rid, f"cveID {cve[:200]!r} is not a CVE id")]
    added = _day(v.get("dateAdded"))
    if added is None:
        return [FeedProblem(where, rid, f"dateAdded {_s(v.get('dateAdded'))[:64]!r} is not a date")]
    out: list[Record] = []
    due_raw = v.get("dueDate")
    due = _day(due_raw)
    if due is None and _s(due_raw).strip():
        out.append(FeedProblem(where, rid, f"dueDate {_s(due_raw)[:64]!r} is not a date; entry kept without it"))
    out.insert(
        0,
        KevEntry(
            cve=cve,
            vendor=_s(v.get("vendorProject"))[:MAX_FIELD],
            product=_s(v.get("product"))[:MAX_FIELD],
            name=_s(v.get("vulnerabilityName"))[:MAX_FIELD],
            date_added=added,
            due_date=due,
            ransomware=_s(v.get("knownRansomwareCampaignUse")).strip().lower() == "known",
            action=_s(v.get("requiredAction"))[:MAX_TEXT],
            notes=_s(v.get("notes"))[:MAX_TEXT],
        ),
    )
    return out


def _day(value: Any) -> datetime | None:
    """``YYYY-MM-DD`` (a full timestamp is cut to its day) as UTC midnight."""
    s = _s(value).strip()
    if len(s) < 10:
        return None
    try:
        d = date.fromisoformat(s[:10])
    except ValueError:
        return None
    if len(s) > 10 and s[10] not in "T ":
        return None
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def _s(v: Any) -> str:
    return v if isinstance(v, str) else ""
