"""STIX 2.1 objects checked as ``stix2-validator`` 3.2.0 and ``stix2`` check them, with the
same verdicts, about ten times faster.

The libraries stay the judges. Each check here either proves an object clean on a fast
path, or hands it to the library code that the slow path ran, so every verdict and every
message of a rejection is still theirs:

- schemas: the validator rebuilds a ``jsonschema`` validator and re-crawls the schema files
  for every object (about 2 ms each). Here each type's schemas are compiled once into plain
  predicates with jsonschema's own keyword semantics; an object they do not prove valid is
  validated again by the library for its messages.
- "must" checks: the library's own functions run, but ``timestamp`` and ``patterns`` run
  with their dateutil and ANTLR calls behind a fast path for the plain forms (a timestamp
  like ``2026-04-01T09:00:00.000Z``, a pattern like ``[ipv4-addr:value = '1.2.3.4']``);
  anything else reaches dateutil and ANTLR as before.
- ``stix2.parse``: unchanged, except that an indicator's pattern goes through the same fast
  path instead of a second ANTLR parse.
- "should" checks only warn, but the slow path ran them and an exception in one rejected
  the bundle, so they still run, and such an exception still rejects.

Where the slow path crashed (a bundle without an id, an object without a type, an empty
pattern, a library check failing on odd input) the bundle is refused with a problem located
at the object. This reaches into stix2-validator 3.2.0 (pinned) below its public API:
``_schema_validate``, ``_iter_errors_custom``, ``_get_musts``/``_get_shoulds`` and the
module globals of two "must" checks; the tests compare every verdict with the slow path.
"""

from __future__ import annotations

import contextlib
import functools
import numbers
import operator
import os
import re
import threading
import types
from collections.abc import Callable, Container, Iterator, Sized
from datetime import datetime
from typing import Any, cast

import stix2  # type: ignore[import-untyped]
import stix2.v21  # type: ignore[import-untyped]
from dateutil import parser as dateutil_parser  # type: ignore[import-untyped]
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from jsonschema._utils import equal as json_equal  # type: ignore[import-untyped]
from referencing import Registry
from referencing._core import Resolver
from referencing.jsonschema import DRAFT202012
from stix2.exceptions import STIXError  # type: ignore[import-untyped]
from stix2patterns import inspector  # type: ignore[import-untyped]
from stix2patterns.v21 import object_validator  # type: ignore[import-untyped]
from stix2patterns.v21.pattern import Pattern  # type: ignore[import-untyped]
from stix2patterns.validator import run_validator  # type: ignore[import-untyped]
from stix2validator import validator as sv  # type: ignore[import-untyped]
from stix2validator.errors import pretty_error  # type: ignore[import-untyped]
from stix2validator.util import ValidationOptions  # type: ignore[import-untyped]
from stix2validator.v21 import enums, musts  # type: ignore[import-untyped]

Check = Callable[[Any], bool]
PARSE_FAILURES = (STIXError, ValueError, TypeError, KeyError, AttributeError)
_ID = re.compile(r"[a-z0-9-]+--[0-9a-f-]{36}")

# --- schemas --------------------------------------------------------------------------

_SCHEMA_DIR = os.path.abspath(os.path.dirname(sv.__file__) + "/schemas-2.1/schemas/")


class _UnsupportedError(Exception):
    """A schema keyword the compiler does not implement: that type keeps jsonschema."""


def _schema_paths() -> dict[str, str]:
    """Each schema name the validator can find, to the file its ``find_schema`` picks."""
    stems = {name[:-5] for _root, _dirs, names in os.walk(_SCHEMA_DIR, followlinks=True)
             for name in names if name.endswith(".json")}
    found = {stem: sv.find_schema(_SCHEMA_DIR, stem) for stem in stems}
    return {stem: path for stem, path in found.items() if path}


_PATHS = _schema_paths()
_RETRIEVE = functools.partial(sv.retrieve_from_filesystem, schema_dir=_SCHEMA_DIR)
# every file loaded as the validator's retrieval loads it, once, instead of per object
_REGISTRY: Registry[Any] = Registry(retrieve=_RETRIEVE).with_resources(  # type: ignore[call-arg]
    (sv.pathlib.Path(path).as_uri(), _RETRIEVE(sv.pathlib.Path(path).as_uri()))
    for path in _PATHS.values()
).crawl()
_FORMATS = Draft202012Validator.FORMAT_CHECKER
_KNOWN = frozenset(Draft202012Validator.VALIDATORS)


def _is_integer(x: Any) -> bool:
    return not isinstance(x, bool) and (isinstance(x, int) or (isinstance(x, float) and x.is_integer()))


def _is_number(x: Any) -> bool:
    return not isinstance(x, bool) and isinstance(x, numbers.Number)


