"""Run Sigma rules for web-server logs over a batch of access-log records.

pySigma parses the rules but has no engine, so each rule's condition tree (already
resolved by pySigma: selectors expanded, modifiers applied to the values) is
translated here into one polars expression and evaluated once over the whole batch,
beside renkei's own rules. Nothing runs per row in Python.

Which rules load: ``logsource: category: webserver`` (any product), or
``category: accesslog`` with ``product: apache|nginx|iis``. Any other rule, a rule
naming a field the records do not have, a correlation or filter document, a regular
expression the Rust engine behind polars cannot compile (look-around, back-references)
and a value type with no meaning for access logs (field references, placeholders,
timestamp parts) is reported in ``SigmaRuleSet.errors`` with its file and skipped.

Matching semantics:

- Field names are case-insensitive and map to record columns through ``FIELD_COLUMNS``.
- Strings match the whole value, wildcards ``*``/``?`` apart, case-insensitively unless
  ``|cased``; ``|re`` is a search anywhere in the value, case-sensitive unless ``|i``.
- Keywords (values without a field) match anywhere in ``target``, ``referer`` or
  ``user_agent``, as Sigma keywords are a full-text search.
- ``null`` matches an absent value: null, empty, or ``-`` as access logs write it;
  ``|exists: true`` is the opposite. ``|cidr`` compares IPv4 addresses as numbers
  (IPv6 by pySigma's prefix patterns). ``|gt``/``|gte``/``|lt``/``|lte`` need ``status``
  or ``size``.
- A match reports the field and text of the first test that matched outside a ``not``,
  request-payload fields (target, path, query, user agent, referer) before the others,
  so that an SQLi rule shows the injected text rather than ``GET``. A non-text test
  reports the field's value; fragments are cut to ``FRAGMENT_LIMIT`` characters.

Category: a rule may name it with a custom top-level ``renkei_category: <value>`` (an
unknown value is a load error). Otherwise the title, then the tags, then the
description are searched, and the first text with a hit decides, checked in this order:

==================  =====================================================
category            words (case-insensitive)
==================  =====================================================
shellshock          shellshock
java                JNDI, log4j, log4shell, java, spring
ssti                template, SSTI
sqli                SQL, SQLi
xss                 XSS, cross-site scripting
rfi                 remote file inclusion, RFI
traversal           traversal, LFI, file inclusion, local file
cmdi                command, RCE, exec…
sensitive-file      .env, .git, backup, config file, source code
scanner             scanner, scan, user agent, hacktool, HKTL, recon, fuzz…
code-injection      webshell, PHP, code injection, exploit, ATT&CK T1505.003
==================  =====================================================

Specific technologies come first so that "Log4j RCE" is java, not cmdi; a rule with
no hit is code-injection. A match carries the Sigma ``level`` as written and its
``severity`` through ``SIGMA_LEVELS`` (informational → info); a rule without a level
is medium.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Network
from pathlib import Path

import polars as pl
import yaml
from sigma.collection import SigmaCollection
from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule
from sigma.types import (
    CompareOperators,
    Placeholder,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaType,
    SpecialChars,
)

from renkei.logs.model import Category, Severity

__all__ = [
    "FIELD_COLUMNS",
    "SIGMA_LEVELS",
    "SigmaLoadError",
    "SigmaMatch",
    "SigmaRuleSet",
    "SigmaWebRule",
    "load_sigma_rules",
]

STRING_COLUMNS = (
    "src", "method", "target", "path", "query", "protocol", "referer", "user_agent", "host",
)  # fmt: skip
NUMERIC_COLUMNS = ("status", "size")
KEYWORD_COLUMNS = ("target", "referer", "user_agent")
# Where an attack's text usually is: preferred when choosing what to report as fragment.
PAYLOAD_COLUMNS = frozenset({"target", "path", "query", "user_agent", "referer"})
FRAGMENT_LIMIT = 200

FIELD_COLUMNS: dict[str, str] = {
    "c-ip": "src",
    "cs-method": "method",
    "cs-uri-stem": "path",
    "cs-uri-query": "target",
    "cs-uri": "target",
    "c-uri": "target",
    "uri": "target",
    "url": "target",
    "sc-status": "status",
    "cs-user-agent": "user_agent",
    "c-useragent": "user_agent",
    "user-agent": "user_agent",
    "useragent": "user_agent",
    "cs-referrer": "referer",
    "cs-referer": "referer",
    "referer": "referer",
    "cs-host": "host",
    "host": "host",
    "cs-version": "protocol",
    "sc-bytes": "size",
    "cs-bytes": "size",
}
"""Sigma web field name (lower case) → record column."""

SIGMA_LEVELS: dict[str, Severity] = {
    "informational": Severity.INFO,
    "low": Severity.LOW,
    "medium": Severity.MEDIUM,
    "high": Severity.HIGH,
    "critical": Severity.CRITICAL,
}

_CATEGORY_WORDS: tuple[tuple[Category, re.Pattern[str]], ...] = tuple(
    (category, re.compile(words, re.IGNORECASE))
    for category, words in (
        (Category.SHELLSHOCK, r"shellshock"),
        (Category.JAVA, r"\bjndi|log4j|log4shell|\bjava\b|\bspring"),
        (Category.SSTI, r"template|\bssti\b"),
        (Category.SQLI, r"\bsqli?\b"),
        (Category.XSS, r"\bxss\b|cross[- ]site[- ]script"),
        (Category.RFI, r"remote file inclusion|\brfi\b"),
        (Category.TRAVERSAL, r"travers|\blfi\b|file inclusion|local file"),
        (Category.CMDI, r"command|\brce\b|\bexec"),
        (Category.SENSITIVE_FILE, r"\.env\b|\.git\b|backup|config(?:uration)? file|source code"),
        (Category.SCANNER, r"scanner|\bscan|user[- ]?agent|hack ?tool|\bhktl\b|\brecon|fuzz"),
        (Category.CODE_INJECTION, r"web ?shell|\bphp\b|code injection|exploit|t1505\.003"),
    )
)

_ROW = "__renkei_row"
_IPV4 = r"^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})$"
_ABSENT = ("", "-")


@dataclass(frozen=True)
class SigmaMatch:
    """One Sigma rule matching one record (``row`` is the DataFrame position).

    ``level`` is the rule's Sigma level as written (``informational`` … ``critical``);
    ``severity`` is renkei's reading of it.
    """

    row: int
    rule_id: str
    title: str
    level: str
    category: Category
    field: str
    fragment: str

    @property
    def severity(self) -> Severity:
        return SIGMA_LEVELS.get(self.level, Severity.MEDIUM)


@dataclass(frozen=True)
class SigmaLoadError:
    """A rule file, or one rule in it, that was skipped, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class SigmaWebRule:
    """A Sigma rule compiled into polars expressions, ready to run over a batch."""

    rule_id: str
    title: str
    level: str
    category: Category
    path: str
    condition: pl.Expr = field(repr=False, compare=False)
    located_field: pl.Expr = field(repr=False, compare=False)
    fragment: pl.Expr = field(repr=False, compare=False)

    @property
    def severity(self) -> Severity:
        return SIGMA_LEVELS.get(self.level, Severity.MEDIUM)


