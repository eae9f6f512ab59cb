"""NVD API 2.0 reader: mapping, UTC times, configurations, bad records, and its speed."""

from __future__ import annotations

import gc
from datetime import UTC, datetime
from typing import Any

import orjson

from renkei.vulns.feeds import nvd
from renkei.vulns.model import Advisory, CpeMatch, FeedProblem


def cve(number: int = 44444, **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": f"CVE-2024-{number:05d}",
        "sourceIdentifier": "cna@widgets.example",
        "published": "2024-01-02T03:04:05.123",
        "lastModified": "2024-02-03T04:05:06.789",
        "vulnStatus": "Analyzed",
        "cveTags": [{"sourceIdentifier": "cna@widgets.example", "tags": ["disputed"]}],
        "descriptions": [{"lang": "es", "value": "Desbordamiento en Widget Server."},
                         {"lang": "en", "value": "Heap overflow in Widget Server before 2.4.1."}],
        "metrics": {
            "cvssMetricV2": [{"source": "nvd@nist.gov", "type": "Primary",
                              "cvssData": {"version": "2.0", "vectorString": "AV:N/AC:L/Au:N/C:P/I:P/A:P", "baseScore": 7.5}}],
            "cvssMetricV31": [
                {"source": "cna@widgets.example", "type": "Secondary",
                 "cvssData": {"version": "3.1", "vectorString": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H", "baseScore": 8.1}},
                {"source": "nvd@nist.gov", "type": "Primary",
                 "cvssData": {"version": "3.1", "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "baseScore": 9.8}},
            ],
        },
        "weaknesses": [{"source": "nvd@nist.gov", "type": "Primary",
                        "description": [{"lang": "en", "value": "CWE-122"}, {"lang": "en", "value": "NVD-CWE-noinfo"}]}],
        "configurations": [{
            "operator": "AND",
            "nodes": [
                {"operator": "OR", "negate": False, "cpeMatch": [
                    {"vulnerable": True, "criteria": "cpe:2.3:a:widgets:widget_server:*:*:*:*:*:*:*:*",
                     "versionStartIncluding": "2.0", "versionEndExcluding": "2.4.1", "matchCriteriaId": "A-1"}]},
                {"operator": "OR", "negate": False, "cpeMatch": [
                    {"vulnerable": False, "criteria": "cpe:2.3:o:linux:linux_kernel:-:*:*:*:*:*:*:*", "matchCriteriaId": "B-2"}]},
            ]}],
        "references": [{"url": "https://widgets.example/sec/1", "source": "cna@widgets.example", "tags": ["Vendor Advisory"]}],
    }
    item.update(extra)
    return item


def feed(*items: object) -> bytes:
    return orjson.dumps({"resultsPerPage": len(items), "startIndex": 0, "totalResults": len(items),
                         "format": "NVD_CVE", "version": "2.0", "timestamp": "2024-05-01T00:00:00.000",
                         "vulnerabilities": [{"cve": i} for i in items]})


def test_cve_maps_with_utc_times_and_primary_scores_first() -> None:
    [adv] = nvd.read(feed(cve()), "nvd.json")
    assert isinstance(adv, Advisory)
    assert adv.id == "CVE-2024-44444"
    assert adv.published == datetime(2024, 1, 2, 3, 4, 5, 123000, tzinfo=UTC)
    assert adv.modified is not None
    assert adv.modified.tzinfo is UTC
    assert adv.details == "Heap overflow in Widget Server before 2.4.1."
    assert [(s.scheme, s.score, s.publisher) for s in adv.severities] == [
        ("CVSS_V3", 9.8, "nvd@nist.gov"), ("CVSS_V2", 7.5, "nvd@nist.gov"), ("CVSS_V3", 8.1, "cna@widgets.example")]
    assert adv.cwes == ("CWE-122",)
    assert adv.references == ("https://widgets.example/sec/1",)
    [config] = adv.configurations
    assert config.operator == "AND"
    first, second = config.nodes
    assert first.matches == (CpeMatch("cpe:2.3:a:widgets:widget_server:*:*:*:*:*:*:*:*", True, "2.0", None, None, "2.4.1"),)
    assert second.matches[0].vulnerable is False
    assert hash(first.matches[0]) == hash(CpeMatch("cpe:2.3:a:widgets:widget_server:*:*:*:*:*:*:*:*", True, "2.0", None, None, "2.4.1"))
    assert adv.raw["cveTags"][0]["tags"] == ["disputed"]
    assert nvd.looks_like(feed(cve()), "nvdcve-2.0-2024.json")


def test_rejected_and_zoned_times() -> None:
    [adv] = nvd.read(feed(cve(vulnStatus="Rejected", lastModified="2024-02-03T04:05:06+02:00")), "nvd.json")
    assert isinstance(adv, Advisory)
    assert adv.withdrawn == datetime(2024, 2, 3, 2, 5, 6, tzinfo=UTC)


def test_one_bad_record_among_good_ones() -> None:
    bad = [
        cve(1, lastModified=12),
        cve(2, metrics={"cvssMetricV31": [{"source": "x", "cvssData": {"vectorString": 5, "baseScore": 1.0}}]}),
        cve(3, references=[{"url": None}]),
        cve(4, configurations=[{"nodes": [{"operator": "XOR", "cpeMatch": []}]}]),
        cve(5, descriptions="not a list"),
        "not an object",
        cve(6, weaknesses=[{"description": [{"value": ["CWE-1"]}]}]),
    ]
    out = list(nvd.read(feed(cve(100), *bad, cve(101)), "nvd.json"))
    assert [type(o).__name__ for o in out] == ["Advisory"] + ["FeedProblem"] * len(bad) + ["Advisory"]
    problem = out[1]
    assert isinstance(problem, FeedProblem)
    assert (problem.location, problem.record_id) == ("nvd.json#1", "CVE-2024-00001")
    assert "lastModified" in problem.message
    assert gc.isenabled()


def test_not_a_feed() -> None:
    for data in (b'{"format": "NVD_CVE", "vulnerabilities": {}}', b"[1, 2]", b'{"format": "NVD_CVE", "vulner'):
        [out] = nvd.read(data, "x.json")
        assert isinstance(out, FeedProblem)
