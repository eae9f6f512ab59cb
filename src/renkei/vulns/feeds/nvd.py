"""NVD API 2.0 responses (and files of the same shape): ``vulnerabilities[].cve``.

This is the hot reader: 250,000 CVEs must import, database included, within a minute on
a slow machine. So the loop checks types inline rather than through helpers, and builds
the frozen model values without their ``__init__`` (see ``_fields``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from renkei.vulns.feeds.detect import (
    BOM,
    MAX_ID,
    MAX_LIST,
    MAX_TEXT,
    BadField,
    load_json,
    problem,
    short,
)
from renkei.vulns.model import (
    Advisory,
    CpeConfiguration,
    CpeMatch,
    CpeNode,
    FeedProblem,
    Record,
    Severity,
    Source,
)

_MARK = re.compile(rb'"format"\s*:\s*"NVD_CVE"')
_SHAPE = re.compile(rb'"vulnerabilities"\s*:\s*\[\s*\{\s*"cve"\s*:\s*\{')
_METRICS = tuple(
    (key, scheme, f"metrics.{key}")
    for key, scheme in (
        ("cvssMetricV40", "CVSS_V4"),
        ("cvssMetricV31", "CVSS_V3"),
        ("cvssMetricV30", "CVSS_V3"),
        ("cvssMetricV2", "CVSS_V2"),
    )
)
_NO_CWE = frozenset(("NVD-CWE-Other", "NVD-CWE-noinfo"))
_BOUNDS = (
    ("versionStartIncluding", "version_start_including"),
    ("versionStartExcluding", "version_start_excluding"),
    ("versionEndIncluding", "version_end_including"),
    ("versionEndExcluding", "version_end_excluding"),
)
MAX_URL = 4096
_fromiso = datetime.fromisoformat


def looks_like(head: bytes, name: str) -> bool:
    return bool(_MARK.search(head) or _SHAPE.search(head))


def read(data: bytes, location: str) -> Iterator[Record]:
    # A bulk import pauses the cyclic GC for its whole run (``service.import_paths``): a
    # parsed feed is millions of containers without cycles, and each collection walks them.
    yield from _read(data, location)


def _read(data: bytes, location: str) -> Iterator[Record]:
    doc, bad = load_json(data.removeprefix(BOM), location)
    if bad is not None:
        yield bad
        return
    vulns = doc.get("vulnerabilities") if type(doc) is dict else None
    if type(vulns) is not list:
        yield FeedProblem(location, None, "expected an NVD API 2.0 object with a vulnerabilities list")
        return
    for index, item in enumerate(vulns):
        cve = item.get("cve") if type(item) is dict else None
        try:
            yield advisory(cve)
        except (BadField, TypeError, ValueError, KeyError, AttributeError) as exc:
            yield problem(f"{location}#{index}", cve.get("id") if type(cve) is dict else None, exc)


def _fields(cls: type[Any], names: str) -> None:
    if tuple(cls.__dataclass_fields__) != tuple(names.split()):
        raise RuntimeError(f"model.{cls.__name__} changed: update feeds.nvd's fast constructors")


# The model's frozen dataclasses set each field through ``object.__setattr__`` in their
# ``__init__`` (~1 µs a value, and a CVE can carry hundreds of CPE matches): here the
# instance's ``__dict__`` is set at once. The check keeps this in step with model.py.
_fields(CpeMatch, "criteria vulnerable version_start_including version_start_excluding version_end_including version_end_excluding")
_fields(CpeNode, "operator matches negate")
_fields(CpeConfiguration, "nodes operator negate")
_fields(Severity, "scheme vector score publisher")
_new = object.__new__
_set = object.__setattr__
_SEVERITIES: dict[tuple[str, str, float | None, str], Severity] = {}  # few distinct: shared


def _time(value: object, where: str) -> datetime | None:
    if value is None:
        return None
    if type(value) is not str or len(value) > 64:
        raise BadField(f"cve.{where}: expected an ISO 8601 time, got {short(value)}")
    try:
        stamp = _fromiso(value)
    except ValueError:
        raise BadField(f"cve.{where}: not an ISO 8601 time: {short(value)}") from None
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def _list(value: object, where: str) -> list[Any]:
    if type(value) is list:
        return value if len(value) <= MAX_LIST else value[:MAX_LIST]
    if value is None:
        return []
    raise BadField(f"cve.{where}: expected a list, got {type(value).__name__}")


def _str(value: object, where: str, limit: int = MAX_TEXT) -> str:
    if type(value) is str:
        return value if len(value) <= limit else value[:limit]
    raise BadField(f"cve.{where}: expected a string, got {type(value).__name__}")


def advisory(cve: object) -> Advisory:
    """One ``cve`` object; ``BadField`` names the first field not as the API documents it."""
    if type(cve) is not dict:
        raise BadField(f"cve: expected an object, got {type(cve).__name__}")
    rid = cve.get("id")
    if type(rid) is not str or not rid or len(rid) > MAX_ID:
        raise BadField(f"cve.id: expected an id, got {short(rid)}")
    modified = _time(cve.get("lastModified"), "lastModified")
    published = _time(cve.get("published"), "published")

    details, language = "", "en"
    for d in _list(cve.get("descriptions"), "descriptions"):
        if d["lang"] == "en":
            details, language = _str(d["value"], "descriptions[].value"), "en"
            break
        if not details:
            details = _str(d["value"], "descriptions[].value")
            language = _str(d["lang"], "descriptions[].lang", 16)[:2].lower()

    severities: tuple[Severity, ...] = ()
    metrics = cve.get("metrics")
    if metrics:
        if type(metrics) is not dict:
            raise BadField("cve.metrics: expected an object")
        primary: list[Severity] = []
        secondary: list[Severity] = []
        for key, scheme, where in _METRICS:
            for m in _list(metrics.get(key), where):
                data = m["cvssData"]
                vector = data["vectorString"]
                base = data.get("baseScore")
                source = m.get("source", "")
                if type(vector) is not str or type(source) is not str or len(vector) > 1000:
                    raise BadField(f"cve.metrics.{key}[]: vectorString and source must be strings")
                if base is not None and (type(base) not in (int, float) or not 0 <= base <= 10):
                    raise BadField(f"cve.metrics.{key}[].cvssData.baseScore: not a score: {short(base)}")
                seen = (scheme, vector, None if base is None else float(base), source[:MAX_ID])
                sev = _SEVERITIES.get(seen)
                if sev is None:
                    if len(_SEVERITIES) > 100_000:
                        _SEVERITIES.clear()
                    sev = _SEVERITIES[seen] = Severity(*seen)
                (primary if m.get("type") == "Primary" else secondary).append(sev)
        severities = tuple(primary + secondary)

    cwes: list[str] = []
    for w in _list(cve.get("weaknesses"), "weaknesses"):
        for d in _list(w.get("description"), "weaknesses[].description"):
            value = d["value"]
            if type(value) is not str or len(value) > 64:
                raise BadField(f"cve.weaknesses[].description[].value: not a CWE id: {short(value)}")
            if value not in _NO_CWE and value not in cwes:
                cwes.append(value)

    refs = []
    for r in _list(cve.get("references"), "references"):
        url = r["url"]
        if type(url) is not str:
            raise BadField("cve.references[].url: expected a string")
        refs.append(url if len(url) <= MAX_URL else url[:MAX_URL])

    configurations: tuple[CpeConfiguration, ...] = ()
    configs = cve.get("configurations")
    if configs:
        configurations = tuple(_configuration(c) for c in _list(configs, "configurations"))

    title = cve.get("cisaVulnerabilityName") or ""
    return Advisory(
        source=Source.NVD,
        id=rid,
        modified=modified,
        published=published,
        withdrawn=modified if cve.get("vulnStatus") == "Rejected" else None,
        title=_str(title, "cisaVulnerabilityName", 1000),
        details=details,
        severities=severities,
        configurations=configurations,
        cwes=tuple(cwes),
        references=tuple(dict.fromkeys(refs)),
        language=language,
        raw=cve,
    )


def _configuration(c: dict[str, Any]) -> CpeConfiguration:
    nodes = []
    for n in _list(c["nodes"], "configurations[].nodes"):
        matches = []
        for m in _list(n["cpeMatch"], "configurations[].nodes[].cpeMatch"):
            criteria = m["criteria"]
            vulnerable = m.get("vulnerable", True)
            if type(criteria) is not str or len(criteria) > 1000 or type(vulnerable) is not bool:
                raise BadField(f"cve.configurations[].nodes[].cpeMatch[]: bad criteria or vulnerable: {short(criteria)}")
            fields = {"criteria": criteria, "vulnerable": vulnerable, "version_start_including": None,
                      "version_start_excluding": None, "version_end_including": None, "version_end_excluding": None}
            if len(m) > 3:  # criteria, vulnerable, matchCriteriaId: no bounds
                for key, name in _BOUNDS:
                    bound = m.get(key)
                    if bound is not None:
                        if type(bound) is not str or len(bound) > MAX_ID:
                            raise BadField(f"cve.configurations[].nodes[].cpeMatch[].{key}: not a version: {short(bound)}")
                        fields[name] = bound
            match = _new(CpeMatch)
            _set(match, "__dict__", fields)
            matches.append(match)
        operator = n.get("operator", "OR")
        negate = n.get("negate", False)
        if operator not in ("OR", "AND") or type(negate) is not bool:
            raise BadField("cve.configurations[].nodes[]: operator must be OR or AND, negate a boolean")
        node = _new(CpeNode)
        _set(node, "__dict__", {"operator": operator, "matches": tuple(matches), "negate": negate})
        nodes.append(node)
    operator = c.get("operator") or "OR"
    negate = c.get("negate", False)
    if operator not in ("OR", "AND") or type(negate) is not bool:
        raise BadField("cve.configurations[]: operator must be OR or AND, negate a boolean")
    config = _new(CpeConfiguration)
    _set(config, "__dict__", {"nodes": tuple(nodes), "operator": operator, "negate": negate})
    return config
