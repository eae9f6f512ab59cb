"""/account/password: the signed-in user changes their own password. It only calls
``console.auth.change_password``; the browser goes on under the new session it opens."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from renkei.console import auth
from renkei.console.web import Form, Page, page
from renkei.core import members
from renkei.core.errors import UserError

router = APIRouter(include_in_schema=False)


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value[:members.PASSWORD_MAX_CHARS + 1] if isinstance(value, str) else ""


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
    with page(request, form) as p:
        try:
            opened = auth.change_password(
                p.session, p.clock, p.row, p.user, _field(form, "current"),
                _field(form, "new"), _field(form, "repeat"), source=p.source,
                user_agent=p.user_agent)
        except UserError as error:
            return _form(p, error=p.message(error), status=400)
        p.keep_session(opened.cookie)
        return p.redirect("/account/password?changed=1")
