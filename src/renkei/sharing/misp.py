"""MISP exchange: shared STIX objects out as one MISP event, MISP events in as a STIX bundle.

Both directions are pure (no database, no network) and lean on misp-stix: its
``ExternalSTIX2toMISPParser`` turns our STIX into a ``pymisp.MISPEvent`` and its
``MISPtoSTIX21Parser`` turns a MISP event into STIX 2.1. What the converters do not do is
done here, with pymisp objects or on the JSON:

Export (``to_misp_event``)
    misp-stix tags the event with the report's marking only and leaves an attribute untagged
    when its level equals the event's, so the TLP tags are set here: the event carries the
    most restrictive level of the objects, every attribute its own object's level. It sets no
    ``Orgc``, date or threat level, and it would credit the submitter through a ``producer``
    tag read from ``created_by_ref``: creators are removed before conversion and ``Orgc`` is
    the hub. ``distribution`` follows the event's TLP level (``DISTRIBUTION``); attributes and
    objects inherit it (5).

Import (``from_misp_event``)
    The event is bounded (``stix.load``), checked field by field, and rebuilt from an allow
    list, so the MISP organisation's identity (``Orgc``, ``Org``, ``event_creator_email``,
    sharing groups, sightings, analyst notes, related events, "Internal reference"
    attributes) never reaches misp-stix. TLP tags become the official TLP 2.0 markings: an
    attribute's own TLP tag governs it, else the event's, else ``default_tlp``; an unknown
    ``tlp:`` tag (``tlp:ex:chr``) counts as ``default_tlp`` and ``tlp:white`` is TLP:CLEAR.

How misp-stix's STIX fares against stix2 and stix2-validator 3.2.0 (what ``stix.parse``
runs), as checked by the tests: attributes and objects without a STIX 2.1 equivalent (``text``,
``comment``, ``other``, unknown templates) become custom ``x-misp-attribute`` and
``x-misp-object`` objects, and a few objects carry ``x_misp_*`` properties; both are
dropped here and listed in ``MispImport.dropped``. Its markings are TLP 1.0 definitions for
white, green, amber and red: they are replaced. Galaxy clusters are dropped (their tags stay
as labels). A value the validator refuses (a URL that is not a URI) is a located problem,
never silently changed.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from misp_stix_converter import ExternalSTIX2toMISPParser, MISPtoSTIX21Parser
from misp_stix_converter.tools import load_stix2_content
from pymisp import MISPAttribute, MISPEvent, MISPOrganisation, MISPTag
from pymisp.abstract import AbstractMISP
from pymisp.exceptions import PyMISPError
from pymisp.tools import validate_attribute

from renkei.core import tlp
from renkei.core.tlp import Tlp
from renkei.sharing import stix
from renkei.sharing.stix import Problem, SubmissionError

# MISP distribution levels: 0 your organisation only, 1 this community only,
# 2 connected communities, 3 all communities, 4 a sharing group, 5 inherit the event's.
DISTRIBUTION: dict[Tlp, int] = {
    Tlp.CLEAR: 3,         # no limit on disclosure
    Tlp.GREEN: 1,         # the community, not beyond: 2 and 3 would travel past it
    Tlp.AMBER: 0,         # the recipient organisation (and its clients, by TLP's rules)
    Tlp.AMBER_STRICT: 0,  # the recipient organisation only
    Tlp.RED: 0,           # MISP has nothing narrower than one organisation
}
INHERIT = 5
# misp-stix makes up to six STIX objects of one attribute (observed data, observables, an
# indicator, a relationship): this keeps a bundle within stix.MAX_OBJECTS.
MAX_ATTRIBUTES = stix.MAX_OBJECTS // 6
THREAT_LEVEL_UNDEFINED = 4
LAST_TIMESTAMP = 253_402_300_799  # 9999-12-31T23:59:59Z: later seconds no datetime holds
ANALYSIS_COMPLETED = 2

_log = logging.getLogger(__name__)
HUB_NAMESPACE = uuid.UUID("1b7e6c1e-5f5e-4d87-9c61-2f7e0e3c6a41")
_DESCRIBE = AbstractMISP().describe_types
_KNOWN_TYPES: frozenset[str] = frozenset(_DESCRIBE["types"])
_CATEGORIES: dict[str, list[str]] = _DESCRIBE["category_type_mappings"]
_INTERNAL_CATEGORY = "Internal reference"
_CONTAINERS = ("grouping", "report")

# What a MISP record may carry that names an organisation or a person, or that renkei does
# not import: dropped, and said so. Other unknown keys are MISP bookkeeping, dropped silently.
_NOT_IMPORTED = {
    "Orgc": "the MISP organisation that created it",
    "Org": "the MISP organisation that holds it",
    "event_creator_email": "its creator's e-mail address",
    "SharingGroup": "the organisations it was shared with",
    "RelatedEvent": "other events and their organisations",
    "Sighting": "sightings and who made them",
    "ShadowAttribute": "proposals and who made them",
    "Note": "analyst notes and their authors",
    "Opinion": "analyst opinions and their authors",
    "Relationship": "analyst relationships and their authors",
    "Galaxy": "galaxy clusters (their tags are kept as labels)",
}


def tlp_tag(level: Tlp) -> str:
    """The MISP taxonomy's TLP 2.0 tag: ``tlp:amber+strict``."""
    return f"tlp:{level.value}"


