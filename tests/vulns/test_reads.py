"""The console's reads of the vulns domain: search, affected ranges, alert bands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from renkei.core import orgs
from renkei.core.time import FixedClock
from renkei.vulns import alerts, reads
from renkei.vulns.ingest import import_records
from renkei.vulns.inventory import parse_inventory
from renkei.vulns.model import (
    Advisory,
    AffectedPackage,
    AffectedRange,
    CpeConfiguration,
    CpeMatch,
    CpeNode,
    EventKind,
    KevEntry,
    RangeEvent,
    Source,
)

CLOCK = FixedClock(datetime(2026, 4, 1, tzinfo=UTC))


def _advisories() -> list[Advisory]:
    return [
        Advisory(Source.OSV, "GHSA-aaaa-bbbb-cccc", datetime(2026, 3, 1, tzinfo=UTC),
                 aliases=("CVE-2026-1111",), title="Flask session fixation",
                 packages=(AffectedPackage("PyPI", "flask", ranges=(AffectedRange("ECOSYSTEM", (
                     RangeEvent(EventKind.INTRODUCED, "0"),
                     RangeEvent(EventKind.FIXED, "3.0.1"))),)),)),
        Advisory(Source.NVD, "CVE-2026-2222", datetime(2026, 3, 2, tzinfo=UTC),
                 title="Widget 100% overflow",
                 configurations=(CpeConfiguration((CpeNode("OR", (CpeMatch(
                     "cpe:2.3:a:acme:widget:*:*:*:*:*:*:*:*",
                     version_end_excluding="2.0"),)),)),)),
    ]


@pytest.fixture
def held(db_session: Session) -> Session:
    import_records(db_session, CLOCK, [*_advisories(), KevEntry(
        "CVE-2026-1111", "pallets", "flask", "x", datetime(2026, 3, 3, tzinfo=UTC))])
    return db_session


@pytest.mark.parametrize(("text", "kind", "keys"), [
    ("cve-2026", "id", ["CVE-2026-1111", "CVE-2026-2222"]),  # one import: by key
    ("GHSA-aaaa", "any", ["CVE-2026-1111"]),
    ("session", "keyword", ["CVE-2026-1111"]),
    ("session", "id", []),
    ("widget", "product", ["CVE-2026-2222"]),
    ("flask", "product", ["CVE-2026-1111"]),
    ("100%", "keyword", ["CVE-2026-2222"]),
    ("%", "any", []),
    ("fl", "any", []),  # too short for a word, and no id starts with it
    ("flask", "nonsense", []),
])
def test_search(held: Session, text: str, kind: str, keys: list[str]) -> None:
    assert [f.key for f in reads.search(held, text, kind)] == keys


def test_search_pages_and_marks_kev(held: Session) -> None:
    first = reads.search(held, "CVE-2026", limit=1)
    second = reads.search(held, "CVE-2026", limit=1, offset=1)
    assert [f.key for f in first + second] == ["CVE-2026-1111", "CVE-2026-2222"]
    assert first[0].kev
    assert not second[0].kev
    assert first[0].title == "Flask session fixation"


def test_affected_reads_ranges_and_cpe_bounds() -> None:
    lines = reads.affected_of(_advisories())
    assert [(a.what, a.ranges) for a in lines] == [
        ("PyPI/flask", ("ECOSYSTEM: introduced 0, fixed 3.0.1",)),
        ("cpe:2.3:a:acme:widget:*:*:*:*:*:*:*:*", ("< 2.0",))]


def test_alert_bands_count_a_member_s_new_alerts(held: Session) -> None:
    member = orgs.add(held, CLOCK, "member")
    other = orgs.add(held, CLOCK, "other")
    components = parse_inventory(b"flask==2.0\n", "requirements.txt").components
    alerts.register_asset(held, CLOCK, member.id, "app", components, "requirements", actor="t")
    counts = reads.alert_bands(held, member.id)
    assert counts["kev"] == 1
    assert sum(counts.values()) == 1
    assert sum(reads.alert_bands(held, other.id).values()) == 0
    assert sum(reads.alert_bands(held, None, CLOCK.now() + timedelta(days=1)).values()) == 0
    assert [key for _a, key in reads.alerts_page(held, member.id)] == ["CVE-2026-1111"]


@pytest.mark.parametrize(("kev", "cvss", "band"), [
    (True, None, "kev"), (False, None, "unscored"), (False, 9.0, "critical"),
    (False, 7.0, "high"), (False, 4.0, "medium"), (False, 3.9, "low")])
def test_band_of(kev: bool, cvss: float | None, band: str) -> None:
    assert reads.band_of(kev, cvss) == band
