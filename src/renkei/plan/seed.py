"""The converter: the seed text of *Cybersecurity 2015* (資料1, a PDF turned to text) into
the plan and comment data the package ships.

    python -m renkei.plan.seed ../shared/seed/cybersecurity2015-plan-and-public-comments.txt \\
        --out src/renkei/plan/data

writes ``plan-2015.yaml`` and ``comments-2015.yaml``; the shipped files are what this
produced, and ``tests/plan/test_seed.py`` checks so whenever the seed is at hand.

The plan's body (資料1-2) is regular enough to read by rule: numbered headings, measures
starting ``(ア)``, running page headers to drop. The overview (資料1-1), the glossary and
the comment table (資料1-4) lost their layout in the PDF: ``seed_overview`` and
``seed_comments`` read them with the line maps of ``seed_layout``, which were made by
reading this one seed file and are refused for any other.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from renkei.plan.model import Node, NodeKind, Plan

NOTE = ("Made by `python -m renkei.plan.seed SEED --out src/renkei/plan/data` from the seed "
        "text of Cybersecurity 2015; do not edit by hand (docs/plan.md).")
TITLE = "サイバーセキュリティ2015"
YEAR = 2015

BULLET = "\uf09e"  # a Wingdings arrow: the sub-items inside a measure
PAGE_FOOTER = re.compile(r"^- (\d+) -$")
CHAPTER = re.compile(r"^(\d)\. (\S.*)$")
SECTION = re.compile(r"^(\d\.\d)\. (\S.*)$")
SUBSECTION = re.compile(r"^\((\d)\) (\S.*)$")
MEASURE = re.compile(r"^\(([ア-ン]{1,2})\)(.*)$")
KANA_ORDER = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホ"
BODY_START = "はじめに"
BODY_END = "用語解説"

# Bodies a measure names as responsible. Leads ("…において") are kept whatever their name
# when they read as a body; those it acts through ("…を通じ") only when known here, since
# "ISP事業者等を通じ" or "対話や意見交換を通じ" are means, not bodies.
BODY_SUFFIXES = ("省", "庁", "官房", "府", "委員会", "警察", "当局", "省庁")
THROUGH = ("IPA", "JPCERT/CC", "NICT", "CSSC", "AIST", "NII", "フィッシング対策協議会")
_NAME_SPLIT = re.compile(r"、|及び|並びに")
_LEAD = re.compile(r"において")
_VIA = re.compile(r"を通じ(?!た)")
_CLAUSE_OPENERS = ("また、", "さらに、", "加えて、")


class SeedError(ValueError):
    """The seed does not read as expected: the message says where."""


@dataclass(frozen=True)
class Line:
    number: int  # 1-based line in the seed file
    text: str
    page: int | None


def read_seed(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def check_seed(lines: Sequence[str]) -> None:
    """The reading maps of ``seed_layout`` name lines of one seed file: refuse any other."""
    from renkei.plan.seed_layout import SEED_SHA256

    digest = hashlib.sha256(("\n".join(lines)).encode("utf-8")).hexdigest()
    if digest != SEED_SHA256:
        raise SeedError("not the seed the reading maps were made for (sha256 of its lines "
                        f"{digest}, expected {SEED_SHA256})")


def join_lines(parts: Sequence[str]) -> str:
    """Japanese wraps without spaces; a space only where two Latin words met at the break."""
    out = ""
    for part in (p.strip() for p in parts):
        if out and part and out[-1].isascii() and out[-1].isalnum() and part[0].isascii() \
                and part[0].isalnum():
            out += " "
        out += part
    return out


# --- owners ---------------------------------------------------------------------------


def _clean_name(name: str) -> str:
    name = name.strip().removeprefix("その他")
    return name[:-1] if name.endswith("等") and len(name) > 1 else name


def _is_body(name: str) -> bool:
    return name in THROUGH or name.endswith(BODY_SUFFIXES)


def _names_before(text: str, end: int) -> list[str]:
    """The run of names joined by 、/及び that ends at ``end``, nearest last."""
    start = max(text.rfind(mark, 0, end) for mark in ("。", "\n", "(", "「", "・"))
    phrase = text[start + 1:end]
    names = [_clean_name(n) for n in _NAME_SPLIT.split(phrase)]
    taken: list[str] = []
    for name in reversed(names):
        if not name or not _is_body(name):
            break
        taken.append(name)
    return list(reversed(taken))


def _opens_clause(text: str, start: int) -> bool:
    before = text[:start]
    for opener in _CLAUSE_OPENERS:
        if before.endswith(opener):
            before = before[: -len(opener)]
            break
    return before == "" or before.endswith(("。", "\n", "・"))


def extract_owners(text: str) -> tuple[str, ...]:
    """The bodies a measure makes responsible: the leads that open a sentence or sub-item
    ("内閣官房及び金融庁において、", "また、都道府県警察において"), then the bodies it acts
    through ("IPAを通じ"), each once and in the order they first appear."""
    leads: list[str] = []
    for match in _LEAD.finditer(text):
        names = _names_before(text, match.start())
        if not names:
            continue
        first = text.rfind(names[0], 0, match.start())
        if first >= 0 and _opens_clause(text, first):
            leads.extend(names)
    through: list[str] = []
    for match in _VIA.finditer(text):
        through.extend(n for n in _names_before(text, match.start()) if n in THROUGH)
    return tuple(dict.fromkeys(leads + through))


# --- the plan's body --------------------------------------------------------------------


def paged_lines(lines: Sequence[str], start: int, end: int) -> list[Line]:
    """Lines ``start:end`` (0-based) with their page; page footers and the running header
    after each (chapter line, optional section line) removed."""
    out: list[Line] = []
    pending: list[Line] = []
    header = ""  # what of the running header may still come: "chapter", "section" or ""
    for index in range(start, end):
        text = lines[index].strip()
        footer = PAGE_FOOTER.match(text)
        if footer:
            page = int(footer.group(1))
            out.extend(replace(line, page=page) for line in pending)
            pending = []
            header = "chapter"
            continue
        if header == "chapter" and ((CHAPTER.match(text) and not SECTION.match(text))
                                    or text == "参考"):
            header = "section"
            continue
        if header == "section" and (SECTION.match(text) or text == BODY_END):
            header = ""
            continue
        header = ""
        if text:
            pending.append(Line(index + 1, text, None))
    out.extend(pending)
    return out


def _body_range(lines: Sequence[str]) -> tuple[int, int]:
    starts = [i for i, text in enumerate(lines) if text.strip() == BODY_START]
    if len(starts) < 2:
        raise SeedError("no 「はじめに」 after the table of contents: is this the 2015 seed?")
    start = next(i for i in range(starts[1], len(lines)) if CHAPTER.match(lines[i].strip()))
    ends = [i for i in range(start, len(lines)) if lines[i].strip() == BODY_END]
    if not ends:
        raise SeedError("no 用語解説 after the plan's body")
    return start, ends[0]


@dataclass
class _Open:
    id: str
    kind: NodeKind
    number: str
    title: str
    parent: str | None
    page: int | None
    first_line: int
    paragraphs: list[list[str]]


def parse_body(lines: Sequence[str]) -> list[Node]:
    """The chapters, sections, sub-sections and measures of 資料1-2, in document order."""
    start, end = _body_range(lines)
    nodes: list[Node] = []
    ids: set[str] = set()
    chapter: str | None = None
    section: str | None = None
    subsection: str | None = None
    current: _Open | None = None

    def close() -> None:
        nonlocal current
        if current is None:
            return
        text = "\n".join(join_lines(p) for p in current.paragraphs if p)
        if current.kind is NodeKind.MEASURE and not text:
            raise SeedError(f"line {current.first_line}: measure {current.id} has no text")
        owners = extract_owners(text) if current.kind is NodeKind.MEASURE else ()
        if current.kind is NodeKind.MEASURE and not owners:
            raise SeedError(f"line {current.first_line}: no responsible body in {current.id}")
        nodes.append(Node(current.id, current.kind, current.number, current.title, text,
                          owners, current.parent, current.page))
        current = None

    def open_node(node: _Open) -> None:
        nonlocal current
        close()
        if node.id in ids:
            raise SeedError(f"line {node.first_line}: {node.id} appears twice")
        ids.add(node.id)
        current = node

    for line in paged_lines(lines, start, end):
        text = line.text
        if (m := CHAPTER.match(text)) and not SECTION.match(text):
            if m.group(1) == chapter:
                continue  # the heading printed again under its running header
            chapter, section, subsection = m.group(1), None, None
            open_node(_Open(chapter, NodeKind.CHAPTER, f"{chapter}.", m.group(2), None,
                            line.page, line.number, []))
        elif m := SECTION.match(text):
            if m.group(1) == section:
                continue
            if chapter is None or not m.group(1).startswith(chapter + "."):
                raise SeedError(f"line {line.number}: section {m.group(1)} outside chapter {chapter}")
            section, subsection = m.group(1), None
            open_node(_Open(section, NodeKind.SECTION, f"{section}.", m.group(2), chapter,
                            line.page, line.number, []))
        elif m := SUBSECTION.match(text):
            parent = section or chapter
            if parent is None:
                raise SeedError(f"line {line.number}: sub-section before any chapter")
            subsection = f"{parent}({m.group(1)})"
            open_node(_Open(subsection, NodeKind.SUBSECTION, f"({m.group(1)})", m.group(2),
                            parent, line.page, line.number, []))
        elif m := MEASURE.match(text):
            parent = subsection or section or chapter
            if parent is None:
                raise SeedError(f"line {line.number}: measure before any chapter")
            open_node(_Open(f"{parent}({m.group(1)})", NodeKind.MEASURE, f"({m.group(1)})",
                            "", parent, line.page, line.number, [[m.group(2)]]))
        elif current is not None and current.kind is NodeKind.MEASURE:
            if text.startswith(BULLET):
                current.paragraphs.append(["・" + text[1:].strip()])
            else:
                current.paragraphs[-1].append(text)
        elif current is not None and current.kind is not NodeKind.MEASURE:
            # a heading's wrapped title, never seen in 2015 but cheap to keep right
            raise SeedError(f"line {line.number}: text after heading {current.id}: {text[:30]}")
    close()
    _check_numbering(nodes)
    return nodes


def _check_numbering(nodes: Sequence[Node]) -> None:
    """Measures under each parent run (ア), (イ) … and sub-sections (1), (2) … with no gap:
    a measure the rules missed or merged shows here."""
    seen: dict[tuple[str | None, NodeKind], list[str]] = {}
    for node in nodes:
        seen.setdefault((node.parent, node.kind), []).append(node.number.strip("()."))
    for (parent, kind), numbers in seen.items():
        if kind is NodeKind.MEASURE:
            expected = list(KANA_ORDER[: len(numbers)])
        elif kind is NodeKind.SUBSECTION:
            expected = [str(i) for i in range(1, len(numbers) + 1)]
        else:
            continue
        if numbers != expected:
            raise SeedError(f"under {parent}: {kind.value}s numbered {numbers}")


def parse_plan(lines: Sequence[str]) -> Plan:
    from renkei.plan.seed_overview import parse_glossary, parse_headlines

    nodes = parse_body(lines)
    plan = Plan(YEAR, TITLE, tuple(nodes))
    return replace(plan, headlines=tuple(parse_headlines(lines, plan)),
                   glossary=tuple(parse_glossary(lines)))


def iter_measure_counts(plan: Plan) -> Iterator[tuple[str, int]]:
    """(chapter or section id, measures directly or indirectly under it)."""
    for node in plan.nodes:
        if node.kind in (NodeKind.CHAPTER, NodeKind.SECTION):
            yield node.id, sum(1 for _ in plan.measures_under(node.id))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m renkei.plan.seed",
        description="Convert the Cybersecurity 2015 seed text into the plan's YAML data.")
    parser.add_argument("seed", type=Path, help="the seed text file")
    parser.add_argument("--out", type=Path, required=True, help="folder for the YAML files")
    args = parser.parse_args(argv)
    from renkei.plan.comments import differences, summarise
    from renkei.plan.load import dump_comments, dump_plan
    from renkei.plan.seed_comments import parse_comments

    try:
        lines = read_seed(args.seed)
        check_seed(lines)
        plan = parse_plan(lines)
        comments, published = parse_comments(lines, plan)
    except (OSError, UnicodeDecodeError, SeedError) as exc:
        sys.stderr.write(f"{args.seed}: {exc}\n")
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "plan-2015.yaml").write_text(dump_plan(plan, NOTE), encoding="utf-8")
    (args.out / "comments-2015.yaml").write_text(
        dump_comments(YEAR, comments, published, NOTE), encoding="utf-8")
    for node_id, count in iter_measure_counts(plan):
        sys.stderr.write(f"{node_id}\t{count}\n")
    sys.stderr.write(f"measures {len(plan.measures())}, headlines {len(plan.headlines)}, "
                     f"glossary {len(plan.glossary)}, comments {len(comments)}\n")
    for difference in differences(summarise(comments), published):
        sys.stderr.write(f"the table and 資料1-3 differ: {difference}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
