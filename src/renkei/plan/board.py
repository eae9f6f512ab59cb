"""The measures board as the console shows it: the plan's tree with each measure's status
in a fiscal year, narrowed to a responsible body or a status, and the counts by status.

Pure functions over a ``Plan`` and the ``MeasureStatus`` list ``status.statuses`` gives;
the public comments shipped with the 2015 plan are read once per process.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cache

from renkei.plan.comments import differences, summarise
from renkei.plan.load import load_2015
from renkei.plan.model import Comment, CommentSummary, Node, NodeKind, Plan, Status
from renkei.plan.status import MeasureStatus

NO_STATUS = "none"
#: the order statuses are counted and coloured in (as the yearly report does)
STATUS_ORDER: tuple[Status | None, ...] = (Status.DONE, Status.IN_PROGRESS, Status.PLANNED,
                                           Status.DELAYED, Status.DROPPED, None)


def status_key(status: Status | None) -> str:
    """The word a filter or a CSS class uses for a status ("none": not recorded)."""
    return status.value if status is not None else NO_STATUS


@dataclass(frozen=True)
class Line:
    """One line of the board: a heading (``item`` None) or a measure with its status."""

    node: Node
    depth: int
    item: MeasureStatus | None = None


def owners(plan: Plan) -> list[tuple[str, int]]:
    """The bodies the plan makes responsible, with their number of measures, most first."""
    counted = Counter(owner for node in plan.measures() for owner in node.owners)
    return sorted(counted.items(), key=lambda pair: (-pair[1], pair[0]))


def counts(items: list[MeasureStatus]) -> dict[str, int]:
    """Measures per status (every status named, in ``STATUS_ORDER``)."""
    found = Counter(status_key(item.status) for item in items)
    return {status_key(s): found.get(status_key(s), 0) for s in STATUS_ORDER}


def narrow(items: list[MeasureStatus], owner: str = "", status: str = "") -> list[MeasureStatus]:
    """The measures of one responsible body and/or in one status ("none": not recorded)."""
    return [item for item in items
            if (not owner or owner in item.measure.owners)
            and (not status or status_key(item.status) == status)]


_DEPTH = {NodeKind.CHAPTER: 0, NodeKind.SECTION: 1, NodeKind.SUBSECTION: 2, NodeKind.MEASURE: 3}


def lines(plan: Plan, shown: list[MeasureStatus]) -> list[Line]:
    """The plan's nodes in document order: the measures in ``shown`` and the headings
    above them; headings with nothing shown below are left out."""
    by_id = {item.measure.id: item for item in shown}
    wanted: set[str] = set()
    for measure_id in by_id:
        node: Node | None = plan.by_id.get(measure_id)
        while node is not None and node.id not in wanted:
            wanted.add(node.id)
            node = plan.by_id.get(node.parent) if node.parent else None
    return [Line(node, _DEPTH[node.kind], by_id.get(node.id))
            for node in plan.nodes if node.id in wanted]


def ancestors(plan: Plan, node: Node) -> list[Node]:
    """The headings above a node, the chapter first."""
    found = []
    current = plan.by_id.get(node.parent) if node.parent else None
    while current is not None:
        found.append(current)
        current = plan.by_id.get(current.parent) if current.parent else None
    return found[::-1]


@dataclass(frozen=True)
class ShippedComments:
    """The public comments on the 2015 plan, their figures computed from the table, the
    figures as the government published them, and where the two differ."""

    comments: tuple[Comment, ...]
    computed: CommentSummary
    published: CommentSummary | None
    differences: tuple[str, ...]


@cache
def shipped_comments() -> ShippedComments:
    _plan, comments, published = load_2015()
    computed = summarise(comments)
    found = tuple(differences(computed, published)) if published is not None else ()
    return ShippedComments(tuple(comments), computed, published, found)
