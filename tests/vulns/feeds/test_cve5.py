"""CVE JSON 5.x reader: packages by purl or registry, products with version text."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import orjson

from renkei.vulns.feeds import cve5
from renkei.vulns.model import Advisory, EventKind, FeedProblem, RangeEvent, VersionBound


def record() -> dict[str, Any]:
    return {
        "dataType": "CVE_RECORD",
        "dataVersion": "5.1",
        "cveMetadata": {
            "cveId": "CVE-2024-33333",
            "assignerShortName": "examplecna",
            "state": "PUBLISHED",
            "datePublished": "2024-04-01T10:00:00.000Z",
            "dateUpdated": "2024-04-10T12:30:00.000Z",
        },
        "containers": {
            "cna": {
                "providerMetadata": {"orgId": "0000", "shortName": "examplecna"},
                "title": "Heap overflow in Widget Server",
                "descriptions": [
                    {"lang": "ja", "value": "ウィジェットサーバにヒープオーバーフロー"},
                    {"lang": "en-US", "value": "Widget Server before 2.4.1 has a heap overflow."},
                ],
                "affected": [
                    {"vendor": "Widgets Inc", "product": "Widget Server",
                     "cpes": ["cpe:2.3:a:widgets:widget_server:*:*:*:*:*:*:*:*"],
                     "defaultStatus": "unaffected",
                     "versions": [
                         {"version": "2.0", "lessThan": "2.4.1", "status": "affected", "versionType": "custom"},
                         {"version": "1.9.3", "status": "affected"},
                         {"version": "1.9.5", "status": "affected"},
                         {"version": "3.0", "lessThanOrEqual": "3.0.2", "status": "affected"},
                         {"version": "2.4.1", "status": "unaffected"},
                     ]},
                    {"vendor": "Widgets Inc", "product": "widget-client",
                     "packageURL": "pkg:npm/%40widgets/widget-client",
                     "versions": [{"version": "0", "lessThan": "1.2.3", "status": "affected", "versionType": "semver"},
                                  {"version": "1.5.0", "status": "affected"}]},
                    {"vendor": "Widgets Inc", "product": "widget-py",
                     "collectionURL": "https://pypi.org", "packageName": "widget-py",
                     "versions": [{"version": "1.0", "lessThanOrEqual": "1.4", "status": "affected"}]},
                    {"vendor": "n/a", "product": "n/a", "versions": [{"version": "n/a", "status": "affected"}]},
                ],
                "metrics": [
                    {"format": "CVSS", "cvssV3_1": {"version": "3.1", "baseScore": 8.1,
                                                    "vectorString": "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H"}},
                    {"format": "CVSS", "cvssV4_0": {"version": "4.0", "baseScore": 9.2,
                                                    "vectorString": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}},
                ],
                "problemTypes": [{"descriptions": [{"lang": "en", "type": "CWE", "cweId": "CWE-122",
                                                    "description": "CWE-122 Heap-based Buffer Overflow"}]},
                                 {"descriptions": [{"lang": "en", "description": "CWE-787: Out-of-bounds Write"}]}],
                "references": [{"url": "https://widgets.example/sec/2024-1"}],
            },
            "adp": [{
                "providerMetadata": {"orgId": "1111", "shortName": "CISA-ADP"},
                "metrics": [{"cvssV3_1": {"baseScore": 7.5, "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}}],
                "references": [{"url": "https://widgets.example/sec/2024-1"}, {"url": "https://adp.example/x"}],
            }],
        },
    }


def read(doc: object) -> list[object]:
    return list(cve5.read(orjson.dumps(doc), "CVE-2024-33333.json"))


def test_record_maps() -> None:
    [adv] = read(record())
    assert isinstance(adv, Advisory)
    assert adv.id == "CVE-2024-33333"
    assert adv.modified == datetime(2024, 4, 10, 12, 30, tzinfo=UTC)
    assert adv.published == datetime(2024, 4, 1, 10, tzinfo=UTC)
    assert adv.withdrawn is None
    assert adv.title == "Heap overflow in Widget Server"
    assert adv.details.startswith("Widget Server before")
    assert adv.language == "en"
    assert [(s.scheme, s.score, s.publisher) for s in adv.severities] == [
        ("CVSS_V3", 8.1, "examplecna"), ("CVSS_V4", 9.2, "examplecna"), ("CVSS_V3", 7.5, "CISA-ADP")]
    assert adv.cwes == ("CWE-122", "CWE-787")
    assert adv.references == ("https://widgets.example/sec/2024-1", "https://adp.example/x")


def test_packages_from_purl_and_registry() -> None:
    [adv] = read(record())
    assert isinstance(adv, Advisory)
    npm, pypi = adv.packages
    assert (npm.ecosystem, npm.name) == ("npm", "@widgets/widget-client")
    assert npm.ranges[0].type == "SEMVER"
    assert npm.ranges[0].events == (RangeEvent(EventKind.INTRODUCED, "0"), RangeEvent(EventKind.FIXED, "1.2.3"))
    assert npm.versions == ("1.5.0",)
    assert (pypi.ecosystem, pypi.name) == ("PyPI", "widget-py")
    assert pypi.ranges[0].events == (RangeEvent(EventKind.INTRODUCED, "1.0"), RangeEvent(EventKind.LAST_AFFECTED, "1.4"))


def test_products_with_version_text() -> None:
    [adv] = read(record())
    assert isinstance(adv, Advisory)
    server = [p for p in adv.products if p.product == "Widget Server"]
    assert [p.text for p in server] == [">= 2.0, < 2.4.1", ">= 3.0, <= 3.0.2", "1.9.3, 1.9.5"]
    assert server[0].lower == VersionBound("2.0", True)
    assert server[0].upper == VersionBound("2.4.1", False)
    assert server[1].upper == VersionBound("3.0.2", True)
    assert server[2].exact == ("1.9.3", "1.9.5")
    assert all(p.parsed and p.cpe and p.cpe.startswith("cpe:2.3:a:widgets") for p in server)
    [na] = [p for p in adv.products if p.product == "n/a"]
    assert not na.parsed


def test_default_affected_with_exceptions_is_flagged() -> None:
    doc = record()
    doc["containers"]["cna"]["affected"] = [{
        "vendor": "Linux", "product": "Linux", "defaultStatus": "affected",
        "versions": [{"version": "5.10", "status": "affected"},
                     {"version": "0", "lessThan": "5.10", "status": "unaffected", "versionType": "semver"}]}]
    [adv] = read(doc)
    assert isinstance(adv, Advisory)
    [product] = adv.products
    assert not product.parsed
    assert "unaffected: < 5.10" in product.text


def test_rejected_record_is_withdrawn() -> None:
    doc = record()
    doc["cveMetadata"].update(state="REJECTED", dateRejected="2024-05-01T00:00:00")
    doc["containers"] = {"cna": {"rejectedReasons": [{"lang": "en", "value": "duplicate"}]}}
    [adv] = read(doc)
    assert isinstance(adv, Advisory)
    assert adv.withdrawn == datetime(2024, 5, 1, tzinfo=UTC)


def test_bad_records_name_their_id_and_field() -> None:
    bad_time = record()
    bad_time["cveMetadata"]["dateUpdated"] = 12
    bad_score = record()
    bad_score["containers"]["cna"]["metrics"][0]["cvssV3_1"]["baseScore"] = "high"
    bad_versions = record()
    bad_versions["containers"]["cna"]["affected"][0]["versions"][0]["lessThan"] = ["2.4"]
    for doc, field in ((bad_time, "dateUpdated"), (bad_score, "baseScore"), (bad_versions, "lessThan")):
        [out] = read(doc)
        assert isinstance(out, FeedProblem)
        assert out.record_id == "CVE-2024-33333"
        assert field in out.message
    good = record()
    out = list(cve5.read(orjson.dumps([good, {"cveMetadata": 3}, copy.deepcopy(good)]), "list.json"))
    assert [type(o).__name__ for o in out] == ["Advisory", "FeedProblem", "Advisory"]
    assert out[1].location == "list.json#1"  # type: ignore[union-attr]


def test_detection_and_delta_files() -> None:
    assert cve5.looks_like(orjson.dumps(record()), "CVE-2024-33333.json")
    delta = orjson.dumps({"fetchTime": "2024-01-01T00:00:00Z", "numberOfChanges": 0, "new": [], "updated": []})
    assert cve5.looks_like(delta, "delta.json")
    assert list(cve5.read(delta, "cves/delta.json")) == []
