"""The fast validator gives the verdicts of the slow path it replaces (``stix2validator``'s
``validate_parsed_json`` on the bundle plus ``stix2.parse`` on each object), on valid and
hostile objects of many types, and each of its fast paths agrees with the library code it
stands in for whenever it answers."""

from __future__ import annotations

import copy
import re
from datetime import datetime
from typing import Any

import pytest
import stix2  # type: ignore[import-untyped]
import stix2validator  # type: ignore[import-untyped]
from dateutil import parser as dateutil_parser  # type: ignore[import-untyped]
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from stix2.exceptions import STIXError  # type: ignore[import-untyped]
from stix2patterns.v21 import object_validator  # type: ignore[import-untyped]
from stix2patterns.v21.pattern import Pattern  # type: ignore[import-untyped]
from stix2patterns.validator import run_validator  # type: ignore[import-untyped]
from stix2validator import validator as sv
from stix2validator.v21 import musts  # type: ignore[import-untyped]

from renkei.core import tlp
from renkei.core.tlp import Tlp, marking_definition
from renkei.sharing import stix, validation
from renkei.sharing.stix import Parsed, Problem, SubmissionError

AMBER = Tlp.AMBER.marking_id
T0 = "2026-04-01T09:00:00.000Z"
T1 = "2026-04-02T10:30:00.000Z"
U = ["8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "1e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
     "2f0b4d9e-9d5a-4c2b-8f6e-3c1d2b4a5e6f", "3a1c5e7f-2b4d-4f6a-8c9e-0d1f2a3b4c5d",
     "4b2d6f8a-3c5e-4a7b-9d0f-1e2a3b4c5d6e", "5c3e7a9b-4d6f-4b8c-a0e1-2f3a4b5c6d7e"]
IND, MAL, IDY = f"indicator--{U[0]}", f"malware--{U[1]}", f"identity--{U[2]}"
OBS, IP, DOM = f"observed-data--{U[3]}", f"ipv4-addr--{U[4]}", f"domain-name--{U[5]}"
BUNDLE_ID = "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d"


def sdo(kind: str, uid: str, **props: Any) -> dict[str, Any]:
    return {"type": kind, "spec_version": "2.1", "id": f"{kind}--{uid}", "created": T0,
            "modified": T0, "object_marking_refs": [AMBER], **props}


def sco(kind: str, uid: str, **props: Any) -> dict[str, Any]:
    return {"type": kind, "spec_version": "2.1", "id": f"{kind}--{uid}",
            "object_marking_refs": [AMBER], **props}


def indicator(uid: str, pattern: str, **props: Any) -> dict[str, Any]:
    return sdo("indicator", uid, **{"pattern": pattern, "pattern_type": "stix",
                                    "valid_from": T0, **props})