def level_of_tag(name: str) -> Tlp | None:
    """The TLP level a MISP ``tlp:`` tag names; None for an unknown one (``tlp:ex:chr``)."""
    value = name.strip().lower()
    if value == "tlp:white":  # TLP 1.0's name for what TLP 2.0 calls CLEAR
        return Tlp.CLEAR
    try:
        return tlp.parse(value) if value.startswith("tlp:") else None
    except ValueError:
        return None


def _is_tlp_tag(name: str) -> bool:
    return name.strip().lower().startswith("tlp:")


def _uuid_part(stix_id: str) -> str:
    return stix_id.rpartition("--")[2]


# --- export ---------------------------------------------------------------------------


def to_misp_event(
    objects: list[dict[str, Any]],
    *,
    info: str,
    hub_name: str,
    date: datetime,
    event_uuid: str | None = None,
    hub_uuid: str | None = None,
) -> dict[str, Any]:
    """One MISP event (core JSON, ``{"Event": ...}``) of STIX objects the TLP policy let
    through, credited to the hub.

    ``event_uuid`` defaults to the uuid of the one report or grouping among ``objects``, else
    to one derived from their ids, so exporting the same objects again updates the same event
    in MISP. ValueError when an object carries no TLP 2.0 marking: guessing would be unsafe.
    """
    creators = {o.get("created_by_ref") for o in objects} - {None}
    kept: list[dict[str, Any]] = []
    levels: dict[str, Tlp] = {}
    for obj in objects:
        kind = obj.get("type")
        if kind == "marking-definition" or (kind == "identity" and obj.get("id") in creators):
            continue
        levels[_uuid_part(str(obj["id"]))] = _marking_level(obj)
        kept.append({k: v for k, v in obj.items() if k != "created_by_ref"})
    if not kept:
        raise ValueError("no object to export")
    _drop_dangling(kept)
    event_level = tlp.most_restrictive(levels.values())
    containers = [o for o in kept if o["type"] in _CONTAINERS]
    if event_uuid is None:
        event_uuid = (_uuid_part(containers[0]["id"]) if len(containers) == 1 else str(
            uuid.uuid5(HUB_NAMESPACE, ",".join(sorted(o["id"] for o in kept)))))
    hub_uuid = hub_uuid or str(uuid.uuid5(HUB_NAMESPACE, hub_name))
    used = sorted(set(levels.values()), key=lambda level: level.rank)
    bundle = {"type": "bundle", "id": f"bundle--{event_uuid}",
              "objects": [tlp.marking_definition(level) for level in used] + kept}
    distribution = DISTRIBUTION[event_level]
    parser = ExternalSTIX2toMISPParser()
    parser.load_stix_bundle(load_stix2_content(bundle))
    parser.parse_stix_bundle(single_event=True, distribution=distribution,
                             cluster_distribution=distribution, organisation_uuid=hub_uuid)
    for message in parser.diagnostics()["errors"].values():
        _log.warning("MISP export of %s: %s", event_uuid, "; ".join(map(str, message))[:500])
    event: MISPEvent = parser.misp_event
    sources = {_uuid_part(o["id"]): o for o in kept}
    _finish_event(event, info=info, uuid_=event_uuid, date=date, level=event_level)
    event.Orgc = _organisation(hub_name, hub_uuid)
    for attribute in event.attributes:
        attribute.object_relation = None  # a top-level attribute belongs to no object
        _finish_attribute(attribute, levels.get(attribute.uuid, event_level),
                          sources.get(attribute.uuid), date)
    for misp_object in event.objects:
        source = sources.get(misp_object.uuid)
        misp_object.distribution = INHERIT
        misp_object.force_timestamp = True
        if source and source.get("description") and not misp_object.get("comment"):
            misp_object.comment = source["description"]
        for attribute in misp_object.attributes:
            _finish_attribute(attribute, levels.get(misp_object.uuid, event_level), None, date,
                              timestamp=source.get("modified") if source else None)
    return {"Event": json.loads(event.to_json())}