# jsonschema's draft 2020-12 type checker, as plain predicates
_TYPES: dict[str, Check] = {
    "array": lambda x: isinstance(x, list), "boolean": lambda x: isinstance(x, bool),
    "integer": _is_integer, "null": lambda x: x is None, "number": _is_number,
    "object": lambda x: isinstance(x, dict), "string": lambda x: isinstance(x, str),
}


def _always(_x: Any) -> bool:
    return True


def _never(_x: Any) -> bool:
    return False


def _every(checks: list[Check]) -> Check:
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]

    def check(x: Any) -> bool:
        for c in checks:  # noqa: SIM110 - faster than all() over a generator, and this is the hottest call
            if not c(x):
                return False
        return True
    return check


class _Compiler:
    """JSON Schema 2020-12 to predicates, keyword by keyword as ``jsonschema`` 4 reads
    them (``_keywords.py``); any keyword jsonschema knows and this does not raises
    ``_UnsupportedError``. Hand-written because jsonschema re-walks the schema dicts and
    re-resolves every ``$ref`` per object, ~15 times slower on STIX objects."""

    def __init__(self) -> None:
        self._done: dict[int, tuple[Any, Check]] = {}  # the schema kept, so its id stays its

    def compile(self, schema: Any, resolver: Resolver[Any]) -> Check:
        if schema is True:
            return _always
        if schema is False:
            return _never
        if not isinstance(schema, dict):
            raise _UnsupportedError(f"schema {schema!r}")
        key = id(schema)
        if key in self._done:
            return self._done[key][1]
        late: list[Check] = []
        self._done[key] = (schema, lambda x: late[0](x))  # a schema that refers to itself
        if "$id" in schema:
            resolver = resolver.in_subresource(DRAFT202012.create_resource(schema))
        unknown = set(schema) & _KNOWN - _KEYWORDS.keys()
        if unknown:
            raise _UnsupportedError(", ".join(sorted(unknown)))
        checks = [_KEYWORDS[word](self, schema, resolver) for word in schema if word in _KEYWORDS]
        late.append(_every(checks))
        self._done[key] = (schema, late[0])
        return late[0]

    def many(self, schemas: Any, resolver: Resolver[Any]) -> list[Check]:
        if not isinstance(schemas, list):
            raise _UnsupportedError("not a list of schemas")
        return [self.compile(each, resolver) for each in schemas]


Keyword = Callable[[_Compiler, dict[str, Any], Resolver[Any]], Check]


def _type(_c: _Compiler, schema: dict[str, Any], _r: Resolver[Any]) -> Check:
    names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    if any(name not in _TYPES for name in names):
        raise _UnsupportedError(f"type {names!r}")
    if len(names) == 1:
        return _TYPES[names[0]]
    tests = [_TYPES[name] for name in names]
    return lambda x: any(t(x) for t in tests)


def _enum(_c: _Compiler, schema: dict[str, Any], _r: Resolver[Any]) -> Check:
    values = schema["enum"]
    if not isinstance(values, list):
        raise _UnsupportedError("enum of a non-list")
    if not all(isinstance(v, str) for v in values):
        return lambda x: any(json_equal(v, x) for v in values)
    allowed = frozenset(values)  # jsonschema's equal() is == as soon as one side is a str
    return lambda x: isinstance(x, str) and x in allowed


def _const(_c: _Compiler, schema: dict[str, Any], _r: Resolver[Any]) -> Check:
    value = schema["const"]
    return lambda x: bool(json_equal(x, value))


def _pattern(_c: _Compiler, schema: dict[str, Any], _r: Resolver[Any]) -> Check:
    search = re.compile(schema["pattern"]).search
    return lambda x: not isinstance(x, str) or search(x) is not None


def _format(_c: _Compiler, schema: dict[str, Any], _r: Resolver[Any]) -> Check:
    name = schema["format"]
    return lambda x: bool(_FORMATS.conforms(x, name))


def _sized(kind: type, least: bool, word: str) -> Keyword:
    def keyword(_c: _Compiler, schema: dict[str, Any], _r: Resolver[Any]) -> Check:
        bound = schema[word]
        if not _is_integer(bound):
            raise _UnsupportedError(f"{word} {bound!r}")
        if least:
            return lambda x: not isinstance(x, kind) or len(cast(Sized, x)) >= bound
        return lambda x: not isinstance(x, kind) or len(cast(Sized, x)) <= bound
    return keyword


def _minimum(_c: _Compiler, schema: dict[str, Any], _r: Resolver[Any]) -> Check:
    bound = schema["minimum"]
    return lambda x: not _is_number(x) or not x < bound


def _maximum(_c: _Compiler, schema: dict[str, Any], _r: Resolver[Any]) -> Check:
    bound = schema["maximum"]
    return lambda x: not _is_number(x) or not x > bound


