"""/account/password: the signed-in user changes their own password. It only calls
``console.auth.change_password``; the browser goes on under the new session it opens."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from renkei.console import auth
from renkei.console.forms import field
from renkei.console.web import Form, Page, page
from renkei.core import members
from renkei.core.errors import UserError

router = APIRouter(include_in_schema=False)


def _form(p: Page, *, error: str = "", changed: bool = False, status: int = 200) -> Response:
    return p.render("overview/password.html", status=status, title=p.t("Change your password"),
                    error=error, changed=changed, min_chars=members.PASSWORD_MIN_CHARS,
                    max_chars=members.PASSWORD_MAX_CHARS)


@router.get("/account/password")
def password_form(request: Request) -> Response:
    with page(request) as p:
        return _form(p, changed=request.query_params.get("changed") == "1")


@router.post("/account/password")
def change_password(request: Request, form: Form) -> Response:
    most = members.PASSWORD_MAX_CHARS + 1  # one past the bound, so auth names the fault
    with page(request, form) as p:
        try:
            opened = auth.change_password(
                p.session, p.clock, p.row, p.user, field(form, "current", most),
                field(form, "new", most), field(form, "repeat", most), source=p.source,
                user_agent=p.user_agent)
        except UserError as error:
            return _form(p, error=p.message(error), status=400)
        p.keep_session(opened.cookie)
        return p.redirect("/account/password?changed=1")
