"""The plain-indicator shortcuts claim only what the libraries themselves say: a plain
indicator is one stix2 accepts; a proven one is also one on which stix2-validator's schema,
"must" and "should" checks find nothing."""

from __future__ import annotations

from typing import Any

import stix2  # type: ignore[import-untyped]
from hypothesis import HealthCheck, assume, event, example, given, settings
from hypothesis import strategies as st
from stix2validator import validator as sv  # type: ignore[import-untyped]
from stix2validator.util import ValidationOptions  # type: ignore[import-untyped]

from renkei.core.tlp import Tlp, marking_definition
from renkei.sharing import validation
from tests.sharing.test_validation import assert_same_verdict, bundle

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
           "indicator--{8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f}", "indicator--x",
           "indicator--8e2e2d2b-17d4-0cbf-938f-98ee46b3cd3f",  # UUID versions 0 and 6
           "indicator--8e2e2d2b-17d4-6cbf-938f-98ee46b3cd3f"],
    "created": ["2026-04-01T09:00:00.000Z", "2026-04-01T09:00:00Z", "2026-04-01T09:00:00.1Z",
                "2026-04-01T09:00:00.123456789Z", "2026-02-30T09:00:00.000Z",
                "2026-04-01T09:00:00+00:00", 1_700_000_000, "2016-12-31T23:59:60.000Z",
                "2026-04-01T09:00:00.12Z", "2026-04-01T09:00:00.1234Z",
                "2026-04-01T09:00:00.000000Z"],
    "modified": ["2026-04-01T09:00:00.000Z", "2026-04-02T00:00:00.5Z", "yesterday",
                 "2026-03-01T09:00:00.000Z", "2026-04-01T09:00:00.000000Z",  # before, as text
                 "2026-04-01T09:00:00.001Z", "2026-04-01T09:00:00Z"],
    "valid_from": ["2026-04-01T09:00:00Z", "2026-04-01T09:00:00.000001Z", "0999-01-01T00:00:00Z"],
    "valid_until": ["2026-05-01T00:00:00Z", "2026-04-01T09:00:00Z", "2020-01-01T00:00:00Z",
                    "2026-04-01T09:00:00.5Z",  # later than valid_from, earlier as text
                    "2026-04-01T09:00:01.000Z"],
    "name": ["C2", "", 5, None, ["a"]],
    "lang": ["en", "ja", 1, "en-US", "xx", "", "EN"],
    "indicator_types": [["malicious-activity"], ["benign", "unknown"], [], ["made-up"], "benign",
                        [1]],
    "labels": [["x"], [], "x", [None]],
    "pattern_type": ["stix", "yara", "sigma", "made-up", None, {"stix": {}}, ["stix"]],
    "pattern": ["[domain-name:value = 'c2.example.com']", "[ipv4-addr:value = '1.2.3.4']",
                "rule x { condition: true }", "[bad", "", "[a:b = 'c'] WITHIN 5 SECONDS",
                "[x-acme-thing:value = 'a']", "[domain-name:nonsense = 'a']",
                "[file:hashes.MD5 = '0123456789abcdef0123456789abcdef']",
                "[file:hashes.MD5 = 'zz']", "[file:name = 'a' OR file:size = '3']",
                "[domain-name:resolves_to_refs[*].value = '1.2.3.4']",
                "[ipv4-addr:value = '1.2.3.4'] AND [url:value = 'https://x.example/']",
                "[ipv4-addr:x_acme_score = '1']", "[ipv4-addr:id = 'x']"],
    "pattern_version": ["2.1", "2.0", "1", 2],
    "confidence": [50, 0, 100, 101, -1, True, "50", 5.0],
    "revoked": [True, False, "true", 1],
    "object_marking_refs": [[TLP_GREEN], [], [TLP_GREEN[:-1] + "x"], "not-a-list",
                            [TLP_GREEN, Tlp.AMBER.marking_id],
                            ["marking-definition--8e2e2d2b-17d4-0cbf-938f-98ee46b3cd3f"],
                            ["identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"]],
    "created_by_ref": ["identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
                       "marking-definition--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", 3,
                       "identity--8e2e2d2b-17d4-0cbf-938f-98ee46b3cd3f"],
    "x_custom": ["value"],
    "external_references": [[{"source_name": "x", "url": "https://example.com"}]],
}


