"""OSV reader: JSON and YAML records, lists, and records that are not as the schema says."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from renkei.vulns.feeds import osv
from renkei.vulns.model import Advisory, EventKind, FeedProblem, RangeEvent

RECORD = {
    "schema_version": "1.6.0",
    "id": "GHSA-abcd-1234-wxyz",
    "modified": "2024-03-04T05:06:07.123456Z",
    "published": "2024-03-01T00:00:00Z",
    "aliases": ["CVE-2024-11111"],
    "upstream": ["CVE-2023-99999"],
    "summary": "Path traversal in examplelib",
    "details": "examplelib before 2.4.1 lets a crafted name escape the upload folder.",
    "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}],
    "affected": [
        {
            "package": {"ecosystem": "PyPI", "name": "examplelib", "purl": "pkg:pypi/examplelib"},
            "ranges": [
                {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.4.1"}]},
                {"type": "GIT", "repo": "https://git.example.org/examplelib",
                 "events": [{"introduced": "0"}, {"fixed": "a1b2c3d4"}]},
            ],
            "versions": ["2.4.0", "2.3.9"],
            "severity": [{"type": "Ubuntu", "score": "medium"}],
        }
    ],
    "references": [{"type": "ADVISORY", "url": "https://example.org/adv/1"}],
    "database_specific": {"cwe_ids": ["CWE-22"], "severity": "HIGH"},
}

YAML = b"""id: PYSEC-2024-77
modified: 2024-05-06T07:08:09.123456Z
published: 2024-05-01T00:00:00Z
aliases:
- CVE-2024-22222
details: A crafted archive makes sampletool write outside its target.
affected:
- package:
    ecosystem: PyPI
    name: sampletool
    purl: pkg:pypi/sampletool
  ranges:
  - type: ECOSYSTEM
    events:
    - introduced: "1.0"
    - fixed: "1.2"
  versions:
  - "1.0"
  - 1.1.0
references:
- type: WEB
  url: https://example.org/sampletool
"""


def read(data: bytes, name: str = "x.json") -> list[object]:
    return list(osv.read(data, name))


def test_json_record_maps_every_field() -> None:
    [adv] = read(orjson.dumps(RECORD))
    assert isinstance(adv, Advisory)
    assert adv.id == "GHSA-abcd-1234-wxyz"
    assert adv.modified == datetime(2024, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)
    assert adv.aliases == ("CVE-2024-11111", "CVE-2023-99999")
    assert adv.cves == ("CVE-2024-11111", "CVE-2023-99999")
    assert adv.summary.startswith("Path traversal")
    assert [s.scheme for s in adv.severities] == ["CVSS_V3", "Ubuntu"]
    assert adv.severities[0].vector.startswith("CVSS:3.1/")  # type: ignore[union-attr]
    assert adv.severities[0].score is None
    [pkg] = adv.packages
    assert (pkg.ecosystem, pkg.name, pkg.purl) == ("PyPI", "examplelib", "pkg:pypi/examplelib")
    assert pkg.ranges[0].events == (
        RangeEvent(EventKind.INTRODUCED, "0"),
        RangeEvent(EventKind.FIXED, "2.4.1"),
    )
    assert pkg.ranges[1].repo == "https://git.example.org/examplelib"
    assert pkg.versions == ("2.4.0", "2.3.9")
    assert adv.cwes == ("CWE-22",)
    assert adv.references == ("https://example.org/adv/1",)
    assert adv.raw == RECORD


def test_yaml_record_keeps_times_as_strings_in_raw() -> None:
    [adv] = read(YAML, "PYSEC-2024-77.yaml")
    assert isinstance(adv, Advisory)
    assert adv.published == datetime(2024, 5, 1, tzinfo=UTC)
    assert adv.raw["modified"] == "2024-05-06T07:08:09.123456Z"
    assert adv.packages[0].versions == ("1.0", "1.1.0")
    assert osv.looks_like(YAML, "PYSEC-2024-77.yaml")


def test_numeric_severity_score() -> None:
    rec = dict(RECORD, severity=[{"type": "CVSS_V3", "score": "7.5"}], affected=[])
    [adv] = read(orjson.dumps(rec))
    assert isinstance(adv, Advisory)
    assert adv.severities[0].score == 7.5


def test_bad_record_in_a_list_does_not_stop_the_good_ones() -> None:
    records = [RECORD, dict(RECORD, id="GHSA-bad", modified=12), "not a record", dict(RECORD, id="GHSA-2")]
    out = read(orjson.dumps(records), "feed.json")
    assert [type(o).__name__ for o in out] == ["Advisory", "FeedProblem", "FeedProblem", "Advisory"]
    bad = out[1]
    assert isinstance(bad, FeedProblem)
    assert bad.record_id == "GHSA-bad"
    assert bad.location == "feed.json#1"
    assert "modified" in bad.message


def test_missing_id_and_wrong_types() -> None:
    cases = [
        {"modified": "2024-01-01T00:00:00Z"},
        dict(RECORD, summary=["a list"]),
        dict(RECORD, affected={"not": "a list"}),
        dict(RECORD, affected=[{"ranges": [{"type": "SEMVER", "events": [{"broken": "1"}]}]}]),
        dict(RECORD, affected=[{"versions": [1.1]}]),
        dict(RECORD, id="x" * 500),
        dict(RECORD, published="yesterday"),
    ]
    for case in cases:
        [out] = read(orjson.dumps(case))
        assert isinstance(out, FeedProblem), case


def test_huge_fields_are_cut() -> None:
    rec = dict(RECORD, details="d" * 1_000_000, aliases=[f"A-{i}" for i in range(50_000)])
    [adv] = read(orjson.dumps(rec))
    assert isinstance(adv, Advisory)
    assert len(adv.details) == 64 * 1024
    assert len(adv.aliases) == 10_000 + 1  # the list bound, plus upstream


def test_yaml_alias_bomb_and_odd_values() -> None:
    bomb = b"id: X-1\nmodified: 2024-01-01T00:00:00Z\na: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in range(1, 9):
        prev = chr(ord("a") + level - 1)
        name = chr(ord("a") + level)
        bomb += f"{name}: &{name} [{', '.join('*' + prev for _ in range(10))}]\n".encode()
    [out] = read(bomb, "bomb.yaml")
    assert isinstance(out, FeedProblem)
    assert "alias" in out.message
    [out] = read(b"id: X-2\nmodified: 2024-01-01T00:00:00Z\nblob: !!binary aGVsbG8=\n", "b.yaml")
    assert isinstance(out, FeedProblem)
    [out] = read(b"id: [unclosed\n", "c.yaml")
    assert isinstance(out, FeedProblem)
    assert "YAML" in out.message


def test_encodings() -> None:
    [out] = read("id: X-3\ndetails: caf\u00e9\n".encode("latin-1"), "l.yaml")
    assert isinstance(out, FeedProblem)
    assert "UTF-8" in out.message
    [out] = read(orjson.dumps(RECORD).decode().encode("utf-16"))
    assert isinstance(out, FeedProblem)
    [adv] = read(b"\xef\xbb\xbf" + orjson.dumps(RECORD))
    assert isinstance(adv, Advisory)
