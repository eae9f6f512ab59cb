"""Sanitising a submitted bundle before the hub shares it, and showing what changed.

What it does, kept simple but real:

- the submitter's identity is replaced by the hub's: every domain and relationship object's
  ``created_by_ref`` names the hub's identity (which joins the bundle), and the identity
  objects the submitter named as creator are dropped;
- in free text (every string but ids, references, timestamps, patterns and hashes),
  e-mail addresses, phone numbers, the names of the submitter's staff it is told about,
  the submitter's own host names (under the domains it is told about) and addresses (in
  the networks it is told about) are replaced by a placeholder;
- an indicator whose pattern names one of the submitter's own hosts or addresses is
  dropped (and taken out of every ``object_refs``): it describes the victim, not the threat.

The indicators' own values (a malicious sender's address, say) are left alone: they are
what is being shared. The result comes with a list of changes and a unified diff.
"""

from __future__ import annotations

import copy
import difflib
import ipaddress
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from renkei.core.i18n import gettext_noop

EMAIL = re.compile(r"[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,63}")
PHONE = re.compile(r"(?<![\w.+-])(?:\+\d{1,3}[ -]?)?(?:\(\d{1,4}\)[ -]?|\d{1,4}[ -])\d{1,4}[ -]\d{3,4}(?![\w-]|\.\w)")
IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
IPV6 = re.compile(r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Fa-f:])")
MIN_PHONE_DIGITS = 9

KEEP_KEYS = frozenset({
    "id", "type", "spec_version", "created", "modified", "valid_from", "valid_until",
    "published", "first_seen", "last_seen", "pattern", "pattern_type", "pattern_version",
    "hashes", "lang", "confidence", "indicator_types", "report_types", "labels",
})

EMAIL_MARK = "[e-mail address]"
PHONE_MARK = "[phone number]"
NAME_MARK = "[name]"
HOST_MARK = "[internal host]"
ADDRESS_MARK = "[internal address]"

# What each change says after "where: ", kept in English in the submission's event; msgids,
# so that pages show them in the reader's language (``sharing.pages``).
IDENTITY_REMOVED = gettext_noop("the submitter's identity removed")
OWN_PATTERN_REMOVED = gettext_noop("removed, its pattern names the submitter's own host or "
                                   "address")
CREATOR_REPLACED = gettext_noop("created_by_ref replaced by the hub's identity")
CREATOR_SET = gettext_noop("created_by_ref set to the hub's identity")
REFS_PRUNED = gettext_noop("object_refs no longer name removed objects")
HUB_ADDED = gettext_noop("the hub's identity added")
CHANGES = frozenset({IDENTITY_REMOVED, OWN_PATTERN_REMOVED, CREATOR_REPLACED, CREATOR_SET,
                     REFS_PRUNED, HUB_ADDED})
REPLACED = gettext_noop("{what} replaced")  # personal data replaced in a text
PERSONAL_DATA = frozenset({gettext_noop("e-mail address"), gettext_noop("phone number"),
                           gettext_noop("staff name"), gettext_noop("internal host name"),
                           gettext_noop("internal address")})


@dataclass(frozen=True)
class OwnData:
    """What the hub knows of the submitter: its domains, networks and staff names."""

    domains: tuple[str, ...] = ()
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    names: tuple[str, ...] = ()

    @classmethod
    def of(cls, domains: Iterable[str] = (), networks: Iterable[str] = (),
           names: Iterable[str] = ()) -> OwnData:
        return cls(
            domains=tuple(d.strip().lower().strip(".") for d in domains if d.strip()),
            networks=tuple(ipaddress.ip_network(n.strip(), strict=False) for n in networks),
            names=tuple(n.strip() for n in names if n.strip()),
        )

    def host_pattern(self) -> re.Pattern[str] | None:
        if not self.domains:
            return None
        alternatives = "|".join(re.escape(d) for d in sorted(self.domains, key=len, reverse=True))
        return re.compile(rf"(?<![\w.-])(?:[a-z0-9-]+\.)*(?:{alternatives})(?![\w-])", re.I)

    def owns_address(self, text: str) -> bool:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            return False
        return any(address in network for network in self.networks)


@dataclass
class Sanitised:
    bundle: dict[str, Any]
    changes: list[str] = field(default_factory=list)
    diff: str = ""


