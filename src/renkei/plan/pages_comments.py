"""The plan's public-comment pages (/plan/comments, /plan/consultations/…): the 2015 comments
with their figures, and a new consultation's workflow for the hub's staff — open it, import
the comments received (a comment file, docs/plan.md), categorise each, draft its answer,
approve the answer (someone other than its drafter: the service's four-eyes rule), publish.

Members and anyone else read a consultation only once it is published, and then only its
results, as the API's ``results`` gives them; a consultation still open is answered 404, and
its comments, drafts and history are the hub's staff's (403 for anyone else).
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from renkei.console.forms import line, page_number, text
from renkei.console.web import Form, Page, page
from renkei.core.errors import UserError
from renkei.core.http import MAX_ID
from renkei.core.i18n import gettext_noop
from renkei.plan import access, board, consultation
from renkei.plan import status as statuses
from renkei.plan.comments import select as comments_about
from renkei.plan.errors import PlanNotFoundError
from renkei.plan.model import Category
from renkei.plan.pages_common import (
    may_change,
    not_found,
    require_changer,
    require_staff,
    status_of,
    upload,
)

router = APIRouter(include_in_schema=False)
Number = Annotated[int, Path(ge=0, le=MAX_ID)]  # a comment's 通し番号 (0 is a number too)

COMMENTS_PER_PAGE = 25
ROWS_SHOWN = 500
STATES = ("received", "categorised", "drafted", "approved")
IMPORTED = gettext_noop("{added} comments added, {unchanged} unchanged")
EVENT_NAMES = {"create": gettext_noop("consultation opened"),
               "import": gettext_noop("comments imported"),
               "categorise": gettext_noop("categorised"), "draft": gettext_noop("drafted"),
               "approve": gettext_noop("approved"), "publish": gettext_noop("published")}


def _category(given: str) -> Category | None:
    return next((c for c in Category if c.key == given), None)


def _key(given: str) -> str:
    return line(given, 100)


def _path(key: str, number_: int | None = None) -> str:
    path = f"/plan/consultations/{quote(key, safe='')}"
    return path if number_ is None else f"{path}/comments/{number_}"


# --- the 2015 comments, the consultations, opening one -------------------------------------


def _comments_page(p: Page, *, error: str = "", values: dict[str, str] | None = None,
                   status: int = 200) -> Response:
    shipped = board.shipped_comments()
    category = _category(line(p.request.query_params.get("category"), 20))
    chosen = comments_about(shipped.comments, category)
    shown = page_number(p.request.query_params.get("page"), 1)
    start = (shown - 1) * COMMENTS_PER_PAGE
    staff = access.is_hub_staff(p.principal)
    return p.render("plan/comments.html", status=status, title=p.t("Public comments"),
                    shipped=shipped, rows=chosen[start:start + COMMENTS_PER_PAGE],
                    number=shown, more=len(chosen) > start + COMMENTS_PER_PAGE,
                    count=len(chosen), category=category, categories=list(Category),
                    consultations=consultation.consultations(p.session,
                                                             published_only=not staff),
                    staff=staff, may_change=may_change(p), error=error,
                    values=values or {"year": str(statuses.years(p.session)[-1][0])})


@router.get("/comments")
def comments(request: Request) -> Response:
    with page(request) as p:
        return _comments_page(p)


@router.post("/consultations")
def create(request: Request, form: Form) -> Response:
    """Open a consultation on a fiscal year's plan."""
    with page(request, form) as p:
        require_changer(p)
        values = {"key": line(form.get("key"), 200), "title": text(form.get("title"), 600),
                  "year": line(form.get("year"), 10)}
        try:
            made = consultation.create(p.session, p.clock, values["key"], values["title"],
                                       page_number(values["year"], 0, 0, statuses.MAX_YEAR),
                                       actor=access.person(p.principal), source=p.source)
        except UserError as error:  # refused before anything is written
            return _comments_page(p, error=p.message(error), values=values,
                                  status=status_of(error))
        return p.redirect(_path(made.key))


# --- a consultation ------------------------------------------------------------------------


def _consultation_page(p: Page, key: str, *, error: str = "", notice: str = "",
                       status: int = 200) -> Response:
    """The hub's staff: every comment in its state, the steps; anyone else: the results of
    a published consultation (the API's ``results``), else not found."""
    staff = access.is_hub_staff(p.principal)
    try:
        made, published, summary = consultation.results(p.session, key, unpublished_ok=staff)
        if staff:
            every = [consultation.describe(r) for r in consultation.comments(p.session, key)]
            events = [e for e in consultation.history(p.session, key) if e.comment_id is None]
        else:
            every = [{"number": c.number, "submitter": c.submitter, "section": c.section,
                      "summary": c.summary, "category": c.category.key, "answer": c.answer,
                      "changed": c.changed, "state": "approved"} for c in published]
            events = []
    except PlanNotFoundError as failure:
        return not_found(p, failure)
    state = line(p.request.query_params.get("state"), 20) if staff else ""
    state = state if state in STATES else ""
    rows = [r for r in every if not state or r["state"] == state]
    return p.render("plan/consultation.html", status=status, title=made.title, c=made,
                    rows=rows[:ROWS_SHOWN], more=max(0, len(rows) - ROWS_SHOWN),
                    summary=summary, staff=staff,
                    may_change=may_change(p) and made.state == consultation.OPEN,
                    counts=Counter(r["state"] for r in every), state=state, states=STATES,
                    events=events, event_names=EVENT_NAMES, error=error, notice=notice,
                    here=_path(made.key), limit=consultation.MAX_IMPORT_BYTES)