# values of an indicator that stays plain, each near one edge of what proven_indicator claims
NEAR: dict[str, list[Any]] = {
    "id": [BASE["id"], *(f"indicator--8e2e2d2b-17d4-{v}cbf-938f-98ee46b3cd3f" for v in "01567f")],
    "created": ["2026-04-01T09:00:00.000Z", "2026-04-01T09:00:00Z", "2026-04-01T09:00:00.12Z",
                "2026-04-01T09:00:00.1234Z", "2026-04-01T09:00:00.000000Z",
                "2026-03-31T09:00:00.000Z", "2026-04-01T09:00:00.001Z"],
    "modified": ["2026-04-01T09:00:00.000Z", "2026-04-01T08:59:59.999Z", "2026-04-01T09:00:00Z",
                 "2026-04-01T09:00:00.000000Z", "2026-04-01T09:00:00.0001Z"],
    "valid_from": ["2026-04-01T09:00:00Z", "2026-04-01T09:00:00.5Z", "2026-04-01T09:00:00.000Z"],
    "valid_until": ["2026-04-01T09:00:00.5Z", "2026-04-01T09:00:01Z", "2026-04-01T09:00:00.000001Z",
                    "2026-04-01T09:00:00.6Z", "2026-05-01T00:00:00.000Z"],
    "lang": ["en", "ja", "en-US", "xx", "", "EN", "zh-Hant"],
    "confidence": [0, 100, 101, -1, 50],
    "pattern_type": ["stix", "stix", "yara", "sigma"],
    "pattern": [p for p in CHOICES["pattern"] if p.startswith("[")],
    "object_marking_refs": [[TLP_GREEN], [TLP_GREEN, Tlp.RED.marking_id],
                            [f"marking-definition--8e2e2d2b-17d4-{v}cbf-938f-98ee46b3cd3f"
                             for v in "05"]],
    "created_by_ref": [f"identity--8e2e2d2b-17d4-{v}cbf-938f-98ee46b3cd3f" for v in "0145f"],
}


def variants(choices: dict[str, list[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    @st.composite
    def variant(draw: st.DrawFn) -> dict[str, Any]:
        obj = dict(BASE)
        for key in draw(st.lists(st.sampled_from(sorted(choices)), max_size=4, unique=True)):
            if draw(st.booleans()) and key in obj:
                del obj[key]
            else:
                obj[key] = draw(st.sampled_from(choices[key]))
        return obj
    return variant()


def indicators() -> st.SearchStrategy[dict[str, Any]]:
    return variants(CHOICES)


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


OPTIONS = ValidationOptions()


def validator_finds_nothing(obj: dict[str, Any]) -> bool:
    """stix2-validator's own schema, "must" and "should" checks of ``obj`` in a bundle of
    STIX 2.1, as its bundle validation runs them: nothing found, nothing raised."""
    try:
        schema = [e for errors, _prefix in sv._schema_validate(obj, OPTIONS, "2.1")
                  for e in errors]
        musts = list(sv._iter_errors_custom(obj, sv._get_musts(OPTIONS), OPTIONS))
        list(sv._iter_errors_custom(obj, sv._get_shoulds(OPTIONS), OPTIONS))
    except Exception:
        return False
    return not schema and not musts


@given(indicators() | variants(NEAR))
@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(BASE)
def test_a_proven_indicator_is_one_the_validator_and_stix2_find_nothing_in(
        obj: dict[str, Any]) -> None:
    proven = validation.proven_indicator(obj)
    event(f"proven: {proven}, plain: {validation.plain_indicator(obj)}")
    if proven:
        assert validation.plain_indicator(obj)
        assert validator_finds_nothing(obj), obj
        assert stix2_accepts(obj), obj
        assert validation.schema_clean(obj, "2.1")  # the compiled schemas agree
        assert validation.must_messages(obj) == []


@given(indicators() | variants(NEAR))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_bundle_of_such_indicators_gets_the_slow_paths_verdict(obj: dict[str, Any]) -> None:
    assume("id" in obj)  # stix2 would name it by an id of its own making, new each time
    assert_same_verdict(bundle(marking_definition(Tlp.GREEN), obj))


def test_ordinary_indicators_are_proven_and_near_misses_are_not() -> None:
    # not a timing test: the proof must answer for the indicators members share, or it
    # saves nothing; and each of its conditions must be able to say no
    assert validation.proven_indicator(BASE)
    assert validation.proven_indicator({**BASE, "valid_until": "2026-05-01T00:00:00Z",
                                        "confidence": 80, "labels": ["phishing"], "lang": "ja",
                                        "created_by_ref": CHOICES["created_by_ref"][0]})
    yara = {**BASE, "pattern_type": "yara", "pattern": "rule x { condition: true }"}
    assert validation.proven_indicator(yara)
    for change in ({"created": "2026-04-01T09:00:00Z"}, {"confidence": 101}, {"lang": "xx"},
                   {"modified": "2026-04-01T09:00:00.000000Z"},
                   {"valid_until": "2026-04-01T09:00:00.5Z"},
                   {"id": CHOICES["id"][-2]}, {"created_by_ref": CHOICES["created_by_ref"][-1]},
                   {"pattern": "[x-acme-thing:value = 'a']"},
                   {"pattern": "[domain-name:nonsense = 'a']"},
                   {"pattern": "[ipv4-addr:value = '1.2.3.4'] WITHIN 5 SECONDS"}):
        assert validation.plain_indicator({**BASE, **change}) or "confidence" in change, change
        assert not validation.proven_indicator({**BASE, **change}), change
    for key in ("created", "modified", "valid_from"):
        assert not validation.proven_indicator({k: v for k, v in BASE.items() if k != key})