def _marking_level(obj: dict[str, Any]) -> Tlp:
    refs = obj.get("object_marking_refs") or []
    found = [level for level in (tlp.from_marking_id(str(ref)) for ref in refs) if level]
    if not found:
        raise ValueError(f"{str(obj.get('id'))[:120]} carries no TLP 2.0 marking")
    return tlp.most_restrictive(found)


def _drop_dangling(objects: list[dict[str, Any]]) -> None:
    """References to objects the policy left out are removed; relationships to them too."""
    ids = {o["id"] for o in objects}
    for obj in list(objects):
        if obj["type"] in ("relationship", "sighting") and not {
                obj.get("source_ref", obj.get("sighting_of_ref")),
                obj.get("target_ref", obj.get("sighting_of_ref"))} <= ids:
            objects.remove(obj)
        elif isinstance(obj.get("object_refs"), list):
            obj["object_refs"] = [ref for ref in obj["object_refs"] if ref in ids]


def _organisation(name: str, uuid_: str) -> MISPOrganisation:
    org = MISPOrganisation()
    org.from_dict(name=name, uuid=uuid_)
    return org


def _finish_event(event: MISPEvent, *, info: str, uuid_: str, date: datetime, level: Tlp) -> None:
    event.force_timestamp = True
    event.uuid = uuid_
    event.info = info
    event.date = date.date()
    event.timestamp = date
    event.published = False
    event.threat_level_id = THREAT_LEVEL_UNDEFINED
    event.analysis = ANALYSIS_COMPLETED
    event.distribution = DISTRIBUTION[level]
    event.tags = [t for t in event.tags if not _is_tlp_tag(t.name)
                  and not t.name.startswith("misp-galaxy:producer")]
    event.add_tag(tlp_tag(level))


def _finish_attribute(attribute: MISPAttribute, level: Tlp, source: dict[str, Any] | None,
                      date: datetime, *, timestamp: str | None = None) -> None:
    tag = MISPTag()
    tag.from_dict(name=tlp_tag(level))
    attribute.tags = [t for t in attribute.tags if not _is_tlp_tag(t.name)] + [tag]
    attribute.distribution = INHERIT
    attribute.force_timestamp = True
    if source and source.get("description") and not attribute.get("comment"):
        attribute.comment = source["description"]
    if not attribute.get("timestamp"):
        stamp = timestamp or (source or {}).get("modified")
        attribute.timestamp = datetime.fromisoformat(stamp) if stamp else date


# --- import ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MispImport:
    """A bundle ``stix.parse`` accepts, its most restrictive level, and what was left out."""

    bundle: dict[str, Any]
    marking: Tlp
    dropped: list[str]