def _required(_c: _Compiler, schema: dict[str, Any], _r: Resolver[Any]) -> Check:
    names = list(schema["required"])
    return lambda x: not isinstance(x, dict) or all(name in x for name in names)


def _properties(c: _Compiler, schema: dict[str, Any], r: Resolver[Any]) -> Check:
    props = {name: c.compile(sub, r) for name, sub in schema["properties"].items()}

    def check(x: Any) -> bool:
        if not isinstance(x, dict):
            return True
        for name, value in x.items():
            sub = props.get(name)
            if sub is not None and not sub(value):
                return False
        return True
    return check


def _pattern_properties(c: _Compiler, schema: dict[str, Any], r: Resolver[Any]) -> Check:
    subs = [(re.compile(p).search, c.compile(sub, r)) for p, sub in schema["patternProperties"].items()]

    def check(x: Any) -> bool:
        if not isinstance(x, dict):
            return True
        for search, sub in subs:
            for name, value in x.items():
                if search(name) and not sub(value):
                    return False
        return True
    return check


def _additional_properties(c: _Compiler, schema: dict[str, Any], r: Resolver[Any]) -> Check:
    extra = schema["additionalProperties"]
    named = schema.get("properties", {})
    joined = "|".join(schema.get("patternProperties", {}))  # as find_additional_properties
    search = re.compile(joined).search if joined else None

    def extras(x: dict[str, Any]) -> Iterator[str]:
        return (k for k in x if k not in named and not (search and search(k)))
    if isinstance(extra, dict):
        sub = c.compile(extra, r)
        return lambda x: not isinstance(x, dict) or all(sub(x[k]) for k in extras(x))
    if not extra:
        return lambda x: not isinstance(x, dict) or next(extras(x), None) is None
    return _always


def _items(c: _Compiler, schema: dict[str, Any], r: Resolver[Any]) -> Check:
    if "prefixItems" in schema:
        raise _UnsupportedError("prefixItems")
    sub = c.compile(schema["items"], r)
    return lambda x: not isinstance(x, list) or all(sub(each) for each in x)


def _contains(c: _Compiler, schema: dict[str, Any], r: Resolver[Any]) -> Check:
    if "minContains" in schema or "maxContains" in schema:
        raise _UnsupportedError("minContains/maxContains")
    sub = c.compile(schema["contains"], r)
    return lambda x: not isinstance(x, list) or any(sub(each) for each in x)


def _property_names(c: _Compiler, schema: dict[str, Any], r: Resolver[Any]) -> Check:
    sub = c.compile(schema["propertyNames"], r)
    return lambda x: not isinstance(x, dict) or all(sub(name) for name in x)


def _all_of(c: _Compiler, schema: dict[str, Any], r: Resolver[Any]) -> Check:
    return _every(c.many(schema["allOf"], r))


def _any_of(c: _Compiler, schema: dict[str, Any], r: Resolver[Any]) -> Check:
    subs = c.many(schema["anyOf"], r)
    return lambda x: any(sub(x) for sub in subs)


def _one_of(c: _Compiler, schema: dict[str, Any], r: Resolver[Any]) -> Check:
    subs = c.many(schema["oneOf"], r)

    def check(x: Any) -> bool:
        valid = (True for sub in subs if sub(x))
        return next(valid, False) and not next(valid, False)
    return check


def _not(c: _Compiler, schema: dict[str, Any], r: Resolver[Any]) -> Check:
    sub = c.compile(schema["not"], r)
    return lambda x: not sub(x)


def _if(c: _Compiler, schema: dict[str, Any], r: Resolver[Any]) -> Check:
    test = c.compile(schema["if"], r)
    then = c.compile(schema.get("then", True), r)
    otherwise = c.compile(schema.get("else", True), r)
    return lambda x: then(x) if test(x) else otherwise(x)


def _ref(c: _Compiler, schema: dict[str, Any], r: Resolver[Any]) -> Check:
    resolved = r.lookup(schema["$ref"])
    return c.compile(resolved.contents, resolved.resolver)


_KEYWORDS: dict[str, Keyword] = {
    "type": _type, "enum": _enum, "const": _const, "pattern": _pattern, "format": _format,
    "minLength": _sized(str, True, "minLength"), "maxLength": _sized(str, False, "maxLength"),
    "minItems": _sized(list, True, "minItems"), "maxItems": _sized(list, False, "maxItems"),
    "minProperties": _sized(dict, True, "minProperties"),
    "maxProperties": _sized(dict, False, "maxProperties"),
    "minimum": _minimum, "maximum": _maximum, "required": _required,
    "properties": _properties, "patternProperties": _pattern_properties,
    "additionalProperties": _additional_properties, "items": _items, "contains": _contains,
    "propertyNames": _property_names, "allOf": _all_of, "anyOf": _any_of, "oneOf": _one_of,
    "not": _not, "if": _if, "$ref": _ref,
}
_COMPILER = _Compiler()


