"""/admin/tokens: an organisation's API tokens (never their secrets), making one (its
token is on the answer to the form, once), and revoking one."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response

from renkei.console.admin import admin_page
from renkei.console.forms import field
from renkei.console.web import Form, Page
from renkei.core import members, orgs
from renkei.core.errors import UserError
from renkei.core.i18n import gettext_noop
from renkei.core.members import IssuedToken
from renkei.core.models import Organisation, Scope

router = APIRouter(prefix="/admin", include_in_schema=False)

BAD_DAYS = gettext_noop("a token must expire in 1 to 3650 days")


def _listing(p: Page, chosen: Organisation | None, *, issued: IssuedToken | None = None,
             error: str = "", status: int = 200) -> Response:
    listed = members.list_tokens(p.session, chosen) if chosen is not None else []
    users = {u.id: u.email for u in members.list_users(p.session, chosen)} if chosen else {}
    now = p.clock.now()
    return p.render("admin/tokens.html", status=status, title=p.t("API tokens"),
                    organisations=orgs.list_all(p.session), chosen=chosen,
                    tokens=[(t, members.token_state(t, now).value) for t in listed],
                    users=users, scopes=list(Scope), issued=issued, error=error,
                    default_days=members.DEFAULT_TOKEN_DAYS)


@router.get("/tokens")
def tokens(request: Request) -> Response:
    with admin_page(request) as p:
        name = request.query_params.get("org", "")[:200]
        return _listing(p, orgs.get_by_name(p.session, name) if name else None)


@router.post("/tokens")
def create(request: Request, form: Form) -> Response:
    with admin_page(request, form) as p:
        chosen = orgs.get_by_name(p.session, field(form, "organisation"))
        try:
            organisation = orgs.require(p.session, field(form, "organisation"))
            email = field(form, "user")
            owner = members.require_user(p.session, email) if email.strip() else None
            days = field(form, "expires_days", 10).strip()
            if not (days.isascii() and days.isdigit()) or len(days) > 6:
                raise UserError(BAD_DAYS)
            issued = members.create_token(
                p.session, p.clock, organisation=organisation,
                scopes=[s for s in form.getlist("scope") if isinstance(s, str)][:5],
                user=owner, expires_days=int(days), label=field(form, "label"),
                actor=p.principal.actor, source=p.source)
        except UserError as error:
            return _listing(p, chosen, error=p.message(error), status=400)
        return _listing(p, organisation, issued=issued)


@router.post("/tokens/revoke")
def revoke(request: Request, form: Form) -> Response:
    with admin_page(request, form) as p:
        token = members.revoke_token(p.session, p.clock, field(form, "key_id", 100),
                                     actor=p.principal.actor, source=p.source)
        organisation = orgs.by_id(p.session, token.organisation_id)
        return p.redirect(f"/admin/tokens?org={quote(organisation.name, safe='')}")
