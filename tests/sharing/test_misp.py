"""MISP exchange: shared objects out as one MISP event with TLP tags and the hub as creator,
MISP events in as bundles ``stix.parse`` accepts, and every hostile event refused with where
it went wrong."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
import stix2  # type: ignore[import-untyped]
import stix2validator  # type: ignore[import-untyped]
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from misp_stix_converter import MISPtoSTIX21Parser
from pymisp import MISPEvent, MISPObject, MISPOrganisation

from renkei.core import tlp
from renkei.core.tlp import Tlp, marking_definition
from renkei.sharing import misp, stix
from renkei.sharing.stix import SubmissionError

NOW = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
SUBMITTER = "identity--5d1b8a4e-3c2f-4b1a-9e8d-7c6b5a4f3e2d"
MISP_ORG = "Example MISP Community CERT"
FUZZ = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])

# --- building data --------------------------------------------------------------------


def shared_objects(levels: dict[str, Tlp], report: Tlp = Tlp.GREEN) -> list[dict[str, Any]]:
    """A member's report as the hub stores it: a report, one indicator per
    ``"kind value"`` key at the given level, the submitter credited as creator."""
    indicators = [{"type": key.split(" ", 1)[0], "value": key.split(" ", 1)[1]} for key in levels]
    bundle = stix.report_to_bundle({"title": "Phishing wave", "tlp": report.value,
                                    "indicators": indicators}, now=NOW)
    objects = bundle["objects"][1:]
    for obj, level in zip(objects[1:], levels.values(), strict=True):
        obj["object_marking_refs"] = [level.marking_id]
    for obj in objects:
        obj["created_by_ref"] = SUBMITTER
    identity = {"type": "identity", "spec_version": "2.1", "id": SUBMITTER,
                "created": "2026-04-01T09:00:00.000Z", "modified": "2026-04-01T09:00:00.000Z",
                "name": "Secret Member CSIRT", "identity_class": "organization",
                "object_marking_refs": [Tlp.CLEAR.marking_id]}
    used = {report, *levels.values()}
    return [identity, *(marking_definition(level) for level in used), *objects]


def misp_event(*, tags: tuple[str, ...] = ("tlp:amber",)) -> MISPEvent:
    """A MISP community's event, built with pymisp."""
    event = MISPEvent()
    event.info = "Phishing wave <script>alert(1)</script>"
    org = MISPOrganisation()
    org.from_dict(name=MISP_ORG, uuid="55f6ea65-aa10-4c5a-bf01-4f84950d210f")
    event.Orgc = org
    for tag in tags:
        event.add_tag(tag)
    return event


def as_json(event: MISPEvent) -> dict[str, Any]:
    return {"Event": json.loads(event.to_json())}


def rich_event() -> MISPEvent:
    event = misp_event(tags=("tlp:amber", 'osint:source-type="blog-post"'))
    event.add_attribute("ip-dst", "198.51.100.7", to_ids=True, Tag=[{"name": "tlp:green"}],
                        comment="C2 <script>alert(1)</script> '; DROP TABLE shared_object; --")
    event.add_attribute("domain", "evil.example", to_ids=True)
    event.add_attribute("url", "https://evil.example/item.php?id=1'--", to_ids=True)
    event.add_attribute("sha256", "a" * 64, to_ids=True, Tag=[{"name": "tlp:red"}])
    event.add_attribute("md5", "b" * 32, to_ids=False)
    event.add_attribute("email-src", "billing@evil.example", to_ids=True)
    event.add_attribute("text", "just a note")
    dropper = MISPObject("file")
    dropper.add_attribute("filename", value="invoice.doc")
    dropper.add_attribute("sha256", value="c" * 64, to_ids=True)
    dropper.add_attribute("md5", value="d" * 32, to_ids=True, Tag=[{"name": "tlp:amber+strict"}])
    dropper.comment = "the dropper"
    event.add_object(dropper)
    return event


def ip_event(*attributes: Any, **event: Any) -> dict[str, Any]:
    body = {"info": "test", "Attribute": [{"type": "ip-dst", "value": "198.51.100.1"}, *attributes]}
    body.update(event)
    return {"Event": body}


# --- reading results ------------------------------------------------------------------

_LITERAL = re.compile(r"= '((?:[^'\\]|\\.)*)'")


