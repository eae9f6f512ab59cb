"""The shipped 2015 data, as verified by reading the seed, and files that are not as they
should be: each refused with the file, the entry and the field named."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from renkei.core import i18n
from renkei.plan import load
from renkei.plan.load import PlanDataError, load_2015, load_comments, load_plan
from renkei.plan.model import Category, Comment, CommentSummary, NodeKind, Plan, SubmitterKind

Shipped = tuple[Plan, list[Comment], CommentSummary | None]


@pytest.fixture(scope="module")
def shipped() -> Shipped:
    return load_2015()


def test_the_2015_plan_has_its_240_measures_where_the_seed_puts_them(shipped: Shipped) -> None:
    plan = shipped[0]
    assert (plan.year, plan.title, len(plan.measures())) == (2015, "サイバーセキュリティ2015", 240)
    per_chapter = Counter(plan.chapter_of(m).id for m in plan.measures())
    assert per_chapter == {"1": 50, "2": 95, "3": 43, "4": 47, "5": 5}
    per_section = {n.id: sum(1 for _ in plan.measures_under(n.id))
                   for n in plan.nodes if n.kind is NodeKind.SECTION}
    assert per_section == {"1.1": 17, "1.2": 16, "1.3": 17, "2.1": 47, "2.2": 20, "2.3": 28,
                           "3.1": 12, "3.2": 14, "3.3": 17, "4.1": 22, "4.2": 25}
    assert plan.by_id["2.3"].title == "政府機関を守るための取組"
    assert plan.by_id["2.3(1)"].kind is NodeKind.SUBSECTION


@pytest.mark.parametrize(("measure_id", "owners", "words", "page"), [
    ("2.3(1)(キ)", ("内閣官房",), "ペネトレーションテスト", 16),
    ("1.2(3)(ケ)", ("経済産業省", "IPA"), "iLogScanner", 5),
    ("2.1(1)(ケ)", ("総務省", "NICT"), "NICTER", 8),
    ("2.1(1)(サ)", ("経済産業省",), "TSUBAME", 9),
    ("2.1(1)(シ)", ("経済産業省", "フィッシング対策協議会", "JPCERT/CC"), "フィッシング", 9),
    ("2.1(3)(コ)", ("検察当局", "都道府県警察"), "サイバー刑法", 12),
    ("2.2(ア)", ("内閣官房", "重要インフラ所管省庁"), "第3次行動計画", 12),
    ("2.2(オ)", ("内閣官房", "総務省", "経済産業省", "CSSC"), "・総務省において", 13),
    ("2.2(3)(イ)", ("内閣官房", "総務省", "特定個人情報保護委員会"), "LGWAN", 14),
    ("2.3(2)(ア)", ("内閣官房",), "試行的な監査", 17),
    ("3.2(1)(ア)", ("内閣官房", "警察庁", "総務省", "外務省", "経済産業省", "防衛省"), "GGE", 20),
    ("4.1(3)(ウ)", ("総務省", "経済産業省", "NICT", "IPA"), "CRYPTREC", 26),
    ("4.1(5)(ア)", ("内閣府",), "SIP", 27),
    ("5(オ)", ("内閣官房",), "初動対処", 30),
])
def test_measures_carry_their_owners_text_and_page(shipped: Shipped, measure_id: str,
                                                   owners: tuple[str, ...], words: str, page: int) -> None:
    measure = shipped[0].by_id[measure_id]
    assert measure.kind is NodeKind.MEASURE
    assert (measure.owners, measure.page) == (owners, page)
    assert words in measure.text


def test_a_measure_continued_over_a_page_is_whole(shipped: Shipped) -> None:
    text = shipped[0].by_id["1.1(3)(ク)"].text
    assert "JPCERT/CC(調整機関)により運用されている" in text
    assert text.endswith("能動的な脆弱性の検出とその調整に関わる取組を行う。")


def test_the_overview_and_the_glossary(shipped: Shipped) -> None:
    plan = shipped[0]
    assert len(plan.headlines) == 35
    mynumber = plan.headlines[14]
    assert mynumber.owners == ("特定個人情報保護委員会", "内閣官房", "総務省")
    assert mynumber.others
    assert mynumber.measure_ids == ("2.2(3)(イ)",)
    assert plan.headlines[15].text == "各府省庁の情報システムに対してペネトレーションテストを実施"
    assert plan.headlines[15].measure_ids == ("2.3(1)(キ)",)
    assert all(h.measure_ids for h in plan.headlines)
    terms = {g.term: g.definition for g in plan.glossary}
    assert len(plan.glossary) == 125
    assert terms["NISC"].startswith("National center of Incident readiness and Strategy for Cybersecurityの略。")
    assert terms["IT製品の調達におけるセキュリティ要件リスト"].startswith("経済産業省及びIPAの共同により")
    assert terms["量子暗号"] == "量子力学の理論を用いた暗号技術。原理的に盗聴の有無を検知できる特性を持つ。"


def test_the_2015_comments(shipped: Shipped) -> None:
    comments = shipped[1]
    assert [c.number for c in comments] == list(range(1, 106))
    police = comments[13]
    assert (police.submitter, police.branch, police.page, police.refs) == ("個人(11)", 3, "P.12", ("2.1(3)(コ)",))
    assert police.category is Category.AMENDMENT
    assert police.changed
    assert police.measure_ids == ("2.1(3)(コ)",)
    assert "検察当局及び都道府県警察において" in police.answer
    ibm = comments[26]
    assert ibm.submitter == "日本アイ・ビー・エム(株)"
    assert ibm.submitter_kind is SubmitterKind.ORGANISATION
    assert ibm.refs == ("1.2(1)(イ)", "1.2(3)(ウ)")
    general = comments[4]
    assert general.section == "全般"
    assert general.refs == ()
    assert general.category is Category.OTHER
    assert len(comments[78].measure_ids) == 25  # 「4.2.」: every measure of the section


# --- hostile files ----------------------------------------------------------------------

PLAN = {"format": "renkei-plan/1", "year": 2016, "title": "test", "nodes": [
    {"id": "1", "kind": "chapter", "title": "one"},
    {"id": "1(ア)", "kind": "measure", "parent": "1", "text": "内閣官房において…", "owners": ["内閣官房"]},
]}


def _write(tmp_path: Path, document: object, name: str = "plan.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def test_a_small_plan_of_another_year_loads(tmp_path: Path) -> None:
    plan = load_plan(_write(tmp_path, PLAN))
    assert plan.year == 2016
    assert [m.id for m in plan.measures()] == ["1(ア)"]


def _broken(change: dict[str, object], index: int = 1) -> dict[str, object]:
    nodes = [dict(n) for n in PLAN["nodes"]]  # type: ignore[attr-defined]
    nodes[index].update(change)
    return {**PLAN, "nodes": [{k: v for k, v in n.items() if v is not None} for n in nodes]}


@pytest.mark.parametrize(("document", "message"), [
    (_broken({"text": None}), "nodes[1] (1(ア)): missing text"),
    (_broken({"kind": "policy"}), "nodes[1] (1(ア)): unknown kind policy"),
    (_broken({"owners": "内閣官房 総務省"}), None),  # a space-separated string is a list
    (_broken({"owners": [1, 2]}), "nodes[1] (1(ア)): owners must be a list of text"),
    (_broken({"page": "two"}), "nodes[1] (1(ア)): page must be a whole number"),
    (_broken({"page": True}), "nodes[1] (1(ア)): page must be a whole number"),
    (_broken({"parent": "9"}), "parent 9 is not a chapter/section/subsection given before it"),
    (_broken({"id": "1"}), "duplicate id 1"),
    (_broken({"text": {"a": 1}}), "text must be text"),
    ({**PLAN, "nodes": ["1"]}, "nodes[0]: expected a mapping"),
    ({**PLAN, "nodes": {"1": {}}}, "nodes must be a list"),
    ({**PLAN, "format": "renkei-plan/9"}, "expected format: renkei-plan/1"),
    ({**PLAN, "year": "soon"}, "plan: year must be a whole number"),
    (["not", "a", "mapping"], "expected a mapping with format"),
])
def test_a_broken_plan_is_refused_with_file_entry_and_field(tmp_path: Path, document: object,
                                                           message: str | None) -> None:
    path = _write(tmp_path, document)
    if message is None:
        load_plan(path)
        return
    with pytest.raises(PlanDataError) as caught:
        load_plan(path)
    assert str(caught.value).startswith(str(path))
    assert message in str(caught.value)


def test_files_that_are_not_text_or_too_big_or_not_yaml(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("format: renkei-plan/1\ntitle: caf\xe9\n".encode("latin-1"))
    with pytest.raises(PlanDataError, match="not UTF-8 text"):
        load_plan(latin)
    broken = tmp_path / "broken.yaml"
    broken.write_text("format: [renkei-plan/1\nnodes: :\n", encoding="utf-8")
    with pytest.raises(PlanDataError, match=r"not YAML \(line 2, column 6\): the list that "
                                             r"'\[' opens on line 1 needs ','"):
        load_plan(broken)
    objects = tmp_path / "objects.yaml"
    objects.write_text("format: !!python/object/apply:os.system ['true']\n", encoding="utf-8")
    with pytest.raises(PlanDataError, match="not YAML"):
        load_plan(objects)
    monkeypatch.setattr(load, "MAX_BYTES", 64)
    big = _write(tmp_path, PLAN, "big.yaml")
    with pytest.raises(PlanDataError, match="more than 64 bytes"):
        load_plan(big)
    with pytest.raises(PlanDataError, match="cannot read"):
        load_plan(tmp_path / "missing.yaml")


BROKEN_YAML = [  # (the text, where it stops being YAML, what the message says of it)
    ("format: renkei-plan/1\ntitle: 例: 計画\n", (2, 9), "a ':' where no key can start"),
    ("format: renkei-plan/1\nnodes:\n\t- id: 1\n", (3, 1), "a tab; indent with spaces"),
    ("format: renkei-plan/1\ntitle: @plan\n", (2, 8), "a character that cannot start"),
    ("format: renkei-plan/1\ntitle: '計画\nyear: 2016\n", (2, 8), "a quote that is never closed"),
    ('format: renkei-plan/1\ntitle: "C:\\plan"\n', (2, 12), "a backslash escape"),
    ("format: renkei-plan/1\nnodes: [a, b\nyear: 2016\n", (3, 5), "opens on line 2"),
    ("format: renkei-plan/1\nnodes: {a: 1\nyear: 2016\n", (3, 5), "the mapping that '{' opens"),
    ("format: renkei-plan/1\nnodes:\n  - a\n - b\n", (4, 2), "not indented like the lines"),
    ("format: renkei-plan/1\nyear: 2016\ntitle\nnodes: []\n", (3, 1), "no ':' after its key"),
    ("format: renkei-plan/1\nnodes: - a\n", (2, 8), "a '-' where no list item can start"),
    ("format: !!python/object/apply:os.system ['true']\n", (1, 9), "a tag (!...)"),
    ("format: renkei-plan/1\nnodes: *n\n", (2, 8), "an alias (*name) with no anchor"),
    ("format: renkei-plan/1\n---\nyear: 2016\n", (2, 1), "a second document (---)"),
    ("format: renkei-plan/1\r\ntitle: a\x01b\r\n", (2, 9), "a control character (U+0001)"),
    ("format: renkei-plan/1\na: &n 1\nb: &n 2\n", (3, 4), ""),  # no words of ours to add
]


@pytest.mark.parametrize(("text", "place", "said"), BROKEN_YAML)
def test_a_file_that_is_not_yaml_is_told_where_and_why_in_both_languages(
        text: str, place: tuple[int, int], said: str) -> None:
    with pytest.raises(PlanDataError) as caught:
        load.parse_plan(text, "p.yaml")
    error = caught.value
    line, column = place
    assert str(error).startswith(f"p.yaml: not YAML (line {line}, column {column})")
    assert said in str(error)
    assert error.details == {"line": line, "column": column}
    japanese = error.translate(i18n.translator("ja"))
    assert japanese.startswith(f"p.yaml: YAML として読めません({line} 行目 {column} 文字目)")
    assert not re.search(r"[a-z]{4,}", japanese.removeprefix("p.yaml")), japanese  # no English
    assert isinstance(error.__cause__, yaml.YAMLError)  # the library's words, for a traceback


def test_brackets_nested_too_deeply_are_not_yaml_without_a_line() -> None:
    with pytest.raises(PlanDataError, match="nested too deeply") as caught:
        load.parse_plan("format: " + "[" * 50_000 + "]" * 50_000 + "\n", "deep.yaml")
    assert "入れ子が深すぎます" in caught.value.translate(i18n.translator("ja"))


def test_a_csv_quote_left_open_names_the_line_it_opens_on() -> None:
    rows = 'number,submitter,summary\n1,個人(1),a\n2,個人(2),"b\n' + "c\n" * 70_000
    with pytest.raises(PlanDataError, match=r"c.csv: not CSV \(line 3\): a field longer") as caught:
        load.load_received(rows.encode(), "c.csv")
    assert "3 行目" in caught.value.translate(i18n.translator("ja"))
    with pytest.raises(PlanDataError, match=r"not CSV \(line 1\)"):  # in the header itself
        load.load_received(('"number' + "\n" * 140_000).encode(), "c.csv")


def test_aliases_cannot_blow_a_plan_up(tmp_path: Path) -> None:
    laughs = ["format: renkei-plan/1", "year: 2016", "title: t", 'a: &a ["x","x","x","x","x"]']
    for level in "bcdefghij":
        previous = chr(ord(level) - 1)
        laughs.append(f"{level}: &{level} [{', '.join(['*' + previous] * 9)}]")
    laughs.append("nodes: *j")
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(laughs) + "\n", encoding="utf-8")
    with pytest.raises(PlanDataError, match=r"nodes\[0\]: expected a mapping"):
        load_plan(path)


CSV_HEADER = "number,submitter,submitter_kind,branch,page,section,refs,category,summary,reason,answer,changed\n"


def test_comments_load_from_csv_linked_to_a_plan(tmp_path: Path) -> None:
    path = tmp_path / "comments.csv"
    path.write_text(CSV_HEADER
                    + '1,個人(1),,,P.2,1. (ア),1(ア),修正意見,"改めるべき。\n理由なし",,修文しました。,true\n'
                    + "2,(株)例,,1,-,全般,,policy,検討を。,,参考とします。,no\n", encoding="utf-8")
    comments, published = load_comments(path, load_plan(_write(tmp_path, PLAN)))
    assert published is None
    assert [(c.number, c.submitter_kind, c.category, c.changed) for c in comments] == [
        (1, SubmitterKind.INDIVIDUAL, Category.AMENDMENT, True),
        (2, SubmitterKind.ORGANISATION, Category.POLICY, False)]
    assert comments[0].summary == "改めるべき。\n理由なし"
    assert comments[0].measure_ids == ("1(ア)",)
    assert comments[1].branch == 1


@pytest.mark.parametrize(("rows", "message"), [
    ("number,submitter\n1,x\n", "no column category"),
    (CSV_HEADER + "1,個人(1),,,,,,賛同,よい,,承ります,false\n", "line 2 (number 1): unknown category 賛同"),
    (CSV_HEADER + "1,個人(1),,,,,,support,よい,,承ります,maybe\n", "changed must be true or false"),
    (CSV_HEADER + "x,個人(1),,,,,,support,よい,,承ります,false\n", "line 2: number must be a whole number"),
    (CSV_HEADER + "1,個人(1),robot,,,,,support,よい,,承ります,false\n", "unknown submitter_kind robot"),
    (CSV_HEADER + "1,個人(1),,,,,,support,,,承ります,false\n", "missing summary"),
    (CSV_HEADER + "1,個人(1),,,,,9(ア),support,よい,,承ります,false\n", "no plan node 9(ア)"),
    (CSV_HEADER + "1,a,,,,,,support,s,,a,\n1,b,,,,,,support,s,,a,\n", "comment number 1 appears twice"),
])
def test_broken_comment_rows_are_refused(tmp_path: Path, rows: str, message: str) -> None:
    path = tmp_path / "comments.csv"
    path.write_text(rows, encoding="utf-8")
    with pytest.raises(PlanDataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_comments(path, load_plan(_write(tmp_path, PLAN)))


def test_broken_published_figures_are_refused(tmp_path: Path) -> None:
    document = {"format": "renkei-comments/1", "year": 2016, "comments": [],
                "published": {"submitters": -1, "comments": 0, "by_submitter_kind": {},
                              "by_category": {}, "changed": {}}}
    with pytest.raises(PlanDataError, match=r"published\.by_submitter_kind\.organisation: expected a mapping"):
        load_comments(_write(tmp_path, document, "c.yaml"))