VALID = [
    marking_definition(Tlp.AMBER),
    indicator(U[0], "[ipv4-addr:value = '198.51.100.1']", name="C2",
              indicator_types=["malicious-activity"], valid_from="2026-04-01T09:00:00Z"),
    indicator(U[1], "[file:hashes.'SHA-256' = '" + "a" * 64 + "' OR file:hashes.MD5 = '"
              + "b" * 32 + "']", valid_until=T1, kill_chain_phases=[
                  {"kill_chain_name": "lockheed-martin-cyber-kill-chain", "phase_name": "delivery"}]),
    indicator(U[2], "[domain-name:value = 'evil.example'] AND [url:value = 'https://evil.example/it\\'s']"),
    indicator(U[3], "[ipv4-addr:value = '198.51.100.1'] REPEATS 5 TIMES WITHIN 300 SECONDS"),
    indicator(U[4], "([email-message:from_ref.value MATCHES '.+@evil\\\\.example$'] FOLLOWEDBY "
              "[file:name LIKE '%.exe']) WITHIN 60 SECONDS", pattern_version="2.1"),
    sdo("indicator", U[5], pattern="alert tcp any any -> any any (msg:\"x\";)",
        pattern_type="snort", valid_from=T0),
    sdo("malware", U[1], name="Emotet", is_family=True, malware_types=["trojan"]),
    sdo("identity", U[2], name="ACME CSIRT", identity_class="organization",
        sectors=["financial-services"]),
    sdo("attack-pattern", U[3], name="Spearphishing", external_references=[
        {"source_name": "capec", "external_id": "CAPEC-163"}]),
    sdo("campaign", U[4], name="Invoice wave", first_seen=T0),
    sdo("course-of-action", U[5], name="Block the C2"),
    sdo("grouping", U[0], context="suspicious-activity", object_refs=[IND, MAL]),
    sdo("infrastructure", U[1], name="C2 cluster", infrastructure_types=["command-and-control"]),
    sdo("intrusion-set", U[2], name="APT-X", first_seen=T0),
    sdo("location", U[3], region="europe", country="DE"),
    sdo("note", U[4], content="Seen again", object_refs=[IND], authors=["soc"]),
    sdo("opinion", U[5], opinion="agree", object_refs=[IND]),
    sdo("report", U[0], name="Phishing wave", published=T0, report_types=["threat-report"],
        object_refs=[IND, MAL], description="Invoices with macros"),
    sdo("threat-actor", U[1], name="Group X", threat_actor_types=["crime-syndicate"]),
    sdo("tool", U[2], name="mimikatz", tool_types=["credential-exploitation"]),
    sdo("vulnerability", U[3], name="CVE-2021-44228", external_references=[
        {"source_name": "cve", "external_id": "CVE-2021-44228"}]),
    sdo("relationship", U[4], relationship_type="indicates", source_ref=IND, target_ref=MAL),
    sdo("sighting", U[5], sighting_of_ref=IND, count=3, first_seen=T0, last_seen=T1,
        where_sighted_refs=[IDY], observed_data_refs=[OBS]),
    sdo("observed-data", U[3], first_observed=T0, last_observed=T1, number_observed=2,
        object_refs=[IP, DOM]),
    sco("ipv4-addr", U[4], value="198.51.100.1"),
    sco("ipv6-addr", U[0], value="2001:db8::1"),
    sco("domain-name", U[5], value="evil.example"),
    sco("url", U[1], value="https://evil.example/login"),
    sco("email-addr", U[2], value="billing@evil.example", display_name="Billing"),
    sco("file", U[3], name="invoice.exe", hashes={"SHA-256": "a" * 64}, size=1024),
    sco("mutex", U[4], name="Global\\evil"),
    sco("autonomous-system", U[5], number=64500, name="Example AS"),
    sco("mac-addr", U[0], value="00:00:5e:00:53:af"),
    sco("software", U[1], name="Word", vendor="Microsoft", version="16"),
    sco("directory", U[2], path="C:\\Users\\Public"),
    sco("network-traffic", U[3], src_ref=IP, protocols=["tcp"], dst_port=443),
    sco("email-message", U[4], is_multipart=False, subject="Invoice", body="Pay"),
]


def bundle(*objects: dict[str, Any]) -> dict[str, Any]:
    return {"type": "bundle", "id": BUNDLE_ID, "objects": list(objects)}


# --- the slow path, as validate_bundle was before the fast validator ------------------


def slow_validate_bundle(bundle: dict[str, Any]) -> Parsed:
    """``stix.validate_bundle`` as it was: the oracle."""
    objects = bundle["objects"]
    problems: list[Problem] = []
    try:
        results = stix2validator.validate_parsed_json(bundle)
    except (ValueError, TypeError, KeyError, AttributeError) as failure:
        problems.append(Problem("$", f"cannot be validated: {str(failure)[:200]}"))
    else:
        for result in results if isinstance(results, list) else [results]:
            for error in result.errors:
                text = str(error)
                where, _, message = text.partition(": ")
                if not re.fullmatch(r"[a-z0-9-]+--[0-9a-f-]{36}", where):
                    where, message = result.object_id or "$", text
                problems.append(Problem(where, message[:300]))
    seen: set[tuple[str, str]] = set()
    levels: list[Tlp] = []
    for index, obj in enumerate(objects):
        where = stix._where(obj, index)
        try:
            stix2.parse(obj, allow_custom=False, version="2.1")
        except (STIXError, ValueError, TypeError, KeyError, AttributeError) as error:
            problems.append(Problem(where, str(error)[:300]))
        key = (str(obj.get("id")), str(obj.get("modified", "")))
        if key in seen:
            problems.append(Problem(where, "the same object version appears twice"))
        seen.add(key)
        level, problem = stix._marking_of(obj)
        if problem:
            problems.append(Problem(where, problem))
        elif level is not None:
            levels.append(level)
    if problems:
        raise SubmissionError(problems)
    return Parsed(bundle=bundle, marking=tlp.most_restrictive(levels or [Tlp.CLEAR]))


