"""/admin/organisations: the member organisations and the hub, and adding one."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from renkei.console.admin import admin_page
from renkei.console.forms import field
from renkei.console.web import Form, Page
from renkei.core import orgs
from renkei.core.errors import UserError

router = APIRouter(prefix="/admin", include_in_schema=False)


def _listing(p: Page, *, error: str = "", status: int = 200) -> Response:
    return p.render("admin/organisations.html", status=status, title=p.t("Organisations"),
                    organisations=orgs.list_all(p.session),
                    communities=orgs.community_names_by_org(p.session), error=error)


@router.get("/")
def index(request: Request) -> Response:
    with admin_page(request) as p:
        return p.redirect("/admin/organisations")


@router.get("/organisations")
def organisations(request: Request) -> Response:
    with admin_page(request) as p:
        return _listing(p)


@router.post("/organisations")
def add_organisation(request: Request, form: Form) -> Response:
    with admin_page(request, form) as p:
        communities = [c for c in field(form, "communities").split(",") if c.strip()]
        try:
            orgs.add(p.session, p.clock, field(form, "name"), communities=communities,
                     actor=p.principal.actor, source=p.source)
        except UserError as error:
            return _listing(p, error=p.message(error), status=400)
        return p.redirect("/admin/organisations")
