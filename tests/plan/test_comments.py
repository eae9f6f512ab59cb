"""What the comments add up to: the figures 資料1-3 publishes, and what the table of
資料1-4 adds up to when each of its 105 rows is counted — which is not quite the same."""

from __future__ import annotations

import pytest

from renkei.plan.comments import differences, select, summarise
from renkei.plan.load import load_2015
from renkei.plan.model import Category, Comment, CommentSummary, KindFigures, SubmitterKind

ORG, PERSON = SubmitterKind.ORGANISATION, SubmitterKind.INDIVIDUAL


def figures(summary: CommentSummary) -> tuple[int, ...]:
    return (summary.submitters, summary.comments,
            summary.by_kind[ORG].submitters, summary.by_kind[ORG].comments,
            summary.by_kind[PERSON].submitters, summary.by_kind[PERSON].comments,
            *(summary.by_category[c] for c in Category), summary.changed[Category.AMENDMENT])


@pytest.fixture(scope="module")
def shipped() -> tuple[list[Comment], CommentSummary]:
    _plan, comments, published = load_2015()
    assert published is not None
    return comments, published


def test_the_seed_publishes_30_105_10_54_20_51_3_33_66_3_6(shipped: tuple[list[Comment], CommentSummary]) -> None:
    """資料1-3's own figures, read from the seed by the converter (not typed in)."""
    assert figures(shipped[1]) == (30, 105, 10, 54, 20, 51, 3, 33, 66, 3, 6)


def test_the_table_adds_up_to_its_own_figures(shipped: tuple[list[Comment], CommentSummary]) -> None:
    """Counted row by row, 資料1-4 has 31 submitters (日本電気制御機器工業会, comment 81, is
    missing from 資料1-3's list), 62 comments from organisations, 34 amendments (34
    「修正意見」 in the table) and 7 answers saying the plan was changed. docs/plan.md."""
    comments, published = shipped
    computed = summarise(comments)
    assert figures(computed) == (31, 105, 11, 62, 20, 43, 3, 34, 65, 3, 7)
    assert differences(computed, published) == [
        "submitters: 31 != 30",
        "by_submitter_kind.organisation.submitters: 11 != 10",
        "by_submitter_kind.organisation.comments: 62 != 54",
        "by_submitter_kind.individual.comments: 43 != 51",
        "by_category.amendment: 34 != 33",
        "by_category.policy: 65 != 66",
        "changed.amendment: 7 != 6",
        "changed_total: 7 != 6",
    ]
    assert [c.number for c in comments if c.changed] == [14, 21, 22, 34, 67, 72, 96]
    organisations = {c.submitter for c in comments if c.submitter_kind is ORG}
    assert "(一社)日本電気制御機器工業会" in organisations
    assert len(organisations) == 11


def _comment(number: int, submitter: str, category: Category, changed: bool = False,
             refs: tuple[str, ...] = ()) -> Comment:
    kind = PERSON if submitter.startswith("個人") else ORG
    return Comment(number, submitter, kind, "s", category, "a", changed, refs=refs)


def test_a_submitter_counts_once_and_each_comment_once() -> None:
    comments = [_comment(1, "個人(1)", Category.SUPPORT), _comment(2, "個人(1)", Category.POLICY),
                _comment(3, "(株)例", Category.AMENDMENT, changed=True, refs=("2.3(1)(キ)",)),
                _comment(4, "(株)例", Category.AMENDMENT)]
    summary = summarise(comments)
    assert summary.by_kind == {ORG: KindFigures(1, 2), PERSON: KindFigures(1, 2)}
    assert summary.as_json() == {
        "submitters": 2, "comments": 4,
        "by_submitter_kind": {"organisation": {"submitters": 1, "comments": 2},
                              "individual": {"submitters": 1, "comments": 2}},
        "by_category": {"support": 1, "amendment": 2, "policy": 1, "other": 0},
        "changed": {"support": 0, "amendment": 1, "policy": 0, "other": 0}, "changed_total": 1}
    assert differences(summary, summary) == []
    assert [c.number for c in select(comments, Category.AMENDMENT)] == [3, 4]
    assert [c.number for c in select(comments, measure_id="2.3(1)(キ)")] == [3]


def test_no_comments_add_up_to_nothing() -> None:
    summary = summarise([])
    assert figures(summary) == (0,) * 11