def outcome(validate: Any, payload: dict[str, Any]) -> tuple[str, Any]:
    try:
        parsed = validate(copy.deepcopy(payload))
    except SubmissionError as error:
        return "refused", [(p.where, p.message) for p in error.problems]
    except Exception as error:  # the slow path crashed on some hostile input
        return "crashed", f"{type(error).__name__}: {error}"
    return "accepted", parsed.marking


def assert_same_verdict(payload: dict[str, Any]) -> list[tuple[str, str]]:
    """Both accept, or the slow path refused or crashed and the fast one refuses, each
    problem located; where the slow path neither crashed nor failed inside the validator,
    the problems are the very same."""
    slow, fast = outcome(slow_validate_bundle, payload), outcome(stix.validate_bundle, payload)
    assert fast[0] != "crashed", fast
    assert (slow[0] == "accepted") == (fast[0] == "accepted"), (slow, fast)
    if fast[0] == "accepted":
        assert fast == slow
        return []
    assert fast[1], fast
    assert all(where and message for where, message in fast[1])
    internal = slow[0] == "crashed" or any(
        "cannot be validated" in m or "Cannot locate a schema" in m for _, m in slow[1])
    if not internal:
        assert fast == slow
    return list(fast[1])


# --- whole objects --------------------------------------------------------------------


@pytest.mark.parametrize("obj", VALID, ids=lambda o: f"{o['type']}-{o['id'][-4:]}")
def test_each_valid_object_is_accepted_by_both(obj: dict[str, Any]) -> None:
    assert assert_same_verdict(bundle(obj)) == []


def test_a_bundle_of_all_of_them_is_accepted_by_both() -> None:
    unique = {(o["id"], o.get("modified")): o for o in VALID}
    assert assert_same_verdict(bundle(*unique.values())) == []


BAD_STRINGS = {
    "timestamp": ["2026-02-30T00:00:00.000Z", "2026-04-01T09:00:00Z", "2026-04-01T24:00:00.000Z",
                  "2026-04-01T09:00:60.000Z", "0000-01-01T00:00:00.000Z",
                  "2026-04-01T09:00:00.000Z\n", "2025-01-01T00:00:00.000Z", "2026-4-1"],
    "ref": ["indicator--not-a-uuid", f"identity--{U[0][:14]}1{U[0][15:]}",
            f"identity--{U[0].upper()}", "marking-definition--" + U[0], "bundle--" + U[0]],
    "pattern": ["", "[", "[ipv4-addr:value = ]", "ipv4-addr:value = 'x'", "[x:AND = 'a']",
                "[file:hashes.MD5 = 'zz']", "[ipv4-addr:value = 'a'] WITHIN 5 SECONDS WITHIN 6 SECONDS",
                "[ipv4-addr:value = 'a'\n]", "[X:value = 'a']", "[ipv4-addr:Value = 'a']"],
}
OTHER_VALUES: list[Any] = [None, 1, -1, 1.5, True, "x", "", [], ["x"], {}, {"a": 1}]


def kind_of(key: str) -> str:
    if key == "pattern":
        return "pattern"
    if key in ("created", "modified", "published") or key.endswith(("_from", "_until", "_seen", "_observed")):
        return "timestamp"
    return "ref" if key == "id" or key.endswith(("_ref", "_refs")) else ""