@dataclass
class SigmaRuleSet:
    """The rules that loaded and the ones that did not; evaluate runs the former."""

    rules: list[SigmaWebRule] = field(default_factory=list)
    errors: list[SigmaLoadError] = field(default_factory=list)

    def evaluate(self, records: pl.DataFrame) -> list[SigmaMatch]:
        """Every (row, rule) match, ordered by row then by rule load order."""
        if not self.rules or records.height == 0:
            return []
        frame = _conform(records)
        masks = frame.select(rule.condition.alias(str(i)) for i, rule in enumerate(self.rules))
        indexed = frame.with_row_index(_ROW)
        matches: list[SigmaMatch] = []
        for i, rule in enumerate(self.rules):
            mask = masks.get_column(str(i))
            if not mask.any():
                continue
            located = indexed.filter(mask).select(
                pl.col(_ROW), rule.located_field.alias("field"), rule.fragment.alias("fragment")
            )
            matches.extend(
                SigmaMatch(row, rule.rule_id, rule.title, rule.level, rule.category, col, text)
                for row, col, text in located.iter_rows()
            )
        matches.sort(key=operator.attrgetter("row"))
        return matches


def load_sigma_rules(paths: Sequence[Path]) -> SigmaRuleSet:
    """Load rule files and folders (recursive ``*.yml``/``*.yaml``); a bad file never raises."""
    ruleset = SigmaRuleSet()
    for path in _rule_files(paths, ruleset.errors):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            ruleset.errors.append(SigmaLoadError(str(path), f"cannot read: {error}"))
            continue
        _load_text(text, path, ruleset)
    return ruleset


