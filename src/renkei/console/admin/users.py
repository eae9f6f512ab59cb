"""/admin/users: every user, adding one, disabling or enabling one, and resetting a lost
second factor."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from renkei.console import auth
from renkei.console.admin import admin_page
from renkei.console.forms import field
from renkei.console.web import Form, Page
from renkei.core import members, orgs
from renkei.core.errors import UserError
from renkei.core.i18n import gettext_noop
from renkei.core.models import Role

router = APIRouter(prefix="/admin", include_in_schema=False)

BAD_ROLE = gettext_noop("choose one of the roles offered")


def _listing(p: Page, *, error: str = "", status: int = 200) -> Response:
    return p.render("admin/users.html", status=status, title=p.t("Users"),
                    users=members.list_users(p.session),
                    names={o.id: o.name for o in orgs.list_all(p.session)},
                    organisations=orgs.list_all(p.session), roles=list(Role), error=error)


@router.get("/users")
def users(request: Request) -> Response:
    with admin_page(request) as p:
        return _listing(p)


@router.post("/users")
def add_user(request: Request, form: Form) -> Response:
    with admin_page(request, form) as p:
        try:
            try:
                role = Role(field(form, "role", 40))
            except ValueError:
                raise UserError(BAD_ROLE) from None
            organisation = orgs.require(p.session, field(form, "organisation"))
            members.add_user(p.session, p.clock, organisation=organisation,
                             email=field(form, "email"), role=role,
                             password=field(form, "password"), name=field(form, "name"),
                             actor=p.principal.actor, source=p.source)
        except UserError as error:
            return _listing(p, error=p.message(error), status=400)
        return p.redirect("/admin/users")


@router.post("/users/disable")
def disable(request: Request, form: Form) -> Response:
    with admin_page(request, form) as p:
        members.set_disabled(p.session, p.clock, field(form, "email"), True,
                             actor=p.principal.actor, source=p.source)
        return p.redirect("/admin/users")


@router.post("/users/enable")
def enable(request: Request, form: Form) -> Response:
    with admin_page(request, form) as p:
        members.set_disabled(p.session, p.clock, field(form, "email"), False,
                             actor=p.principal.actor, source=p.source)
        return p.redirect("/admin/users")


@router.post("/users/totp-reset")
def totp_reset(request: Request, form: Form) -> Response:
    with admin_page(request, form) as p:
        auth.reset_totp(p.session, p.clock, field(form, "email"), actor=p.principal.actor,
                        source=p.source)
        return p.redirect("/admin/users")