def mutations(obj: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for key in obj:
        if key != "type":
            found.append((f"-{key}", {k: v for k, v in obj.items() if k != key}))
        for value in [*OTHER_VALUES[:6], *BAD_STRINGS.get(kind_of(key), [])]:
            if key.endswith("_refs") and isinstance(value, str):
                value = [value]
            found.append((f"{key}={value!r}", {**obj, key: value}))
    for extra in ("x_secret", "Foo", "x_foo_bin", "id2", "revoked", "confidence", "lang",
                  "extensions", "granular_markings", "spec_version", "created", "objects"):
        for value in (1, "x", {"x_a": 1}, [{"id": "a--b", "type": "c"}], True):
            found.append((f"+{extra}={value!r}", {**obj, extra: value}))
    return found


@pytest.mark.slow
@pytest.mark.parametrize("obj", VALID, ids=lambda o: f"{o['type']}-{o['id'][-4:]}")
def test_each_hostile_variant_gets_the_slow_paths_verdict(obj: dict[str, Any]) -> None:
    for _label, variant in mutations(obj):
        assert_same_verdict(bundle(variant))


HOSTILE = {
    "modified before created": sdo("malware", U[1], name="x", is_family=True, modified="2020-01-01T00:00:00.000Z"),
    "valid_until before valid_from": indicator(U[0], "[ipv4-addr:value = '1.2.3.4']", valid_until="2020-01-01T00:00:00.000Z"),
    "uuid v1 id": indicator("8e2e2d2b-17d4-1cbf-938f-98ee46b3cd3f", "[ipv4-addr:value = '1.2.3.4']"),
    "uuid v5 id on a process": sco("process", "8e2e2d2b-17d4-5cbf-938f-98ee46b3cd3f", pid=4),
    "bad uuid variant": indicator("8e2e2d2b-17d4-4cbf-138f-98ee46b3cd3f", "[ipv4-addr:value = '1.2.3.4']"),
    "custom object": {"type": "x-acme-thing", "spec_version": "2.1", "id": f"x-acme-thing--{U[0]}",
                      "created": T0, "modified": T0, "object_marking_refs": [AMBER]},
    "unknown type": sdo("foo", U[0]),
    "a type named after a common schema": sdo("timestamp", U[0]),
    "a type named core": sdo("core", U[0]),
    "a bundle inside the bundle": {"type": "bundle", "id": BUNDLE_ID, "objects": [VALID[1]]},
    "spec_version 2.0": {**VALID[1], "spec_version": "2.0"},
    "no spec_version (read as STIX 2.0)": {k: v for k, v in VALID[1].items() if k != "spec_version"},
    "spec_version as a number": {**VALID[1], "spec_version": 2.1},
    "pattern_version 2.0": {**VALID[1], "pattern_version": "2.0"},
    "pattern_version as a number": {**VALID[1], "pattern_version": 2.1},
    "custom property": {**VALID[1], "x_secret": "s"},
    "bad custom _bin property": {**VALID[1], "x_acme_bin": "not base64!"},
    "observed-data with embedded observables": sdo(
        "observed-data", U[4], first_observed=T0, last_observed=T0, number_observed=1,
        objects={"0": {"type": "ipv4-addr", "value": "198.51.100.3"}}),
    "observed-data with a non-dict observable": sdo(
        "observed-data", U[4], first_observed=T0, last_observed=T0, number_observed=1,
        objects={"0": "type"}),
    "observable without type": sdo(
        "observed-data", U[4], first_observed=T0, last_observed=T0, number_observed=1,
        objects={"0": {"value": "x"}}),
    "granular marking selecting nothing": {**VALID[1], "granular_markings": [
        {"marking_ref": AMBER, "selectors": ["nothing.here"]}]},
    "bad language": {**VALID[1], "lang": "xx-nonsense"},
    "bad hash in an SCO": sco("file", U[3], hashes={"MD5": "zz"}),
    "sighting of a relationship": sdo("sighting", U[5], sighting_of_ref=f"relationship--{U[0]}"),
    "relationship to a bundle": sdo("relationship", U[4], relationship_type="x", source_ref=IND,
                                    target_ref=BUNDLE_ID),
    "empty pattern": indicator(U[0], ""),
    "non-string pattern": indicator(U[0], 5),  # type: ignore[arg-type]
    "lone surrogate in a pattern": indicator(U[0], "[ipv4-addr:value = '\ud800']"),
    "leap second": {**VALID[1], "created": "2016-12-31T23:59:60.000Z", "modified": "2016-12-31T23:59:60.000Z"},
    "february 29th of a non-leap year": {**VALID[1], "valid_from": "2100-02-29T00:00:00Z"},
    "created in year 0": {**VALID[1], "created": "0000-01-01T00:00:00.000Z"},
    "CPE not 2.3": sco("software", U[1], name="x", cpe="cpe:/a:x:y"),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_each_hostile_object_gets_the_slow_paths_verdict(name: str) -> None:
    assert_same_verdict(bundle(VALID[0], HOSTILE[name]))


def test_a_proven_indicator_in_a_bundle_of_another_version_gets_its_schema_checked() -> None:
    # proven_indicator vouches for the schema check in a bundle of STIX 2.1 only: in a
    # bundle that says 2.0 the validator checks the object against the 2.0 schemas
    assert validation.proven_indicator(VALID[1])
    for version in ("2.0", "2.1", 2.1, None):
        assert_same_verdict({**bundle(VALID[0], VALID[1]), "spec_version": version})


def test_problems_found_in_several_objects_come_in_the_slow_paths_order() -> None:
    objects = [VALID[0], HOSTILE["modified before created"], HOSTILE["custom property"],
               HOSTILE["bad hash in an SCO"], {**VALID[2], "x_a": 1, "valid_from": "x"}]
    assert len(assert_same_verdict(bundle(*objects))) >= 5


def test_where_the_slow_path_crashed_the_fast_one_refuses_with_a_located_problem() -> None:
    # stix2-validator raised its own ValidationError (the slow path let it escape) for a
    # bundle without an id or an object without a type; brackets_check() raised
    # UnboundLocalError on an empty pattern.
    no_id = {"type": "bundle", "objects": [VALID[1]]}
    assert outcome(slow_validate_bundle, no_id)[0] == "crashed"
    assert outcome(stix.validate_bundle, no_id) == (
        "refused", [("$", "a bundle needs an id and a type")])
    untyped = {k: v for k, v in VALID[1].items() if k != "type"}
    assert outcome(slow_validate_bundle, bundle(untyped))[0] == "crashed"
    assert ("$.objects[0]", "Each object in bundle must have a 'type' property.") in \
        outcome(stix.validate_bundle, bundle(untyped))[1]
    assert outcome(slow_validate_bundle, bundle(HOSTILE["empty pattern"]))[0] == "crashed"
    refused = outcome(stix.validate_bundle, bundle(HOSTILE["empty pattern"]))
    assert refused[0] == "refused"
    assert {where for where, _ in refused[1]} == {IND}


def test_a_hostile_bundle_costs_no_more_than_the_problems_kept() -> None:
    many = [{**VALID[1], "id": f"indicator--{U[0][:-3]}{n:03x}", "valid_from": "x"}
            for n in range(stix.MAX_PROBLEMS * 3)]
    with pytest.raises(SubmissionError) as caught:
        stix.validate_bundle(bundle(*many))
    assert len(caught.value.problems) == stix.MAX_PROBLEMS


# --- hypothesis: random damage to valid objects ---------------------------------------

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-10, 2**40), st.floats(allow_nan=False),
                         st.text(max_size=12), st.sampled_from([T0, IND, AMBER, "2.1", "stix", "tcp"]))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=6)