def pattern_values(pattern: str) -> set[str]:
    """The values a STIX pattern compares with, not the type names misp-stix adds."""
    found = {v.replace("\\'", "'").replace("\\\\", "\\") for v in _LITERAL.findall(pattern)}
    return found - {"ipv4-addr", "ipv6-addr"}


def indicator_levels(objects: list[dict[str, Any]]) -> dict[str, Tlp]:
    """Each indicator value and its TLP level."""
    levels: dict[str, Tlp] = {}
    for obj in objects:
        if obj["type"] == "indicator":
            (level,) = {Tlp(m) for m in _levels(obj)}
            for value in pattern_values(obj["pattern"]):
                levels[value] = level
    return levels


def _levels(obj: dict[str, Any]) -> list[str]:
    return [str(tlp.from_marking_id(ref)) for ref in obj["object_marking_refs"]]


def level_of(obj: dict[str, Any]) -> Tlp:
    (level,) = _levels(obj)
    return Tlp(level)


def attributes_of(event: dict[str, Any]) -> list[dict[str, Any]]:
    body = event["Event"]
    return [*body.get("Attribute", []),
            *(a for o in body.get("Object", []) for a in o["Attribute"])]


def tags_of(record: dict[str, Any]) -> list[str]:
    return [tag["name"] for tag in record.get("Tag", [])]


def problems(event: Any, **options: Any) -> list[tuple[str, str]]:
    with pytest.raises(SubmissionError) as caught:
        misp.from_misp_event(event, now=NOW, **options)
    return [(p.where, p.message) for p in caught.value.problems]


def outcome(event: Any) -> misp.MispImport | list[str]:
    """The import, or where its problems are."""
    try:
        return misp.from_misp_event(event, now=NOW)
    except SubmissionError as error:
        return [p.where for p in error.problems]


