"""/admin/audit: the audit log, newest first, filtered by actor (``user:3``, ``cli``, or a
user's e-mail address), action and dates, a page of ``PAGE_SIZE`` at a time; users are
shown by name and e-mail address, read in one query for the page."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response

from renkei.console.admin import admin_page
from renkei.console.web import Page
from renkei.core import audit, members
from renkei.core.members import MemberError

router = APIRouter(prefix="/admin", include_in_schema=False)

PAGE_SIZE = 50


def _day(text: str) -> datetime | None:
    try:
        return datetime.combine(date.fromisoformat(text[:10]), datetime.min.time(), UTC)
    except ValueError:
        return None


def _actor_key(p: Page, asked: str) -> str:
    """``user:3`` for a user's e-mail address (an address no one has finds nothing)."""
    if "@" not in asked:
        return asked
    try:
        user = members.get_user(p.session, asked)
    except MemberError:
        user = None
    return f"user:{user.id}" if user is not None else asked


@router.get("/audit")
def audit_log(request: Request) -> Response:
    query = request.query_params
    actor = query.get("actor", "").strip()[:200]
    action = query.get("action", "").strip()[:100]
    since = _day(query.get("since", ""))
    until = _day(query.get("until", ""))
    before = query.get("before", "")
    with admin_page(request) as p:
        events = audit.search(p.session, actor=_actor_key(p, actor), action=action, since=since,
                              until=until + timedelta(days=1) if until else None,
                              before_id=int(before) if before.isascii() and before.isdigit() and len(before) <= 9 else None,
                              limit=PAGE_SIZE + 1)
        more = len(events) > PAGE_SIZE
        events = events[:PAGE_SIZE]
        p.names.preload([e.actor for e in events] + [e.target for e in events])
        return p.render("admin/audit.html", title=p.t("Audit log"), events=events,
                        actor=actor, action=action,
                        since=since.date().isoformat() if since else "",
                        until=until.date().isoformat() if until else "",
                        next_before=events[-1].id if more and events else None)
