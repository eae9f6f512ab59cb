"""Sigma rules for web-server logs: loading, matching, reporting bad rules, robustness."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from renkei.logs.model import Category, Severity
from renkei.logs.sigma import (
    FIELD_COLUMNS,
    FRAGMENT_LIMIT,
    SigmaMatch,
    SigmaRuleSet,
    load_sigma_rules,
)

FILES = Path(__file__).parent / "files" / "sigma"
SHARED_WEB_RULES = (
    Path(__file__).resolve().parents[3] / "shared" / "data" / "sigma" / "rules" / "web"
)

SQLI = "0d6f1c2e-8a44-4f6b-9d1e-2b7a5c3e9f01"
TRAVERSAL = "5b0e3a9c-1f7d-4c2a-8e6b-7d9f0a1b2c03"
SCANNER = "scanner_regex#1"  # the fixture has no id: file stem and position stand in
ERRORS = "9e8d7c6b-5a49-4382-a1b0-c9d8e7f6a504"
MODIFIERS = "3c2b1a09-8f7e-4d6c-b5a4-938271605f05"

STRING_COLUMNS = ("src", "method", "target", "protocol", "referer", "user_agent", "host")


def records(*rows: dict[str, Any]) -> pl.DataFrame:
    """A batch as the log reader hands it over; path and query are cut from target."""
    full = []
    for row in rows:
        record: dict[str, Any] = {
            "src": "198.51.100.7",
            "method": "GET",
            "target": "/",
            "protocol": "HTTP/1.1",
            "status": 200,
            "size": 512,
            "referer": "-",
            "user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
            "host": "",
        }
        record.update(row)
        path, _, query = record["target"].partition("?")
        full.append(record | {"path": path, "query": query})
    schema = dict.fromkeys((*STRING_COLUMNS, "path", "query"), pl.String)
    return pl.DataFrame(full, schema=schema | {"status": pl.Int64, "size": pl.Int64})


@functools.cache
def fixture_rules() -> SigmaRuleSet:
    return load_sigma_rules([FILES])


def found(matches: list[SigmaMatch]) -> list[tuple[int, str, str, str]]:
    return [(m.row, m.rule_id, m.field, m.fragment) for m in matches]


BATCH = records(
    {"target": "/index.html", "host": "shop.example"},
    {"target": "/item.php?id=1%20UNION%20SELECT%201,2", "host": "shop.example"},
    {"target": "/item.php?id=1%20union%20select%201", "status": 404},
    {"target": "/search?q=shoes", "status": None, "referer": "http://evil.example/?q=' or '1'='1"},
    {"src": "203.0.113.9", "target": "/static/../../etc/passwd", "status": 400},
    {"src": "10.20.30.40", "target": "/static/../../etc/passwd", "status": 400},
    {"src": "203.0.113.9", "target": "/download?file=..%2F..%2Fetc%2Fpasswd"},
    {"src": "203.0.113.9", "target": "/download?file=report.pdf"},
    {"user_agent": "sqlmap/1.7.2#stable (https://sqlmap.org)"},
    {"user_agent": "SQLMap/1.7"},
    {"target": "/admin/reports", "status": 503},
    {"target": "/ADMIN/login", "status": 500},
    {"target": "/admin", "status": 499},
    {"target": "/dl?c=cG93ZXJzaGVsbCAtZW5j", "host": "shop.example"},
    {"referer": "http://x.example/Dropper", "host": "shop.example"},
    {"referer": "http://x.example/dropper", "host": "shop.example"},
    {"target": "/x?run=/enc abc", "host": "shop.example"},
    {"target": "/x?run=-enc abc", "host": "-"},
)


def test_fixture_rules_match_exactly_the_expected_rows() -> None:
    assert found(fixture_rules().evaluate(BATCH)) == [
        (1, SQLI, "target", "UNION%20SELECT"),  # keyword, case-insensitive
        (3, SQLI, "referer", "' or '1'='1"),  # keyword in the referer; null status is no 404
        (4, TRAVERSAL, "path", "/../"),  # 1 of sel_*: the path one
        (6, TRAVERSAL, "target", "file="),  # contains|all, both values present
        (8, SCANNER, "user_agent", "sqlmap/1.7.2"),  # |re, the matched text
        (10, ERRORS, "path", "/admin"),  # gte 500 and startswith; the text field is reported
        (11, ERRORS, "path", "/ADMIN"),
        (13, MODIFIERS, "target", "cG93ZXJzaGVsb"),  # base64offset of "powershell"
        (14, MODIFIERS, "referer", "/Dropper"),  # cased endswith
        (16, MODIFIERS, "target", "/enc "),  # windash: "-enc " also as "/enc "
    ]
    # Not matched on purpose: 2 (404 filtered), 5 (10/8 filtered), 7 (only one of |all),
    # 9 (|re is case-sensitive), 12 (499), 15 (|cased), 17 (host "-" does not exist).


def test_fixture_rules_carry_category_and_level() -> None:
    rules = {rule.rule_id: rule for rule in fixture_rules().rules}
    assert {key: (rule.category, rule.level, rule.severity) for key, rule in rules.items()} == {
        SQLI: (Category.SQLI, "high", Severity.HIGH),
        TRAVERSAL: (Category.TRAVERSAL, "medium", Severity.MEDIUM),
        SCANNER: (Category.SCANNER, "low", Severity.LOW),
        ERRORS: (Category.ERROR_ANOMALY, "informational", Severity.INFO),  # renkei_category
        MODIFIERS: (Category.CODE_INJECTION, "medium", Severity.MEDIUM),  # no hint, no level
    }
    match = next(m for m in fixture_rules().evaluate(BATCH) if m.rule_id == ERRORS)
    assert (match.title, match.category, match.severity) == (
        "Server errors on admin pages",
        Category.ERROR_ANOMALY,
        Severity.INFO,
    )


def test_bad_rules_are_reported_with_their_path_and_skipped() -> None:
    errors = {Path(e.path).name: e.reason for e in fixture_rules().errors}
    assert set(errors) == {
        "broken.yml",
        "unknown_field.yml",
        "lookaround.yml",
        "process_creation.yml",
        "bad_category.yml",
    }
    assert errors["broken.yml"].startswith("not valid YAML")
    assert "line 6" in errors["broken.yml"]
    assert "field 'cs-cookie'" in errors["unknown_field.yml"]
    assert "regular expression" in errors["lookaround.yml"].lower()
    assert "process_creation" in errors["process_creation.yml"]
    assert "sql-injection" in errors["bad_category.yml"]
    assert all(Path(e.path).is_file() for e in fixture_rules().errors)


def test_files_and_missing_paths_can_be_named_directly() -> None:
    ruleset = load_sigma_rules([FILES / "scanner_regex.yml", FILES / "nowhere"])
    assert [rule.rule_id for rule in ruleset.rules] == [SCANNER]
    assert [(Path(e.path).name, e.reason) for e in ruleset.errors] == [
        ("nowhere", "no such file or folder")
    ]


def test_empty_or_partial_batches() -> None:
    assert fixture_rules().evaluate(BATCH.clear()) == []
    assert load_sigma_rules([]).evaluate(BATCH) == []
    # a batch without the optional columns: they read as empty
    only_target = pl.DataFrame({"target": ["/a?x=union%20select%201"]})
    assert found(fixture_rules().evaluate(only_target)) == [(0, SQLI, "target", "union%20select")]


def write_rule(folder: Path, detection: dict[str, Any], **top: Any) -> Path:
    rule = {"title": "Test rule", "logsource": {"category": "webserver"}} | top
    path = folder / "rule.yml"
    path.write_text(yaml.safe_dump(rule | {"detection": detection}), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("title", "tags", "category"),
    [
        ("Log4j RCE via JNDI lookup", [], Category.JAVA),
        ("Shellshock probe", [], Category.SHELLSHOCK),
        ("Possible SSTI payload", [], Category.SSTI),
        ("Cross-site scripting in search", [], Category.XSS),
        ("Local file inclusion", [], Category.TRAVERSAL),
        ("Remote file inclusion", [], Category.RFI),
        ("OS command injection", [], Category.CMDI),
        ("Exposed .env file requested", [], Category.SENSITIVE_FILE),
        ("Hacktool user agent", [], Category.SCANNER),
        ("Unusual strings in URI", ["attack.t1505.003"], Category.CODE_INJECTION),
        ("Something odd", [], Category.CODE_INJECTION),
    ],
)
def test_category_from_title_and_tags(
    tmp_path: Path, title: str, tags: list[str], category: Category
) -> None:
    detection = {"selection": {"cs-method": "GET"}, "condition": "selection"}
    ruleset = load_sigma_rules([write_rule(tmp_path, detection, title=title, tags=tags)])
    assert [rule.category for rule in ruleset.rules] == [category]


@pytest.mark.parametrize(
    ("detection", "rows"),
    [
        ({"s": {"c-ip|cidr": "192.168.0.0/16"}}, [1]),
        ({"s": {"C-IP|cidr": "2001:db8::/32"}}, [3]),  # field names are case-insensitive
        ({"s": {"sc-status|lt": 300, "sc-bytes|gt": 100}}, [0]),
        ({"s": {"sc-status": [200, 404]}}, [0, 2]),
        ({"s": {"sc-status": "2*"}}, [0]),  # a wildcard string on a number field
        ({"s": {"cs-referer": None}}, [0, 1, 3]),  # null: null, empty or "-"
        ({"s": {"cs-referer|exists": True}}, [2]),
        ({"s": {"cs-uri|startswith": "/api/"}}, [1, 2]),
        ({"s": {"url": "/api/v?/users*"}}, [1]),  # "?" is one character
        ({"s": {"cs-user-agent|re|i": "^curl/"}}, [2]),
        ({"s": {"cs-uri-query|contains": "a.b"}}, [1]),  # "." is literal, "axb" is no match
        ({"s": {"cs-method": "post"}, "f": {"cs-version": "HTTP/2"}}, [2]),
    ],
)
def test_modifiers_and_fields(tmp_path: Path, detection: dict[str, Any], rows: list[int]) -> None:
    batch = records(
        {"src": "10.0.0.1", "status": 200, "size": 4096, "referer": ""},
        {"src": "192.168.3.4", "target": "/api/v2/users?r=a.b", "status": None, "size": None},
        {
            "method": "POST",
            "target": "/api/v10/users",
            "status": 404,
            "referer": "http://a/",
            "user_agent": "CURL/8.5",
            "protocol": "HTTP/1.1",
        },
        {"src": "2001:db8::7", "target": "/?q=axb", "status": 500},
    )
    condition = "s and not f" if "f" in detection else "s"
    ruleset = load_sigma_rules([write_rule(tmp_path, detection | {"condition": condition})])
    assert ruleset.errors == []
    assert [m.row for m in ruleset.evaluate(batch)] == rows


@pytest.mark.parametrize(
    ("condition", "rows"),
    [
        ("all of them", [2]),
        ("all of sel_* and not filter", [1]),
        ("not (sel_get or filter)", [3]),
        ("1 of sel_* and filter", [0, 2]),
    ],
)
def test_conditions(tmp_path: Path, condition: str, rows: list[int]) -> None:
    detection = {
        "sel_get": {"cs-method": "GET"},
        "sel_x": {"cs-uri|contains": "x"},
        "filter": {"c-ip|cidr": "10.0.0.0/8"},
        "condition": condition,
    }
    batch = records(
        {"src": "10.0.0.1", "target": "/a"},
        {"src": "192.0.2.1", "target": "/x"},
        {"src": "10.9.9.9", "target": "/x"},
        {"src": "192.0.2.1", "method": "POST", "target": "/a"},
    )
    ruleset = load_sigma_rules([write_rule(tmp_path, detection)])
    assert [m.row for m in ruleset.evaluate(batch)] == rows


@pytest.mark.parametrize(
    ("detection", "reason"),
    [
        ({"s": {"cs-uri|gt": 3}}, "numeric comparison"),
        ({"s": {"cs-cookie": "x"}}, "field 'cs-cookie'"),
        ({"s": {"cs-uri|fieldref": "cs-host"}}, "SigmaFieldReference"),
        ({"s": {"sc-status|cidr": "10.0.0.0/8"}}, "CIDR"),
    ],
)
def test_unsupported_detections_are_errors(
    tmp_path: Path, detection: dict[str, Any], reason: str
) -> None:
    ruleset = load_sigma_rules([write_rule(tmp_path, detection | {"condition": "s"})])
    assert ruleset.rules == []
    assert len(ruleset.errors) == 1
    assert reason in ruleset.errors[0].reason


def test_fragment_is_truncated(tmp_path: Path) -> None:
    detection = {"s": {"cs-uri|contains": "a*z"}, "condition": "s"}
    batch = records({"target": "/" + "a" * 500 + "z"})
    (match,) = load_sigma_rules([write_rule(tmp_path, detection)]).evaluate(batch)
    assert (match.field, match.fragment) == ("target", "a" * FRAGMENT_LIMIT)


def test_every_mapped_field_is_usable(tmp_path: Path) -> None:
    detection = {f"s{i}": {name: "x"} for i, name in enumerate(FIELD_COLUMNS)}
    ruleset = load_sigma_rules([write_rule(tmp_path, detection | {"condition": "1 of them"})])
    assert ruleset.errors == []
    assert ruleset.evaluate(BATCH) == []


@pytest.mark.skipif(not SHARED_WEB_RULES.is_dir(), reason="shared Sigma rules not present")
def test_most_shared_webserver_rules_load() -> None:
    webserver = []
    for path in sorted(SHARED_WEB_RULES.rglob("*.y*ml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        logsource = document.get("logsource") if isinstance(document, dict) else None
        if isinstance(logsource, dict) and logsource.get("category") == "webserver":
            webserver.append(path)
    ruleset = load_sigma_rules(webserver)
    failures = "\n".join(f"{e.path}: {e.reason}" for e in ruleset.errors)
    assert webserver
    assert len(ruleset.rules) >= 0.8 * len(webserver), failures
    check(ruleset.evaluate(BATCH), BATCH)


# --- robustness -------------------------------------------------------------------------

TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40)
NUMBER = st.none() | st.integers(min_value=-(2**63), max_value=2**63 - 1)


@st.composite
def random_batches(draw: st.DrawFn) -> pl.DataFrame:
    size = draw(st.integers(min_value=0, max_value=8))
    data: dict[str, Any] = {}
    for name in (*STRING_COLUMNS, "path", "query"):
        data[name] = draw(st.lists(st.none() | TEXT, min_size=size, max_size=size))
    for name in ("status", "size"):
        data[name] = draw(st.lists(NUMBER, min_size=size, max_size=size))
    schema = dict.fromkeys((*STRING_COLUMNS, "path", "query"), pl.String)
    return pl.DataFrame(data, schema=schema | {"status": pl.Int64, "size": pl.Int64})


def check(matches: list[SigmaMatch], batch: pl.DataFrame) -> None:
    for match in matches:
        assert 0 <= match.row < batch.height
        assert len(match.fragment) <= FRAGMENT_LIMIT


@settings(max_examples=150, deadline=None)
@given(batch=random_batches())
def test_random_records_never_raise(batch: pl.DataFrame) -> None:
    check(fixture_rules().evaluate(batch), batch)


MODIFIERS_CHOICES = ["", "|contains", "|startswith", "|endswith", "|re", "|cased",
                     "|contains|all", "|re|i", "|base64offset|contains", "|windash"]  # fmt: skip


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    field=st.sampled_from([*FIELD_COLUMNS, "", "Image"]),
    modifier=st.sampled_from(MODIFIERS_CHOICES),
    values=st.lists(TEXT, min_size=1, max_size=3),
    batch=random_batches(),
)
def test_random_rules_never_raise(
    field: str, modifier: str, values: list[str], batch: pl.DataFrame
) -> None:
    detection = {"s": {field + modifier: values} if field or modifier else values}
    with tempfile.TemporaryDirectory() as folder:
        ruleset = load_sigma_rules([write_rule(Path(folder), detection | {"condition": "s"})])
    assert len(ruleset.rules) + len(ruleset.errors) == 1
    check(ruleset.evaluate(batch), batch)
