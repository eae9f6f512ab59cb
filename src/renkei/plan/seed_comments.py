"""The public comments (資料1-4) and the figures the seed publishes about them (資料1-3).

The table's cells come out of the PDF in no fixed order, so ``seed_layout.COMMENTS_2015``
says which lines hold each comment's columns; everything else is rule: a submitter named
「個人(n)」 is an individual, the category is one of the four words, the section column is
resolved to the plan's ids, and a comment changed the plan when the government's answer
says the text was changed (「…と修文しました」, 「表現を修正します」 …).

資料1-3's own figures are read too and shipped beside the comments, so that what the table
adds up to can be set against what the seed publishes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from renkei.plan.model import (
    Category,
    Comment,
    CommentSummary,
    KindFigures,
    Plan,
    SubmitterKind,
)
from renkei.plan.seed import SeedError, join_lines
from renkei.plan.seed_layout import COMMENTS_2015

TABLE_START = "資料1-4"
HEADINGS = frozenset({"通し", "番号", "提出者", "枝番", "ページ", "該当箇所", "章節項", "概要",
                      "意見の種類", "御意見に対する考え方及び修正内容"})
PAGE_FOOTER = re.compile(r"^- \d+/\d+ -$")
INDIVIDUAL = re.compile(r"^個人\((\d+)\)$")
PAGE = re.compile(r"^(?:P\.\d+(?:他)?|-)(?= |$)")
SECTION = re.compile(
    r"^(?:全般|-|(\d)\.(?:(\d)(?:\.)?)?\s*(?:\((\d)\)\s*)?(?:\(([ア-ン]{1,2})\))?(?:他)?)(?= |$)")
CATEGORY_WORDS = ("政策展開に係る意見", "政策展開に", "係る意見", "修正意見", "賛同意見", "その他")
REASON = "[理由]"
WEB_PAGE_END = "Fly UP"  # the seed was saved from a document-sharing page: its last button
# The answer says the plan's text was changed because of the comment.
CHANGED = re.compile(r"修文しました|修文致します|修正しました|修正します|削除しました|追記しました")
# A new paragraph inside a cell: a list item, a heading in angle brackets, a note.
PARAGRAPH = re.compile(r"^(?:・|<|<|※|[①-⑳]|\(\d\)|案\d)")
HEADING = re.compile(r"^(?:[<<].*[>>]|※\S{1,15})$")  # <官民連携>, ※施策の追加: a heading in a cell
COLUMNS = ("no", "who", "br", "pg", "sec", "cat", "sum", "rsn", "ans")
KEYS = ("no", "who", "br", "pg", "sec", "cat")
TEXTS = ("sum", "rsn", "ans")


@dataclass(frozen=True)
class _Row:
    number: int
    columns: dict[str, list[int]]


def _numbers(spec: str) -> list[int]:
    found: list[int] = []
    for item in spec.split(","):
        first, _, last = item.partition("-")
        found.extend(range(int(first), int(last or first) + 1))
    return found


def parse_layout(layout: str) -> list[_Row]:
    rows = []
    for text in layout.strip().splitlines():
        number, *fields = text.split()
        columns: dict[str, list[int]] = {}
        for field in fields:
            name, _, spec = field.partition("=")
            if name not in COLUMNS or name in columns:
                raise SeedError(f"comment layout {number}: bad column {name!r}")
            columns[name] = _numbers(spec)
        missing = [c for c in COLUMNS if c not in columns and c != "rsn"]
        if missing:
            raise SeedError(f"comment layout {number}: no {', '.join(missing)}")
        rows.append(_Row(int(number), columns))
    return rows


def _key_value(column: str, text: str, number: int) -> tuple[str, str]:
    """(value, what is left of the line) for a line holding a column's value."""
    if column == "cat":
        for word in CATEGORY_WORDS:
            if text == word or text.endswith(" " + word):
                return word, text[: -len(word)].strip()
        raise SeedError(f"line {number}: no category in {text[:30]!r}")
    if column in ("pg", "sec"):
        pattern = PAGE if column == "pg" else SECTION
        match = pattern.match(text)
        if match is None:
            raise SeedError(f"line {number}: no {'page' if column == 'pg' else 'section'} in {text[:30]!r}")
        return match.group(0), text[match.end():].strip()
    return text, ""