keys = st.one_of(st.sampled_from(["type", "id", "created", "modified", "spec_version", "name",
                                  "pattern", "pattern_type", "valid_from", "object_refs",
                                  "object_marking_refs", "extensions", "hashes", "value",
                                  "x_acme_bin", "x_acme_hex", "lang", "confidence"]),
                 st.text(max_size=8))


@st.composite
def damaged(draw: st.DrawFn) -> dict[str, Any]:
    obj = dict(draw(st.sampled_from(VALID[1:])))
    for _ in range(draw(st.integers(1, 3))):
        key = draw(keys)
        if draw(st.booleans()) and obj:
            obj.pop(draw(st.sampled_from(sorted(obj))))
        else:
            obj[key] = draw(json_values)
    return obj


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged())
def test_randomly_damaged_objects_get_the_slow_paths_verdict(obj: dict[str, Any]) -> None:
    assert_same_verdict(bundle(VALID[0], obj))


# --- the compiled schemas against jsonschema ------------------------------------------


def jsonschema_valid(obj: dict[str, Any], name: str, default: str) -> bool:
    errors = sv._get_error_generator(name, obj, version="2.1", default=default)
    return not list(errors)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged())
def test_a_compiled_schema_agrees_with_jsonschema_both_ways(obj: dict[str, Any]) -> None:
    kind = obj.get("type")
    assume(isinstance(kind, str))
    assert isinstance(kind, str)
    for default in ("core", "cyber-observable-core"):
        name = kind if kind in validation._PATHS else default
        check = validation._checker(name, kind == "bundle")
        assert check is not None
        assert check(obj) == jsonschema_valid(obj, kind, default)


