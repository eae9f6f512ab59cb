"""Submissions as STIX 2.1: valid bundles pass, simple reports become bundles, and every
problem of a bad one is reported with where it is."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from renkei.core.tlp import Tlp, marking_definition
from renkei.sharing import stix, validation
from renkei.sharing.stix import SubmissionError

NOW = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
INDICATOR_ID = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"


def indicator(**changes: Any) -> dict[str, Any]:
    obj = {"type": "indicator", "spec_version": "2.1", "id": INDICATOR_ID,
           "created": "2026-04-01T09:00:00.000Z", "modified": "2026-04-01T09:00:00.000Z",
           "name": "C2 server", "description": "seen in phishing",
           "pattern": "[ipv4-addr:value = '198.51.100.1']", "pattern_type": "stix",
           "valid_from": "2026-04-01T09:00:00Z", "indicator_types": ["malicious-activity"],
           "object_marking_refs": [Tlp.AMBER.marking_id]}
    obj.update(changes)
    return {k: v for k, v in obj.items() if v is not None}


def bundle(*objects: dict[str, Any]) -> dict[str, Any]:
    return {"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
            "objects": list(objects)}


def problems_of(payload: Any) -> list[tuple[str, str]]:
    with pytest.raises(SubmissionError) as caught:
        stix.parse(payload, now=NOW)
    return [(p.where, p.message) for p in caught.value.problems]


def test_a_valid_bundle_is_accepted_with_its_marking() -> None:
    parsed = stix.parse(bundle(marking_definition(Tlp.AMBER), indicator()), now=NOW)
    assert parsed.marking is Tlp.AMBER
    assert [o["type"] for o in parsed.bundle["objects"]] == ["marking-definition", "indicator"]


def test_bytes_are_accepted_as_well_as_parsed_json() -> None:
    raw = json.dumps(bundle(indicator())).encode()
    assert stix.parse(raw, now=NOW).marking is Tlp.AMBER


def test_the_most_restrictive_marking_governs_the_bundle() -> None:
    red = indicator(id="indicator--1e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
                    object_marking_refs=[Tlp.RED.marking_id])
    assert stix.parse(bundle(indicator(), red), now=NOW).marking is Tlp.RED


def test_a_simple_report_becomes_a_valid_bundle() -> None:
    report = {"title": "Phishing wave", "description": "Invoices with macros", "tlp": "green",
              "indicators": [
                  {"type": "ipv4", "value": "198.51.100.7"},
                  {"type": "ipv6", "value": "2001:db8::1"},
                  {"type": "domain", "value": "Evil.Example"},
                  {"type": "url", "value": "https://evil.example/it's"},
                  {"type": "sha256", "value": "a" * 64},
                  {"type": "md5", "value": "B" * 32},
                  {"type": "email-sender", "value": "billing@evil.example"},
              ]}
    parsed = stix.parse(report, now=NOW)
    objects = parsed.bundle["objects"]
    assert parsed.marking is Tlp.GREEN
    assert objects[0] == marking_definition(Tlp.GREEN)
    summary = objects[1]
    assert (summary["type"], summary["name"]) == ("report", "Phishing wave")
    assert summary["object_refs"] == [o["id"] for o in objects[2:]]
    assert [o["pattern"] for o in objects[2:]] == [
        "[ipv4-addr:value = '198.51.100.7']",
        "[ipv6-addr:value = '2001:db8::1']",
        "[domain-name:value = 'evil.example']",
        "[url:value = 'https://evil.example/it\\'s']",
        "[file:hashes.'SHA-256' = '" + "a" * 64 + "']",
        "[file:hashes.MD5 = '" + "b" * 32 + "']",
        "[email-message:from_ref.value = 'billing@evil.example']",
    ]
    assert all(o["object_marking_refs"] == [Tlp.GREEN.marking_id] for o in objects[1:])


def test_each_problem_of_a_simple_report_is_reported_with_its_path() -> None:
    report = {"title": "", "tlp": "white", "extra": 1, "indicators": [
        {"type": "ipv4", "value": "198.51.100.300"},
        {"type": "sha256", "value": "abc"},
        {"type": "registry-key", "value": "HKLM"},
        "198.51.100.1",
    ]}
    where = [w for w, _ in problems_of(report)]
    assert where == ["$.extra", "$.title", "$.tlp", "$.indicators[0].value",
                     "$.indicators[1].value", "$.indicators[2].type", "$.indicators[3]"]


def test_each_invalid_object_is_reported_with_its_id() -> None:
    second = "indicator--1e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
    found = problems_of(bundle(
        indicator(valid_from=None),
        indicator(id=second, pattern="[ipv4-addr:value = ]", x_secret=1),
    ))
    where = {w for w, _ in found}
    assert where == {INDICATOR_ID, second}
    messages = " ".join(m for _, m in found)
    assert "valid_from" in messages
    assert "x_secret" in messages
    assert "Pattern" in messages or "pattern" in messages


def test_markings_must_be_tlp_2_0() -> None:
    tlp1_green = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"
    second = "indicator--1e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
    found = problems_of(bundle(indicator(object_marking_refs=None),
                               indicator(id=second, object_marking_refs=[tlp1_green])))
    assert [w for w, _ in found] == [INDICATOR_ID, second]


def test_a_forged_marking_definition_is_refused() -> None:
    forged = marking_definition(Tlp.CLEAR) | {"name": "TLP:CLEAR (really)"}
    assert [w for w, _ in problems_of(bundle(forged, indicator()))] == [forged["id"]]


@pytest.mark.parametrize(("payload", "where"), [
    (b"{not json", "$"),
    (b"[]", "$"),
    ({"type": "bundle", "objects": []}, "$.objects"),
    ({"type": "bundle", "objects": [1]}, "$.objects[0]"),
    ({"type": "campaign"}, "$.type"),
])
def test_malformed_input_is_reported(payload: Any, where: str) -> None:
    assert [w for w, _ in problems_of(payload)] == [where]


def test_oversized_input_is_refused_before_parsing() -> None:
    huge = b'{"type": "bundle", "objects": [' + b" " * stix.MAX_BYTES + b"]}"
    assert problems_of(huge) == [("$", f"larger than {stix.MAX_BYTES} bytes")]


def test_too_many_objects_are_refused() -> None:
    many = bundle(*[indicator() for _ in range(stix.MAX_OBJECTS + 1)])
    assert [w for w, _ in problems_of(many)] == ["$.objects"]


def test_deeply_nested_input_is_refused_with_where() -> None:
    deep: Any = "x"
    for _ in range(stix.MAX_DEPTH + 5):
        deep = {"a": deep}
    [(where, message)] = problems_of(json.dumps(bundle(indicator(description=None) | {"x": deep})))
    assert where.startswith("$['objects'][0]['x']['a']")
    assert "deeper" in message


def test_pathologically_deep_json_does_not_crash() -> None:
    assert [w for w, _ in problems_of(b"[" * 100_000 + b"]" * 100_000)] == ["$"]


def test_an_unserialisable_or_too_deep_object_is_refused() -> None:
    deep: Any = {}
    for _ in range(300):
        deep = {"a": deep}
    assert [w for w, _ in problems_of({"type": "bundle", "objects": [deep]})] == ["$"]
    assert [w for w, _ in problems_of({"type": "bundle", "objects": [{1, 2}]})] == ["$"]


def test_custom_properties_cannot_be_smuggled_in() -> None:
    smuggler = {"type": "indicator", "spec_version": "2.1",
                "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
                "created": "2026-04-01T09:00:00.000Z", "modified": "2026-04-01T09:00:00.000Z",
                "pattern": "[domain-name:value = 'evil.example']", "pattern_type": "stix",
                "valid_from": "2026-04-01T09:00:00Z", "object_marking_refs": [Tlp.GREEN.marking_id],
                "custom_properties": {"x_secret": "exfiltrated"}}
    bundle = {"type": "bundle", "id": "bundle--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061",
              "objects": [smuggler]}
    with pytest.raises(SubmissionError, match="custom_properties"):
        stix.validate_bundle(bundle)


def test_large_bundles_get_the_same_verdict_from_worker_processes() -> None:
    def indicator(n: int, **extra: Any) -> dict[str, Any]:
        return {"type": "indicator", "spec_version": "2.1",
                "id": f"indicator--{uuid.UUID(int=n, version=4)}",
                "created": "2026-04-01T09:00:00.000Z", "modified": "2026-04-01T09:00:00.000Z",
                "pattern": f"[ipv4-addr:value = '10.0.{n // 256}.{n % 256}']",
                "pattern_type": "stix", "valid_from": "2026-04-01T09:00:00Z",
                "object_marking_refs": [Tlp.GREEN.marking_id],
                # not a plain indicator: the libraries' checks run, in the workers
                "kill_chain_phases": [{"kill_chain_name": "mitre-attack",
                                       "phase_name": "command-and-control"}], **extra}

    good = [indicator(n) for n in range(400)]
    assert not validation.proven_indicator(good[0])
    bad = [*good[:250], indicator(250, pattern="[ipv4-addr:value = "), *good[251:]]
    bad[399] = {k: v for k, v in bad[399].items() if k != "id"}

    def verdict(objects: list[dict[str, Any]]) -> list[str] | str:
        bundle = {"type": "bundle", "id": "bundle--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061",
                  "objects": objects}
        try:
            return stix.validate_bundle(bundle).marking.value
        except SubmissionError as error:
            return sorted(str(p) for p in error.problems)

    alone = verdict(good), verdict(bad)
    assert stix.start_workers(2) == 2
    try:
        assert (verdict(good), verdict(bad)) == alone
    finally:
        stix.stop_workers()
    assert alone[0] == "green"
    assert any("'id' is a required property" in p for p in alone[1])
    assert any(p.startswith(good[250]["id"]) for p in alone[1])