def _paragraphs(parts: Sequence[str]) -> str:
    """Wrapped lines back into paragraphs: a list item starts one, and so does a line after
    a sentence that ended well short of the column's width."""
    parts = [p for p in parts if p]
    width = max((len(p) for p in parts), default=0)
    paragraphs: list[list[str]] = []
    for part in parts:
        last = paragraphs[-1][-1] if paragraphs else ""
        starts = not paragraphs or PARAGRAPH.match(part) is not None \
            or HEADING.match(last) is not None \
            or (last.endswith(("。", ")", "」")) and len(last) < width - 3)
        if starts:
            paragraphs.append([part])
        else:
            paragraphs[-1].append(part)
    return "\n".join(join_lines(p) for p in paragraphs)


def _table_range(lines: Sequence[str]) -> tuple[int, int]:
    """From the table's first heading (after its title and period) to the end of the seed."""
    starts = [i for i, text in enumerate(lines) if text.strip() == TABLE_START]
    if not starts:
        raise SeedError("no comment table (資料1-4) in the seed")
    first = next((i for i in range(starts[-1], len(lines)) if lines[i].strip() == "通し"), None)
    if first is None:
        raise SeedError("the comment table (資料1-4) has no headings")
    end = len(lines)
    while end > first and lines[end - 1].strip() in ("", WEB_PAGE_END):
        end -= 1
    return first, end


def _section_refs(sections: Iterable[str], plan: Plan, number: int) -> tuple[str, ...]:
    refs: list[str] = []
    for section in sections:
        match = SECTION.match(section)
        if match is None or match.group(1) is None:
            continue  # 全般 (the whole plan) or -
        chapter, sub, subsection, kana = match.groups()
        node_id = chapter + (f".{sub}" if sub else "") + (f"({subsection})" if subsection else "") \
            + (f"({kana})" if kana else "")
        if node_id not in plan.by_id:
            raise SeedError(f"comment {number}: section {section!r} is not in the plan")
        refs.append(node_id)
    return tuple(dict.fromkeys(refs))


def parse_comments(lines: Sequence[str], plan: Plan,
                   layout: str = COMMENTS_2015) -> tuple[list[Comment], CommentSummary]:
    """The comments of 資料1-4 and the summary 資料1-3 publishes; raises SeedError when a
    line of the table is read twice or not at all, or a cell does not hold its kind."""
    start, end = _table_range(lines)
    rows = parse_layout(layout)
    claimed: dict[int, list[str]] = {}
    for row in rows:
        for column, numbers in row.columns.items():
            for number in numbers:
                if not start < number <= end:
                    raise SeedError(f"comment {row.number}: line {number} is outside the table")
                claimed.setdefault(number, []).append(column)
    for number in range(start + 1, end + 1):
        text = lines[number - 1].strip()
        kinds = claimed.get(number, [])
        if not text or text in HEADINGS or PAGE_FOOTER.match(text):
            if kinds and text:
                raise SeedError(f"line {number}: a heading read as {kinds}")
            continue
        if not _read_once(kinds):
            raise SeedError(f"line {number} is read as {kinds or 'nothing'}: {text[:30]}")
    cells, leftover = _split_lines(lines, claimed)
    comments = [_comment(row, plan, cells, leftover) for row in rows]
    if [c.number for c in comments] != list(range(1, len(comments) + 1)):
        raise SeedError("the comments are not numbered 1, 2, 3 … without gaps")
    return comments, published_summary(lines)


def _read_once(kinds: Sequence[str]) -> bool:
    """A line holds one text, or one column's value, or a value printed beside a text
    (「…独 賛同意見」) — or a page and a section side by side (「P.14他 2.2. (3) (ウ)他」)."""
    texts = [k for k in kinds if k in TEXTS]
    keys = [k for k in kinds if k in KEYS]
    if not kinds or len(texts) > 1 or len(set(keys)) != len(keys):
        return False
    return len(keys) <= 1 or bool(texts) or set(keys) == {"pg", "sec"}


def _split_lines(lines: Sequence[str], claimed: dict[int, list[str]],
                 ) -> tuple[dict[tuple[int, str], str], dict[int, str]]:
    """Each claimed line's column values, and the text left on it once they are taken off
    (a page and section at its start, a category at its end)."""
    cells: dict[tuple[int, str], str] = {}
    leftover: dict[int, str] = {}
    for number, kinds in claimed.items():
        text = lines[number - 1].strip()
        for column in KEYS:
            if column in kinds:
                cells[number, column], text = _key_value(column, text, number)
        if any(k in KEYS for k in kinds):
            if text and not any(k in TEXTS for k in kinds):
                raise SeedError(f"line {number}: {text[:30]!r} beside {kinds} is read by no text")
            leftover[number] = text
        else:
            leftover[number] = lines[number - 1].strip()
    return cells, leftover