def test_every_schema_compiles() -> None:
    assert all(validation._checker(name, name == "bundle") for name in validation._PATHS)


# --- the timestamp fast path against dateutil -----------------------------------------


def dateutil_accepts(text: str) -> bool:
    try:
        dateutil_parser.parse(text)
    except (ValueError, OverflowError):
        return False
    return True


def test_plain_timestamps_on_every_day_of_testing_years_parse_in_dateutil() -> None:
    for year in (1000, 1582, 1900, 1970, 2000, 2024, 2026, 2100, 9999):
        for month in range(14):
            for day in (0, 1, 28, 29, 30, 31, 32):
                for clock in ("00:00:00", "23:59:59", "24:00:00", "12:60:00", "12:00:60"):
                    for fraction in ("", ".0", ".123", ".123456789", ".1234567890"):
                        text = f"{year:04d}-{month:02d}-{day:02d}T{clock}{fraction}Z"
                        if validation.plain_timestamp(text):
                            assert dateutil_accepts(text), text


@settings(max_examples=400, deadline=None)
@given(st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,12})?Z\Z")
       | st.text(max_size=30))
@example("2026-04-01T09:00:00.000Z")
def test_a_timestamp_passed_as_plain_parses_in_dateutil(text: str) -> None:
    if validation.plain_timestamp(text):
        assert dateutil_accepts(text)


# --- the pattern fast path against ANTLR ----------------------------------------------

object_types = st.sampled_from(["ipv4-addr", "file", "domain-name", "url", "email-message",
                                "x-acme-thing", "true", "a", "AND", "ipv4-", "x--y"])
identifiers = st.sampled_from(["value", "name", "hashes", "MD5", "from_ref", "AND", "OR", "IN",
                               "true", "LIKE", "x_y", "_a", "a-b", "1a", "SHA-256"])
string_bodies = st.lists(st.sampled_from(["a", " ", "'", "\\", "\\'", "\\\\", "]", "[", ".",
                                         "é", "\U0001f600", "\n", "/*", "x", "\ud800"]),
                        max_size=6).map("".join)


@st.composite
def literals(draw: st.DrawFn) -> str:
    body = draw(string_bodies)
    if draw(st.booleans()):  # mostly well formed
        body = body.replace("\\", "\\\\").replace("'", "\\'")
    return "'" + body + "'"


@st.composite
def paths(draw: st.DrawFn) -> str:
    text = draw(st.one_of(identifiers, literals()))
    for _ in range(draw(st.integers(0, 3))):
        text += draw(st.one_of(
            identifiers.map(lambda i: "." + i), literals().map(lambda s: "." + s),
            st.sampled_from(["[0]", "[12]", "[*]", "[-1]", "[01]", "[+1]", "[ 0 ]", ".", "[]"])))
    return text


@st.composite
def comparisons(draw: st.DrawFn) -> str:
    kind, path, value = draw(object_types), draw(paths()), draw(literals())
    op = draw(st.sampled_from(["=", "==", "!=", "<>", "<", "<=", ">", ">=", "LIKE", "MATCHES",
                               "IN", "= =", "=>", "NOT =", "ISSUBSET"]))
    space = draw(st.sampled_from([" ", "", "  ", "\t"]))
    return f"{kind}:{path}{space}{op}{space}{value}"


@st.composite
def patterns(draw: st.DrawFn) -> str:
    observations = []
    for _ in range(draw(st.integers(1, 3))):
        inner = draw(comparisons())
        for _ in range(draw(st.integers(0, 2))):
            inner += draw(st.sampled_from([" AND ", " OR ", "AND", " and ", "  OR  "])) + draw(comparisons())
        pad = draw(st.sampled_from(["", " ", "  "]))
        observations.append(f"[{pad}{inner}{pad}]")
    joins = st.sampled_from([" AND ", " OR ", " FOLLOWEDBY ", "AND", " AND  "])
    text = observations[0]
    for other in observations[1:]:
        text += draw(joins) + other
    return text + draw(st.sampled_from(["", "", " ", " WITHIN 5 SECONDS", "]", "x"]))


