"""Members' reports as STIX 2.1: parse and validate a bundle, or build one from a simple
JSON report.

A submission is untrusted: its size, object count and nesting depth are bounded before
anything looks inside, every object is checked by ``stix2`` (no custom properties or
objects) and by ``stix2-validator`` (the OASIS schemas and pattern grammar), and every
object must carry a TLP 2.0 marking. All the problems found are reported together, each
with where it is (an object id or a JSON path), in one ``SubmissionError``.
"""

from __future__ import annotations

import ipaddress
import multiprocessing
import os
import re
import uuid
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any
from urllib.parse import urlsplit

import orjson

from renkei.core import tlp
from renkei.core.errors import UserError
from renkei.core.tlp import Tlp
from renkei.sharing import validation

MAX_BYTES = 4 * 1024 * 1024
MAX_OBJECTS = 5_000
MAX_DEPTH = 20
MAX_INDICATORS = 1_000
TITLE_MAX = 300
DESCRIPTION_MAX = 20_000
VALUE_MAX = 2_048
MAX_PROBLEMS = 100

INDICATOR_TYPES = ("ipv4", "ipv6", "domain", "url", "sha256", "md5", "email-sender")
_DOMAIN = re.compile(r"(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]", re.I)
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,63}")
_HEX = {"sha256": re.compile(r"[0-9a-fA-F]{64}"), "md5": re.compile(r"[0-9a-fA-F]{32}")}


