"""OSV records (https://ossf.github.io/osv-schema/), as JSON or as the YAML the PyPA
advisory database keeps; a file holds one record or a list of them."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

import yaml

from renkei.vulns.feeds.detect import (
    BOM,
    MAX_ID,
    BadField,
    ident,
    items,
    load_json,
    obj,
    opt_obj,
    opt_text,
    problem,
    short,
    text,
    when,
)
from renkei.vulns.model import (
    Advisory,
    AffectedPackage,
    AffectedRange,
    EventKind,
    FeedProblem,
    RangeEvent,
    Record,
    Severity,
    Source,
)

try:
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]


class _Loader(_SafeLoader):
    """Times stay strings, as in OSV's JSON, so ``raw`` stays JSON and every time is
    read by the one parser."""


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_str)  # type: ignore[type-var]

_JSON_ID = re.compile(rb'"id"\s*:\s*"')
_JSON_OSV = re.compile(rb'"(?:affected|modified)"\s*:')
_JSON_OTHER = re.compile(
    rb'"(?:cveMetadata|dataType|csaf_version|catalogVersion|vulnerabilities|CVE_Items)"\s*:'
)
_YAML_ID = re.compile(rb"(?m)^(?:- )?id:[ \t]*\S")
_YAML_OSV = re.compile(rb"(?m)^(?:  )?(?:affected|modified):")
_EVENTS = {kind.value: kind for kind in EventKind}
MAX_URL = 4096
MAX_NAME = 1000


def looks_like(head: bytes, name: str) -> bool:
    if name.lower().endswith((".yaml", ".yml")):
        return bool(_YAML_ID.search(head) and _YAML_OSV.search(head))
    start = head.lstrip()[:1]
    return (
        start in (b"{", b"[")
        and bool(_JSON_ID.search(head) and _JSON_OSV.search(head))
        and not _JSON_OTHER.search(head)
    )


def read(data: bytes, location: str) -> Iterator[Record]:
    body = data.removeprefix(BOM)
    if body.lstrip()[:1] in (b"{", b"["):
        doc, bad = load_json(body, location)
    else:
        doc, bad = _load_yaml(body, location)
    if bad is not None:
        yield bad
        return
    if type(doc) is dict:
        yield _one(doc, location)
    elif type(doc) is list:
        for index, rec in enumerate(doc):
            yield _one(rec, f"{location}#{index}")
    else:
        yield FeedProblem(location, None, "expected an OSV record or a list of them")


def _one(rec: object, location: str) -> Advisory | FeedProblem:
    try:
        return advisory(rec)
    except (BadField, TypeError, ValueError, KeyError, AttributeError) as exc:
        rid = rec.get("id") if type(rec) is dict else None
        return problem(location, rid, exc)


def _load_yaml(body: bytes, location: str) -> tuple[Any, FeedProblem | None]:
    try:
        source = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, FeedProblem(location, None, f"not valid UTF-8: {exc}")
    try:
        doc = yaml.load(source, Loader=_Loader)  # noqa: S506 - a safe loader
    except (yaml.YAMLError, RecursionError) as exc:
        return None, FeedProblem(location, None, f"not valid YAML: {short(str(exc), 300)}")
    why = _not_json(doc, budget=len(body) + 16)
    return (None, FeedProblem(location, None, why)) if why else (doc, None)


def _not_json(doc: object, budget: int) -> str | None:
    """Why a YAML document cannot stand for JSON, or None. Aliases can make a small file a
    huge tree (billion laughs): more nodes than the file has bytes means they do."""
    stack = [doc]
    seen = 0
    while stack:
        node = stack.pop()
        seen += 1
        if seen > budget:
            return "YAML aliases expand beyond the file's own size"
        kind = type(node)
        if kind is dict:
            for key, value in node.items():  # type: ignore[attr-defined]
                if type(key) is not str:
                    return f"YAML key {short(key)} is not a string"
                stack.append(value)
        elif kind is list:
            stack.extend(node)  # type: ignore[arg-type]
        elif kind not in (str, int, float, bool, type(None)):
            return f"YAML value of type {kind.__name__} has no JSON form"
    return None


def advisory(rec: object) -> Advisory:
    """One OSV record; ``BadField`` names the first field that is not as the schema says."""
    r = obj(rec, "record")
    rid = ident(r.get("id"), "id")
    severities = _severities(r.get("severity"), "severity")
    packages = []
    for entry in items(r.get("affected"), "affected"):
        a = obj(entry, "affected[]")
        packages.append(_package(a))
        severities.extend(_severities(a.get("severity"), "affected[].severity"))
    aliases = [ident(x, "aliases[]") for x in items(r.get("aliases"), "aliases")]
    aliases += [ident(x, "upstream[]") for x in items(r.get("upstream"), "upstream")]
    specific = opt_obj(r.get("database_specific"), "database_specific")
    cwes = [ident(x, "database_specific.cwe_ids[]") for x in items(specific.get("cwe_ids"), "database_specific.cwe_ids")]
    refs = [
        text(obj(x, "references[]").get("url"), "references[].url", MAX_URL)
        for x in items(r.get("references"), "references")
    ]
    return Advisory(
        source=Source.OSV,
        id=rid,
        modified=when(r.get("modified"), "modified"),
        published=when(r.get("published"), "published"),
        withdrawn=when(r.get("withdrawn"), "withdrawn"),
        aliases=tuple(dict.fromkeys(a for a in aliases if a != rid)),
        summary=opt_text(r.get("summary"), "summary") or "",
        details=opt_text(r.get("details"), "details") or "",
        severities=tuple(dict.fromkeys(severities)),
        packages=tuple(packages),
        cwes=tuple(dict.fromkeys(cwes)),
        references=tuple(dict.fromkeys(refs)),
        raw=r,
    )


def _severities(value: object, where: str) -> list[Severity]:
    out = []
    for entry in items(value, where):
        s = obj(entry, f"{where}[]")
        vector = text(s.get("score"), f"{where}[].score", MAX_NAME)
        out.append(Severity(
            scheme=ident(s.get("type"), f"{where}[].type", 64),
            vector=vector,
            score=_number(vector),
        ))
    return out


def _number(value: str) -> float | None:
    if not value[:1].isdigit() or len(value) > 16:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _package(a: dict[str, Any]) -> AffectedPackage:
    pkg = opt_obj(a.get("package"), "affected[].package")
    ranges = []
    for entry in items(a.get("ranges"), "affected[].ranges"):
        r = obj(entry, "affected[].ranges[]")
        events = []
        for raw_event in items(r.get("events"), "affected[].ranges[].events"):
            for key, version in obj(raw_event, "affected[].ranges[].events[]").items():
                kind = _EVENTS.get(key)
                if kind is None:
                    raise BadField(f"affected[].ranges[].events[]: unknown event {short(key)}")
                events.append(RangeEvent(kind, ident(version, f"affected[].ranges[].events[].{key}")))
        ranges.append(AffectedRange(
            type=ident(r.get("type"), "affected[].ranges[].type", 64),
            events=tuple(events),
            repo=opt_text(r.get("repo"), "affected[].ranges[].repo", MAX_URL),
        ))
    versions = [ident(v, "affected[].versions[]") for v in items(a.get("versions"), "affected[].versions")]
    return AffectedPackage(
        ecosystem=text(pkg.get("ecosystem", ""), "affected[].package.ecosystem", MAX_ID),
        name=text(pkg.get("name", ""), "affected[].package.name", MAX_NAME),
        purl=opt_text(pkg.get("purl"), "affected[].package.purl", MAX_NAME),
        ranges=tuple(ranges),
        versions=tuple(versions),
    )
