"""What the public comments add up to: the figures 資料1-3 publishes, computed.

A submitter is counted once however many comments they sent (「延べ」 counts comments), by
the name the table gives them; an individual is 「個人(n)」, anyone else an organisation.
"""

from __future__ import annotations

from collections.abc import Iterable

from renkei.plan.model import Category, Comment, CommentSummary, KindFigures, SubmitterKind


def summarise(comments: Iterable[Comment]) -> CommentSummary:
    items = list(comments)
    by_kind = {}
    for kind in SubmitterKind:
        mine = [c for c in items if c.submitter_kind is kind]
        by_kind[kind] = KindFigures(len({c.submitter for c in mine}), len(mine))
    return CommentSummary(
        submitters=len({c.submitter for c in items}),
        comments=len(items),
        by_kind=by_kind,
        by_category={cat: sum(1 for c in items if c.category is cat) for cat in Category},
        changed={cat: sum(1 for c in items if c.category is cat and c.changed)
                 for cat in Category},
    )


def _flatten(value: object, prefix: str = "") -> dict[str, object]:
    if isinstance(value, dict):
        flat: dict[str, object] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}{key}."))
        return flat
    return {prefix.rstrip("."): value}


def differences(computed: CommentSummary, published: CommentSummary) -> list[str]:
    """The figures that differ, as ``field: computed != published`` (field as in JSON)."""
    ours, theirs = _flatten(computed.as_json()), _flatten(published.as_json())
    return [f"{key}: {ours[key]} != {theirs[key]}" for key in ours if ours[key] != theirs[key]]


def select(comments: Iterable[Comment], category: Category | None = None,
           measure_id: str | None = None) -> list[Comment]:
    """The comments of one category, or about one plan node (its id as ``refs`` names it)."""
    return [c for c in comments
            if (category is None or c.category is category)
            and (measure_id is None or measure_id in c.refs or measure_id in c.measure_ids)]
