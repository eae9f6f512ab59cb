"""renkei's own detection rules: YAML data in ``logs/rules/``, loaded and checked here.

A rule is a regular expression over the *normalised* text of one or more request fields
(see ``normalise``), so one pattern covers every encoding of the same payload. Patterns
must compile both with Python's ``re`` (reference engine) and with Hyperscan (hot path),
which rules out look-arounds and back-references.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

import yaml

from renkei.logs.model import Category, Severity
from renkei.logs.normalise import normalise

FIELDS = ("target", "referer", "ua")
RULES_DIR = Path(str(files("renkei.logs"))) / "rules"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,80}$")
_METHOD = re.compile(r"^[A-Z]{1,20}$")


class RuleError(ValueError):
    """A rule file or rule is invalid; the message names the file and the rule."""


@dataclass(frozen=True)
class Rule:
    id: str
    category: Category
    severity: Severity
    fields: tuple[str, ...]
    pattern: str
    title_en: str
    title_ja: str
    source: str
    tests_match: tuple[str, ...] = ()
    tests_no_match: tuple[str, ...] = ()
    compiled: re.Pattern[bytes] = field(compare=False, repr=False, default=re.compile(b""))
    methods: tuple[str, ...] = ()  # only requests with these methods; empty: any

    def title(self, lang: str) -> str:
        return self.title_ja if lang == "ja" and self.title_ja else self.title_en


@dataclass(frozen=True)
class RuleTestFailure:
    rule: str
    sample: str
    expected: bool


def _titles(value: object, where: str) -> tuple[str, str]:
    if isinstance(value, str):
        return value, ""
    if isinstance(value, dict) and isinstance(value.get("en"), str):
        return value["en"], str(value.get("ja", ""))
    raise RuleError(f"{where}: title must be a string or {{en: ..., ja: ...}}")


def _strings(value: object, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise RuleError(f"{where}: expected a list of strings")


def parse_rule(data: object, source: str) -> Rule:
    if not isinstance(data, dict):
        raise RuleError(f"{source}: each rule must be a mapping")
    rule_id = data.get("id")
    where = f"{source}: rule {rule_id!r}"
    if not isinstance(rule_id, str) or not _ID.match(rule_id):
        raise RuleError(f"{where}: id must be 2-81 letters, digits, '.', '_' or '-'")
    unknown = set(data) - {"id", "title", "category", "severity", "fields", "pattern", "tests",
                           "methods"}
    if unknown:
        raise RuleError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    try:
        category = Category(str(data.get("category")))
        severity = Severity(str(data.get("severity")))
    except ValueError as exc:
        raise RuleError(f"{where}: {exc}") from exc
    fields = tuple(data.get("fields") or ("target",))
    if not fields or any(f not in FIELDS for f in fields):
        raise RuleError(f"{where}: fields must be among {', '.join(FIELDS)}")
    pattern = data.get("pattern")
    if not isinstance(pattern, str) or not pattern:
        raise RuleError(f"{where}: pattern must be a non-empty string")
    try:
        compiled = re.compile(pattern.encode(), re.MULTILINE)
    except re.error as exc:
        raise RuleError(f"{where}: pattern does not compile: {exc}") from exc
    if compiled.search(b""):
        raise RuleError(f"{where}: pattern matches the empty string")
    methods = _strings(data.get("methods"), f"{where} methods")
    if any(not _METHOD.match(m) for m in methods):
        raise RuleError(f"{where}: methods must be HTTP methods in capitals, e.g. [GET, HEAD]")
    title_en, title_ja = _titles(data.get("title", rule_id), where)
    tests = data.get("tests") or {}
    if not isinstance(tests, dict):
        raise RuleError(f"{where}: tests must be a mapping with match / no_match lists")
    return Rule(
        id=rule_id, category=category, severity=severity, fields=fields, pattern=pattern,
        title_en=title_en, title_ja=title_ja, source=source,
        tests_match=_strings(tests.get("match"), f"{where} tests.match"),
        tests_no_match=_strings(tests.get("no_match"), f"{where} tests.no_match"),
        compiled=compiled,
        methods=methods,
    )


def load_rule_file(path: Path) -> list[Rule]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise RuleError(f"{path}: not valid YAML: {exc}") from exc
    items = data.get("rules") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise RuleError(f"{path}: expected a mapping with a 'rules' list")
    return [parse_rule(item, path.name) for item in items]


def load_rules(paths: list[Path] | None = None) -> list[Rule]:
    """Load the bundled rules (default) or the given files/folders; ids must be unique."""
    targets = paths or [RULES_DIR]
    rules: list[Rule] = []
    for target in targets:
        files_ = sorted(target.glob("*.yaml")) if target.is_dir() else [target]
        for path in files_:
            rules.extend(load_rule_file(path))
    seen: dict[str, str] = {}
    for rule in rules:
        if rule.id in seen:
            raise RuleError(f"{rule.source}: rule id {rule.id!r} already defined in {seen[rule.id]}")
        seen[rule.id] = rule.source
    return rules


def rule_matches(rule: Rule, raw: str) -> bool:
    return rule.compiled.search(normalise(raw.encode("utf-8", "surrogateescape"))) is not None


def run_rule_tests(rules: list[Rule]) -> list[RuleTestFailure]:
    """Each rule's own examples, through the reference normaliser and ``re``."""
    failures: list[RuleTestFailure] = []
    for rule in rules:
        failures.extend(
            RuleTestFailure(rule.id, s, True) for s in rule.tests_match if not rule_matches(rule, s)
        )
        failures.extend(
            RuleTestFailure(rule.id, s, False) for s in rule.tests_no_match if rule_matches(rule, s)
        )
    return failures
