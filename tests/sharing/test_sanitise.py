"""Sanitising a bundle: the submitter's identity, personal data and own hosts go, the
indicators stay, and the diff shows each change."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from renkei.core.tlp import Tlp
from renkei.sharing.sanitise import OwnData, sanitise

AMBER = [Tlp.AMBER.marking_id]
SUBMITTER = "identity--11111111-1111-4111-8111-111111111111"
HUB = {"type": "identity", "spec_version": "2.1",
       "id": "identity--22222222-2222-4222-8222-222222222222",
       "created": "2026-01-01T00:00:00.000Z", "modified": "2026-01-01T00:00:00.000Z",
       "name": "hub", "identity_class": "organization", "object_marking_refs":
       [Tlp.CLEAR.marking_id]}
STAMP = "2026-04-01T09:00:00.000Z"


def obj(kind: str, number: int, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "spec_version": "2.1",
            "id": f"{kind}--{number:08d}-0000-4000-8000-000000000000", "created": STAMP,
            "modified": STAMP, "created_by_ref": SUBMITTER, "object_marking_refs": AMBER,
            **fields}


def submitted() -> dict[str, Any]:
    evil = obj("indicator", 1, name="sender", pattern="[email-message:from_ref.value = 'ceo@evil.example']",
               pattern_type="stix", valid_from=STAMP)
    victim = obj("indicator", 2, name="our mail gateway",
                 pattern="[ipv4-addr:value = '10.1.2.3']", pattern_type="stix", valid_from=STAMP)
    report = obj("report", 3, name="Phishing at Acme", published=STAMP,
                 description=("Reported by Taro Yamada (taro.yamada@acme.example, "
                              "+81 3-1234-5678) from mail01.corp.acme.example at 10.1.2.3; "
                              "sender 198.51.100.7 on 2026-04-01."),
                 object_refs=[evil["id"], victim["id"]])
    identity = {"type": "identity", "spec_version": "2.1", "id": SUBMITTER, "created": STAMP,
                "modified": STAMP, "name": "Acme Bank", "identity_class": "organization",
                "object_marking_refs": AMBER}
    return {"type": "bundle", "id": "bundle--33333333-3333-4333-8333-333333333333",
            "objects": [identity, evil, victim, report]}


OWN = OwnData.of(domains=["acme.example"], networks=["10.0.0.0/8"], names=["Taro Yamada"])


def test_the_submitter_becomes_the_hub_and_personal_data_goes() -> None:
    original = submitted()
    kept = copy.deepcopy(original)
    result = sanitise(original, hub_identity=HUB, own=OWN)
    assert original == kept  # untouched
    by_id = {o["id"]: o for o in result.bundle["objects"]}
    assert SUBMITTER not in by_id
    assert HUB["id"] in by_id
    report = by_id["report--00000003-0000-4000-8000-000000000000"]
    assert report["created_by_ref"] == HUB["id"]
    assert report["description"] == (
        "Reported by [name] ([e-mail address], [phone number]) from [internal host] at "
        "[internal address]; sender 198.51.100.7 on 2026-04-01.")
    assert report["object_refs"] == ["indicator--00000001-0000-4000-8000-000000000000"]


def test_indicators_keep_their_values_but_own_addresses_are_dropped() -> None:
    result = sanitise(submitted(), hub_identity=HUB, own=OWN)
    patterns = [o.get("pattern") for o in result.bundle["objects"] if o["type"] == "indicator"]
    assert patterns == ["[email-message:from_ref.value = 'ceo@evil.example']"]


def test_every_change_is_listed_and_the_diff_shows_it() -> None:
    result = sanitise(submitted(), hub_identity=HUB, own=OWN)
    report = "report--00000003-0000-4000-8000-000000000000"
    assert f"{SUBMITTER}: the submitter's identity removed" in result.changes
    assert ("indicator--00000002-0000-4000-8000-000000000000: removed, its pattern names "
            "the submitter's own host or address") in result.changes
    for what in ("e-mail address", "phone number", "staff name", "internal host name",
                 "internal address"):
        assert f"{report}.description: {what} replaced" in result.changes
    assert result.diff.startswith("--- submitted\n+++ sanitised\n")
    assert '-      "name": "Acme Bank",' in result.diff
    assert "+  [name] ([e-mail address]" not in result.diff  # one JSON line per value
    assert any(line.startswith("+") and "[phone number]" in line
               for line in result.diff.splitlines())


def test_nothing_to_remove_means_no_diff() -> None:
    clean = {"type": "bundle", "id": "bundle--33333333-3333-4333-8333-333333333333",
             "objects": [obj("indicator", 1, name="x", pattern="[ipv4-addr:value = '198.51.100.1']",
                             pattern_type="stix", valid_from=STAMP) | {"created_by_ref": HUB["id"]}, HUB]}
    result = sanitise(clean, hub_identity=HUB, own=OwnData())
    assert (result.changes, result.diff, result.bundle) == ([], "", clean)


def test_dates_and_public_addresses_are_not_phone_numbers() -> None:
    text = obj("note", 1, content="2026-04-01 12:00 from 198.51.100.7, ticket 1234-5678",
               object_refs=["indicator--00000001-0000-4000-8000-000000000000"],
               created_by_ref=HUB["id"])
    result = sanitise({"type": "bundle", "id": "bundle--1", "objects": [text, HUB]},
                      hub_identity=HUB, own=OwnData())
    assert result.changes == []


def test_objects_without_a_creator_get_the_hub() -> None:
    anonymous = obj("indicator", 1, name="x", pattern="[ipv4-addr:value = '198.51.100.1']",
                    pattern_type="stix", valid_from=STAMP)
    del anonymous["created_by_ref"]
    result = sanitise({"type": "bundle", "id": "bundle--1", "objects": [anonymous]},
                      hub_identity=HUB, own=OwnData())
    assert [o["id"] for o in result.bundle["objects"]] == [HUB["id"], anonymous["id"]]
    assert result.bundle["objects"][1]["created_by_ref"] == HUB["id"]
    assert result.changes == [f"{anonymous['id']}: created_by_ref set to the hub's identity",
                              f"{HUB['id']}: the hub's identity added"]


@pytest.mark.parametrize("text", [
    "Contact: +81 3 5555 0100.", "call 03-5555-0100, or mail", "(03) 5555-0100!",
    "tel +44 20 7946 0958;", "+1 202 555 0143"])
def test_a_phone_number_at_the_end_of_a_sentence_is_removed(text: str) -> None:
    from renkei.sharing.sanitise import PHONE_MARK

    note = obj("note", 1, content=text, created_by_ref=HUB["id"],
               object_refs=["indicator--00000001-0000-4000-8000-000000000000"])
    result = sanitise({"type": "bundle", "id": "bundle--1", "objects": [note, HUB]},
                      hub_identity=HUB, own=OwnData())
    content = result.bundle["objects"][0]["content"]
    assert PHONE_MARK in content
    assert not any(part in content for part in ("5555", "7946", "0143"))


@pytest.mark.parametrize("text", ["version 1.2.3 4567.8", "see 10.0.0 1234"])
def test_version_like_numbers_are_not_phone_numbers(text: str) -> None:
    note = obj("note", 1, content=text, created_by_ref=HUB["id"],
               object_refs=["indicator--00000001-0000-4000-8000-000000000000"])
    result = sanitise({"type": "bundle", "id": "bundle--1", "objects": [note, HUB]},
                      hub_identity=HUB, own=OwnData())
    assert result.changes == []


def test_every_change_reads_in_japanese_on_the_console() -> None:
    """The event keeps the changes in English; the submission's page shows each in the
    reader's language, so a new wording in ``sanitise`` needs its msgid there too."""
    from renkei.core.i18n import translator
    from renkei.sharing.pages import _change_text

    ja = translator("ja")
    for change in sanitise(submitted(), hub_identity=HUB, own=OWN).changes:
        where, _, what = change.partition(": ")
        shown = _change_text(ja, change)
        assert shown.startswith(f"{where}: ")
        assert what not in shown, change
