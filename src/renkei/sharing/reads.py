"""Reads for a person browsing (the console): shared objects a page at a time, by type
and TLP marking, how many of each there are, and a page of submissions.

Like every read of shared objects, each query is narrowed by the TLP policy
(``store.readable_clause``): a page, a count or a list of types never includes, nor
betrays, an object the viewer may not read.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import Session

from renkei.core.members import Principal
from renkei.sharing import service
from renkei.sharing.policy import Viewer
from renkei.sharing.store import SharedObject, Submission, SubmissionState, readable_clause

PAGE_MAX = 200


@dataclass(frozen=True)
class Tally:
    """How many readable object versions there are of one type under one marking."""

    stix_type: str
    marking: str
    count: int


def browse(session: Session, viewer: Viewer, *, stix_type: str | None = None,
           marking: str | None = None, contains: str | None = None,
           before: int | None = None, limit: int = 50) -> list[SharedObject]:
    """The newest object versions ``viewer`` may read (by row, newest first), optionally of
    one type, one marking or holding a literal text; ``before`` a row id continues a page."""
    stmt = select(SharedObject).where(readable_clause(viewer))
    if stix_type:
        stmt = stmt.where(SharedObject.stix_type == stix_type)
    if marking:
        stmt = stmt.where(SharedObject.marking == marking)
    if contains:
        stmt = stmt.where(cast(SharedObject.body, Text).contains(contains, autoescape=True))
    if before is not None:
        stmt = stmt.where(SharedObject.id < before)
    stmt = stmt.order_by(SharedObject.id.desc()).limit(max(1, min(limit, PAGE_MAX)))
    return list(session.scalars(stmt))


def tallies(session: Session, viewer: Viewer) -> list[Tally]:
    """Readable object versions counted by type and marking, the most common type first."""
    rows = session.execute(
        select(SharedObject.stix_type, SharedObject.marking, func.count())
        .where(readable_clause(viewer))
        .group_by(SharedObject.stix_type, SharedObject.marking))
    found = [Tally(stix_type, marking, int(count)) for stix_type, marking, count in rows]
    totals: dict[str, int] = {}
    for tally in found:
        totals[tally.stix_type] = totals.get(tally.stix_type, 0) + tally.count
    return sorted(found, key=lambda t: (-totals[t.stix_type], t.stix_type, t.marking))


def submissions(session: Session, principal: Principal, *,
                state: SubmissionState | None = None, before: int | None = None,
                limit: int = 50) -> list[Submission]:
    """A page of the submissions the caller may see (as ``service.list_submissions``: the
    hub's staff every one, a member its organisation's, TLP:RED ones their author's only),
    newest first; ``before`` a submission id continues a page. The service's own rule
    (``service.may_see_submission``) decides, so this page and the API never disagree."""
    stmt = select(Submission)
    if not Viewer.of(principal).is_hub_staff:
        stmt = stmt.where(Submission.organisation_id == principal.organisation_id)
    if state is not None:
        stmt = stmt.where(Submission.state == state)
    if before is not None:
        stmt = stmt.where(Submission.id < before)
    rows = session.scalars(stmt.order_by(Submission.id.desc()).limit(max(1, min(limit, PAGE_MAX))))
    return [row for row in rows if service.may_see_submission(principal, row)]