def _comment(row: _Row, plan: Plan, cells: dict[tuple[int, str], str],
             leftover: dict[int, str]) -> Comment:
    values = {column: [cells[number, column] for number in row.columns[column]] for column in KEYS}
    texts: dict[str, list[str]] = {}
    for column in TEXTS:
        for number in row.columns.get(column, []):
            text = leftover[number]
            if text and text != REASON:
                texts.setdefault(column, []).append(text)
    number_text = "".join(values["no"])
    if number_text != str(row.number):
        raise SeedError(f"comment {row.number}: its number line says {number_text!r}")
    submitter = re.sub(r"^(\((?:一社|株)\)|NPO法人)\s+", r"\1", join_lines(values["who"]))
    category_text = "".join(values["cat"])
    try:
        category = Category(category_text)
    except ValueError:
        raise SeedError(f"comment {row.number}: no category {category_text!r}") from None
    branch_text = "".join(values["br"])
    if not (branch_text == "-" or branch_text.isdigit()):
        raise SeedError(f"comment {row.number}: 枝番 {branch_text!r} is not a number")
    pages = [p for p in values["pg"] if p != "-"]
    sections = [s for s in values["sec"] if s != "-"]
    refs = _section_refs(sections, plan, row.number)
    measure_ids = tuple(dict.fromkeys(m.id for ref in refs for m in plan.measures_under(ref)))
    answer = _paragraphs(texts.get("ans", []))
    summary = _paragraphs(texts.get("sum", []))
    if not summary or not answer:
        raise SeedError(f"comment {row.number}: no summary or no answer")
    return Comment(
        number=row.number, submitter=submitter,
        submitter_kind=SubmitterKind.INDIVIDUAL if INDIVIDUAL.match(submitter)
        else SubmitterKind.ORGANISATION,
        summary=summary, category=category, answer=answer,
        changed=CHANGED.search(answer.replace("\n", "")) is not None,
        branch=None if branch_text == "-" else int(branch_text),
        page=" ".join(pages), section="、".join(sections),
        reason=_paragraphs(texts.get("rsn", [])), refs=refs, measure_ids=measure_ids)


# --- 資料1-3 --------------------------------------------------------------------------

_TOTAL = re.compile(r"(\d+)者から(\d+)件")
_ORGANISATIONS = re.compile(r"(\d+)企業・団体から延べ(\d+)件")
_INDIVIDUALS = re.compile(r"(\d+)個人から延べ(\d+)件")
_CATEGORY = re.compile(r"^\(\d\)(賛同意見|修正意見|政策展開に係る意見|その他意見): 全(\d+)件")
_CHANGED = re.compile(r"修正\(全(\d+)件\)")
SUMMARY_START = "資料 1-3"


def published_summary(lines: Sequence[str]) -> CommentSummary:
    """The figures 資料1-3 states: 30者から105件, 10企業・団体から延べ54件 …"""
    try:
        start = next(i for i, t in enumerate(lines) if t.strip() == SUMMARY_START)
        end = next(i for i in range(start, len(lines)) if lines[i].strip() == TABLE_START)
    except StopIteration:
        raise SeedError("no summary of the comments (資料 1-3) in the seed") from None
    text = "\n".join(line.strip() for line in lines[start:end])
    total, organisations, individuals = (p.search(text) for p in (_TOTAL, _ORGANISATIONS, _INDIVIDUALS))
    changed = _CHANGED.search(text)
    if total is None or organisations is None or individuals is None or changed is None:
        raise SeedError("資料 1-3 does not state its figures as expected")
    by_category: dict[Category, int] = {}
    for line in text.splitlines():
        if match := _CATEGORY.match(line):
            word = match.group(1).removesuffix("意見") if match.group(1) == "その他意見" else match.group(1)
            by_category[Category(word)] = int(match.group(2))
    if len(by_category) != len(Category):
        raise SeedError("資料 1-3 does not give a figure for every category")
    return CommentSummary(
        submitters=int(total.group(1)), comments=int(total.group(2)),
        by_kind={SubmitterKind.ORGANISATION: KindFigures(int(organisations.group(1)),
                                                         int(organisations.group(2))),
                 SubmitterKind.INDIVIDUAL: KindFigures(int(individuals.group(1)),
                                                       int(individuals.group(2)))},
        by_category={c: by_category[c] for c in Category},
        changed={c: int(changed.group(1)) if c is Category.AMENDMENT else 0 for c in Category})
