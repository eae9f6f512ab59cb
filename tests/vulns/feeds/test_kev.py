"""CISA KEV catalogue, JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from renkei.vulns.feeds import kev
from renkei.vulns.model import FeedProblem, KevEntry

FIELDS = [
    "cveID", "vendorProject", "product", "vulnerabilityName", "dateAdded", "shortDescription",
    "requiredAction", "dueDate", "knownRansomwareCampaignUse", "notes", "cwes",
]


def entry(cve: str, added: str = "2025-08-25", due: str = "2025-09-15", ransom: str = "Unknown") -> dict[str, Any]:
    return {
        "cveID": cve,
        "vendorProject": "Example",
        "product": "Widget Server",
        "vulnerabilityName": "Example Widget Server Path Traversal Vulnerability",
        "dateAdded": added,
        "shortDescription": "Widget Server lets a remote attacker read files.",
        "requiredAction": "Apply mitigations per vendor instructions.",
        "dueDate": due,
        "knownRansomwareCampaignUse": ransom,
        "notes": "https://example.com/advisory",
        "cwes": ["CWE-22"],
    }


def catalogue(*entries: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "title": "CISA Catalog of Known Exploited Vulnerabilities",
            "catalogVersion": "2025.08.25",
            "dateReleased": "2025-08-25T17:04:19.9796Z",
            "count": len(entries),
            "vulnerabilities": list(entries),
        }
    ).encode()


def as_csv(*entries: dict[str, Any]) -> bytes:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=FIELDS)
    w.writeheader()
    for e in entries:
        w.writerow({**e, "cwes": ", ".join(e["cwes"])})
    return out.getvalue().encode()


def test_json_happy_path() -> None:
    data = catalogue(entry("CVE-2025-0001", ransom="Known"), entry("CVE-2024-12345"))
    assert kev.looks_like(data[:65536], "known_exploited_vulnerabilities.json")
    a, b = kev.read(data, "kev.json")
    assert isinstance(a, KevEntry)
    assert isinstance(b, KevEntry)
    assert a.cve == "CVE-2025-0001"
    assert a.ransomware
    assert not b.ransomware
    assert a.date_added == datetime(2025, 8, 25, tzinfo=UTC)
    assert a.due_date == datetime(2025, 9, 15, tzinfo=UTC)
    assert (a.vendor, a.product, a.action) == ("Example", "Widget Server", "Apply mitigations per vendor instructions.")
    assert a.name.endswith("Path Traversal Vulnerability")
    assert a.notes == "https://example.com/advisory"


def test_csv_happy_path() -> None:
    data = as_csv(entry("CVE-2025-0001", ransom="Known"), entry("CVE-2024-12345"))
    assert kev.looks_like(data, "known_exploited_vulnerabilities.csv")
    a, b = kev.read(data, "kev.csv")
    assert isinstance(a, KevEntry)
    assert a.ransomware
    assert a.date_added == datetime(2025, 8, 25, tzinfo=UTC)
    assert isinstance(b, KevEntry)
    assert b.cve == "CVE-2024-12345"


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_bad_date_among_good_ones(fmt: str) -> None:
    entries = (entry("CVE-2025-0001"), entry("CVE-2025-0002", added="2025-13-45"), entry("CVE-2025-0003"))
    data = catalogue(*entries) if fmt == "json" else as_csv(*entries)
    out = list(kev.read(data, f"kev.{fmt}"))
    assert [r.cve for r in out if isinstance(r, KevEntry)] == ["CVE-2025-0001", "CVE-2025-0003"]
    [p] = [r for r in out if isinstance(r, FeedProblem)]
    assert p.record_id == "CVE-2025-0002"
    assert "dateAdded" in p.message
    assert p.location == ("kev.json#vulnerabilities[1]" if fmt == "json" else "kev.csv:3")


def test_bad_due_date_keeps_the_entry() -> None:
    out = list(kev.read(catalogue(entry("CVE-2025-0001", due="soon")), "kev.json"))
    assert isinstance(out[0], KevEntry)
    assert out[0].due_date is None
    assert isinstance(out[1], FeedProblem)
    assert "dueDate" in out[1].message


def test_empty_due_date_is_fine() -> None:
    [e] = list(kev.read(catalogue(entry("CVE-2025-0001", due="")), "kev.json"))
    assert isinstance(e, KevEntry)
    assert e.due_date is None


@pytest.mark.parametrize("bad", ["cve-2025-0001", "CVE-2025-1", "", "GHSA-xxxx", None, 7])
def test_bad_cve_id(bad: Any) -> None:
    [p] = list(kev.read(catalogue(entry(bad)), "kev.json"))
    assert isinstance(p, FeedProblem)


def test_entries_that_are_not_objects() -> None:
    data = json.dumps({"vulnerabilities": [1, "x", entry("CVE-2025-0001")]}).encode()
    out = list(kev.read(data, "kev.json"))
    assert [type(r).__name__ for r in out] == ["FeedProblem", "FeedProblem", "KevEntry"]


@pytest.mark.parametrize(
    "data",
    [b"", b"{", b'{"vulnerabilities": {}}', b"[]", b"cveID,foo\nx,y\n", b"\xff\xfe", b"a,b\x00c\n"],
)
def test_broken_input_is_a_problem(data: bytes) -> None:
    out = list(kev.read(data, "kev"))
    assert out
    assert all(isinstance(r, FeedProblem) for r in out)


def test_truncated_json_and_csv() -> None:
    data = catalogue(*(entry(f"CVE-2025-{i:04d}") for i in range(1, 20)))
    [p] = list(kev.read(data[: len(data) // 2], "kev.json"))
    assert isinstance(p, FeedProblem)
    csv_data = as_csv(*(entry(f"CVE-2025-{i:04d}") for i in range(1, 20)))
    out = list(kev.read(csv_data[: len(csv_data) // 2], "kev.csv"))
    assert any(isinstance(r, KevEntry) for r in out)


def test_looks_like_refuses_others() -> None:
    assert not kev.looks_like(b'{"document": {"csaf_version": "2.0"}}', "x.json")
    assert not kev.looks_like(b"cve,epss,percentile\n", "epss.csv")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=1500))
def test_fuzz_random_bytes(data: bytes) -> None:
    for r in kev.read(data, "fuzz"):
        assert isinstance(r, KevEntry | FeedProblem)
    for r in kev.read(b"cveID,vendorProject,dateAdded\n" + data, "fuzz.csv"):
        assert isinstance(r, KevEntry | FeedProblem)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(FIELDS), st.one_of(st.none(), st.integers(), st.text(max_size=30), st.lists(st.integers())))
def test_fuzz_field_values(field: str, value: Any) -> None:
    e = entry("CVE-2025-0001")
    e[field] = value
    for r in kev.read(catalogue(e), "kev.json"):
        assert isinstance(r, KevEntry | FeedProblem)
