"""renkei's bundled web-attack rules: they load, their own examples hold, Hyperscan accepts
them, and a labelled corpus of attacks and benign look-alikes gets exactly the expected
categories from the reference engine (normalise, then ``re``)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from renkei.logs.model import Category
from renkei.logs.normalise import normalise
from renkei.logs.rules import FIELDS, Rule, load_rules, run_rule_tests

CORPUS = Path(__file__).parent / "files" / "labelled.yaml"
DEFAULT_TARGET = "/"
DEFAULT_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
DEFAULT_REFERER = "-"
# Categories found by aggregate detectors, not by rules.
AGGREGATE = {Category.BRUTE_FORCE, Category.ERROR_ANOMALY}


@pytest.fixture(scope="module")
def rules() -> list[Rule]:
    return load_rules()


def _corpus() -> list[dict[str, object]]:
    data = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))
    return list(data["cases"])


def _raw(case: dict[str, object], name: str) -> bytes:
    default = {"target": DEFAULT_TARGET, "ua": DEFAULT_UA, "referer": DEFAULT_REFERER}[name]
    return str(case.get(name, default)).encode("utf-8", "surrogateescape")


def categories_of(rules: list[Rule], case: dict[str, object]) -> set[str]:
    """The reference engine: normalise each field, run every rule that reads it."""
    found: set[str] = set()
    for name in FIELDS:
        text = normalise(_raw(case, name))
        found.update(
            str(rule.category)
            for rule in rules
            if name in rule.fields and rule.compiled.search(text)
        )
    return found


def test_rules_load_with_unique_ids(rules: list[Rule]) -> None:
    ids = [rule.id for rule in rules]
    assert len(ids) == len(set(ids))
    assert 60 <= len(rules) <= 130


def test_every_rule_category_has_rules(rules: list[Rule]) -> None:
    covered = {rule.category for rule in rules}
    assert covered == set(Category) - AGGREGATE


def test_every_rule_has_examples_and_titles(rules: list[Rule]) -> None:
    for rule in rules:
        assert rule.tests_match, f"{rule.id} has no match examples"
        assert rule.tests_no_match, f"{rule.id} has no no_match examples"
        assert rule.title_en, f"{rule.id} needs an English title"
        assert rule.title_ja, f"{rule.id} needs a Japanese title"


def test_rule_examples(rules: list[Rule]) -> None:
    failures = run_rule_tests(rules)
    assert failures == [], "\n".join(
        f"{f.rule}: {'should match' if f.expected else 'should not match'} {f.sample!r}"
        for f in failures
    )


def test_rules_compile_with_hyperscan(rules: list[Rule]) -> None:
    hyperscan = pytest.importorskip("hyperscan")
    db = hyperscan.Database()
    db.compile(
        expressions=[rule.pattern.encode() for rule in rules],
        ids=list(range(len(rules))),
        flags=[hyperscan.HS_FLAG_SOM_LEFTMOST | hyperscan.HS_FLAG_MULTILINE] * len(rules),
    )


def test_hyperscan_agrees_with_reference_on_corpus(rules: list[Rule]) -> None:
    hyperscan = pytest.importorskip("hyperscan")
    db = hyperscan.Database()
    db.compile(
        expressions=[rule.pattern.encode() for rule in rules],
        ids=list(range(len(rules))),
        flags=[hyperscan.HS_FLAG_SOM_LEFTMOST | hyperscan.HS_FLAG_MULTILINE] * len(rules),
    )
    for case in _corpus():
        for name in FIELDS:
            text = normalise(_raw(case, name))
            hits: set[int] = set()

            def on_match(rule_id: int, start: int, end: int, flags: int, ctx: object) -> None:
                hits.add(rule_id)  # noqa: B023 - called synchronously inside scan()

            db.scan(text, match_event_handler=on_match)
            expected = {i for i, rule in enumerate(rules) if rule.compiled.search(text)}
            assert hits == expected, f"{name} of {case}: hyperscan {hits} != re {expected}"


def test_corpus_size() -> None:
    cases = _corpus()
    assert len(cases) >= 300
    assert sum(1 for case in cases if not case["expect"]) >= 100
    per_category = Counter(c for case in cases for c in case["expect"])
    for category in set(Category) - AGGREGATE:
        assert per_category[str(category)] >= 5, f"too few {category} cases"


def test_labelled_corpus(rules: list[Rule]) -> None:
    true_pos: Counter[str] = Counter()
    false_pos: Counter[str] = Counter()
    false_neg: Counter[str] = Counter()
    mismatches: list[str] = []
    for case in _corpus():
        expected = set(case["expect"])
        found = categories_of(rules, case)
        for category in found & expected:
            true_pos[category] += 1
        for category in found - expected:
            false_pos[category] += 1
        for category in expected - found:
            false_neg[category] += 1
        if found != expected:
            fields = {k: case[k] for k in FIELDS if k in case}
            mismatches.append(f"{fields}: expected {sorted(expected)}, got {sorted(found)}")
    if mismatches:
        lines = ["category        precision  recall   tp  fp  fn"]
        for category in sorted(set(true_pos) | set(false_pos) | set(false_neg)):
            tp, fp, fn = true_pos[category], false_pos[category], false_neg[category]
            precision = tp / (tp + fp) if tp + fp else 1.0
            recall = tp / (tp + fn) if tp + fn else 1.0
            lines.append(f"{category:15s} {precision:9.3f} {recall:7.3f} {tp:4d} {fp:3d} {fn:3d}")
        pytest.fail("\n".join([*mismatches, "", *lines]))