_COMPILING = threading.Lock()


@functools.cache
def _checker(name: str, is_bundle: bool) -> Check | None:
    """The schema check the validator runs for an object of type ``name`` (a name it has a
    schema for); None when the schema uses a keyword not compiled here."""
    with _COMPILING:  # the compiler's table of schemas in progress is not for two threads
        return _compile_checker(name, is_bundle)


def _compile_checker(name: str, is_bundle: bool) -> Check | None:
    path = _PATHS[name]
    schema = sv.load_schema(path)
    if is_bundle:  # as the validator's _get_error_generator does for a bundle
        schema["properties"]["objects"] = {"objects": {"type": "array", "minItems": 1}}
    schema = sv.patch_schema(schema, path)
    root = DRAFT202012.create_resource(schema)
    uri = schema.get("$id", path)
    resolver = _REGISTRY.with_resource(uri, root).resolver(base_uri=uri)
    try:
        return _COMPILER.compile(schema, resolver)
    except _UnsupportedError:
        return None


def _schema_clean(obj: dict[str, Any], default: str) -> bool:
    """True when the validator's schema check of ``obj`` (as in ``_get_error_generator``)
    finds nothing; False when it may find something."""
    kind = obj.get("type")
    if not isinstance(kind, str):
        return False
    name = kind if kind in _PATHS else default
    check = _checker(name, kind == "bundle")
    return check is not None and check(obj)


def schema_clean(obj: dict[str, Any], bundle_version: str | None) -> bool:
    """True when ``stix2validator``'s ``_schema_validate(obj, …, bundle_version)`` would
    report nothing; False when it may report something or raise."""
    if not isinstance(obj.get("id", ""), str) or "type" not in obj:
        return False
    version = sv.find_version(obj, _OPTIONS, bundle_version)
    if version != "2.1":
        return False
    default = "core"
    if ("id" in obj and "created" not in obj and "modified" not in obj
            and obj["type"] != "marking-definition"):
        default = "cyber-observable-core"
    if not _schema_clean(obj, default):
        return False
    if obj["type"] == "observed-data" and "objects" in obj:
        observables = obj["objects"]
        if not isinstance(observables, dict):
            return False
        for value in observables.values():
            if not isinstance(value, dict) or not isinstance(value.get("type"), str):
                return False
            if not _schema_clean(value, "cyber-observable-core"):
                return False
    return True


def schema_messages(obj: dict[str, Any], bundle_version: str | None) -> list[str]:
    """The validator's own schema messages for ``obj``, as its bundle validation words them."""
    return [prefix + pretty_error(error, _OPTIONS.verbose)
            for errors, prefix in sv._schema_validate(obj, _OPTIONS, bundle_version)
            for error in errors]


# --- timestamps -----------------------------------------------------------------------

_PLAIN_TIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]{1,9})?Z")


def plain_timestamp(text: Any) -> bool:
    """True for a timestamp dateutil is sure to parse: years 1000 to 9999, a real date, no
    leap second, at most nine decimals. dateutil takes ~100 µs to say so."""
    match = _PLAIN_TIME.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(g) for g in match.groups())
    if year < 1000 or second > 59:
        return False
    try:
        datetime(year, month, day, hour, minute, second)  # a calendar check only: no zone needed
    except ValueError:
        return False
    return True


class _Dateutil:
    """Stands in for ``dateutil.parser`` inside the validator's ``timestamp`` check."""

    @staticmethod
    def parse(text: Any) -> Any:
        return None if plain_timestamp(text) else dateutil_parser.parse(text)


# --- patterns -------------------------------------------------------------------------

_KEYWORD_TOKENS = frozenset({
    "AND", "OR", "NOT", "FOLLOWEDBY", "LIKE", "MATCHES", "ISSUPERSET", "ISSUBSET", "EXISTS",
    "LAST", "IN", "START", "STOP", "SECONDS", "true", "false", "WITHIN", "REPEATS", "TIMES",
})
_STRING = r"'(?:[^'\\\ud800-\udfff]|\\['\\])*'"
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_COMPARISON = re.compile(
    rf"([a-z][a-z0-9]*(?:-[a-z0-9]+)*):({_IDENT}|{_STRING})"
    rf"((?:\.{_IDENT}|\.{_STRING}|\[(?:\*|0|[1-9][0-9]*)\])*)"
    rf"(?: *(==?|!=|<>|<=?|>=?) *| +(LIKE|MATCHES) +)({_STRING})"
)
_STEP = re.compile(rf"\.({_IDENT})|\.({_STRING})|\[(\*|[0-9]+)\]")
_JOIN = re.compile(r" +(AND|OR) +")
_SPACES = re.compile(r" *")