def from_misp_event(event: dict[str, Any] | bytes | str, *, now: datetime,
                    default_tlp: Tlp = Tlp.AMBER) -> MispImport:
    """A STIX 2.1 bundle of a MISP event (core JSON, with or without the ``Event`` key).

    SubmissionError names every problem's place in the event (``$.Event.Attribute[3]``).
    ``now`` stands in for the timestamps the event leaves out.
    """
    if not isinstance(event, dict | bytes | str):
        raise SubmissionError([Problem("$", "must be a JSON object")])
    data = stix.load(event)
    root = "$.Event" if "Event" in data else "$"
    body = data.get("Event", data)
    if not isinstance(body, dict):
        raise SubmissionError([Problem(root, "a MISP event must be a JSON object")])
    intake = _Intake(now=now, default=default_tlp)
    clean = intake.event(body, root)
    if intake.problems:
        raise SubmissionError(intake.problems)
    return intake.convert(clean, root)


@dataclass
class _Intake:
    """One import's state: what was found wrong, what was left out, and each record's
    level and place, keyed by uuid (misp-stix names STIX objects after them)."""

    now: datetime
    default: Tlp
    problems: list[Problem] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    levels: dict[str, Tlp] = field(default_factory=dict)
    places: dict[str, str] = field(default_factory=dict)
    event_level: Tlp = Tlp.AMBER
    event_uuid: str = ""

    # -- the MISP side: checked, then rebuilt from an allow list

    def event(self, raw: dict[str, Any], where: str) -> dict[str, Any]:
        items, parts = self._list(raw, "Attribute", where), self._list(raw, "Object", where)
        count = len(items) + sum(len(p["Attribute"]) for p in parts
                                 if isinstance(p, dict) and isinstance(p.get("Attribute"), list))
        if count > MAX_ATTRIBUTES:  # before any of them is looked at
            self._problem(where, f"more than {MAX_ATTRIBUTES} attributes")
            return {}
        self._not_imported(raw, where)
        levels, tags = self._tags(raw.get("Tag"), f"{where}.Tag")
        self.event_level = self._resolve(levels, self.default)
        self.event_uuid = self._uuid(raw, where)
        info = raw.get("info")
        if not isinstance(info, str) or not info.strip():
            self._problem(f"{where}.info", "must be the event's title, as text")
        clean: dict[str, Any] = {"uuid": self.event_uuid, "info": info, "Tag": tags,
                                 "timestamp": self._timestamp(raw, where),
                                 "date": self._date(raw.get("date"), f"{where}.date")}
        if raw.get("published") in (True, 1, "1") and _seconds(raw.get("publish_timestamp")):
            clean.update(published=True, publish_timestamp=str(raw["publish_timestamp"]))
        attributes = []
        for index, item in enumerate(items):
            attribute = self._attribute(item, f"{where}.Attribute[{index}]", inherited=self.event_level)
            if attribute is not None:
                self.levels[attribute["uuid"]] = attribute.pop("_level")
                attributes.append(attribute)
        objects = []
        for index, item in enumerate(parts):
            misp_object = self._object(item, f"{where}.Object[{index}]")
            if misp_object is not None:
                objects.append(misp_object)
        reports = [self._report(item, f"{where}.EventReport[{index}]")
                   for index, item in enumerate(self._list(raw, "EventReport", where))]
        clean.update(Attribute=attributes, Object=objects,
                     EventReport=[r for r in reports if r is not None])
        return clean

    def _attribute(self, raw: Any, where: str, *, inherited: Tlp,
                   in_object: bool = False) -> dict[str, Any] | None:
        if not isinstance(raw, dict):
            self._problem(where, "an attribute must be a JSON object")
            return None
        kind, value = raw.get("type"), raw.get("value")
        if not isinstance(kind, str) or not kind.strip():
            self._problem(f"{where}.type", "must be a MISP attribute type")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float) or not str(value).strip():
            self._problem(f"{where}.value", "must be a non-empty text or number")
            return None
        relation = raw.get("object_relation")
        if in_object and (not isinstance(relation, str) or not relation.strip()):
            self._problem(f"{where}.object_relation", "an object's attribute needs one")
            return None
        uuid_ = self._uuid(raw, where)
        levels, tags = self._tags(raw.get("Tag"), f"{where}.Tag")
        self._not_imported(raw, where)
        if kind not in _KNOWN_TYPES:
            self.dropped.append(f"{where}: unknown MISP attribute type {kind[:60]!r}")
            return None
        category = raw.get("category")
        if category == _INTERNAL_CATEGORY:
            self.dropped.append(f"{where}: an internal reference of the MISP organisation")
            return None
        clean: dict[str, Any] = {"uuid": uuid_, "type": kind, "value": str(value), "Tag": tags,
                                 "timestamp": self._timestamp(raw, where)}
        if raw.get("to_ids") is not None:  # else MISP's default for the type
            clean["to_ids"] = self._flag(raw["to_ids"], f"{where}.to_ids")
        if isinstance(category, str) and kind in _CATEGORIES.get(category, ()):
            clean["category"] = category
        if in_object:
            clean["object_relation"] = relation
        try:  # MISP's own checks (and refanging: hxxp://evil[.]example is a URL)
            clean["value"] = validate_attribute(dict(clean)).value
        except PyMISPError as error:
            self._problem(where, _last_line(str(error)))
            return None
        clean["_level"] = self._resolve(levels, inherited)
        for key in ("comment", "first_seen", "last_seen"):
            text = raw.get(key)
            if text is None or text == "":
                continue
            if not isinstance(text, str):
                self._problem(f"{where}.{key}", "must be text")
            elif key != "comment" and not _is_datetime(text):
                self._problem(f"{where}.{key}", "must be an ISO 8601 date and time")
            else:
                clean[key] = text
        self.places.setdefault(uuid_, where)
        return clean

    def _object(self, raw: Any, where: str) -> dict[str, Any] | None:
        if not isinstance(raw, dict):
            self._problem(where, "an object must be a JSON object")
            return None
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            self._problem(f"{where}.name", "must be a MISP object template name")
            return None
        uuid_ = self._uuid(raw, where)
        self._not_imported(raw, where)
        items = self._list(raw, "Attribute", where)
        if not items:
            self._problem(f"{where}.Attribute", "an object needs attributes")
            return None
        attributes, levels = [], []
        for index, item in enumerate(items):
            attribute = self._attribute(item, f"{where}.Attribute[{index}]",
                                        inherited=self.event_level, in_object=True)
            if attribute is not None:
                levels.append(attribute.pop("_level"))
                attributes.append(attribute)
        if not attributes:
            return None
        self.levels[uuid_] = tlp.most_restrictive(levels)
        self.places[uuid_] = where
        clean: dict[str, Any] = {"uuid": uuid_, "name": name, "Attribute": attributes,
                                 "timestamp": self._timestamp(raw, where)}
        for key in ("meta-category", "description", "template_uuid", "template_version", "comment"):
            if isinstance(raw.get(key), str):
                clean[key] = raw[key]
        references = []
        for index, item in enumerate(self._list(raw, "ObjectReference", where)):
            place = f"{where}.ObjectReference[{index}]"
            if not isinstance(item, dict) or not isinstance(item.get("relationship_type"), str):
                self._problem(place, "needs a relationship_type and a referenced_uuid")
                continue
            referenced = item.get("referenced_uuid")
            if not (isinstance(referenced, str) and _is_uuid(referenced)):
                self._problem(f"{place}.referenced_uuid", "must be a UUID")
                continue
            references.append({"uuid": self._uuid(item, place), "referenced_uuid": referenced,
                               "object_uuid": uuid_, "relationship_type": item["relationship_type"]})
        clean["ObjectReference"] = references
        return clean

    def _report(self, raw: Any, where: str) -> dict[str, Any] | None:
        if not isinstance(raw, dict) or not isinstance(raw.get("content"), str):
            self._problem(where, "an event report needs its content, as text")
            return None
        name = raw.get("name")
        return {"uuid": self._uuid(raw, where), "content": raw["content"],
                "name": name if isinstance(name, str) and name.strip() else "Event report",
                "timestamp": self._timestamp(raw, where)}

    def _tags(self, raw: Any, where: str) -> tuple[list[Tlp | None], list[dict[str, str]]]:
        """The TLP levels the tags name (None for an unknown ``tlp:`` tag) and the others,
        kept as labels unless local to the MISP instance."""
        if raw is None:
            return [], []
        if not isinstance(raw, list):
            self._problem(where, "must be a list of tags")
            return [], []
        levels: list[Tlp | None] = []
        kept = []
        for index, tag in enumerate(raw):
            name = tag.get("name") if isinstance(tag, dict) else None
            if not isinstance(name, str) or not name.strip():
                self._problem(f"{where}[{index}].name", "a tag needs a name, as text")
            elif _is_tlp_tag(name):
                levels.append(level_of_tag(name))
            elif tag.get("local") not in (True, 1, "1"):
                kept.append({"name": name})
        return levels, kept

    def _resolve(self, levels: list[Tlp | None], fallback: Tlp) -> Tlp:
        if not levels:
            return fallback
        return tlp.most_restrictive(self.default if level is None else level for level in levels)

    def _uuid(self, raw: dict[str, Any], where: str) -> str:
        value = raw.get("uuid")
        if value is None:
            return str(uuid.uuid4())
        if not isinstance(value, str) or not _is_uuid(value):
            self._problem(f"{where}.uuid", "must be a UUID")
            return str(uuid.uuid4())
        value = value.lower()
        if value in self.places or value == self.event_uuid:
            self._problem(f"{where}.uuid", f"the same uuid is used at {self.places.get(value, '$')}")
        return value

    def _timestamp(self, raw: dict[str, Any], where: str) -> str:
        value = raw.get("timestamp")
        if value is None or value == "":
            return str(int(self.now.timestamp()))
        if not _seconds(value):
            self._problem(f"{where}.timestamp", "must be seconds since 1970")
            return "0"
        return str(value)

    def _date(self, value: Any, where: str) -> str:
        if value is None or value == "":
            return self.now.date().isoformat()
        try:
            return datetime.strptime(value, "%Y-%m-%d").date().isoformat()
        except (TypeError, ValueError):
            self._problem(where, "must be a date, YYYY-MM-DD")
            return self.now.date().isoformat()

    def _flag(self, value: Any, where: str) -> bool:
        if value in ("", False, 0, "0", "false"):
            return False
        if value in (True, 1, "1", "true"):
            return True
        self._problem(where, "must be true or false")
        return False

    def _list(self, raw: dict[str, Any], key: str, where: str) -> list[Any]:
        value = raw.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self._problem(f"{where}.{key}", "must be a list")
            return []
        return value

    def _not_imported(self, raw: dict[str, Any], where: str) -> None:
        self.dropped.extend(f"{where}.{key}: {why}" for key, why in _NOT_IMPORTED.items()
                            if raw.get(key) not in (None, "", [], {}))

    def _problem(self, where: str, message: str) -> None:
        self.problems.append(Problem(where, message))

    # -- the STIX side: misp-stix's bundle, cleaned and marked, then validated

    def convert(self, event: dict[str, Any], root: str) -> MispImport:
        parser = MISPtoSTIX21Parser()
        try:
            parser.parse_json_content({"Event": event})
            raw = json.loads(parser.bundle.serialize())
        except Exception as error:  # misp-stix on untrusted input: any failure is the input's
            raise SubmissionError([Problem(root, f"cannot be converted: {str(error)[:200]}")]) from None
        said = _messages(parser.diagnostics())
        objects = self._clean(raw["objects"], said)
        self._check_converted(objects, said)
        for _ in range(3):
            if not any(o["type"] not in (*_CONTAINERS, "note", "relationship") for o in objects.values()):
                raise SubmissionError([Problem(root, "no attribute or object that STIX 2.1 can carry")])
            self._mark(objects)
            used = sorted({tlp.from_marking_id(o["object_marking_refs"][0]) or Tlp.RED
                           for o in objects.values()}, key=lambda level: level.rank)
            bundle = {"type": "bundle", "id": f"bundle--{self.event_uuid}",
                      "objects": [tlp.marking_definition(level) for level in used]
                      + list(objects.values())}
            try:
                parsed = stix.validate_bundle(bundle)
            except SubmissionError as error:
                self._locate(error.problems, objects)
                continue
            return MispImport(bundle=parsed.bundle, marking=parsed.marking, dropped=self.dropped)
        raise SubmissionError([Problem(root, "cannot be made a valid STIX 2.1 bundle")])

    def _clean(self, raw: list[dict[str, Any]], said: list[str]) -> dict[str, dict[str, Any]]:
        """Custom objects and properties out, creators out, markings out (set again later).
        misp-stix also falls back on a custom object when its conversion fails: that is a
        problem, not a loss."""
        objects: dict[str, dict[str, Any]] = {}
        gone: set[str] = set()
        failed = []
        for obj in raw:
            oid, kind = obj["id"], obj["type"]
            if kind in ("marking-definition", "identity"):
                gone.add(oid)
                continue
            if kind.startswith("x-"):
                gone.add(oid)
                error = next((m for m in said if _uuid_part(oid) in m and "Error" in m), None)
                if error is not None:
                    failed.append(Problem(self._place(oid), _last_line(error)))
                else:
                    self.dropped.append(f"{self._place(oid)}: {_described(obj)} has no STIX 2.1 equivalent")
                continue
            custom = sorted(set(_custom_keys(obj)))
            if custom:
                self.dropped.append(f"{self._place(oid)}: custom properties {', '.join(custom)}")
            objects[oid] = _without_custom(
                {k: v for k, v in obj.items() if k not in ("created_by_ref", "object_marking_refs")})
        if failed:
            raise SubmissionError(failed)
        _prune(objects, gone)
        return objects

    def _check_converted(self, objects: dict[str, dict[str, Any]], said: list[str]) -> None:
        """A record misp-stix skipped is a problem too."""
        made = {_uuid_part(oid) for oid in objects}
        left_out = {entry.partition(":")[0] for entry in self.dropped}
        problems = []
        for uuid_, where in self.places.items():
            if uuid_ in made or where in left_out or any(where.startswith(p + ".") for p in left_out):
                continue
            if ".Attribute[" in where and ".Object[" in where:
                continue  # an object's attributes become the object's
            message = next((m for m in said if uuid_ in m), "")
            problems.append(Problem(where, _last_line(message) or "cannot be converted to STIX 2.1"))
        if problems:
            raise SubmissionError(problems)

    def _mark(self, objects: dict[str, dict[str, Any]]) -> None:
        """Each object's TLP 2.0 marking: its record's level; what misp-stix made alongside
        (observables, relationships) takes the most restrictive of what it links; the event's
        own container its level. Notes and other objects are at least at the event's level."""
        direct: dict[str, Tlp] = {}
        for oid, obj in objects.items():
            key = _uuid_part(oid)
            if obj["type"] in _CONTAINERS and key == self.event_uuid:
                direct[oid] = self.event_level
            elif key in self.levels:
                direct[oid] = self.levels[key]
        linked: dict[str, set[str]] = defaultdict(set)
        for oid, obj in objects.items():
            if oid in direct and obj["type"] in _CONTAINERS:
                continue  # the event names everything; it is no link
            for ref in _refs(obj):
                if ref in objects and ref != oid:
                    linked[oid].add(ref)
                    linked[ref].add(oid)
        for oid, obj in objects.items():
            level = direct.get(oid)
            if level is None:
                near = linked[oid] | {far for n in linked[oid] if n not in direct for far in linked[n]}
                found = [direct[n] for n in near if n in direct]
                if "created" in obj and obj["type"] not in ("relationship", "sighting"):
                    found.append(self.event_level)
                level = tlp.most_restrictive(found or [self.event_level])
            obj["object_marking_refs"] = [level.marking_id]

    def _locate(self, problems: list[Problem], objects: dict[str, dict[str, Any]]) -> None:
        """Problems of a record's objects are raised at the record's place; an object misp-stix
        made of nothing the sender wrote (a relationship, a note) is dropped instead."""
        located, gone = [], set()
        for problem in problems:
            oid = problem.where
            place = self.places.get(_uuid_part(oid))
            if place is None and oid in objects and "created" not in objects[oid]:
                place = next((self.places[_uuid_part(n)] for n in _linked_to(oid, objects)
                              if _uuid_part(n) in self.places), None)
            if place is not None:
                located.append(Problem(place, problem.message))
            elif oid in objects:
                gone.add(oid)
                self.dropped.append(f"{oid}: {problem.message}")
            else:
                located.append(problem)
        if located:
            raise SubmissionError(located)
        for oid in gone:
            objects.pop(oid, None)
        _prune(objects, gone)

    def _place(self, oid: str) -> str:
        return self.places.get(_uuid_part(oid), oid)