def _rule_files(paths: Sequence[Path], errors: list[SigmaLoadError]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            found = {p for pattern in ("*.yml", "*.yaml") for p in path.rglob(pattern)}
            yield from sorted(p for p in found if p.is_file())
        elif path.is_file():
            yield path
        else:
            errors.append(SigmaLoadError(str(path), "no such file or folder"))


def _load_text(text: str, path: Path, ruleset: SigmaRuleSet) -> None:
    where = str(path)
    try:
        collection = SigmaCollection.from_yaml(text, collect_errors=True)
    except yaml.YAMLError as error:
        ruleset.errors.append(SigmaLoadError(where, f"not valid YAML: {_yaml_problem(error)}"))
        return
    except Exception as error:  # one odd file must not stop the others
        ruleset.errors.append(SigmaLoadError(where, f"not a Sigma rule: {_first_line(error)}"))
        return
    reported: list[SigmaError] = []
    for number, rule in enumerate(collection.rules, start=1):
        if not isinstance(rule, SigmaRule):
            kind = type(rule).__name__.removeprefix("Sigma")
            ruleset.errors.append(SigmaLoadError(where, f"{kind} documents are not supported"))
            continue
        if rule.errors:
            reported.extend(rule.errors)
            reason = "; ".join(_first_line(e) for e in rule.errors)
            ruleset.errors.append(SigmaLoadError(where, f"invalid Sigma rule: {reason}"))
            continue
        try:
            ruleset.rules.append(_compile_rule(rule, path, number))
        except _UnsupportedRuleError as error:
            ruleset.errors.append(SigmaLoadError(where, str(error)))
        except Exception as error:  # pySigma raises many types
            ruleset.errors.append(SigmaLoadError(where, _first_line(error)))
    for problem in collection.errors:
        if not any(problem is seen for seen in reported):
            reason = f"invalid Sigma file: {_first_line(problem)}"
            ruleset.errors.append(SigmaLoadError(where, reason))
    if not collection.rules and not collection.errors:
        ruleset.errors.append(SigmaLoadError(where, "no Sigma rule in file"))


def _yaml_problem(error: yaml.YAMLError) -> str:
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        return f"{error.problem} (line {mark.line + 1}, column {mark.column + 1})"
    return _first_line(error)


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0][:300]


class _UnsupportedRuleError(Exception):
    """A rule pySigma accepts but that cannot run on web-server records."""


def _compile_rule(rule: SigmaRule, path: Path, number: int) -> SigmaWebRule:
    _check_logsource(rule)
    category = _category(rule)
    compiler = _Compiler()
    trees = [condition.parse() for condition in rule.detection.parsed_condition]
    if any(tree is None for tree in trees):
        raise _UnsupportedRuleError("condition selects no detection")
    condition = functools.reduce(operator.or_, (compiler.expr(t, positive=True) for t in trees))
    located_field, fragment = compiler.location()
    try:  # polars compiles regexes lazily: surface engine errors now, not mid-scan
        _PROBE.select(condition.alias("c"), located_field.alias("f"), fragment.alias("t"))
    except pl.exceptions.PolarsError as error:
        lines = str(error).splitlines()
        if "regex" not in str(error):
            raise _UnsupportedRuleError(f"cannot be evaluated: {lines[0][:300]}") from error
        detail = next((ln for ln in lines if ln.startswith("error:")), "")
        raise _UnsupportedRuleError(
            f"regular expression not supported by the matching engine {detail}".strip()
        ) from error
    rule_id = str(rule.id) if rule.id else f"{path.stem}#{number}"
    level = str(rule.level).lower() if rule.level else "medium"
    return SigmaWebRule(
        rule_id, rule.title, level, category, str(path), condition, located_field, fragment
    )


