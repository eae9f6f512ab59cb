"""The plain-indicator shortcut claims acceptance only where stix2 itself accepts."""

from __future__ import annotations

from typing import Any

import stix2  # type: ignore[import-untyped]
from hypothesis import given, settings
from hypothesis import strategies as st

from renkei.sharing import validation

TLP_GREEN = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
BASE: dict[str, Any] = {
    "type": "indicator", "spec_version": "2.1",
    "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
    "created": "2026-04-01T09:00:00.000Z", "modified": "2026-04-01T09:00:00.000Z",
    "name": "C2 server", "description": "Command-and-control host.",
    "indicator_types": ["malicious-activity"], "pattern_type": "stix",
    "pattern": "[domain-name:value = 'c2.example.com']", "valid_from": "2026-04-01T09:00:00Z",
    "object_marking_refs": [TLP_GREEN]}

# each property: values stix2 takes and values it refuses or coerces
CHOICES: dict[str, list[Any]] = {
    "type": ["indicator", "malware", "Indicator"],
    "spec_version": ["2.1", "2.0", 2.1],
    "id": [BASE["id"], "indicator--8e2e2d2b-17d4-4cbf-138f-98ee46b3cd3f",  # wrong variant
           "indicator--8E2E2D2B-17d4-4cbf-938f-98ee46b3cd3f", "malware--" + BASE["id"][11:],
           "indicator--{8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f}", "indicator--x"],
    "created": ["2026-04-01T09:00:00.000Z", "2026-04-01T09:00:00Z", "2026-04-01T09:00:00.1Z",
                "2026-04-01T09:00:00.123456789Z", "2026-02-30T09:00:00.000Z",
                "2026-04-01T09:00:00+00:00", 1_700_000_000, "2016-12-31T23:59:60.000Z"],
    "modified": ["2026-04-01T09:00:00.000Z", "2026-04-02T00:00:00.5Z", "yesterday"],
    "valid_from": ["2026-04-01T09:00:00Z", "2026-04-01T09:00:00.000001Z", "0999-01-01T00:00:00Z"],
    "valid_until": ["2026-05-01T00:00:00Z", "2026-04-01T09:00:00Z", "2020-01-01T00:00:00Z"],
    "name": ["C2", "", 5, None, ["a"]],
    "lang": ["en", "ja", 1],
    "indicator_types": [["malicious-activity"], ["benign", "unknown"], [], ["made-up"], "benign",
                        [1]],
    "labels": [["x"], [], "x", [None]],
    "pattern_type": ["stix", "yara", "sigma", "made-up", None, {"stix": {}}, ["stix"]],
    "pattern": ["[domain-name:value = 'c2.example.com']", "[ipv4-addr:value = '1.2.3.4']",
                "rule x { condition: true }", "[bad", "", "[a:b = 'c'] WITHIN 5 SECONDS"],
    "pattern_version": ["2.1", "2.0", "1", 2],
    "confidence": [50, 0, 100, 101, -1, True, "50", 5.0],
    "revoked": [True, False, "true", 1],
    "object_marking_refs": [[TLP_GREEN], [], [TLP_GREEN[:-1] + "x"], "not-a-list",
                            ["identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"]],
    "created_by_ref": ["identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
                       "marking-definition--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", 3],
    "x_custom": ["value"],
    "external_references": [[{"source_name": "x", "url": "https://example.com"}]],
}


@st.composite
def indicators(draw: st.DrawFn) -> dict[str, Any]:
    obj = dict(BASE)
    for key in draw(st.lists(st.sampled_from(sorted(CHOICES)), max_size=4, unique=True)):
        if draw(st.booleans()) and key in obj:
            del obj[key]
        else:
            obj[key] = draw(st.sampled_from(CHOICES[key]))
    return obj


def stix2_accepts(obj: dict[str, Any]) -> bool:
    try:
        stix2.parse(obj, allow_custom=False, version="2.1")
    except Exception:
        return False
    return True


@given(indicators())
@settings(max_examples=600, deadline=None)
def test_a_plain_indicator_is_one_stix2_accepts(obj: dict[str, Any]) -> None:
    if validation.plain_indicator(obj):
        assert stix2_accepts(obj), obj
        validation.run_shoulds(obj)  # skipped for plain indicators: none of them raises
    assert (validation.stix2_problem(obj) is None) == stix2_accepts(obj)


def test_an_ordinary_indicator_takes_the_shortcut() -> None:
    # not a timing test: the shortcut must answer for the indicators members share, or it
    # saves nothing
    assert validation.plain_indicator(BASE)
    assert validation.plain_indicator({**BASE, "valid_until": "2026-05-01T00:00:00Z",
                                       "confidence": 80, "labels": ["phishing"],
                                       "created_by_ref": CHOICES["created_by_ref"][0]})
