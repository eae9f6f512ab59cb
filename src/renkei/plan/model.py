"""The annual plan and its public comments as plain values.

A plan is a flat list of nodes — chapters, sections, sub-sections and measures — each
naming its parent, so that what later hangs off a measure (its status per fiscal year, an
audit finding, a line of the yearly report) needs only the measure's id, which is the
plan's own numbering (``2.3(1)(キ)``) and so stays the same wherever the plan is printed.
Nothing here reads files or touches the database.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

StrEnumT = TypeVar("StrEnumT", bound=StrEnum)


class NodeKind(StrEnum):
    CHAPTER = "chapter"  # 1. 経済社会の活力の向上及び持続的発展
    SECTION = "section"  # 2.3. 政府機関を守るための取組
    SUBSECTION = "subsection"  # (1) 攻撃を前提とした情報システムの防御力の強化…
    MEASURE = "measure"  # (キ) 内閣官房において、…


@dataclass(frozen=True)
class Node:
    """One heading or measure. ``number`` is as printed (``2.3``, ``(1)``, ``(キ)``);
    ``owners`` are the bodies the text makes responsible, leads first (``内閣官房``,
    ``経済産業省``) then those it acts through (``IPA``); ``page`` is the plan's page."""

    id: str
    kind: NodeKind
    number: str
    title: str = ""
    text: str = ""
    owners: tuple[str, ...] = ()
    parent: str | None = None
    page: int | None = None


@dataclass(frozen=True)
class HeadlineMeasure:
    """A headline of the overview (資料1-1) with its 【owners】; ``others`` is the 「他」
    that says more bodies take part. ``measure_ids`` are the plan's measures it sums up."""

    text: str
    owners: tuple[str, ...]
    others: bool = False
    measure_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class GlossaryEntry:
    term: str
    definition: str


@dataclass(frozen=True)
class Plan:
    """A year's plan: its nodes in document order, the overview's headlines, the glossary."""

    year: int
    title: str
    nodes: tuple[Node, ...]
    headlines: tuple[HeadlineMeasure, ...] = ()
    glossary: tuple[GlossaryEntry, ...] = ()
    by_id: Mapping[str, Node] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_id", {node.id: node for node in self.nodes})

    def measures(self) -> list[Node]:
        return [node for node in self.nodes if node.kind is NodeKind.MEASURE]

    def chapter_of(self, node: Node) -> Node:
        while node.parent is not None:
            node = self.by_id[node.parent]
        return node

    def measures_under(self, node_id: str) -> Iterator[Node]:
        """The measures at or below a node (a measure gives itself)."""
        for node in self.measures():
            current: Node | None = node
            while current is not None:
                if current.id == node_id:
                    yield node
                    break
                current = self.by_id[current.parent] if current.parent else None


class Category(StrEnum):
    """How the government classed a comment (資料1-3); the value is the seed's word."""

    SUPPORT = "賛同意見"
    AMENDMENT = "修正意見"
    POLICY = "政策展開に係る意見"
    OTHER = "その他"

    @property
    def key(self) -> str:
        """The English name used in JSON and on the command line: support, amendment …"""
        return self.name.lower()


class SubmitterKind(StrEnum):
    ORGANISATION = "organisation"
    INDIVIDUAL = "individual"


@dataclass(frozen=True)
class Comment:
    """One public comment (資料1-4). ``page`` and ``section`` are as the table prints
    them; ``refs`` are the plan nodes the section column names and ``measure_ids`` the
    measures those cover. ``changed`` says the plan text was changed because of it."""

    number: int
    submitter: str
    submitter_kind: SubmitterKind
    summary: str
    category: Category
    answer: str
    changed: bool = False
    branch: int | None = None  # the submitter's own running number (枝番)
    page: str = ""
    section: str = ""
    reason: str = ""
    refs: tuple[str, ...] = ()
    measure_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReceivedComment:
    """A comment as a new consultation receives it: like ``Comment``, but the category and
    answer may not be given yet (the workflow adds them)."""

    number: int
    submitter: str
    submitter_kind: SubmitterKind
    summary: str
    category: Category | None = None
    answer: str = ""
    changed: bool = False
    branch: int | None = None
    page: str = ""
    section: str = ""
    reason: str = ""
    refs: tuple[str, ...] = ()
    measure_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class KindFigures:
    submitters: int
    comments: int


@dataclass(frozen=True)
class CommentSummary:
    """The figures 資料1-3 publishes: who sent how many comments of which category, and
    how many of each category changed the plan."""

    submitters: int
    comments: int
    by_kind: Mapping[SubmitterKind, KindFigures]
    by_category: Mapping[Category, int]
    changed: Mapping[Category, int]

    def as_json(self) -> dict[str, object]:
        return {
            "submitters": self.submitters,
            "comments": self.comments,
            "by_submitter_kind": {
                kind.value: {"submitters": figures.submitters, "comments": figures.comments}
                for kind, figures in self.by_kind.items()},
            "by_category": {category.key: count for category, count in self.by_category.items()},
            "changed": {category.key: count for category, count in self.changed.items()},
            "changed_total": sum(self.changed.values()),
        }


class Status(StrEnum):
    """Where a measure stands in a fiscal year."""

    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    DELAYED = "delayed"
    DROPPED = "dropped"


class AuditOutcome(StrEnum):
    """The result an audit gives one requirement; the first three are ranked, best first."""

    COMPLIANT = "compliant"
    PARTIAL = "partially_compliant"
    NON_COMPLIANT = "non_compliant"
    NOT_APPLICABLE = "not_applicable"
    NOT_ASSESSED = "not_assessed"

    @property
    def rank(self) -> int | None:
        """0 for compliant, 1 partial, 2 non-compliant; None where there is nothing to rank."""
        order = (AuditOutcome.COMPLIANT, AuditOutcome.PARTIAL, AuditOutcome.NON_COMPLIANT)
        return order.index(self) if self in order else None


def parse_choice(enum: type[StrEnumT], text: str) -> StrEnumT:
    """A member of ``enum`` by its value, with ``-`` for ``_`` and any case
    (``in-progress``); raises ValueError."""
    return enum(text.strip().lower().replace("-", "_"))