def _check_logsource(rule: SigmaRule) -> None:
    source = rule.logsource
    category = (source.category or "").lower()
    product = (source.product or "").lower()
    if category == "webserver" or (
        category == "accesslog" and product in {"apache", "nginx", "iis"}
    ):
        return
    described = ", ".join(
        f"{key}={value}"
        for key, value in (
            ("category", source.category),
            ("product", source.product),
            ("service", source.service),
        )
        if value
    )
    raise _UnsupportedRuleError(
        f"logsource ({described or 'empty'}) is not a web-server access log"
    )


def _category(rule: SigmaRule) -> Category:
    explicit = rule.custom_attributes.get("renkei_category")
    if explicit is not None:
        try:
            return Category(str(explicit).strip().lower())
        except ValueError:
            known = ", ".join(c.value for c in Category)
            raise _UnsupportedRuleError(
                f"renkei_category '{explicit}' is not one of: {known}"
            ) from None
    texts = (rule.title, " ".join(str(tag) for tag in rule.tags), rule.description or "")
    for text in texts:
        for category, words in _CATEGORY_WORDS:
            if words.search(text):
                return category
    return Category.CODE_INJECTION


# --- translation of the condition tree -------------------------------------------------


@dataclass(frozen=True)
class _Pattern:
    """A regex test on one or more columns; patterns with equal columns and flags merge."""

    columns: tuple[str, ...]
    flags: str
    regex: str


@dataclass(frozen=True)
class _Check:
    """Any other test (null, exists, number, CIDR): a ready boolean expression."""

    column: str
    expr: pl.Expr = field(compare=False)


_Test = _Pattern | _Check
_Leaf = ConditionFieldEqualsValueExpression | ConditionValueExpression


class _Compiler:
    """Turns one rule's condition trees into an expression and remembers fragment hints."""

    def __init__(self) -> None:
        # (column, expression giving the matched text or null), in condition order
        self.hints: list[tuple[str, pl.Expr]] = []

    def expr(self, node: object, *, positive: bool) -> pl.Expr:
        if isinstance(node, ConditionNOT):
            return ~self.expr(node.args[0], positive=not positive)
        if isinstance(node, ConditionAND):
            return _all(self.expr(arg, positive=positive) for arg in node.args)
        if isinstance(node, ConditionOR):
            leaves = [arg for arg in node.args if isinstance(arg, _Leaf)]
            others = [arg for arg in node.args if not isinstance(arg, _Leaf)]
            tests = [test for leaf in leaves for test in _leaf_tests(leaf)]
            parts = [self.tests_expr(tests, positive=positive)] if tests else []
            parts += [self.expr(arg, positive=positive) for arg in others]
            return _any(parts)
        if isinstance(node, _Leaf):
            return self.tests_expr(_leaf_tests(node), positive=positive)
        raise _UnsupportedRuleError(f"condition element {type(node).__name__} is not supported")

    def tests_expr(self, tests: list[_Test], *, positive: bool) -> pl.Expr:
        """OR of tests, regexes on the same columns fused into one alternation."""
        merged: dict[tuple[tuple[str, ...], str], list[str]] = {}
        parts: list[pl.Expr] = []
        for test in tests:
            if isinstance(test, _Pattern):
                merged.setdefault((test.columns, test.flags), []).append(test.regex)
            else:
                parts.append(test.expr)
                if positive:
                    self.hints.append((test.column, pl.when(test.expr).then(_text(test.column))))
        for (columns, flags), regexes in merged.items():
            body = "|".join(f"(?:{r})" for r in dict.fromkeys(regexes))
            pattern = f"(?{flags}:{body})" if flags else f"(?:{body})"
            for column in columns:
                parts.append(_text(column).str.contains(pattern).fill_null(False))
                if positive:
                    self.hints.append((column, _text(column).str.extract(pattern, 0)))
        return _any(parts)

    def location(self) -> tuple[pl.Expr, pl.Expr]:
        """(field, fragment) expressions: the first positive test that matched a row."""
        ordered = sorted(self.hints, key=lambda hint: hint[0] not in PAYLOAD_COLUMNS)
        located: pl.Expr = pl.lit("target")
        for column, text in reversed(ordered):
            located = pl.when(text.is_not_null()).then(pl.lit(column)).otherwise(located)
        fragment = pl.coalesce(*(text for _, text in ordered), _text("target"))
        return located, fragment.str.slice(0, FRAGMENT_LIMIT)


