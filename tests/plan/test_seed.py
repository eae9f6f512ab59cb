"""The converter: seed-shaped snippets made here, and the real seed when it is at hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from renkei.plan import seed
from renkei.plan.model import Category, Node, NodeKind, Plan, SubmitterKind
from renkei.plan.seed import SeedError, extract_owners, parse_body
from renkei.plan.seed_comments import parse_comments, published_summary
from renkei.plan.seed_overview import parse_glossary

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT.parent / "shared" / "seed" / "cybersecurity2015-plan-and-public-comments.txt"
DATA = ROOT / "src" / "renkei" / "plan" / "data"
BULLET = "\uf09e"

BODY = f"""目
次
はじめに ..... 1
はじめに
はじめに
本書は戦略に基づく最初の年次計画である。
- 1 -
1. 経済社会の活力の向上及び持続的発展
1.1. 安全なIoTシステムの創出
1. 経済社会の活力の向上及び持続的発展
1.1. 安全なIoTシステムの創出
(1) 安全なIoTシステムを活用した新規事業の振興
(ア)内閣官房において、セキュリティ・バイ・デザインの考え方に基づく取組が行われるよう
働きかけを行う。
(イ)経済産業省において、IPAを通じて、IPA(受付機関)とJPCERT/CC(調整
- 2 -
1. 経済社会の活力の向上及び持続的発展
1.2. セキュリティマインドを持った企業経営の推進
機関)により運用されている制度を運用する。また、都道府県警察において、ISO/IEC
JTC1/SC27に参加する。
1.2. セキュリティマインドを持った企業経営の推進
(ア)情報共有体制を実効性のあるものにするため、演習を次のとおり実施する。
{BULLET} 内閣官房において、横断的な演習を実施する。
{BULLET} 総務省において、各府省庁等において使われる防御演習(CYDER)を実施する。
- 3 -
5. 推進体制
5. 推進体制
(ア)内閣官房において、NICTとの協力体制を整備する。
- 30 -
参考
用語解説
参考
用語解説
"""


def test_the_body_reads_as_a_tree_with_ids_pages_and_owners() -> None:
    nodes = {node.id: node for node in parse_body(BODY.splitlines())}
    assert list(nodes) == ["1", "1.1", "1.1(1)", "1.1(1)(ア)", "1.1(1)(イ)", "1.2", "1.2(ア)",
                           "5", "5(ア)"]
    assert nodes["1.1(1)"].kind is NodeKind.SUBSECTION
    assert nodes["1.1(1)"].parent == "1.1"
    assert nodes["1.2(ア)"].parent == "1.2"  # a measure straight under its section
    assert nodes["5(ア)"].parent == "5"  # and under a chapter with no sections
    # the running header of page 3 names 1.2, but the text is still 1.1(1)(イ)'s
    ruling = nodes["1.1(1)(イ)"]
    assert ruling.page == 2
    assert "(調整機関)により運用" in ruling.text
    assert "ISO/IEC JTC1/SC27" in ruling.text  # Latin words keep their space
    assert ruling.owners == ("経済産業省", "都道府県警察", "IPA")
    assert nodes["1.2(ア)"].page == 3
    assert nodes["1.2(ア)"].text.splitlines()[1] == "・内閣官房において、横断的な演習を実施する。"
    assert nodes["1.2(ア)"].owners == ("内閣官房", "総務省")
    assert nodes["1"].title == "経済社会の活力の向上及び持続的発展"


def test_a_missing_measure_is_caught_by_the_numbering() -> None:
    gapped = BODY.replace("(イ)経済産業省", "(ウ)経済産業省")
    with pytest.raises(SeedError, match="numbered"):
        parse_body(gapped.splitlines())


def test_a_measure_naming_no_body_is_refused() -> None:
    with pytest.raises(SeedError, match="no responsible body"):
        parse_body(BODY.replace("(ア)内閣官房において、NICT", "(ア)いつか、NICT").splitlines())


@pytest.mark.parametrize(("text", "owners"), [
    ("内閣官房において、働きかけを行う。", ("内閣官房",)),
    ("総務省及び経済産業省において、研究を行う。", ("総務省", "経済産業省")),
    ("内閣官房、警察庁、総務省、外務省、経済産業省、防衛省、その他関係府省庁において、取り組む。",
     ("内閣官房", "警察庁", "総務省", "外務省", "経済産業省", "防衛省", "関係府省庁")),
    ("内閣官房及び重要インフラ所管省庁等において、実施する。", ("内閣官房", "重要インフラ所管省庁")),
    ("経済産業省において、フィッシング対策協議会及びJPCERT/CCを通じて実施する。",
     ("経済産業省", "フィッシング対策協議会", "JPCERT/CC")),
    ("経済産業省において、AIST等を通じ、研究に取り組む。", ("経済産業省", "AIST")),
    # a body named mid-sentence is not an owner; a means is not a body
    ("内閣官房において、各府省庁等において取組が行われるよう働きかける。", ("内閣官房",)),
    ("総務省において、ISP事業者等を通じ利用者に対策を促す。", ("総務省",)),
    ("総務省において、利用者及びアクセスポイント設置者において必要となる対策を検討する。",
     ("総務省",)),
    ("内閣官房及び総務省において、監視する。加えて、特定個人情報保護委員会において、整備する。",
     ("内閣官房", "総務省", "特定個人情報保護委員会")),
])
def test_owners_are_the_bodies_that_lead_or_are_acted_through(text: str, owners: tuple[str, ...]) -> None:
    assert extract_owners(text) == owners


GLOSSARY = """参考
用語解説
A AIST
APEC
national institute of Advanced Industrial Science and Technologyの略。国立研究
開発法人産業技術総合研究所。
Asia-Pacific Economic Cooperationの略。
IT製品の調達にお 経済産業省及びIPAの共同により策定。安全性・信頼性の高いIT製品等の
けるセキュリティ 利用推進の取組の一つ。
要件リスト
- 31 -""".splitlines()


def test_the_glossary_map_pairs_terms_with_definitions() -> None:
    entries = parse_glossary(GLOSSARY, "3 5-6\n4 7\n8l,9l,10 8r,9r")
    assert [(e.term, e.definition) for e in entries] == [
        ("AIST", "national institute of Advanced Industrial Science and Technologyの略。"
                 "国立研究開発法人産業技術総合研究所。"),
        ("APEC", "Asia-Pacific Economic Cooperationの略。"),
        ("IT製品の調達におけるセキュリティ要件リスト",
         "経済産業省及びIPAの共同により策定。安全性・信頼性の高いIT製品等の利用推進の取組の一つ。"),
    ]


@pytest.mark.parametrize(("layout", "problem"), [
    ("3 5-6\n4 7\n8l,9l 8r,9r", "line 10 is not read whole"),
    ("3 5-6\n4 6-7\n8l,9l,10 8r,9r", "line 6 used twice"),
    ("3 5-6\n4 7\n8l,9l,10 8r,9r,10r", "side by side"),
])
def test_the_glossary_map_is_checked_line_by_line(layout: str, problem: str) -> None:
    with pytest.raises(SeedError, match=problem):
        parse_glossary(GLOSSARY, layout)


TABLE = """資料 1-3
■ 意 見 総 数: 3者から3件 【内訳:1企業・団体から延べ1件、2個人から延べ2件】
(1)賛同意見: 全1件
(2)修正意見: 全1件
• 表現の明確化や適正化などを求めるものについては、必要に応じて趣旨を踏まえて修正(全1件)
(3)政策展開に係る意見: 全1件
(4)その他意見: 全0件
資料1-4
意見募集期間 : 2015年8月20日(木)から同年9月3日(木)まで
通し
番号
1
2
提出者
個人(1)
(一社) 日
本テスト協会
-
1
P.8
P.14他 2.2. (3) (ウ)他 た「第3次計画」においても規定されている。
該当箇所
2.1. (1) (ア)
概要
意見の種類
「働きかけ」の対象を明記すべき。 修正意見
[理由]
・曖昧であるため。
御意見を踏まえ、「各府省庁等」と修文しました。
アクセシビリティの確保に留意する旨、言及されたい。 政策展開に
係る意見
- 1/17 -
御意見の内容につきましては、今後の取組の検討に当たっての参考と
させていただきます。
3
個人(2)
-
-
全般
大変よい。
賛同意見
賛同意見として承ります。
Fly UP"""

TABLE_LAYOUT = """
1 no=12 who=15 br=18 pg=20 sec=23 sum=26 cat=26 rsn=27-28 ans=29
2 no=13 who=16-17 br=19 pg=21 sec=21 sum=30-31 cat=30-31 rsn=21 ans=33-34
3 no=35 who=36 br=37 pg=38 sec=39 sum=40-41 cat=41 ans=42
"""


def _plan() -> Plan:
    return Plan(2015, "test", (
        Node("2", NodeKind.CHAPTER, "2."), Node("2.1", NodeKind.SECTION, "2.1.", parent="2"),
        Node("2.1(1)", NodeKind.SUBSECTION, "(1)", parent="2.1"),
        Node("2.1(1)(ア)", NodeKind.MEASURE, "(ア)", text="t", owners=("内閣官房",), parent="2.1(1)"),
        Node("2.2", NodeKind.SECTION, "2.2.", parent="2"),
        Node("2.2(3)", NodeKind.SUBSECTION, "(3)", parent="2.2"),
        Node("2.2(3)(ウ)", NodeKind.MEASURE, "(ウ)", text="t", owners=("内閣官房",), parent="2.2(3)"),
    ))


def test_the_comment_map_reads_interleaved_cells() -> None:
    comments, published = parse_comments(TABLE.splitlines(), _plan(), TABLE_LAYOUT)
    first, second, third = comments
    assert (first.submitter, first.submitter_kind, first.branch, first.page) == \
        ("個人(1)", SubmitterKind.INDIVIDUAL, None, "P.8")
    assert first.refs == ("2.1(1)(ア)",)
    assert first.measure_ids == ("2.1(1)(ア)",)
    assert first.summary == "「働きかけ」の対象を明記すべき。"
    assert first.category is Category.AMENDMENT
    assert first.changed
    assert first.reason == "・曖昧であるため。"
    # an organisation's name over two lines; page, section and reason on one line
    assert second.submitter == "(一社)日本テスト協会"
    assert second.submitter_kind is SubmitterKind.ORGANISATION
    assert second.branch == 1
    assert (second.page, second.section, second.refs) == ("P.14他", "2.2. (3) (ウ)他", ("2.2(3)(ウ)",))
    assert second.reason == "た「第3次計画」においても規定されている。"
    assert second.category is Category.POLICY
    assert not second.changed
    assert second.answer == "御意見の内容につきましては、今後の取組の検討に当たっての参考とさせていただきます。"
    assert third.section == "全般"
    assert third.refs == ()
    assert third.category is Category.SUPPORT
    assert published.submitters == 3
    assert published.by_category[Category.AMENDMENT] == 1
    assert published.changed[Category.AMENDMENT] == 1


@pytest.mark.parametrize(("change", "problem"), [
    (("ans=42", "ans=40"), "read as"),  # a line read as two texts, another as nothing
    (("rsn=27-28 ", ""), "read as nothing"),
    (("no=35", "no=36"), "read as"),  # a line holding two columns' values
    (("sec=39", "sec=38"), "read as nothing"),
    (("who=36", "who=43"), "outside the table"),  # the web page's last line is not the table's
    (("rsn=21 ", ""), "beside"),  # the reason printed beside a page and section, left unread
])
def test_the_comment_map_is_checked_line_by_line(change: tuple[str, str], problem: str) -> None:
    with pytest.raises(SeedError, match=problem):
        parse_comments(TABLE.splitlines(), _plan(), TABLE_LAYOUT.replace(*change))


def test_a_section_outside_the_plan_is_refused() -> None:
    table = TABLE.replace("2.1. (1) (ア)", "2.1. (1) (イ)")
    with pytest.raises(SeedError, match="not in the plan"):
        parse_comments(table.splitlines(), _plan(), TABLE_LAYOUT)


def test_the_published_figures_are_read_from_the_summary_page() -> None:
    summary = published_summary(TABLE.splitlines())
    assert summary.submitters == 3
    assert summary.comments == 3
    assert summary.by_kind[SubmitterKind.ORGANISATION].comments == 1
    assert summary.by_kind[SubmitterKind.INDIVIDUAL].submitters == 2
    assert summary.by_category[Category.OTHER] == 0


def test_the_maps_refuse_another_seed() -> None:
    with pytest.raises(SeedError, match="not the seed"):
        seed.check_seed(["はじめに"])


@pytest.mark.skipif(not SEED.is_file(), reason="the seed (../shared/seed) is not here")
def test_the_seed_converts_to_exactly_the_shipped_files(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert seed.main([str(SEED), "--out", str(tmp_path)]) == 0
    for name in ("plan-2015.yaml", "comments-2015.yaml"):
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name
    report = capsys.readouterr().err
    assert "measures 240, headlines 35, glossary 125, comments 105" in report