# --- helpers on STIX objects as JSON --------------------------------------------------


def _refs(obj: dict[str, Any]) -> Iterator[str]:
    for key, value in obj.items():
        if key == "object_marking_refs":
            continue
        if key.endswith("_ref") and isinstance(value, str):
            yield value
        elif key.endswith("_refs") and isinstance(value, list):
            yield from (v for v in value if isinstance(v, str))


def _linked_to(oid: str, objects: dict[str, dict[str, Any]]) -> Iterable[str]:
    yield from _refs(objects[oid])
    yield from (other for other, obj in objects.items()
                if obj["type"] not in _CONTAINERS and oid in set(_refs(obj)))


def _prune(objects: dict[str, dict[str, Any]], gone: set[str]) -> None:
    """Take ``gone`` out of every reference list; an object left pointing at nothing, or
    needing what went, goes too (and so on)."""
    changed = bool(gone)
    while changed:
        changed = False
        for oid, obj in list(objects.items()):
            broken = False
            for key, value in list(obj.items()):
                if key.endswith("_refs") and isinstance(value, list) and gone.intersection(value):
                    obj[key] = [v for v in value if v not in gone]
                    broken = broken or not obj[key]
                elif key.endswith("_ref") and value in gone:
                    broken = True
            if broken:
                del objects[oid]
                gone.add(oid)
                changed = True


