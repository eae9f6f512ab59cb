"""The Traffic Light Protocol 2.0 levels and their official STIX 2.1 marking definitions.

The ids are those of the OASIS CTI TC's common objects (cti-stix-common-objects,
``extension-definition-specifications/tlp-2.0``): TLP 2.0 marking definitions carried by
the property extension ``extension-definition--60a3c5c5-…``. They differ from the TLP 1.0
ids printed in the STIX 2.1 specification (section 7.2.1.4), which know no CLEAR and no
AMBER+STRICT. Who may read what under each level is decided by ``renkei.sharing.policy``.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any


class Tlp(StrEnum):
    """A TLP 2.0 level, from the least to the most restrictive."""

    CLEAR = "clear"
    GREEN = "green"
    AMBER = "amber"
    AMBER_STRICT = "amber+strict"
    RED = "red"

    @property
    def label(self) -> str:
        """As TLP 2.0 writes it: ``TLP:AMBER+STRICT``."""
        return "TLP:" + self.value.upper()

    @property
    def marking_id(self) -> str:
        return MARKING_IDS[self]

    @property
    def rank(self) -> int:
        """0 for CLEAR up to 4 for RED: a higher rank is more restrictive."""
        return _ORDER.index(self)


_ORDER = (Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER, Tlp.AMBER_STRICT, Tlp.RED)

TLP2_EXTENSION_ID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
TLP2_CREATED = "2022-10-01T00:00:00.000Z"

MARKING_IDS: dict[Tlp, str] = {
    Tlp.CLEAR: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    Tlp.GREEN: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    Tlp.AMBER: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    Tlp.AMBER_STRICT: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    Tlp.RED: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
_BY_MARKING_ID = {marking: level for level, marking in MARKING_IDS.items()}


def from_marking_id(marking_id: str) -> Tlp | None:
    """The TLP 2.0 level of an official marking-definition id; None for any other id."""
    return _BY_MARKING_ID.get(marking_id)


def parse(text: str) -> Tlp:
    """``amber+strict``, ``TLP:AMBER+STRICT`` or the marking id; ValueError otherwise."""
    value = text.strip()
    by_id = from_marking_id(value)
    if by_id is not None:
        return by_id
    value = value.lower().removeprefix("tlp:")
    try:
        return Tlp(value)
    except ValueError:
        raise ValueError(f"not a TLP 2.0 level: {text[:60]!r}") from None


def most_restrictive(levels: Iterable[Tlp]) -> Tlp:
    """The level that governs an object carrying several markings (RED when given none is
    not a safe guess, so an empty input is an error)."""
    found = list(levels)
    if not found:
        raise ValueError("no TLP level given")
    return max(found, key=lambda level: level.rank)


def marking_definition(level: Tlp) -> dict[str, Any]:
    """The STIX 2.1 marking-definition object of ``level``, exactly as OASIS publishes it."""
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": MARKING_IDS[level],
        "created": TLP2_CREATED,
        "name": level.label,
        "extensions": {
            TLP2_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": level.value},
        },
    }