@dataclass(frozen=True)
class Problem:
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class SubmissionError(UserError):
    """The submission is not accepted; ``problems`` says each thing wrong and where."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems[:MAX_PROBLEMS]
        super().__init__("the submission is invalid: {problems}",
                         problems="; ".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class Parsed:
    """A valid bundle and the most restrictive TLP level among its objects."""

    bundle: dict[str, Any]
    marking: Tlp


# --- bytes to JSON, bounded -----------------------------------------------------------


def load(payload: bytes | str | dict[str, Any]) -> dict[str, Any]:
    """The payload as a JSON object, within the size and depth bounds."""
    if isinstance(payload, dict):
        data: Any = payload
        try:
            size = len(orjson.dumps(payload))
        except (orjson.JSONEncodeError, TypeError) as error:
            raise SubmissionError([Problem("$", f"not JSON: {error}")]) from None
    else:
        raw = payload.encode() if isinstance(payload, str) else payload
        size = len(raw)
        if size > MAX_BYTES:
            raise SubmissionError([Problem("$", f"larger than {MAX_BYTES} bytes")])
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            raise SubmissionError([Problem("$", f"not JSON: {error}")]) from None
    if size > MAX_BYTES:
        raise SubmissionError([Problem("$", f"larger than {MAX_BYTES} bytes")])
    deepest = _depth_beyond(data, MAX_DEPTH)
    if deepest is not None:
        raise SubmissionError([Problem(deepest, f"nested deeper than {MAX_DEPTH} levels")])
    if not isinstance(data, dict):
        raise SubmissionError([Problem("$", "must be a JSON object")])
    return data


def _depth_beyond(data: Any, limit: int) -> str | None:
    """The JSON path of the first value nested deeper than ``limit``; None when within."""
    stack: list[tuple[Any, str, int]] = [(data, "$", 0)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth >= limit:
                return path
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(item, dict | list):
                    stack.append((item, f"{path}[{key!r}]" if isinstance(key, str)
                                  else f"{path}[{key}]", depth + 1))
    return None


# --- a STIX 2.1 bundle ----------------------------------------------------------------


def parse(payload: bytes | str | dict[str, Any], *, now: datetime) -> Parsed:
    """A valid STIX 2.1 bundle from a bundle or a simple report; SubmissionError otherwise."""
    data = load(payload)
    if data.get("type") == "bundle":
        return validate_bundle(data)
    if "indicators" in data or "title" in data:
        return validate_bundle(report_to_bundle(data, now=now))
    raise SubmissionError([Problem("$.type", "expected a STIX bundle or a simple report")])


def _where(obj: Any, index: int) -> str:
    if isinstance(obj, dict):
        return validation.named(obj, f"$.objects[{index}]")
    return f"$.objects[{index}]"


def validate_bundle(bundle: dict[str, Any]) -> Parsed:
    """The bundle with its most restrictive marking; SubmissionError listing what is wrong.

    The verdicts are those of ``stix2-validator`` and ``stix2.parse``; ``validation`` reaches
    them on fast paths (see there) and stops once ``MAX_PROBLEMS`` are found. A bundle with
    many objects that need the libraries' checks is checked in parts by the worker
    processes when the server started them (``start_workers``): the verdict is the same,
    problems come part by part."""
    objects = bundle.get("objects")
    if not isinstance(objects, list) or not objects:
        raise SubmissionError([Problem("$.objects", "a bundle needs a non-empty list of objects")])
    if len(objects) > MAX_OBJECTS:
        raise SubmissionError([Problem("$.objects", f"more than {MAX_OBJECTS} objects")])
    problems: list[Problem] = []
    for index, obj in enumerate(objects):
        if not isinstance(obj, dict):
            problems.append(Problem(f"$.objects[{index}]", "not a JSON object"))
    if problems:
        raise SubmissionError(problems)
    proven = {id(obj) for obj in objects if validation.proven_indicator(obj)}
    problems = _problems_in_parts(bundle) if _use_workers(len(objects) - len(proven)) else \
        object_problems(bundle, 0, proven)
    seen: set[tuple[str, str]] = set()
    levels: list[Tlp] = []
    for index, obj in enumerate(objects):
        if len(problems) >= MAX_PROBLEMS:
            break
        where = _where(obj, index)
        key = (str(obj.get("id")), str(obj.get("modified", "")))
        if key in seen:
            problems.append(Problem(where, "the same object version appears twice"))
        seen.add(key)
        if "custom_properties" in obj:  # stix2 reads it as leave to carry custom properties
            problems.append(Problem(where, "custom_properties is not accepted"))
        level, problem = _marking_of(obj)
        if problem:
            problems.append(Problem(where, problem))
        elif level is not None:
            levels.append(level)
    if problems:
        raise SubmissionError(problems[:MAX_PROBLEMS])
    return Parsed(bundle=bundle, marking=tlp.most_restrictive(levels or [Tlp.CLEAR]))


def object_problems(bundle: dict[str, Any], offset: int,
                    proven: set[int] | None = None) -> list[Problem]:
    """What stix2-validator and stix2 find in a bundle's objects (``offset``: the index of
    its first object in the whole bundle, for locations by index; ``proven``: the ``id()``
    of its objects ``validation.proven_indicator`` vouches for, when known already)."""
    if proven is None:
        proven = {id(obj) for obj in bundle["objects"] if validation.proven_indicator(obj)}
    problems = [Problem(_shifted(where, offset), message[:300]) for where, message
                in islice(validation.validator_problems(bundle, proven), MAX_PROBLEMS)]
    for index, obj in enumerate(bundle["objects"]):
        if len(problems) >= MAX_PROBLEMS:
            break
        if id(obj) in proven:  # stix2 accepts it
            continue
        refused = validation.stix2_problem(obj)
        if refused is not None:
            problems.append(Problem(_where(obj, index + offset), refused[:300]))
    return problems


_BY_INDEX = re.compile(r"\$\.objects\[(\d+)\]")


def _shifted(where: str, offset: int) -> str:
    if not offset:
        return where
    return _BY_INDEX.sub(lambda m: f"$.objects[{int(m.group(1)) + offset}]", where, count=1)


# --- worker processes for large bundles ------------------------------------------------

# objects that need the libraries' checks (not proven_indicator's: those cost ~30 µs each);
# below this, a round trip to a worker costs more than it saves
PARALLEL_FROM = 200
_workers: ProcessPoolExecutor | None = None
_worker_count = 0


def start_workers(count: int | None = None) -> int:
    """Check large bundles in ``count`` processes (default: one per CPU, this one included);
    the STIX validators are pure Python, so threads would wait on one another."""
    global _workers, _worker_count
    count = (os.cpu_count() or 1) if count is None else count
    if _workers is not None or count < 2:
        return _worker_count
    _workers = ProcessPoolExecutor(max_workers=count - 1,
                                   mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_warm_up)
    _worker_count = count
    _workers.submit(_warm_up)
    return count


def stop_workers() -> None:
    global _workers, _worker_count
    if _workers is not None:
        _workers.shutdown(cancel_futures=True)
    _workers, _worker_count = None, 0


def _warm_up() -> None:
    """Load the validators' schemas and grammars before the first bundle needs them."""
    validation.validator_problems({"type": "bundle", "id": f"bundle--{uuid.uuid4()}",
                                   "objects": []})


def _use_workers(checked: int) -> bool:
    return _workers is not None and checked >= PARALLEL_FROM