def _unquote(literal: str) -> str:
    """As stix2patterns' ``_string_literal_to_string``, which the inspector uses."""
    return literal[1:-1].replace("\\'", "'").replace("\\\\", "\\")


def _path(first: str, steps: str) -> list[Any] | None:
    if first in _KEYWORD_TOKENS:
        return None
    path: list[Any] = [_unquote(first) if first.startswith("'") else first]
    at = 0
    while at < len(steps):
        step = _STEP.match(steps, at)
        if step is None:
            return None
        key, quoted, index = step.groups()
        if key is not None:
            if key in _KEYWORD_TOKENS:
                return None
            path.append(key)
        elif quoted is not None:
            path.append(_unquote(quoted))
        else:
            path.append(inspector.INDEX_STAR if index == "*" else int(index))
        at = step.end()
    return path


def simple_pattern(pattern: str) -> Any:
    """The inspection data (as ``Pattern(pattern).inspect()``) of a pattern in a plain
    subset of the STIX 2.1 grammar; None for anything else, which ANTLR must judge.

    The subset: observations ``[...]`` joined by `` AND ``/`` OR ``, each holding
    comparisons ``type:path op 'string'`` joined the same way, where ``op`` is one of
    ``= == != <> < <= > >= LIKE MATCHES``, the type is lowercase letters, digits and single
    inner hyphens, path keys are identifiers (not keywords) or quoted strings, indexes are
    ``[n]`` or ``[*]``, and the only whitespace is the space character. No qualifiers, no
    FOLLOWEDBY, no parentheses, no NOT, no non-string literals. ANTLR takes ~1 ms per
    pattern; this takes ~10 µs.
    """
    comparisons: dict[str, list[tuple[list[Any], str, str]]] = {}
    operators: set[str] = set()
    at, end = 0, len(pattern)
    while True:
        if not pattern.startswith("[", at):
            return None
        at = _SPACES.match(pattern, at + 1).end()  # type: ignore[union-attr]
        while True:
            match = _COMPARISON.match(pattern, at)
            if match is None:
                return None
            kind, first, steps, symbol, word, value = match.groups()
            path = _path(first, steps)
            if kind in _KEYWORD_TOKENS or path is None:
                return None
            comparisons.setdefault(kind, []).append((path, symbol or word, value))
            at = match.end()
            join = _JOIN.match(pattern, at)
            if join is None:
                break
            at = join.end()
        at = _SPACES.match(pattern, at).end()  # type: ignore[union-attr]
        if not pattern.startswith("]", at):
            return None
        at += 1
        join = _JOIN.match(pattern, at)
        if join is None:
            break
        operators.add(join.group(1))
        at = join.end()
    if at != end:
        return None
    return inspector._PatternData(comparisons, operators, set())


@functools.lru_cache(maxsize=4096)
def _antlr_verdict(pattern: str, version: str) -> tuple[str, ...]:
    """ANTLR's verdict, remembered: the validator and stix2 both ask it of each pattern."""
    return tuple(run_validator(pattern, version))


_CACHED_PATTERN_MOST = 4096  # characters: 4096 patterns of this size stay within ~32 MB


def pattern_errors(pattern: Any, version: Any = "2.1") -> list[str]:
    """As ``stix2patterns.validator.run_validator``: the pattern's errors, none if valid."""
    if not isinstance(pattern, str) or not isinstance(version, str):
        return list(run_validator(pattern, version))
    if version == "2.1":
        data = simple_pattern(pattern)
        if data is not None and not object_validator.verify_object(data):
            return []
    if len(pattern) > _CACHED_PATTERN_MOST:
        return list(run_validator(pattern, version))
    return list(_antlr_verdict(pattern, version))


class _Pattern:
    """Stands in for ``stix2patterns.v21.pattern.Pattern`` in the ``patterns`` check."""

    def __init__(self, pattern: str) -> None:
        self._data = simple_pattern(pattern) if isinstance(pattern, str) else None
        self._full = Pattern(pattern) if self._data is None else None

    def inspect(self) -> Any:
        return self._data if self._full is None else self._full.inspect()


# --- the validator's "must" and "should" checks ---------------------------------------


def _with_globals(function: Any, **names: Any) -> Any:
    """``function``'s own code, reading ``names`` instead of its module's globals: the
    library's check, unchanged, with its slow callee swapped for a fast equivalent."""
    scope = dict(function.__globals__, **names)
    return types.FunctionType(function.__code__, scope, function.__name__,
                              function.__defaults__, function.__closure__)


