"""A public consultation (意見募集) from the comments received to the published results.

The steps: create the consultation; import the comments (the comment files of docs/plan.md,
category and answer optional); categorise each; draft its answer; approve the answer — by
someone other than whoever drafted it; publish, once every comment is categorised and its
answer approved. A comment's current category, answer and approval are kept on it, and
every step is also an appended ``ConsultationEvent``. Redrafting an approved answer takes
the approval away. The published results are a comment file (renkei-comments/1) that
``renkei plan comments summary --comments`` reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from renkei.core import audit
from renkei.core.text import is_clean_line
from renkei.core.time import Clock
from renkei.plan.comments import summarise
from renkei.plan.errors import PlanConflictError, PlanError, PlanForbiddenError, PlanNotFoundError
from renkei.plan.load import dump_comments, load_received
from renkei.plan.model import Category, Comment, CommentSummary, ReceivedComment, SubmitterKind
from renkei.plan.status import check_year, clean_text, plan_for_year
from renkei.plan.store import Consultation, ConsultationComment, ConsultationEvent, PlanYear

OPEN, PUBLISHED = "open", "published"
MAX_ANSWER_CHARS = 20_000
MAX_IMPORT_BYTES = 4 * 1024 * 1024  # within the API's request bound
KEY_MARKS = "-_."


def parse_category(text: str) -> Category:
    for category in Category:
        if text.strip() in (category.key, category.value):
            return category
    raise PlanError("no category {name}; use support, amendment, policy or other", name=text[:40])


def state_of(comment: ConsultationComment) -> str:
    """received → categorised → drafted → approved (a draft may come before a category)."""
    if comment.approved_by is not None:
        return "approved"
    if comment.drafted_by is not None:
        return "drafted"
    return "categorised" if comment.category else "received"


def _event(session: Session, clock: Clock, consultation: Consultation,
           comment: ConsultationComment | None, kind: str, actor: str,
           details: dict[str, Any], source: str) -> None:
    session.add(ConsultationEvent(consultation_id=consultation.id,
                                  comment_id=comment.id if comment else None, kind=kind,
                                  at=clock.now(), actor=actor[:200], details=details))
    target = consultation.key + (f"#{comment.number}" if comment else "")
    audit.record(session, clock, action=f"plan.consultation.{kind}", actor=actor,
                 source=source, target=target, details=details)
    session.flush()


def create(session: Session, clock: Clock, key: str, title: str, year: int, *, actor: str,
           source: str = "cli") -> Consultation:
    clean = key.strip()
    if not is_clean_line(clean, min_chars=1, max_chars=100) or not all(
            ch.isalnum() or ch in KEY_MARKS for ch in clean):
        # the key is a URL's path segment on the console and the API: no '/', '%', '?'
        raise PlanError("a consultation key is 1 to 100 letters, digits, '-', '_' or '.'")
    if get(session, clean, missing_ok=True) is not None:
        raise PlanConflictError("consultation {key} already exists", key=clean)
    consultation = Consultation(key=clean, title=clean_text(title, 500, "a title") or clean,
                                fiscal_year=check_year(year), state=OPEN, created_at=clock.now(),
                                created_by=actor[:200])
    session.add(consultation)
    session.flush()
    _event(session, clock, consultation, None, "create", actor, {"year": year}, source)
    return consultation


def get(session: Session, key: str, *, missing_ok: bool = False) -> Consultation | None:
    found = session.scalar(select(Consultation).where(Consultation.key == key))
    if found is None and not missing_ok:
        raise PlanNotFoundError("no consultation {key}", key=key[:100])
    return found


def _require(session: Session, key: str) -> Consultation:
    found = get(session, key)
    assert found is not None
    return found


def _open(session: Session, key: str) -> Consultation:
    consultation = _require(session, key)
    if consultation.state != OPEN:
        raise PlanConflictError("consultation {key} is published; it cannot change", key=key)
    return consultation


def consultations(session: Session, published_only: bool = False) -> list[Consultation]:
    query = select(Consultation)
    if published_only:
        query = query.where(Consultation.state == PUBLISHED)
    return list(session.scalars(query.order_by(Consultation.id)))


def _same(row: ConsultationComment, item: ReceivedComment) -> bool:
    return (row.submitter, row.submitter_kind, row.summary, row.reason, row.section, row.page,
            list(row.refs), row.branch) == (
        item.submitter, item.submitter_kind.value, item.summary, item.reason, item.section,
        item.page, list(item.refs), item.branch)


@dataclass(frozen=True)
class Imported:
    added: int
    unchanged: int


def import_comments(session: Session, clock: Clock, key: str, data: bytes, name: str, *,
                    actor: str, source: str = "cli") -> Imported:
    """Add the comments of a file; the same comments again change nothing, a different
    comment under a number already held is refused. A category or answer in the file is
    taken as a first categorisation and draft (to be approved)."""
    consultation = _open(session, key)
    if len(data) > MAX_IMPORT_BYTES:
        raise PlanError("a comment file is at most {limit} bytes", limit=MAX_IMPORT_BYTES)
    followed = session.get(PlanYear, consultation.fiscal_year) is not None \
        or consultation.fiscal_year == 2015
    plan = plan_for_year(session, consultation.fiscal_year) if followed else None
    received = load_received(data, name, plan)
    held = {row.number: row for row in comments(session, key)}
    conflicts = [c.number for c in received if c.number in held and not _same(held[c.number], c)]
    if conflicts:
        raise PlanConflictError("comment {number} is already held with other content",
                                number=conflicts[0])
    fresh = [c for c in received if c.number not in held]
    for item in fresh:
        row = ConsultationComment(
            consultation_id=consultation.id, number=item.number,
            submitter=item.submitter[:200], submitter_kind=item.submitter_kind.value,
            branch=item.branch, page=item.page[:100], section=item.section,
            refs=list(item.refs), summary=item.summary, reason=item.reason,
            category=item.category.value if item.category else None,
            answer=item.answer, changed=item.changed,
            drafted_by=actor[:200] if item.answer else None)
        session.add(row)
    session.flush()
    _event(session, clock, consultation, None, "import", actor,
           {"file": name[:200], "added": len(fresh), "unchanged": len(received) - len(fresh)},
           source)
    return Imported(len(fresh), len(received) - len(fresh))


def comments(session: Session, key: str) -> list[ConsultationComment]:
    consultation = _require(session, key)
    return list(session.scalars(select(ConsultationComment).where(
        ConsultationComment.consultation_id == consultation.id)
        .order_by(ConsultationComment.number)))


def _comment(session: Session, consultation: Consultation, number: int) -> ConsultationComment:
    found = session.scalar(select(ConsultationComment).where(
        ConsultationComment.consultation_id == consultation.id,
        ConsultationComment.number == number))
    if found is None:
        raise PlanNotFoundError("consultation {key} has no comment {number}",
                                key=consultation.key, number=number)
    return found


def categorise(session: Session, clock: Clock, key: str, number: int, category: Category, *,
               actor: str, source: str = "cli") -> ConsultationComment:
    consultation = _open(session, key)
    comment = _comment(session, consultation, number)
    comment.category = category.value
    comment.approved_by = None  # what was approved was the answer to another category
    _event(session, clock, consultation, comment, "categorise", actor,
           {"category": category.key}, source)
    return comment


def draft(session: Session, clock: Clock, key: str, number: int, answer: str, *,
          changed: bool = False, actor: str, source: str = "cli") -> ConsultationComment:
    consultation = _open(session, key)
    comment = _comment(session, consultation, number)
    text = clean_text(answer, MAX_ANSWER_CHARS, "an answer")
    if not text:
        raise PlanError("an answer cannot be empty")
    comment.answer, comment.changed = text, changed
    comment.drafted_by, comment.approved_by = actor[:200], None
    _event(session, clock, consultation, comment, "draft", actor,
           {"changed": changed, "answer": text}, source)
    return comment


def approve(session: Session, clock: Clock, key: str, number: int, *, actor: str,
            source: str = "cli") -> ConsultationComment:
    consultation = _open(session, key)
    comment = _comment(session, consultation, number)
    if comment.drafted_by is None:
        raise PlanError("comment {number} has no drafted answer to approve", number=number)
    if comment.category is None:
        raise PlanError("comment {number} has no category yet", number=number)
    if comment.drafted_by == actor[:200]:
        raise PlanForbiddenError("an answer is approved by someone other than its drafter")
    comment.approved_by = actor[:200]
    _event(session, clock, consultation, comment, "approve", actor, {}, source)
    return comment


def _as_comment(row: ConsultationComment) -> Comment:
    assert row.category is not None
    return Comment(number=row.number, submitter=row.submitter,
                   submitter_kind=SubmitterKind(row.submitter_kind), summary=row.summary,
                   category=Category(row.category), answer=row.answer, changed=row.changed,
                   branch=row.branch, page=row.page, section=row.section, reason=row.reason,
                   refs=tuple(row.refs))


def publish(session: Session, clock: Clock, key: str, *, actor: str,
            source: str = "cli") -> Consultation:
    """Publish the results once every comment is categorised and its answer approved."""
    consultation = _open(session, key)
    rows = comments(session, key)
    if not rows:
        raise PlanError("consultation {key} has no comments to publish", key=key)
    waiting = [row.number for row in rows if state_of(row) != "approved"]
    if waiting:
        raise PlanConflictError("{count} comments are not approved yet (the first: {number})",
                                count=len(waiting), number=waiting[0])
    consultation.state = PUBLISHED
    consultation.published_at = clock.now()
    _event(session, clock, consultation, None, "publish", actor, {"comments": len(rows)}, source)
    return consultation


def results(session: Session, key: str, *, unpublished_ok: bool = False,
            ) -> tuple[Consultation, list[Comment], CommentSummary]:
    """A published consultation's comments with their answers, and what they add up to."""
    consultation = _require(session, key)
    if consultation.state != PUBLISHED and not unpublished_ok:
        # the same answer as for a key that does not exist: a reader learns no unpublished key
        raise PlanNotFoundError("no consultation {key}", key=key[:100])
    published = [_as_comment(row) for row in comments(session, key) if row.category]
    return consultation, published, summarise(published)


def results_yaml(session: Session, key: str) -> str:
    consultation, published, _summary = results(session, key)
    return dump_comments(consultation.fiscal_year, published, None,
                         note=f"Results of the consultation {consultation.key}: "
                              f"{consultation.title}")


def history(session: Session, key: str, number: int | None = None) -> list[ConsultationEvent]:
    consultation = _require(session, key)
    query = select(ConsultationEvent).where(ConsultationEvent.consultation_id == consultation.id)
    if number is not None:
        query = query.where(ConsultationEvent.comment_id == _comment(
            session, consultation, number).id)
    return list(session.scalars(query.order_by(ConsultationEvent.id)))


def describe(row: ConsultationComment) -> dict[str, Any]:
    return {"number": row.number, "submitter": row.submitter,
            "submitter_kind": row.submitter_kind, "section": row.section,
            "refs": list(row.refs), "summary": row.summary, "reason": row.reason,
            "category": Category(row.category).key if row.category else None,
            "answer": row.answer, "changed": row.changed, "state": state_of(row),
            "drafted_by": row.drafted_by, "approved_by": row.approved_by}