def _problems_in_parts(bundle: dict[str, Any]) -> list[Problem]:
    objects = bundle["objects"]
    size = -(-len(objects) // _worker_count)
    parts = [(offset, {**bundle, "objects": objects[offset:offset + size]})
             for offset in range(0, len(objects), size)]
    assert _workers is not None
    try:
        futures = [_workers.submit(object_problems, part, offset) for offset, part in parts[1:]]
        problems = object_problems(parts[0][1], 0)  # this process checks the first part
        for future in futures:
            problems.extend(future.result())
    except BrokenProcessPool:  # a worker died: check here, as without workers
        return object_problems(bundle, 0)
    return list(dict.fromkeys(problems))  # what is wrong with the bundle itself, said once


def _marking_of(obj: dict[str, Any]) -> tuple[Tlp | None, str]:
    """The object's TLP level (None for a marking definition), or a problem."""
    if obj.get("type") == "marking-definition":
        level = tlp.from_marking_id(str(obj.get("id")))
        if level is None:
            return None, "only the TLP 2.0 marking definitions are accepted"
        if obj != tlp.marking_definition(level):
            return None, "differs from the official TLP 2.0 marking definition"
        return None, ""
    refs = obj.get("object_marking_refs") or []
    if not isinstance(refs, list) or not refs:
        return None, "every object needs a TLP 2.0 marking in object_marking_refs"
    levels = [tlp.from_marking_id(str(ref)) for ref in refs]
    if any(level is None for level in levels):
        return None, "object_marking_refs may only name TLP 2.0 marking definitions"
    return tlp.most_restrictive(level for level in levels if level is not None), ""


# --- the simple report ----------------------------------------------------------------


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def indicator_pattern(kind: str, value: str) -> str:
    """The STIX pattern of one indicator; ValueError when ``value`` is not a ``kind``."""
    if kind == "ipv4":
        net4 = ipaddress.IPv4Network(value, strict=True)
        return f"[ipv4-addr:value = {_quote(str(net4.network_address) if net4.prefixlen == 32 else str(net4))}]"
    if kind == "ipv6":
        net6 = ipaddress.IPv6Network(value, strict=True)
        return f"[ipv6-addr:value = {_quote(str(net6.network_address) if net6.prefixlen == 128 else str(net6))}]"
    if kind == "domain":
        if not _DOMAIN.fullmatch(value):
            raise ValueError("not a domain name")
        return f"[domain-name:value = {_quote(value.lower())}]"
    if kind == "url":
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https", "ftp") or not parts.hostname or " " in value:
            raise ValueError("not an http, https or ftp URL")
        return f"[url:value = {_quote(value)}]"
    if kind in _HEX:
        if not _HEX[kind].fullmatch(value):
            raise ValueError(f"not a {kind} hash")
        name = "'SHA-256'" if kind == "sha256" else "MD5"
        return f"[file:hashes.{name} = {_quote(value.lower())}]"
    if kind == "email-sender":
        if not _EMAIL.fullmatch(value):
            raise ValueError("not an e-mail address")
        return f"[email-message:from_ref.value = {_quote(value)}]"
    raise ValueError("unknown indicator type; use one of " + ", ".join(INDICATOR_TYPES))


def timestamp(at: datetime) -> str:
    """A STIX timestamp: UTC, milliseconds, ``Z``."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def _text(report: dict[str, Any], key: str, most: int, problems: list[Problem],
          *, required: bool) -> str:
    value = report.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > most:
        problems.append(Problem(f"$.{key}", f"must be text of {int(required)} to {most} characters"))
        return ""
    return value


def report_to_bundle(report: dict[str, Any], *, now: datetime) -> dict[str, Any]:
    """A bundle (marking definition, indicators and a report naming them) from
    ``{title, description, tlp, indicators: [{type, value}]}``."""
    problems: list[Problem] = []
    unknown = sorted(set(report) - {"title", "description", "tlp", "indicators"})
    problems.extend(Problem(f"$.{key}"[:120], "unknown field") for key in unknown)
    title = _text(report, "title", TITLE_MAX, problems, required=True)
    description = _text(report, "description", DESCRIPTION_MAX, problems, required=False)
    level = Tlp.AMBER
    try:
        level = tlp.parse(str(report.get("tlp", "")))
    except ValueError:
        problems.append(Problem("$.tlp", "must be a TLP 2.0 level: clear, green, amber, amber+strict or red"))
    indicators = report.get("indicators")
    if not isinstance(indicators, list) or not 1 <= len(indicators) <= MAX_INDICATORS:
        problems.append(Problem("$.indicators", f"must be a list of 1 to {MAX_INDICATORS} indicators"))
        indicators = []
    stamp = timestamp(now)
    marking = level.marking_id
    objects: list[dict[str, Any]] = []
    for index, item in enumerate(indicators):
        where = f"$.indicators[{index}]"
        if not isinstance(item, dict) or set(item) != {"type", "value"}:
            problems.append(Problem(where, "must be {\"type\": ..., \"value\": ...}"))
            continue
        kind, value = item["type"], item["value"]
        if not isinstance(kind, str) or not isinstance(value, str) or len(value) > VALUE_MAX:
            problems.append(Problem(where, "type and value must be text"))
            continue
        try:
            pattern = indicator_pattern(kind, value.strip())
        except ValueError as error:
            problems.append(Problem(f"{where}.value" if kind in INDICATOR_TYPES else f"{where}.type",
                                    str(error)))
            continue
        objects.append({
            "type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid4()}",
            "created": stamp, "modified": stamp, "name": f"{kind} {value.strip()}"[:300],
            "indicator_types": ["malicious-activity"], "pattern": pattern,
            "pattern_type": "stix", "valid_from": stamp, "object_marking_refs": [marking],
        })
    if problems:
        raise SubmissionError(problems)
    summary: dict[str, Any] = {
        "type": "report", "spec_version": "2.1", "id": f"report--{uuid.uuid4()}",
        "created": stamp, "modified": stamp, "name": title.strip(), "published": stamp,
        "report_types": ["threat-report"], "object_refs": [o["id"] for o in objects],
        "object_marking_refs": [marking],
    }
    if description:
        summary["description"] = description
    return {"type": "bundle", "id": f"bundle--{uuid.uuid4()}",
            "objects": [tlp.marking_definition(level), summary, *objects]}