_OPTIONS = ValidationOptions()
_FAST = {
    musts.timestamp: _with_globals(musts.timestamp, parser=_Dateutil),
    musts.patterns: _with_globals(musts.patterns, pattern_validator=pattern_errors,
                                  Pattern=_Pattern),
}
_MUSTS = [_FAST.get(check, check) for check in sv._get_musts(_OPTIONS)]
_SHOULDS = sv._get_shoulds(_OPTIONS)


def must_messages(obj: dict[str, Any]) -> list[str]:
    """The validator's "must" errors for ``obj`` and the STIX objects in its lists."""
    return [pretty_error(error, _OPTIONS.verbose)
            for error in sv._iter_errors_custom(obj, _MUSTS, _OPTIONS)]


def run_shoulds(obj: dict[str, Any]) -> None:
    """Runs the "should" checks for their exceptions only: their warnings were never kept."""
    for _warning in sv._iter_errors_custom(obj, _SHOULDS, _OPTIONS):
        pass


# --- stix2 ----------------------------------------------------------------------------


class _Indicator(stix2.v21.Indicator):  # type: ignore[misc]
    """stix2's Indicator, its pattern check on the fast path."""

    _check_object_constraints = _with_globals(stix2.v21.Indicator._check_object_constraints,
                                              run_validator=pattern_errors)


_INDICATOR_KEYS = frozenset({
    "type", "spec_version", "id", "created", "modified", "name", "description", "lang",
    "indicator_types", "pattern", "pattern_type", "pattern_version", "valid_from",
    "valid_until", "labels", "confidence", "object_marking_refs", "created_by_ref", "revoked"})
_INDICATOR_TEXTS = ("name", "description", "lang", "pattern")
_INDICATOR_TYPES = frozenset(stix2.v21.vocab.INDICATOR_TYPE)
_PATTERN_TYPES = frozenset(stix2.v21.vocab.PATTERN_TYPE)
# a canonical UUID of the RFC 4122 variant: what stix2 2.1 requires of an id's uuid part
_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
# stix2 parses at most six decimals
_STIX2_TIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,6}))?Z")


def _stix2_time(text: Any) -> datetime | None:
    """The instant of a timestamp stix2 is sure to parse (see ``plain_timestamp``)."""
    match = _STIX2_TIME.fullmatch(text) if type(text) is str else None
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    if year < 1000 or second > 59:
        return None
    try:
        return datetime(year, month, day, hour, minute, second,
                        int((match.group(7) or "0").ljust(6, "0")))
    except ValueError:
        return None


def _canonical_ref(value: Any, prefix: str) -> bool:
    return type(value) is str and value.startswith(prefix) and \
        _CANONICAL_UUID.fullmatch(value, len(prefix)) is not None


def _plain_texts(value: Any, allowed: frozenset[str] | None = None) -> bool:
    return type(value) is list and bool(value) and all(
        type(v) is str and (allowed is None or v in allowed) for v in value)


_INDICATOR_TIMES = ("created", "modified", "valid_from", "valid_until")
_PLAIN_VALUES: dict[str, Callable[[Any], bool]] = {
    "indicator_types": lambda v: _plain_texts(v, _INDICATOR_TYPES),
    "labels": _plain_texts,
    "object_marking_refs": lambda v: type(v) is list and bool(v) and all(
        _canonical_ref(r, "marking-definition--") for r in v),
    "created_by_ref": lambda v: _canonical_ref(v, "identity--"),
    "confidence": lambda v: type(v) is int,
    "revoked": lambda v: type(v) is bool,
}


_NOT_PLAIN = object()


def _plain_indicator_pattern(obj: dict[str, Any]) -> Any:
    """``plain_indicator``'s verdict, with what it learnt of the pattern on the way:
    ``_NOT_PLAIN``; or, for a plain indicator, its pattern's inspection data when the fast
    pattern path read it, None otherwise (not a STIX pattern, or ANTLR judged it)."""
    if not obj.keys() <= _INDICATOR_KEYS or obj.get("type") != "indicator" \
            or obj.get("spec_version") != "2.1" or not _canonical_ref(obj.get("id"), "indicator--"):
        return _NOT_PLAIN
    if any(key in obj and type(obj[key]) is not str for key in _INDICATOR_TEXTS):
        return _NOT_PLAIN
    kind = obj.get("pattern_type")
    if type(kind) is not str or kind not in _PATTERN_TYPES or not obj.get("pattern"):
        return _NOT_PLAIN
    times = {key: _stix2_time(obj[key]) for key in _INDICATOR_TIMES if key in obj}
    if any(moment is None for moment in times.values()):
        return _NOT_PLAIN
    until, since = times.get("valid_until"), times.get("valid_from")
    if until is not None and (since is None or until <= since):
        return _NOT_PLAIN
    if any(key in obj and not check(obj[key]) for key, check in _PLAIN_VALUES.items()):
        return _NOT_PLAIN
    if kind != "stix":
        if "pattern_version" in obj and type(obj["pattern_version"]) is not str:
            return _NOT_PLAIN
        return None
    if obj.get("pattern_version", "2.1") != "2.1":
        return _NOT_PLAIN
    data = simple_pattern(obj["pattern"])
    if data is not None and not object_validator.verify_object(data):
        return data  # what pattern_errors() would find valid without ANTLR
    try:
        if pattern_errors(obj["pattern"], "2.1"):
            return _NOT_PLAIN
    except Exception:  # the pattern library crashed: stix2 is left to say how
        return _NOT_PLAIN
    return None