def mangled(text: str, data: st.DataObject) -> str:
    if not text or not data.draw(st.booleans()):
        return text
    at = data.draw(st.integers(0, len(text)))
    return text[:at] + data.draw(st.sampled_from(["", "'", "\\", "]", "[", " ", "-", "."])) + text[at + 1:]


@settings(max_examples=500, deadline=None)
@given(patterns(), st.data())
@example("[ipv4-addr:value = '198.51.100.1']", None)
@example("[file:hashes.'SHA-256' = 'aa' OR file:hashes.MD5 = 'zz']", None)
@example("[file:name = 'a\\\\\\'b'] AND [url:value != '']", None)
@example("[file:name[-1] = 'a']", None)
def test_the_fast_pattern_path_agrees_with_antlr_when_it_answers(
        pattern: str, data: st.DataObject | None) -> None:
    if data is not None:
        pattern = mangled(pattern, data)
    try:
        errors = run_validator(pattern, "2.1")
    except Exception as crash:  # stix2patterns' inspector fails on an index like [-1]
        with pytest.raises(type(crash)):
            validation.pattern_errors(pattern, "2.1")
        assert validation.simple_pattern(pattern) is None
        return
    assert validation.pattern_errors(pattern, "2.1") == errors
    simple = validation.simple_pattern(pattern)
    if simple is None:
        return
    assert errors == object_validator.verify_object(simple)  # syntax valid: only hashes left
    assert Pattern(pattern).inspect() == simple


@settings(max_examples=150, deadline=None)
@given(patterns())
@example("[ipv4-addr:value = '' AND ipv4-addr:value[-1] = '']")
def test_the_patterns_check_and_stix2_give_their_own_verdicts(pattern: str) -> None:
    obj = indicator(U[0], pattern)

    def messages(check: Any) -> list[str] | type[Exception]:
        try:
            return [str(e) for e in check(obj, validation._OPTIONS)]
        except Exception as crash:  # stix2patterns' inspector fails on an index like [-1]
            return type(crash)
    assert messages(validation._FAST[musts.patterns]) == messages(musts.patterns)
    refused: str | None = None
    try:
        stix2.parse(obj, allow_custom=False, version="2.1")
    except validation.PARSE_FAILURES as error:
        refused = str(error)
    assert validation.stix2_problem(obj) == refused


def test_a_fast_path_pattern_is_common_and_the_rest_reach_antlr() -> None:
    assert validation.simple_pattern("[ipv4-addr:value = '198.51.100.1']") is not None
    for other in ("[ipv4-addr:value = '1.2.3.4'] WITHIN 5 SECONDS", "([a:b = 'c'])",
                  "[a:b NOT = 'c']", "[a:b = 5]", "[a:b IN ('c')]", "[a:b = 'c'] FOLLOWEDBY [a:b = 'd']",
                  " [a:b = 'c']", "[a:b = 'c'] ", "[a:AND = 'c']", "[true:b = 'c']", "[a:b-c = 'd']"):
        assert validation.simple_pattern(other) is None, other


def test_timestamps_reach_dateutil_unless_plain() -> None:
    assert validation.plain_timestamp(T0)
    assert validation.plain_timestamp("2024-02-29T23:59:59.123456789Z")
    for other in ("2023-02-29T00:00:00Z", "2016-12-31T23:59:60Z", "0999-01-01T00:00:00Z",
                  T0 + "\n", "2026-04-01T09:00:00.0000000000Z", "２０２６-04-01T09:00:00Z"):
        assert not validation.plain_timestamp(other), other
    assert datetime.fromisoformat(T0.replace("Z", "+00:00")).year == 2026


@pytest.mark.parametrize("obj", VALID[:6] + VALID[7:], ids=lambda o: f"{o['type']}-{o['id'][-4:]}")
def test_valid_objects_are_proven_clean_without_the_slow_path(obj: dict[str, Any]) -> None:
    # not a timing test: the fast path must answer for ordinary objects, or it saves nothing
    assert validation.schema_clean(obj, "2.1")
    assert validation.stix2_problem(obj) is None
    pattern = obj.get("pattern", "")
    if obj.get("pattern_type") == "stix" and "WITHIN" not in pattern:
        assert validation.simple_pattern(pattern) is not None