def _all(parts: Iterable[pl.Expr]) -> pl.Expr:
    return functools.reduce(operator.and_, parts)


def _any(parts: Iterable[pl.Expr]) -> pl.Expr:
    return functools.reduce(operator.or_, parts)


def _text(column: str) -> pl.Expr:
    expr = pl.col(column)
    return expr.cast(pl.String) if column in NUMERIC_COLUMNS else expr


def _leaf_tests(leaf: _Leaf) -> list[_Test]:
    if isinstance(leaf, ConditionValueExpression):
        return _keyword_tests(leaf.value)
    name = leaf.field.lower()
    column = FIELD_COLUMNS.get(name)
    if column is None:
        raise _UnsupportedRuleError(
            f"field '{leaf.field}' is not in web-server records "
            f"(known: {', '.join(sorted(FIELD_COLUMNS))})"
        )
    return _field_tests(column, leaf.value)


def _keyword_tests(value: SigmaType) -> list[_Test]:
    if isinstance(value, SigmaExpansion):
        return [test for item in value.values for test in _keyword_tests(item)]
    pattern = _value_pattern(value, anchored=False)
    if pattern is None:
        raise _UnsupportedRuleError(f"keyword of type {type(value).__name__} is not supported")
    flags, regex = pattern
    return [_Pattern(KEYWORD_COLUMNS, flags, regex)]


def _field_tests(column: str, value: SigmaType) -> list[_Test]:
    numeric = column in NUMERIC_COLUMNS
    col = pl.col(column)
    if isinstance(value, SigmaExpansion):
        return [test for item in value.values for test in _field_tests(column, item)]
    if isinstance(value, SigmaNull):
        absent = col.is_null() if numeric else col.is_null() | col.is_in(_ABSENT)
        return [_Check(column, absent.fill_null(False))]
    if isinstance(value, SigmaExists):
        present = col.is_not_null() if numeric else col.is_not_null() & ~col.is_in(_ABSENT)
        return [_Check(column, (present if value.exists else ~present).fill_null(False))]
    if isinstance(value, SigmaCompareExpression):
        if not numeric:
            raise _UnsupportedRuleError(f"numeric comparison on text field '{column}'")
        return [_Check(column, _compare(col, value).fill_null(False))]
    if isinstance(value, SigmaNumber) and numeric:
        return [_Check(column, (col == value.number).fill_null(False))]
    if isinstance(value, SigmaCIDRExpression):
        if numeric:
            raise _UnsupportedRuleError(f"CIDR test on numeric field '{column}'")
        return [_cidr_test(column, value)]
    pattern = _value_pattern(value, anchored=True)
    if pattern is None:
        raise _UnsupportedRuleError(f"value of type {type(value).__name__} is not supported")
    flags, regex = pattern
    return [_Pattern((column,), flags, regex)]


def _compare(col: pl.Expr, value: SigmaCompareExpression) -> pl.Expr:
    number = value.number.number
    operators = {
        CompareOperators.LT: operator.lt,
        CompareOperators.LTE: operator.le,
        CompareOperators.GT: operator.gt,
        CompareOperators.GTE: operator.ge,
        CompareOperators.NEQ: operator.ne,
    }
    compare = operators[value.op]
    result: pl.Expr = compare(col, number)
    return result