@router.get("/consultations/{key}")
def consultation_page(request: Request, key: str) -> Response:
    with page(request) as p:
        return _consultation_page(p, _key(key))


@router.post("/consultations/{key}/import")
def import_comments(request: Request, key: str, form: Form) -> Response:
    """The comments received, from a comment file (YAML, or CSV by its name's .csv)."""
    with page(request, form) as p:
        require_changer(p)
        key = _key(key)
        try:
            name, data = upload(form, "file", consultation.MAX_IMPORT_BYTES) or ("", b"")
            done = consultation.import_comments(p.session, p.clock, key, data, name,
                                                actor=access.person(p.principal),
                                                source=p.source)
        except UserError as error:  # the file is checked whole before anything is written
            return _consultation_page(p, key, error=p.message(error), status=status_of(error))
        return _consultation_page(p, key, notice=p.t(IMPORTED).format(
            added=done.added, unchanged=done.unchanged))


@router.post("/consultations/{key}/publish")
def publish(request: Request, key: str, form: Form) -> Response:
    """Publish the results, once every comment's answer is approved."""
    with page(request, form) as p:
        require_changer(p)
        key = _key(key)
        try:
            consultation.publish(p.session, p.clock, key, actor=access.person(p.principal),
                                 source=p.source)
        except UserError as error:
            return _consultation_page(p, key, error=p.message(error), status=status_of(error))
        return p.redirect(_path(key))


@router.get("/consultations/{key}/results.yaml")
def results_file(request: Request, key: str) -> Response:
    """A published consultation's results as a comment file (renkei-comments/1)."""
    with page(request) as p:
        key = _key(key)
        try:
            body = consultation.results_yaml(p.session, key)
        except PlanNotFoundError as error:
            return not_found(p, error)
    return Response(body, media_type="application/yaml; charset=utf-8", headers={
        "content-disposition": f"attachment; filename*=UTF-8''{quote(key)}-results.yaml"})


# --- one comment: categorise, draft, approve -----------------------------------------------


def _comment_page(p: Page, key: str, comment_number: int, *, error: str = "",
                  values: dict[str, Any] | None = None, status: int = 200) -> Response:
    try:
        made = consultation.get(p.session, key)
        assert made is not None
        every = consultation.comments(p.session, key)
        row = next((r for r in every if r.number == comment_number), None)
        if row is None:
            raise PlanNotFoundError("consultation {key} has no comment {number}", key=key,
                                    number=comment_number)
        events = consultation.history(p.session, key, comment_number)
    except PlanNotFoundError as failure:
        return not_found(p, failure)
    numbers = [r.number for r in every]
    at = numbers.index(comment_number)
    described = consultation.describe(row)
    me = access.person(p.principal)
    return p.render(
        "plan/comment.html", status=status, title=f"{made.title} #{comment_number}", c=made,
        r=described, events=events, event_names=EVENT_NAMES, categories=list(Category),
        may_change=may_change(p) and made.state == consultation.OPEN, me=me,
        may_approve=described["state"] == "drafted" and described["drafted_by"] != me,
        previous=numbers[at - 1] if at > 0 else None,
        following=numbers[at + 1] if at + 1 < len(numbers) else None,
        here=_path(made.key), error=error,
        values=values or {"answer": described["answer"], "changed": described["changed"]},
        most=consultation.MAX_ANSWER_CHARS)


@router.get("/consultations/{key}/comments/{comment_number}")
def comment_page(request: Request, key: str, comment_number: Number) -> Response:
    with page(request) as p:
        require_staff(p)
        return _comment_page(p, _key(key), comment_number)


def _step(p: Page, key: str, comment_number: int, values: dict[str, Any] | None,
          action: Any) -> Response:
    """One step on a comment; refused, the comment's page again with why (nothing written)."""
    try:
        action()
    except UserError as error:
        return _comment_page(p, key, comment_number, error=p.message(error), values=values,
                             status=status_of(error))
    return p.redirect(_path(key, comment_number))


@router.post("/consultations/{key}/comments/{comment_number}/category")
def categorise(request: Request, key: str, comment_number: Number, form: Form) -> Response:
    with page(request, form) as p:
        require_changer(p)
        key = _key(key)
        return _step(p, key, comment_number, None, lambda: consultation.categorise(
            p.session, p.clock, key, comment_number,
            consultation.parse_category(line(form.get("category"), 40)),
            actor=access.person(p.principal), source=p.source))


@router.post("/consultations/{key}/comments/{comment_number}/draft")
def draft(request: Request, key: str, comment_number: Number, form: Form) -> Response:
    with page(request, form) as p:
        require_changer(p)
        key = _key(key)
        values = {"answer": text(form.get("answer"), consultation.MAX_ANSWER_CHARS + 100),
                  "changed": form.get("changed") == "yes"}
        return _step(p, key, comment_number, values, lambda: consultation.draft(
            p.session, p.clock, key, comment_number, str(values["answer"]),
            changed=bool(values["changed"]), actor=access.person(p.principal),
            source=p.source))


@router.post("/consultations/{key}/comments/{comment_number}/approve")
def approve(request: Request, key: str, comment_number: Number, form: Form) -> Response:
    """Approve a drafted answer: the service refuses its drafter (403)."""
    with page(request, form) as p:
        require_changer(p)
        key = _key(key)
        return _step(p, key, comment_number, None, lambda: consultation.approve(
            p.session, p.clock, key, comment_number, actor=access.person(p.principal),
            source=p.source))