def sanitise(bundle: dict[str, Any], *, hub_identity: dict[str, Any], own: OwnData) -> Sanitised:
    """A sanitised copy of ``bundle`` (which is left untouched), its changes and diff."""
    result = Sanitised(bundle=copy.deepcopy(bundle))
    objects: list[dict[str, Any]] = result.bundle["objects"]
    hub_id = hub_identity["id"]
    creators = {o.get("created_by_ref") for o in objects} - {None, hub_id}
    hosts = own.host_pattern()
    dropped: set[str] = set()
    kept: list[dict[str, Any]] = []
    for obj in objects:
        oid = str(obj.get("id"))
        if obj.get("type") == "identity" and oid in creators:
            dropped.add(oid)
            result.changes.append(f"{oid}: {IDENTITY_REMOVED}")
            continue
        pattern = obj.get("pattern")
        if isinstance(pattern, str) and _names_own(pattern, own, hosts):
            dropped.add(oid)
            result.changes.append(f"{oid}: {OWN_PATTERN_REMOVED}")
            continue
        if _has_creator(obj) and oid != hub_id and obj.get("created_by_ref") != hub_id:
            change = CREATOR_REPLACED if "created_by_ref" in obj else CREATOR_SET
            obj["created_by_ref"] = hub_id
            result.changes.append(f"{oid}: {change}")
        _clean(obj, oid, own, hosts, result.changes)
        kept.append(obj)
    for obj in kept:
        refs = obj.get("object_refs")
        if isinstance(refs, list) and dropped.intersection(refs):
            obj["object_refs"] = [r for r in refs if r not in dropped]
            result.changes.append(f"{obj['id']}: {REFS_PRUNED}")
    named = any(o.get("created_by_ref") == hub_id for o in kept)
    if named and not any(o.get("id") == hub_id for o in kept):
        kept.insert(0, hub_identity)
        result.changes.append(f"{hub_id}: {HUB_ADDED}")
    result.bundle["objects"] = kept
    result.diff = "".join(difflib.unified_diff(
        _lines(bundle), _lines(result.bundle), "submitted", "sanitised"))
    return result


def _has_creator(obj: dict[str, Any]) -> bool:
    """A domain or relationship object (it has ``created``), not a marking definition:
    the objects whose creator STIX records."""
    return "created" in obj and obj.get("type") != "marking-definition"


def _lines(bundle: dict[str, Any]) -> list[str]:
    return (json.dumps(bundle, indent=2, sort_keys=True, ensure_ascii=False) + "\n").splitlines(True)


def _names_own(pattern: str, own: OwnData, hosts: re.Pattern[str] | None) -> bool:
    if hosts is not None and hosts.search(pattern):
        return True
    return any(own.owns_address(m.group()) for m in (*IPV4.finditer(pattern), *IPV6.finditer(pattern)))


def _clean(value: Any, where: str, own: OwnData, hosts: re.Pattern[str] | None,
           changes: list[str]) -> Any:
    """Clean the strings of a dict or list in place; return a cleaned string."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in KEEP_KEYS or key.endswith(("_ref", "_refs")):
                continue
            value[key] = _clean(item, f"{where}.{key}", own, hosts, changes)
        return value
    if isinstance(value, list):
        for index, item in enumerate(value):
            value[index] = _clean(item, f"{where}[{index}]", own, hosts, changes)
        return value
    if isinstance(value, str):
        return _clean_text(value, where, own, hosts, changes)
    return value


def _clean_text(text: str, where: str, own: OwnData, hosts: re.Pattern[str] | None,
                changes: list[str]) -> str:
    found: list[str] = []

    def replace(mark: str, what: str) -> Any:
        def sub(match: re.Match[str]) -> str:
            found.append(what)
            return mark
        return sub

    text = EMAIL.sub(replace(EMAIL_MARK, "e-mail address"), text)

    def phone(match: re.Match[str]) -> str:
        if sum(ch.isdigit() for ch in match.group()) < MIN_PHONE_DIGITS:
            return match.group()
        found.append("phone number")
        return PHONE_MARK

    text = PHONE.sub(phone, text)
    for name in own.names:
        text = re.sub(re.escape(name), replace(NAME_MARK, "staff name"), text, flags=re.I)
    if hosts is not None:
        text = hosts.sub(replace(HOST_MARK, "internal host name"), text)

    def address(match: re.Match[str]) -> str:
        if not own.owns_address(match.group()):
            return match.group()
        found.append("internal address")
        return ADDRESS_MARK

    text = IPV6.sub(address, IPV4.sub(address, text))
    changes.extend(f"{where}: {REPLACED.format(what=what)}" for what in dict.fromkeys(found))
    return text