def custom_parts(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [k for k in value if k.startswith(("x_", "x-"))]
        if str(value.get("type", "")).startswith("x-"):
            found.append(value["type"])
        return found + [p for v in value.values() for p in custom_parts(v)]
    if isinstance(value, list):
        return [p for v in value for p in custom_parts(v)]
    return []


# --- export ---------------------------------------------------------------------------


def test_export_is_one_misp_event_tagged_by_tlp_and_credited_to_the_hub() -> None:
    objects = shared_objects({"ipv4 198.51.100.7": Tlp.GREEN, "domain evil.example": Tlp.AMBER,
                              "sha256 " + "a" * 64: Tlp.RED})
    event = misp.to_misp_event(objects, info="Phishing wave", hub_name="Japan Hub", date=NOW)
    body = event["Event"]
    report = next(o for o in objects if o["type"] == "report")
    assert body["uuid"] == report["id"].removeprefix("report--")
    assert (body["info"], body["date"], body["published"]) == ("Phishing wave", "2026-04-01", False)
    assert body["Orgc"]["name"] == "Japan Hub"
    assert tags_of(body) == ["tlp:red"]
    assert body["distribution"] == "0"
    by_value = {a["value"]: a for a in attributes_of(event)}
    assert {v: tags_of(a) for v, a in by_value.items()} == {
        "198.51.100.7": ["tlp:green"], "evil.example": ["tlp:amber"], "a" * 64: ["tlp:red"]}
    assert {a["distribution"] for a in by_value.values()} == {"5"}
    assert all(a["to_ids"] and a["timestamp"] for a in by_value.values())
    assert "Secret Member" not in json.dumps(event)


def test_the_exported_event_loads_in_pymisp() -> None:
    objects = shared_objects({"url https://evil.example/a": Tlp.AMBER})
    exported = misp.to_misp_event(objects, info="x", hub_name="Hub", date=NOW)
    loaded = MISPEvent()
    loaded.load(exported)
    assert [a.value for a in loaded.attributes] == ["https://evil.example/a"]
    assert loaded.Orgc.name == "Hub"


@pytest.mark.parametrize(("level", "distribution"), [
    (Tlp.CLEAR, "3"), (Tlp.GREEN, "1"), (Tlp.AMBER, "0"), (Tlp.AMBER_STRICT, "0"), (Tlp.RED, "0"),
])
def test_the_event_distribution_follows_its_tlp_level(level: Tlp, distribution: str) -> None:
    objects = shared_objects({"domain evil.example": level}, report=level)
    body = misp.to_misp_event(objects, info="x", hub_name="Hub", date=NOW)["Event"]
    assert (body["distribution"], tags_of(body)) == (distribution, [misp.tlp_tag(level)])
    assert tags_of(body["Attribute"][0]) == [misp.tlp_tag(level)]
    assert misp.DISTRIBUTION[level] == int(distribution)


def test_indicators_without_a_report_make_one_event_with_a_stable_uuid() -> None:
    objects = [o for o in shared_objects({"md5 " + "b" * 32: Tlp.GREEN, "ipv6 2001:db8::1": Tlp.CLEAR})
               if o["type"] != "report"]
    first = misp.to_misp_event(objects, info="Indicators", hub_name="Hub", date=NOW)
    again = misp.to_misp_event(objects, info="Indicators", hub_name="Hub", date=NOW)
    assert first["Event"]["uuid"] == again["Event"]["uuid"]
    assert first["Event"]["info"] == "Indicators"
    assert sorted(a["value"] for a in attributes_of(first)) == ["2001:db8::1", "b" * 32]
    assert tags_of(first["Event"]) == ["tlp:green"]


def test_the_event_uuid_and_the_hub_uuid_can_be_given() -> None:
    objects = shared_objects({"domain evil.example": Tlp.GREEN})
    body = misp.to_misp_event(objects, info="x", hub_name="Hub", date=NOW,
                              event_uuid="0c4a1f1e-7b2f-4c57-9a9e-2d8f1b3c4d5e",
                              hub_uuid="8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f")["Event"]
    assert body["uuid"] == "0c4a1f1e-7b2f-4c57-9a9e-2d8f1b3c4d5e"
    assert body["Orgc"]["uuid"] == "8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"


def test_references_to_objects_left_out_by_the_policy_are_dropped() -> None:
    objects = shared_objects({"domain evil.example": Tlp.GREEN, "domain hidden.example": Tlp.RED})
    visible = [o for o in objects if "hidden" not in str(o.get("pattern", ""))]
    event = misp.to_misp_event(visible, info="x", hub_name="Hub", date=NOW)
    assert [a["value"] for a in attributes_of(event)] == ["evil.example"]
    assert "hidden" not in json.dumps(event)


def test_export_leaves_its_input_untouched() -> None:
    objects = shared_objects({"email-sender billing@evil.example": Tlp.AMBER})
    before = copy.deepcopy(objects)
    misp.to_misp_event(objects, info="x", hub_name="Hub", date=NOW)
    assert objects == before


def test_export_refuses_an_object_without_a_tlp_marking() -> None:
    objects = shared_objects({"domain evil.example": Tlp.GREEN})
    del objects[-1]["object_marking_refs"]
    with pytest.raises(ValueError, match=r"no TLP 2\.0 marking"):
        misp.to_misp_event(objects, info="x", hub_name="Hub", date=NOW)


# --- round trips ----------------------------------------------------------------------


def round_trip(objects: list[dict[str, Any]]) -> misp.MispImport:
    exported = misp.to_misp_event(objects, info="Round trip", hub_name="Hub", date=NOW)
    return misp.from_misp_event(json.dumps(exported).encode(), now=NOW)


def test_a_round_trip_keeps_the_indicators_and_their_tlp() -> None:
    levels = {"ipv4 198.51.100.7": Tlp.GREEN, "ipv6 2001:db8::1": Tlp.CLEAR,
              "domain evil.example": Tlp.AMBER, "url https://evil.example/it's": Tlp.AMBER_STRICT,
              "sha256 " + "a" * 64: Tlp.RED, "md5 " + "b" * 32: Tlp.GREEN,
              "email-sender billing@evil.example": Tlp.AMBER}
    objects = shared_objects(levels)
    imported = round_trip(objects)
    parsed = stix.parse(imported.bundle, now=NOW)
    assert parsed.marking is Tlp.RED
    assert indicator_levels(parsed.bundle["objects"]) == indicator_levels(objects)
    assert len(indicator_levels(objects)) == len(levels)


@pytest.mark.parametrize("level", list(Tlp))
def test_every_tlp_level_survives_a_round_trip(level: Tlp) -> None:
    imported = round_trip(shared_objects({"domain evil.example": level}, report=level))
    assert imported.marking is level
    assert {level_of(o) for o in imported.bundle["objects"]
            if o["type"] != "marking-definition"} == {level}


_IPV4 = st.ip_addresses(v=4).map(str).filter(lambda a: not a.startswith("0."))
_DOMAIN = st.from_regex(r"[a-z][a-z0-9]{0,10}\.(example|test|org)", fullmatch=True)
_HEX64 = st.text("0123456789abcdef", min_size=64, max_size=64)
_INDICATOR = st.one_of(_IPV4.map(lambda v: f"ipv4 {v}"), _DOMAIN.map(lambda v: f"domain {v}"),
                       _HEX64.map(lambda v: f"sha256 {v}"))


@FUZZ
@given(st.dictionaries(_INDICATOR, st.sampled_from(list(Tlp)), min_size=1, max_size=6))
def test_round_trips_keep_any_indicators_and_levels(levels: dict[str, Tlp]) -> None:
    objects = shared_objects(levels)
    parsed = stix.parse(round_trip(objects).bundle, now=NOW)
    assert indicator_levels(parsed.bundle["objects"]) == indicator_levels(objects)


# --- import: what comes in ------------------------------------------------------------


def test_a_misp_event_becomes_a_bundle_stix_parse_accepts() -> None:
    imported = misp.from_misp_event(as_json(rich_event()), now=NOW)
    parsed = stix.parse(imported.bundle, now=NOW)
    objects = parsed.bundle["objects"]
    assert parsed.marking is Tlp.RED
    assert indicator_levels(objects) == {
        "198.51.100.7": Tlp.GREEN, "evil.example": Tlp.AMBER,
        "https://evil.example/item.php?id=1'--": Tlp.AMBER, "a" * 64: Tlp.RED,
        "billing@evil.example": Tlp.AMBER,
        # the file object: as restrictive as its most restrictive attribute
        "invoice.doc": Tlp.AMBER_STRICT, "c" * 64: Tlp.AMBER_STRICT, "d" * 32: Tlp.AMBER_STRICT,
    }
    file_indicator = next(o for o in objects if "invoice.doc" in o.get("pattern", ""))
    assert file_indicator["description"] == "the dropper"
    (container,) = [o for o in objects if o["type"] in ("grouping", "report")]
    assert container["name"] == "Phishing wave <script>alert(1)</script>"
    assert level_of(container) is Tlp.AMBER
    assert 'osint:source-type="blog-post"' in container["labels"]


def test_misp_stix_alone_fails_our_checks_and_the_import_passes_the_validator_itself() -> None:
    event = as_json(rich_event())
    parser = MISPtoSTIX21Parser()
    parser.parse_json_content(copy.deepcopy(event))
    raw = json.loads(parser.bundle.serialize())
    assert "x-misp-attribute" in custom_parts(raw)
    assert any(o["type"] == "identity" and o["name"] == MISP_ORG for o in raw["objects"])
    with pytest.raises(SubmissionError):
        stix.parse(raw, now=NOW)
    bundle = misp.from_misp_event(event, now=NOW).bundle
    result = stix2validator.validate_parsed_json(bundle, stix2validator.ValidationOptions(version="2.1"))
    assert result.is_valid, [str(e) for e in result.errors]
    for obj in bundle["objects"]:
        stix2.parse(obj, allow_custom=False, version="2.1")


def test_to_ids_false_is_observed_not_an_indicator() -> None:
    objects = misp.from_misp_event(as_json(rich_event()), now=NOW).bundle["objects"]
    md5_files = [o for o in objects if o["type"] == "file" and o.get("hashes") == {"MD5": "b" * 32}]
    assert md5_files
    assert "b" * 32 not in indicator_levels(objects)


def test_the_misp_organisation_never_reaches_the_bundle() -> None:
    event = as_json(rich_event())
    body = event["Event"]
    body["Org"] = {"name": "Holder Org", "uuid": "4a1b8a4e-3c2f-4b1a-9e8d-7c6b5a4f3e2d"}
    body["event_creator_email"] = "alice@community.example"
    body["SharingGroup"] = {"name": "Closed Circle", "SharingGroupOrg": [{"Organisation": {"name": "Bank A"}}]}
    body["RelatedEvent"] = [{"Event": {"info": "other", "Orgc": {"name": "Other CERT"}}}]
    body["Attribute"][0]["Sighting"] = [{"Organisation": {"name": "Sighting Org"}, "source": "x"}]
    imported = misp.from_misp_event(event, now=NOW)
    text = json.dumps(imported.bundle)
    for secret in (MISP_ORG, "Holder Org", "alice@", "Closed Circle", "Bank A", "Other CERT", "Sighting Org"):
        assert secret not in text
    assert not [o for o in imported.bundle["objects"] if o["type"] == "identity" or "created_by_ref" in o]
    said = "\n".join(imported.dropped)
    for key in ("$.Event.Orgc", "$.Event.Org", "$.Event.event_creator_email", "$.Event.SharingGroup",
                "$.Event.RelatedEvent", "$.Event.Attribute[0].Sighting"):
        assert key + ":" in said


def test_internal_references_are_not_imported() -> None:
    imported = misp.from_misp_event(ip_event(
        {"type": "url", "value": "https://tickets.community.example/42", "category": "Internal reference"}),
        now=NOW)
    assert "tickets" not in json.dumps(imported.bundle)
    assert imported.dropped == ["$.Event.Attribute[1]: an internal reference of the MISP organisation"]


def test_what_stix_cannot_carry_is_dropped_and_said() -> None:
    event = rich_event()
    event.add_attribute("comment", "analyst remark")
    odd = MISPObject("bank-account")
    odd.add_attribute("account", value="12345")
    event.add_object(odd)
    imported = misp.from_misp_event(as_json(event), now=NOW)
    assert custom_parts(imported.bundle) == []
    said = "\n".join(imported.dropped)
    assert "$.Event.Attribute[6]: MISP attribute type 'text' has no STIX 2.1 equivalent" in said
    assert "$.Event.Attribute[7]: MISP attribute type 'comment' has no STIX 2.1 equivalent" in said
    assert "$.Event.Object[1]: MISP object 'bank-account' has no STIX 2.1 equivalent" in said
    assert "just a note" not in json.dumps(imported.bundle)


def test_an_event_without_the_event_key_is_read_too() -> None:
    imported = misp.from_misp_event(json.loads(rich_event().to_json()), now=NOW)
    assert stix.parse(imported.bundle, now=NOW).marking is Tlp.RED
    assert problems({"info": "x", "Attribute": "nope"}) == [("$.Attribute", "must be a list")]


def test_import_leaves_its_input_untouched() -> None:
    event = as_json(rich_event())
    before = copy.deepcopy(event)
    misp.from_misp_event(event, now=NOW)
    assert event == before


def test_missing_timestamps_are_now() -> None:
    imported = misp.from_misp_event(ip_event(), now=NOW)
    stamps = {o["created"] for o in imported.bundle["objects"] if "created" in o
              and o["type"] != "marking-definition"}
    assert stamps == {"2026-04-01T09:00:00.000Z"}


def test_non_tlp_tags_become_labels_unless_local() -> None:
    imported = misp.from_misp_event(ip_event(Tag=[
        {"name": "tlp:green"}, {"name": "kill-chain:delivery"},
        {"name": "workflow:todo=\"review\"", "local": True}]), now=NOW)
    (container,) = [o for o in imported.bundle["objects"] if o["type"] == "grouping"]
    assert "kill-chain:delivery" in container["labels"]
    assert not any("workflow" in label for label in container["labels"])


# --- import: TLP ----------------------------------------------------------------------


@pytest.mark.parametrize(("tag", "level"), [
    ("tlp:clear", Tlp.CLEAR), ("tlp:white", Tlp.CLEAR), ("tlp:green", Tlp.GREEN),
    ("tlp:amber", Tlp.AMBER), ("tlp:amber+strict", Tlp.AMBER_STRICT), ("tlp:red", Tlp.RED),
    ("TLP:RED", Tlp.RED), ("TLP:AMBER+STRICT", Tlp.AMBER_STRICT),
])
def test_each_misp_tlp_tag_becomes_its_official_marking(tag: str, level: Tlp) -> None:
    for event in (ip_event(Tag=[{"name": tag}]),
                  ip_event(Attribute=[{"type": "ip-dst", "value": "198.51.100.1", "Tag": [{"name": tag}]}])):
        imported = misp.from_misp_event(event, now=NOW)
        (indicator,) = [o for o in imported.bundle["objects"] if o["type"] == "indicator"]
        assert level_of(indicator) is level
        assert marking_definition(level) in imported.bundle["objects"]


@pytest.mark.parametrize("default", list(Tlp))
@pytest.mark.parametrize("tags", [[], [{"name": "tlp:ex:chr"}], [{"name": "tlp:unclear"}],
                                  [{"name": "type:OSINT"}]])
def test_a_missing_or_unknown_tlp_tag_gives_the_default(tags: list[dict[str, str]], default: Tlp) -> None:
    imported = misp.from_misp_event(ip_event(Tag=tags), now=NOW, default_tlp=default)
    assert {level_of(o) for o in imported.bundle["objects"] if o["type"] != "marking-definition"} == {default}


def test_the_default_is_amber_never_clear() -> None:
    assert misp.from_misp_event(ip_event(), now=NOW).marking is Tlp.AMBER


def test_an_unknown_tlp_tag_beside_a_known_one_counts_as_the_default() -> None:
    imported = misp.from_misp_event(ip_event(Tag=[{"name": "tlp:green"}, {"name": "tlp:ex:chr"}]),
                                    now=NOW, default_tlp=Tlp.RED)
    assert imported.marking is Tlp.RED


def test_an_attributes_own_tag_governs_it_else_the_events() -> None:
    event = ip_event({"type": "domain", "value": "clear.example", "Tag": [{"name": "tlp:clear"}]},
                     {"type": "domain", "value": "red.example", "Tag": [{"name": "tlp:red"}]},
                     Tag=[{"name": "tlp:amber"}])
    objects = misp.from_misp_event(event, now=NOW).bundle["objects"]
    assert indicator_levels(objects) == {"198.51.100.1": Tlp.AMBER, "clear.example": Tlp.CLEAR,
                                         "red.example": Tlp.RED}
    observed = {o["value"]: level_of(o) for o in objects if o["type"] == "domain-name"}
    assert observed == {"clear.example": Tlp.CLEAR, "red.example": Tlp.RED}


# --- import: hostile events -----------------------------------------------------------


@pytest.mark.parametrize(("payload", "expected"), [
    (b"not json", [("$", "not JSON")]),
    (b"\xff\xfe", [("$", "not JSON")]),
    ("[1, 2]", [("$", "must be a JSON object")]),
    ({"Event": []}, [("$.Event", "a MISP event must be a JSON object")]),
    ({"Event": {"info": "x", "Attribute": {"type": "ip-dst"}}}, [("$.Event.Attribute", "must be a list")]),
    ({"Event": {"Attribute": [{"type": "ip-dst", "value": "198.51.100.1"}]}},
     [("$.Event.info", "must be the event's title")]),
    (ip_event("an attribute"), [("$.Event.Attribute[1]", "must be a JSON object")]),
    (ip_event({"type": "ip-dst"}), [("$.Event.Attribute[1].value", "must be a non-empty")]),
    (ip_event({"type": "ip-dst", "value": "  "}), [("$.Event.Attribute[1].value", "must be a non-empty")]),
    (ip_event({"type": "ip-dst", "value": {"$ne": 1}}), [("$.Event.Attribute[1].value", "must be a non-empty")]),
    (ip_event({"type": "ip-dst", "value": True}), [("$.Event.Attribute[1].value", "must be a non-empty")]),
    (ip_event({"value": "198.51.100.1"}), [("$.Event.Attribute[1].type", "must be a MISP attribute type")]),
    (ip_event({"type": "ip-dst", "value": "not an ip"}), [("$.Event.Attribute[1]", "IP address has an invalid format")]),
    (ip_event({"type": "ip-dst", "value": "198.51.100.2", "uuid": "not-a-uuid"}),
     [("$.Event.Attribute[1].uuid", "must be a UUID")]),
    (ip_event({"type": "ip-dst", "value": "198.51.100.2", "to_ids": "maybe"}),
     [("$.Event.Attribute[1].to_ids", "must be true or false")]),
    (ip_event({"type": "ip-dst", "value": "198.51.100.2", "timestamp": "yesterday"}),
     [("$.Event.Attribute[1].timestamp", "must be seconds since 1970")]),
    (ip_event({"type": "ip-dst", "value": "198.51.100.2", "first_seen": "soon"}),
     [("$.Event.Attribute[1].first_seen", "must be an ISO 8601")]),
    (ip_event({"type": "ip-dst", "value": "198.51.100.2", "comment": ["x"]}),
     [("$.Event.Attribute[1].comment", "must be text")]),
    (ip_event(Tag="tlp:clear"), [("$.Event.Tag", "must be a list of tags")]),
    (ip_event(Tag=[{"colour": "#fff"}]), [("$.Event.Tag[0].name", "a tag needs a name")]),
    (ip_event(date="April"), [("$.Event.date", "must be a date")]),
    (ip_event(Object=[{"name": "file"}]), [("$.Event.Object[0].Attribute", "an object needs attributes")]),
    (ip_event(Object=[{"Attribute": []}]), [("$.Event.Object[0].name", "must be a MISP object template")]),
    (ip_event(Object=[{"name": "file", "Attribute": [{"type": "sha256", "value": "a" * 64}]}]),
     [("$.Event.Object[0].Attribute[0].object_relation", "an object's attribute needs one")]),
    (ip_event(Object=[{"name": "file", "Attribute": [
        {"type": "sha256", "value": "zz", "object_relation": "sha256"}]}]),
     [("$.Event.Object[0].Attribute[0]", "Checksum has an invalid length")]),
    (ip_event(Object=[{"name": "domain-ip", "Attribute": [
        {"type": "domain", "value": "evil.example", "object_relation": "domain"},
        {"type": "ip-dst", "value": "999.1.1.1", "object_relation": "ip"}]}]),
     [("$.Event.Object[0].Attribute[1]", "IP address has an invalid format")]),
    (ip_event(Object=[{"name": "file", "Attribute": [
        {"type": "sha256", "value": "a" * 64, "object_relation": "sha256"}],
        "ObjectReference": [{"referenced_uuid": "nope", "relationship_type": "drops"}]}]),
     [("$.Event.Object[0].ObjectReference[0].referenced_uuid", "must be a UUID")]),
    (ip_event(EventReport=[{"name": "no content"}]), [("$.Event.EventReport[0]", "needs its content")]),
])
def test_a_hostile_event_is_refused_with_where(payload: Any, expected: list[tuple[str, str]]) -> None:
    found = problems(payload)
    assert [where for where, _ in found] == [where for where, _ in expected]
    for (_, message), (_, fragment) in zip(found, expected, strict=True):
        assert fragment in message


def test_a_uuid_used_twice_is_refused() -> None:
    twice = "8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
    found = problems(ip_event({"type": "domain", "value": "a.example", "uuid": twice},
                              {"type": "domain", "value": "b.example", "uuid": twice}))
    assert found == [("$.Event.Attribute[2].uuid", "the same uuid is used at $.Event.Attribute[1]")]


def test_a_huge_event_is_refused_before_it_is_read() -> None:
    payload = b'{"Event": {"info": "' + b"x" * stix.MAX_BYTES + b'"}}'
    assert problems(payload) == [("$", f"larger than {stix.MAX_BYTES} bytes")]


def test_a_deeply_nested_event_is_refused() -> None:
    nested: dict[str, Any] = {"a": 1}
    for _ in range(stix.MAX_DEPTH + 5):
        nested = {"a": nested}
    ((where, message),) = problems(ip_event(extra=nested))
    assert where.startswith("$['Event']['extra']")
    assert message == f"nested deeper than {stix.MAX_DEPTH} levels"


def test_too_many_attributes_are_refused() -> None:
    attributes = [{"type": "ip-dst", "value": "198.51.100.1"}] * misp.MAX_ATTRIBUTES
    assert problems(ip_event(*attributes)) == [("$.Event", f"more than {misp.MAX_ATTRIBUTES} attributes")]


def test_an_unknown_attribute_type_is_dropped_and_said() -> None:
    imported = misp.from_misp_event(ip_event({"type": "quantum-hash", "value": "x"}), now=NOW)
    assert imported.dropped == ["$.Event.Attribute[1]: unknown MISP attribute type 'quantum-hash'"]
    assert "198.51.100.1" in indicator_levels(imported.bundle["objects"])


def test_an_event_with_nothing_stix_can_carry_is_refused() -> None:
    assert problems({"Event": {"info": "empty"}}) == [
        ("$.Event", "no attribute or object that STIX 2.1 can carry")]
    assert problems({"Event": {"info": "notes", "Attribute": [{"type": "text", "value": "hi"}]}}) == [
        ("$.Event", "no attribute or object that STIX 2.1 can carry")]


def test_a_value_stix_refuses_is_a_problem_not_a_quiet_change() -> None:
    (found,) = problems(ip_event({"type": "url", "value": "https://evil.example/<script>alert(1)</script>"}))
    assert found[0] == "$.Event.Attribute[1]"
    assert "https://evil.example/<script>alert(1)</script>" in found[1]


@pytest.mark.parametrize("value", ["<b>evil</b>.example", "'; DROP TABLE shared_object; --",
                                   "evil.example' OR '1'='1"])
def test_markup_and_sql_as_a_domain_are_refused_as_data(value: str) -> None:
    ((where, message),) = problems(ip_event({"type": "domain", "value": value}))
    assert where == "$.Event.Attribute[1]"
    assert value in message


def test_markup_and_sql_in_text_are_kept_verbatim() -> None:
    hostile = "<img src=x onerror=alert(1)> '; DROP TABLE shared_object; -- {{7*7}} ${jndi:ldap://x}"
    imported = misp.from_misp_event(
        ip_event({"type": "url", "value": "https://evil.example/item.php?id=1'--", "comment": hostile},
                 info=hostile), now=NOW)
    objects = stix.parse(imported.bundle, now=NOW).bundle["objects"]
    url_indicator = next(o for o in objects if o["type"] == "indicator" and "url:" in o["pattern"])
    assert url_indicator["description"] == hostile
    assert url_indicator["pattern"] == "[url:value = 'https://evil.example/item.php?id=1\\'--']"
    assert next(o for o in objects if o["type"] == "url")["value"] == "https://evil.example/item.php?id=1'--"
    assert next(o for o in objects if o["type"] == "grouping")["name"] == hostile


def test_defanged_values_are_refanged_as_misp_does() -> None:
    imported = misp.from_misp_event(ip_event({"type": "url", "value": "hxxps://evil[.]example/x"}), now=NOW)
    assert "https://evil.example/x" in indicator_levels(imported.bundle["objects"])


_TYPES = st.sampled_from(["ip-dst", "ip-src", "domain", "hostname", "url", "md5", "sha256",
                          "email-src", "filename", "text", "comment", "AS", "port", "user-agent",
                          "mutex", "regkey", "domain|ip", "filename|sha256", "link", "yara"])
_VALUES = st.one_of(st.text(max_size=80), st.integers(-(2**53), 2**53), st.floats(allow_nan=True),
                    st.sampled_from(["<script>alert(1)</script>", "1' OR '1'='1", "../../etc/passwd",
                                     "evil.example", "198.51.100.9", "a" * 64, "\x00\u202e"]))


@FUZZ
@given(_TYPES, _VALUES, st.booleans())
def test_any_attribute_value_is_accepted_whole_or_refused_at_its_place(
        kind: str, value: Any, to_ids: bool) -> None:
    imported = outcome(ip_event({"type": kind, "value": value, "to_ids": to_ids}))
    if isinstance(imported, list):
        assert len(imported) == 1
        assert imported[0].startswith("$.Event.Attribute[1]")
        return
    parsed = stix.parse(imported.bundle, now=NOW)
    assert indicator_levels(parsed.bundle["objects"])["198.51.100.1"] is Tlp.AMBER
    assert custom_parts(parsed.bundle) == []


@FUZZ
@given(st.text(max_size=200).filter(str.strip))
def test_any_comment_is_kept_as_it_was_written(comment: str) -> None:
    imported = misp.from_misp_event(
        {"Event": {"info": "x", "Attribute": [{"type": "domain", "value": "evil.example",
                                               "to_ids": True, "comment": comment}]}}, now=NOW)
    (indicator,) = [o for o in imported.bundle["objects"] if o["type"] == "indicator"]
    assert indicator["description"] == comment
