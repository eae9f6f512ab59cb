"""TLP 2.0 levels and the official OASIS marking definitions."""

from __future__ import annotations

import pytest

from renkei.core import tlp
from renkei.core.tlp import Tlp

# As published by the OASIS CTI TC in cti-stix-common-objects,
# extension-definition-specifications/tlp-2.0/marking-definition.json (the JSON schema that
# pins each id). The TLP 1.0 ids of the STIX 2.1 specification are deliberately absent.
OFFICIAL = {
    Tlp.CLEAR: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    Tlp.GREEN: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    Tlp.AMBER: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    Tlp.AMBER_STRICT: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    Tlp.RED: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
TLP1_IDS = [  # STIX 2.1 section 7.2.1.4 (TLP 1.0): WHITE, GREEN, AMBER, RED
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
]


def test_official_marking_ids() -> None:
    assert tlp.MARKING_IDS == OFFICIAL
    assert all(tlp.from_marking_id(marking) is level for level, marking in OFFICIAL.items())


@pytest.mark.parametrize("marking", [*TLP1_IDS, "", "marking-definition--", "TLP:RED", "red"])
def test_other_ids_are_not_tlp_2(marking: str) -> None:
    assert tlp.from_marking_id(marking) is None


@pytest.mark.parametrize("level", list(Tlp))
def test_marking_definition_object(level: Tlp) -> None:
    definition = tlp.marking_definition(level)
    assert definition == {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": OFFICIAL[level],
        "created": "2022-10-01T00:00:00.000Z",
        "name": level.label,
        "extensions": {
            "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {
                "extension_type": "property-extension",
                "tlp_2_0": level.value,
            },
        },
    }


def test_labels_and_order() -> None:
    assert [level.label for level in Tlp] == [
        "TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT", "TLP:RED"]
    assert [level.rank for level in Tlp] == [0, 1, 2, 3, 4]
    assert tlp.most_restrictive([Tlp.GREEN, Tlp.AMBER_STRICT, Tlp.AMBER]) is Tlp.AMBER_STRICT
    with pytest.raises(ValueError, match="no TLP level"):
        tlp.most_restrictive([])


@pytest.mark.parametrize(("text", "level"), [
    ("amber+strict", Tlp.AMBER_STRICT), ("TLP:AMBER+STRICT", Tlp.AMBER_STRICT),
    (" tlp:clear ", Tlp.CLEAR), (OFFICIAL[Tlp.RED], Tlp.RED), ("Green", Tlp.GREEN),
])
def test_parse(text: str, level: Tlp) -> None:
    assert tlp.parse(text) is level


@pytest.mark.parametrize("text", ["white", "TLP:WHITE", "amber strict", "", TLP1_IDS[0], "x" * 10_000])
def test_parse_refuses_anything_else(text: str) -> None:
    with pytest.raises(ValueError, match=r"not a TLP 2\.0 level") as raised:
        tlp.parse(text)
    assert len(str(raised.value)) < 120