def plain_indicator(obj: dict[str, Any]) -> bool:
    """True when stix2 is sure to accept ``obj`` as an Indicator, proven without building
    one (about 1 ms each, most of a valid POST): only the properties an ordinary indicator
    has, each of the exact JSON type stix2 takes without coercing, vocabularies closed,
    references and ids canonical, timestamps plain, ``valid_until`` after ``valid_from``
    and the pattern valid. Anything else is built by stix2 as before, for its verdict and
    its message."""
    return _plain_indicator_pattern(obj) is not _NOT_PLAIN


# The "must" checks of stix2-validator 3.2.0, by name: what proven_indicator() was worked
# out against. Another list (another version, other options) turns the proof off.
_MUSTS_PROVEN_AGAINST = (
    "timestamp", "timestamp_compare", "observable_timestamp_compare",
    "object_marking_circular_refs", "granular_markings_circular_refs",
    "marking_selector_syntax", "observable_object_references", "artifact_mime_type",
    "character_set", "language", "software_language", "patterns", "cpe_check",
    "language_contents", "uuid_version_check", "process")
_PROOF_HOLDS = tuple(getattr(check, "__name__", "") for check in sv._get_musts(_OPTIONS)) \
    == _MUSTS_PROVEN_AGAINST and not _OPTIONS.interop and not _OPTIONS.schema_dir
# the identifier schema's UUID: versions 1 to 5 only (and lowercase, as stix2 wants it)
_SCHEMA_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
_LANG_CODES = frozenset(enums.LANG_CODES)
_OBSERVABLE_PROPERTIES = {kind: frozenset(enums.OBSERVABLE_PROPERTIES.get(kind, ()))
                          for kind in enums.OBSERVABLE_TYPES}
# timestamp_compare's comparisons for an indicator: of the strings, as the check does
_INDICATOR_COMPARES = [(first, getattr(operator, op), second) for first, op, second in
                       [("modified", "ge", "created"), *enums.TIMESTAMP_COMPARE.get("indicator", [])]]


def _schema_identifier(value: Any, prefix: str) -> bool:
    return value.startswith(prefix) and _SCHEMA_UUID.fullmatch(value, len(prefix)) is not None


def proven_indicator(obj: dict[str, Any]) -> bool:
    """True when ``obj`` is a plain indicator (``plain_indicator``: stix2 accepts it, no
    "should" check raises) on which the validator's schema check, in a bundle of STIX 2.1,
    and its "must" checks are sure to find nothing; so none of them needs to run.

    On top of being plain, that takes: ``created``, ``modified`` and ``valid_from`` present,
    the first two to the millisecond; ids and references of a UUID version 1 to 5;
    ``confidence`` 0 to 100; ``lang`` a code the validator knows; ``modified`` not before
    ``created`` and ``valid_until`` after ``valid_from`` as strings (the validator compares
    the text); and a pattern the fast pattern path read, naming only observable types and
    properties of the STIX 2.1 specification. The other "must" checks look at properties or
    object types a plain indicator does not have. The tests hold each claim to the
    libraries' own verdicts."""
    if not _PROOF_HOLDS:
        return False
    data = _plain_indicator_pattern(obj)
    if data is _NOT_PLAIN or "valid_from" not in obj:
        return False
    created, modified = obj.get("created"), obj.get("modified")
    if created is None or modified is None or len(created) < 24 or created[19] != "." \
            or len(modified) < 24 or modified[19] != ".":  # plain: .fff...Z, or no fraction
        return False
    if not _schema_identifier(obj["id"], "indicator--") \
            or ("created_by_ref" in obj and not _schema_identifier(obj["created_by_ref"], "identity--")) \
            or not all(_schema_identifier(ref, "marking-definition--")
                       for ref in obj.get("object_marking_refs", ())):
        return False
    if not 0 <= obj.get("confidence", 0) <= 100 or obj.get("lang", "en") not in _LANG_CODES:
        return False
    for first, compare, second in _INDICATOR_COMPARES:
        if first in obj and second in obj and not compare(obj[first], obj[second]):
            return False
    if obj["pattern_type"] != "stix":
        return True
    if data is None:  # ANTLR read it: the patterns check runs
        return False
    for kind, comparisons in data.comparisons.items():
        known = _OBSERVABLE_PROPERTIES.get(kind)
        if known is None or any(path[0] not in known for path, _op, _value in comparisons):
            return False
    return True