def _custom_keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key.startswith(("x_", "x-")):
                yield key
            else:
                yield from _custom_keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _custom_keys(item)


def _without_custom(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_custom(v) for k, v in value.items() if not k.startswith(("x_", "x-"))}
    if isinstance(value, list):
        return [_without_custom(v) for v in value]
    return value


def _described(obj: dict[str, Any]) -> str:
    if obj["type"] == "x-misp-attribute":
        return f"MISP attribute type {str(obj.get('x_misp_type'))[:60]!r}"
    if obj["type"] == "x-misp-object":
        return f"MISP object {str(obj.get('x_misp_name'))[:60]!r}"
    return f"custom object type {obj['type'][:60]!r}"


def _seconds(value: Any) -> bool:
    """Seconds since 1970 as MISP writes them (digits, ASCII: ``int()`` refuses "²"), up
    to the last second a datetime holds."""
    text = str(value)
    return (not isinstance(value, bool) and text.isascii() and text.isdigit()
            and len(text) <= 12 and int(text) <= LAST_TIMESTAMP)


def _is_uuid(value: str) -> bool:
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return False
    return str(parsed) == value.lower() and parsed.variant == uuid.RFC_4122


def _is_datetime(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _messages(diagnostics: dict[str, Any]) -> list[str]:
    return [str(message) for bucket in ("errors", "warnings")
            for messages in diagnostics.get(bucket, {}).values() for message in messages]


def _last_line(message: str) -> str:
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    return re.sub(r"\s+", " ", lines[-1])[:300] if lines else ""
