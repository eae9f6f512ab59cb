"""The overview's headline measures (資料1-1) and the glossary (用語解説) of the 2015 seed.

A headline is read by rule (an arrow, its text, its 【owners】); the measures it sums up
come from ``seed_layout.HEADLINE_LINKS_2015`` and are checked against those owners. The
glossary lost its two columns — on some pages all terms come before all definitions, on
others a term shares its first lines with its definition ("IT製品の調達にお 経済産業省及び…")
— so ``seed_layout.GLOSSARY_2015`` says which lines make each entry, and every line of the
glossary must be used exactly once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from renkei.plan.model import GlossaryEntry, HeadlineMeasure, Plan
from renkei.plan.seed import SeedError, join_lines
from renkei.plan.seed_layout import GLOSSARY_2015, HEADLINE_LINKS_2015

HEADLINE = "\uf0d8"  # the overview's arrow bullet
OVERVIEW_START = "資料1ー1"
OVERVIEW_END = "資料1-2"
_OWNERS = re.compile(r"【([^】]*)】")
_OWNER_SPLIT = re.compile(r"、|及び")

GLOSSARY_HEADINGS = ("参考", "用語解説", "用", "語", "解", "説")
_INDEX = re.compile(r"^[A-Zぁ-ん] (?=\S)")  # the initial letter or kana that opens a group
_PAGE = re.compile(r"^- \d+ -$")


def _span(lines: Sequence[str], item: str) -> list[tuple[int, str, str]]:
    """(line number, part, text) for one spec item; part is "", "l" or "r"."""
    part = item[-1] if item[-1] in "lr" else ""
    numbers = item.rstrip("lr")
    first, _, last = numbers.partition("-")
    found = []
    for number in range(int(first), int(last or first) + 1):
        text = _INDEX.sub("", lines[number - 1].strip())
        if part:
            left, space, right = text.partition(" ")
            if not space:
                raise SeedError(f"line {number}: expected a term and its definition side by side")
            text = left if part == "l" else right
        found.append((number, part, text))
    return found


def parse_glossary(lines: Sequence[str], layout: str = GLOSSARY_2015) -> list[GlossaryEntry]:
    entries: list[GlossaryEntry] = []
    used: dict[int, set[str]] = {}
    for row in layout.strip().splitlines():
        term_spec, definition_spec = row.split()
        parts = []
        for spec in (term_spec, definition_spec):
            span = [s for item in spec.split(",") for s in _span(lines, item)]
            for number, part, _ in span:
                halves = {part} if part else {"l", "r"}
                if halves & used.setdefault(number, set()):
                    raise SeedError(f"glossary: line {number} used twice")
                used[number] |= halves
            parts.append(join_lines([text for _, _, text in span]))
        entries.append(GlossaryEntry(parts[0], parts[1]))
    first, last = min(used), max(used)
    while last < len(lines) and not _PAGE.match(lines[last].strip()):
        last += 1  # to the footer of the page the last entry is on
    for number in range(first, last + 1):
        text = lines[number - 1].strip()
        if not text or text in GLOSSARY_HEADINGS or _PAGE.match(text):
            continue
        if used.get(number) != {"l", "r"}:
            raise SeedError(f"glossary: line {number} is not read whole: {text[:30]}")
    return entries


# --- headlines ---------------------------------------------------------------------------


def _overview_range(lines: Sequence[str]) -> tuple[int, int]:
    try:
        start = next(i for i, t in enumerate(lines) if t.strip() == OVERVIEW_START)
        end = next(i for i in range(start, len(lines)) if lines[i].strip() == OVERVIEW_END)
    except StopIteration:
        raise SeedError("no overview (資料1ー1 … 資料1-2) in the seed") from None
    return start, end


def _check_links(index: int, owners: Sequence[str], ids: Sequence[str], plan: Plan) -> None:
    """Each linked measure is one of the headline's owners', and each owner has one."""
    covered: set[str] = set()
    for measure_id in ids:
        node = plan.by_id.get(measure_id)
        if node is None or not set(owners) & set(node.owners):
            raise SeedError(f"headline {index + 1}: {measure_id} is not a measure of {owners}")
        covered |= set(node.owners)
    if not set(owners) <= covered:
        raise SeedError(f"headline {index + 1}: no measure of {set(owners) - covered}")


def parse_headlines(lines: Sequence[str], plan: Plan,
                    links: Sequence[str] = HEADLINE_LINKS_2015) -> list[HeadlineMeasure]:
    start, end = _overview_range(lines)
    headlines: list[HeadlineMeasure] = []
    current: list[str] | None = None
    for index in range(start, end):
        text = lines[index].strip()
        if text.startswith(HEADLINE):
            if current is not None:
                raise SeedError(f"line {index + 1}: headline before the last one's 【owners】")
            current = [text[1:]]
        elif current is not None:
            current.append(text)
        if current is not None and "】" in text:
            joined = join_lines(current)
            owners_match = _OWNERS.search(joined)
            if owners_match is None:
                raise SeedError(f"line {index + 1}: no 【owners】 in headline")
            words = owners_match.group(1).replace(" ", "").replace("\u3000", "")
            others = words.endswith("他")
            owners = tuple(n for n in _OWNER_SPLIT.split(words.removesuffix("他")) if n)
            body = joined[: owners_match.start()].strip()
            ids = links[len(headlines)].split() if len(headlines) < len(links) else []
            _check_links(len(headlines), owners, ids, plan)
            headlines.append(HeadlineMeasure(body, owners, others, tuple(ids)))
            current = None
    if current is not None:
        raise SeedError("the overview's last headline has no 【owners】")
    if len(headlines) != len(links):
        raise SeedError(f"{len(headlines)} headlines in the overview, {len(links)} linked")
    return headlines