def stix2_problem(obj: dict[str, Any]) -> str | None:
    """Why ``stix2.parse(obj, allow_custom=False, version="2.1")`` refuses ``obj``; None
    when it accepts it."""
    if type(obj) is dict and obj.get("type") == "indicator":
        if plain_indicator(obj):
            return None
        with contextlib.suppress(Exception):  # its message would name our class: stix2 says it
            _Indicator(allow_custom=False, interoperability=False, **obj)
            return None
    try:
        stix2.parse(obj, allow_custom=False, version="2.1")
    except PARSE_FAILURES as error:
        return str(error)
    except Exception as error:  # stix2 crashed on it: the slow path did too
        return failure(error)
    return None


# --- a bundle -------------------------------------------------------------------------


def located(text: str, fallback: str) -> tuple[str, str]:
    """A validator message split as the slow path split it: ``id: message``."""
    where, _, message = text.partition(": ")
    if not _ID.fullmatch(where):
        return fallback, text
    return where, message


def named(obj: dict[str, Any], fallback: str) -> str:
    """The object's id, if it has one to name it by."""
    ident = obj.get("id")
    return ident[:120] if isinstance(ident, str) and ident.strip() else fallback


def failure(error: Exception) -> str:
    return f"cannot be validated: {type(error).__name__}: {str(error)[:200]}"


def stix_objects(bundle: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The objects the validator's custom checks visit below the bundle."""
    for value in bundle.values():
        if type(value) is list:
            yield from (obj for obj in value if sv._is_stix_obj(obj))


def _bundle_checks(bundle: dict[str, Any], checks: list[Any]) -> list[Any]:
    """What ``checks`` find on the bundle itself, called as ``_iter_errors_custom`` calls
    them, without going down into its objects."""
    found: list[Any] = []
    for check in checks:
        try:
            result = check(bundle)
        except TypeError:
            result = check(bundle, _OPTIONS)
        found.extend(result or [])
    return found


def validator_problems(bundle: dict[str, Any], proven: Container[int] = frozenset(),
                       ) -> Iterator[tuple[str, str]]:
    """What ``stix2validator.validate_parsed_json(bundle)`` finds wrong, each located, in
    its order; lazily, so that a hostile bundle costs no more than the problems shown.
    ``proven``: the ``id()`` of objects ``proven_indicator`` vouches for, whose checks are
    skipped (their schema check only in a bundle of STIX 2.1, as the proof assumes).

    Where the validator raised (a bundle without an id, an object without a type, a check
    that crashes on odd input) the slow path rejected the bundle with one unlocated problem,
    or crashed; here the problem names the object."""
    if not sv._is_stix_obj(bundle):
        yield "$", "a bundle needs an id and a type"
        return
    fallback = named(bundle, "$")
    yield from _schema_problems(bundle, None, fallback)
    if bundle["type"] == "bundle" and "objects" in bundle:
        version = bundle.get("spec_version", "2.1")
        for index, obj in enumerate(bundle["objects"]):
            if not isinstance(obj, dict) or "type" not in obj:
                yield f"$.objects[{index}]", "Each object in bundle must have a 'type' property."
                continue
            if version == "2.1" and id(obj) in proven:
                continue
            yield from _schema_problems(obj, version, fallback)
    try:
        texts = [pretty_error(e, _OPTIONS.verbose) for e in _bundle_checks(bundle, _MUSTS)]
    except Exception as error:  # the slow path rejected on any of these
        texts = []
        yield fallback, failure(error)
    yield from (located(text, fallback) for text in texts)
    objects = [obj for obj in stix_objects(bundle) if id(obj) not in proven]
    for obj in objects:
        try:
            texts = must_messages(obj)
        except Exception as error:  # as above
            yield named(obj, fallback), failure(error)
            continue
        yield from (located(text, fallback) for text in texts)
    for obj in [bundle, *objects]:
        try:
            if obj is bundle:
                _bundle_checks(bundle, _SHOULDS)
            elif not plain_indicator(obj):  # its plain values raise in no "should" check
                run_shoulds(obj)
        except Exception as error:  # as above
            yield named(obj, fallback), failure(error)


def _schema_problems(obj: dict[str, Any], bundle_version: str | None,
                     fallback: str) -> Iterator[tuple[str, str]]:
    try:
        if schema_clean(obj, bundle_version):
            return
        texts = schema_messages(obj, bundle_version)
    except Exception as error:  # the slow path rejected on any of these
        yield named(obj, fallback), failure(error)
        return
    yield from (located(text, fallback) for text in texts)