def _cidr_test(column: str, value: SigmaCIDRExpression) -> _Test:
    network = value.network
    if isinstance(network, IPv4Network):
        first, last = int(network.network_address), int(network.broadcast_address)
        octets = [
            pl.col(column).str.extract(_IPV4, i).cast(pl.Int64, strict=False) for i in (1, 2, 3, 4)
        ]
        valid = _all(octet <= 255 for octet in octets)
        number = octets[0] * 16777216 + octets[1] * 65536 + octets[2] * 256 + octets[3]
        inside = (valid & number.is_between(first, last)).fill_null(False)
        return _Check(column, inside)
    regexes = [_string_regex(SigmaString(prefix), anchored=True) for prefix in value.expand()]
    return _Pattern((column,), "is", "|".join(f"(?:{r})" for r in regexes))


def _value_pattern(value: SigmaType, *, anchored: bool) -> tuple[str, str] | None:
    """(flags, regex) for a value that is tested as text, or None if it is not text."""
    if isinstance(value, SigmaRegularExpression):
        names = {
            SigmaRegularExpressionFlag.IGNORECASE: "i",
            SigmaRegularExpressionFlag.MULTILINE: "m",
            SigmaRegularExpressionFlag.DOTALL: "s",
        }
        if value.regexp.contains_placeholder():
            raise _UnsupportedRuleError("placeholders (%name%) are not supported")
        flags = "".join(sorted(names[flag] for flag in value.flags))
        return flags, str(value.regexp)
    if isinstance(value, SigmaString):
        flags = "s" if isinstance(value, SigmaCasedString) else "is"
        return flags, _string_regex(value, anchored=anchored)
    if isinstance(value, SigmaNumber | SigmaBool):
        text = str(value.number if isinstance(value, SigmaNumber) else value.boolean).lower()
        regex = re.escape(text)
        return "is", f"^{regex}$" if anchored else regex
    return None


def _string_regex(value: SigmaString, *, anchored: bool) -> str:
    """Regex for a Sigma string: wildcards become ``.*``/``.``, the rest is literal.

    Leading and trailing ``*`` are dropped instead of anchoring, so that the text a
    regex extracts for the fragment is what the rule looked for, not the whole value.
    """
    parts = list(value.iter_parts())
    leading = trailing = False
    while parts and parts[0] == SpecialChars.WILDCARD_MULTI:
        parts.pop(0)
        leading = True
    while parts and parts[-1] == SpecialChars.WILDCARD_MULTI:
        parts.pop()
        trailing = True
    body = []
    for part in parts:
        if isinstance(part, str):
            body.append(re.escape(part))
        elif part == SpecialChars.WILDCARD_MULTI:
            body.append(".*")
        elif part == SpecialChars.WILDCARD_SINGLE:
            body.append(".")
        elif isinstance(part, Placeholder):
            raise _UnsupportedRuleError(f"placeholder %{part.name}% is not supported")
    regex = "".join(body)
    if anchored:
        regex = ("" if leading else "^") + regex + ("" if trailing else "$")
    return regex


# --- records ----------------------------------------------------------------------------

_SCHEMA: dict[str, type[pl.DataType]] = {
    **dict.fromkeys(STRING_COLUMNS, pl.String),
    **dict.fromkeys(NUMERIC_COLUMNS, pl.Int64),
}
_PROBE = pl.DataFrame(
    {name: ["" if dtype is pl.String else None] for name, dtype in _SCHEMA.items()},
    schema=_SCHEMA,
)


def _conform(records: pl.DataFrame) -> pl.DataFrame:
    """Exactly the columns the rules read, in their types; a missing column is empty."""
    columns = []
    for name, dtype in _SCHEMA.items():
        if name in records.columns:
            columns.append(pl.col(name).cast(dtype, strict=False))
        else:
            empty = "" if dtype is pl.String else None
            columns.append(pl.lit(empty, dtype=dtype).alias(name))
    return records.select(columns)
