"""CSAF 2.0: documents to Advisories, and validation against the OASIS schema."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from renkei.vulns.feeds import csaf
from renkei.vulns.model import Advisory, EventKind, FeedProblem, RangeEvent, Source, VersionBound


def document() -> dict[str, Any]:
    return {
        "document": {
            "category": "csaf_security_advisory",
            "csaf_version": "2.0",
            "lang": "en",
            "title": "Example Corp: two flaws in widgetlib and Widget Router",
            "publisher": {"category": "vendor", "name": "Example Corp", "namespace": "https://example.com"},
            "notes": [
                {"category": "summary", "text": "Two flaws in widgetlib."},
                {"category": "description", "text": "widgetlib mishandles markup."},
                {"category": "legal_disclaimer", "text": "as is"},
            ],
            "references": [{"url": "https://example.com/sa-2024-01", "summary": "advisory"}],
            "tracking": {
                "id": "EXAMPLE-SA-2024-01",
                "status": "final",
                "version": "2",
                "initial_release_date": "2024-03-01T00:00:00Z",
                "current_release_date": "2024-03-05T10:00:00Z",
                "revision_history": [
                    {"date": "2024-03-01T00:00:00Z", "number": "1", "summary": "initial"},
                    {"date": "2024-03-05T10:00:00Z", "number": "2", "summary": "router added"},
                ],
            },
        },
        "product_tree": {
            "branches": [
                {
                    "category": "vendor",
                    "name": "Example Corp",
                    "branches": [
                        {
                            "category": "product_name",
                            "name": "widgetlib",
                            "branches": [
                                {
                                    "category": "product_version_range",
                                    "name": "vers:pypi/>=1.0|<2.4.1",
                                    "product": {
                                        "product_id": "WL-R",
                                        "name": "widgetlib >=1.0 <2.4.1",
                                        "product_identification_helper": {"purl": "pkg:pypi/widgetlib"},
                                    },
                                },
                                {
                                    "category": "product_version",
                                    "name": "2.4.1",
                                    "product": {
                                        "product_id": "WL-FIX",
                                        "name": "widgetlib 2.4.1",
                                        "product_identification_helper": {"purl": "pkg:pypi/widgetlib@2.4.1"},
                                    },
                                },
                            ],
                        },
                        {
                            "category": "product_name",
                            "name": "Widget Router",
                            "branches": [
                                {
                                    "category": "product_version_range",
                                    "name": "3.0 より前",
                                    "product": {
                                        "product_id": "WR-OLD",
                                        "name": "Widget Router < 3.0",
                                        "product_identification_helper": {"cpe": "cpe:/h:example:widget_router"},
                                    },
                                },
                                {
                                    "category": "product_version",
                                    "name": "4.1",
                                    "product": {"product_id": "WR-41", "name": "Widget Router 4.1"},
                                },
                                {
                                    "category": "product_version",
                                    "name": "5.0",
                                    "product": {"product_id": "WR-50", "name": "Widget Router 5.0"},
                                },
                            ],
                        },
                    ],
                }
            ],
            "full_product_names": [
                {
                    "product_id": "APP-JAR",
                    "name": "Example App commons-text 1.9",
                    "product_identification_helper": {"purl": "pkg:maven/org.apache.commons/commons-text@1.9"},
                }
            ],
            "relationships": [
                {
                    "category": "default_component_of",
                    "product_reference": "WL-R",
                    "relates_to_product_reference": "WR-41",
                    "full_product_name": {"product_id": "WR-41:WL", "name": "widgetlib in Widget Router 4.1"},
                }
            ],
        },
        "vulnerabilities": [
            {
                "cve": "CVE-2024-0001",
                "cwe": {"id": "CWE-79", "name": "Cross-site Scripting"},
                "ids": [{"system_name": "GitHub", "text": "GHSA-aaaa-bbbb-cccc"}],
                "notes": [{"category": "description", "text": "Markup is not escaped."}],
                "product_status": {"known_affected": ["WL-R", "WR-OLD", "APP-JAR"], "fixed": ["WL-FIX"]},
                "scores": [
                    {
                        "products": ["WL-R"],
                        "cvss_v3": {
                            "version": "3.1",
                            "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N",
                            "baseScore": 6.1,
                            "baseSeverity": "MEDIUM",
                        },
                    }
                ],
            },
            {
                "cve": "CVE-2024-0002",
                "product_status": {"last_affected": ["WR-41"], "known_not_affected": ["WR-50"]},
                "scores": [
                    {
                        "products": ["WR-41"],
                        "cvss_v2": {"version": "2.0", "vectorString": "AV:N/AC:L/Au:N/C:P/I:N/A:N", "baseScore": 5.0},
                    }
                ],
            },
        ],
    }


def read_one(doc: Any) -> Advisory:
    [a] = list(csaf.read(json.dumps(doc).encode(), "sa.json"))
    assert isinstance(a, Advisory)
    return a


def test_happy_path() -> None:
    data = json.dumps(document()).encode()
    assert csaf.looks_like(data[:65536], "sa.json")
    a = read_one(document())
    assert a.source is Source.CSAF
    assert a.id == "EXAMPLE-SA-2024-01"
    assert a.cves == ("CVE-2024-0001", "CVE-2024-0002")
    assert "GHSA-aaaa-bbbb-cccc" in a.aliases
    assert a.published == datetime(2024, 3, 1, tzinfo=UTC)
    assert a.modified == datetime(2024, 3, 5, 10, tzinfo=UTC)
    assert a.summary == "Two flaws in widgetlib."
    assert "mishandles" in a.details
    assert "not escaped" in a.details
    assert "as is" not in a.details
    assert a.cwes == ("CWE-79",)
    assert a.references == ("https://example.com/sa-2024-01",)
    assert {(s.scheme, s.score, s.publisher) for s in a.severities} == {
        ("CVSS_V3", 6.1, "Example Corp"),
        ("CVSS_V2", 5.0, "Example Corp"),
    }


def test_purl_products_become_packages() -> None:
    a = read_one(document())
    by_name = {p.name: p for p in a.packages}
    wl = by_name["widgetlib"]
    assert (wl.ecosystem, wl.purl) == ("PyPI", "pkg:pypi/widgetlib")
    [rng] = wl.ranges
    assert rng.events == (RangeEvent(EventKind.INTRODUCED, "1.0"), RangeEvent(EventKind.FIXED, "2.4.1"))
    jar = by_name["org.apache.commons:commons-text"]
    assert (jar.ecosystem, jar.versions) == ("Maven", ("1.9",))
    assert all(p.purl != "pkg:pypi/widgetlib@2.4.1" for p in a.packages)  # fixed: left out


def test_cpe_and_branch_products_become_product_versions() -> None:
    a = read_one(document())
    router = [p for p in a.products if p.product == "Widget Router"]
    old = next(p for p in router if p.cpe)
    assert old.cpe == "cpe:2.3:h:example:widget_router:*:*:*:*:*:*:*:*"
    assert old.upper == VersionBound("3.0", False)
    assert old.parsed
    last = next(p for p in router if p.text == "4.1")
    assert last.upper == VersionBound("4.1", True)  # last_affected: an inclusive upper bound
    assert all(p.text != "5.0" for p in router)  # known_not_affected: left out
    assert a.raw["vulnerabilities"][1]["known_not_affected"] == ["WR-50"]


def test_relationship_maps_to_its_component() -> None:
    doc = document()
    doc["vulnerabilities"][1]["product_status"] = {"known_affected": ["WR-41:WL"]}
    doc["vulnerabilities"][0]["product_status"] = {"fixed": ["WL-FIX"]}
    a = read_one(doc)
    [pkg] = a.packages
    assert pkg.name == "widgetlib"
    assert pkg.ranges


def test_unknown_product_id_is_flagged_not_dropped() -> None:
    doc = document()
    doc["vulnerabilities"] = [{"cve": "CVE-2024-0003", "product_status": {"known_affected": ["NOPE"]}}]
    a = read_one(doc)
    [p] = a.products
    assert p.product == "NOPE"
    assert p.parsed is False


def test_vers_with_two_intervals_is_not_read_as_one() -> None:
    doc = document()
    branch = doc["product_tree"]["branches"][0]["branches"][1]["branches"][0]
    branch["name"] = "vers:generic/>=1.0|<=1.4|>=2.0|<2.1"
    a = read_one(doc)
    old = next(p for p in a.products if p.cpe)
    assert old.parsed is False
    assert old.text == "vers:generic/>=1.0|<=1.4|>=2.0|<2.1"


def test_missing_tracking_id_is_a_problem_and_array_goes_on() -> None:
    bad = document()
    del bad["document"]["tracking"]["id"]
    out = list(csaf.read(json.dumps([bad, document(), 5]).encode(), "many.json"))
    assert isinstance(out[0], FeedProblem)
    assert out[0].location == "many.json#[0]"
    assert isinstance(out[1], Advisory)
    assert isinstance(out[2], FeedProblem)
    assert out[2].location == "many.json#[2]"


@pytest.mark.parametrize("data", [b"", b"{", b'{"document": ', b"\xff\xfe\x00", b"[" * 5000 + b"]" * 5000, b"null"])
def test_broken_json_is_a_problem(data: bytes) -> None:
    out = list(csaf.read(data, "x.json"))
    assert out
    assert all(isinstance(r, FeedProblem) for r in out)


def test_wrong_types_everywhere_never_raise() -> None:
    doc = document()
    doc["product_tree"] = {"branches": "nope", "full_product_names": [1, None], "relationships": {"a": 1}}
    doc["vulnerabilities"] = [{"cve": 5, "scores": [{"cvss_v3": {"baseScore": "high"}}], "product_status": []}, "x"]
    doc["document"]["notes"] = "text"
    a = read_one(doc)
    assert a.products == ()
    assert a.severities == ()


def test_deep_branches_are_bounded() -> None:
    doc = document()
    node: dict[str, Any] = {"category": "vendor", "name": "deep"}
    root = node
    for i in range(200):
        child = {"category": "product_name", "name": f"n{i}"}
        node["branches"] = [child]
        node = child
    node["product"] = {"product_id": "DEEP", "name": "deep"}
    doc["product_tree"]["branches"].append(root)
    read_one(doc)


def test_looks_like() -> None:
    assert not csaf.looks_like(b'{"vulnerabilities": []}', "kev.json")
    assert not csaf.looks_like(b"<xml/>", "a.xml")


def test_validate_csaf_against_the_oasis_schema() -> None:
    pytest.importorskip("csaf_lib")
    assert csaf.validate_csaf(document()) == []
    bad = copy.deepcopy(document())
    del bad["document"]["title"]
    bad["vulnerabilities"][0]["cve"] = "CVE-24-1"
    bad["vulnerabilities"][0]["scores"][0]["cvss_v3"]["baseScore"] = 11
    errors = csaf.validate_csaf(bad)
    assert any(e.startswith("document:") and "title" in e for e in errors)
    assert any(e.startswith("vulnerabilities/0/cve:") for e in errors)
    assert any("baseScore" in e for e in errors)


def test_validate_csaf_on_garbage() -> None:
    pytest.importorskip("csaf_lib")
    assert csaf.validate_csaf({})
    assert csaf.validate_csaf({"document": []})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_fuzz_random_bytes(data: bytes) -> None:
    for r in csaf.read(data, "fuzz.json"):
        assert isinstance(r, Advisory | FeedProblem)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
_KEYS = ["document", "product_tree", "vulnerabilities", "branches", "product", "product_status", "scores", "tracking"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fuzz_mutated_documents(data: st.DataObject) -> None:
    doc = document()
    for _ in range(data.draw(st.integers(1, 5))):
        node: Any = doc
        # walk to a random container and replace one of its values with random JSON
        for _ in range(data.draw(st.integers(0, 6))):
            if isinstance(node, dict) and node:
                key = data.draw(st.sampled_from(sorted(node)))
                if not isinstance(node[key], dict | list):
                    break
                node = node[key]
            elif isinstance(node, list) and node:
                nxt = node[data.draw(st.integers(0, len(node) - 1))]
                if not isinstance(nxt, dict | list):
                    break
                node = nxt
        if isinstance(node, dict):
            node[data.draw(st.sampled_from(_KEYS + sorted(node)))] = data.draw(_JSON)
        elif isinstance(node, list):
            node.append(data.draw(_JSON))
    for r in csaf.read(json.dumps(doc).encode(), "mut.json"):
        assert isinstance(r, Advisory | FeedProblem)
